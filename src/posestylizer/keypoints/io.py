"""Many keypoint files at once: import them into a PATN annotation CSV, export a CSV to per-image files.

Used by ``posestylizer pose import`` / ``pose export`` and by ``data prepare --keypoints``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posestylizer.errors import DataError
from posestylizer.keypoints import blazepose, openpose
from posestylizer.keypoints.coco import to_coco
from posestylizer.keypoints.core import PoseRecord, round_pose, scale_pose
from posestylizer.keypoints.files import OPENPOSE_SUFFIX, read_pose_records
from posestylizer.keypoints.vocab import present
from posestylizer.runtime.files import write_text_atomic
from posestylizer.runtime.imagefiles import IMAGE_EXTS, name_problem

EXPORT_FORMATS = ("openpose", "coco", "blazepose")


def expand_paths(items: Iterable[str | Path], list_folder: Callable[[Path], list[Path]], what: str) -> list[Path]:
    """Files as given, folders replaced by ``list_folder(folder)``; DataError for a missing item or no file at all."""
    items = [str(i) for i in items]
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            paths += list_folder(path)
        elif path.is_file():
            paths.append(path)
        else:
            raise DataError(f"{path}: no such {what} or folder")
    if not paths:
        raise DataError(f"no {what}s found in {', '.join(items)}")
    return paths


def keypoint_files(items: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders expanded to their ``.json`` and ``.csv`` files (recursively, sorted)."""
    return expand_paths(items, lambda folder: sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in (".json", ".csv") and p.is_file()
    ), "keypoint file")


@dataclass
class ImportResult:
    """What :func:`import_keypoints` read: {image name: float32 (18, 2) on the pixel grid} in file order, and notes per image."""

    rows: dict[str, np.ndarray] = field(default_factory=dict)
    outside: dict[str, int] = field(default_factory=dict)  # name -> keypoints dropped as outside the image


def _target_pose(rec: PoseRecord, image_size, source_size, where: Path) -> np.ndarray:
    if image_size is None:
        return rec.keypoints
    src = rec.image_size or source_size
    if src is None:
        raise DataError(
            f"{where}: the file does not say its image size; give --source-size H W to scale to --image-size"
        )
    return scale_pose(rec.keypoints, src, image_size)


def import_keypoints(
    paths: Iterable[str | Path], *, fmt: str | None = None, image_size: tuple[int, int] | None = None,
    source_size: tuple[int, int] | None = None, image_ext: str = ".jpg", **options,
) -> ImportResult:
    """Read keypoint files into annotation rows (one per image), scaled to ``image_size`` (H, W) when given.

    Args:
        fmt: the files' format, or None to detect it per file.
        image_size: the dataset's image size; poses are scaled from their source image size and points outside
            become -1. None keeps the files' own pixel coordinates.
        source_size: source image size for files that do not state it (OpenPose, BlazePose).
        image_ext: appended to the names of per-image files (``photo_keypoints.json`` -> ``photo.jpg``).
        options: ``threshold`` (OpenPose), ``min_visibility`` (BlazePose).
    """
    result = ImportResult()
    origin: dict[str, Path] = {}
    for path in keypoint_files(paths):
        # BlazePose's normalised coordinates scale directly to the dataset size when no source size is known.
        norm_size = source_size or image_size
        for rec in read_pose_records(path, fmt=fmt, image_size=norm_size, **options):
            name = rec.name if Path(rec.name).suffix.lower() in IMAGE_EXTS else rec.name + image_ext
            if name_problem(name):  # it becomes a row of an annotation CSV, whose reader refuses it too
                raise DataError(f"{path}: {name_problem(name)}")
            if name in origin:
                raise DataError(f"{path}: image {name} already read from {origin[name]}; keep one pose per image")
            origin[name] = path
            kp = _target_pose(rec, image_size, source_size, path)
            grid = round_pose(kp, image_size)
            lost = int(present(kp).sum() - present(grid).sum())
            if lost:
                result.outside[name] = lost
            result.rows[name] = grid
    return result


def export_keypoints(
    annotations: dict[str, np.ndarray], to: str, out: str | Path, image_size: tuple[int, int] | None = None
) -> list[Path]:
    """Write annotation rows as ``openpose`` / ``blazepose`` files in folder ``out`` (``<stem>_keypoints.json`` /
    ``<stem>.json``) or one ``coco`` file ``out``; returns the files written.

    ``image_size`` (H, W) is recorded in every file (OpenPose as an extra ``image_size`` key) and is required by
    BlazePose's normalised coordinates.
    """
    out = Path(out)
    if to not in EXPORT_FORMATS:
        raise DataError(f"unknown export format {to!r}: choose one of {', '.join(EXPORT_FORMATS)}")
    if to == "coco":
        records = [PoseRecord(name, kp, image_size) for name, kp in annotations.items()]
        return [write_text_atomic(out, json.dumps(to_coco(records)))]
    if to == "blazepose" and image_size is None:
        raise DataError("BlazePose landmarks are normalised to the image: give --image-size H W")
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder; --out names a folder for {to} files")
    suffix = f"{OPENPOSE_SUFFIX}.json" if to == "openpose" else ".json"
    targets: dict[Path, str] = {}
    for name in annotations:  # every target first: a clash stops the export before any file is written
        path = out / f"{Path(name).stem}{suffix}"
        if path in targets:
            raise DataError(f"{name} and {targets[path]} would both be written to {path}; rename one image")
        targets[path] = name
    for path, name in targets.items():
        kp = annotations[name]
        obj = openpose.to_openpose_json(kp, image_size) if to == "openpose" else \
            blazepose.to_blazepose_json(kp, image_size)
        write_text_atomic(path, json.dumps(obj))
    return list(targets)

