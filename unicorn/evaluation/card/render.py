"""The model card's numbers as markdown: every number of ``results.json`` that a reader needs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

SPEED_TASKS = {"sot": "SOT, 1 target", "vos": "VOS, 1 object", "mot": "MOT incl. detection"}
SPEED_NOTE = ("Median time of one tracker step (pre-processing, network, post-processing; frame decoding "
              "not timed), inference mode, each task in its own process; peak MB = the process's peak "
              "resident memory at the end (VmHWM: Python, torch, the model and the tracker); MB after load = "
              "the same peak right after the model was loaded, before tracking.")
SOT_TITLES = {"sot_davis": "SOT on DAVIS-2016 val", "sot_mot17": "SOT on MOT17-mini pedestrians"}
FLOW_NOTE = ("Optical flow: Farneback flow from each frame to the previous one, previous mask warped backwards "
             "(bilinear), threshold 0.5.")


def number(value: Any, digits: int = 1) -> str:
    """A table cell: floats with ``digits`` decimals, "—" for None / NaN."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table(header: Sequence[str], rows: Sequence[Sequence]) -> list[str]:
    """Markdown table lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(number(v) if not isinstance(v, str) else v for v in row) + " |" for row in rows]


def setup_lines(results: dict) -> list[str]:
    """Title, model, machine, versions, data and notes."""
    s = results["setup"]
    h, w = s["input_size"]
    lines = [f"# Model card numbers: {s['label']}", "",
             f"- model: `{s['model']}`, input {h}x{w}, {s['threads']} threads, device {s['device']}",
             f"- CPU: {s['cpu']}", f"- torch {s['torch']}, numpy {s['numpy']}, OpenCV {s['opencv']}"
             + (f", OpenCV contrib {s['opencv_contrib']} (CSRT/KCF)" if s.get("opencv_contrib") else ""),
             f"- data: `{s['data']}`; {s['date']}; commit {s.get('git_commit') or 'unknown'}; "
             f"wall time {s.get('wall_time_s', 0):.0f} s; load average at start {s.get('load_average_1m')}"
             + (" — QUICK MODE (first frames only)" if s["quick"] else "")]
    lines += [f"- warning: {t}" for t in s.get("load_warnings", [])]
    return lines + [f"- note: {t}" for t in results.get("notes", {}).values()]


def speed_lines(speed: dict) -> list[str]:
    """The speed and memory table."""
    if not speed:
        return []
    rows = [[SPEED_TASKS[k], v["fps"], v["ms_per_frame"], v["peak_mb"], v["after_load_mb"],
             f"{v['steps']} (+{v['warmup']} warm-up)",
             v["source"] + (f"; detector: {v['detector']}" if v.get("detector") else "")] for k, v in speed.items()]
    header = ["task", "frames/s", "ms/frame", "peak MB", "MB after load", "timed steps", "frames"]
    return ["", "## Speed and memory (CPU)", "", *table(header, rows), "", SPEED_NOTE]


def sot_lines(key: str, sec: dict) -> list[str]:
    """One SOT section (DAVIS: with per-sequence AUC columns; MOT17: with the targets per sequence)."""
    if not sec:
        return []
    per_seq_cols = sec.get("sequences", []) if key == "sot_davis" else []
    rows = [[name, m["AUC"], m["Precision"], m["OP50"], *[m["per_sequence"].get(q, {}).get("AUC")
                                                          for q in per_seq_cols]]
            for name, m in sec.get("methods", {}).items()]
    lines = ["", f"## {SOT_TITLES[key]} ({sec.get('targets', 0)} targets)", ""]
    lines += table(["method", "AUC", "Precision", "OP50", *[f"{q} AUC" for q in per_seq_cols]], rows)
    lines += ["", f"Protocol: {sec['protocol']}. {sec['convention']}."]
    if key == "sot_mot17" and sec.get("methods"):
        first = next(iter(sec["methods"].values()))
        lines += ["Targets per sequence: " + ", ".join(f"{n} {v['targets']}"
                                                       for n, v in first["per_sequence"].items()) + "."]
    return lines


def vos_lines(sec: dict) -> list[str]:
    """The VOS section."""
    if not sec:
        return []
    seqs = sec.get("sequences", [])
    rows = [[name, m["J"], m["F"], m["J&F"], *[m["per_sequence"][q]["J&F"] for q in seqs]]
            for name, m in sec.get("methods", {}).items()]
    lines = ["", "## VOS on DAVIS-2016 val (first-frame mask)", ""]
    lines += table(["method", "J", "F", "J&F", *[f"{q} J&F" for q in seqs]], rows)
    return lines + ["", f"{sec['convention']}. {FLOW_NOTE}"]


def botsort_lines(b: dict, model: str) -> list[str]:
    """How the BoT-SORT rows were made."""
    st = b["settings"]
    lines = ["", f"{b['label']}: peer baseline on the same data — the very detections {model}'s tracker "
             f"received ({b['detections']} person boxes, NanoDet-g score floor > {number(b['score_floor'], 2)}, "
             f"NMS IoU {number(b['nms_thresh'], 2)}, at most {number(b.get('max_detections'))} per frame) fed to "
             f"`trackers.BoTSORTTracker` with its default settings: high/low split at "
             f"{st['high_conf_det_threshold']} (low pass > 0.1), new tracks from score "
             f">= {st['track_activation_threshold']}, a track reported after "
             f"`minimum_consecutive_frames`={st['minimum_consecutive_frames']} matched frames (first-frame "
             f"tracks at once), camera motion compensation {st.get('cmc_method', 'off')}; rows = confirmed "
             f"tracks (tracker_id >= 0) with the matched detection's box. Of the {b['detections']} boxes, "
             f"{b.get('detections_high')} reach the high pass and {b.get('detections_activation')} can start "
             f"a track (NanoDet-g scores run low). Tracker alone (CMC included, "
             f"detection and frame decoding not): {number(b['tracker_fps'], 0)} frames/s "
             f"({number(b['tracker_ms_per_frame'], 2)} ms/frame, {b['frames_timed']} frames, "
             f"{b['opencv_threads']} OpenCV thread)."]
    if b.get("tuned"):
        t = b["tuned"]["settings"]
        lines += ["", f"{b['tuned']['label']}: the same, with the first pass above "
                  f"{t['high_conf_det_threshold']} and new tracks from {t['track_activation_threshold']}, "
                  f"the thresholds {model}'s ByteTrack uses for NanoDet-g (`ByteTrackConfig.nanodet()`)."]
    return lines


def mot_lines(sec: dict) -> list[str]:
    """The MOT section (with the BoT-SORT rows' description when they are there)."""
    if not sec:
        return []
    model, first = next(iter(sec["methods"].items()))
    rows = [[name, v["HOTA"], v["DetA"], v["AssA"], v["MOTA"], v["IDF1"], v["IDSW"], v["FP"], v["FN"]]
            for name, v in sec["methods"].items()]
    lines = ["", "## MOT on MOT17-mini", ""]
    lines += table(["method", "HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN"], rows)
    lines += ["", f"{sec['convention']} (class {sec.get('class_names')}, ids {sec.get('classes')}); "
              f"{first['sequences']} sequences, {first['frames']} frames. Detector: {sec['detector']}."]
    return lines + (botsort_lines(sec["botsort"], model) if sec.get("botsort") else [])


def render_markdown(results: dict) -> str:
    """The model card's numbers as a markdown document."""
    lines = setup_lines(results) + speed_lines(results.get("speed") or {})
    for key in SOT_TITLES:
        lines += sot_lines(key, results.get(key) or {})
    lines += vos_lines(results.get("vos_davis") or {}) + mot_lines(results.get("mot17") or {})
    if results.get("files"):
        lines += ["", "Files: " + ", ".join(f"`{Path(p).name}`" for p in results["files"])]
    return "\n".join(lines) + "\n"
