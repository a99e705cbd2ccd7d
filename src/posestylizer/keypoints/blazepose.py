"""BlazePose / MediaPipe Pose landmarks: 33 points with normalised x, y in [0, 1] and a visibility in [0, 1].

MediaPipe defines no file format, so a BlazePose file here is JSON in the shape MediaPipe's Python objects print as
dicts: a list of 33 landmarks, or an object with ``landmarks`` (or ``pose_landmarks``) holding one such list or a list
of them (one per person, as the Tasks API returns). A landmark is ``{"x", "y", "z"?, "visibility"}`` or a list
``[x, y, visibility]`` / ``[x, y, z, visibility]``. An optional ``image_size`` [H, W] (or ``height`` and ``width``)
says which image the normalised coordinates refer to.

The mapping to COCO-18 (:func:`blazepose_to_coco18`) is the one the built-in estimator uses too, so imported
landmarks and estimated ones agree exactly.
"""

from __future__ import annotations

import math

import numpy as np

from posestylizer.errors import DataError
from posestylizer.keypoints.core import choose_person, to_pixels
from posestylizer.keypoints.vocab import present

NUM_LANDMARKS = 33
NECK_FROM_SHOULDERS = -2  # COCO's neck has no BlazePose landmark: the mid-point of the shoulders
# COCO-18 index -> BlazePose-33 landmark (design notes §4)
BLAZEPOSE_TO_COCO18 = (0, NECK_FROM_SHOULDERS, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7)
BLAZE_SHOULDERS = (11, 12)
DEFAULT_MIN_VISIBILITY = 0.5


def blazepose_to_coco18(landmarks: np.ndarray, size: tuple[int, int], min_visibility: float = 0.5) -> np.ndarray:
    """Map BlazePose landmarks to COCO-18 (y, x) pixels.

    Args:
        landmarks: (33, 3) normalised (x, y, visibility) as MediaPipe reports them.
        size: (H, W) of the image the landmarks refer to.
        min_visibility: landmarks below this are missing (-1); the neck needs both shoulders.
    """
    h, w = size
    lm = np.asarray(landmarks, dtype=np.float64)
    xs, ys, vis = lm[:, 0] * w, lm[:, 1] * h, lm[:, 2]
    out_y, out_x = np.full(18, np.nan), np.full(18, np.nan)
    for coco, blaze in enumerate(BLAZEPOSE_TO_COCO18):
        if blaze == NECK_FROM_SHOULDERS:
            if all(vis[s] >= min_visibility for s in BLAZE_SHOULDERS):
                out_y[coco] = ys[list(BLAZE_SHOULDERS)].mean()
                out_x[coco] = xs[list(BLAZE_SHOULDERS)].mean()
        elif vis[blaze] >= min_visibility:
            out_y[coco], out_x[coco] = ys[blaze], xs[blaze]
    return to_pixels(out_y, out_x, size)


