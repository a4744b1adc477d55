"""Export the per-frame network as the graphs a tracker needs (ONNX or TorchScript).

The names below load on first use, so that the command line can register ``unicorn export`` without
importing torch.
"""

from __future__ import annotations

__all__ = ["MANIFEST", "OPSET", "export_model"]


def __getattr__(name: str):
    if name in __all__:
        from . import exporter

        return getattr(exporter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
