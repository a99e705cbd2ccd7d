"""torchrun scale-out: process-group set-up from the environment, and the per-rank epoch sampler.

``torchrun --nproc_per_node=N -m posestylizer train ...`` sets RANK / WORLD_SIZE / LOCAL_RANK; without them the run
is a single process. NCCL on GPUs, gloo on CPU. ``train.batch_size`` is the global batch, split evenly over ranks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from posestylizer.errors import ConfigError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """"auto" -> this rank's GPU when CUDA is available, else CPU; "cuda" -> cuda:<local_rank>."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        name = f"cuda:{local_rank}"
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name}: CUDA is not available on this machine; use train.device=cpu")
    return device


def init_distributed(device_name: str = "auto") -> DistInfo:
    """Join the torchrun process group when launched by torchrun, else describe a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank)
    if world <= 1:
        return DistInfo(device=device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
    return DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank, device=device)


def shutdown_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()


def broadcast_from_main(obj, info: DistInfo):
    """Rank 0's ``obj`` (any picklable value) on every rank; ``obj`` itself in a single process."""
    if not info.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class EpochSampler(Sampler[int]):
    """The reference's "epoch" (quirk 9, made a parameter): ``length`` pairs drawn at random with replacement.

    ``length`` 0 means one shuffled pass over the whole dataset. The global order depends only on
    (seed, epoch) and is cut into global batches of ``batch_size``; rank r takes the r-th of W equal contiguous slices
    of each, so the ranks' i-th batches, in rank order, are exactly the single-process i-th batch of B, cut as
    nn.DataParallel's scatter cuts it (what per-replica BatchNorm groups and the global image pool rely on). The
    length is padded up to a multiple of W.

    Args:
        num_items: dataset size.
        length: pairs per epoch (0 = the dataset once).
        seed: base seed.
        rank, world_size: this process and the number of processes.
        batch_size: the global batch B, a multiple of W (default W: rank r takes positions r, r + W, ...).
    """

    def __init__(
        self, num_items: int, length: int, seed: int, rank: int = 0, world_size: int = 1, batch_size: int = 0
    ) -> None:
        if num_items <= 0:
            raise ValueError("cannot sample from an empty dataset")
        batch_size = batch_size or world_size
        if batch_size % world_size:
            raise ValueError(f"global batch {batch_size} does not divide by {world_size} processes")
        self.num_items, self.length, self.seed = num_items, length, seed
        self.rank, self.world_size, self.batch_size = rank, world_size, batch_size
        self.epoch = 0
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """Select the epoch's order; ``skip`` drops this rank's first indices (mid-epoch resume)."""
        self.epoch, self.skip = epoch, skip

    def global_order(self) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        n = self.length or self.num_items
        total = -(-n // self.world_size) * self.world_size
        if self.length:
            return torch.randint(self.num_items, (total,), generator=gen)
        order = torch.randperm(self.num_items, generator=gen)
        return torch.cat([order, order[: total - n]])

    def __len__(self) -> int:
        n = self.length or self.num_items
        return -(-n // self.world_size) - self.skip

    def rank_order(self) -> torch.Tensor:
        """This rank's indices of the epoch: its slice of every global batch (the last, partial one too)."""
        order, b, w = self.global_order(), self.batch_size, self.world_size
        full = len(order) // b * b
        mine = order[:full].view(-1, w, b // w)[:, self.rank].reshape(-1)
        rest = order[full:].view(w, -1)[self.rank]  # the partial batch: a multiple of W after padding
        return torch.cat([mine, rest])

    def __iter__(self):
        return iter(self.rank_order()[self.skip :].tolist())
