"""`unicorn demo`: options, and clear errors before anything starts."""

import sys

import pytest

from unicorn import cli
from unicorn.errors import UserError


def test_demo_options():
    args = cli.build_parser().parse_args(["demo", "--port", "9999", "--host", "0.0.0.0", "--max-frames", "20",
                                          "--device", "cpu", "--weights", "unicorn-lite"])
    assert (args.command, args.port, args.host, args.max_frames, args.device) == ("demo", 9999, "0.0.0.0", 20, "cpu")
    assert args.concurrency == 2 and args.max_seconds is None


def test_demo_without_gradio_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gradio", None)  # makes `import gradio` raise ImportError
    args = cli.build_parser().parse_args(["demo"])
    with pytest.raises(UserError, match=r"pip install 'unicorn-track\[demo\]'"):
        cli.run_demo(args)
    assert cli.main(["demo"]) == 2


def test_bad_limit_in_environment_is_a_user_error(monkeypatch):
    from unicorn.demo.runner import Limits

    monkeypatch.setenv("UNICORN_DEMO_MAX_FRAMES", "many")
    with pytest.raises(UserError, match="UNICORN_DEMO_MAX_FRAMES='many' is not a number"):
        Limits.from_env()
    monkeypatch.setenv("UNICORN_DEMO_MAX_FRAMES", "12")
    assert Limits.from_env().max_frames == 12
    assert Limits.from_env(max_frames=7, max_seconds=None).max_frames == 7
