"""Metric names and what each needs. Every name carries its protocol (design.md §5).

- ``paper`` reproduces the authors' evaluation (reference §7): their SSIM arguments with data_range from the generated
  image, L1 in [-1, 1] units, masked variants, TF-Inception IS in list order, their PCKh, DeepFashion's white bands.
- ``clean`` is what later papers report: lossless images, SSIM with data_range 255, PSNR, LPIPS, FID against the
  training images.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # column header of the table
    kind: str  # "image": mean/std of per-image values; "set": one value over the image set; "pckh": counts
    higher_is_better: bool
    masked: bool = False  # computed on mask-multiplied images (needs target keypoints)
    weights: tuple[str, ...] = ()  # pretrained files it needs (posestylizer.weights keys)
    description: str = ""


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("ssim_paper", "SSIM", "image", True,
               description="SSIM, Gaussian window sigma 1.5, data_range = generated max - min (reference §7.2)"),
        Metric("is_paper", "IS", "set", True, weights=("inception",),
               description="Inception Score, TF-Inception via torch-fidelity, 10 splits in list order (§7.5)"),
        Metric("mask_ssim_paper", "mask-SSIM", "image", True, masked=True,
               description="SSIM of target and generated multiplied by the target pose mask (§2, §7.4)"),
        Metric("mask_is_paper", "mask-IS", "set", True, masked=True, weights=("inception",),
               description="Inception Score of the masked generated images (§7.4)"),
        Metric("pckh_paper", "PCKh", "pckh", True,
               description="the authors' PCKh: per-axis head box, alpha 0.5, micro average (§7.6)"),
        Metric("l1", "L1", "image", False, description="mean |target - generated| in [-1, 1] units (§7.3)"),
        Metric("mask_l1", "mask-L1", "image", False, masked=True, description="L1 of the masked images (§7.4)"),
        Metric("ssim_clean", "SSIM", "image", True,
               description="SSIM, Gaussian window sigma 1.5, data_range 255, lossless images"),
        Metric("psnr", "PSNR", "image", True, description="peak signal-to-noise ratio in dB, data_range 255"),
        Metric("lpips_alex", "LPIPS(alex)", "image", False, weights=("alexnet",),
               description="LPIPS v0.1, AlexNet backbone"),
        Metric("lpips_vgg", "LPIPS(vgg)", "image", False, weights=("vgg16",),
               description="LPIPS v0.1, VGG16 backbone"),
        Metric("fid", "FID", "set", False, weights=("inception",),
               description="FID of the generated images against the training images (TF-Inception pool3)"),
    )
}

# Default metric lists, in the column order of the paper's Table 1 (then the extras).
PROTOCOLS: dict[str, tuple[str, ...]] = {
    "paper": ("ssim_paper", "is_paper", "mask_ssim_paper", "mask_is_paper", "pckh_paper", "l1", "mask_l1"),
    "clean": ("ssim_clean", "l1", "psnr", "lpips_alex", "lpips_vgg", "fid"),
}


def resolve_metrics(protocol: str, names: list[str] | None = None) -> list[Metric]:
    """The metrics to compute: ``names`` if given (any registry name), else the protocol's list."""
    from posestylizer.errors import ConfigError

    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown protocol '{protocol}': choose one of {', '.join(PROTOCOLS)}")
    chosen = names or list(PROTOCOLS[protocol])
    unknown = [n for n in chosen if n not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}: choose from {', '.join(METRICS)}")
    return [METRICS[n] for n in dict.fromkeys(chosen)]
