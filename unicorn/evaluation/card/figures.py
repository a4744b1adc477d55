"""The model card's pictures: success plots, the VOS bar chart, and annotated frame grids."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from unicorn.evaluation import sot
from unicorn.evaluation.card.data import DavisClip, davis_sot_sequences, read_frame
from unicorn.evaluation.card.runs import Snapshots
from unicorn.types import FrameResult

GRID_TILE_WIDTH = 480
SOT_PLOTS = {"sot_davis": "SOT DAVIS-2016 (box of the mask)", "sot_mot17": "SOT MOT17-mini pedestrians"}


def write_plots(results: dict, out: Path) -> list[Path]:
    """``<section>_success.png`` per SOT section and ``vos_davis_jf.png``; returns the written paths."""
    from unicorn.evaluation import plots

    written = []
    for key, title in SOT_PLOTS.items():
        methods = results.get(key, {}).get("methods") or {}
        if methods:
            curves = {f"{n} [AUC {m['AUC']:.1f}]": 100 * np.asarray(m["success_curve"]) for n, m in methods.items()}
            fig = plots.curve_figure(sot.THRESHOLDS_OVERLAP, curves, f"Success plot: {title}",
                                     "Overlap threshold (IoU)", "Success rate (%)")
            fig.axes[0].set_ylim(0, 100)
            written.append(plots.save(fig, out / f"{key}_success.png"))
    methods = results.get("vos_davis", {}).get("methods") or {}
    if methods:
        fig = plots.bar_figure({n: m["J&F"] for n, m in methods.items()}, "J&F (%)",
                               f"VOS J&F on DAVIS-2016 ({', '.join(results['vos_davis']['sequences'])})", "method")
        written.append(plots.save(fig, out / "vos_davis_jf.png"))
    return written


def _with_gt_box(res: FrameResult, box_xywh: np.ndarray) -> FrameResult:
    """``res`` with the ground-truth box added as track 0 of class 1 (predictions are class 0)."""
    x, y, w, h = box_xywh
    return FrameResult(res.frame_index, res.image_size, np.r_[res.track_ids, 0],
                       np.r_[res.boxes_xyxy, [[x, y, x + w, y + h]]], np.r_[res.scores, 1.0],
                       np.r_[np.zeros(len(res), np.int64), 1])


def _tile(task: str, t: int, path: Path, res: FrameResult, gt_boxes: np.ndarray | None,
          class_names: Sequence[str]) -> np.ndarray:
    """One annotated frame, labelled with its index and scaled to ``GRID_TILE_WIDTH``."""
    from unicorn.evaluation.video_writer import annotate_frame

    frame = read_frame(path)
    if task == "sot" and gt_boxes is not None and np.isfinite(gt_boxes[t]).all():
        image = annotate_frame(frame, _with_gt_box(res, gt_boxes[t]), class_names=["prediction", "ground truth"],
                               show_scores=False)
    else:
        image = annotate_frame(frame, res, class_names=class_names if task == "mot" else None)
    cv2.putText(image, f"frame {t}", (10, image.shape[0] - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.8,
                (255, 255, 255), 2, cv2.LINE_AA)
    scale = GRID_TILE_WIDTH / image.shape[1]
    return cv2.resize(image, (GRID_TILE_WIDTH, int(round(image.shape[0] * scale))), interpolation=cv2.INTER_AREA)


def write_grids(snaps: dict[str, Snapshots], out: Path, davis: Sequence[DavisClip],
                class_names: Sequence[str]) -> list[Path]:
    """``frames_<task>.jpg``: a few annotated frames of each task's first clip, two per row.

    Args:
        snaps: ``{task: {t: (frame path, result)}}`` from the runs.
        out: output folder.
        davis: the DAVIS clips (the SOT grid adds the ground-truth box of the first).
        class_names: the model's class names (MOT labels).
    """
    written = []
    gt_boxes = davis_sot_sequences(davis[:1])[0].gt[0] if davis else None
    for task, shots in snaps.items():
        tiles = [_tile(task, t, path, res, gt_boxes, class_names) for t, (path, res) in sorted(shots.items())]
        if not tiles:
            continue
        tiles += [np.zeros_like(tiles[0])] * (len(tiles) % 2)
        rows = [np.hstack(tiles[i:i + 2]) for i in range(0, len(tiles), 2)]
        path = out / f"frames_{task}.jpg"
        cv2.imwrite(str(path), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 85])
        written.append(path)
    return written
