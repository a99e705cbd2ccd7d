"""Batches of consecutive same-shaped images (networks need one shape per batch; folders may mix sizes)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np


def shape_batches(images: Iterable[np.ndarray], batch_size: int) -> Iterator[np.ndarray]:
    """Yield (B, H, W, C) uint8 stacks of at most ``batch_size`` consecutive images that share a shape."""
    batch: list[np.ndarray] = []
    for img in images:
        if batch and (len(batch) == batch_size or img.shape != batch[0].shape):
            yield np.stack(batch)
            batch = []
        batch.append(np.asarray(img, dtype=np.uint8))
    if batch:
        yield np.stack(batch)
