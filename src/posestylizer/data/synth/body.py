"""The shapes of a posed, projected person, one builder per body region, each part with a depth key.

A builder returns :class:`Part` s: (depth key, group, shape). The renderer paints them in increasing key order, so a
key is "how near the camera"; ties keep the order the builders emit them in. A key starts from the mean z (body-height
units, toward the camera) of the joints the part spans and is moved by the offsets below, which say what must cover
what. The group names (``r_leg``, ``torso``, ...) tell the keypoint visibility test which parts belong to a joint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from posestylizer.data.synth.canvas import Canvas, Capsule, Fill, Polygon, stripes
from posestylizer.data.synth.identity import Identity
from posestylizer.data.synth.pose import unit

SIDES = ("r", "l")

# --- depth offsets (body-height units; + = nearer the camera)
# Legs hang under the torso and the hip garment: they are pushed behind them so that those cover the thigh tops.
LEG_BACK = 0.12
SHOE_BACK = 0.119  # a shoe sits just in front of a leg segment of the same depth: it covers the ankle
SHORTS_OVER_THIGH = 0.001  # the shorts' leg over the bare thigh
SEAT_OVER_LEGS = 0.002  # trousers/shorts seat over the nearest leg segment
SKIRT_OVER_LEGS = 0.003  # a skirt over the nearest leg segment
NECK_OVER_TORSO = 0.004  # the neck over the collar of the top
# An arm is drawn a little in front of its elbow-wrist depth, and in front of the torso when its shoulder is at the
# torso's depth (|z(shoulder) - torso depth| < SHOULDER_AT_TORSO: front and back views).
ARM_FORWARD = 0.02
ARM_OVER_TORSO = 0.01
SHOULDER_AT_TORSO = 0.06
FOREARM_OVER_UPPER_ARM = 0.0005  # the elbow joint: forearm over upper arm
SLEEVE_OVER_ARM = 0.001  # a short sleeve over the bare upper arm
HAND_OVER_ARM = 0.0015  # the hand over the forearm's end
HEAD_FORWARD = 0.03  # the head over the neck and the collar
HAIR_BEHIND_BODY = 0.002  # long hair hangs behind the body (and the head) seen from the front or the side...
HAIR_OVER_HEAD = 0.001  # ...and over the head seen from the back
HAIR_FACING_BACK = -0.2  # head_fwd z below which the person is seen from the back (for long hair)

EYE_COLOR = np.array([0.1, 0.08, 0.08], np.float32)


class Part(NamedTuple):
    depth: float  # paint order key: larger = nearer the camera = painted later
    group: str  # body region the part belongs to (``r_arm``, ``torso``, ...); its suffix names the kind
    shape: Capsule | Polygon | Head  # anything with ``draw(canvas, label)``


@dataclass(frozen=True)
class Figure:
    """A posed person projected into the image: what every body-region builder reads.

    Attributes:
        ident: the person.
        pt: image (x, y) pixel position of every skeleton point (float64 (2,)).
        z: depth of every skeleton point toward the camera (body-height units).
        pts3: the 3-D skeleton (see :func:`~posestylizer.data.synth.pose.skeleton`).
        s: pixels per body-height unit.
    """

    ident: Identity
    pt: dict[str, np.ndarray]
    z: dict[str, float]
    pts3: dict[str, np.ndarray]
    s: float

    @property
    def pelvis(self) -> np.ndarray:
        return (self.pt["r_hip"] + self.pt["l_hip"]) / 2

    @property
    def neck_axis(self) -> np.ndarray:
        """Unit image direction pelvis -> neck."""
        return unit(self.pt["neck"] - self.pelvis)

    @property
    def lateral(self) -> np.ndarray:
        """Unit image direction across the body (perpendicular to the neck axis); garments shade along it."""
        neck_axis = self.neck_axis
        return np.array([-neck_axis[1], neck_axis[0]])

    @property
    def torso_depth(self) -> float:
        z = self.z
        return (z["r_shoulder"] + z["l_shoulder"] + z["r_hip"] + z["l_hip"]) / 4

    def mid(self, a: str, b: str) -> float:
        """Mean depth of two skeleton points."""
        return (self.z[a] + self.z[b]) / 2

    def capsule(self, a: str | np.ndarray, b: str | np.ndarray, ra: float, rb: float, color: Fill,
                shade: float = 0.22) -> Capsule:  # fmt: skip
        """A capsule between two skeleton points (names) or image points, radii in body-height units."""
        a = self.pt[a] if isinstance(a, str) else a
        b = self.pt[b] if isinstance(b, str) else b
        return Capsule(a, b, ra * self.s, rb * self.s, color, shade)

    def projected_half_width(self, lat_w: float) -> float:
        """Image half-width (pixels) of a flat part with half-width ``lat_w`` along the body's left axis and the
        torso's half-depth along forward, seen at the body's current turn."""
        lx = self.pts3["l_shoulder"][0] - self.pts3["r_shoulder"][0]
        lz = self.pts3["l_shoulder"][2] - self.pts3["r_shoulder"][2]
        c = abs(lx) / max(math.hypot(lx, lz), 1e-9)
        return math.hypot(lat_w * c, self.ident.depth * math.sqrt(max(0.0, 1 - c * c))) * self.s

    def top_fill(self, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """Colour of the top at pixels (px, py): solid, stripes across the body axis, or checks; RGB in [0, 1]."""
        ident = self.ident
        top = np.array(ident.top, np.float32)
        if ident.pattern == "solid":
            return top
        neck_axis, lateral, neck = self.neck_axis, self.lateral, self.pt["neck"]
        period = ident.pattern_period * self.s
        m = stripes((px - neck[0]) * neck_axis[0] + (py - neck[1]) * neck_axis[1], period)
        if ident.pattern == "checks":
            m = np.abs(m - stripes((px - neck[0]) * lateral[0] + (py - neck[1]) * lateral[1], period))
        return top + (np.array(ident.top2, np.float32) - top) * m[..., None]


# ------------------------------------------------------------------------------------------- legs, hip garment, shoes


def _leg_depths(fig: Figure, side: str) -> tuple[float, float]:
    """Depth keys of the thigh and the shin of one leg."""
    thigh = fig.mid(f"{side}_hip", f"{side}_knee") - LEG_BACK
    shin = fig.mid(f"{side}_knee", f"{side}_ankle") - LEG_BACK
    return thigh, shin


def leg(fig: Figure, side: str) -> list[Part]:
    """Thigh and shin, in trousers or bare (with the leg of the shorts over the thigh)."""
    ident = fig.ident
    bottom, skin = np.array(ident.bottom_color, np.float32), np.array(ident.skin, np.float32)
    hip, knee, ankle = f"{side}_hip", f"{side}_knee", f"{side}_ankle"
    tr, sr = ident.thigh_r, ident.thigh_r * 0.72
    kt, ks = _leg_depths(fig, side)
    group = f"{side}_leg"
    if ident.bottom == "trousers":
        return [Part(kt, group, fig.capsule(hip, knee, tr * 1.1, tr * 0.85, bottom)),
                Part(ks, group, fig.capsule(knee, ankle, tr * 0.85, sr * 1.1, bottom))]  # fmt: skip
    parts = [Part(kt, group, fig.capsule(hip, knee, tr, tr * 0.78, skin)),
             Part(ks, group, fig.capsule(knee, ankle, tr * 0.78, sr * 0.85, skin))]  # fmt: skip
    if ident.bottom == "shorts":
        hem = fig.pt[hip] + (fig.pt[knee] - fig.pt[hip]) * 0.55
        parts.append(Part(kt + SHORTS_OVER_THIGH, group, fig.capsule(hip, hem, tr * 1.15, tr * 1.05, bottom)))
    return parts


def shoe(fig: Figure, side: str) -> Part:
    """A shoe from heel to toe, slightly narrower than the shin's end."""
    sr = fig.ident.thigh_r * 0.72
    depth = fig.mid(f"{side}_heel", f"{side}_toe") - SHOE_BACK
    color = np.array(fig.ident.shoes, np.float32)
    return Part(depth, f"{side}_leg", fig.capsule(f"{side}_heel", f"{side}_toe", sr * 0.95, sr * 0.8, color))


