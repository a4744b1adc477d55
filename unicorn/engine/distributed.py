"""``torchrun`` integration: process-group setup from the environment, DDP, seeding, reductions.

One process per GPU (or several CPU processes with gloo). Launch on one machine::

    torchrun --nproc_per_node 8 tools/train.py configs/track/bdd_tiny_stage1.yaml

and on several machines with torchrun's own rendezvous (run the same command on every node)::

    torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d \\
        --rdzv_endpoint HOST_OF_NODE0:29400 --rdzv_id unicorn_stage1 \\
        tools/train.py configs/track/bdd_tiny_stage1.yaml

``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` come from torchrun; without them this is a single process.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits.

    Attributes:
        rank: global rank.
        world_size: number of processes.
        local_rank: rank on this machine.
        local_world_size: processes on this machine.
        device: this process's device.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str = "cpu") -> DistInfo:
    """Join the process group described by torchrun's environment (NCCL on CUDA, gloo on CPU).

    Args:
        device: ``cpu`` or ``cuda``; with CUDA each process takes GPU ``LOCAL_RANK``.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    if device == "cuda":
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device("cpu")
        if local_world > 1 and "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device == "cuda" else "gloo",
                                device_id=dev if device == "cuda" else None)
    return DistInfo(rank, world, local_rank, local_world, dev)


def cleanup_distributed() -> None:
    """Leave the process group (if any)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def seed_everything(seed: int, rank: int = 0) -> None:
    """Seed python, numpy and torch with ``seed + rank`` (each rank draws different augmentations)."""
    s = seed + rank
    random.seed(s)
    np.random.seed(s % 2**32)
    torch.manual_seed(s)


def wrap_ddp(model: nn.Module, info: DistInfo) -> nn.Module:
    """DistributedDataParallel when there are several processes, else the model itself.

    ``find_unused_parameters=False``: the Unicorn loss gives every trainable parameter a gradient
    (the other task's predictors get an exact zero), so no extra graph traversal is needed.
    """
    if not info.distributed:
        return model
    ids = [info.device.index] if info.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=False)


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside DDP (or the model itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def all_reduce_mean(values: dict[str, float], info: DistInfo) -> dict[str, float]:
    """Average scalar metrics over processes (every rank must call this with the same keys)."""
    if not info.distributed or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    t /= info.world_size
    return dict(zip(keys, t.tolist()))


def all_gather_objects(obj: object, info: DistInfo) -> list:
    """Every rank's ``obj`` (a list of one element without a process group)."""
    if not info.distributed:
        return [obj]
    out: list = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: object, info: DistInfo) -> object:
    """Rank 0's ``obj`` on every rank."""
    if not info.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(info: DistInfo) -> None:
    """Wait for every process."""
    if info.distributed:
        dist.barrier()


__all__ = ["DistInfo", "all_gather_objects", "all_reduce_mean", "barrier", "broadcast_object",
           "cleanup_distributed", "init_distributed", "seed_everything", "unwrap", "wrap_ddp"]
