"""Several processes (``torchrun --nproc_per_node=K``): process group set-up and reductions.

A run is distributed when the environment says so (``WORLD_SIZE`` > 1, as torchrun sets it):
NCCL on CUDA, gloo on CPU. Every rank computes the same epoch plan and trains on a disjoint
strided part of every global batch; only rank 0 prints and writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from trainer.errors import TrainError

__all__ = ["Dist", "all_reduce_sum", "barrier", "broadcast_buffers", "pick_device", "setup",
           "teardown"]


@dataclass(frozen=True)
class Dist:
    """This process's place in the run."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    owns_group: bool = False  # whether ``setup`` created the process group

    @property
    def main(self) -> bool:
        return self.rank == 0


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; TrainError for CUDA without a GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TrainError(f"device {name!r} asked for, but CUDA is not available here")
        return torch.device(name if ":" in name else f"cuda:{local_rank}")
    if name != "cpu":
        raise TrainError(f"device {name!r} is not known; use auto, cpu, cuda or cuda:N")
    return torch.device("cpu")


def setup(device_name: str) -> Dist:
    """Join the process group when launched by torchrun (or already joined); else one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_name, local_rank)
    if world <= 1 and not dist.is_initialized():
        return Dist(device=device)
    owns = False
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        owns = True
    return Dist(dist.get_rank(), dist.get_world_size(), device, owns)


def all_reduce_sum(t: torch.Tensor, d: Dist) -> torch.Tensor:
    """Sum of ``t`` over all ranks (``t`` itself in one process)."""
    if d.world > 1:
        t = t.clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def broadcast_buffers(module: torch.nn.Module, d: Dist) -> None:
    """Give every rank rank 0's buffers of ``module`` (nothing in one process): DDP syncs
    BatchNorm's running statistics only at the start of a forward pass, so after a step each
    rank holds its own; evaluated and saved is rank 0's."""
    if d.world > 1:
        for b in module.buffers():
            dist.broadcast(b, 0)


def barrier(d: Dist) -> None:
    """Wait for all ranks (nothing in one process)."""
    if d.world > 1:
        dist.barrier()


def teardown(d: Dist) -> None:
    if d.owns_group and dist.is_initialized():
        dist.destroy_process_group()
