"""What the exporter writes, without importing torch (the command line reads these for ``--help``)."""

MANIFEST = "unicorn_export.json"
OPSET = 17  # GridSample needs 16, LayerNormalization 17
FORMATS = ("onnx", "torchscript")
