"""Pose estimators that produce COCO-18 keypoints in the project's (y, x) convention, -1 = missing.

``get_estimator("mediapipe")`` (BlazePose, offline, the default) or ``get_estimator("openpose", weights=FILE)`` (the
OpenPose COCO body model the authors' PCKh used, from a user-supplied weights file). An estimator maps one uint8
(H, W, 3) RGB image to a float32 (18, 2) array (:mod:`posestylizer.keypoints.vocab`).

The registry lives here and imports its backends only when one is asked for; the backends import their shared helpers
from :mod:`posestylizer.estimators.base`, never this registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from posestylizer.errors import ConfigError, DataError, UserError
from posestylizer.estimators.base import PoseEstimator
from posestylizer.estimators.mediapipe_backend import MediaPipeEstimator
from posestylizer.estimators.openpose import OpenPoseEstimator
from posestylizer.runtime.progress import QUIET, Progress

BACKENDS = ("mediapipe", "openpose")

__all__ = ["BACKENDS", "PoseEstimator", "estimate_files", "get_estimator"]


def get_estimator(name: str = "mediapipe", **options) -> PoseEstimator:
    """Build a backend by name. Options: mediapipe ``min_visibility``, ``min_height``, ``pad``, ``roi``,
    ``crop_scale``, ``model_complexity`` (see :class:`~posestylizer.estimators.mediapipe_backend.MediaPipeEstimator`);
    openpose ``weights``, ``device``, ``scales``."""
    if name == "mediapipe":
        return MediaPipeEstimator(**options)
    if name == "openpose":
        return OpenPoseEstimator(**options)
    raise ConfigError(f"unknown pose estimator '{name}': choose one of {', '.join(BACKENDS)}")


def estimate_files(
    estimator: PoseEstimator, paths: Iterable[str | Path], read_image: Callable[[Path], np.ndarray],
    progress: Progress = QUIET,
) -> tuple[list[tuple[str, np.ndarray]], list[str]]:
    """Estimate every image file: ((name, keypoints) rows, problems as 'path: reason' lines for unreadable files)."""
    rows: list[tuple[str, np.ndarray]] = []
    problems: list[str] = []
    paths = [Path(p) for p in paths]
    for path in progress(paths, "estimating", unit="image"):
        try:
            image = read_image(path)
        except (DataError, UserError) as err:
            problems.append(str(err))
            continue
        rows.append((path.name, estimator(image)))
    return rows, problems
