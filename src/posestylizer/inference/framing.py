"""Framing: crop a person out of a photo the way the training images frame people, and put a result back.

A generator has only seen people framed one way: Market-1501's detector boxes, DeepFashion's studio crops, or the
synthetic sets that imitate them. A person cut out of a photo must be framed the same way, or the model sees a giant
or a dwarf. :class:`Framing` holds where a standing person sits in the training images, measured from keypoint
annotations by :func:`measure_framing` (run it on a real dataset's annotation CSV to measure that dataset).

The built-in numbers were measured on the synthetic sets of ``posestylizer data synth`` (market: 960 images of 120
people, 725 of them with face, neck, hips and an ankle visible; fashion: 240 images, 156 used), medians::

    python -c "from posestylizer.inference.framing import measure_framing_of_dataset as m; print(m('DATA', 'market'))"

Reference §1 says only that Market-1501 images are 128x64 pedestrian-detector crops and DeepFashion's 256x176 crops
of the 256x256 studio photos; the synthetic presets were built to frame people like those (person height about 0.8-1
of the image, feet near the bottom, centred).

Coordinates are (y, x) pixels, -1 = missing (:mod:`posestylizer.keypoints.maps`); boxes are (x0, y0, x1, y1) in pixels of the
photo, and may reach outside it (that part is padded, never stretched).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from posestylizer.data.layouts import get_layout
from posestylizer.errors import ConfigError, MissingKeypointsError
from posestylizer.keypoints.patn import read_annotations
from posestylizer.keypoints.vocab import (
    ANKLES,
    HEAD,
    KEYPOINT_DTYPE,
    L_HIP,
    L_SHOULDER,
    MISSING,
    NECK,
    R_HIP,
    R_SHOULDER,
    missing_names,
    present,
)


@dataclass(frozen=True)
class Framing:
    """Where a standing person sits in a model's training images, as fractions of its height H / width W.

    Args:
        face_top: highest face keypoint (nose, eyes, ears), / H.
        ankle: lowest ankle, / H.
        torso: neck-to-hip-centre length, / H.
        hip_y: hip centre height, / H.
        center_x: hip centre column, / W.
    """

    face_top: float
    ankle: float
    torso: float
    hip_y: float
    center_x: float

    @property
    def span(self) -> float:
        """Face-to-ankle height of a standing person, / H."""
        return self.ankle - self.face_top


# Medians measured with measure_framing_of_dataset on `posestylizer data synth` sets (module docstring).
FRAMINGS = {
    "market": Framing(face_top=0.102, ankle=0.875, torso=0.282, hip_y=0.461, center_x=0.492),
    "fashion": Framing(face_top=0.137, ankle=0.879, torso=0.273, hip_y=0.480, center_x=0.496),
}


def framing_for(layout: str) -> Framing:
    """The framing of a contract's layout (``market`` or ``fashion``); ConfigError for other layouts."""
    if layout not in FRAMINGS:
        raise ConfigError(
            f"no framing known for layout '{layout}' (known: {', '.join(FRAMINGS)}); measure it with "
            "posestylizer.inference.framing.measure_framing and pass framing= to the pipeline"
        )
    return FRAMINGS[layout]


def hip_center(kp: np.ndarray) -> np.ndarray | None:
    """(y, x) midpoint of the two hips, or None when either is missing."""
    ok = present(kp)
    return np.asarray(kp, np.float64)[[R_HIP, L_HIP]].mean(0) if ok[R_HIP] and ok[L_HIP] else None


def neck_point(kp: np.ndarray) -> np.ndarray | None:
    """(y, x) of the neck, or the midpoint of the shoulders when the neck is missing; None without either."""
    ok, kp = present(kp), np.asarray(kp, np.float64)
    if ok[NECK]:
        return kp[NECK]
    return kp[[R_SHOULDER, L_SHOULDER]].mean(0) if ok[R_SHOULDER] and ok[L_SHOULDER] else None


def torso_length(kp: np.ndarray) -> float | None:
    """Neck-to-hip-centre distance in pixels (None when neck/shoulders or hips are missing, or it is 0)."""
    neck, hip = neck_point(kp), hip_center(kp)
    if neck is None or hip is None:
        return None
    length = float(np.hypot(*(neck - hip)))
    return length if length > 0 else None


