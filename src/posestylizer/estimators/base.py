"""The estimator interface, the backend registry, and estimation over image files."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

from posestylizer.errors import ConfigError, DataError, UserError
from posestylizer.pose import MISSING, NUM_KEYPOINTS

BACKENDS = ("mediapipe", "openpose")


class PoseEstimator(Protocol):
    name: str

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """(18, 2) int64 (y, x) keypoints of the most prominent person in a uint8 (H, W, 3) RGB image."""
        ...


def missing_keypoints() -> np.ndarray:
    return np.full((NUM_KEYPOINTS, 2), MISSING, dtype=np.int64)


def to_pixels(y: np.ndarray, x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(18, 2) int64 (y, x) from float coordinates: rounded; points outside the image or NaN become -1."""
    h, w = size
    kp = np.stack([np.asarray(y, dtype=np.float64), np.asarray(x, dtype=np.float64)], axis=1)
    ok = np.isfinite(kp).all(axis=1)
    out = missing_keypoints()
    out[ok] = np.rint(kp[ok]).astype(np.int64)
    inside = ok & (out[:, 0] >= 0) & (out[:, 0] < h) & (out[:, 1] >= 0) & (out[:, 1] < w)
    out[~inside] = MISSING
    return out


def get_estimator(name: str = "mediapipe", **options) -> PoseEstimator:
    """Build a backend by name. Options: mediapipe ``min_visibility``, ``min_height``; openpose ``weights``,
    ``device``, ``scales``."""
    if name == "mediapipe":
        from posestylizer.estimators.mediapipe_backend import MediaPipeEstimator

        return MediaPipeEstimator(**options)
    if name == "openpose":
        from posestylizer.estimators.openpose import OpenPoseEstimator

        return OpenPoseEstimator(**options)
    raise ConfigError(f"unknown pose estimator '{name}': choose one of {', '.join(BACKENDS)}")


def estimate_files(
    estimator: PoseEstimator, paths: Iterable[str | Path], read_image: Callable[[Path], np.ndarray],
    progress: Callable[[Iterable], Iterable] | None = None,
) -> tuple[list[tuple[str, np.ndarray]], list[str]]:
    """Estimate every image file: ((name, keypoints) rows, problems as 'path: reason' lines for unreadable files)."""
    rows: list[tuple[str, np.ndarray]] = []
    problems: list[str] = []
    paths = [Path(p) for p in paths]
    for path in progress(paths) if progress else paths:
        try:
            image = read_image(path)
        except (DataError, UserError) as err:
            problems.append(str(err))
            continue
        rows.append((path.name, estimator(image)))
    return rows, problems
