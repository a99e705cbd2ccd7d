"""What the endpoints do, as blocking functions the job queue runs: decode uploads, call the pipeline, shape answers.

Kept apart from the routes so that everything that touches the model or decodes pixels runs in the worker thread.
Client strings never reach the pipeline as strings: every target is handed over typed
(:mod:`posestylizer.inference.targets`), and a library pose as the keypoint array the editor shows (fitted inside the
image), so that what is drawn is what is rendered. Estimating a person runs only :meth:`locate` (no encoder).
"""

from __future__ import annotations

import json
import time
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from posestylizer.inference.inputs import parse_person
from posestylizer.inference.retarget import fit_inside
from posestylizer.inference.targets import KeypointArray, PoseFromPhoto
from posestylizer.keypoints.library import library_pose, pose_names
from posestylizer.keypoints.vocab import (
    FLIP_INDEX,
    JOINT_COLORS,
    KEYPOINT_DTYPE,
    KEYPOINT_NAMES,
    SKELETON,
    present,
)
from posestylizer.runtime.boundedjson import loads_bounded
from posestylizer.server.schemas import (
    Contract,
    Estimate,
    Generated,
    LibraryPose,
    Limits,
    PoseLibrary,
    Skeleton,
)
from posestylizer.server.uploads import UploadRefused, decode_image, png_base64, png_bytes


@dataclass(frozen=True)
class Upload:
    """One uploaded file: the form field it came in, a printable name for messages, its bytes."""

    field: str
    name: str
    data: bytes


def _pairs(kp: np.ndarray) -> list[tuple[int, int]]:
    """(18, 2) keypoints as integer [y, x] pairs; missing stay (-1, -1)."""
    kp = np.asarray(kp, dtype=KEYPOINT_DTYPE)
    ok = present(kp)
    return [(round(float(y)), round(float(x))) if ok[i] else (-1, -1) for i, (y, x) in enumerate(kp)]


def _box(box) -> tuple[float, float, float, float]:
    values = box.as_tuple() if hasattr(box, "as_tuple") else box
    return tuple(round(float(v), 2) for v in values)


@dataclass
class Outcome:
    """A generation result and the seconds it took in the pipeline."""

    result: object  # ReposeResult
    seconds: float

    def png(self, which: str) -> bytes:
        return png_bytes(self.result.panel if which == "panel" else self.result.image)

    def to_schema(self) -> Generated:
        r = self.result
        return Generated(
            image=png_base64(r.image), panel=png_base64(r.panel), source_keypoints=_pairs(r.source_keypoints),
            target_keypoints=_pairs(r.target_keypoints), crop_box=_box(r.crop_box), seconds=round(self.seconds, 4),
        )