def hip_garment(fig: Figure) -> Part:
    """The seat of trousers or shorts (waist to crotch) or a skirt flaring from the waist to its hem."""
    ident, pel, s = fig.ident, fig.pelvis, fig.s
    bottom = np.array(ident.bottom_color, np.float32)
    hips_depth = max(max(_leg_depths(fig, side)) for side in SIDES)
    if ident.bottom in ("trousers", "shorts"):
        # as wide as the hips and the tops of the thighs
        down = unit((fig.pt["r_knee"] + fig.pt["l_knee"]) / 2 - pel)
        across = np.array([-down[1], down[0]])
        half = fig.projected_half_width(ident.hip_w + ident.thigh_r * 0.95)
        w0, w1 = pel - down * 0.03 * s, pel + down * ident.thigh_r * 1.3 * s
        verts = [w0 - across * half, w0 + across * half, w1 + across * half * 0.9, w1 - across * half * 0.9]
        return Part(hips_depth + SEAT_OVER_LEGS, "pelvis", Polygon(verts, bottom, fig.lateral, round_px=0.5))
    waist = fig.projected_half_width(ident.hip_w + ident.thigh_r * 0.9)
    f = ident.skirt_length
    hems = [fig.pt[f"{sd}_hip"] + (fig.pt[f"{sd}_knee"] - fig.pt[f"{sd}_hip"]) * f for sd in SIDES]
    flare = ident.thigh_r * s * 1.6
    hem_y = max(hems[0][1], hems[1][1])
    x_lo = min(hems[0][0], hems[1][0], pel[0] - waist) - flare
    x_hi = max(hems[0][0], hems[1][0], pel[0] + waist) + flare
    waist_y = pel[1] - 0.02 * s
    verts = [(pel[0] - waist, waist_y), (pel[0] + waist, waist_y), (x_hi, hem_y), (x_lo, hem_y)]
    return Part(hips_depth + SKIRT_OVER_LEGS, "skirt", Polygon(verts, bottom, fig.lateral, round_px=0.6))


