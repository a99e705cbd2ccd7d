"""Pixel metrics and the image preparations of the paper protocol (reference §7.2-§7.4).

All functions take uint8 (H, W, 3) arrays, as read from the result files (masks: boolean (H, W)).
"""

from __future__ import annotations

import numpy as np


def l1(target: np.ndarray, generated: np.ndarray) -> float:
    """Mean absolute difference in [-1, 1] units: ``mean(|2(t/255 - .5) - 2(g/255 - .5)|)`` (reference §7.3)."""
    t = 2 * (np.asarray(target, dtype=np.float64) / 255 - 0.5)
    g = 2 * (np.asarray(generated, dtype=np.float64) / 255 - 0.5)
    return float(np.abs(t - g).mean())


def psnr(target: np.ndarray, generated: np.ndarray, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB over all pixels and channels (inf for identical images)."""
    diff = np.asarray(target, dtype=np.float64) - np.asarray(generated, dtype=np.float64)
    mse = float(np.mean(diff * diff))
    return float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def apply_mask(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Zero the background: ``image * mask[..., None]`` as the authors' masked metrics do (§7.4)."""
    return np.asarray(image) * np.asarray(mask, dtype=np.uint8)[..., None]


def add_white_bands(image: np.ndarray, width: int) -> np.ndarray:
    """Pad ``width`` white (255) columns on both sides, as DeepFashion's ``addBounding`` (176 -> 256 with 40)."""
    if width <= 0:
        return image
    return np.pad(image, ((0, 0), (width, width), (0, 0)), mode="constant", constant_values=255)


def foreground(image: np.ndarray, plate: np.ndarray, threshold: float = 0.12) -> np.ndarray:
    """Boolean (H, W) pixels of ``image`` that differ from the background ``plate``: mean |difference| over RGB above
    ``threshold`` (of 255), cleaned by a 3x3 binary opening (isolated noisy pixels are not a person)."""
    from scipy.ndimage import binary_opening

    diff = np.abs(image.astype(np.float32) - plate.astype(np.float32)).mean(-1) / 255.0
    return binary_opening(diff > threshold, structure=np.ones((3, 3), bool))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks; 1.0 when both are empty (they agree)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def part_ious(fg: np.ndarray, parts: np.ndarray) -> dict[int, float]:
    """IoU of a foreground with each body part of a part map: {part id: IoU} for the ids > 0 present in ``parts``.

    ``fg`` boolean (H, W); ``parts`` uint8 (H, W), 0 background. Every pixel belongs to the cell of its nearest part
    pixel (Euclidean; Voronoi cells of the parts), and part k's IoU is that of the foreground inside k's cell with k's
    mask: a missing arm lowers the arms' IoU, a smear beside it too (it is nearer the arm than anything else), while
    the torso's pixels, foreground as they should be, do not count against the arm.
    """
    from scipy.ndimage import distance_transform_edt

    ids = [int(k) for k in np.unique(parts) if k > 0]
    if not ids:
        return {}
    _, (rows, cols) = distance_transform_edt(parts == 0, return_indices=True)
    cell = parts[rows, cols]  # the nearest part of every pixel (the part itself on the person)
    return {k: iou(fg & (cell == k), parts == k) for k in ids}
