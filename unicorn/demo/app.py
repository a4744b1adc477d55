"""Unicorn web demo: upload a video, pick SOT / VOS / MOT / MOTS, mark the targets, track, download the results.

Start it with ``unicorn demo`` (``--help`` lists the options; ``python demo/app.py`` in a source checkout). The
model is loaded once and only read; every browser session keeps its own video and prompts in
a ``gr.State`` and every run builds its own tracker, so sessions never share results. Runs go
through a queue with a concurrency limit; uploads and videos are capped (:class:`Limits`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path

import gradio as gr
import torch

import unicorn
from unicorn import DEFAULT_MODEL, UserError
from unicorn.errors import reason

from .handlers import HELP, Handlers, Session, device_label, model_banner, slider_settings, sot_slider
from .options import add_demo_parser
from .runner import Limits

LOG = logging.getLogger("unicorn.demo")
RUNS_ROOT = Path(tempfile.gettempdir()) / "unicorn-demo"
VIDEO_TYPES = [".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"]
TASK_CHOICES = [("SOT", "sot"), ("VOS", "vos"), ("MOT", "mot"), ("MOTS", "mots")]
CSS = """
#first-frame img { cursor: crosshair; }
#model-info p { margin: 0; }
#task .wrap { gap: 6px; }
#task label { padding: 6px 12px !important; }
.gradio-container { max-width: 100% !important; }
"""


def build_app(model: torch.nn.Module, model_name: str, limits: Limits, concurrency: int = 2,
              runs_root: Path = RUNS_ROOT) -> gr.Blocks:
    """The page and its events (not started; see :func:`launch`).

    Args:
        model: from ``unicorn.load``; shared by all sessions, only read.
        model_name: shown on the page and written to ``summary.json``.
        limits: caps per video.
        concurrency: tracking runs served at the same time; more wait in the queue.
        runs_root: folder for the result folders.
    """
    h = Handlers(model, model_name, limits, runs_root)
    mot = unicorn.tracker_config(model, "mot")  # the controls start at the values the tracker runs with
    conf0, assoc0 = slider_settings(mot)
    score0 = sot_slider(unicorn.tracker_config(model, "sot"))
    with gr.Blocks(title="Unicorn tracker demo", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        session = gr.State(Session())
        gr.Markdown("### Unicorn: one model for single-object, multi-object and mask tracking")
        gr.Markdown(model_banner(model_name, model, limits), elem_id="model-info")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=300):
                video_file = gr.File(label="Video", file_types=VIDEO_TYPES, height=124, elem_id="video-upload")
                sample_btn = gr.Button("Use the sample video", size="sm", elem_id="use-sample")
                task = gr.Radio(TASK_CHOICES, value="sot", label="Task", elem_id="task")
                help_md = gr.Markdown(HELP["sot"], elem_id="task-help")
                with gr.Group(visible=True) as box_group:
                    boxes_text = gr.Textbox(label="Boxes: x, y, w, h per line", lines=2, max_lines=6,
                                            elem_id="boxes")
                    with gr.Row():
                        undo_btn = gr.Button("Undo", size="sm", elem_id="undo")
                        clear_btn = gr.Button("Clear", size="sm", elem_id="clear")
                    with gr.Accordion("Threshold", open=False, elem_id="sot-thresholds"):
                        lost = gr.Slider(0.0, 0.45, step=0.01, label="Lost below", elem_id="lost", **score0)
                with gr.Accordion("Or a first-frame mask PNG", open=False, visible=False,
                                  elem_id="mask-accordion") as mask_group:
                    mask_file = gr.File(label="Mask PNG (0 = background, one value or colour per object)",
                                        file_types=[".png"], height=110, elem_id="mask-upload")
                with gr.Group(visible=False) as mot_group:
                    classes = gr.Dropdown(list(h.class_names), value=[], multiselect=True,
                                          label="Classes (empty: all)", elem_id="classes")
                    with gr.Accordion("Thresholds", open=False, elem_id="thresholds"):
                        association = gr.Radio(["bytetrack", "embedding"], value=mot.association, label="Association",
                                               elem_id="association")
                        conf = gr.Slider(0.05, 0.95, step=0.05, label="Confidence", elem_id="conf", **conf0)
                        nms = gr.Slider(0.3, 0.95, value=mot.nms_thresh, step=0.05, label="NMS IoU",
                                        info="boxes overlapping more than this are merged", elem_id="nms")
                        assoc = gr.Slider(0.1, 1.0, step=0.05, label="Association threshold", elem_id="assoc",
                                          **assoc0)
                run_btn = gr.Button("▶ Run tracking", variant="primary", elem_id="run")
            with gr.Column(scale=1, min_width=300):
                frame_img = gr.Image(label="First frame (click two corners per box)", interactive=False,
                                     format="png", buttons=[], elem_id="first-frame")
                status = gr.Markdown("Upload a video or use the sample.", elem_id="status")
            with gr.Column(scale=1, min_width=300):
                out_video = gr.Video(label="Tracked video", interactive=False, loop=True, elem_id="result-video")
                out_zip = gr.File(label="Results (zip)", interactive=False, height=70, elem_id="result-zip")
                with gr.Accordion("Correct a frame and re-run (SOT, VOS)", open=False, elem_id="correct"):
                    with gr.Row():
                        fix_frame = gr.Number(value=1, precision=0, minimum=1, label="Frame (0-based)",
                                              elem_id="fix-frame")
                        fix_target = gr.Number(value=1, precision=0, minimum=1, label="Target id", elem_id="fix-target")
                    fix_show = gr.Button("Show this frame", size="sm", elem_id="fix-show")
                    fix_img = gr.Image(label="Click two corners of the target's true box", interactive=False,
                                       format="png", buttons=[], elem_id="fix-image")
                    fix_text = gr.Textbox(label="True box: x, y, w, h", elem_id="fix-box")
                    fix_run = gr.Button("Re-run with this correction", elem_id="fix-run")

        shown = [frame_img, boxes_text, status, session]
        loaded = [video_file, *shown, out_video, out_zip]
        quick = {"concurrency_limit": None}  # cheap events never wait behind tracking runs
        video_file.upload(h.upload, [video_file, session], loaded, **quick)
        video_file.clear(h.upload, [video_file, session], loaded, **quick)
        sample_btn.click(h.sample, [session], loaded, **quick)
        frame_img.select(h.click, [session], shown, **quick)
        boxes_text.blur(h.boxes_typed, [boxes_text, session], shown, **quick)
        undo_btn.click(h.undo, [session], shown, **quick)
        clear_btn.click(h.clear, [session], [*shown, mask_file], **quick)
        mask_file.upload(h.mask, [mask_file, session], [*shown, mask_file], **quick)
        mask_file.clear(h.mask, [mask_file, session], [*shown, mask_file], **quick)
        task.change(h.task, [task, association, session],
                    [help_md, box_group, mask_group, mot_group, association, conf, assoc, lost, frame_img, session],
                    **quick)
        association.input(h.association, [association, task], [conf, assoc], **quick)
        results = [out_video, out_zip, status, session]
        run_btn.click(h.run, [session, task, classes, association, conf, nms, assoc, lost], results,
                      concurrency_limit=concurrency, concurrency_id="track")
        fixing = [fix_img, fix_text, status, session]
        fix_show.click(h.fix_show, [fix_frame, session], fixing, **quick)
        fix_img.select(h.fix_click, [session], fixing, **quick)
        fix_text.blur(h.fix_typed, [fix_text, session], fixing, **quick)
        fix_run.click(h.rerun, [session, fix_target], results, concurrency_limit=concurrency, concurrency_id="track")
    return app


def load_model(weights: str, device: str | None) -> torch.nn.Module:
    """``unicorn.load`` with its warnings sent to the log (the page states an untrained model itself)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = unicorn.load(weights, device)
    for w in caught:
        LOG.warning("%s", w.message)
    return model


