"""Synthetic clothed people in the PATN layout: the offline benchmark for the demo, CI and benchmarks.

Each identity is one person (body proportions, skin, hair, top with a colour/pattern/sleeve length, trousers, shorts
or a skirt, shoes, and a background) seen in several poses drawn from a simple prior (standing, walking, arm raises,
forward bends) from the front, back or side, with scale and position jitter. Bodies are posed in 3-D (x = the
person's left, y = up, z = forward), turned by the view angle and projected orthographically, so left/right keypoint
labels are anatomical in every view. Parts are painted back to front as anti-aliased signed-distance shapes (capsules,
ellipses, convex polygons) with numpy. Keypoints hidden behind another part, outside the frame or (rarely) just
missed are written as -1, as real annotations have them.

:func:`write_dataset` writes ``train/``, ``test/`` (split by identity), the annotation and pair CSVs of the chosen
layout, ``masks/<phase>/<stem>.png`` (ground-truth foreground, 0/255) and ``backgrounds/<phase>/<stem>.png`` (the
background plate without the person); the result passes ``posestylizer data check`` and is read by
:class:`~posestylizer.data.dataset.PairDataset` exactly like the real datasets.
"""

from __future__ import annotations

import colorsys
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from posestylizer.data.formats import write_annotations, write_pairs
from posestylizer.data.layouts import Layout, get_layout
from posestylizer.data.pairs import make_pairs, pairable
from posestylizer.errors import DataError
from posestylizer.pose import KEYPOINT_NAMES, MISSING, NUM_KEYPOINTS

SYNTH_VERSION = 1
SYNTH_PRESETS = ("market", "fashion")
_UP = np.array([0.0, 1.0, 0.0])
_FWD = np.array([0.0, 0.0, 1.0])
_LEFT = np.array([1.0, 0.0, 0.0])
_EYE = np.array([0.1, 0.08, 0.08], np.float32)
_FACE = ("nose", "eye", "ear")
# The parts that may cover a keypoint of each kind without hiding it (its own limb, the body it is attached to).
_OWN_PARTS = {
    "nose": {"head"}, "neck": {"neck", "torso", "head", "hair"}, "shoulder": {"torso", "arm", "neck"},
    "elbow": {"arm"}, "wrist": {"arm"}, "hip": {"torso", "pelvis", "leg", "skirt"}, "knee": {"leg", "skirt"},
    "ankle": {"leg"}, "eye": {"head", "hair"}, "ear": {"head", "hair"},
}  # fmt: skip


# --------------------------------------------------------------------------------------------------------------------
# Identities


@dataclass(frozen=True)
class Identity:
    """Everything that stays the same for one synthetic person (colours are RGB in [0, 1])."""

    index: int
    height: float  # body height as a fraction of the nominal height of the preset
    head_r: float  # body proportions in units of body height
    shoulder_w: float
    hip_w: float
    hip_y: float
    upper_arm: float
    forearm: float
    arm_r: float
    thigh_r: float
    depth: float  # torso half-depth (its width seen from the side)
    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    hair_style: str  # short, long, buzz
    top: tuple[float, float, float]
    top2: tuple[float, float, float]  # second colour of the pattern
    pattern: str  # solid, stripes, checks
    pattern_period: float  # in units of body height
    sleeve: str  # long, short, none
    bottom: str  # trousers, shorts, skirt
    bottom_color: tuple[float, float, float]
    skirt_length: float  # hem position along the thigh (0 = hip, 1 = knee)
    shoes: tuple[float, float, float]
    background_seed: int


def _jitter(rng: np.random.Generator, color: tuple, amount: float) -> tuple[float, float, float]:
    c = np.clip(np.asarray(color, dtype=float) / 255.0 * rng.uniform(1 - amount, 1 + amount), 0, 1)
    return tuple(float(v) for v in c)


def _hsv(
    rng: np.random.Generator, sat: tuple[float, float], val: tuple[float, float]
) -> tuple[float, float, float]:
    return colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(*sat), rng.uniform(*val))


_SKIN = [
    (255, 224, 196),
    (241, 194, 160),
    (224, 172, 130),
    (198, 134, 94),
    (160, 104, 70),
    (120, 78, 52),
    (88, 58, 40),
]
_HAIR = [(28, 24, 22), (58, 40, 28), (98, 68, 44), (196, 164, 106), (128, 60, 34), (150, 148, 146)]
_BOTTOMS = [(52, 72, 112), (36, 36, 42), (168, 148, 108), (110, 110, 116), (36, 44, 78), (92, 64, 46)]
_SHOES = [(24, 24, 26), (236, 236, 232), (96, 62, 38), (120, 120, 124)]


