"""Export the per-frame network as the graphs a tracker needs (ONNX or TorchScript)."""

from .exporter import MANIFEST, OPSET, export_model

__all__ = ["MANIFEST", "OPSET", "export_model"]