def configure_threads(model: torch.nn.Module, concurrency: int) -> int:
    """On a CPU, give each of the ``concurrency`` runs an equal share of the cores; returns the torch threads.

    Runs that together ask for more threads than there are cores stall each other badly (OpenMP
    threads wait for descheduled peers): on a busy shared 2-core machine a 10-frame SOT run took
    about 30 s with 2 threads and 2 s with one.
    """
    if next(model.parameters()).device.type == "cpu":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        torch.set_num_threads(max(1, cores // max(1, concurrency)))
    return torch.get_num_threads()


def launch(app: gr.Blocks, host: str, port: int, limits: Limits, concurrency: int = 2, queue_size: int = 16,
           block: bool = True) -> gr.Blocks:
    """Start serving ``app`` (``block=False`` returns at once; stop it with ``app.close()``).

    Args:
        app: from :func:`build_app`.
        host: interface to listen on.
        port: TCP port.
        limits: ``limits.max_upload_mb`` caps uploads.
        concurrency: default concurrency of queued events.
        queue_size: requests waiting beyond this are turned away with "queue full".
        block: serve until interrupted.
    """
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],  # no web fonts: works offline
                              font_mono=["ui-monospace", "monospace"])
    app.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    app.launch(server_name=host, server_port=port, prevent_thread_lock=not block, quiet=not block,
               max_file_size=f"{limits.max_upload_mb:g}mb", show_error=True, theme=theme, css=CSS,
               footer_links=["api"])
    return app


def serve(host: str = "127.0.0.1", port: int = 7860, weights: str = DEFAULT_MODEL, device: str | None = None,
          limits: Limits | None = None, concurrency: int = 2, block: bool = True) -> gr.Blocks:
    """Load the model once, build the page and serve it.

    Args:
        host: interface to listen on (``0.0.0.0`` for every interface).
        port: TCP port.
        weights: variant name or checkpoint path (as ``unicorn.load``).
        device: ``cpu``/``cuda``; default CUDA when available.
        limits: caps per video (default: ``Limits.from_env()``).
        concurrency: tracking runs served at the same time.
        block: serve until interrupted; False returns the running app.
    """
    limits = limits or Limits.from_env()
    model = load_model(weights, device)
    configure_threads(model, concurrency)
    app = build_app(model, Path(weights).name if Path(weights).suffix else weights, limits, concurrency)
    print(f"unicorn demo: http://{host}:{port} ({weights} on {device_label(model)})", flush=True)
    return launch(app, host, port, limits, concurrency, block=block)


def run(args: argparse.Namespace) -> int:
    """Serve with the options of ``unicorn demo``; user errors print one line and return 2."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own start-up requests
    try:
        limits = Limits.from_env(max_frames=args.max_frames, max_seconds=args.max_seconds,
                                 max_upload_mb=args.max_upload_mb)
        serve(args.host, args.port, args.weights, args.device, limits, max(1, args.concurrency))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the port is taken or the host is not an interface of this machine
        print(f"error: cannot serve on {args.host}:{args.port} ({reason(exc)}); pass another --port or --host",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python demo/app.py`` and ``python -m unicorn.demo.app``; the options of ``unicorn demo``."""
    parser = argparse.ArgumentParser(prog="unicorn-demo", description="Unicorn web demo (Gradio).")
    add_demo_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(["demo", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
