"""Runtimes for the network: thread-count choice and the ONNX Runtime backend."""

from .threads import apply_threads, default_threads, usable_cpus

__all__ = ["apply_threads", "default_threads", "usable_cpus"]
