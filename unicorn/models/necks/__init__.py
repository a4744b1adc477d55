"""Necks: feature pyramids over the backbone's C3..C5."""

from .pafpn import PAFPN

__all__ = ["PAFPN"]
