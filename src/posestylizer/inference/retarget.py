"""Retargeting: move a target pose onto the source person, so the generated person keeps their own size and place.

A pose taken from another photo (or a keypoint file, or the pose library) belongs to another body: taller, shorter,
further left. Generating it as it is would stretch the source person to the other body. :func:`retarget` keeps the
target's posture and gives it the source person's scale and position:

1. scale by the ratio of torso lengths (neck to hip centre; the part of the body that changes least with posture),
   or, without a torso on either side, by the ratio of face-to-ankle heights;
2. place the hip centre (else the neck) at the source's column, and the feet on the source's ground line (the
   lowest ankle; without ankles on both sides, the hip centre at the source's height);
3. shrink the result about its centre, and shift it, until every keypoint lies inside the model image.

Limb proportions are the target's (scaled): a long-legged target gives the source person long legs. Per-bone
retargeting would need the source's true limb lengths, which a single photo does not give (foreshortening).

All coordinates are (y, x) model pixels, -1 = missing.
"""

from __future__ import annotations

import numpy as np

from posestylizer.inference.framing import ankle_bottom, face_top, hip_center, neck_point, torso_length
from posestylizer.keypoints.vocab import KEYPOINT_DTYPE, MISSING, present


def pose_scale(target: np.ndarray, source: np.ndarray) -> float:
    """Factor that brings the target body to the source body's size: torso ratio, else height ratio, else 1."""
    ts, tt = torso_length(source), torso_length(target)
    if ts and tt:
        return ts / tt
    spans = []
    for kp in (source, target):
        top, bottom = face_top(kp), ankle_bottom(kp)
        spans.append(bottom - top if top is not None and bottom is not None and bottom > top else None)
    if all(spans):
        return spans[0] / spans[1]
    return 1.0


def _anchor(kp: np.ndarray) -> np.ndarray:
    """Hip centre, else neck, else the mean of the present keypoints."""
    for point in (hip_center(kp), neck_point(kp)):
        if point is not None:
            return point
    return np.asarray(kp, np.float64)[present(kp)].mean(0)


def fit_inside(kp: np.ndarray, size: tuple[int, int], margin: float = 1.0) -> np.ndarray:
    """Shrink (about the keypoints' box centre) and shift float keypoints so all lie in [margin, size - 1 - margin]."""
    kp = np.asarray(kp, np.float64).copy()
    ok = present(kp)
    if not ok.any():
        return kp
    pts = kp[ok]
    lo, hi = np.array([margin, margin]), np.array(size, np.float64) - 1 - margin
    extent = pts.max(0) - pts.min(0)
    room = hi - lo
    k = min(1.0, *(room[i] / extent[i] for i in (0, 1) if extent[i] > 0))
    center = (pts.max(0) + pts.min(0)) / 2
    pts = center + (pts - center) * k
    shift = np.maximum(lo - pts.min(0), 0) - np.maximum(pts.max(0) - hi, 0)
    kp[ok] = pts + shift
    return kp


def retarget(
    target: np.ndarray, source: np.ndarray, size: tuple[int, int], *, scale: float | None = None
) -> np.ndarray:
    """The target posture on the source person's body size and position (module docstring).

    Args:
        target: (18, 2) (y, x) keypoints of the target pose, in any pixel frame (framed like the model's images
            works best, since limbs outside the frame are lost).
        source: (18, 2) (y, x) model-pixel keypoints of the source person.
        size: (H, W) of the model image.
        scale: the body-size factor to use instead of :func:`pose_scale` of this pose (an animation keeps one
            factor for the whole clip, so that a bending torso does not make the person shrink and grow).
    Returns:
        float32 (18, 2) (y, x) model pixels on the pixel grid, -1 where the target keypoint is missing.
    """
    target = np.asarray(target, np.float64)
    ok = present(target)
    out = np.full(target.shape, float(MISSING))
    if not ok.any():
        return out.astype(KEYPOINT_DTYPE)
    s = pose_scale(target, source) if scale is None else scale
    t_anchor, s_anchor = _anchor(target), _anchor(source)
    moved = (target - t_anchor) * s + s_anchor
    out[ok] = moved[ok]
    t_feet, s_feet = ankle_bottom(out), ankle_bottom(source)
    if t_feet is not None and s_feet is not None:
        out[ok, 0] += s_feet - t_feet  # stand where the source person stands
    out = fit_inside(out, size)
    out = np.rint(out).astype(KEYPOINT_DTYPE)
    out[~ok] = MISSING
    return out
