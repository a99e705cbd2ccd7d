"""Normalisation layers: the parameter-free instance normalisation of the reference, AdaPN and AdaIN.

Both adaptive norms take a content feature ``x`` and the appearance code ``style`` (the encoder bottleneck) and
return ``x_hat * (1 + gamma) + beta``. They differ only in where gamma/beta vary:

* :class:`AdaPN` (paper Eq. 8) predicts gamma/beta for every bottleneck cell with a 1x1 conv and expands each
  cell to the patch of the feature map it covers (nearest-neighbour upsampling by the block's factor), so body
  regions get their own scale/shift.
* :class:`AdaIN` (paper Eq. 7, the "APS w/ AdaIN" ablation) predicts one gamma/beta per channel from the spatially
  averaged code.

As in the reference (§3.3, quirk 2), the statistics are the whole-map instance statistics with eps 1e-8; the
"patch" is only in the style parameters. :class:`PatchStatsAdaPN` is the option the reference has but never uses
(§3.6): the same per-cell style with mean and variance taken over each patch too. The LeakyReLU the reference applies
inside its norm module is applied by the calling block.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-8  # reference value (not 1e-5); changes outputs measurably


def instance_normalize(x: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Normalise each (sample, channel) map to zero mean and unit (biased) variance.

    Written out rather than ``F.instance_norm`` to keep the reference's formula ``(x - mu) * rsqrt(mean((x - mu)^2) +
    eps)``, which is what the released checkpoints were trained with.

    Args:
        x: (B, C, H, W).
    """
    x = x - x.mean(dim=(2, 3), keepdim=True)
    return x * torch.rsqrt(x.pow(2).mean(dim=(2, 3), keepdim=True) + eps)


def center_crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Crop the last two dims of ``x`` to ``size`` around the centre (extra row/column goes to the end)."""
    h, w = x.shape[-2:]
    top, left = (h - size[0]) // 2, (w - size[1]) // 2
    return x[..., top : top + size[0], left : left + size[1]]


class AdaPN(nn.Module):
    """Adaptive patch normalisation (paper Eq. 8, reference ``PatchNorm``).

    Args:
        style_channels: channels of the appearance code (encoder bottleneck), Cb.
        channels: channels of the normalised feature, C.
        factor: spatial ratio feature / code (2 ** (block index + 1)); each code cell covers a factor x factor patch.
    """

    def __init__(self, *, style_channels: int, channels: int, factor: int) -> None:
        super().__init__()
        self.factor = factor
        self.style = nn.Conv2d(style_channels, 2 * channels, kernel_size=1)

    def style_maps(self, style: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-cell (beta, gamma), each (B, C, H, W), expanded to the feature ``size``.

        When the feature is narrower than code size x factor (odd widths: DeepFashion's 176 px gives a 6-wide code
        for 22-, 44-, 88- and 176-wide features), the expanded maps are centre-cropped to it (reference §3.3 step 4).
        """
        params = F.interpolate(self.style(style), scale_factor=self.factor, mode="nearest")
        beta, gamma = center_crop(params, size).chunk(2, dim=1)  # first half beta, second gamma (§3.9)
        return beta, gamma

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """x: (B, C, H, W) content; style: (B, Cb, h, w) with h * factor >= H, w * factor >= W."""
        beta, gamma = self.style_maps(style, x.shape[-2:])
        return instance_normalize(x) * (1 + gamma) + beta


class AdaIN(nn.Module):
    """Adaptive instance normalisation (paper Eq. 7): one (beta, gamma) per channel from the pooled code.

    Same constructor and parameter layout as :class:`AdaPN` so the two are interchangeable in a block.
    """

    def __init__(self, *, style_channels: int, channels: int, factor: int = 1) -> None:
        super().__init__()
        self.factor = factor
        self.style = nn.Conv2d(style_channels, 2 * channels, kernel_size=1)

    def style_maps(self, style: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        beta, gamma = self.style(style.mean(dim=(2, 3), keepdim=True)).chunk(2, dim=1)
        return beta, gamma  # (B, C, 1, 1), broadcast over the map

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        beta, gamma = self.style_maps(style, x.shape[-2:])
        return instance_normalize(x) * (1 + gamma) + beta


def patch_normalize(x: torch.Tensor, factor: int, grid: tuple[int, int], eps: float = EPS) -> torch.Tensor:
    """Normalise each patch of ``x`` to zero mean and unit (biased) variance; the patches are the cells of the style.

    The ``grid`` (h, w) of code cells, each ``factor`` x ``factor`` pixels, is centred on ``x`` as
    :meth:`AdaPN.style_maps` centres its expanded maps, so every patch is the set of pixels sharing one (beta, gamma).
    When ``x`` is narrower than ``grid * factor`` (odd widths), the edge patches are cut and their statistics are taken
    over the pixels they keep. The reference's unused option pools adaptively to the code size instead (§3.6), which
    gives the same patches when the size divides and misaligned ones when it does not.

    Args:
        x: (B, C, H, W) with H <= h * factor and W <= w * factor.
        factor: patch side in pixels.
        grid: (h, w), the code size.
    Returns: (B, C, H, W), ``(x - mu_patch) * rsqrt(var_patch + eps)``.
    """
    size = tuple(x.shape[-2:])
    full = (grid[0] * factor, grid[1] * factor)
    top, left = (full[0] - size[0]) // 2, (full[1] - size[1]) // 2
    pad = (left, full[1] - size[1] - left, top, full[0] - size[0] - top)
    # Sums over each patch by average pooling of the zero-padded map; dividing by the pooled count of real pixels
    # gives the mean over the pixels a cut patch keeps.
    count = F.avg_pool2d(F.pad(torch.ones_like(x[:1, :1]), pad), factor)

    def patch_mean(t: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> per-patch mean expanded back to (H, W)
        mean = F.avg_pool2d(F.pad(t, pad), factor) / count
        return center_crop(F.interpolate(mean, scale_factor=factor, mode="nearest"), size)

    x = x - patch_mean(x)  # two passes, as instance_normalize: (x - mu) * rsqrt(mean((x - mu)^2) + eps)
    return x * torch.rsqrt(patch_mean(x.pow(2)) + eps)


class PatchStatsAdaPN(AdaPN):
    """AdaPN with per-patch statistics (reference §3.6, unused by the paper): the feature is normalised over each
    factor x factor patch of the code cell it belongs to, then scaled and shifted by that cell's (gamma, beta).

    Same constructor, parameters and :meth:`style_maps` as :class:`AdaPN`.
    """

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """x: (B, C, H, W) content; style: (B, Cb, h, w) with h * factor >= H, w * factor >= W."""
        beta, gamma = self.style_maps(style, x.shape[-2:])
        return patch_normalize(x, self.factor, tuple(style.shape[-2:])) * (1 + gamma) + beta


ADAPTIVE_NORMS: dict[str, type[nn.Module]] = {"adapn": AdaPN, "adain": AdaIN, "adapn_patch": PatchStatsAdaPN}


def norm_layer(kind: str, channels: int) -> nn.Module:
    """The standard norm of the networks: BatchNorm (market) or parameter-free InstanceNorm (fashion)."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    raise ValueError(f"unknown norm '{kind}' (expected 'batch' or 'instance')")
