"""Target poses as types, and the one rule that turns a user's string into one.

The pipeline's target types:

- :class:`LibraryPose` ``(name)``: a pose of the built-in library (:mod:`posestylizer.keypoints.library`);
- :class:`KeypointFile` ``(path)``: a PATN CSV row, an OpenPose JSON or a COCO JSON file;
- :class:`KeypointArray` ``(array)``: (18, 2) (y, x) model pixels, or float fractions in [0, 1] of the model image;
- :class:`PoseFromPhoto` ``(image)``: a photo (path, PIL image or uint8 (H, W, 3) array), whose most prominent
  person's pose is estimated.

Strings become targets once, at the edge (``generate --target``, a ``str`` handed to the pipeline), by
:func:`resolve_target`'s one rule, which never depends on what files the working directory holds for a library name:

1. ``library:NAME`` is the library pose NAME (an unknown NAME is an error that lists the library);
2. a string equal to a library pose name (``walking``) is that pose, even when a file of that name exists: library
   names are bare words (no ``/``, no ``.``), so write ``./walking`` to mean a file called ``walking``;
3. any other string is a path: ``.json`` / ``.csv`` is a keypoint file, an image extension a photo; a missing file or
   another extension is an error.

A :class:`pathlib.Path` is always a path (rule 3), never a library name. Non-string values: a PIL image or a 3-D
array is a photo, a 2-D array, list or tuple a keypoint array; a target type is kept as it is.

:func:`prepare_target` does the reading (a keypoint file once, a photo decoded once) and the checks that need no
estimator, so errors surface before the person search; :func:`target_pose` finishes a prepared target into model
pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Union

import numpy as np
from PIL import Image

from posestylizer.errors import InputError, MissingKeypointsError, NoPersonError
from posestylizer.inference import framing as fr
from posestylizer.inference.inputs import keypoint_array, load_image
from posestylizer.inference.people import pick_person
from posestylizer.keypoints import read_pose_file
from posestylizer.keypoints.library import library_pose, pose_names
from posestylizer.runtime.imagefiles import IMAGE_EXTS

KEYPOINT_FILE_EXTS = (".json", ".csv")
LIBRARY_PREFIX = "library:"


@dataclass(frozen=True)
class LibraryPose:
    """A library pose by name (``posestylizer pose list``); placed as the training images frame people."""

    name: str
    kind: ClassVar[str] = "library"


@dataclass(frozen=True)
class KeypointFile:
    """A keypoint file: PATN CSV row, OpenPose JSON or COCO JSON; (y, x) pixels of the image it describes."""

    path: Path
    kind: ClassVar[str] = "file"

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))  # a str path is accepted; stored as a Path


@dataclass(frozen=True, eq=False)
class KeypointArray:
    """(18, 2) (y, x) keypoints in model pixels, or float fractions in [0, 1] of the model image; -1 = missing."""

    array: object
    kind: ClassVar[str] = "array"


@dataclass(frozen=True, eq=False)
class PoseFromPhoto:
    """A photo (path, PIL image or uint8 (H, W, 3) array); the pose of its most prominent person."""

    image: object
    kind: ClassVar[str] = "photo"


Target = Union[LibraryPose, KeypointFile, KeypointArray, PoseFromPhoto]
TARGET_TYPES = (LibraryPose, KeypointFile, KeypointArray, PoseFromPhoto)


def _unknown_name(name: str, names: list[str]) -> InputError:
    return InputError(f"target '{name}': no library pose of that name (library: {', '.join(names)}; "
                      "`posestylizer pose list` draws them)")


def _path_target(path: Path, names: list[str]) -> Target:
    suffix = path.suffix.lower()
    if not path.is_file():
        hint = "" if (path.suffix or "/" in str(path)) else " and no library pose of that name"
        raise InputError(f"target '{path}': no such file{hint} (library: {', '.join(names)}; "
                         "`posestylizer pose list` draws them)")
    if suffix in KEYPOINT_FILE_EXTS:
        return KeypointFile(path)
    if suffix in IMAGE_EXTS:
        return PoseFromPhoto(path)
    raise InputError(f"target {path}: not a keypoint file (.json, .csv) nor a photo ({', '.join(IMAGE_EXTS)})")


def resolve_target(value) -> Target:
    """A user's target as a typed target, by the module docstring's rule; InputError for what fits no type."""
    if isinstance(value, TARGET_TYPES):
        return value
    if isinstance(value, str):
        names = pose_names()
        if value.startswith(LIBRARY_PREFIX):
            name = value[len(LIBRARY_PREFIX):]
            if name not in names:
                raise _unknown_name(name, names)
            return LibraryPose(name)
        if value in names:
            return LibraryPose(value)
        return _path_target(Path(value), names)
    if isinstance(value, Path):
        return _path_target(value, pose_names())
    if isinstance(value, Image.Image) or (isinstance(value, np.ndarray) and value.ndim == 3):
        return PoseFromPhoto(value)
    if isinstance(value, (np.ndarray, list, tuple)):
        return KeypointArray(value)
    raise InputError(
        f"target must be an (18, 2) keypoint array, a keypoint file, a photo or a library pose name, "
        f"got {type(value).__name__}"
    )


@dataclass(frozen=True, eq=False)
class PreparedTarget:
    """A target read and checked (what needs no estimator): see :func:`prepare_target`.

    Attributes:
        target: the typed target.
        keypoints: float (18, 2) (y, x): model pixels for an array or a library pose, the file's image pixels for a
            keypoint file, None for a photo (its person is found by :func:`target_pose`).
        image: the decoded photo, uint8 (H, W, 3), for a photo target; else None.
        size, placement: the model image (H, W) and framing it was prepared for (another pipeline prepares anew).
    """

    target: Target
    size: tuple[int, int]
    placement: object
    keypoints: np.ndarray | None = None
    image: np.ndarray | None = None

    @property
    def kind(self) -> str:
        """``library``, ``file``, ``array`` or ``photo``."""
        return self.target.kind


def read_keypoint_file(path: Path) -> np.ndarray:
    """(18, 2) float64 (y, x) pixels of the file's image from a PATN CSV row, OpenPose JSON or COCO JSON."""
    return np.asarray(read_pose_file(path), dtype=np.float64)


