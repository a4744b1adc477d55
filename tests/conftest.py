"""Helpers shared by the test packages."""

from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(count: int):
    """Run the block with ``count`` torch threads, restoring the previous count afterwards.

    For fixtures of any scope: ``with torch_threads(1): yield``.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
