"""Synthetic poses: a simple prior over joint angles, view and framing, and the 3-D skeleton it poses.

Bodies are posed in 3-D (x = the person's left, y = up, z = forward, units of body height), then turned by the view
angle, so that left/right keypoint labels stay anatomical in every view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from posestylizer.data.synth.identity import Identity

UP = np.array([0.0, 1.0, 0.0])
FWD = np.array([0.0, 0.0, 1.0])
LEFT = np.array([1.0, 0.0, 0.0])


@dataclass(frozen=True)
class Pose:
    """Joint angles (radians), view and framing of one image. Arm/leg tuples are (right, left)."""

    kind: str
    yaw: float  # 0 = facing the camera, pi = back to the camera, +pi/2 = facing image right
    lean: float  # forward bend of the upper body
    side_lean: float
    arm_abduct: tuple[float, float]  # raise sideways (0 = down, pi/2 = horizontal, pi = up)
    arm_flex: tuple[float, float]  # raise forward
    elbow: tuple[float, float]
    elbow_up: tuple[float, float]  # bend plane: 0 = forearm bends forward, pi/2 = bends up
    hip_flex: tuple[float, float]
    hip_abduct: tuple[float, float]
    knee: tuple[float, float]
    scale: float  # person height in pixels / image height
    top: float  # highest body point, as a fraction of the image height
    center: float  # horizontal position of the pelvis, fraction of the image width
    shift: float  # background offset in [0, 1]
    light: float  # brightness of the whole picture


# ---------------------------------------------------------------------------------------------------- pose prior
# Every helper below draws from the one generator of the image in a fixed order; reordering draws changes every
# dataset, so new draws go after the existing ones.


def _deg(rng: np.random.Generator, low: float, high: float) -> float:
    """An angle drawn uniformly between ``low`` and ``high`` degrees, in radians."""
    return math.radians(rng.uniform(low, high))


def _relaxed(rng: np.random.Generator) -> dict[str, list[float]]:
    """Joint angles of a person standing at ease (right, left): arms and legs slightly apart and bent."""
    angles = {}
    for name, low, high in (("arm_abduct", 4, 14), ("arm_flex", -8, 8), ("elbow", 5, 25)):
        angles[name] = [_deg(rng, low, high), _deg(rng, low, high)]
    angles["elbow_up"] = [0.0, 0.0]
    for name, low, high in (("hip_flex", -5, 5), ("hip_abduct", 1, 7), ("knee", 0, 8)):
        angles[name] = [_deg(rng, low, high), _deg(rng, low, high)]
    return angles


def _walk(rng: np.random.Generator, angles: dict[str, list[float]]) -> None:
    """A walking phase: the legs swing in opposition, the arms against the legs."""
    phase = rng.uniform(0, 2 * math.pi)
    amp = _deg(rng, 15, 30)
    swing = math.sin(phase)
    hip_flex = [amp * swing, -amp * swing]
    angles["hip_flex"] = hip_flex
    angles["knee"] = [_deg(rng, 5, 15) + max(0.0, -h) * 1.3 for h in hip_flex]  # the back leg bends more
    angles["arm_flex"] = [-0.8 * h for h in hip_flex]
    angles["elbow"] = [_deg(rng, 10, 35), _deg(rng, 10, 35)]
    angles["hip_abduct"] = [_deg(rng, 0, 4), _deg(rng, 0, 4)]


# (abduction, flexion, elbow) ranges in degrees of each arm-raise style
_ARM_STYLES = {
    "side": ((60, 110), (-10, 20), (0, 30)),
    "up": ((130, 170), (0, 25), (0, 25)),
    "forward": ((5, 25), (60, 100), (0, 40)),
    "wave": ((70, 100), (0, 20), (70, 110)),
}


def _raise_arms(rng: np.random.Generator, angles: dict[str, list[float]]) -> None:
    """Raise one or both arms: sideways, up, forward or waving (the forearm bent upward)."""
    for side in [i for i in (0, 1) if rng.random() < 0.65] or [int(rng.integers(2))]:
        style = str(rng.choice(["side", "up", "forward", "wave"]))
        for name, (low, high) in zip(("arm_abduct", "arm_flex", "elbow"), _ARM_STYLES[style]):
            angles[name][side] = _deg(rng, low, high)
        if style == "wave":
            angles["elbow_up"][side] = math.pi / 2


def _bend_forward(rng: np.random.Generator, angles: dict[str, list[float]]) -> float:
    """Bend the upper body forward with the knees a little bent; returns the lean angle."""
    lean = _deg(rng, 20, 55)
    angles["knee"] = [_deg(rng, 5, 25)] * 2
    angles["arm_abduct"] = [_deg(rng, 3, 10), _deg(rng, 3, 10)]
    angles["arm_flex"] = [_deg(rng, -5, 15), _deg(rng, -5, 15)]
    return lean


def _framing(rng: np.random.Generator, preset: str) -> dict[str, float]:
    """Scale, position, background shift and light of the picture, as the preset's dataset frames people."""
    u = rng.uniform
    if preset == "market":
        scale = u(1.03, 1.16) if rng.random() < 0.1 else u(0.84, 0.97)  # some detections cut the feet off
        top = u(0.01, 0.06)
        center = 0.5 + rng.normal(0, 0.05)
    else:
        closeup = rng.random() < 0.25  # DeepFashion has many upper-body shots
        scale = u(1.35, 1.8) if closeup else u(0.82, 0.93)
        top = u(0.03, 0.1)
        center = 0.5 + rng.normal(0, 0.03)
    shift = u(0, 1)
    light = u(0.9, 1.08) if preset == "market" else u(0.97, 1.03)
    return {"scale": float(scale), "top": float(top), "center": float(center), "shift": float(shift),
            "light": float(light)}  # fmt: skip


