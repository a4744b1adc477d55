"""The default thread count: affinity mask and cgroup v2 quota, read from hand-made files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from unicorn.backends import threads as th
from unicorn.errors import UserError


def _tree(tmp_path: Path, limits: dict[str, str], member: str = "/") -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for rel, text in limits.items():
        folder = root / rel.strip("/") if rel.strip("/") else root
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cpu.max").write_text(text + "\n")
    proc = tmp_path / "proc_cgroup"
    proc.write_text(f"0::{member}\n")
    return root, proc


@pytest.mark.parametrize("text, cpus", [("max 100000", None), ("200000 100000", 2.0), ("150000 100000", 1.5),
                                        ("50000 100000", 0.5), ("100000", 1.0), ("", None), ("junk 1", None)])
def test_parse_cpu_max(text, cpus):
    assert th.parse_cpu_max(text) == cpus


def test_tightest_quota_on_the_path_to_the_root(tmp_path):
    root, proc = _tree(tmp_path, {"/": "max 100000", "job": "300000 100000", "job/step": "max 100000"}, "/job/step")
    assert th.cgroup_cpu_limit(root, proc) == 3.0
    root, proc = _tree(tmp_path / "b", {"job": "300000 100000", "job/step": "150000 100000"}, "/job/step")
    assert th.cgroup_cpu_limit(root, proc) == 1.5


def test_no_cgroup_files_means_no_limit(tmp_path):
    assert th.cgroup_cpu_limit(tmp_path / "absent", tmp_path / "absent_proc") is None


def test_usable_cpus_is_the_smaller_of_affinity_and_quota(tmp_path):
    root, proc = _tree(tmp_path, {"/": "200000 100000"})
    assert th.usable_cpus(root, proc, affinity={0, 1, 2, 3, 4, 5, 6, 7}) == 2.0
    assert th.usable_cpus(root, proc, affinity={3}) == 1.0
    root, proc = _tree(tmp_path / "b", {"/": "max 100000"})
    assert th.usable_cpus(root, proc, affinity={0, 1, 2, 3}) == 4.0


def test_default_threads_rounds_a_fractional_quota_down(tmp_path):
    root, proc = _tree(tmp_path, {"/": "250000 100000"})
    assert th.default_threads(root=root, proc_cgroup=proc, affinity=set(range(16))) == 2
    root, proc = _tree(tmp_path / "b", {"/": "50000 100000"})
    assert th.default_threads(root=root, proc_cgroup=proc, affinity=set(range(16))) == 1


def test_explicit_threads_are_applied_and_checked():
    before = torch.get_num_threads()
    try:
        assert th.apply_threads(1) == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    for bad in (0, -2, 1.5, "2", True):
        with pytest.raises(UserError, match="threads must be a positive whole number"):
            th.check_threads(bad)


def test_track_command_takes_threads():
    from unicorn.cli import build_parser

    assert build_parser().parse_args(["track", "video.mp4", "--threads", "1"]).threads == 1
    assert build_parser().parse_args(["track", "video.mp4"]).threads is None
