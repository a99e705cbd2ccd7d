"""Checking and reading what a user hands the pipeline: photos, keypoint arrays and ``person=``.

Targets have their own types and string rule: :mod:`posestylizer.inference.targets`.

Every rejection is one :class:`~posestylizer.errors.InputError` line that names the argument and says what is
expected.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from posestylizer.errors import InputError, PoseArrayError
from posestylizer.keypoints.vocab import KEYPOINT_DTYPE, KEYPOINT_NAMES, MISSING, NUM_KEYPOINTS
from posestylizer.runtime.imagefiles import read_photo, to_rgb


def load_image(source, what: str = "source") -> np.ndarray:
    """A photo as uint8 (H, W, 3) RGB from a path, a PIL image or an (H, W, 3) uint8 array.

    Files are read upright (EXIF orientation applied), grayscale, CMYK, 16-bit and transparent images converted
    (:func:`~posestylizer.runtime.imagefiles.read_photo`); an empty, damaged, oversized or non-image file is one
    :class:`~posestylizer.errors.ImageFileError` line.
    """
    if isinstance(source, (str, Path)):
        return read_photo(source, f"{what} {source}")
    if isinstance(source, Image.Image):
        return to_rgb(source)
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8 or source.ndim != 3 or source.shape[2] != 3 or min(source.shape[:2]) < 8:
            raise InputError(
                f"{what} array must be an (H, W, 3) uint8 RGB image of at least 8x8 pixels, got shape "
                f"{source.shape} dtype {source.dtype}"
            )
        return source
    raise InputError(f"{what} must be an image path, a PIL image or an (H, W, 3) uint8 array, got {type(source).__name__}")


def keypoint_array(value, size: tuple[int, int], what: str, *, normalised_ok: bool) -> np.ndarray:
    """Validate an (18, 2) (y, x) keypoint array; returns float32 pixels of an (H, W) image, -1 = missing.

    With ``normalised_ok``, an array whose present values all lie in [0, 1] (and is float) is read as fractions of
    (H, W). Values must be -1 (missing: both coordinates) or inside the image.
    """
    try:
        kp = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise PoseArrayError(f"{what}: not a numeric (18, 2) array of (y, x) keypoints") from None
    if kp.shape != (NUM_KEYPOINTS, 2):
        raise PoseArrayError(f"{what}: expected shape (18, 2) of (y, x) keypoints in COCO-18 order, got {kp.shape}")
    if not np.isfinite(kp).all():
        raise PoseArrayError(f"{what}: contains NaN or infinity; mark a missing keypoint with -1")
    missing = (kp == MISSING).any(axis=1)
    pts = kp[~missing]
    if not len(pts):
        raise PoseArrayError(f"{what}: every keypoint is missing (-1)")
    is_float = np.issubdtype(np.asarray(value).dtype, np.floating) if isinstance(value, np.ndarray) else True
    if normalised_ok and is_float and pts.min() >= 0 and pts.max() <= 1 and not np.all(pts == np.rint(pts)):
        kp[~missing] = pts * (size[0] - 1, size[1] - 1)
        pts = kp[~missing]
    h, w = size
    bad = np.flatnonzero(~missing & ((kp[:, 0] < 0) | (kp[:, 0] > h - 1) | (kp[:, 1] < 0) | (kp[:, 1] > w - 1)))
    if len(bad):
        i = int(bad[0])
        hint = " or fractions in [0, 1]" if normalised_ok else ""
        raise PoseArrayError(
            f"{what}: keypoint {i} ({KEYPOINT_NAMES[i]}) = ({kp[i, 0]:g}, {kp[i, 1]:g}) is outside the {h}x{w} "
            f"image; give (y, x) pixels in [0, {h - 1}] x [0, {w - 1}]{hint}, -1 for missing"
        )
    kp[missing] = MISSING
    return kp.astype(KEYPOINT_DTYPE)  # checked in float64 (a huge value is out of range, not infinite)


def parse_person(person, what: str = "person") -> tuple[float, ...] | None:
    """Which person of a photo: None (the most prominent), a point (x, y) or a box (x0, y0, x1, y1) in photo pixels.

    The one reader of ``person=`` (Python), ``--person`` (CLI) and the server's ``person`` form field: a sequence of
    2 or 4 numbers, or a string ``"X,Y"`` / ``"X0,Y0,X1,Y1"`` (a blank string is None). ``what`` names the argument
    in the one-line InputError.
    """
    if person is None or (isinstance(person, str) and not person.strip()):
        return None
    shown = repr(person[:80] if isinstance(person, str) else person)
    try:
        values = tuple(float(v) for v in (person.split(",") if isinstance(person, str) else person))
    except (TypeError, ValueError):
        values = ()
    if len(values) not in (2, 4) or not np.isfinite(values).all():
        raise InputError(f"{what} {shown}: give a point X,Y or a box X0,Y0,X1,Y1 in pixels of the source photo")
    if len(values) == 4 and (values[2] <= values[0] or values[3] <= values[1]):
        raise InputError(f"{what} box {values} is empty: give (x0, y0, x1, y1) with x1 > x0 and y1 > y0")
    return values
