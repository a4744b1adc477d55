"""What the demo page does on each click, upload and run (one :class:`Handlers` per server).

The handlers hold only the shared, read-only model and the caps; everything that belongs to
one visitor (video, boxes, mask) is in their :class:`Session`, which Gradio keeps per browser
session in a ``gr.State``. Every run builds its own tracker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import torch

import unicorn
from unicorn import UserError

from .prompts import (
    Prompts,
    box_from_corners,
    display_scale,
    draw_prompts,
    format_boxes,
    parse_boxes,
    read_mask_png,
)
from .runner import Limits, RunRequest, VideoInfo, new_run_folder, probe_video, read_frame, run_tracking

LOG = logging.getLogger("unicorn.demo")
ASSETS = Path(unicorn.__file__).resolve().parent / "assets"
SAMPLE = ASSETS / "sample.mp4"
BUNDLED_WEIGHTS = {unicorn.DEFAULT_MODEL: ASSETS / f"{unicorn.DEFAULT_MODEL}.safetensors"}
HELP = {
    "sot": "**Single-object tracking**: click two opposite corners of each target on the first frame.",
    "vos": "**Video object segmentation**: box each object (the mask head makes its mask) or upload a mask PNG.",
    "mot": "**Multi-object tracking**: every object of the chosen classes gets a box and an id.",
    "mots": "**Multi-object tracking and segmentation**: as MOT, with a mask per object.",
}


@dataclass
class Session:
    """One browser session's video and prompts (kept in ``gr.State``, never shared)."""

    video: VideoInfo | None = None
    prompts: Prompts = field(default_factory=Prompts)
    task: str = "sot"
    last: RunRequest | None = None  # the last finished run (a correction re-runs it)
    last_frames: int = 0
    fix_frame: int | None = None  # the frame being corrected, its (H, W, 3) BGR image and the true box drawn
    fix_image: np.ndarray | None = None
    fix: Prompts = field(default_factory=Prompts)

    @property
    def scale(self) -> float:
        """Display pixels per frame pixel of the first-frame image."""
        return 1.0 if self.video is None else display_scale(self.video.size)

    def image(self) -> np.ndarray | None:
        """The first frame (RGB, display size) with the prompts drawn, or None before a video is loaded."""
        if self.video is None:
            return None
        p = self.prompts
        shown = Prompts() if self.task in ("mot", "mots") else \
            Prompts(p.boxes_xywh, p.pending, p.mask if self.task == "vos" else None)
        return draw_prompts(np.ascontiguousarray(self.video.first_frame[:, :, ::-1]), shown, self.scale)


def fix_view(session: Session) -> np.ndarray | None:
    """The frame being corrected (RGB, display size) with the true box drawn, or None."""
    if session.fix_image is None:
        return None
    return draw_prompts(np.ascontiguousarray(session.fix_image[:, :, ::-1]), session.fix, session.scale)


def device_label(model: torch.nn.Module) -> str:
    """``cpu (2 threads)`` or ``cuda:0 (NVIDIA H100 80GB HBM3)``."""
    device = next(model.parameters()).device
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    n = torch.get_num_threads()
    return f"{device} ({n} thread{'s' if n > 1 else ''})"


def model_banner(model_name: str, model: torch.nn.Module, limits: Limits) -> str:
    """The line at the top of the page: model, whether it is trained, device and caps."""
    untrained = model_name in BUNDLED_WEIGHTS and not BUNDLED_WEIGHTS[model_name].is_file()
    state = (" — **untrained**: its tracking parts are random, so the results show the pipeline, not real "
             "tracking quality") if untrained else ""
    return (f"Model **{model_name}**{state} · device **{device_label(model)}** · "
            f"limits: {limits.describe()} per video")


def slider_settings(cfg: Any) -> tuple[dict, dict]:
    """(confidence, association) slider settings: the values of a MOT tracker's ``config`` (from
    ``unicorn.tracker_config``) for its association method, so the page shows what the tracker runs with."""
    if cfg.association == "embedding":
        return ({"value": cfg.embedding.obj_score_thr, "info": "a detection needs this score to be tracked"},
                {"value": cfg.embedding.match_score_thr,
                 "info": "minimum embedding similarity to continue a track (lower: more permissive)"})
    return ({"value": cfg.bytetrack.track_thresh, "info": "detections above this start and continue tracks"},
            {"value": cfg.bytetrack.match_thresh,
             "info": "maximum matching cost 1 − IoU·score (higher: more permissive)"})