# ------------------------------------------------------------------------------------------------ torso, neck, arms


def torso_and_neck(fig: Figure) -> list[Part]:
    """The top from the shoulders (rounded by the arm radius) to the hips, and the neck above it."""
    ident, pt, s, pel = fig.ident, fig.pt, fig.s, fig.pelvis
    depth = fig.torso_depth
    sh_mid = (pt["r_shoulder"] + pt["l_shoulder"]) / 2
    axis = unit(pel - sh_mid)
    perp = np.array([-axis[1], axis[0]])
    rnd = ident.arm_r * s * 0.8  # rounds the shoulders; the polygon grows by this much
    w_top = fig.projected_half_width(ident.shoulder_w) + ident.arm_r * s * 0.2
    w_bot = fig.projected_half_width(ident.hip_w + ident.thigh_r * 0.9) - rnd
    t0 = sh_mid - axis * (ident.arm_r * s * 0.9 - rnd)
    t1 = pel + axis * (0.035 * s - rnd)
    verts = [t0 + perp * w_top, t1 + perp * w_bot, t1 - perp * w_bot, t0 - perp * w_top]
    skin = np.array(ident.skin, np.float32)
    neck = fig.capsule(pt["neck"] + axis * 0.02 * s, "head", ident.head_r * 0.42, ident.head_r * 0.4, skin)
    return [Part(depth, "torso", Polygon(verts, fig.top_fill, fig.lateral, round_px=rnd)),
            Part(depth + NECK_OVER_TORSO, "neck", neck)]  # fmt: skip


def arm(fig: Figure, side: str) -> list[Part]:
    """Upper arm and forearm (sleeved or bare, with a short sleeve over the upper arm) and the hand."""
    ident, z = fig.ident, fig.z
    sh, el, wr, hand = f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist", f"{side}_hand"
    torso = fig.torso_depth
    depth = fig.mid(el, wr) + ARM_FORWARD
    if abs(z[sh] - torso) < SHOULDER_AT_TORSO:
        depth = max(depth, torso + ARM_OVER_TORSO)
    ar = ident.arm_r
    skin = np.array(ident.skin, np.float32)
    long_sleeves = ident.sleeve == "long"
    color = fig.top_fill if long_sleeves else skin
    grow = 1.15 if long_sleeves else 1.0  # a sleeve is a little wider than the arm
    group = f"{side}_arm"
    upper = fig.capsule(sh, el, ar * grow, ar * 0.85 * grow, color)
    fore = fig.capsule(el, wr, ar * 0.85 * grow, ar * 0.7 * grow, color)
    parts = [Part(depth, group, upper), Part(depth + FOREARM_OVER_UPPER_ARM, group, fore)]
    if ident.sleeve == "short":
        cuff = fig.pt[sh] + (fig.pt[el] - fig.pt[sh]) * 0.5
        sleeve_end = fig.capsule(sh, cuff, ar * 1.2, ar * 1.12, fig.top_fill)
        parts.append(Part(depth + SLEEVE_OVER_ARM, group, sleeve_end))
    hand_shape = fig.capsule(wr, hand, ar * 0.75, ar * 0.85, skin, shade=0.1)
    parts.append(Part(depth + HAND_OVER_ARM, group, hand_shape))
    return parts


