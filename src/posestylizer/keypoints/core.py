"""What every keypoint format shares: the float (18, 2) pose, choosing a person, scaling and rounding.

A pose here is a float32 array (18, 2) of (y, x) = (row, column) pixels in COCO-18 / OpenPose order
(:mod:`posestylizer.keypoints.vocab`), -1 in both coordinates for a missing keypoint. Pixel centres sit at integer
coordinates, as in the PATN annotation files. Scaling keeps fractions, so that it loses no precision;
:func:`round_pose` snaps a pose to the pixel grid where the reference's poses are integral (prepared annotations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posestylizer.errors import DataError
from posestylizer.keypoints.vocab import KEYPOINT_DTYPE, MISSING, present


@dataclass(frozen=True)
class PoseRecord:
    """One person of one image as read from a keypoint file.

    Args:
        name: image file name the pose belongs to (the annotation CSV's ``name``).
        keypoints: float32 (18, 2) (y, x) pixels of the source image, -1 = missing.
        image_size: (H, W) of the source image when the file says it (COCO, PATN with a layout), else None.
    """

    name: str
    keypoints: np.ndarray
    image_size: tuple[int, int] | None = None


def pose_from_points(y: np.ndarray, x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """float32 (18, 2) from coordinate vectors (18,) and a presence mask (18,); absent points become -1."""
    kp = np.stack([np.asarray(y, dtype=KEYPOINT_DTYPE), np.asarray(x, dtype=KEYPOINT_DTYPE)], axis=1)
    ok = np.asarray(ok, dtype=bool) & np.isfinite(kp).all(axis=1)
    kp[~ok] = MISSING
    return kp




def pose_area(keypoints: np.ndarray) -> float:
    """Area in pixels² of the box around the present keypoints (0 with fewer than two): the person's size."""
    kp = np.asarray(keypoints, dtype=np.float64)[present(keypoints)]
    if len(kp) < 2:
        return 0.0
    span = kp.max(axis=0) - kp.min(axis=0)
    return float(span[0] * span[1])


def choose_person(poses: list[np.ndarray], person: int | None, where: str, entry: str = "people") -> np.ndarray:
    """The pose at index ``person``, or the largest by :func:`pose_area` when None (the first of equal ones).

    Args:
        poses: candidate poses of one image.
        where: the file (or object label) for error messages; ``entry``: the list's name in that file.
    """
    if not poses:
        raise DataError(f"{where}: {entry} is empty; the file holds no person")
    if person is None:
        return max(poses, key=pose_area)  # max keeps the first of equal areas
    if isinstance(person, bool) or not isinstance(person, (int, np.integer)):
        raise DataError(f"{where}: person must be an index into {entry}, got {person!r}")
    if not -len(poses) <= person < len(poses):
        raise DataError(f"{where}: {entry}[{person}] does not exist; the file holds {len(poses)} person(s)")
    return poses[person]


def scale_pose(keypoints: np.ndarray, src_size: tuple[int, int], dst_size: tuple[int, int]) -> np.ndarray:
    """Keypoints of an image of ``src_size`` (H, W) mapped onto the same image resized to ``dst_size``.

    A resize maps pixel centres, not pixel corners, so coordinate c becomes (c + 0.5) * scale - 0.5 (what PIL's and
    OpenCV's resizers do); missing points stay -1. Returns float32 (18, 2).
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    ok = present(kp)
    scale = np.array([dst_size[0] / src_size[0], dst_size[1] / src_size[1]])
    out = np.full(kp.shape, MISSING, dtype=np.float64)
    out[ok] = (kp[ok] + 0.5) * scale - 0.5
    return out.astype(KEYPOINT_DTYPE)


def shift_pose(keypoints: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Keypoints after cropping the image at row ``dy``, column ``dx`` (present points move by (-dy, -dx))."""
    kp = np.asarray(keypoints, dtype=KEYPOINT_DTYPE).copy()
    ok = present(kp)
    kp[ok] -= np.array([dy, dx], dtype=KEYPOINT_DTYPE)
    return kp


def round_pose(keypoints: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """float32 (18, 2) on the pixel grid: rounded; -1 when missing or, with ``size`` (H, W), outside the image."""
    kp = np.asarray(keypoints, dtype=np.float64).copy()
    kp[~present(kp)] = np.nan
    return to_pixels(kp[:, 0], kp[:, 1], size)


def to_pixels(y: np.ndarray, x: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """float32 (18, 2) (y, x) from float coordinates, rounded to whole pixels as the reference's poses are; NaN
    points, and points outside an image of ``size`` = (H, W) when it is given, become -1."""
    kp = np.stack([np.asarray(y, dtype=np.float64), np.asarray(x, dtype=np.float64)], axis=1)
    ok = np.isfinite(kp).all(axis=1)
    out = np.full(kp.shape, float(MISSING))
    out[ok] = np.rint(kp[ok])
    if size is not None:
        h, w = size
        inside = ok & (out[:, 0] >= 0) & (out[:, 0] < h) & (out[:, 1] >= 0) & (out[:, 1] < w)
        out[~inside] = MISSING
    return out.astype(KEYPOINT_DTYPE)