def prepare_target(target, size: tuple[int, int], placement: fr.Framing) -> PreparedTarget:
    """Resolve (:func:`resolve_target`), read and check a target for a model of ``size`` (H, W): arrays are checked
    in full, keypoint files read (once), library poses placed, photos decoded. A PreparedTarget made for the same size
    and placement is returned as it is (made for another pipeline, it is prepared anew from its target)."""
    if isinstance(target, PreparedTarget):
        if target.size == tuple(size) and target.placement == placement:
            return target
        target = target.target
    target = resolve_target(target)
    made = {"target": target, "size": tuple(size), "placement": placement}
    if isinstance(target, KeypointArray):
        return PreparedTarget(**made, keypoints=keypoint_array(target.array, size, "target", normalised_ok=True))
    if isinstance(target, LibraryPose):
        return PreparedTarget(**made, keypoints=library_pose(target.name, size, placement))
    if isinstance(target, KeypointFile):
        return PreparedTarget(**made, keypoints=read_keypoint_file(target.path))
    return PreparedTarget(**made, image=load_image(target.image, "target photo"))


def target_pose(prepared: PreparedTarget, size: tuple[int, int], framing: fr.Framing, estimator) -> np.ndarray:
    """The prepared target's pose, float (18, 2) (y, x) model pixels, -1 = missing, not yet retargeted: arrays and
    library poses as prepared; a file's or photo's person framed like a source person (not clipped to the frame)."""
    target = prepared.target
    if isinstance(target, (KeypointArray, LibraryPose)):
        return prepared.keypoints
    if isinstance(target, KeypointFile):
        raw, where = prepared.keypoints, f"target file {target.path}"
    else:
        where = f"target photo {target.image}" if isinstance(target.image, (str, Path)) else "target photo"
        try:
            raw = pick_person(prepared.image, estimator).keypoints
        except NoPersonError as err:  # name the target: the source photo has its own person search
            raise NoPersonError(f"{where}: {err}") from None
    try:
        box = fr.frame_box(raw, size, framing)
    except MissingKeypointsError as err:
        raise MissingKeypointsError(f"{where}: {err}") from None
    return box.to_model(raw, size, clip=False)
