"""Synthetic identities: everything that stays the same for one person (body proportions, skin, hair, clothes)."""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

RGB = tuple[float, float, float]


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
    skin: RGB
    hair: RGB
    hair_style: str  # short, long, buzz
    top: RGB
    top2: RGB  # second colour of the pattern
    pattern: str  # solid, stripes, checks
    pattern_period: float  # in units of body height
    sleeve: str  # long, short, none
    bottom: str  # trousers, shorts, skirt
    bottom_color: RGB
    skirt_length: float  # hem position along the thigh (0 = hip, 1 = knee)
    shoes: RGB
    background_seed: int


# Palettes (sRGB 0-255) the colours are drawn from and then jittered.
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


def jitter(rng: np.random.Generator, color: tuple, amount: float) -> RGB:
    """A 0-255 palette colour as RGB in [0, 1], its brightness scaled by a random factor in 1 +- ``amount``."""
    c = np.clip(np.asarray(color, dtype=float) / 255.0 * rng.uniform(1 - amount, 1 + amount), 0, 1)
    return tuple(float(v) for v in c)


def random_hsv(rng: np.random.Generator, sat: tuple[float, float], val: tuple[float, float]) -> RGB:
    """A colour of any hue with saturation and value drawn from the given [low, high) ranges; RGB in [0, 1]."""
    return colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(*sat), rng.uniform(*val))


def _clothes_colors(rng: np.random.Generator) -> tuple[RGB, str, RGB, RGB]:
    """Top colour, pattern, the pattern's second colour (contrasting in brightness) and the bottom colour."""
    top = random_hsv(rng, (0.15, 0.9), (0.25, 0.95))
    if rng.random() < 0.2:  # whites, greys and blacks are common in both datasets
        g = rng.choice([0.1, 0.5, 0.92])
        top = (g, g, g)
    pattern = rng.choice(["solid", "stripes", "checks"], p=[0.5, 0.3, 0.2])
    if np.mean(top) < 0.5:
        top2 = random_hsv(rng, (0.0, 0.5), (0.85, 1.0))
    else:
        top2 = random_hsv(rng, (0.3, 0.9), (0.1, 0.45))
    bottom_color = jitter(rng, _BOTTOMS[rng.integers(len(_BOTTOMS))], 0.12)
    if rng.random() < 0.3:
        bottom_color = random_hsv(rng, (0.2, 0.8), (0.2, 0.8))
    return tuple(float(v) for v in top), str(pattern), tuple(float(v) for v in top2), bottom_color


def sample_identity(index: int, seed: int, preset: str = "market") -> Identity:
    """The person ``index`` of dataset ``seed`` (independent of how many identities are drawn).

    The draws below happen in a fixed order from one generator seeded by (seed, index): reordering them changes
    every person, so keep it when adding attributes (append new draws at the end).
    """
    rng = np.random.default_rng([seed, index, 1])
    build = rng.uniform(0.85, 1.2)
    bottom = rng.choice(
        ["trousers", "shorts", "skirt"], p=[0.55, 0.2, 0.25] if preset == "market" else [0.4, 0.25, 0.35]
    )
    top, pattern, top2, bottom_color = _clothes_colors(rng)
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
        skin=jitter(rng, _SKIN[rng.integers(len(_SKIN))], 0.06),
        hair=jitter(rng, _HAIR[rng.integers(len(_HAIR))], 0.1),
        hair_style=str(rng.choice(["short", "long", "buzz"], p=[0.5, 0.35, 0.15])),
        top=top,
        top2=top2,
        pattern=pattern,
        pattern_period=float(rng.uniform(0.035, 0.06)),
        sleeve=str(rng.choice(["long", "short", "none"], p=[0.4, 0.45, 0.15])),
        bottom=str(bottom),
        bottom_color=bottom_color,
        skirt_length=float(rng.uniform(0.5, 1.05)),
        shoes=jitter(rng, _SHOES[rng.integers(len(_SHOES))], 0.1),
        background_seed=int(rng.integers(2**31)),
    )
