"""A canvas that composites anti-aliased signed-distance shapes back to front, and the shapes people are made of.

Written with numpy rather than a drawing library because each pixel needs a signed distance: it gives the
anti-aliased coverage, the shading across a round limb and the part label used to decide which keypoints are hidden,
in one pass (PIL's ImageDraw gives neither distances nor sub-pixel coverage).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# A fill: one RGB colour in [0, 1] (3,), or a function of the pixel grid (px (1, w), py (h, 1)) -> (h, w, 3).
Fill = np.ndarray | Callable[[np.ndarray, np.ndarray], np.ndarray]


class Canvas:
    """Back-to-front compositing of anti-aliased SDF shapes, with a foreground alpha and a part-label buffer.

    Args:
        background: (H, W, 3) float RGB in [0, 1]; copied, not changed.
    """

    def __init__(self, background: np.ndarray) -> None:
        self.h, self.w = background.shape[:2]
        self.rgb = background.astype(np.float32, copy=True)
        self.alpha = np.zeros((self.h, self.w), np.float32)
        # the index of the part painted last at each pixel, -1 = background
        self.label = np.full((self.h, self.w), -1, np.int16)
        self.xs = np.arange(self.w, dtype=np.float32)
        self.ys = np.arange(self.h, dtype=np.float32)

    def box(self, x0: float, x1: float, y0: float, y1: float):
        """The pixels of a bounding box in image (x, y) pixels, clipped, as (slices, px (1, w), py (h, 1)), or None
        when it misses the image."""
        c0, c1 = max(math.floor(x0) - 1, 0), min(math.ceil(x1) + 2, self.w)
        r0, r1 = max(math.floor(y0) - 1, 0), min(math.ceil(y1) + 2, self.h)
        if c0 >= c1 or r0 >= r1:
            return None
        return (slice(r0, r1), slice(c0, c1)), self.xs[None, c0:c1], self.ys[r0:r1, None]

    def paint(self, sl, dist: np.ndarray, color: np.ndarray, label: int) -> None:
        """Paint ``color`` (3,) or (h, w, 3) over the box ``sl`` where the signed distance ``dist`` (h, w, pixels,
        negative inside) says the shape is; pixels more than half covered take ``label``."""
        a = np.clip(0.5 - dist, 0.0, 1.0)  # coverage of a pixel by the shape edge: anti-aliasing
        region = self.rgb[sl]
        region += (color - region) * a[..., None]
        self.alpha[sl] = np.maximum(self.alpha[sl], a)
        self.label[sl][a > 0.5] = label


def segment_distance(px, py, a, b):
    """Distance of every pixel to the segment a->b, and the position t in [0, 1] of its nearest point."""
    bx, by = b[0] - a[0], b[1] - a[1]
    ax, ay = px - a[0], py - a[1]
    t = np.clip((ax * bx + ay * by) / max(bx * bx + by * by, 1e-9), 0.0, 1.0)
    dx, dy = ax - t * bx, ay - t * by
    return np.sqrt(dx * dx + dy * dy), t


def capsule_sdf(px, py, a, b, ra: float, rb: float):
    """Signed distance to a tapered capsule a->b (approximate for ra != rb) and the radial position (0 on the axis,
    1 on the outline)."""
    dist, t = segment_distance(px, py, a, b)
    r = np.maximum(ra + (rb - ra) * t, 1e-3)
    return dist - r, dist / r


def polygon_sdf(px, py, verts: np.ndarray) -> np.ndarray:
    """Exact signed distance to a convex polygon with vertices ``verts`` (n, 2) in (x, y)."""
    n = len(verts)
    area = sum(verts[i, 0] * verts[(i + 1) % n, 1] - verts[(i + 1) % n, 0] * verts[i, 1] for i in range(n))
    orient = 1.0 if area > 0 else -1.0
    dist = inside = None
    for i in range(n):
        a, b = verts[i], verts[(i + 1) % n]
        d, _ = segment_distance(px, py, a, b)
        side = ((b[0] - a[0]) * (py - a[1]) - (b[1] - a[1]) * (px - a[0])) * orient >= 0
        dist = d if dist is None else np.minimum(dist, d)
        inside = side if inside is None else inside & side
    return np.where(inside, -dist, dist)


def stripes(coord: np.ndarray, period: float) -> np.ndarray:
    """Anti-aliased square wave in [0, 1] of ``coord`` (pixels) with a transition about one pixel wide."""
    return np.clip(0.5 + 0.5 * np.sin(coord * (2 * math.pi / period)) * (period / math.pi), 0.0, 1.0)


def _fill(color: Fill, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    return color(px, py) if callable(color) else color


@dataclass(frozen=True)
class Capsule:
    """A round limb: a tapered capsule from ``a`` to ``b`` (image (x, y) pixels) with end radii ``ra``, ``rb``
    (pixels), darker toward its outline by up to ``shade`` (0-1)."""

    a: np.ndarray
    b: np.ndarray
    ra: float
    rb: float
    color: Fill
    shade: float = 0.22

    def draw(self, cv: Canvas, label: int) -> None:
        a, b, pad = self.a, self.b, max(self.ra, self.rb)
        got = cv.box(
            min(a[0], b[0]) - pad, max(a[0], b[0]) + pad, min(a[1], b[1]) - pad, max(a[1], b[1]) + pad
        )
        if got is None:
            return
        sl, px, py = got
        dist, radial = capsule_sdf(px, py, a, b, self.ra, self.rb)
        shading = 1.0 - self.shade * np.clip(radial, 0, 1) ** 2  # round limbs: darker toward the outline
        cv.paint(sl, dist, _fill(self.color, px, py) * shading[..., None], label)


@dataclass(frozen=True)
class Polygon:
    """A flat garment or body panel: a convex polygon ``verts`` (n, 2) in image (x, y) pixels grown by
    ``round_px`` (rounded corners), darker toward its sides along the unit image direction ``lateral`` by up to
    ``shade`` (0-1)."""

    verts: np.ndarray
    color: Fill
    lateral: np.ndarray
    round_px: float = 0.0
    shade: float = 0.15

    def draw(self, cv: Canvas, label: int) -> None:
        verts, grow, lateral = np.asarray(self.verts, dtype=np.float64), self.round_px, self.lateral
        center = verts.mean(axis=0)
        got = cv.box(verts[:, 0].min() - grow, verts[:, 0].max() + grow,
                     verts[:, 1].min() - grow, verts[:, 1].max() + grow)  # fmt: skip
        if got is None:
            return
        sl, px, py = got
        dist = polygon_sdf(px, py, verts) - grow
        half = max(np.abs((verts - center) @ lateral).max(), 1.0)
        across = ((px - center[0]) * lateral[0] + (py - center[1]) * lateral[1]) / half
        shading = 1.0 - self.shade * np.clip(np.abs(across), 0, 1) ** 2
        cv.paint(sl, dist, _fill(self.color, px, py) * shading[..., None], label)
