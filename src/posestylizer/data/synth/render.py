"""Render one synthetic person: project the posed skeleton, paint its parts back to front, read off the keypoints.

Keypoints hidden behind another part, outside the frame or (rarely) just missed are written as -1, as real
annotations have them.
"""

from __future__ import annotations

import numpy as np

from posestylizer.data.synth.body import Figure, body_parts
from posestylizer.data.synth.canvas import Canvas
from posestylizer.data.synth.identity import Identity
from posestylizer.data.synth.pose import Pose, skeleton, unit
from posestylizer.keypoints.vocab import KEYPOINT_NAMES, MISSING, NUM_KEYPOINTS

_FACE = ("nose", "eye", "ear")
# The parts that may cover a keypoint of each kind without hiding it (its own limb, the body it is attached to).
_OWN_PARTS = {
    "nose": {"head"}, "neck": {"neck", "torso", "head", "hair"}, "shoulder": {"torso", "arm", "neck"},
    "elbow": {"arm"}, "wrist": {"arm"}, "hip": {"torso", "pelvis", "leg", "skirt"}, "knee": {"leg", "skirt"},
    "ankle": {"leg"}, "eye": {"head", "hair"}, "ear": {"head", "hair"},
}  # fmt: skip
# The body parts of the part maps (1 + index; 0 = background) and the regions of the body builders they gather: the
# neck, the hip garment (seat of trousers or shorts) and a skirt go with the torso, hair with the head, shoes with the
# legs (a skirt is worn at the hips and moves with them, not with the legs).
PART_NAMES = ("head", "torso", "arms", "legs")
PART_OF_GROUP = {"head": 1, "hair": 1, "neck": 2, "torso": 2, "pelvis": 2, "skirt": 2, "arm": 3, "leg": 4}
_HEAD_ROOM = 1.15  # head radii above the highest skeleton point (the top of the head and its hair)


def project(ident: Identity, pose: Pose, size: tuple[int, int]) -> Figure:
    """Pose ``ident`` and project it orthographically into an image of ``size`` (H, W): the pose's scale sets the
    pixels per body height, its ``top`` the top of the head and its ``center`` the pelvis."""
    h, w = size
    pts3 = skeleton(ident, pose)
    s = pose.scale * h * ident.height  # pixels per body-height unit
    names = [k for k in pts3 if k != "head_fwd"]
    top_y = max(pts3[k][1] for k in names) + ident.head_r * _HEAD_ROOM
    cx = pose.center * w - s * pts3["r_hip"][0] * 0.5 - s * pts3["l_hip"][0] * 0.5
    cy = pose.top * h + s * top_y
    pt = {k: np.array([cx + s * pts3[k][0], cy - s * pts3[k][1]]) for k in names}  # image (x, y)
    z = {k: float(pts3[k][2]) for k in names}
    return Figure(ident=ident, pt=pt, z=z, pts3=pts3, s=s)


class Renderer:
    """Turns an identity and a pose into an image, keypoints and a foreground mask of ``size`` (H, W)."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size

    def render(self, ident: Identity, pose: Pose, background: np.ndarray, rng: np.random.Generator):
        """Paint the person over ``background`` ((H, W, 3) float in [0, 1]).

        Returns:
            image (H, W, 3) float in [0, 1] (lit by ``pose.light``), keypoints (18, 2) int (y, x) with -1 for
            missing, foreground mask (H, W) bool.
        """
        return self.render_parts(ident, pose, background, rng)[:3]

    def render_parts(self, ident: Identity, pose: Pose, background: np.ndarray, rng: np.random.Generator):
        """As :meth:`render`, plus the body-part map: uint8 (H, W), :data:`PART_NAMES` index + 1 on the mask, 0
        elsewhere (see :func:`part_map`)."""
        fig = project(ident, pose, self.size)
        canvas = Canvas(background)
        parts = sorted(body_parts(fig), key=lambda part: part.depth)  # back to front; stable for ties
        for label, part in enumerate(parts):
            part.shape.draw(canvas, label)
        groups = [part.group for part in parts]
        keypoints = self._keypoints(fig, canvas, groups, rng)
        image = np.clip(canvas.rgb * pose.light, 0, 1)
        mask = canvas.alpha >= 0.5
        return image, keypoints, mask, part_map(canvas.label, groups, mask)

    def _keypoints(
        self, fig: Figure, canvas: Canvas, groups: list[str], rng: np.random.Generator
    ) -> np.ndarray:
        """(18, 2) (y, x) keypoints with -1 where a point is out of frame, hidden or (rarely) missed."""
        h, w = self.size
        kp = np.full((NUM_KEYPOINTS, 2), MISSING, np.int64)
        for i, name in enumerate(KEYPOINT_NAMES):
            r, c = np.rint(fig.pt[name][::-1]).astype(int)
            if not (0 <= r < h and 0 <= c < w):
                continue  # out of frame
            kind = name.rsplit("_", 1)[-1]
            if kind in _FACE and _faces_away(fig, name, kind):
                continue
            top = groups[canvas.label[r, c]] if canvas.label[r, c] >= 0 else ""  # the part painted last here
            other_side = top[:2] in ("r_", "l_") and name[:2] in ("r_", "l_") and top[0] != name[0]
            hidden = top and (
                top.rsplit("_", 1)[-1] not in _OWN_PARTS[kind] or (other_side and kind not in _FACE)
            )
            # an estimator usually misses hidden limbs but still places a hidden shoulder or hip
            if hidden and rng.random() < (0.3 if kind in ("shoulder", "hip") else 0.85):
                continue
            if rng.random() < (0.04 if kind in ("ear", "wrist", "ankle") else 0.015):
                continue  # the estimator just missed it
            kp[i] = (r, c)
        return kp


def part_map(label: np.ndarray, groups: list[str], mask: np.ndarray) -> np.ndarray:
    """The body part of every person pixel: uint8 (H, W), 1 + index in :data:`PART_NAMES` where ``mask`` is set, 0
    elsewhere, so the parts tile the ground-truth mask exactly.

    ``label`` (int (H, W), -1 = none) is the canvas's index of the part painted last per pixel; ``groups`` the region
    of each index. A mask pixel without a label (coverage exactly 0.5 at an edge) takes its nearest labelled pixel's
    part.
    """
    from scipy.ndimage import distance_transform_edt

    lut = np.array([PART_OF_GROUP[g.rsplit("_", 1)[-1]] for g in groups] + [0], np.uint8)  # index -1 -> 0
    parts = lut[label]
    gaps = mask & (parts == 0)
    if gaps.any() and (parts > 0).any():
        _, (rows, cols) = distance_transform_edt(parts == 0, return_indices=True)
        parts[gaps] = parts[rows[gaps], cols[gaps]]
    parts[~mask] = 0
    return parts


def _faces_away(fig: Figure, name: str, kind: str) -> bool:
    """Whether a face point is on the far side of the head (z is toward the camera); an ear shows further round."""
    return float(unit(fig.pts3[name] - fig.pts3["head"])[2]) < (-0.3 if kind == "ear" else -0.05)
