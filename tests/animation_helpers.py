"""A driving clip for the animation tests (and the README's animation): a synthetic person walking across a street.

The synthetic renderer of ``posestylizer data synth`` poses a person by joint angles; a walk cycle is a sine on the
hip flexion with the arms swinging against the legs, and the person drifts to the right as they walk.
"""

from __future__ import annotations

import math

import numpy as np

from posestylizer.data.synth import Pose, background, sample_identity
from posestylizer.data.synth.render import Renderer


def walking_pose(t: float, *, center: float = 0.5, yaw: float = 0.0, scale: float = 0.82, stride: float = 22.0
                 ) -> Pose:
    """The walk cycle at phase ``t`` (cycles; 1.0 = one full stride of both legs); ``stride``: hip swing, degrees."""
    deg = math.radians
    swing = math.sin(2 * math.pi * t)
    hip = (deg(stride) * swing, -deg(stride) * swing)
    return Pose(
        kind="walk", yaw=yaw, lean=0.0, side_lean=0.0, arm_abduct=(deg(10), deg(10)),
        arm_flex=(-0.9 * hip[0], -0.9 * hip[1]), elbow=(deg(20), deg(20)), elbow_up=(0.0, 0.0), hip_flex=hip,
        hip_abduct=(deg(2), deg(2)), knee=tuple(deg(6) + max(0.0, -h) * 0.8 for h in hip), scale=scale, top=0.07,
        center=center, shift=0.0, light=1.0,
    )  # fmt: skip


def walking_clip(frames: int = 12, *, identity: int = 3, size: tuple[int, int] = (256, 192), seed: int = 0,
                 cycles: float = 1.0, yaw: float = 0.6):
    """``frames`` frames of one synthetic person walking on a street, drifting from 40% to 60% of the width, seen
    three-quarter from the front (``yaw`` radians; 0 = facing the camera).

    Returns:
        (list of uint8 (H, W, 3) frames, (T, 18, 2) int64 ground-truth (y, x) keypoints, -1 = hidden).
    """
    ident = sample_identity(identity, seed, "market")
    plate = background("market", size, ident.background_seed, pad=0)
    renderer = Renderer(size)
    images, keypoints = [], []
    for i in range(frames):
        t = i / frames * cycles
        pose = walking_pose(t, center=0.4 + 0.2 * i / max(1, frames - 1), yaw=yaw)
        image, kp, _ = renderer.render(ident, pose, plate, np.random.default_rng([seed, i]))
        images.append((image * 255 + 0.5).astype(np.uint8))
        keypoints.append(kp)
    return images, np.stack(keypoints)
