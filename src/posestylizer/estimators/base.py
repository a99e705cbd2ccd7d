"""The estimator interface and the keypoint helpers every backend shares.

This module imports no backend and no registry (the registry lives in ``posestylizer.estimators``), so a backend can
import its helpers from here without a cycle.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from posestylizer.pose import MISSING, NUM_KEYPOINTS


class PoseEstimator(Protocol):
    name: str

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """(18, 2) int64 (y, x) keypoints of the most prominent person in a uint8 (H, W, 3) RGB image."""
        ...


def missing_keypoints() -> np.ndarray:
    """(18, 2) int64 array of -1: no keypoint found."""
    return np.full((NUM_KEYPOINTS, 2), MISSING, dtype=np.int64)


def to_pixels(y: np.ndarray, x: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """(18, 2) int64 (y, x) from float coordinates: rounded; NaN points, and points outside an image of ``size``
    = (H, W) when it is given, become -1."""
    kp = np.stack([np.asarray(y, dtype=np.float64), np.asarray(x, dtype=np.float64)], axis=1)
    ok = np.isfinite(kp).all(axis=1)
    out = missing_keypoints()
    out[ok] = np.rint(kp[ok]).astype(np.int64)
    if size is not None:
        h, w = size
        inside = ok & (out[:, 0] >= 0) & (out[:, 0] < h) & (out[:, 1] >= 0) & (out[:, 1] < w)
        out[~inside] = MISSING
    return out