# ------------------------------------------------------------------------------------------------------ head, hair


@dataclass(frozen=True)
class Head:
    """A slightly tall ellipse along the head axis, with eyes and a hair cap over a hairline that drops toward the
    back of the head. Positions in image (x, y) pixels; colours RGB in [0, 1]."""

    center: np.ndarray
    up: np.ndarray  # unit image direction neck -> head
    radius: float  # pixels
    skin: np.ndarray
    hair: np.ndarray
    hair_style: str
    facing: float  # z of head_fwd: 1 facing the camera, -1 back to it
    back_x: float  # image-x direction of the back of the head
    eyes: tuple[np.ndarray, ...]  # the eyes turned toward the camera

    def draw(self, cv: Canvas, label: int) -> None:
        head, hr, up = self.center, self.radius, self.up
        got = cv.box(head[0] - hr * 1.2, head[0] + hr * 1.2, head[1] - hr * 1.3, head[1] + hr * 1.3)
        if got is None:
            return
        sl, px, py = got
        dx, dy = px - head[0], py - head[1]
        a_up = dx * up[0] + dy * up[1]
        a_lat = dx * -up[1] + dy * up[0]
        rho = np.sqrt((a_up / 1.1) ** 2 + a_lat**2)
        shading = 1.0 - 0.18 * np.clip(rho / hr, 0, 1) ** 2
        cv.paint(sl, rho - hr, self.skin * shading[..., None], label)
        for e in self.eyes:
            d = np.sqrt((px - e[0]) ** 2 + (py - e[1]) ** 2) - max(0.11 * hr, 0.55)
            cv.paint(sl, d, EYE_COLOR, label)
        # the hair cap: the head ellipse a bit larger, above the hairline
        n = unit(up + np.array([self.back_x, 0.0]) * 0.55)
        style_off = {"short": 0.0, "long": -0.05, "buzz": 0.25}[self.hair_style]
        offset = hr * (0.32 * self.facing - 0.18 + style_off)
        line = (dx * n[0] + dy * n[1]) - offset
        cap = np.maximum(rho - hr * (1.08 if self.hair_style != "buzz" else 1.02), -line)
        cv.paint(sl, cap, self.hair, label)


def head_and_hair(fig: Figure) -> list[Part]:
    """Long hair hanging from the back of the head (if any), then the head with face and hair cap."""
    ident, pt, pts3 = fig.ident, fig.pt, fig.pts3
    depth = fig.z["head"] + HEAD_FORWARD
    hr = ident.head_r * fig.s
    facing = float(pts3["head_fwd"][2])
    hair = np.array(ident.hair, np.float32)
    parts = []
    if ident.hair_style == "long":
        # behind the body seen from the front or the side, over it from the back
        fwd_img = np.array([pts3["head_fwd"][0], -pts3["head_fwd"][1]])
        behind = pt["head"] - fwd_img * hr * 0.45
        end = behind + np.array([0.0, hr * 2.3])
        if facing > HAIR_FACING_BACK:
            hair_depth = min(depth, fig.torso_depth) - HAIR_BEHIND_BODY
        else:
            hair_depth = depth + HAIR_OVER_HEAD
        tail = fig.capsule(behind, end, ident.head_r * 1.02, ident.head_r * 0.8, hair)
        parts.append(Part(hair_depth, "hair", tail))
    # the eyes are drawn where they face the camera
    eyes = tuple(
        pt[f"{side}_eye"]
        for side in SIDES
        if facing > 0.35 and pts3[f"{side}_eye"][2] - pts3["head"][2] > 0.25 * ident.head_r
    )
    head = Head(
        center=pt["head"],
        up=unit(pt["head"] - pt["neck"]),
        radius=hr,
        skin=np.array(ident.skin, np.float32),
        hair=hair,
        hair_style=ident.hair_style,
        facing=facing,
        back_x=-float(pts3["head_fwd"][0]),
        eyes=eyes,
    )
    parts.append(Part(depth, "head", head))
    return parts


def body_parts(fig: Figure) -> list[Part]:
    """Every part of the person, in the order whose ties the back-to-front sort keeps."""
    parts = []
    for side in SIDES:
        parts += leg(fig, side)
        parts.append(shoe(fig, side))
    parts.append(hip_garment(fig))
    parts += torso_and_neck(fig)
    for side in SIDES:
        parts += arm(fig, side)
    parts += head_and_hair(fig)
    return parts