def sample_identity(index: int, seed: int, preset: str = "market") -> Identity:
    """The person ``index`` of dataset ``seed`` (independent of how many identities are drawn)."""
    rng = np.random.default_rng([seed, index, 1])
    build = rng.uniform(0.85, 1.2)
    bottom = rng.choice(
        ["trousers", "shorts", "skirt"], p=[0.55, 0.2, 0.25] if preset == "market" else [0.4, 0.25, 0.35]
    )
    top = _hsv(rng, (0.15, 0.9), (0.25, 0.95))
    if rng.random() < 0.2:  # whites, greys and blacks are common in both datasets
        g = rng.choice([0.1, 0.5, 0.92])
        top = (g, g, g)
    pattern = rng.choice(["solid", "stripes", "checks"], p=[0.5, 0.3, 0.2])
    top2 = _hsv(rng, (0.0, 0.5), (0.85, 1.0)) if np.mean(top) < 0.5 else _hsv(rng, (0.3, 0.9), (0.1, 0.45))
    bottom_color = _jitter(rng, _BOTTOMS[rng.integers(len(_BOTTOMS))], 0.12)
    if rng.random() < 0.3:
        bottom_color = _hsv(rng, (0.2, 0.8), (0.2, 0.8))
    return Identity(
        index=index,
        height=float(rng.uniform(0.92, 1.05)),
        head_r=float(rng.uniform(0.058, 0.067)),
        shoulder_w=float(rng.uniform(0.095, 0.12) * (0.9 + 0.1 * build)),
        hip_w=float(rng.uniform(0.058, 0.072) * (0.9 + 0.1 * build)),
        hip_y=float(rng.uniform(0.5, 0.54)),
        upper_arm=float(rng.uniform(0.165, 0.18)),
        forearm=float(rng.uniform(0.145, 0.16)),
        arm_r=float(rng.uniform(0.024, 0.03) * build),
        thigh_r=float(rng.uniform(0.04, 0.05) * build),
        depth=float(rng.uniform(0.055, 0.07) * build),
        skin=_jitter(rng, _SKIN[rng.integers(len(_SKIN))], 0.06),
        hair=_jitter(rng, _HAIR[rng.integers(len(_HAIR))], 0.1),
        hair_style=str(rng.choice(["short", "long", "buzz"], p=[0.5, 0.35, 0.15])),
        top=tuple(float(v) for v in top),
        top2=tuple(float(v) for v in top2),
        pattern=str(pattern),
        pattern_period=float(rng.uniform(0.035, 0.06)),
        sleeve=str(rng.choice(["long", "short", "none"], p=[0.4, 0.45, 0.15])),
        bottom=str(bottom),
        bottom_color=bottom_color,
        skirt_length=float(rng.uniform(0.5, 1.05)),
        shoes=_jitter(rng, _SHOES[rng.integers(len(_SHOES))], 0.1),
        background_seed=int(rng.integers(2**31)),
    )


# --------------------------------------------------------------------------------------------------------------------
# Poses


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