def _landmark(item, where: str, entry: str) -> tuple[float, float, float]:
    if isinstance(item, dict):
        missing = [k for k in ("x", "y", "visibility") if k not in item]
        if missing:
            raise DataError(f"{where}: {entry} has no {', '.join(missing)}")
        values = (item["x"], item["y"], item["visibility"])
    elif isinstance(item, list) and len(item) in (3, 4):
        values = (item[0], item[1], item[-1])
    else:
        raise DataError(f"{where}: {entry} must be {{x, y, visibility}} or [x, y, (z,) visibility], got {item!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise DataError(f"{where}: {entry} holds {v!r}, expected finite numbers")
    return values


def _is_landmark_list(obj: list) -> bool:
    """True for one person's landmarks, False for a list of people (a list of such lists)."""
    first = obj[0] if obj else None
    return isinstance(first, dict) or (isinstance(first, list) and not (first and isinstance(first[0], (list, dict))))


def blazepose_landmarks(obj, *, where: str = "BlazePose JSON") -> list[np.ndarray]:
    """Every person's landmarks in a parsed BlazePose object, each (33, 3) float64 (x, y, visibility)."""
    body = obj
    if isinstance(obj, dict):
        key = "landmarks" if "landmarks" in obj else "pose_landmarks" if "pose_landmarks" in obj else None
        if key is None:
            raise DataError(f"{where}: not a BlazePose file (no 'landmarks' or 'pose_landmarks')")
        body = obj[key]
        where_list = key
    else:
        where_list = "landmarks"
    if not isinstance(body, list):
        raise DataError(f"{where}: {where_list} must be a list of {NUM_LANDMARKS} landmarks")
    single = _is_landmark_list(body)
    people = [body] if single else body
    out = []
    for p, lms in enumerate(people):
        entry = where_list if single else f"{where_list}[{p}]"
        if not isinstance(lms, list) or len(lms) != NUM_LANDMARKS:
            got = f"{len(lms)} landmarks" if isinstance(lms, list) else type(lms).__name__
            raise DataError(f"{where}: {entry} must hold {NUM_LANDMARKS} landmarks, got {got}")
        out.append(np.array([_landmark(lm, where, f"{entry}[{i}]") for i, lm in enumerate(lms)], dtype=np.float64))
    return out


def image_size_of(obj) -> tuple[int, int] | None:
    """(H, W) stated by a BlazePose object (``image_size`` or ``height``/``width``), or None."""
    if not isinstance(obj, dict):
        return None
    size = obj.get("image_size") or [obj.get("height"), obj.get("width")]
    if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size):
        return size[0], size[1]
    return None


def from_blazepose(
    landmarks, image_size: tuple[int, int], *, person: int | None = None,
    min_visibility: float = DEFAULT_MIN_VISIBILITY, where: str = "BlazePose landmarks",
) -> np.ndarray:
    """COCO-18 float32 (18, 2) (y, x) pixels of an image of ``image_size`` (H, W) from BlazePose landmarks.

    Args:
        landmarks: a (33, 3) (x, y, visibility) array, or a parsed BlazePose object (see the module docstring).
        person: index of the person when the object holds several; None = the largest.
        min_visibility: landmarks less visible than this are missing; the neck needs both shoulders.
    """
    if isinstance(landmarks, np.ndarray):
        if landmarks.shape not in ((NUM_LANDMARKS, 3), (NUM_LANDMARKS, 4)):
            raise DataError(f"{where}: expected ({NUM_LANDMARKS}, 3) landmarks, got shape {landmarks.shape}")
        people = [landmarks[:, [0, 1, -1]]]
    else:
        people = blazepose_landmarks(landmarks, where=where)
    poses = [blazepose_to_coco18(lm, image_size, min_visibility).astype(np.float32) for lm in people]
    return choose_person(poses, person, where, entry="landmarks")


def to_blazepose_json(keypoints: np.ndarray, image_size: tuple[int, int]) -> dict:
    """A BlazePose object for one COCO-18 pose (18, 2) (y, x) of an image of ``image_size`` (H, W).

    The 17 landmarks COCO-18 maps to get visibility 1 (0 when missing); the other 16 BlazePose landmarks (hands,
    feet, mouth, inner eye corners) are unknown and get visibility 0. The neck is no landmark: readers rebuild it
    from the shoulders.
    """
    h, w = image_size
    kp = np.asarray(keypoints, dtype=np.float64)
    ok = present(kp)
    landmarks = [{"x": 0.0, "y": 0.0, "z": 0.0, "visibility": 0.0} for _ in range(NUM_LANDMARKS)]
    for k18, blaze in enumerate(BLAZEPOSE_TO_COCO18):
        if blaze != NECK_FROM_SHOULDERS and ok[k18]:
            landmarks[blaze] = {"x": float(kp[k18, 1]) / w, "y": float(kp[k18, 0]) / h, "z": 0.0, "visibility": 1.0}
    return {"image_size": [int(h), int(w)], "landmarks": landmarks}
