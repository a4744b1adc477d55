"""The memory and speed probes: resident memory follows a real allocation, the stopwatch its blocks."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from unicorn import probe

linux = pytest.mark.skipif(not probe.STATUS.is_file(), reason="needs /proc/self/status (Linux)")


PROBE_CHILD = """
import numpy as np
from unicorn import probe
reset = probe.reset_peak_rss()
before = probe.rss_mb()
block = np.ones(64 * 2**20, np.uint8)  # 64 MiB, every page written
grown = probe.rss_mb() - before
peak = probe.peak_rss_mb()
print(grown, peak - reset)
"""


@linux
def test_peak_and_current_memory_follow_a_touched_allocation():
    # A fresh process: in a long one, freed pages the allocator still holds can be reused without growing RSS.
    out = subprocess.run([sys.executable, "-c", PROBE_CHILD], capture_output=True, text=True, check=True).stdout
    grown, peak = (float(v) for v in out.split())
    assert 60 < grown < 80
    assert 60 < peak < 90


def test_stopwatch_median_and_total():
    watch = probe.Stopwatch()
    for pause in (0.0, 0.05, 0.0):
        with watch:
            time.sleep(pause)
    assert len(watch.seconds) == 3
    assert watch.median < 0.04 and watch.total >= 0.05
    with pytest.raises(ValueError, match="timed nothing"):
        _ = probe.Stopwatch().median


def test_median_seconds_runs_the_warm_up_untimed():
    calls = []
    assert probe.median_seconds(lambda: calls.append(1), runs=3, warmup=2) < 0.1
    assert len(calls) == 5


def test_peak_gflops_is_positive():
    assert probe.peak_gflops(n=64, runs=2) > 0
