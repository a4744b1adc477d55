"""The options of ``unicorn demo`` (no heavy imports: the command line lists them before Gradio loads)."""

from __future__ import annotations


def add_demo_parser(sub) -> None:
    p = sub.add_parser("demo", help="start the web demo (Gradio) for uploaded videos, all four tasks")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=7860, help="TCP port (default 7860)")
    p.add_argument("--weights", default="unicorn-lite", help="variant name or checkpoint path")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--max-frames", type=int, help="longest video in frames (default 300; $UNICORN_DEMO_MAX_FRAMES)")
    p.add_argument("--max-seconds", type=float, help="longest video in seconds (default 60; $UNICORN_DEMO_MAX_SECONDS)")
    p.add_argument("--max-upload-mb", type=float, help="largest upload, MB (default 100; $UNICORN_DEMO_MAX_UPLOAD_MB)")
    p.add_argument("--concurrency", type=int, default=2, help="tracking runs served at the same time (default 2)")
