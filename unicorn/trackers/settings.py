"""One rule for every tracker's settings.

Layers, each overriding the one before, by setting name (never by comparing values):

1. the defaults: the config dataclasses' (upstream Unicorn's), upstream's per-task choices
   (:data:`TASK_DEFAULTS`) and the thresholds of the detector in use (:data:`DETECTOR_DEFAULTS`);
2. the model variant's ``tracker_defaults`` for the task (:mod:`unicorn.variants`);
3. what the video says: its frame rate (``ByteTrackConfig.frame_rate``, which scales how long a lost
   track is kept);
4. what the user set.

Settings are flat names: any field of :class:`SOTConfig` / :class:`VOSConfig` for SOT/VOS; of
:class:`MOTConfig`, :class:`ByteTrackConfig` or :class:`EmbeddingMatcherConfig` for MOT/MOTS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any

from ..errors import UserError
from ..variants import COCO_CLASSES, TASKS, variant_of
from .association.bytetrack import ByteTrackConfig
from .association.embedding import EmbeddingMatcherConfig
from .configs import MOTConfig, SOTConfig, VOSConfig

# Upstream's own per-task choices: MOTS associates with the embedding matcher on the model's ID features.
TASK_DEFAULTS: dict[str, dict[str, Any]] = {"mots": {"association": "embedding"}}
# ByteTrack thresholds of each detector (see ByteTrackConfig.mot17 / ByteTrackConfig.nanodet): upstream's MOT17
# settings for the model's own head and for detections you bring; NanoDet-g's for the bundled COCO detector.
DETECTOR_DEFAULTS: dict[str, dict[str, Any]] = {
    "model": {"max_aspect_ratio": 1.6}, "own": {"max_aspect_ratio": 1.6}, "nanodet-g": {"track_thresh": 0.45}}
MOT_PARTS = (MOTConfig, ByteTrackConfig, EmbeddingMatcherConfig)


def field_names(cls: type) -> list[str]:
    """Names of a config dataclass's fields, in order."""
    return [f.name for f in fields(cls)]


def check_task(task: str) -> str:
    """``task`` in lower case; raises ``UserError`` naming the four tasks."""
    task = str(task).lower()
    if task not in TASKS:
        raise UserError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    return task


def check_names(task: str, settings: Mapping[str, Any]) -> None:
    """Refuse setting names that no config of ``task`` has (the error lists the valid ones)."""
    parts = (SOTConfig,) if task == "sot" else (VOSConfig,) if task == "vos" else MOT_PARTS
    valid = [name for cls in parts for name in field_names(cls)]
    unknown = sorted(set(settings) - set(valid))
    if unknown:
        raise UserError(f"unknown {task} setting(s) {unknown}; valid: {valid}")


def layered_settings(model: Any, task: str, settings: Mapping[str, Any] | None = None,
                     fps: float | None = None) -> dict[str, Any]:
    """The flat settings of layers 1 (task part) to 4, before the detector's thresholds (see the module doc)."""
    task = check_task(task)
    user = dict(settings or {})
    check_names(task, user)
    if user.get("detector") == "auto":  # "auto" = the variant's choice, i.e. not set
        del user["detector"]
    variant = variant_of(model) if model is not None else None
    layers = [TASK_DEFAULTS.get(task, {}), variant.defaults_for(task) if variant is not None else {}]
    if fps is not None and task in ("mot", "mots") and fps > 0:
        layers.append({"frame_rate": float(fps)})
    merged: dict[str, Any] = {}
    for layer in (*layers, user):
        merged.update(layer)
    return merged


def tracker_config(model: Any, task: str, settings: Mapping[str, Any] | None = None, *,
                   fps: float | None = None, detector_given: bool = False) -> SOTConfig | VOSConfig | MOTConfig:
    """The config a tracker for ``task`` over ``model`` runs with.

    Args:
        model: the model (its ``variant`` picks the variant layer), or None for the defaults alone.
        task: ``"sot"``, ``"vos"``, ``"mot"`` or ``"mots"``.
        settings: what the user set, as flat setting names.
        fps: the video's frames per second (MOT/MOTS: ByteTrack's ``frame_rate`` unless the user set it).
        detector_given: MOT/MOTS: the user brings the detections (a callable or a det.txt), so the
            ByteTrack thresholds are those for your own detections.

    Returns:
        The complete config; for MOT/MOTS ``detector`` names the built-in detector (never ``"auto"``) and
        ``bytetrack`` is set.

    Raises:
        UserError: an unknown task or setting name, or a value of the wrong type or range.
    """
    task = check_task(task)
    merged = layered_settings(model, task, settings, fps)
    if task in ("sot", "vos"):
        return (SOTConfig if task == "sot" else VOSConfig)(**merged)
    detector = merged.setdefault("detector", "model")
    names = {cls: set(field_names(cls)) for cls in MOT_PARTS}
    preset = DETECTOR_DEFAULTS["own" if detector_given else detector]
    byte = {**preset, **{k: v for k, v in merged.items() if k in names[ByteTrackConfig]}}
    emb = {k: v for k, v in merged.items() if k in names[EmbeddingMatcherConfig]}
    mot = {k: v for k, v in merged.items() if k in names[MOTConfig]}
    return MOTConfig(**mot, bytetrack=ByteTrackConfig(**byte), embedding=EmbeddingMatcherConfig(**emb))


def complete_mot_config(model: Any, task: str, config: MOTConfig, detector_given: bool = False) -> MOTConfig:
    """A MOT config built by hand, completed: ``detector="auto"`` becomes the variant's detector for ``task``
    (``"model"`` without one) and ``bytetrack=None`` that detector's thresholds. Nothing set is changed."""
    detector = config.detector
    if detector == "auto":
        variant = variant_of(model)
        detector = (variant.defaults_for(task) if variant is not None else {}).get("detector", "model")
    bytetrack = config.bytetrack
    if bytetrack is None:
        bytetrack = ByteTrackConfig(**DETECTOR_DEFAULTS["own" if detector_given else detector])
    return replace(config, detector=detector, bytetrack=bytetrack)


def output_class_names(model: Any, config: MOTConfig, detector_given: bool = False) -> tuple[str, ...]:
    """Names of the classes a MOT/MOTS tracker with ``config`` outputs (``class_ids`` index them): NanoDet-g's
    COCO classes when it detects, whatever the tracking model's, else the model's own."""
    if config.detector == "nanodet-g" and not detector_given:
        return COCO_CLASSES
    return tuple(model.config.class_names)


def class_names(model: Any, task: str = "mot", settings: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """Names of the classes a MOT/MOTS tracker over ``model`` with ``settings`` outputs, in class-id order
    (what the ``classes`` setting selects from)."""
    return output_class_names(model, tracker_config(model, task, settings))
