"""``unicorn weights download``: pinned sha256, streaming, resume with Range, progress bar (127.0.0.1 only)."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import pytest

from unicorn import downloads, hub
from unicorn.cli import main
from unicorn.downloads import Pin, fetch, file_url
from unicorn.errors import UserError

from .hub_server import HubServer, fake_checkpoint

NAME = "unicorn_track_tiny_mask"
REPO = "NimaBoscarino/unicorn_track_tiny_mask"
SIZE = 3 * (1 << 20) + 12345  # three full 1 MiB chunks and a bit


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A server holding a fake ``latest_ckpt.pth`` for NAME, pinned in PINS, with $UNICORN_HOME in tmp_path."""
    src = tmp_path / "src.pth"
    sha = fake_checkpoint(src, SIZE)
    monkeypatch.setitem(downloads.PINS, NAME, Pin(REPO, sha256=sha, size=SIZE))
    monkeypatch.setenv("UNICORN_HOME", str(tmp_path / "home"))
    with HubServer({f"{REPO}/resolve/main/latest_ckpt.pth": src}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server, src, sha


def test_download_streams_checks_and_shows_progress(served, capsys):
    server, src, sha = served
    assert main(["weights", "download", NAME]) == 0
    target = hub.cache_dir() / f"{NAME}.pth"
    out, err = capsys.readouterr()
    assert out.strip() == f"downloaded and verified -> {target}"
    assert target.read_bytes() == src.read_bytes()
    assert (hub.cache_dir() / f"{NAME}.sha256").read_text() == sha + "\n"
    assert not target.with_name(target.name + ".part").exists()
    assert server.behaviour.ranges == [None]
    # tqdm on stderr: 3.01 MiB of 3.01 MiB with the variant's name, at 100%
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith(f"{NAME}: 100%") and "3.01M/3.01M" in last
    # a second call re-hashes the cached file and does not transfer again
    assert main(["weights", "download", NAME]) == 0
    assert server.behaviour.ranges == [None]


def test_corrupted_transfer_is_deleted_with_one_line(served, capsys):
    server, _, sha = served
    server.behaviour.corrupt = 1_500_000
    assert main(["weights", "download", NAME]) == 2
    err = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert err.startswith(f"error: checksum mismatch for {NAME}: got sha256 ")
    assert f"expected {sha[:12]}..." in err and "the file was deleted" in err
    assert list((hub.cache_dir()).iterdir()) == []  # neither the file nor a .part is left


def test_interrupted_transfer_resumes_with_range(served, capsys):
    server, src, _ = served
    server.behaviour.drop_after = 1_000_000
    assert main(["weights", "download", NAME]) == 2
    err = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert re.fullmatch(rf"error: download of {NAME} interrupted after 1000000 of {SIZE} bytes \(.+\); "
                        "run the same command again to resume", err), err
    part = hub.cache_dir() / f"{NAME}.pth.part"
    assert part.stat().st_size == 1_000_000
    assert main(["weights", "download", NAME]) == 0
    assert server.behaviour.ranges == [None, "bytes=1000000-"]
    assert (hub.cache_dir() / f"{NAME}.pth").read_bytes() == src.read_bytes()
    assert not part.exists()


def test_server_without_range_support_restarts_from_zero(served):
    server, src, _ = served
    server.behaviour.drop_after, server.behaviour.ignore_range = 2_500_000, True
    with pytest.raises(UserError, match="interrupted after 2500000 of"):
        hub.download(NAME, progress=False)
    assert hub.download(NAME, progress=False).read_bytes() == src.read_bytes()
    assert server.behaviour.ranges == [None, "bytes=2500000-"]  # asked to resume, got the whole file: rewritten


def test_whole_part_file_of_unknown_size_is_checked_not_fetched(served, monkeypatch):
    server, src, sha = served
    monkeypatch.setitem(downloads.PINS, NAME, Pin(REPO, sha256=sha))  # no size pinned, as for r50 and large
    part = hub.cache_dir() / f"{NAME}.pth.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(src.read_bytes())  # a run that died between the last byte and the rename
    assert hub.download(NAME, progress=False).read_bytes() == src.read_bytes()
    assert server.behaviour.ranges == [f"bytes={SIZE}-"]  # answered 416: nothing left to send


def test_unpinned_file_takes_the_hubs_lfs_sha(served, monkeypatch):
    server, src, sha = served
    monkeypatch.setitem(downloads.PINS, NAME, Pin(REPO))  # like unicorn_track_tiny_rt_mask
    assert downloads.hub_sha256(file_url(downloads.PINS[NAME])) == (sha, SIZE)
    assert hub.download(NAME, progress=False).read_bytes() == src.read_bytes()


def test_names_without_a_download_and_a_dead_server(tmp_path, monkeypatch):
    monkeypatch.setenv("UNICORN_HOME", str(tmp_path))
    with pytest.raises(UserError, match="unicorn_track_large_mot_challenge_mask has no automatic download"):
        hub.download("unicorn_track_large_mot_challenge_mask")
    with pytest.raises(UserError, match="unicorn-lite ships inside the package; there is nothing to download"):
        hub.download("unicorn-lite")
    with HubServer({}) as server:
        url = server.url
    with pytest.raises(UserError, match="cannot reach http://127.0.0.1"):
        fetch(f"{url}/x/resolve/main/f.pth", tmp_path / "f.pth", "0" * 64, timeout=5)


def test_every_released_checkpoint_is_pinned():
    from unicorn.variants import VARIANTS

    released = {n for n, v in VARIANTS.items() if v.weights.startswith("https://huggingface.co/")}
    assert set(downloads.PINS) == released
    for name, pin in downloads.PINS.items():
        assert pin.repo == f"NimaBoscarino/{name}"
        assert pin.sha256 is None or re.fullmatch("[0-9a-f]{64}", pin.sha256)


def test_download_reads_in_chunks(tmp_path):
    """A 20 MiB transfer through urllib and the server thread peaks far below the file size in Python memory."""
    src = tmp_path / "big.pth"
    sha = fake_checkpoint(src, 20 << 20)
    with HubServer({"o/r/resolve/main/f.pth": src}) as server:
        tracemalloc.start()
        try:
            fetch(f"{server.url}/o/r/resolve/main/f.pth", tmp_path / "got.pth", sha, progress=False)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert (tmp_path / "got.pth").stat().st_size == 20 << 20
    assert peak < 4 << 20, peak  # one 1 MiB chunk in flight (plus copies), not 20 MiB


def test_pickles_load_only_with_weights_only():
    """Every torch.load in the package passes weights_only=True (no pickled code runs)."""
    root = Path(hub.__file__).resolve().parent
    calls = [(p, m.group(0)) for p in root.rglob("*.py")
             for m in re.finditer(r"torch\.load\((?:[^()]|\([^()]*\))*\)", p.read_text())]
    assert calls, "the package loads upstream .pth files somewhere"
    assert [c for c in calls if "weights_only=True" not in c[1]] == []
