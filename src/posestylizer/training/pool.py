"""Fake-pair image pool (reference §5.3, §5.6): discriminators see a mix of current and earlier fakes.

The pool stores the *concatenated* discriminator inputs (``cat[fake, BP2]`` or ``cat[fake, P1]``), so a replayed fake
comes back with the pose or source image it was made with. Its random draws use its own generator, whose state is
part of :meth:`ImagePool.state_dict`, so a resumed run replays exactly.

Under torchrun, :func:`query_global` makes the ranks' pools one logical pool over the global batch, as the reference's
single DataParallel process had (one pool of 50 fed all 192 fakes per iteration).
"""

from __future__ import annotations

import random

import torch
import torch.distributed as dist

from posestylizer.training.distributed import DistInfo


class ImagePool:
    """Per image: fill the pool up to ``size``; afterwards, with probability 0.5 return a random stored entry and
    store the new one in its place, else return the new one. ``size`` 0 returns the batch unchanged.

    Args:
        size: number of stored entries (market 50, fashion 0).
        seed: seed of the pool's own random generator.
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.entries: list[torch.Tensor] = []
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.entries)

    @torch.no_grad()
    def query(self, batch: torch.Tensor) -> torch.Tensor:
        """Return a batch of the same shape mixing ``batch`` (detached) with stored entries."""
        batch = batch.detach()
        if self.size == 0:
            return batch
        out = []
        for item in batch:
            item = item.unsqueeze(0)
            if len(self.entries) < self.size:
                self.entries.append(item.clone())
                out.append(item)
            elif self.rng.uniform(0, 1) > 0.5:
                idx = self.rng.randint(0, self.size - 1)
                out.append(self.entries[idx].clone())
                self.entries[idx] = item.clone()
            else:
                out.append(item)
        return torch.cat(out, 0)

    def state_dict(self) -> dict:
        """Entries (one CPU tensor, or None when empty) and the generator state; loadable with ``weights_only``."""
        version, internal, gauss = self.rng.getstate()
        return {
            "size": self.size,
            "entries": torch.cat(self.entries, 0).cpu() if self.entries else None,
            "rng": torch.tensor(internal, dtype=torch.int64),
            "rng_version": version,
            "rng_gauss": gauss,
        }

    def load_state_dict(self, state: dict, device: torch.device | str = "cpu") -> None:
        if state["size"] != self.size:
            raise ValueError(f"pool size {state['size']} in the checkpoint, {self.size} in the config")
        entries = state["entries"]
        self.entries = [] if entries is None else [e.unsqueeze(0).to(device) for e in entries]
        self.rng.setstate((state["rng_version"], tuple(int(v) for v in state["rng"].tolist()), state["rng_gauss"]))


@torch.no_grad()
def query_global(pool: ImagePool, local: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """This rank's slice of ``pool.query`` over the global batch; ``pool.query(local)`` in a single process.

    Every rank gathers all ranks' (equally sized) batches in rank order — the global batch in DataParallel's chunk
    order, since the sampler gives rank r the r-th contiguous slice — and queries its own copy of the pool with it.
    The copies start equal (same seed) and see the same batches, so they make the same draws and stay identical.

    Args:
        pool: this rank's copy of the pool.
        local: (b, C, H, W) this rank's D inputs; every rank's b must be the same.
        info: rank and world size.
    Returns:
        (b, C, H, W) detached, in the default memory format when gathered.
    """
    if not info.distributed or pool.size == 0:
        return pool.query(local)
    local = local.detach().contiguous()
    parts = [torch.empty_like(local) for _ in range(info.world_size)]
    dist.all_gather(parts, local)
    b = local.shape[0]
    return pool.query(torch.cat(parts, 0))[info.rank * b : (info.rank + 1) * b]
