"""Background plates: a street scene for the market preset, a plain light studio backdrop for fashion.

(Named ``backgrounds`` so that the module does not shadow the :func:`background` function the package exports.)
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from posestylizer.data.synth.identity import random_hsv


def _noise(rng: np.random.Generator, h: int, w: int, cells: tuple[int, int]) -> np.ndarray:
    """Smooth value noise in [-1, 1] of size (h, w) from a coarse random grid."""
    small = Image.fromarray((rng.uniform(0, 1, cells) * 255).astype(np.uint8))
    return np.asarray(small.resize((w, h), Image.BICUBIC), np.float32) / 127.5 - 1


def _studio(rng: np.random.Generator, h: int, ww: int) -> np.ndarray:
    """A plain light backdrop with a faint tint, a vertical gradient and very soft blotches."""
    base = rng.uniform(0.86, 0.97)
    tint = rng.uniform(-0.02, 0.02, 3)
    grad = np.linspace(0.02, -0.03, h, dtype=np.float32)[:, None, None]
    img = np.full((h, ww, 3), base, np.float32) + tint + grad + 0.01 * _noise(rng, h, ww, (4, 4))[..., None]
    return np.clip(img, 0, 1).astype(np.float32)


def _facade(rng: np.random.Generator, h: int, ww: int) -> tuple[np.ndarray, int]:
    """A wall above a floor: plain blocks, bricks or a glass facade; returns the image and the ground row."""
    ground_y = int(h * rng.uniform(0.55, 0.8))
    wall = np.array(random_hsv(rng, (0.02, 0.2), (0.25, 0.85)), np.float32)
    floor = np.array(random_hsv(rng, (0.0, 0.15), (0.25, 0.65)), np.float32)
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
        glass = np.array(random_hsv(rng, (0.1, 0.4), (0.1, 0.4)), np.float32)
        img[:ground_y][pane[:ground_y]] = glass
    return img, ground_y


def _street_objects(rng: np.random.Generator, img: np.ndarray, ground_y: int) -> np.ndarray:
    """Doors, pillars, shop signs and parked things as rectangles of other colours, and sometimes foliage."""
    h, ww = img.shape[:2]
    for _ in range(int(rng.integers(2, 7))):
        x0 = int(rng.integers(-10, ww))
        y0 = int(rng.integers(-10, ground_y))
        bw, bh = int(rng.integers(4, max(6, ww // 2))), int(rng.integers(4, ground_y + 10))
        color = np.array(random_hsv(rng, (0.0, 0.45), (0.15, 0.95)), np.float32)
        img[max(y0, 0) : min(y0 + bh, ground_y), max(x0, 0) : min(x0 + bw, ww)] = color
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:h, 0:ww]
        for _ in range(int(rng.integers(1, 4))):
            cx, cy, r = rng.uniform(0, ww), rng.uniform(0, ground_y * 0.8), rng.uniform(6, 18)
            leaf = np.array(
                [rng.uniform(0.15, 0.35), rng.uniform(0.35, 0.55), rng.uniform(0.1, 0.25)], np.float32
            )
            a = np.clip(r - np.hypot(xx - cx, (yy - cy) * 1.2), 0, 1)[..., None]
            img = img * (1 - a) + leaf * (a * (1 + 0.25 * _noise(rng, h, ww, (8, 8))[..., None]))
    return img


def _street(rng: np.random.Generator, h: int, ww: int) -> np.ndarray:
    """A street scene: facade, objects, paving joints, uneven light, grain and a top-to-bottom falloff."""
    img, ground_y = _facade(rng, h, ww)
    img = _street_objects(rng, img, ground_y)
    for y in np.cumsum(rng.uniform(3, 9, 12)).astype(int) + ground_y:  # paving joints on the ground
        if y < h:
            img[y] *= 0.85
    img *= 1 + 0.12 * _noise(rng, h, ww, (6, 6))[..., None]  # uneven light
    img += 0.03 * rng.standard_normal((h, ww, 1)).astype(np.float32)  # grain
    img *= np.linspace(1.05, 0.9, h, dtype=np.float32)[:, None, None]
    return np.clip(img, 0, 1).astype(np.float32)


def background(preset: str, size: tuple[int, int], seed: int, pad: int) -> np.ndarray:
    """A background plate of (H, W + 2 pad, 3) float32 in [0, 1]; market: a street scene, fashion: plain light.

    The plate is wider than an image by ``pad`` on each side so that the images of one person can show it shifted.
    """
    rng = np.random.default_rng([seed, 7])
    h, w = size
    ww = w + 2 * pad
    return _studio(rng, h, ww) if preset == "fashion" else _street(rng, h, ww)