def sample_pose(rng: np.random.Generator, preset: str = "market") -> Pose:
    """A plausible pose: standing, walking, raising arms or bending, from the front, back or side."""
    kind = str(rng.choice(["stand", "walk", "arms", "bend"], p=[0.3, 0.35, 0.22, 0.13]))
    view = str(rng.choice(["front", "back", "side"], p=[0.4, 0.3, 0.3]))
    yaw = {"front": 0.0, "back": math.pi}.get(view, rng.choice([-1, 1]) * math.pi / 2) + _deg(rng, -25, 25)
    lean = side_lean = 0.0
    angles = _relaxed(rng)
    if kind == "walk":
        _walk(rng, angles)
    elif kind == "arms":
        _raise_arms(rng, angles)
    elif kind == "bend":
        lean = _bend_forward(rng, angles)
    if kind != "bend":
        side_lean = _deg(rng, -5, 5)
    joints = {name: tuple(values) for name, values in angles.items()}
    return Pose(kind=kind, yaw=float(yaw), lean=lean, side_lean=side_lean, **joints, **_framing(rng, preset))


# ---------------------------------------------------------------------------------------------------- 3-D skeleton


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to length 1 (unchanged direction; a zero vector stays near zero)."""
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _bend(d: np.ndarray, toward: np.ndarray, angle: float) -> np.ndarray:
    """Rotate direction ``d`` by ``angle`` toward the part of ``toward`` perpendicular to it."""
    u = toward - np.dot(toward, d) * d
    if np.linalg.norm(u) < 1e-6:
        u = FWD - np.dot(FWD, d) * d
    return unit(d * math.cos(angle) + unit(u) * math.sin(angle))


def _rot_x(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rot_z(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _limb_direction(sign: int, abduct: float, flex: float) -> np.ndarray:
    """Unit direction of a limb hanging down, raised sideways by ``abduct`` and forward by ``flex``."""
    down = -math.cos(abduct) * math.cos(flex)
    return unit(np.array([sign * math.sin(abduct), down, math.cos(abduct) * math.sin(flex)]))


def _upper_body(ident: Identity, pose: Pose, pelvis: np.ndarray) -> dict[str, np.ndarray]:
    """Neck, head, shoulders and face points of the body bent above the pelvis, and ``head_fwd``."""
    upper = _rot_x(pose.lean) @ _rot_z(pose.side_lean)  # bends the body above the pelvis
    r = ident.head_r
    body = {
        "neck": (0.0, 0.845, 0.0),
        "head": (0.0, 0.845 + 1.25 * r, 0.006),
        "r_shoulder": (-ident.shoulder_w, 0.815, 0.0),
        "l_shoulder": (ident.shoulder_w, 0.815, 0.0),
    }
    p = {k: pelvis + upper @ (np.array(v) - pelvis) for k, v in body.items()}
    head_fwd, head_left, head_up = upper @ FWD, upper @ LEFT, upper @ UP
    p["nose"] = p["head"] + head_fwd * 0.98 * r - head_up * 0.2 * r
    for side, sign in (("r", -1), ("l", 1)):
        p[f"{side}_eye"] = p["head"] + head_fwd * 0.82 * r + head_left * sign * 0.36 * r + head_up * 0.12 * r
        p[f"{side}_ear"] = p["head"] + head_left * sign * 0.97 * r
    p["head_fwd"] = head_fwd  # a direction, not a point: where the face looks
    return p


def _arm(p: dict[str, np.ndarray], ident: Identity, pose: Pose, i: int, side: str, sign: int) -> None:
    """Elbow, wrist and hand of arm ``i`` (0 right, 1 left), hanging from its shoulder in ``p``."""
    d = _limb_direction(sign, pose.arm_abduct[i], pose.arm_flex[i])
    p[f"{side}_elbow"] = p[f"{side}_shoulder"] + d * ident.upper_arm
    plane = math.cos(pose.elbow_up[i]) * FWD + math.sin(pose.elbow_up[i]) * UP
    e = _bend(d, plane, pose.elbow[i])
    p[f"{side}_wrist"] = p[f"{side}_elbow"] + e * ident.forearm
    p[f"{side}_hand"] = p[f"{side}_wrist"] + e * 0.045


def _leg(p: dict[str, np.ndarray], ident: Identity, pose: Pose, pelvis: np.ndarray, i: int, side: str,
         sign: int) -> None:  # fmt: skip
    """Hip, knee, ankle, toe and heel of leg ``i`` (0 right, 1 left); the knee bends backward."""
    hip = pelvis + np.array([sign * ident.hip_w, 0.0, 0.0])
    p[f"{side}_hip"] = hip
    t = _limb_direction(sign, pose.hip_abduct[i], pose.hip_flex[i])
    leg = (ident.hip_y - 0.045) / 2  # thigh = shin; the foot takes the last 0.045
    p[f"{side}_knee"] = hip + t * leg
    s = _bend(t, -FWD, pose.knee[i])
    p[f"{side}_ankle"] = p[f"{side}_knee"] + s * leg
    p[f"{side}_toe"] = p[f"{side}_ankle"] + FWD * 0.075 - UP * 0.03
    p[f"{side}_heel"] = p[f"{side}_ankle"] - FWD * 0.015 - UP * 0.03


def skeleton(ident: Identity, pose: Pose) -> dict[str, np.ndarray]:
    """3-D joint and body points (units of body height, world frame after the view rotation, x to the image right,
    y up, z toward the camera), plus the unit vector ``head_fwd``."""
    pelvis = np.array([0.0, ident.hip_y, 0.0])
    p = _upper_body(ident, pose, pelvis)
    for i, (side, sign) in enumerate((("r", -1), ("l", 1))):
        _arm(p, ident, pose, i, side, sign)
        _leg(p, ident, pose, pelvis, i, side, sign)
    yaw = _rot_y(pose.yaw)
    return {k: yaw @ v for k, v in p.items()}
