"""Build everything a run needs from a :class:`TrainConfig` and train (``tools/train.py``, ``unicorn train``)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from ..config import to_dict
from ..errors import UserError
from ..models.build import build_model
from .checkpoint import Checkpointer, export_weights
from .config import TrainConfig, resolve_train_config, save_train_config
from .data import build_batch_stream
from .distributed import DistInfo, cleanup_distributed, init_distributed, seed_everything, unwrap, wrap_ddp
from .freeze import NormModeHook, apply_freeze
from .hooks import CheckpointHook, EMAHook, MetricsHook, PlotHook, ProgressHook, ScheduleHook, TimeLimitHook
from .init_weights import load_initial_weights, summarize
from .multiscale import size_for_iteration
from .objectives import DetectionObjective, MemoryObjective
from .schedule import ModelEMA, WarmupCosineSchedule
from .trainer import Trainer

log = logging.getLogger("unicorn.train")
WEIGHTS = "weights.safetensors"


def build_schedule(cfg: TrainConfig, world_size: int) -> WarmupCosineSchedule:
    """The learning-rate schedule of ``cfg`` in optimizer steps."""
    per_epoch = cfg.steps_per_epoch(world_size)
    return WarmupCosineSchedule(cfg.world_lr(world_size), cfg.epochs * per_epoch,
                                round(cfg.warmup_epochs * per_epoch), cfg.no_aug_epochs * per_epoch,
                                cfg.min_lr_ratio, cfg.warmup_lr_start)


def prepare_model(cfg: TrainConfig, info: DistInfo) -> tuple[torch.nn.Module, list[str]]:
    """Build the model, load ``init_checkpoint``, freeze, move to the device; returns (model, trainable names)."""
    model = build_model(cfg.model_config())
    if cfg.init_checkpoint:
        report = load_initial_weights(model, cfg.init_checkpoint, cfg.init_class_map)
        if info.is_main:
            log.info("init from %s: %s", cfg.init_checkpoint, summarize(report))
    trainable = apply_freeze(model, cfg.freeze, cfg.train_only or ())
    model = model.to(info.device)
    if info.device.type == "cpu":  # oneDNN convolutions run faster channels-last (as unicorn.load does)
        model = model.to(memory_format=torch.channels_last)
    return model, trainable


def train(cfg: TrainConfig, resume: bool = False, max_steps: int | None = None) -> Path:
    """Train (or resume) the run described by ``cfg``; returns the run folder.

    Works as one process or under ``torchrun`` (one process per GPU, or several CPU processes
    with gloo). Writes ``config.yaml``, ``metrics.csv``, ``loss_curve.png``, ``checkpoints/last.pt``
    and, at the end, ``weights.safetensors`` (the EMA weights when EMA is on) into the run folder.

    Args:
        cfg: the training config (stage/device defaults are resolved here).
        resume: continue from ``checkpoints/last.pt`` of the run folder (a fresh start if there is none).
        max_steps: stop after this many optimizer steps in total (the schedule still spans ``epochs``).
    """
    cfg = resolve_train_config(cfg, torch.cuda.is_available())
    info = init_distributed(cfg.device)
    try:
        return _train(cfg, info, resume, max_steps)
    finally:
        cleanup_distributed()


def _make_trainer(cfg: TrainConfig, info: DistInfo, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                  stream) -> Trainer:
    """The trainer for the config's stage (loss options, masks, bf16, multi-scale), without hooks."""
    size_at = None
    if cfg.multiscale_range > 0:
        def size_at(iteration: int) -> tuple[int, int]:
            return size_for_iteration(cfg.input_size, cfg.multiscale_range, cfg.multiscale_interval, iteration,
                                      cfg.seed)
    loss_kwargs = {} if cfg.stage in ("det", "memory") else {"mot_weight": cfg.mot_weight, "mhs": cfg.mhs,
                                                             "mhs_weight": cfg.mhs_weight}
    return Trainer(model, optimizer, stream, info, grad_accum=cfg.grad_accum, loss_kwargs=loss_kwargs,
                   use_masks=cfg.stage in ("mask", "memory"), bf16=cfg.amp == "bf16", size_at=size_at,
                   grad_clip=cfg.grad_clip)


def _train(cfg: TrainConfig, info: DistInfo, resume: bool, max_steps: int | None) -> Path:
    run_dir = cfg.run_dir
    checkpointer = Checkpointer(run_dir, info)
    latest = checkpointer.latest()
    if latest is not None and not resume:
        raise UserError(f"{run_dir} already holds a run ({latest}); pass --resume to continue it, or choose "
                        "another name / output_dir")
    seed_everything(cfg.seed)  # the same initial weights on every rank
    model, trainable = prepare_model(cfg, info)
    ema = ModelEMA(model, cfg.ema_decay, cfg.ema_ramp) if cfg.ema else None
    objective = {"det": DetectionObjective, "memory": MemoryObjective}.get(cfg.stage, lambda m: m)(model)
    ddp_model = wrap_ddp(objective, info)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.world_lr(info.world_size), weight_decay=cfg.weight_decay)
    schedule = build_schedule(cfg, info.world_size)
    seed_everything(cfg.seed, info.rank)
    start_step = 0
    if latest is not None:
        state = checkpointer.load(latest, model=model, optimizer=optimizer, schedule=schedule, ema=ema)
        start_step = state["step"]
    total = schedule.total_steps
    stop = min(total, max_steps) if max_steps is not None else total
    iterations = start_step * cfg.grad_accum
    stream = build_batch_stream(cfg, info, start_iteration=iterations)
    trainer = _make_trainer(cfg, info, ddp_model, optimizer, stream)
    if info.is_main:  # only now: a model, checkpoint, schedule or dataset that is refused leaves no run folder
        save_train_config(cfg, run_dir / "config.yaml")
    config_dict = to_dict(cfg)

    def save(step: int) -> None:
        checkpointer.save(step, model=model, optimizer=optimizer, schedule=schedule, ema=ema,
                          iteration=trainer.iteration, config=config_dict)

    per_epoch = cfg.steps_per_epoch(info.world_size)
    trainer.register_hooks([
        NormModeHook(model, cfg.frozen_bn),
        ScheduleHook(schedule),
        EMAHook(ema) if ema is not None else None,
        TimeLimitHook(cfg.time_limit_min * 60, info) if cfg.time_limit_min > 0 else None,  # before log/save
        MetricsHook(cfg.run_dir, cfg.log_interval, per_epoch, info),
        CheckpointHook(save, cfg.checkpoint_interval, per_epoch),
        ProgressHook(info, desc=cfg.name),
        PlotHook(cfg.run_dir, info, title=f"{cfg.name}: {cfg.model}, stage {cfg.stage}"),
    ])
    if info.is_main:
        n_train = sum(p.numel() for p in params)
        log.info("%s: %d processes on %s, %d optimizer steps (%d per epoch), lr %.3g, %d trainable tensors "
                 "(%.2f M values), starting at step %d", cfg.name, info.world_size, info.device, total, per_epoch,
                 schedule.peak_lr, len(trainable), n_train / 1e6, start_step)
    if start_step < stop:
        trainer.train(start_step, stop, cfg.grad_accum)
    if info.is_main:
        final = ema.module if ema is not None else unwrap(model)
        export_weights(final, run_dir / WEIGHTS, half=cfg.export_half, variant=cfg.model)
    return run_dir


__all__ = ["WEIGHTS", "build_schedule", "prepare_model", "train"]