def sot_slider(cfg: Any) -> dict[str, Any]:
    """The SOT/VOS "Lost below" slider for a tracker ``config``: ``lost_score`` with label propagation
    (unicorn-lite), ``min_score`` with the detection head (upstream's policy)."""
    if cfg.method == "propagation":
        return {"value": cfg.lost_score, "maximum": 0.45,
                "info": "a target scoring below this is marked lost (its last box kept); below twice this, uncertain"}
    return {"value": cfg.min_score, "maximum": 1.0, "info": "below this score the previous box is kept and marked"}


def sot_thresholds(cfg: Any, lost: float) -> dict[str, Any]:
    """``unicorn.Tracker`` settings for the SOT/VOS slider."""
    return {"lost_score" if cfg.method == "propagation" else "min_score": float(lost)}


def mot_thresholds(association: str, conf: float, nms: float, assoc: float) -> dict[str, Any]:
    """``unicorn.Tracker`` settings for the MOT/MOTS sliders."""
    out: dict[str, Any] = {"association": association, "nms_thresh": float(nms)}
    if association == "embedding":
        out.update(obj_score_thr=float(conf), match_score_thr=float(assoc))
    else:
        out.update(track_thresh=float(conf), match_thresh=float(assoc))
    return out


def _show(session: Session, message: str) -> tuple:
    """Outputs (first frame, boxes text, status, session) after a prompt change."""
    return session.image(), format_boxes(session.prompts.boxes_xywh), message, session


def _corner(p: Prompts, session: Session, evt: gr.SelectData) -> tuple[tuple[float, ...] | None, str]:
    """A click on a shown frame as a corner of a box being drawn on ``p``: (the box, or None before its
    second corner or when it is refused, and the status line)."""
    x, y = (float(round(v / session.scale)) for v in evt.index[:2])  # display -> frame pixels
    if p.pending is None:
        p.pending = (x, y)
        return None, f"Corner ({x:.0f}, {y:.0f}); now click the opposite corner."
    corner, p.pending = p.pending, None
    try:
        return box_from_corners(corner, (x, y), session.video.size), ""
    except UserError as exc:
        return None, f"**Error:** {exc}"


