"""Keypoint files on disk: format detection and reading any supported format into float (18, 2) poses.

Formats: ``openpose`` (one JSON per image, ``people[]``), ``coco`` (one JSON for many images), ``blazepose`` (one JSON
per image, normalised landmarks) and ``patn`` (the ``name:keypoints_y:keypoints_x`` annotation CSV).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import posestylizer.keypoints.blazepose as blazepose
import posestylizer.keypoints.coco as coco
import posestylizer.keypoints.openpose as openpose
from posestylizer.errors import DataError
from posestylizer.keypoints.core import PoseRecord, choose_person, scale_pose
from posestylizer.keypoints.patn import parse_annotations
from posestylizer.runtime.boundedjson import loads_bounded

FORMATS = ("openpose", "coco", "blazepose", "patn")
# OpenPose names its output <image stem>_keypoints.json; the image name is what is left.
OPENPOSE_SUFFIX = "_keypoints"


def load_json(path: Path):
    """The parsed JSON of ``path``; DataError naming the file and the line of a syntax error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: keypoint file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read keypoint file ({err})") from None
    try:
        return loads_bounded(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: not valid JSON ({err.msg}, column {err.colno})") from None
    except ValueError as err:  # past the bounds: too deep, a number too long, NaN
        raise DataError(f"{path}: not a keypoint file ({err})") from None


def detect_format(path: Path, obj=None) -> str:
    """``patn`` for a .csv file; for JSON, the format its top-level keys show. DataError when none fits."""
    if path.suffix.lower() == ".csv":
        return "patn"
    obj = load_json(path) if obj is None else obj
    if isinstance(obj, dict) and "people" in obj:
        return "openpose"
    if (isinstance(obj, dict) and "annotations" in obj and "images" in obj) or coco.is_results_list(obj):
        return "coco"
    if isinstance(obj, list) or (isinstance(obj, dict) and ("landmarks" in obj or "pose_landmarks" in obj)):
        return "blazepose"
    raise DataError(
        f"{path}: cannot tell the keypoint format (no 'people', 'images'/'annotations' or 'landmarks'); "
        f"name it with `posestylizer pose import --from {{{','.join(FORMATS)}}}`"
    )


def _check_format(fmt: str | None) -> None:
    if fmt is not None and fmt not in FORMATS:
        raise DataError(f"unknown keypoint format {fmt!r}: choose one of {', '.join(FORMATS)}")


def image_key(path: Path) -> str:
    """The image name a per-image JSON file belongs to: its name without ``.json`` and OpenPose's ``_keypoints``."""
    stem = path.stem
    return stem.removesuffix(OPENPOSE_SUFFIX)


def _patn_records(path: Path) -> list[PoseRecord]:
    """Rows of a PATN annotation CSV; DataError with the first problem (file:line: entry) on one line."""
    rows, problems = parse_annotations(path)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise DataError(f"{problems[0]}{more}")
    return [PoseRecord(r.name, r.keypoints) for r in rows]


def read_pose_records(
    path: str | Path, *, fmt: str | None = None, image_size: tuple[int, int] | None = None,
    threshold: float = openpose.DEFAULT_THRESHOLD, min_visibility: float = blazepose.DEFAULT_MIN_VISIBILITY,
) -> list[PoseRecord]:
    """One :class:`PoseRecord` per image of a keypoint file (the largest person of each).

    Per-image formats (OpenPose, BlazePose) give one record named by :func:`image_key` (no extension). ``image_size``
    (H, W) is the source image size for normalised coordinates (BlazePose; OpenPose's ``--keypoint_scale 3/4``)
    when the file does not state it.
    """
    path = Path(path)
    _check_format(fmt)
    if (fmt or detect_format(path)) == "patn":
        return _patn_records(path)
    obj = load_json(path)
    fmt = fmt or detect_format(path, obj)
    where = str(path)
    if fmt == "coco":
        return coco.coco_records(obj, where=where)
    if fmt == "openpose":
        kp = openpose.from_openpose(obj, threshold=threshold, where=where, size=image_size)
        return [PoseRecord(image_key(path), kp, openpose.image_size_of(obj))]
    size = blazepose.image_size_of(obj) or image_size
    if size is None:
        raise DataError(f"{path}: BlazePose coordinates are normalised; give the image size (--source-size H W)")
    kp = blazepose.from_blazepose(obj, size, min_visibility=min_visibility, where=where)
    return [PoseRecord(image_key(path), kp, tuple(size))]


def read_pose_file(
    path: str | Path, *, fmt: str | None = None, person: int | str | None = None,
    image_size: tuple[int, int] | None = None, threshold: float = openpose.DEFAULT_THRESHOLD,
    min_visibility: float = blazepose.DEFAULT_MIN_VISIBILITY,
) -> np.ndarray:
    """One pose from a keypoint file: float32 (18, 2) (y, x) pixels of the file's image, -1 = missing.

    Args:
        path: the file (``.json`` or PATN ``.csv``).
        fmt: ``openpose``, ``coco``, ``blazepose``, ``patn``, or None to detect it from the content.
        person: OpenPose/BlazePose: index into the people; COCO: an image ``file_name`` (its largest person), or an
            index into the people of a single-image file; PATN: the image name (row); None = the largest person
            (COCO, PATN: the file must hold one image).
        image_size: (H, W) of the image normalised coordinates refer to (BlazePose landmarks, OpenPose
            ``--keypoint_scale 3/4``), when the file does not say it.
        threshold: OpenPose confidence below which a keypoint is missing.
        min_visibility: BlazePose visibility below which a landmark is missing.
    """
    path = Path(path)
    _check_format(fmt)
    fmt = fmt or detect_format(path)
    where = str(path)
    if fmt == "patn":
        return _pick_row(_patn_records(path), person, where)
    obj = load_json(path)
    if fmt == "coco":
        image = person if isinstance(person, str) else None
        index = None if isinstance(person, str) else person
        return coco.from_coco(obj, image=image, person=index, where=where)
    if isinstance(person, str):
        raise DataError(f"{path}: person must be an index for {fmt} files, got {person!r}")
    if fmt == "openpose":
        return openpose.from_openpose(obj, person=person, threshold=threshold, where=where, size=image_size)
    size = blazepose.image_size_of(obj) or image_size
    if size is None:
        raise DataError(f"{path}: BlazePose coordinates are normalised; pass image_size=(H, W)")
    return blazepose.from_blazepose(obj, size, person=person, min_visibility=min_visibility, where=where)


def _pick_row(records: list[PoseRecord], person: int | str | None, where: str) -> np.ndarray:
    if isinstance(person, str):
        for rec in records:
            if rec.name == person:
                return rec.keypoints
        raise DataError(f"{where}: no row named {person!r}")
    if person is None and len(records) != 1:
        raise DataError(f"{where}: holds {len(records)} rows; name the image (person='<name>')")
    return choose_person([r.keypoints for r in records], person, where, entry="rows")


def rescale(record: PoseRecord, size: tuple[int, int] | None) -> np.ndarray:
    """The record's pose in an image of ``size`` (H, W): scaled from its source size, or as is when either is
    unknown or they are equal."""
    if size is None or record.image_size is None or tuple(record.image_size) == tuple(size):
        return record.keypoints
    return scale_pose(record.keypoints, record.image_size, size)
