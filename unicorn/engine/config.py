"""Training configuration: a frozen dataclass with every default; YAML files hold only overrides.

Defaults follow upstream stage 1 (``ExpTrack``): AdamW with lr = 5e-4/64 x global batch,
weight decay 5e-4, 1 warm-up epoch (quadratic) then cosine to 0.1 x lr with the last 3 epochs
at the minimum, EMA 0.9998 with the ramp 1 - exp(-t/2000), SOT and MOT batches alternating with
gradient accumulation 2, multi-scale every 10 iterations, 15 epochs of 200k samples.

``stage: memory`` trains only a memory embedding (``unicorn-lite``) to propagate mask labels between
frames of real videos (:class:`~unicorn.engine.objectives.MemoryObjective`), EMA off unless asked.
``stage: det`` is the COCO detection pre-training (``ExpDet``). ``stage: mask`` (upstream
stage 2) trains only ``head.controllers.*`` and ``mask_branch.*`` and turns EMA off unless the
YAML says otherwise; :func:`resolve_train_config` fills those in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ..checks import FLAG, Setting, at_least, check_fields, check_ids, one_of, positive, unit
from ..config import ModelConfig, from_dict, load_yaml, to_dict, with_overrides
from ..errors import UserError
from ..variants import get_variant

TASK_IDS = {"sot": 1, "vos": 1, "mot": 2, "mots": 2}
STAGES = ("det", "box", "mask", "memory")
STAGE_TASKS = {"det": ("mot",), "box": ("sot", "mot"), "mask": ("vos", "mots"), "memory": ("vos",)}
MASK_STAGE_TRAINABLE = ("head.controllers.*", "mask_branch.*")
MEMORY_STAGE_TRAINABLE = ("embedding.*",)


TRAIN_SETTINGS = {
    "name": Setting(str), "output_dir": Setting(str), "model": Setting(str), "init_checkpoint": Setting(str),
    "stage": one_of(*STAGES), "multiscale_range": at_least(0, int), "multiscale_interval": positive(int),
    "batch_size": positive(int), "epochs": positive(int), "samples_per_epoch": positive(int),
    "lr_per_64": positive(example=5e-4), "weight_decay": at_least(0), "warmup_epochs": at_least(0),
    "warmup_lr_start": at_least(0), "min_lr_ratio": unit(), "no_aug_epochs": at_least(0, int),
    "ema": Setting(bool, optional=True), "ema_decay": unit(example=0.9998), "ema_ramp": positive(),
    "grad_accum": positive(int), "alternate_tasks": FLAG, "mot_weight": at_least(0), "mhs": FLAG,
    "mhs_weight": at_least(0), "grad_clip": at_least(0), "frozen_bn": FLAG, "amp": one_of("auto", "bf16", "off"),
    "device": one_of("auto", "cpu", "cuda"), "num_workers": at_least(0, int), "seed": at_least(0, int),
    "checkpoint_interval": positive(int), "log_interval": positive(int), "export_half": FLAG,
    "time_limit_min": at_least(0)}


@dataclass(frozen=True)
class DatasetConfig:
    """One training source and its share of the samples.

    Attributes:
        name: ``synthetic`` (generated videos, offline) or a key of
            :data:`unicorn.data.train_sets.TRAIN_SETS` (``lasot``, ``got10k``, ``mot17``, ``bdd100k-box-track`` ...).
        task: ``sot`` | ``mot`` (box and det stages) or ``vos`` | ``mots`` (mask stage).
        weight: relative sampling weight within its task.
        root: dataset folder ("" = the reader's default folder under ``datasets/``; unused by ``synthetic``).
        options: keyword arguments of the pair sampler (``max_gap``, ``max_objects``; for ``synthetic``
            the generator's: ``num_sequences``, ``num_frames`` ...).
        reader_options: keyword arguments of the training-set reader (``split``, ``categories``,
            ``sequence_list`` ...).
    """

    name: str
    task: str
    weight: float = 1.0
    root: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    reader_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("options", "reader_options"):
            if not isinstance(getattr(self, key), dict):
                raise UserError(f"dataset {self.name!r}: {key} must be a mapping, got {getattr(self, key)!r}")
        check_fields(self, {"name": Setting(str), "task": one_of(*TASK_IDS), "weight": positive(example=1.0),
                            "root": Setting(str)}, f"dataset {self.name!r}: ")
        from ..data.train_sets import TRAIN_SETS

        if self.name != "synthetic" and self.name.lower().replace("_", "-") not in TRAIN_SETS:
            raise UserError(f"unknown training set {self.name!r}; choose 'synthetic' or one of: "
                            f"{', '.join(TRAIN_SETS)}")

    @property
    def task_id(self) -> int:
        """1 = SOT/VOS, 2 = MOT/MOTS (the ids of :func:`unicorn.models.losses.unicorn_loss`)."""
        return TASK_IDS[self.task]


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs (defaults = upstream stage 1, BDD group).

    Attributes:
        name: run name; the run folder is ``output_dir/name``.
        output_dir: parent folder of run folders.
        model: variant name from :data:`unicorn.variants.VARIANTS`.
        model_overrides: fields of :class:`~unicorn.config.ModelConfig` to change on that variant.
        init_checkpoint: weights to start from (``.safetensors``, our run checkpoint, or upstream ``.pth``).
        init_class_map: source class of each model class when the class counts differ (COCO -> BDD100K:
            ``[0, 0, 2, 7, 5, 6, 3, 1]``; COCO -> MOT17: ``[0]``).
        stage: ``det`` (detection pre-training on still images, task ``mot``), ``box`` (SOT + MOT) or
            ``mask`` (VOS + MOTS, everything frozen except the mask parts).
        datasets: the training sources.
        input_size: training (H, W), multiples of 32.
        multiscale_range: random heights input H +- k x 32 (k <= this), width keeps the aspect; 0 = off.
        multiscale_interval: iterations between size changes.
        batch_size: pairs per process per iteration.
        epochs: training epochs.
        samples_per_epoch: pairs per epoch over all processes and tasks.
        lr_per_64: learning rate per 64 pairs of global batch (lr = lr_per_64 / 64 x batch x world).
        weight_decay: AdamW weight decay.
        warmup_epochs: epochs of quadratic warm-up from ``warmup_lr_start``.
        warmup_lr_start: learning rate at step 0.
        min_lr_ratio: cosine floor as a fraction of the peak learning rate.
        no_aug_epochs: final epochs held at the floor.
        ema: keep an exponential moving average of the weights (None = off in the mask stage, else on).
        ema_decay: EMA decay (ramped by ``1 - exp(-updates / ema_ramp)``).
        ema_ramp: EMA ramp constant in optimizer steps.
        grad_accum: iterations per optimizer step (2 = one SOT + one MOT batch when alternating).
        alternate_tasks: every batch is one task, alternating SOT/MOT each iteration (False: one mix of all
            datasets, batches may hold both tasks).
        mot_weight: factor on MOT losses.
        mhs: add the SOT loss of one object of every MOT pair (upstream BDD box stage).
        mhs_weight: factor of that loss.
        grad_clip: max gradient norm (0 = no clipping; upstream has none).
        frozen_bn: keep BatchNorm layers in eval mode (frozen statistics; helps tiny batches).
        freeze: glob patterns of parameter names to freeze.
        train_only: if not empty, freeze every parameter that matches none of these patterns
            (None = ``head.controllers.*``, ``mask_branch.*`` in the mask stage, else nothing).
        amp: ``auto`` (bf16 autocast on CUDA for the det and box stages; off on CPU and in the mask stage),
            ``bf16`` or ``off``.
        device: ``auto``, ``cpu`` or ``cuda``.
        num_workers: data-loader workers per process.
        seed: base random seed (each rank adds its rank).
        checkpoint_interval: optimizer steps between checkpoints (also at each epoch end).
        log_interval: optimizer steps between log rows.
        export_half: export the final weights in float16.
        time_limit_min: stop cleanly (log, checkpoint, export) after this many minutes of training;
            ``--resume`` continues. 0 = no limit.
    """

    name: str = "unicorn"
    output_dir: str = "runs/train"
    model: str = "unicorn_track_tiny"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    init_checkpoint: str = ""
    init_class_map: tuple[int, ...] = ()
    stage: str = "box"
    datasets: tuple[DatasetConfig, ...] = ()
    input_size: tuple[int, int] = (800, 1280)
    multiscale_range: int = 2
    multiscale_interval: int = 10
    batch_size: int = 2
    epochs: int = 15
    samples_per_epoch: int = 200_000
    lr_per_64: float = 5e-4
    weight_decay: float = 5e-4
    warmup_epochs: float = 1.0
    warmup_lr_start: float = 0.0
    min_lr_ratio: float = 0.1
    no_aug_epochs: int = 3
    ema: bool | None = None
    ema_decay: float = 0.9998
    ema_ramp: float = 2000.0
    grad_accum: int = 2
    alternate_tasks: bool = True
    mot_weight: float = 3.0
    mhs: bool = True
    mhs_weight: float = 0.5
    grad_clip: float = 0.0
    frozen_bn: bool = False
    freeze: tuple[str, ...] = ()
    train_only: tuple[str, ...] | None = None
    amp: str = "auto"
    device: str = "auto"
    num_workers: int = 2
    seed: int = 0
    checkpoint_interval: int = 1000
    log_interval: int = 20
    export_half: bool = False
    time_limit_min: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.train_only, list):  # YAML lists; the union annotation is not coerced
            object.__setattr__(self, "train_only", tuple(self.train_only))
        check_fields(self, TRAIN_SETTINGS)
        object.__setattr__(self, "input_size", check_ids("input_size", self.input_size))
        object.__setattr__(self, "init_class_map", check_ids("init_class_map", self.init_class_map))
        if not isinstance(self.model_overrides, dict):
            raise UserError(f"model_overrides must be a mapping of ModelConfig fields, got {self.model_overrides!r}")
        checks = [
            (self.stage in STAGES, f"stage must be 'det', 'box', 'mask' or 'memory', got {self.stage!r}"),
            (self.amp in ("auto", "bf16", "off"), f"amp must be 'auto', 'bf16' or 'off', got {self.amp!r}"),
            (self.device in ("auto", "cpu", "cuda"), f"device must be 'auto', 'cpu' or 'cuda', got {self.device!r}"),
            (all(v > 0 and v % 32 == 0 for v in self.input_size),
             f"input_size {self.input_size} must be positive multiples of 32 (e.g. [128, 192])"),
            (self.batch_size >= 1 and self.grad_accum >= 1 and self.epochs >= 1,
             "batch_size, grad_accum and epochs must be >= 1"),
            (len(self.input_size) == 2, f"input_size must be [height, width], got {list(self.input_size)}"),
            (self.warmup_epochs + self.no_aug_epochs < self.epochs,
             f"warmup_epochs ({self.warmup_epochs:g}) + no_aug_epochs ({self.no_aug_epochs}) must be less than epochs "
             f"({self.epochs}) to leave room for the cosine decay; train longer or shorten them"),
            (0.0 <= self.min_lr_ratio <= 1.0, f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}"),
            (self.multiscale_range >= 0 and self.multiscale_interval >= 1,
             "multiscale_range must be >= 0 and multiscale_interval >= 1"),
            (self.log_interval >= 1 and self.checkpoint_interval >= 1, "log/checkpoint intervals must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(message)
        tasks = {d.task for d in self.datasets}
        wrong = tasks - set(STAGE_TASKS[self.stage])
        if wrong:
            raise UserError(f"stage {self.stage!r} trains on {'/'.join(STAGE_TASKS[self.stage])} datasets, but the "
                            f"config lists task(s) {sorted(wrong)}")

    def model_config(self) -> ModelConfig:
        """The architecture: the named variant with ``model_overrides`` applied."""
        base = get_variant(self.model).config
        return with_overrides(base, self.model_overrides, "model_overrides")

    def world_lr(self, world_size: int) -> float:
        """Peak learning rate for ``world_size`` processes (linear scaling rule)."""
        return self.lr_per_64 / 64 * self.batch_size * world_size

    def steps_per_epoch(self, world_size: int) -> int:
        """Optimizer steps per epoch."""
        return max(1, self.samples_per_epoch // (self.batch_size * world_size * self.grad_accum))

    @property
    def run_dir(self) -> Path:
        """Folder of this run."""
        return Path(self.output_dir) / self.name


def resolve_train_config(cfg: TrainConfig, cuda: bool) -> TrainConfig:
    """Fill the stage- and device-dependent defaults (EMA, trainable patterns, amp, device)."""
    ema = cfg.ema if cfg.ema is not None else cfg.stage not in ("mask", "memory")
    defaults = {"mask": MASK_STAGE_TRAINABLE, "memory": MEMORY_STAGE_TRAINABLE}
    train_only = cfg.train_only if cfg.train_only is not None else defaults.get(cfg.stage, ())
    device = cfg.device if cfg.device != "auto" else ("cuda" if cuda else "cpu")
    if device == "cuda" and not cuda:
        raise UserError("device 'cuda' was asked for but no CUDA GPU is available; set device: cpu")
    # auto: bf16 on CUDA, except the mask stage: the dynamic mask parameters are assembled with an
    # index-put that fails under autocast (head.dynamic_params mixes bf16 and float32).
    amp = cfg.amp if cfg.amp != "auto" else ("bf16" if device == "cuda" and cfg.stage in ("det", "box") else "off")
    return replace(cfg, ema=ema, train_only=tuple(train_only), device=device, amp=amp)


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; the value is parsed as YAML (``lr_per_64=1e-3``, ``mhs=false``)."""
    if "=" not in text:
        raise UserError(f"override {text!r} must look like key=value (e.g. epochs=3 or input_size=[128,192])")
    key, value = text.split("=", 1)
    return key.strip(), yaml.safe_load(value) if value.strip() else ""


def load_train_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Defaults <- YAML file <- ``key=value`` overrides; unknown keys are errors.

    Dotted keys set fields of ``model_overrides`` (``model_overrides.num_classes=1``).
    """
    values = load_yaml(path) if path else {}
    for item in overrides:
        key, value = parse_override(item)
        if key.startswith("model_overrides."):
            values.setdefault("model_overrides", {})
            values["model_overrides"] = {**values["model_overrides"], key.split(".", 1)[1]: value}
        else:
            values[key] = value
    cfg = from_dict(TrainConfig, values, str(path or "config"))
    cfg.model_config()  # validate the model overrides now, not after data loading
    return cfg


def save_train_config(cfg: TrainConfig, path: str | Path) -> Path:
    """Write the resolved config (every field) as YAML next to the run."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    return path


__all__ = ["DatasetConfig", "TASK_IDS", "TrainConfig", "load_train_config", "parse_override",
           "resolve_train_config", "save_train_config"]
