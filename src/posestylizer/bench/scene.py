"""A synthetic street photo with people in it: the input of the pipeline's benchmark cases and tests.

The people are the synthetic dataset's (:mod:`posestylizer.data.synth`), pasted by their masks onto its street
background, so the photo needs no downloaded image and the true keypoints of each person are known.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from posestylizer.data.synth import background, render_sample
from posestylizer.keypoints.vocab import present


def full_body_sample(identity: int, preset: str = "market", seed: int = 0, arms_up: bool = False):
    """The first pose of ``identity`` whose face, shoulders, hips and both ankles are annotated, and that stands
    (face above hips above ankles); with ``arms_up``, both wrists above the shoulders and both eyes visible (facing
    the camera). Returns (image, keypoints, mask)."""
    for k in range(60):
        image, kp, mask, _ = render_sample(preset, identity, k, seed)
        ok = present(kp)
        if not (ok[[0, 2, 5, 8, 11, 10, 13]].all() and kp[0, 0] < kp[8, 0] < kp[10, 0]):
            continue
        if not arms_up or all(ok[w] and kp[w, 0] < kp[s, 0] for w, s in ((4, 2), (7, 5))) and ok[[14, 15]].all():
            return image, kp, mask
    raise AssertionError(f"no full-body pose for identity {identity}")


def street_scene(people: list[tuple], size: tuple[int, int] = (360, 480), seed: int = 3, preset: str = "market"):
    """A street photo (H, W) with synthetic people pasted in by their masks.

    Args:
        people: (identity, x of the person's centre, y of their feet, height in pixels[, arms_up]) each.
    Returns:
        (uint8 (H, W, 3) photo, list of (18, 2) (y, x) keypoints of each person in photo pixels).
    """
    h, w = size
    photo = (background("market", size, seed, pad=0) * 255 + 0.5).astype(np.uint8)
    keypoints = []
    for identity, cx, feet, height, *arms_up in people:
        image, kp, mask = full_body_sample(identity, preset, arms_up=bool(arms_up and arms_up[0]))
        rows = np.flatnonzero(mask.any(axis=1))
        scale = height / (rows[-1] - rows[0] + 1)
        ph, pw = round(image.shape[0] * scale), round(image.shape[1] * scale)
        big = np.asarray(Image.fromarray(image).resize((pw, ph), Image.Resampling.BICUBIC))
        alpha = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((pw, ph), Image.Resampling.BILINEAR))
        y0, x0 = round(feet - (rows[-1] + 1) * scale), round(cx - pw / 2)
        ys, xs = slice(max(0, y0), min(h, y0 + ph)), slice(max(0, x0), min(w, x0 + pw))
        a = alpha[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0, None] / 255.0
        region = photo[ys, xs].astype(np.float64)
        patch = big[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
        photo[ys, xs] = (region + (patch - region) * a + 0.5).astype(np.uint8)
        moved = np.where(present(kp)[:, None], kp * scale + (y0, x0), -1)
        keypoints.append(moved)
    return photo, keypoints