def face_top(kp: np.ndarray) -> float | None:
    ok = present(kp)
    idx = [i for i in HEAD if ok[i]]
    return float(np.asarray(kp)[idx, 0].min()) if idx else None


def ankle_bottom(kp: np.ndarray) -> float | None:
    ok = present(kp)
    idx = [i for i in ANKLES if ok[i]]
    return float(np.asarray(kp)[idx, 0].max()) if idx else None


def measure_framing(poses: Iterable[np.ndarray], size: tuple[int, int]) -> Framing:
    """Median framing of the full-body poses (face, neck, both hips and an ankle present) among ``poses``.

    Args:
        poses: (18, 2) (y, x) keypoints of images of one size.
        size: (H, W) of those images.
    """
    h, w = size
    rows = []
    for kp in poses:
        top, bottom, torso, hip = face_top(kp), ankle_bottom(kp), torso_length(kp), hip_center(kp)
        if None in (top, bottom, torso, hip) or not present(kp)[NECK]:
            continue
        rows.append((top / h, bottom / h, torso / h, hip[0] / h, hip[1] / w))
    if not rows:
        raise MissingKeypointsError("no full-body pose (face, neck, hips, an ankle) to measure the framing on")
    med = np.median(np.array(rows), axis=0)
    return Framing(*(round(float(v), 3) for v in med))


def measure_framing_of_dataset(root: str | Path, layout: str = "market") -> Framing:
    """:func:`measure_framing` over the train and test annotations of a PATN-layout dataset."""

    lay = get_layout(layout)
    poses = [kp for phase in ("train", "test") if lay.annotation_path(root, phase).is_file()
             for kp in read_annotations(lay.annotation_path(root, phase)).values()]
    return measure_framing(poses, lay.image_size)


