"""The built-in pose library: named target poses stored as data (``assets/poses.json``).

``posestylizer pose list`` draws them; ``posestylizer generate --target NAME`` and the pipeline accept a name where
they accept a keypoint file. The poses were made with ``tools/make_pose_library.py`` from the 3-D body of the
synthetic people (:mod:`posestylizer.data.synth`: average proportions, posed joint by joint, turned and projected),
so left/right labels are anatomical in every view and hidden face points are missing, as annotations have them.

Stored units: (y, x) in units of the standing body's face-to-ankle height, y down, x to the image right, origin at
the hip centre; ``null`` = not visible. :func:`library_pose` places a pose in a model image.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Protocol

import numpy as np

from posestylizer.errors import ConfigError
from posestylizer.keypoints.maps import draw_pose
from posestylizer.keypoints.vocab import KEYPOINT_DTYPE, MISSING, NUM_KEYPOINTS

FORMAT = "posestylizer-pose-library"


class Placement(Protocol):
    """Where a standing person goes in the image (fractions of H / W): span (face to ankle), hip_y, center_x."""

    span: float
    hip_y: float
    center_x: float


@lru_cache(maxsize=1)
def _library() -> dict:
    text = resources.files("posestylizer").joinpath("assets/poses.json").read_text()
    data = json.loads(text)
    if data.get("format") != FORMAT:
        raise ConfigError(f"assets/poses.json: not a {FORMAT} file")
    return data["poses"]


def pose_names() -> list[str]:
    """Names of the library's poses, in the library's order."""
    return list(_library())


def describe(name: str) -> str:
    return _entry(name)["description"]


def _entry(name: str) -> dict:
    poses = _library()
    if name not in poses:
        raise ConfigError(f"no pose named '{name}' in the library (choose one of {', '.join(poses)})")
    return poses[name]


def library_units(name: str) -> np.ndarray:
    """float64 (18, 2) (y, x) in body units (module docstring), NaN where not visible."""
    points = _entry(name)["keypoints"]
    return np.array([[np.nan, np.nan] if p is None else p for p in points], dtype=np.float64)


def library_pose(name: str, size: tuple[int, int], placement: Placement) -> np.ndarray:
    """The pose ``name`` in an (H, W) image framed as ``placement`` says (e.g. a
    :class:`~posestylizer.inference.framing.Framing`): float32 (18, 2) (y, x) pixels, -1 = not visible.

    The standing body's face-to-ankle height becomes ``placement.span * H``; the hip centre goes to
    (``hip_y * H``, ``center_x * W``).
    """
    h, w = size
    units = library_units(name)
    out = units * placement.span * h + (placement.hip_y * h, placement.center_x * w)
    out[np.isnan(units).any(axis=1)] = MISSING
    assert out.shape == (NUM_KEYPOINTS, 2)
    return out.astype(KEYPOINT_DTYPE)


def pose_sheet(poses: dict[str, np.ndarray], size: tuple[int, int], columns: int = 5) -> np.ndarray:
    """One picture of named poses: each skeleton drawn with :func:`~posestylizer.keypoints.maps.draw_pose` on an (H, W)
    black cell, its name below it. Returns uint8 (rows * (H + 20), columns * W, 3)."""
    from PIL import Image, ImageDraw, ImageFont

    h, w = size
    label = 20
    rows = -(-len(poses) // columns)
    sheet = Image.new("RGB", (columns * w, rows * (h + label)), (40, 40, 40))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=13)
    for i, (name, kp) in enumerate(poses.items()):
        x, y = (i % columns) * w, (i // columns) * (h + label)
        sheet.paste(Image.fromarray(draw_pose(kp, size, radius=max(2, h // 64))), (x, y))
        draw.rectangle((x, y, x + w - 1, y + h - 1), outline=(90, 90, 90))
        draw.text((x + w / 2, y + h + label / 2), name, fill=(230, 230, 230), font=font, anchor="mm")
    return np.asarray(sheet)
