"""The metrics: every entry carries its name (which names its protocol, design.md §5), how it is computed, what it
needs, and the settings text the report records.

- ``paper`` reproduces the authors' evaluation (reference §7): their SSIM arguments with data_range from the generated
  image, L1 in [-1, 1] units, masked variants, TF-Inception IS in list order, their PCKh, DeepFashion's white bands.
- ``clean`` is what later papers report: lossless images, SSIM with data_range 255, PSNR, LPIPS, FID against the
  training images.
- ``*_gt`` metrics compare with the ground truth a synthetic dataset carries (person masks, background plates); the
  demo reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from posestylizer.errors import ConfigError
from posestylizer.metrics import compute as c
from posestylizer.metrics.inputs import EvalInputs, EvalOptions

# What a metric may need beyond the pairs, and how the user supplies it (the note when it is missing).
NEEDS = {
    "keypoints": "target keypoints (--annotation CSV)",
    "ground_truth": "the ground-truth masks and background plates of a synthetic dataset (--ground-truth ROOT)",
    "fid_reference": "the training images (--fid-reference DIR or stats .npz)",
}


@dataclass(frozen=True)
class Metric:
    """One registry entry.

    Args:
        name: registry name; it carries the protocol (``ssim_paper``, ``ssim_clean``).
        label: column header of the table.
        higher_is_better: direction of improvement (the table's arrow).
        compute: ``(inputs, name) -> MetricResult`` (:mod:`posestylizer.metrics.compute`).
        settings: how it is computed, for the report: a text, or ``options -> text`` where options change it.
        description: what it measures, in one line.
        needs: inputs beyond the pairs (keys of :data:`NEEDS`); without them the metric is skipped with a note.
        weights: pretrained files it needs (:mod:`posestylizer.checkpoints.pretrained` keys).
        setup: builds its networks before any metric runs (a missing weights file stops the run early).
    """

    name: str
    label: str
    higher_is_better: bool
    compute: Callable[[EvalInputs, str], Any]
    settings: str | Callable[[EvalOptions], str]
    description: str
    needs: tuple[str, ...] = ()
    weights: tuple[str, ...] = ()
    setup: Callable[[EvalInputs], Any] | None = None

    def settings_text(self, options: EvalOptions) -> str:
        return self.settings if isinstance(self.settings, str) else self.settings(options)


def _ssim_paper(o: EvalOptions) -> str:
    return (f"Gaussian sigma 1.5, {o.ssim_window} window, population covariance, data_range = generated max - min, "
            "5-px border cropped")  # fmt: skip


def _inception_score(o: EvalOptions) -> str:
    return f"torch-fidelity inception-v3-compat logits_unbiased, {o.is_splits} splits in file-name order, no shuffling"


def _pckh(o: EvalOptions) -> str:
    source = "pred-annotation CSV" if o.pred_annotation is not None else f"estimator {o.estimator}"
    return f"per-axis head box, alpha 0.5, strict <, micro average; keypoints of the generated images: {source}"


SSIM_CLEAN = "Gaussian sigma 1.5, 11-tap window, population covariance, data_range 255, 5-px border cropped"
L1 = "mean |target - generated| over pixels and channels, images scaled to [-1, 1]"
LPIPS = "lpips v0.1 linear layers, torchvision {} backbone, images scaled to [-1, 1]"
GT_MASK = "both images multiplied by the target's ground-truth person mask (masks/ of the synthetic dataset)"
INCEPTION = ("inception",)
KEYPOINTS = ("keypoints",)

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("ssim_paper", "SSIM", True, c.pairwise(c.ssim_paper), _ssim_paper,
               "SSIM, Gaussian window sigma 1.5, data_range = generated max - min (reference §7.2)"),
        Metric("is_paper", "IS", True, c.inception_score, _inception_score,
               "Inception Score, TF-Inception via torch-fidelity, 10 splits in list order (§7.5)",
               weights=INCEPTION, setup=c.inception),
        Metric("mask_ssim_paper", "mask-SSIM", True, c.pairwise(c.ssim_paper, "pose_masked"),
               lambda o: _ssim_paper(o) + "; both images multiplied by the target's pose mask",
               "SSIM of target and generated multiplied by the target pose mask (§2, §7.4)", needs=KEYPOINTS),
        Metric("mask_is_paper", "mask-IS", True, c.masked_inception_score,
               lambda o: _inception_score(o) + "; generated images multiplied by the target's pose mask",
               "Inception Score of the masked generated images (§7.4)", needs=KEYPOINTS, weights=INCEPTION,
               setup=c.inception),
        Metric("pckh_paper", "PCKh", True, c.pckh, _pckh,
               "the authors' PCKh: per-axis head box, alpha 0.5, micro average (§7.6)", needs=KEYPOINTS,
               setup=c.estimator),
        Metric("l1", "L1", False, c.pairwise(c.l1_score), L1, "mean |target - generated| in [-1, 1] units (§7.3)"),
        Metric("mask_l1", "mask-L1", False, c.pairwise(c.l1_score, "pose_masked"),
               L1 + "; both images multiplied by the target's pose mask", "L1 of the masked images (§7.4)",
               needs=KEYPOINTS),
        Metric("ssim_clean", "SSIM", True, c.pairwise(c.ssim_clean), SSIM_CLEAN,
               "SSIM, Gaussian window sigma 1.5, data_range 255, lossless images"),
        Metric("psnr", "PSNR", True, c.pairwise(c.psnr_score), "10 log10(255^2 / MSE) over pixels and channels",
               "peak signal-to-noise ratio in dB, data_range 255"),
        Metric("lpips_alex", "LPIPS(alex)", False, c.lpips, LPIPS.format("AlexNet"), "LPIPS v0.1, AlexNet backbone",
               weights=("alexnet",), setup=c.lpips_network("alex")),
        Metric("lpips_vgg", "LPIPS(vgg)", False, c.lpips, LPIPS.format("VGG16"), "LPIPS v0.1, VGG16 backbone",
               weights=("vgg16",), setup=c.lpips_network("vgg")),
        Metric("fid", "FID", False, c.fid,
               "torch-fidelity inception-v3-compat pool3 (2048), TF1 bilinear resize to 299 inside the network",
               "FID of the generated images against the training images (TF-Inception pool3)",
               needs=("fid_reference",), weights=INCEPTION, setup=c.inception),
        Metric("mask_ssim_gt", "gt-mask SSIM", True, c.pairwise(c.ssim_clean, "gt_masked"), f"{SSIM_CLEAN}; {GT_MASK}",
               "SSIM of target and generated inside the target's ground-truth person mask", needs=("ground_truth",)),
        Metric("mask_l1_gt", "gt-mask L1", False, c.pairwise(c.l1_score, "gt_masked"), f"{L1}; {GT_MASK}",
               "L1 of target and generated inside the target's ground-truth person mask", needs=("ground_truth",)),
        Metric("fg_iou_gt", "foreground IoU", True, c.foreground_iou,
               "foreground = pixels whose mean RGB difference from the source's background plate exceeds 12% of 255, "
               "3x3 binary opening; IoU with the target's ground-truth person mask (1 when both are empty)",
               "does the generated person stand in the target pose: IoU of the image's foreground (what differs from "
               "the source's background plate) and the target's ground-truth person mask", needs=("ground_truth",)),
    )
}  # fmt: skip

PART_IOU = ("foreground as fg_iou_gt (mean RGB difference from the source's background plate > 12% of 255, 3x3 "
            "opening), split among the target's body parts by nearest part pixel; IoU of the {0} cell's foreground "
            "with the target's {0} mask (parts/ of the synthetic dataset); pairs whose target shows no {0} left out")
for _part in ("head", "torso", "arms", "legs"):
    METRICS[f"fg_iou_{_part}_gt"] = Metric(
        f"fg_iou_{_part}_gt", f"{_part} IoU", True, c.part_foreground_iou, PART_IOU.format(_part),
        f"is the {_part} drawn where the target pose puts it: IoU of the generated foreground near the target's "
        f"{_part} and its ground-truth mask", needs=("ground_truth",))  # fmt: skip

# Default metric lists, in the column order of the paper's Table 1 (then the extras).
PROTOCOLS: dict[str, tuple[str, ...]] = {
    "paper": ("ssim_paper", "is_paper", "mask_ssim_paper", "mask_is_paper", "pckh_paper", "l1", "mask_l1"),
    "clean": ("ssim_clean", "l1", "psnr", "lpips_alex", "lpips_vgg", "fid"),
}


def resolve_metrics(protocol: str, names: list[str] | None = None) -> list[Metric]:
    """The metrics to compute: ``names`` if given (any registry name), else the protocol's list."""

    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown protocol '{protocol}': choose one of {', '.join(PROTOCOLS)}")
    chosen = names or list(PROTOCOLS[protocol])
    unknown = [n for n in chosen if n not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}: choose from {', '.join(METRICS)}")
    return [METRICS[n] for n in dict.fromkeys(chosen)]
