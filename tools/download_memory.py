"""Peak memory of ``unicorn.downloads.fetch`` on a large fake checkpoint served from 127.0.0.1.

    python -m tools.download_memory [--mb 200]

Run it as a module from the repository root: the fake hub is the tests' own (``tests/hub_server.py``).

Writes a fake file of ``--mb`` MiB to a temporary folder, serves it from a loopback server thread,
downloads it with a progress bar and prints the peak Python heap (tracemalloc, server thread
included) and the growth of the process's peak resident memory (VmHWM, reset before the download).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

from tests.hub_server import HubServer, fake_checkpoint
from unicorn.downloads import fetch
from unicorn.probe import peak_rss_mb, reset_peak_rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the fake file in MiB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src.pth"
        sha = fake_checkpoint(src, args.mb << 20)
        with HubServer({"o/r/resolve/main/latest_ckpt.pth": src}) as server:
            rss0 = reset_peak_rss()
            tracemalloc.start()
            t0 = time.perf_counter()
            out = fetch(f"{server.url}/o/r/resolve/main/latest_ckpt.pth", Path(tmp) / "got.pth", sha, args.mb << 20,
                        desc=f"fake {args.mb} MiB")
            seconds = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rss1 = peak_rss_mb()
        size = out.stat().st_size
    print(f"file {size / 2**20:.0f} MiB, sha256 checked, {seconds:.1f} s; peak traced Python memory "
          f"{peak / 2**20:.2f} MiB; peak RSS grew by {rss1 - rss0:.1f} MiB (from {rss0:.0f} MiB)")


if __name__ == "__main__":
    main()
