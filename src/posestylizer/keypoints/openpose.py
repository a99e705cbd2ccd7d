"""OpenPose JSON (``--write_json``): ``people[i].pose_keypoints_2d`` = [x0, y0, c0, x1, y1, c1, ...] in pixels.

Both body models OpenPose ships are read, told apart by length: COCO-18 (54 values, already our order) and BODY_25
(75 values, mapped below). A keypoint whose confidence is below the threshold is missing; OpenPose itself writes
(0, 0, 0) for a part it did not find.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from posestylizer.errors import DataError
from posestylizer.keypoints.core import choose_person, pose_from_points
from posestylizer.keypoints.vocab import NUM_KEYPOINTS, present

# BODY_25 index of each COCO-18 keypoint. BODY_25 inserts MidHip at 8 and appends six foot points (19-24); the other
# 18 parts are COCO-18's in the same order (OpenPose's pose/poseParameters.hpp part lists).
BODY25_TO_COCO18 = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
LAYOUTS = {NUM_KEYPOINTS * 3: "COCO-18", 25 * 3: "BODY_25"}
# Confidence below which a part counts as missing. OpenPose's own peak threshold (and the authors' decoding,
# reference §7.7) is 0.1, so a stored part rarely scores lower unless it was not found at all (0).
DEFAULT_THRESHOLD = 0.1


def _person(values, where: str, entry: str, threshold: float, size: tuple[int, int] | None = None) -> np.ndarray:
    if not isinstance(values, list):
        raise DataError(f"{where}: {entry} must be a list of numbers, got {type(values).__name__}")
    if len(values) not in LAYOUTS:
        raise DataError(
            f"{where}: {entry} has {len(values)} values, expected 54 (COCO-18) or 75 (BODY_25) as x, y, confidence"
        )
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise DataError(f"{where}: {entry}[{i}] is {v!r}, expected a finite number")
    triples = np.asarray(values, dtype=np.float64).reshape(-1, 3)
    if len(triples) == 25:
        triples = triples[list(BODY25_TO_COCO18)]
    x, y, conf = triples.T
    ok = conf >= threshold
    if _normalised(x[ok], y[ok]):
        x, y = _to_pixels(x, y, size, where, entry)
    return pose_from_points(y, x, ok)


def _normalised(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether the found points are OpenPose's ``--keypoint_scale 3`` ([0, 1]) or ``4`` ([-1, 1]) output: no body
    of two or more found points fits in a 2x2-pixel box, so fractional coordinates that all lie within [-1, 1] are
    not pixels (whole ones are: a degenerate pose at pixel (1, 1))."""
    both = np.concatenate([x, y])
    return len(x) >= 2 and np.abs(both).max() <= 1.0 and bool((both != np.round(both)).any())


def _to_pixels(x, y, size: tuple[int, int] | None, where: str, entry: str):
    """Normalised coordinates to pixels of an (H, W) image, as OpenPose scales them (by the last pixel's index)."""
    if size is None:
        raise DataError(f"{where}: {entry} holds coordinates in [0, 1] or [-1, 1] (OpenPose --keypoint_scale 3 or "
                        "4), not pixels; give the image size (pose import --source-size H W)")
    h, w = size
    if min(x.min(), y.min()) < 0:  # keypoint_scale 4: [-1, 1]
        x, y = (x + 1) / 2, (y + 1) / 2
    return x * (w - 1), y * (h - 1)


def openpose_people(obj, *, threshold: float = DEFAULT_THRESHOLD, where: str = "OpenPose JSON",
                    size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """Every person of a parsed OpenPose JSON object as float32 (18, 2) (y, x) poses, -1 = missing.

    Args:
        obj: the parsed JSON (a dict with ``people``).
        threshold: confidence below which a keypoint is missing.
        where: the file name, for error messages.
        size: (H, W) of the image, for files written with ``--keypoint_scale 3`` or ``4`` (normalised
            coordinates); the file's own ``image_size`` wins. Without either, such a file is refused.
    """
    size = image_size_of(obj) or size
    if not isinstance(obj, dict) or not isinstance(obj.get("people"), list):
        raise DataError(f"{where}: not an OpenPose JSON file (no 'people' list)")
    poses = []
    for i, person in enumerate(obj["people"]):
        entry = f"people[{i}].pose_keypoints_2d"
        if not isinstance(person, dict) or "pose_keypoints_2d" not in person:
            raise DataError(f"{where}: {entry} is missing")
        poses.append(_person(person["pose_keypoints_2d"], where, entry, threshold, size))
    return poses


def from_openpose(
    obj, *, person: int | None = None, threshold: float = DEFAULT_THRESHOLD, where: str = "OpenPose JSON",
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """One person of a parsed OpenPose JSON object: float32 (18, 2) (y, x) pixels, -1 = missing.

    ``person`` is an index into ``people``; None picks the largest person (box around its keypoints).
    """
    return choose_person(openpose_people(obj, threshold=threshold, where=where, size=size), person, where)


def image_size_of(obj) -> tuple[int, int] | None:
    """The (H, W) that :func:`to_openpose_json` records (not part of OpenPose's own output), or None."""
    size = obj.get("image_size") if isinstance(obj, dict) else None
    if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size):
        return size[0], size[1]
    return None


def to_openpose_json(keypoints: np.ndarray | Sequence[np.ndarray], image_size: tuple[int, int] | None = None) -> dict:
    """An OpenPose COCO-18 JSON object (``json.dump`` it) for one pose (18, 2) or several (N, 18, 2).

    Present points get confidence 1, missing ones (0, 0, 0) as OpenPose writes them. ``image_size`` (H, W), when
    given, is stored as an extra top-level ``image_size`` that OpenPose tools ignore and :func:`read_pose_file` uses
    to scale the poses to another size.
    """
    poses = np.asarray(keypoints, dtype=np.float64)
    if poses.ndim == 2:
        poses = poses[None]
    people = []
    for kp in poses:
        ok = present(kp)
        triples = np.zeros((NUM_KEYPOINTS, 3))
        triples[ok] = np.stack([kp[ok, 1], kp[ok, 0], np.ones(ok.sum())], axis=1)
        people.append({"person_id": [-1], "pose_keypoints_2d": [round(float(v), 3) for v in triples.ravel()]})
    obj: dict = {"version": 1.3, "people": people}
    if image_size is not None:
        obj["image_size"] = [int(image_size[0]), int(image_size[1])]
    return obj