class Handlers:
    """Event handlers of the page.

    Args:
        model: from ``unicorn.load``; shared by all sessions, only read.
        model_name: written to ``summary.json``.
        limits: caps per video.
        runs_root: folder for result folders (old ones are removed after an hour).
    """

    def __init__(self, model: torch.nn.Module, model_name: str, limits: Limits, runs_root: Path) -> None:
        self.model, self.model_name, self.limits, self.runs_root = model, model_name, limits, runs_root
        self.class_names = list(unicorn.class_names(model, "mot"))

    def config(self, task: str, association: str | None = None) -> Any:
        """The settings a tracker for ``task`` runs with (``association`` as chosen on the page, if given)."""
        return unicorn.tracker_config(self.model, task, {"association": association} if association else None)

    def _load(self, path: str | None, session: Session, name: str | None = None) -> tuple:
        """Outputs: the upload box (emptied after a bad file), the prompt views, and no old results."""
        session.video, session.prompts = None, Prompts()
        session.last, session.fix_frame, session.fix_image, session.fix = None, None, None, Prompts()
        if not path:
            return (None, *_show(session, "Upload a video or use the sample."), None, None)
        try:
            session.video = probe_video(path, self.limits, name=name)
        except UserError as exc:
            gr.Warning(str(exc))
            return (None, *_show(session, f"**Error:** {exc}"), None, None)
        upload = None if Path(path) == SAMPLE else gr.skip()
        return (upload, *_show(session, f"Loaded {session.video.describe()}."), None, None)

    def upload(self, file: str | None, session: Session) -> tuple:
        """A video was uploaded (or removed)."""
        return self._load(file, session, Path(file).name if file else None)

    def sample(self, session: Session) -> tuple:
        """The bundled sample video was chosen."""
        return self._load(str(SAMPLE), session)

    def click(self, session: Session, evt: gr.SelectData) -> tuple:
        """A click on the first frame: the first or the second corner of a box."""
        if session.video is None:
            return _show(session, "Upload a video first.")
        p = session.prompts
        box, message = _corner(p, session, evt)
        if box is None:
            return _show(session, message)
        p.boxes_xywh.append(box)
        return _show(session, f"Box {len(p.boxes_xywh)}: x={box[0]:.0f}, y={box[1]:.0f}, w={box[2]:.0f}, "
                              f"h={box[3]:.0f}.")

    def boxes_typed(self, text: str, session: Session) -> tuple:
        """The boxes text box lost focus: take typed boxes."""
        if text.strip() == format_boxes(session.prompts.boxes_xywh).strip():
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()  # unchanged (e.g. focus left for a click)
        if session.video is None:
            return _show(session, "Upload a video first.")
        try:
            session.prompts.boxes_xywh = parse_boxes(text, session.video.size)
        except UserError as exc:
            return session.image(), text, f"**Error:** {exc}", session
        session.prompts.pending = None
        return _show(session, f"{len(session.prompts.boxes_xywh)} box(es).")

    def undo(self, session: Session) -> tuple:
        """Forget the pending corner, else the last box."""
        p = session.prompts
        if p.pending is not None:
            p.pending = None
        elif p.boxes_xywh:
            p.boxes_xywh.pop()
        return _show(session, f"{len(p.boxes_xywh)} box(es).")

    def clear(self, session: Session) -> tuple:
        """Forget every box and the mask."""
        session.prompts = Prompts()
        return (*_show(session, "Cleared boxes and mask."), None)

    def mask(self, file: str | None, session: Session) -> tuple:
        """A VOS mask PNG was uploaded (or removed); outputs the prompt views and the upload box."""
        session.prompts.mask = None
        if session.video is None:
            return (*_show(session, "Upload a video first, then its first-frame mask."), None)
        if not file:
            return (*_show(session, "Mask removed."), gr.skip())
        try:
            session.prompts.mask = read_mask_png(file, session.video.size)
        except UserError as exc:
            gr.Warning(str(exc))
            return (*_show(session, f"**Error:** {exc}"), None)
        n = int(session.prompts.mask.max())
        return (*_show(session, f"Mask with {n} object(s); it is used instead of boxes."), gr.skip())

    def task(self, task: str, association: str, session: Session) -> tuple:
        """Show the chosen task's controls: help, boxes, mask, MOT group, association, its sliders, first frame."""
        session.task = task
        boxes = task in ("sot", "vos")
        cfg = self.config(task) if task in ("mot", "mots") else self.config("mot", association)
        assoc = cfg.association
        c, a = slider_settings(cfg)
        lost = sot_slider(self.config(task if boxes else "sot"))
        label = "First frame (click two corners per box)" if boxes else "First frame"
        return (HELP[task], gr.update(visible=boxes), gr.update(visible=task == "vos"),
                gr.update(visible=not boxes), assoc, gr.update(**c), gr.update(**a), gr.update(**lost),
                gr.update(value=session.image(), label=label), session)

    def association(self, association: str, task: str) -> tuple:
        """Reset the two sliders whose meaning depends on the association method."""
        c, a = slider_settings(self.config(task if task in ("mot", "mots") else "mot", association))
        return gr.update(**c), gr.update(**a)

    @staticmethod
    def _fail(message: str, session: Session | None = None) -> tuple:
        gr.Warning(message)
        return None, None, f"**Error:** {message}", session if session is not None else gr.skip()

    def run(self, session: Session, task: str, classes: list[str] | None, association: str, conf: float,
            nms: float, assoc: float, lost: float = 0.0, progress: gr.Progress = gr.Progress()) -> tuple:
        """Track the session's video; outputs (annotated video, zip, status, session)."""
        if session.video is None:
            return self._fail("Upload a video (or use the sample) first.")
        request = RunRequest(task=task, boxes_xywh=list(session.prompts.boxes_xywh),
                             mask=session.prompts.mask if task == "vos" else None)
        if task in ("mot", "mots"):
            request.classes = tuple(self.class_names.index(c) for c in classes or ()) or None
            request.thresholds = mot_thresholds(association, conf, nms, assoc)
        else:
            request.thresholds = sot_thresholds(self.config(task), lost)
        return self._track(session, request, progress)

    def _track(self, session: Session, request: RunRequest, progress: gr.Progress) -> tuple:
        progress(0, desc="Starting")
        try:
            result = run_tracking(self.model, session.video, request, new_run_folder(self.runs_root), self.limits,
                                  lambda n, total: progress((n, total), desc="Tracking", unit="frames"),
                                  model_name=self.model_name)
        except UserError as exc:
            return self._fail(str(exc))
        except Exception:  # noqa: BLE001 - this session failed; the server goes on serving the others
            LOG.exception("run failed")
            return self._fail("Tracking failed unexpectedly (details are in the server log); try another video "
                              "or task.")
        s = result.summary
        message = (f"**Done:** {s['task'].upper()} on {s['input']}: {s['frames']} frames, {s['tracks']} track(s), "
                   f"{s['fps']} frames/s on {s['device']}.")
        if s["truncated_at_limit"]:
            message += f" Stopped at the {self.limits.max_frames}-frame limit."
        if request.corrections:
            frames = sorted(request.corrections)
            message += (f" Corrected at frame(s) {', '.join(map(str, frames))}: re-tracked from frame {frames[0]}, "
                        "the frames before it are as before.")
        session.last, session.last_frames = request, int(s["frames"])
        return str(result.video), str(result.archive), message, session

    def fix_show(self, k: float | None, session: Session) -> tuple:
        """Show frame ``k`` of the last run's video for a correction; outputs (image, box text, status, session)."""
        if session.video is None or session.last is None:
            return None, "", "Run tracking first; then pick the frame to correct.", session
        if session.last.task not in ("sot", "vos"):
            return None, "", "**Error:** corrections are for SOT and VOS runs (a target's true box).", session
        k = int(k or 0)
        if not 1 <= k < session.last_frames:
            return None, "", (f"**Error:** pick a frame from 1 to {session.last_frames - 1} (frame 0 holds the "
                              "prompts)."), session
        try:
            session.fix_image = read_frame(session.video, k)
        except UserError as exc:
            return None, "", f"**Error:** {exc}", session
        session.fix_frame, session.fix = k, Prompts()
        return fix_view(session), "", f"Frame {k}: click two opposite corners of the target's true box.", session

    def fix_click(self, session: Session, evt: gr.SelectData) -> tuple:
        """A click on the frame being corrected: a corner of the true box."""
        if session.fix_image is None:
            return None, "", "Show a frame to correct first.", session
        f = session.fix
        if f.pending is None:  # a new box replaces the one drawn before
            f.boxes_xywh = []
        box, message = _corner(f, session, evt)
        if box is None:
            return fix_view(session), "", message, session
        f.boxes_xywh = [box]
        return (fix_view(session), format_boxes(f.boxes_xywh),
                f"True box at frame {session.fix_frame}: {format_boxes(f.boxes_xywh)}.", session)

    def fix_typed(self, text: str, session: Session) -> tuple:
        """The true-box text box lost focus: take a typed box."""
        if text.strip() == format_boxes(session.fix.boxes_xywh).strip() or session.fix_image is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            boxes = parse_boxes(text, session.video.size)
        except UserError as exc:
            return fix_view(session), text, f"**Error:** {exc}", session
        if len(boxes) != 1:
            return fix_view(session), text, "**Error:** give one box: x, y, w, h", session
        session.fix.boxes_xywh, session.fix.pending = boxes, None
        return fix_view(session), text, f"True box at frame {session.fix_frame}: {format_boxes(boxes)}.", session

    def rerun(self, session: Session, target: float | None, progress: gr.Progress = gr.Progress()) -> tuple:
        """Re-run the last run with the true box at the shown frame; outputs (video, zip, status, session)."""
        if session.last is None or session.fix_frame is None or not session.fix.boxes_xywh:
            return self._fail("Show a frame of the result and draw (or type) the target's true box first.")
        tid = int(target or 1)
        known = len(session.last.boxes_xywh) if session.last.mask is None else int(session.last.mask.max())
        if not 1 <= tid <= known:
            return self._fail(f"target {tid} is not tracked; this run has target(s) 1 to {known}")
        corrections = dict(session.last.corrections or {})  # earlier corrections of this video stay
        k = session.fix_frame
        corrections[k] = {**corrections.get(k, {}), tid: tuple(session.fix.boxes_xywh[0])}
        return self._track(session, replace(session.last, corrections=corrections), progress)

