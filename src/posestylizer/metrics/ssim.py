"""SSIM as the authors' evaluation computes it (reference §7.2), with the window size as an explicit option.

The paper numbers come from ``compare_ssim(target, generated, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, multichannel=True, data_range=generated.max() - generated.min())``. This module restates
that computation on float64 so that the Gaussian truncation can be chosen: scikit-image >= 0.15 filters with an 11-tap
window (truncate 3.5), scikit-image <= 0.14 (PATN's pinned evaluation environment) with scipy's default 13 taps
(truncate 4.0) while still cropping a 5-pixel border. Both crop ``(11 - 1) // 2 = 5`` pixels.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from posestylizer.errors import DataError

# Gaussian truncation (in sigmas) of the two scikit-image generations.
TRUNCATE_11TAP = 3.5  # scikit-image >= 0.15 (and today's structural_similarity)
TRUNCATE_13TAP = 4.0  # scikit-image <= 0.14: scipy's default

WINDOWS = {"11tap": TRUNCATE_11TAP, "13tap": TRUNCATE_13TAP}


def ssim(
    target: np.ndarray,
    generated: np.ndarray,
    data_range: float | None = None,
    sigma: float = 1.5,
    truncate: float = TRUNCATE_11TAP,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float:
    """Mean SSIM of two images, averaged over channels (Gaussian-weighted, population covariance).

    Args:
        target, generated: (H, W) or (H, W, C) arrays of the same shape (uint8 or float).
        data_range: dynamic range for the constants C1, C2. ``None`` = the paper's rule, ``generated.max() -
            generated.min()``; the clean protocol passes 255.
        truncate: Gaussian truncation; 3.5 (11 taps, today's scikit-image) or 4.0 (13 taps, scikit-image <= 0.14).

    Returns:
        SSIM in [-1, 1]; NaN when ``data_range`` is 0 and the images are constant (as scikit-image).
    """
    x = np.asarray(target, dtype=np.float64)
    y = np.asarray(generated, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"SSIM needs images of one shape, got {x.shape} and {y.shape}")
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    if data_range is None:
        data_range = float(y.max() - y.min())
    # The crop follows the 11-tap window in both generations (scikit-image's win_size for sigma 1.5).
    pad = int(TRUNCATE_11TAP * sigma + 0.5)
    if min(x.shape[:2]) <= 2 * pad:  # nothing would be left after the crop: the mean of nothing is NaN
        raise DataError(f"SSIM needs images larger than its {2 * pad + 1}x{2 * pad + 1} window, got "
                        f"{x.shape[0]}x{x.shape[1]} (score images of the model's size)")
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    per_channel = []
    for ch in range(x.shape[-1]):
        a, b = x[..., ch], y[..., ch]

        def blur(img: np.ndarray) -> np.ndarray:
            return gaussian_filter(img, sigma=sigma, truncate=truncate, mode="reflect")

        mu_a, mu_b = blur(a), blur(b)
        var_a = blur(a * a) - mu_a * mu_a
        var_b = blur(b * b) - mu_b * mu_b
        cov = blur(a * b) - mu_a * mu_b
        num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
        den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
        s = num / den
        per_channel.append(s[pad:-pad, pad:-pad].mean(dtype=np.float64))
    return float(np.mean(per_channel))
