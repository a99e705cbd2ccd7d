"""The estimator interface and the keypoint helpers every backend shares.

This module imports no backend and no registry (the registry lives in ``posestylizer.estimators``), so a backend can
import its helpers from here without a cycle.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from posestylizer.keypoints.core import missing_keypoints, to_pixels  # noqa: F401 (the backends' shared helpers)


class PoseEstimator(Protocol):
    name: str

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """(18, 2) int64 (y, x) keypoints of the most prominent person in a uint8 (H, W, 3) RGB image."""
        ...