class StudioService:
    """The blocking half of each endpoint, over one loaded pipeline."""

    def __init__(self, pipeline, *, checkpoint_name: str, max_pixels: int, max_upload_bytes: int, queue_size: int):
        self.pipe = pipeline
        self.checkpoint_name = checkpoint_name
        self.max_pixels = max_pixels
        self.limits = Limits(max_upload_bytes=max_upload_bytes, max_pixels=max_pixels, queue_size=queue_size)
        self.size = tuple(int(v) for v in pipeline.size)
        # The library in model pixels, placed as the training images frame people and kept inside the image (raised
        # arms reach past the top); names are the only way a client refers to these poses.
        self._library = {
            name: fit_inside(library_pose(name, self.size, pipeline.framing), self.size).astype(KEYPOINT_DTYPE)
            for name in pose_names()
        }

    @staticmethod
    def display_name(filename: str | None) -> str:
        """A client's file name made safe to print: base name only, control characters dropped, at most 80 chars."""
        name = PurePath((filename or "").replace("\\", "/")).name
        name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
        return (name[:77] + "...") if len(name) > 80 else (name or "upload")

    def contract(self) -> Contract:
        c = self.pipe.contract
        return Contract(
            checkpoint=self.checkpoint_name, preset=c.layout, image_size=self.size, heatmap_sigma=c.heatmap_sigma,
            keypoints=c.keypoints, device=str(self.pipe.device), precision=self.pipe.precision,
            limits=self.limits,
        )

    @staticmethod
    def skeleton() -> Skeleton:
        return Skeleton(names=list(KEYPOINT_NAMES), limbs=list(SKELETON), colors=list(JOINT_COLORS),
                        flip=list(FLIP_INDEX))

    def library(self) -> PoseLibrary:
        return PoseLibrary(poses=[LibraryPose(name=n, keypoints=_pairs(kp)) for n, kp in self._library.items()])

    def image(self, upload: Upload) -> np.ndarray:
        return decode_image(upload.data, upload.field, upload.name, self.max_pixels)

    def estimate(self, upload: Upload, person: str | None) -> Estimate:
        """The person's keypoints in the photo and in the model's crop, through the same steps a generation takes
        (so a photo the model cannot use is refused here already: no person, missing torso or legs -> 422)."""
        image = self.image(upload)
        found = self.pipe.locate(image, person=parse_person(person))
        return Estimate(
            image_size=image.shape[:2], keypoints=_pairs(found.photo_keypoints), crop_box=_box(found.crop_box),
            model_keypoints=_pairs(found.keypoints),
            missing=[KEYPOINT_NAMES[i] for i in np.flatnonzero(~present(found.photo_keypoints))],
        )

    def target(self, *, target_keypoints: str | None, target_pose: str | None, target_image: Upload | None):
        """(typed target for the pipeline, whether to retarget it): keypoints are used as drawn, a library pose or a
        photo's pose is moved onto the source person's size and place (as ``posestylizer generate`` does)."""
        if target_image is not None:
            return PoseFromPhoto(self.image(target_image)), True
        if target_pose is not None:
            return KeypointArray(self.library_pose(target_pose)), True
        return KeypointArray(parse_keypoints(target_keypoints, "target_keypoints")), False

    def generate(self, source: Upload, *, person: str | None, **targets) -> Outcome:
        """Re-pose the source person; exactly one of the three targets is given (checked by the route)."""
        image = self.image(source)
        target, retarget = self.target(**targets)
        start = time.perf_counter()
        result = self.pipe(image, target, person=parse_person(person), retarget=retarget)
        return Outcome(result, time.perf_counter() - start)

    def target_pose(self, source: Upload, *, person: str | None, **targets) -> list[tuple[int, int]]:
        """The model-pixel keypoints a generation would render for this source and target (for the editor)."""
        image = self.image(source)
        target, retarget = self.target(**targets)
        prepared = self.pipe.prepare_target(target)  # a bad target is refused before the person search
        found = self.pipe.locate(image, person=parse_person(person))
        return _pairs(self.pipe.target_keypoints(prepared, found, retarget=retarget))

    def library_pose(self, name: str) -> np.ndarray:
        if name not in self._library:
            raise UploadRefused(422, f"target_pose: no library pose named {name[:80]!r} (choose one of "
                                f"{', '.join(self._library)})")
        return self._library[name].copy()


def parse_keypoints(text: str, field: str) -> np.ndarray:
    """A JSON [[y, x] x 18] form field as a float64 (18, 2) array (the pipeline checks shape and range)."""
    try:
        value = loads_bounded(text)
    except json.JSONDecodeError as err:
        raise UploadRefused(422, f"{field}: not JSON ({err.msg} at character {err.pos}); send [[y, x], ...] "
                            "for the 18 joints") from None
    except ValueError as err:  # past the bounds: too deep, a number too long
        raise UploadRefused(422, f"{field}: {err}; send [[y, x], ...] for the 18 joints") from None
    try:
        kp = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        kp = None
    if kp is None or kp.shape != (18, 2):
        raise UploadRefused(422, f"{field}: expected 18 [y, x] pairs of numbers in COCO-18 order, [-1, -1] for "
                            "a missing joint")
    return kp