@dataclass(frozen=True)
class CropBox:
    """A crop of a photo with the model's aspect ratio: (x0, y0, x1, y1) pixels, possibly reaching outside it."""

    x0: float
    y0: float
    x1: float
    y1: float

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)

    def scale(self, size: tuple[int, int]) -> float:
        """Model pixels per photo pixel for a model image of ``size`` (H, W)."""
        return size[0] / (self.y1 - self.y0)

    def to_model(self, kp: np.ndarray, size: tuple[int, int], *, clip: bool = True) -> np.ndarray:
        """Photo keypoints -> (y, x) model pixels, -1 = missing.

        float32. With ``clip`` (for a source person): rounded to whole pixels, and points outside the model image
        become -1, as the training annotations have them. Without (for a target pose, to be fitted later): all kept.
        """
        kp = np.asarray(kp, np.float64)
        ok = present(kp)
        out = (kp - (self.y0, self.x0)) * self.scale(size)
        if not clip:
            return np.where(ok[:, None], out, MISSING).astype(KEYPOINT_DTYPE)
        out = np.rint(out)
        inside = ok & (out[:, 0] >= 0) & (out[:, 0] < size[0]) & (out[:, 1] >= 0) & (out[:, 1] < size[1])
        return np.where(inside[:, None], out, MISSING).astype(KEYPOINT_DTYPE)

    def to_image(self, kp: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Model keypoints -> float32 (y, x) photo pixels; missing stays -1."""
        kp = np.asarray(kp, np.float64)
        out = kp / self.scale(size) + (self.y0, self.x0)
        return np.where(present(kp)[:, None], out, MISSING).astype(KEYPOINT_DTYPE)


def frame_box(kp: np.ndarray, size: tuple[int, int], framing: Framing) -> CropBox:
    """The crop of the photo that frames the person with keypoints ``kp`` as ``framing`` says, at aspect W/H.

    The crop height comes from the face-to-ankle span and from the torso length, whichever gives the larger crop
    (so a sitting or bending person, whose span is short, is not over-zoomed; a person leaning toward the camera,
    whose torso looks short, neither). The face sits at ``framing.face_top`` (else the hips at ``hip_y``), the hip
    centre (else the neck) at ``center_x``.

    Raises:
        MissingKeypointsError: without a torso (neck or shoulders, and both hips) nor a face and an ankle.
    """
    kp = np.asarray(kp, np.float64)
    top, bottom, torso = face_top(kp), ankle_bottom(kp), torso_length(kp)
    heights = []
    if top is not None and bottom is not None and bottom > top:
        heights.append((bottom - top) / framing.span)
    if torso is not None:
        heights.append(torso / framing.torso)
    if not heights:
        need = missing_names(kp, (NECK, R_HIP, L_HIP)) + ([] if top is not None else ["a face point"])
        raise MissingKeypointsError(f"cannot frame the person: missing {', '.join(need)}")
    h = max(heights)
    hip, neck = hip_center(kp), neck_point(kp)
    if top is not None:
        y0 = top - framing.face_top * h
    elif hip is not None:
        y0 = hip[0] - framing.hip_y * h
    else:
        y0 = bottom - framing.ankle * h
    anchor = hip if hip is not None else neck if neck is not None else kp[present(kp)].mean(0)
    w = h * size[1] / size[0]
    x0 = anchor[1] - framing.center_x * w
    return CropBox(float(x0), float(y0), float(x0 + w), float(y0 + h))


def crop_to_model(image: np.ndarray, box: CropBox, size: tuple[int, int]) -> np.ndarray:
    """Cut ``box`` out of ``image`` and resize it to the model's (H, W), antialiased (Lanczos).

    The parts of the box outside the photo are filled by repeating its border pixels (``np.pad`` edge mode), so the
    person is never stretched. Returns uint8 (H, W, 3).
    """
    ih, iw = image.shape[:2]
    pad = max(0, math.ceil(max(-box.x0, -box.y0, box.x1 - iw, box.y1 - ih))) + 1
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge") if pad > 1 else image
    off = pad if pad > 1 else 0
    region = (box.x0 + off, box.y0 + off, box.x1 + off, box.y1 + off)
    out = Image.fromarray(padded).resize((size[1], size[0]), Image.Resampling.LANCZOS, box=region)
    return np.array(out, dtype=np.uint8)  # a writable copy (torch.from_numpy warns on read-only arrays)


def paste_into(image: np.ndarray, generated: np.ndarray, box: CropBox, feather: float = 0.04) -> np.ndarray:
    """The photo with ``generated`` (a model-size image) scaled into ``box``; the part outside the photo is dropped.

    The pasted rectangle fades into the photo over ``feather`` of the box width at its edges, so no hard seam shows.
    Returns a new uint8 (H, W, 3) array.
    """
    ih, iw = image.shape[:2]
    c0, r0 = max(0, math.floor(box.x0)), max(0, math.floor(box.y0))
    c1, r1 = min(iw, math.ceil(box.x1)), min(ih, math.ceil(box.y1))
    out = image.copy()
    if c1 <= c0 or r1 <= r0:
        return out
    bw, bh = box.x1 - box.x0, box.y1 - box.y0
    gh, gw = generated.shape[:2]
    # The integer region can start up to a pixel before the box: clamp its source window to the generated image.
    src = (
        max(0.0, (c0 - box.x0) / bw * gw), max(0.0, (r0 - box.y0) / bh * gh),
        min(gw, (c1 - box.x0) / bw * gw), min(gh, (r1 - box.y0) / bh * gh),
    )
    patch = np.asarray(
        Image.fromarray(generated).resize((c1 - c0, r1 - r0), Image.Resampling.BICUBIC, box=src), np.float32
    )
    # Weight 1 inside, ramping to 0 over `feather * width` pixels at the box's own edges (not the photo's).
    ramp = max(1.0, feather * bw)
    ys, xs = np.arange(r0, r1) + 0.5, np.arange(c0, c1) + 0.5
    wy = np.clip(np.minimum(ys - box.y0, box.y1 - ys) / ramp, 0, 1)
    wx = np.clip(np.minimum(xs - box.x0, box.x1 - xs) / ramp, 0, 1)
    alpha = (wy[:, None] * wx[None, :])[..., None]
    region = out[r0:r1, c0:c1].astype(np.float32)
    out[r0:r1, c0:c1] = np.clip(region + (patch - region) * alpha + 0.5, 0, 255).astype(np.uint8)
    return out
