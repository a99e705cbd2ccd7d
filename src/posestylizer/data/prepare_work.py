"""One raw image of ``data prepare``: read, check, crop, find its pose, write it; run in worker processes or threads.

Each call returns an :class:`Outcome`, which the driver journals so that a second run skips the image.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from posestylizer.data.pairs import pairable
from posestylizer.data.prepare_keypoints import Frame
from posestylizer.data.prepare_sources import RawImage
from posestylizer.errors import UserError
from posestylizer.estimators import get_estimator
from posestylizer.runtime.files import atomic_path

# Why an image is left out, as the report words it (keys are what the journal stores).
REASONS = {
    "distractor": "Market junk/distractor id (-1, 0000)",
    "unlisted": "in neither --split-from list",
    "unreadable": "unreadable image",
    "size": "unexpected image size",
    "no_pose": "no pose for it in the --keypoints file",
    "few_keypoints": "too few keypoints (pairs need both shoulders and both hips)",
    "single": "the only usable image of its identity (no pair possible)",
}
JPEG_QUALITY = 95  # cropped DeepFashion images are re-encoded; Market files are copied byte for byte


@dataclass(frozen=True)
class Outcome:
    """What became of one raw image: its (18, 2) keypoints when found, and why it was dropped (None = kept)."""

    phase: str
    name: str
    keypoints: list | None = None
    drop: str | None = None
    detail: str = ""

    def to_json(self) -> dict:
        return {"phase": self.phase, "name": self.name, "keypoints": self.keypoints, "drop": self.drop,
                "detail": self.detail}  # fmt: skip


@dataclass(frozen=True)
class Task:
    """One image to prepare. ``keypoints`` is the pose from a --keypoints file (None: none found there), or
    ``"estimate"`` to run the worker's estimator."""

    item: RawImage
    root: str
    out: str
    frame: Frame
    keypoints: np.ndarray | str | None


_ESTIMATOR = None


def init_worker(name: str | None, options: dict) -> None:
    """Build this process's pose estimator once (each worker process holds its own)."""
    global _ESTIMATOR
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per worker: the pool is the parallelism
    if name is not None:
        _ESTIMATOR = get_estimator(name, **options)


def output_path(out: str | Path, phase: str, name: str) -> Path:
    return Path(out) / phase / name


def _read(path: Path) -> tuple[np.ndarray | None, str]:
    try:
        with Image.open(path) as img:
            return np.array(img.convert("RGB")), ""
    except FileNotFoundError:
        return None, "file not found"
    except (OSError, SyntaxError, ValueError) as err:
        return None, str(err)


def _write(task: Task, image: np.ndarray) -> None:
    """The prepared image, renamed into place when complete; Market's unchanged files are copied as they are."""
    dst = output_path(task.out, task.item.phase, task.item.name)
    src = Path(task.root) / task.item.rel
    with atomic_path(dst) as tmp:
        if task.frame.identity and src.suffix.lower() == dst.suffix.lower():
            shutil.copyfile(src, tmp)
        else:
            fmt = "JPEG" if dst.suffix.lower() in (".jpg", ".jpeg") else None
            Image.fromarray(np.ascontiguousarray(task.frame.crop(image))).save(tmp, format=fmt, quality=JPEG_QUALITY)


def prepare_image(task: Task) -> Outcome:
    """Read, check and write one image; the :class:`Outcome` says what was kept or why it was dropped."""
    item, frame = task.item, task.frame
    image, err = _read(Path(task.root) / item.rel)
    if image is None:
        return Outcome(item.phase, item.name, drop="unreadable", detail=f"{item.rel}: {err}")
    if image.shape[:2] != frame.raw_size:
        h, w = image.shape[:2]
        detail = f"{item.rel}: {h}x{w}, expected {frame.raw_size[0]}x{frame.raw_size[1]}"
        return Outcome(item.phase, item.name, drop="size", detail=detail)
    if task.keypoints is None:
        return Outcome(item.phase, item.name, drop="no_pose", detail=item.rel)
    if isinstance(task.keypoints, str):
        try:
            kp = frame.to_output(_ESTIMATOR(image).astype(np.float32))
        except UserError as error:
            return Outcome(item.phase, item.name, drop="unreadable", detail=f"{item.rel}: {error}")
    else:
        kp = task.keypoints
    if not pairable(kp):
        return Outcome(item.phase, item.name, kp.tolist(), drop="few_keypoints")
    _write(task, image)
    return Outcome(item.phase, item.name, kp.tolist())
