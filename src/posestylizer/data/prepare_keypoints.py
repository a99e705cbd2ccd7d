"""Keypoints for ``data prepare``: the raw-to-PATN image frame, and poses from a ``--keypoints`` file or folder.

Keypoints from a file are in the raw download's pixels (what an estimator run on the downloaded images gives), except
PATN annotation CSVs, which describe prepared images (the authors' ``*-annotation-*.csv``) and are taken as they are.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posestylizer.errors import DataError
from posestylizer.keypoints import PoseRecord, read_pose_records, rescale, round_pose, shift_pose
from posestylizer.keypoints.files import detect_format, image_key
from posestylizer.keypoints.io import keypoint_files


@dataclass(frozen=True)
class Frame:
    """How a raw image becomes a PATN image: the raw size it must have, then columns ``crop_x`` onward kept.

    Args:
        raw_size: (H, W) of the downloaded images.
        crop_x: first column kept (DeepFashion: 40, so columns 40..215 of 256, reference §1.4).
        out_size: (H, W) of the prepared images.
    """

    raw_size: tuple[int, int]
    crop_x: int
    out_size: tuple[int, int]

    @property
    def identity(self) -> bool:
        return self.crop_x == 0 and self.raw_size == self.out_size

    def crop(self, image: np.ndarray) -> np.ndarray:
        """uint8 (H, W, 3) raw image -> the prepared (out H, out W, 3) image."""
        return image[: self.out_size[0], self.crop_x : self.crop_x + self.out_size[1]]

    def to_output(self, keypoints: np.ndarray) -> np.ndarray:
        """Raw-image (y, x) keypoints -> float32 (18, 2) of the prepared image, on the pixel grid; points cropped away become -1."""
        return round_pose(shift_pose(keypoints, 0, self.crop_x), self.out_size)


FRAMES = {
    "market1501": Frame((128, 64), 0, (128, 64)),
    "deepfashion": Frame((256, 256), 40, (256, 176)),
}


def _strip(name: str) -> str:
    """A name without its image extension: records and images are matched on this."""
    p = Path(name)
    return str(p.with_suffix("")) if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".webp") else name


class FileKeypoints:
    """Poses read from ``--keypoints`` (a file, or a folder of per-image files), matched to raw images by name.

    An image matches a record named (without extension) like its path in the download (``img/WOMEN/.../01_1_front``
    or, for a folder of per-image files, the file's path inside that folder), like its prepared name, or like its
    file name alone when that name is unique among both the images and the records.
    """

    def __init__(self, source: str | Path, frame: Frame, raw_names: list[str], fmt: str | None = None) -> None:
        self.source, self.frame = Path(source), frame
        self.by_key: dict[str, tuple[PoseRecord, bool]] = {}
        base_count: Counter[str] = Counter()
        for path in keypoint_files([source]):
            output_frame = (fmt or detect_format(path)) == "patn"
            for rec in read_pose_records(path, fmt=fmt, image_size=frame.raw_size):
                key = self._key(path, rec)
                if key in self.by_key:
                    raise DataError(f"{path}: a second pose for image {key}; keep one per image")
                self.by_key[key] = (rec, output_frame)
                base_count[Path(key).name] += 1
        raw_base = Counter(Path(_strip(n)).name for n in raw_names)
        self.by_base = {
            Path(k).name: v for k, v in self.by_key.items() if base_count[Path(k).name] == 1
            and raw_base[Path(k).name] <= 1
        }  # fmt: skip

    def _key(self, path: Path, rec: PoseRecord) -> str:
        per_image = rec.name == image_key(path)
        if per_image and self.source.is_dir():  # a mirrored tree: the file's path inside the folder
            return (path.parent.relative_to(self.source) / rec.name).as_posix()
        return _strip(rec.name)

    def __len__(self) -> int:
        return len(self.by_key)

    def lookup(self, rel: str, name: str) -> np.ndarray | None:
        """float32 (18, 2) keypoints of the prepared image, or None when no record matches."""
        found = self.by_key.get(_strip(rel)) or self.by_key.get(_strip(name)) \
            or self.by_base.get(Path(_strip(rel)).name)
        if found is None:
            return None
        rec, output_frame = found
        if output_frame:
            return round_pose(rec.keypoints, self.frame.out_size)
        return self.frame.to_output(rescale(rec, self.frame.raw_size))
