"""The estimator interface.

This module imports no backend and no registry (the registry lives in ``posestylizer.estimators``), so a backend can
import it without a cycle. The keypoint vocabulary and helpers the backends share come from
:mod:`posestylizer.keypoints`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class PoseEstimator(Protocol):
    name: str

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """float32 (18, 2) (y, x) keypoints of the most prominent person in a uint8 (H, W, 3) RGB image, -1 = missing
        (:mod:`posestylizer.keypoints.vocab`)."""
        ...
