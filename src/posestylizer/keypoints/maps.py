"""What a pose becomes as an image: Gaussian heatmaps, the evaluation's foreground mask and the drawn skeleton.

Poses are float32 (18, 2) (y, x) pixels, -1 = missing (:mod:`posestylizer.keypoints.vocab`); the reference's poses
hold integers, and a float32 pose with integral values gives bit-identical maps (reference §1.5, §1.6, §2).
Heatmaps are float32 (18, H, W) in [0, 1].
"""

from __future__ import annotations

import numpy as np

from posestylizer.keypoints.vocab import JOINT_COLORS, MASK_LIMBS, SKELETON, present


def heatmaps(keypoints: np.ndarray, size: tuple[int, int], sigma: float) -> np.ndarray:
    """Render Gaussian pose maps exactly as the reference's precomputed ``.npy`` files (§1.6).

    Args:
        keypoints: (18, 2) (y, x) pixel coordinates, -1 = missing. Points outside the image are kept (their tail shows).
        size: (H, W) of the map.
        sigma: Gaussian standard deviation in pixels (6 for market, 12 for fashion).

    Returns:
        float32 array (18, H, W) in [0, 1]; 1.0 at an integer keypoint, all zeros for a missing one.
    """
    kp = np.asarray(keypoints, dtype=np.float64).reshape(-1, 2)
    h, w = size
    rows = np.arange(h, dtype=np.float64)
    cols = np.arange(w, dtype=np.float64)
    # exp(-(dy^2 + dx^2) / 2s^2) factorises into a row and a column profile; computing in float64 and casting once
    # matches the reference's float64 evaluation to the last float32 bit in practice (<= 6e-8).
    gy = np.exp(-((rows[None, :] - kp[:, :1]) ** 2) / (2 * sigma**2))  # (18, H)
    gx = np.exp(-((cols[None, :] - kp[:, 1:]) ** 2) / (2 * sigma**2))  # (18, W)
    maps = (gy[:, :, None] * gx[:, None, :]).astype(np.float32)
    # The float32 cast leaves the far tail subnormal (< 1.18e-38; 3-4 % of a map's values), which costs up to 4x on
    # CPUs that compute subnormals in microcode (runtime.denormals). Exact zeros there: each value moves by < 1.2e-38,
    # within the reference fixtures' tolerance (atol 1e-6), and the generator's outputs are identical (max diff 0.0).
    maps[maps < np.finfo(np.float32).tiny] = 0.0
    maps[~present(kp)] = 0.0
    return maps


def pose_mask(keypoints: np.ndarray, size: tuple[int, int], radius: int = 4) -> np.ndarray:
    """Foreground mask of a pose, as the evaluation's mask-SSIM/mask-L1/mask-IS use (reference §2).

    Thick limbs (4-corner polygons of half-width ``radius`` around each present limb) plus a disk of ``radius`` at each
    present joint, then a 5x5 morphological closing.

    Args:
        keypoints: (18, 2) (y, x), -1 = missing.
        size: (H, W) of the mask.

    Returns:
        bool array (H, W).
    """
    from skimage.draw import disk, polygon
    from skimage.morphology import dilation, erosion

    kp = np.asarray(keypoints, dtype=np.float64)
    ok = present(kp)
    mask = np.zeros(size, dtype=bool)
    for a, b in MASK_LIMBS:
        if not (ok[a] and ok[b]):
            continue
        d = kp[a] - kp[b]
        length = np.hypot(d[0], d[1])
        if length == 0:  # coincident ends: the reference divides by zero here; the joint disks cover the point
            continue
        normal = radius * np.array([-d[1], d[0]]) / length
        corners = np.stack([kp[a] + normal, kp[a] - normal, kp[b] - normal, kp[b] + normal])
        rr, cc = polygon(corners[:, 0], corners[:, 1], shape=size)
        mask[rr, cc] = True
    for y, x in kp[ok]:
        rr, cc = disk((y, x), radius, shape=size)
        mask[rr, cc] = True
    footprint = np.ones((5, 5), dtype=bool)
    return erosion(dilation(mask, footprint), footprint)


def draw_pose(keypoints: np.ndarray, size: tuple[int, int], radius: int = 2) -> np.ndarray:
    """Draw a pose panel like the reference's visualisations (§1.5): grey anti-aliased limbs, coloured joints.

    Returns:
        uint8 array (H, W, 3) on black.
    """
    from skimage.draw import disk, line_aa

    # skimage draws on integer pixels: round (the reference's integral poses pass unchanged)
    kp = np.rint(np.asarray(keypoints, dtype=np.float64)).astype(np.int64)
    ok = present(kp)
    h, w = size
    canvas = np.zeros((h, w, 3), dtype=np.float64)
    for a, b in SKELETON:
        if not (ok[a] and ok[b]):
            continue
        rr, cc, val = line_aa(kp[a, 0], kp[a, 1], kp[b, 0], kp[b, 1])
        inside = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        rr, cc, val = rr[inside], cc[inside], val[inside]
        canvas[rr, cc] = np.maximum(canvas[rr, cc], val[:, None] * 255)
    for i in np.flatnonzero(ok):
        rr, cc = disk((kp[i, 0], kp[i, 1]), radius, shape=size)
        canvas[rr, cc] = JOINT_COLORS[i]
    return canvas.astype(np.uint8)