def sample_pose(rng: np.random.Generator, preset: str = "market") -> Pose:
    """A plausible pose: standing, walking, raising arms or bending, from the front, back or side."""
    deg = math.radians
    u = rng.uniform
    kind = str(rng.choice(["stand", "walk", "arms", "bend"], p=[0.3, 0.35, 0.22, 0.13]))
    view = rng.choice(["front", "back", "side"], p=[0.4, 0.3, 0.3])
    yaw = {"front": 0.0, "back": math.pi}.get(str(view), rng.choice([-1, 1]) * math.pi / 2) + deg(u(-25, 25))
    lean = side_lean = 0.0
    abduct = [deg(u(4, 14)), deg(u(4, 14))]
    flex = [deg(u(-8, 8)), deg(u(-8, 8))]
    elbow = [deg(u(5, 25)), deg(u(5, 25))]
    elbow_up = [0.0, 0.0]
    hip_flex = [deg(u(-5, 5)), deg(u(-5, 5))]
    hip_abduct = [deg(u(1, 7)), deg(u(1, 7))]
    knee = [deg(u(0, 8)), deg(u(0, 8))]
    if kind == "walk":
        phase = u(0, 2 * math.pi)
        amp = deg(u(15, 30))
        swing = math.sin(phase)
        hip_flex = [amp * swing, -amp * swing]
        knee = [deg(u(5, 15)) + max(0.0, -h) * 1.3 for h in hip_flex]
        flex = [-0.8 * h for h in hip_flex]  # arms swing against the legs
        elbow = [deg(u(10, 35)), deg(u(10, 35))]
        hip_abduct = [deg(u(0, 4)), deg(u(0, 4))]
    elif kind == "arms":
        for side in [i for i in (0, 1) if rng.random() < 0.65] or [int(rng.integers(2))]:
            style = rng.choice(["side", "up", "forward", "wave"])
            if style == "side":
                abduct[side], flex[side], elbow[side] = deg(u(60, 110)), deg(u(-10, 20)), deg(u(0, 30))
            elif style == "up":
                abduct[side], flex[side], elbow[side] = deg(u(130, 170)), deg(u(0, 25)), deg(u(0, 25))
            elif style == "forward":
                abduct[side], flex[side], elbow[side] = deg(u(5, 25)), deg(u(60, 100)), deg(u(0, 40))
            else:
                abduct[side], flex[side], elbow[side] = deg(u(70, 100)), deg(u(0, 20)), deg(u(70, 110))
                elbow_up[side] = math.pi / 2
    elif kind == "bend":
        lean = deg(u(20, 55))
        knee = [deg(u(5, 25))] * 2
        abduct = [deg(u(3, 10)), deg(u(3, 10))]
        flex = [deg(u(-5, 15)), deg(u(-5, 15))]
    if kind != "bend":
        side_lean = deg(u(-5, 5))
    if preset == "market":
        scale = u(1.03, 1.16) if rng.random() < 0.1 else u(0.84, 0.97)  # some detections cut the feet off
        top = u(0.01, 0.06)
        center = 0.5 + rng.normal(0, 0.05)
    else:
        closeup = rng.random() < 0.25  # DeepFashion has many upper-body shots
        scale = u(1.35, 1.8) if closeup else u(0.82, 0.93)
        top = u(0.03, 0.1)
        center = 0.5 + rng.normal(0, 0.03)
    return Pose(
        kind=kind, yaw=float(yaw), lean=lean, side_lean=side_lean, arm_abduct=tuple(abduct), arm_flex=tuple(flex),
        elbow=tuple(elbow), elbow_up=tuple(elbow_up), hip_flex=tuple(hip_flex), hip_abduct=tuple(hip_abduct),
        knee=tuple(knee), scale=float(scale), top=float(top), center=float(center), shift=float(u(0, 1)),
        light=float(u(0.9, 1.08) if preset == "market" else u(0.97, 1.03)),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------------------------
# 3-D skeleton


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _bend(d: np.ndarray, toward: np.ndarray, angle: float) -> np.ndarray:
    """Rotate direction ``d`` by ``angle`` toward the part of ``toward`` perpendicular to it."""
    u = toward - np.dot(toward, d) * d
    if np.linalg.norm(u) < 1e-6:
        u = _FWD - np.dot(_FWD, d) * d
    return _unit(d * math.cos(angle) + _unit(u) * math.sin(angle))


def _rot_x(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rot_z(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def skeleton(ident: Identity, pose: Pose) -> dict[str, np.ndarray]:
    """3-D joint and body points (units of body height, world frame after the view rotation, x to the image right,
    y up, z toward the camera), plus the unit vector ``head_fwd``."""
    p: dict[str, np.ndarray] = {}
    pelvis = np.array([0.0, ident.hip_y, 0.0])
    upper = _rot_x(pose.lean) @ _rot_z(pose.side_lean)  # bends the body above the pelvis
    r = ident.head_r
    body = {
        "neck": (0.0, 0.845, 0.0),
        "head": (0.0, 0.845 + 1.25 * r, 0.006),
        "r_shoulder": (-ident.shoulder_w, 0.815, 0.0),
        "l_shoulder": (ident.shoulder_w, 0.815, 0.0),
    }
    for k, v in body.items():
        p[k] = pelvis + upper @ (np.array(v) - pelvis)
    head_fwd, head_left, head_up = upper @ _FWD, upper @ _LEFT, upper @ _UP
    p["nose"] = p["head"] + head_fwd * 0.98 * r - head_up * 0.2 * r
    for side, sign in (("r", -1), ("l", 1)):
        p[f"{side}_eye"] = p["head"] + head_fwd * 0.82 * r + head_left * sign * 0.36 * r + head_up * 0.12 * r
        p[f"{side}_ear"] = p["head"] + head_left * sign * 0.97 * r
    p["head_fwd"] = head_fwd  # a direction, not a point: where the face looks
    for i, (side, sign) in enumerate((("r", -1), ("l", 1))):
        a, f = pose.arm_abduct[i], pose.arm_flex[i]
        d = _unit(np.array([sign * math.sin(a), -math.cos(a) * math.cos(f), math.cos(a) * math.sin(f)]))
        p[f"{side}_elbow"] = p[f"{side}_shoulder"] + d * ident.upper_arm
        plane = math.cos(pose.elbow_up[i]) * _FWD + math.sin(pose.elbow_up[i]) * _UP
        e = _bend(d, plane, pose.elbow[i])
        p[f"{side}_wrist"] = p[f"{side}_elbow"] + e * ident.forearm
        p[f"{side}_hand"] = p[f"{side}_wrist"] + e * 0.045
        hip = pelvis + np.array([sign * ident.hip_w, 0.0, 0.0])
        p[f"{side}_hip"] = hip
        ab, hf = pose.hip_abduct[i], pose.hip_flex[i]
        t = _unit(np.array([sign * math.sin(ab), -math.cos(ab) * math.cos(hf), math.cos(ab) * math.sin(hf)]))
        leg = (ident.hip_y - 0.045) / 2
        p[f"{side}_knee"] = hip + t * leg
        s = _bend(t, -_FWD, pose.knee[i])
        p[f"{side}_ankle"] = p[f"{side}_knee"] + s * leg
        p[f"{side}_toe"] = p[f"{side}_ankle"] + _FWD * 0.075 - _UP * 0.03
        p[f"{side}_heel"] = p[f"{side}_ankle"] - _FWD * 0.015 - _UP * 0.03
    yaw = _rot_y(pose.yaw)
    return {k: yaw @ v for k, v in p.items()}


# --------------------------------------------------------------------------------------------------------------------
# Rendering


class _Canvas:
    """Back-to-front compositing of anti-aliased SDF shapes, with a foreground alpha and a part-label buffer."""

    def __init__(self, background: np.ndarray) -> None:
        self.h, self.w = background.shape[:2]
        self.rgb = background.astype(np.float32, copy=True)
        self.alpha = np.zeros((self.h, self.w), np.float32)
        self.label = np.full((self.h, self.w), -1, np.int16)
        self.xs = np.arange(self.w, dtype=np.float32)
        self.ys = np.arange(self.h, dtype=np.float32)

    def box(self, x0: float, x1: float, y0: float, y1: float):
        """Pixel grid of a bounding box (clipped), or None when it misses the image."""
        c0, c1 = max(math.floor(x0) - 1, 0), min(math.ceil(x1) + 2, self.w)
        r0, r1 = max(math.floor(y0) - 1, 0), min(math.ceil(y1) + 2, self.h)
        if c0 >= c1 or r0 >= r1:
            return None
        return (slice(r0, r1), slice(c0, c1)), self.xs[None, c0:c1], self.ys[r0:r1, None]

    def paint(self, sl, dist: np.ndarray, color: np.ndarray, label: int) -> None:
        a = np.clip(0.5 - dist, 0.0, 1.0)  # coverage of a pixel by the shape edge: anti-aliasing
        region = self.rgb[sl]
        region += (color - region) * a[..., None]
        self.alpha[sl] = np.maximum(self.alpha[sl], a)
        self.label[sl][a > 0.5] = label


def _segment_distance(px, py, a, b):
    """Distance of every pixel to the segment a->b, and the position t in [0, 1] of its nearest point."""
    bx, by = b[0] - a[0], b[1] - a[1]
    ax, ay = px - a[0], py - a[1]
    t = np.clip((ax * bx + ay * by) / max(bx * bx + by * by, 1e-9), 0.0, 1.0)
    dx, dy = ax - t * bx, ay - t * by
    return np.sqrt(dx * dx + dy * dy), t


def _capsule_sdf(px, py, a, b, ra: float, rb: float):
    """Signed distance to a tapered capsule a->b (approximate for ra != rb) and the radial position (0 on the axis,
    1 on the outline)."""
    dist, t = _segment_distance(px, py, a, b)
    r = np.maximum(ra + (rb - ra) * t, 1e-3)
    return dist - r, dist / r


def _polygon_sdf(px, py, verts: np.ndarray) -> np.ndarray:
    """Exact signed distance to a convex polygon with vertices ``verts`` (n, 2) in (x, y)."""
    n = len(verts)
    area = sum(verts[i, 0] * verts[(i + 1) % n, 1] - verts[(i + 1) % n, 0] * verts[i, 1] for i in range(n))
    orient = 1.0 if area > 0 else -1.0
    dist = inside = None
    for i in range(n):
        a, b = verts[i], verts[(i + 1) % n]
        d, _ = _segment_distance(px, py, a, b)
        side = ((b[0] - a[0]) * (py - a[1]) - (b[1] - a[1]) * (px - a[0])) * orient >= 0
        dist = d if dist is None else np.minimum(dist, d)
        inside = side if inside is None else inside & side
    return np.where(inside, -dist, dist)


def _stripes(coord: np.ndarray, period: float) -> np.ndarray:
    """Anti-aliased square wave in [0, 1] with a transition about one pixel wide."""
    return np.clip(0.5 + 0.5 * np.sin(coord * (2 * math.pi / period)) * (period / math.pi), 0.0, 1.0)


class _Renderer:
    """Turns an identity and a pose into an image, keypoints and a foreground mask."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size

    def render(self, ident: Identity, pose: Pose, background: np.ndarray, rng: np.random.Generator):
        h, w = self.size
        pts3 = skeleton(ident, pose)
        s = pose.scale * h * ident.height  # pixels per body-height unit
        names = [k for k in pts3 if k != "head_fwd"]
        top_y = max(pts3[k][1] for k in names) + ident.head_r * 1.15
        cx = pose.center * w - s * pts3["r_hip"][0] * 0.5 - s * pts3["l_hip"][0] * 0.5
        cy = pose.top * h + s * top_y
        pt = {k: np.array([cx + s * pts3[k][0], cy - s * pts3[k][1]]) for k in names}  # image (x, y)
        z = {k: float(pts3[k][2]) for k in names}
        canvas = _Canvas(background)
        parts = self._parts(ident, pose, pt, z, pts3, s)
        parts.sort(key=lambda part: part[0])
        groups = []
        for label, (_, group, draw) in enumerate(parts):
            draw(canvas, label)
            groups.append(group)
        keypoints = self._keypoints(pt, pts3, canvas, groups, rng)
        image = np.clip(canvas.rgb * pose.light, 0, 1)
        return image, keypoints, canvas.alpha >= 0.5

    # ---- parts: (depth key, group, draw(canvas, label)); the depth key orders them back to front
    def _parts(self, ident: Identity, pose: Pose, pt, z, pts3, s: float):
        parts = []
        skin = np.array(ident.skin, np.float32)
        top = np.array(ident.top, np.float32)
        bottom = np.array(ident.bottom_color, np.float32)
        neck_axis = _unit(pt["neck"] - (pt["r_hip"] + pt["l_hip"]) / 2)
        lateral = np.array([-neck_axis[1], neck_axis[0]])

        def top_color(px, py):
            if ident.pattern == "solid":
                return top
            period = ident.pattern_period * s
            u = (px - pt["neck"][0]) * neck_axis[0] + (py - pt["neck"][1]) * neck_axis[1]
            m = _stripes(u, period)
            if ident.pattern == "checks":
                v = (px - pt["neck"][0]) * lateral[0] + (py - pt["neck"][1]) * lateral[1]
                m = np.abs(m - _stripes(v, period))
            return top + (np.array(ident.top2, np.float32) - top) * m[..., None]

        def capsule(a, b, ra, rb, color, shade=0.22):
            ra, rb = ra * s, rb * s
            pad = max(ra, rb)

            def draw(cv: _Canvas, label: int) -> None:
                got = cv.box(
                    min(a[0], b[0]) - pad, max(a[0], b[0]) + pad, min(a[1], b[1]) - pad, max(a[1], b[1]) + pad
                )
                if got is None:
                    return
                sl, px, py = got
                dist, radial = _capsule_sdf(px, py, a, b, ra, rb)
                c = color(px, py) if callable(color) else color
                shading = 1.0 - shade * np.clip(radial, 0, 1) ** 2  # round limbs: darker toward the outline
                cv.paint(sl, dist, c * shading[..., None], label)

            return draw

        def polygon(verts, color, round_px=0.0, shade=0.15):
            verts = np.asarray(verts, dtype=np.float64)
            center = verts.mean(axis=0)

            def draw(cv: _Canvas, label: int) -> None:
                got = cv.box(verts[:, 0].min() - round_px, verts[:, 0].max() + round_px,
                             verts[:, 1].min() - round_px, verts[:, 1].max() + round_px)  # fmt: skip
                if got is None:
                    return
                sl, px, py = got
                dist = _polygon_sdf(px, py, verts) - round_px
                c = color(px, py) if callable(color) else color
                half = max(np.abs((verts - center) @ lateral).max(), 1.0)
                across = ((px - center[0]) * lateral[0] + (py - center[1]) * lateral[1]) / half
                shading = 1.0 - shade * np.clip(np.abs(across), 0, 1) ** 2
                cv.paint(sl, dist, c * shading[..., None], label)

            return draw

        def projected_half_width(lat_w: float) -> float:
            # a flat part with half-width lat_w along the body's left axis and the torso's half-depth along forward
            lx = pts3["l_shoulder"][0] - pts3["r_shoulder"][0]
            lz = pts3["l_shoulder"][2] - pts3["r_shoulder"][2]
            c = abs(lx) / max(math.hypot(lx, lz), 1e-9)
            return math.hypot(lat_w * c, ident.depth * math.sqrt(max(0.0, 1 - c * c))) * s

        def mid(a: str, b: str) -> float:
            return (z[a] + z[b]) / 2

        # legs, shoes and the bottom garment
        leg_keys = {}
        for side in ("r", "l"):
            hip, knee, ankle = pt[f"{side}_hip"], pt[f"{side}_knee"], pt[f"{side}_ankle"]
            tr, sr = ident.thigh_r, ident.thigh_r * 0.72
            kt = mid(f"{side}_hip", f"{side}_knee") - 0.12
            ks = mid(f"{side}_knee", f"{side}_ankle") - 0.12
            leg_keys[side] = max(kt, ks)
            group = f"{side}_leg"
            if ident.bottom == "trousers":
                parts.append((kt, group, capsule(hip, knee, tr * 1.1, tr * 0.85, bottom)))
                parts.append((ks, group, capsule(knee, ankle, tr * 0.85, sr * 1.1, bottom)))
            else:
                parts.append((kt, group, capsule(hip, knee, tr, tr * 0.78, skin)))
                parts.append((ks, group, capsule(knee, ankle, tr * 0.78, sr * 0.85, skin)))
                if ident.bottom == "shorts":
                    hem = hip + (knee - hip) * 0.55
                    parts.append((kt + 0.001, group, capsule(hip, hem, tr * 1.15, tr * 1.05, bottom)))
            shoe = np.array(ident.shoes, np.float32)
            parts.append((mid(f"{side}_heel", f"{side}_toe") - 0.119, group,
                          capsule(pt[f"{side}_heel"], pt[f"{side}_toe"], sr * 0.95, sr * 0.8, shoe)))  # fmt: skip
        hips_key = max(leg_keys.values())
        pel = (pt["r_hip"] + pt["l_hip"]) / 2
        knees = (pt["r_knee"] + pt["l_knee"]) / 2
        down = _unit(knees - pel)
        across = np.array([-down[1], down[0]])
        if ident.bottom in ("trousers", "shorts"):
            # the seat: from the waist to the crotch, as wide as the hips and the tops of the thighs
            half = projected_half_width(ident.hip_w + ident.thigh_r * 0.95)
            w0, w1 = pel - down * 0.03 * s, pel + down * ident.thigh_r * 1.3 * s
            verts = [
                w0 - across * half,
                w0 + across * half,
                w1 + across * half * 0.9,
                w1 - across * half * 0.9,
            ]
            parts.append((hips_key + 0.002, "pelvis", polygon(verts, bottom, round_px=0.5)))
        else:
            waist = projected_half_width(ident.hip_w + ident.thigh_r * 0.9)
            f = ident.skirt_length
            hems = [pt[f"{sd}_hip"] + (pt[f"{sd}_knee"] - pt[f"{sd}_hip"]) * f for sd in ("r", "l")]
            flare = ident.thigh_r * s * 1.6
            hem_y = max(hems[0][1], hems[1][1])
            x_lo = min(hems[0][0], hems[1][0], pel[0] - waist) - flare
            x_hi = max(hems[0][0], hems[1][0], pel[0] + waist) + flare
            waist_y = pel[1] - 0.02 * s
            verts = [(pel[0] - waist, waist_y), (pel[0] + waist, waist_y), (x_hi, hem_y), (x_lo, hem_y)]
            parts.append((hips_key + 0.003, "skirt", polygon(verts, bottom, round_px=0.6)))
        # torso (the top), neck, arms
        torso_key = (z["r_shoulder"] + z["l_shoulder"] + z["r_hip"] + z["l_hip"]) / 4
        sh_mid = (pt["r_shoulder"] + pt["l_shoulder"]) / 2
        axis = _unit(pel - sh_mid)
        perp = np.array([-axis[1], axis[0]])
        rnd = ident.arm_r * s * 0.8  # rounds the shoulders; the polygon grows by this much
        w_top = projected_half_width(ident.shoulder_w) + ident.arm_r * s * 0.2
        w_bot = projected_half_width(ident.hip_w + ident.thigh_r * 0.9) - rnd
        t0 = sh_mid - axis * (ident.arm_r * s * 0.9 - rnd)
        t1 = pel + axis * (0.035 * s - rnd)
        verts = [t0 + perp * w_top, t1 + perp * w_bot, t1 - perp * w_bot, t0 - perp * w_top]
        parts.append((torso_key, "torso", polygon(verts, top_color, round_px=rnd)))
        parts.append((torso_key + 0.004, "neck", capsule(pt["neck"] + axis * 0.02 * s, pt["head"],
                                                        ident.head_r * 0.42, ident.head_r * 0.4, skin)))  # fmt: skip
        for side in ("r", "l"):
            sh, el, wr, hand = (
                pt[f"{side}_shoulder"],
                pt[f"{side}_elbow"],
                pt[f"{side}_wrist"],
                pt[f"{side}_hand"],
            )
            key = mid(f"{side}_elbow", f"{side}_wrist") + 0.02
            key = max(key, torso_key + 0.01) if abs(z[f"{side}_shoulder"] - torso_key) < 0.06 else key
            ar = ident.arm_r
            group = f"{side}_arm"
            upper_color = top_color if ident.sleeve == "long" else skin
            fore_color = top_color if ident.sleeve == "long" else skin
            grow = 1.15 if ident.sleeve == "long" else 1.0
            parts.append((key, group, capsule(sh, el, ar * grow, ar * 0.85 * grow, upper_color)))
            parts.append(
                (key + 0.0005, group, capsule(el, wr, ar * 0.85 * grow, ar * 0.7 * grow, fore_color))
            )
            if ident.sleeve == "short":
                cuff = sh + (el - sh) * 0.5
                parts.append((key + 0.001, group, capsule(sh, cuff, ar * 1.2, ar * 1.12, top_color)))
            parts.append((key + 0.0015, group, capsule(wr, hand, ar * 0.75, ar * 0.85, skin, shade=0.1)))
        # head, face, hair
        head_key = z["head"] + 0.03
        hr = ident.head_r * s
        head, neck = pt["head"], pt["neck"]
        up = _unit(head - neck)
        facing = float(pts3["head_fwd"][2])  # 1 facing the camera, -1 back to it
        back_x = -float(pts3["head_fwd"][0])  # image-x direction of the back of the head
        if ident.hair_style == "long":
            # hangs down from the back of the head: behind the body seen from the front, over it from the back
            fwd_img = np.array([pts3["head_fwd"][0], -pts3["head_fwd"][1]])
            behind = head - fwd_img * hr * 0.45
            end = behind + np.array([0.0, hr * 2.3])
            key = min(head_key, torso_key) - 0.002 if facing > -0.2 else head_key + 0.001
            hair = np.array(ident.hair, np.float32)
            parts.append((key, "hair", capsule(behind, end, ident.head_r * 1.02, ident.head_r * 0.8, hair)))

        def head_draw(cv: _Canvas, label: int) -> None:
            got = cv.box(head[0] - hr * 1.2, head[0] + hr * 1.2, head[1] - hr * 1.3, head[1] + hr * 1.3)
            if got is None:
                return
            sl, px, py = got
            dx, dy = px - head[0], py - head[1]
            # a slightly tall ellipse along the head axis
            a_up = dx * up[0] + dy * up[1]
            a_lat = dx * -up[1] + dy * up[0]
            rho = np.sqrt((a_up / 1.1) ** 2 + a_lat**2)
            dist = rho - hr
            shading = 1.0 - 0.18 * np.clip(rho / hr, 0, 1) ** 2
            cv.paint(sl, dist, skin * shading[..., None], label)
            hair_color = np.array(ident.hair, np.float32)
            # face: eyes where they face the camera
            for side in ("r", "l"):
                if facing > 0.35 and pts3[f"{side}_eye"][2] - pts3["head"][2] > 0.25 * ident.head_r:
                    e = pt[f"{side}_eye"]
                    d = np.sqrt((px - e[0]) ** 2 + (py - e[1]) ** 2) - max(0.11 * hr, 0.55)
                    cv.paint(sl, d, _EYE, label)
            # hair cap: the head ellipse a bit larger, above a hairline that drops toward the back of the head
            n = _unit(up + np.array([back_x, 0.0]) * 0.55)
            style_off = {"short": 0.0, "long": -0.05, "buzz": 0.25}[ident.hair_style]
            offset = hr * (0.32 * facing - 0.18 + style_off)
            line = (dx * n[0] + dy * n[1]) - offset
            cap = np.maximum(rho - hr * (1.08 if ident.hair_style != "buzz" else 1.02), -line)
            cv.paint(sl, cap, hair_color, label)

        parts.append((head_key, "head", head_draw))
        return parts

    def _keypoints(
        self, pt, pts3, canvas: _Canvas, groups: list[str], rng: np.random.Generator
    ) -> np.ndarray:
        """(18, 2) (y, x) keypoints with -1 where a point is out of frame, hidden or (rarely) missed."""
        h, w = self.size
        kp = np.full((NUM_KEYPOINTS, 2), MISSING, np.int64)
        for i, name in enumerate(KEYPOINT_NAMES):
            r, c = np.rint(pt[name][::-1]).astype(int)
            if not (0 <= r < h and 0 <= c < w):
                continue  # out of frame
            kind = name.rsplit("_", 1)[-1]
            if kind in _FACE and float(_unit(pts3[name] - pts3["head"])[2]) < (
                -0.3 if kind == "ear" else -0.05
            ):
                continue  # on the far side of the head (z is toward the camera)
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


# --------------------------------------------------------------------------------------------------------------------
# Backgrounds


def _noise(rng: np.random.Generator, h: int, w: int, cells: tuple[int, int]) -> np.ndarray:
    """Smooth value noise in [-1, 1] of size (h, w) from a coarse random grid."""
    small = Image.fromarray((rng.uniform(0, 1, cells) * 255).astype(np.uint8))
    return np.asarray(small.resize((w, h), Image.BICUBIC), np.float32) / 127.5 - 1


def background(preset: str, size: tuple[int, int], seed: int, pad: int) -> np.ndarray:
    """A background plate of (H, W + 2 pad, 3) float32 in [0, 1]; market: a street scene, fashion: plain light."""
    rng = np.random.default_rng([seed, 7])
    h, w = size
    ww = w + 2 * pad
    if preset == "fashion":
        base = rng.uniform(0.86, 0.97)
        tint = rng.uniform(-0.02, 0.02, 3)
        grad = np.linspace(0.02, -0.03, h, dtype=np.float32)[:, None, None]
        img = (
            np.full((h, ww, 3), base, np.float32) + tint + grad + 0.01 * _noise(rng, h, ww, (4, 4))[..., None]
        )
        return np.clip(img, 0, 1).astype(np.float32)
    ground_y = int(h * rng.uniform(0.55, 0.8))
    wall = np.array(_hsv(rng, (0.02, 0.2), (0.25, 0.85)), np.float32)
    floor = np.array(_hsv(rng, (0.0, 0.15), (0.25, 0.65)), np.float32)
    img = np.empty((h, ww, 3), np.float32)
    img[:ground_y] = wall
    img[ground_y:] = floor
    yy, xx = np.mgrid[0:h, 0:ww]
    style = rng.choice(["blocks", "bricks", "windows"])
    if style == "bricks":  # mortar lines, every other course shifted by half a brick
        bh, bw = int(rng.integers(3, 6)), int(rng.integers(7, 13))
        joint = (yy % bh == 0) | (((xx + (yy // bh) % 2 * bw // 2) % bw) == 0)
        img[:ground_y][joint[:ground_y]] *= rng.uniform(0.7, 0.85)
    elif style == "windows":  # a glass facade: a grid of dark panes
        px, py = int(rng.integers(8, 16)), int(rng.integers(10, 20))
        pane = ((xx % px) > 1) & ((yy % py) > 2)
        glass = np.array(_hsv(rng, (0.1, 0.4), (0.1, 0.4)), np.float32)
        img[:ground_y][pane[:ground_y]] = glass
    # doors, pillars, shop signs and parked things as rectangles of other colours
    for _ in range(int(rng.integers(2, 7))):
        x0 = int(rng.integers(-10, ww))
        y0 = int(rng.integers(-10, ground_y))
        bw, bh = int(rng.integers(4, max(6, ww // 2))), int(rng.integers(4, ground_y + 10))
        color = np.array(_hsv(rng, (0.0, 0.45), (0.15, 0.95)), np.float32)
        img[max(y0, 0) : min(y0 + bh, ground_y), max(x0, 0) : min(x0 + bw, ww)] = color
    if rng.random() < 0.5:  # foliage
        for _ in range(int(rng.integers(1, 4))):
            cx, cy, r = rng.uniform(0, ww), rng.uniform(0, ground_y * 0.8), rng.uniform(6, 18)
            leaf = np.array(
                [rng.uniform(0.15, 0.35), rng.uniform(0.35, 0.55), rng.uniform(0.1, 0.25)], np.float32
            )
            a = np.clip(r - np.hypot(xx - cx, (yy - cy) * 1.2), 0, 1)[..., None]
            img = img * (1 - a) + leaf * (a * (1 + 0.25 * _noise(rng, h, ww, (8, 8))[..., None]))
    # paving joints on the ground
    for y in np.cumsum(rng.uniform(3, 9, 12)).astype(int) + ground_y:
        if y < h:
            img[y] *= 0.85
    img *= 1 + 0.12 * _noise(rng, h, ww, (6, 6))[..., None]  # uneven light
    img += 0.03 * rng.standard_normal((h, ww, 1)).astype(np.float32)  # grain
    img *= np.linspace(1.05, 0.9, h, dtype=np.float32)[:, None, None]
    return np.clip(img, 0, 1).astype(np.float32)


# --------------------------------------------------------------------------------------------------------------------
# Names and the dataset writer


def _market_name(ident: Identity, k: int, rng: np.random.Generator) -> str:
    # PPPP_cXsY_FFFFFF_NN.jpg (reference §1.4); ids start at 1 (0000 and -1 are Market's junk prefixes)
    cam, seq = int(rng.integers(1, 7)), int(rng.integers(1, 7))
    frame = 1000 * (k + 1) + int(rng.integers(0, 1000))
    return f"{ident.index + 1:04d}_c{cam}s{seq}_{frame:06d}_{int(rng.integers(1, 9)):02d}.jpg"


def _fashion_name(ident: Identity, k: int, pose: Pose) -> str:
    # fashion + gender + category + id + 8-digit item + 2-digit index + _ + pose digit + view (reference §1.4)
    gender = (
        "WOMEN"
        if (ident.index % 2 == 0) == (ident.bottom == "skirt" or ident.hair_style == "long")
        else "MEN"
    )
    category = {"skirt": "Skirts", "shorts": "Shorts"}.get(
        ident.bottom, "Tees_Tanks" if ident.sleeve != "long" else "Pants"
    )
    facing = math.cos(pose.yaw)
    view = "front" if facing > 0.5 else "back" if facing < -0.5 else "side"
    return f"fashion{gender}{category}id{ident.index + 1:08d}01_{k + 1}{view}.jpg"


@dataclass(frozen=True)
class SynthSummary:
    root: Path
    layout: Layout
    images: dict[str, int]
    pairs: dict[str, int]
    identities: dict[str, int]


def synth_layout(preset: str) -> Layout:
    if preset not in SYNTH_PRESETS:
        raise DataError(f"unknown synthetic preset '{preset}': choose one of {', '.join(SYNTH_PRESETS)}")
    return get_layout(preset)


def render_sample(preset: str, identity: int, pose_index: int, seed: int = 0):
    """One synthetic image: (uint8 image (H, W, 3), (18, 2) keypoints, bool mask (H, W), uint8 background)."""
    layout = synth_layout(preset)
    ident = sample_identity(identity, seed, preset)
    plate = background(preset, layout.image_size, ident.background_seed, pad=layout.image_size[1] // 8)
    return _render_one(_Renderer(layout.image_size), ident, preset, plate, seed, pose_index)[:4]


def _render_one(renderer: _Renderer, ident: Identity, preset: str, plate: np.ndarray, seed: int, k: int):
    # The first two images of a person are drawn again (deterministically) until they can be paired, so that every
    # person, however few poses it has, gives at least two pairs.
    for attempt in range(20 if k < 2 else 1):
        rng = np.random.default_rng([seed, ident.index, 2, k, attempt])
        pose = sample_pose(rng, preset)
        w = renderer.size[1]
        pad = (plate.shape[1] - w) // 2
        x0 = round(pose.shift * 2 * pad)
        bg = plate[:, x0 : x0 + w]
        image, kp, mask = renderer.render(ident, pose, bg, rng)
        if pairable(kp):
            break
    return _to_uint8(image), kp, mask, _to_uint8(np.clip(bg * pose.light, 0, 1)), pose, rng


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return (image * 255 + 0.5).astype(np.uint8)


def _prepare_output(out: Path, layout: Layout) -> None:
    """Make ``out`` ready: new or empty, or an earlier synthetic dataset whose files are removed first (so that no
    image of a larger earlier run is left behind); anything else is refused rather than mixed with."""
    if not out.exists() or not any(out.iterdir()):
        return
    if not (out / "synth.json").is_file():
        raise DataError(f"{out}: folder exists and is not a synthetic dataset; choose a new or empty folder")
    import shutil

    for phase in ("train", "test"):
        for path in (layout.image_dir(out, phase), layout.annotation_path(out, phase), layout.pairs_path(out, phase),
                     layout.heatmap_path(out, phase, "x").parent):  # fmt: skip
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    for folder in ("masks", "backgrounds"):
        shutil.rmtree(out / folder, ignore_errors=True)


def write_dataset(
    out: str | Path,
    preset: str = "market",
    identities: int = 50,
    poses: int = 10,
    seed: int = 0,
    *,
    test_fraction: float = 0.2,
    progress: bool = False,
) -> SynthSummary:
    """Render a synthetic PATN-layout dataset into ``out`` (deterministic for a seed) and return what was written.

    Args:
        out: output folder: new, empty, or an earlier synthetic dataset (replaced).
        preset: ``market`` (128x64, street backgrounds, Market-1501 names) or ``fashion`` (256x176, plain light
            backgrounds, DeepFashion names).
        identities: number of people; at least 2 (one per phase).
        poses: images per person; at least 2 (a pair needs two).
        seed: everything is a function of it.
        test_fraction: share of the people in the test split (at least one person each side).
        progress: show a progress bar.
    """
    layout = synth_layout(preset)
    if identities < 2:
        raise DataError(f"--identities {identities}: need at least 2 (one for train, one for test)")
    if poses < 2:
        raise DataError(f"--poses {poses}: need at least 2 images per person to make pairs")
    out = Path(out)
    _prepare_output(out, layout)
    n_test = min(max(1, round(identities * test_fraction)), identities - 1)
    order = np.random.default_rng([seed, 0]).permutation(identities)
    phase_of = {int(i): ("test" if j < n_test else "train") for j, i in enumerate(order)}
    for phase in ("train", "test"):
        for folder in (layout.image_dir(out, phase), out / "masks" / phase, out / "backgrounds" / phase):
            folder.mkdir(parents=True, exist_ok=True)
    renderer = _Renderer(layout.image_size)
    annotations: dict[str, list] = {"train": [], "test": []}
    pad = layout.image_size[1] // 8
    bar = range(identities)
    if progress:
        from tqdm import tqdm

        bar = tqdm(bar, desc=f"synth {preset}", unit="person")
    for idx in bar:
        ident = sample_identity(idx, seed, preset)
        phase = phase_of[idx]
        plate = background(preset, layout.image_size, ident.background_seed, pad)
        for k in range(poses):
            image, kp, mask, bg, pose, rng = _render_one(renderer, ident, preset, plate, seed, k)
            name = _market_name(ident, k, rng) if preset == "market" else _fashion_name(ident, k, pose)
            stem = Path(name).stem
            Image.fromarray(image).save(layout.image_dir(out, phase) / name, quality=95)
            Image.fromarray(mask.astype(np.uint8) * 255).save(
                out / "masks" / phase / f"{stem}.png", compress_level=1
            )
            Image.fromarray(bg).save(out / "backgrounds" / phase / f"{stem}.png", compress_level=1)
            annotations[phase].append((name, kp))
    pairs = {}
    for phase in ("train", "test"):
        write_annotations(layout.annotation_path(out, phase), annotations[phase])
        phase_pairs = make_pairs(annotations[phase], layout)
        write_pairs(layout.pairs_path(out, phase), phase_pairs)
        pairs[phase] = len(phase_pairs)
    summary = SynthSummary(
        root=out,
        layout=layout,
        images={p: len(a) for p, a in annotations.items()},
        pairs=pairs,
        identities={"train": identities - n_test, "test": n_test},
    )
    meta = {
        "generator": "posestylizer.data.synth",
        "version": SYNTH_VERSION,
        "preset": preset,
        "identities": identities,
        "poses": poses,
        "seed": seed,
        "test_fraction": test_fraction,
        "images": summary.images,
        "pairs": summary.pairs,
        "layout": {k: v for k, v in asdict(layout).items()},
    }
    (out / "synth.json").write_text(json.dumps(meta, indent=2) + "\n")
    return summary


def mask_path(root: str | Path, phase: str, name: str) -> Path:
    """Ground-truth foreground mask (0/255 PNG) that :func:`write_dataset` wrote for image ``name``."""
    return Path(root) / "masks" / phase / f"{Path(name).stem}.png"


def background_path(root: str | Path, phase: str, name: str) -> Path:
    """Background plate without the person that :func:`write_dataset` wrote for image ``name``."""
    return Path(root) / "backgrounds" / phase / f"{Path(name).stem}.png"


def contact_sheet(root: str | Path, layout: str | Layout = "market", phase: str = "train", people: int = 6,
                  per_person: int = 10, scale: int | None = None) -> np.ndarray:  # fmt: skip
    """A grid image (uint8) of a dataset: one row per person (first ``people`` ids), ``per_person`` images each,
    enlarged ``scale`` times (default: 2 for images up to 128 px high, else 1)."""
    from posestylizer.data.dataset import read_image
    from posestylizer.data.formats import read_annotations

    layout = get_layout(layout)
    by_id: dict[str, list[str]] = {}
    for name in read_annotations(layout.annotation_path(root, phase)):
        by_id.setdefault(layout.identity(name), []).append(name)
    h, w = layout.image_size
    chosen = list(by_id.values())[:people]
    per_person = min(per_person, max(len(names) for names in chosen))
    rows = []
    for names in chosen:
        tiles = [read_image(layout.image_dir(root, phase) / n) for n in names[:per_person]]
        tiles += [np.full((h, w, 3), 255, np.uint8)] * (per_person - len(tiles))
        rows.append(
            np.concatenate([np.pad(t, ((1, 1), (1, 1), (0, 0)), constant_values=255) for t in tiles], 1)
        )
    grid = np.concatenate(rows, 0)
    scale = scale or (2 if h <= 128 else 1)
    return grid.repeat(scale, 0).repeat(scale, 1) if scale > 1 else grid
