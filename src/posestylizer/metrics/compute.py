"""How each metric is computed from :class:`~posestylizer.metrics.inputs.EvalInputs`.

Every function here has the signature ``(inputs, name) -> MetricResult`` and is what a registry entry
(:mod:`posestylizer.metrics.registry`) carries as its ``compute``; ``name`` is the entry's name, the column its
per-image values go to. Per-image metrics are built by :func:`pairwise` from a score of one (target, generated) pair and
the images it reads; set metrics (IS, FID, PCKh, LPIPS, which batch through networks) are written out. Networks are
built by the entries' ``setup`` functions before any metric runs, so a missing weights file stops the run early.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from posestylizer.data.synth.render import PART_NAMES
from posestylizer.errors import DataError
from posestylizer.estimators import get_estimator
from posestylizer.metrics.inception import (
    FID_FEATURE,
    IS_FEATURE,
    InceptionFeatures,
    feature_statistics,
    frechet_distance,
    reference_statistics,
)
from posestylizer.metrics.inception import inception_score as score
from posestylizer.metrics.inputs import EvalInputs, EvalOptions, Keypoints
from posestylizer.metrics.pckh import pckh_image, pckh_score
from posestylizer.metrics.perceptual import LPIPS
from posestylizer.metrics.pixel import apply_mask, foreground, iou, l1, part_ious, psnr
from posestylizer.metrics.results import MetricResult, per_image_result
from posestylizer.metrics.ssim import WINDOWS, ssim
from posestylizer.results.protocol import PAPER_JPEG_QUALITY
from posestylizer.runtime.imagefiles import read_image

Score = Callable[[np.ndarray, np.ndarray, EvalOptions], float]
Compute = Callable[[EvalInputs, str], MetricResult]

# Which images a pairwise metric compares: the (padded) panels, or the panels with the background zeroed by the
# target's pose mask (from keypoints) or by its ground-truth person mask (synthetic data).
VIEWS: dict[str, Callable[[EvalInputs], list[tuple[np.ndarray, np.ndarray] | None]]] = {
    "images": lambda inputs: list(zip(inputs.targets(), inputs.generated())),
    "pose_masked": lambda inputs: inputs.masked(inputs.pose_masks()),
    "gt_masked": lambda inputs: inputs.masked(inputs.gt_masks()),
}


def pairwise(score: Score, view: str = "images") -> Compute:
    """A per-image metric: ``score(target, generated, options)`` on every pair of ``view``; mean ± std over images."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}: choose one of {', '.join(VIEWS)}")

    def compute(inputs: EvalInputs, name: str) -> MetricResult:
        pairs = VIEWS[view](inputs)
        values = [None if p is None else score(p[0], p[1], inputs.options)
                  for p in inputs.progress(pairs, name, unit="image")]  # fmt: skip
        return per_image_result(name, values)

    return compute


# ------------------------------------------------------------------------------------------------ pairwise scores
def ssim_paper(target: np.ndarray, generated: np.ndarray, options: EvalOptions) -> float:
    return ssim(target, generated, data_range=None, truncate=WINDOWS[options.ssim_window])


def ssim_clean(target: np.ndarray, generated: np.ndarray, options: EvalOptions) -> float:
    return ssim(target, generated, data_range=255.0)


def l1_score(target: np.ndarray, generated: np.ndarray, options: EvalOptions) -> float:
    return l1(target, generated)


def psnr_score(target: np.ndarray, generated: np.ndarray, options: EvalOptions) -> float:
    return psnr(target, generated)


def foreground_iou(inputs: EvalInputs, name: str) -> MetricResult:
    """IoU of the generated image's foreground (pixels that differ from the source's background plate) and the
    target's ground-truth person mask: does the person stand where the target pose puts them?"""
    values = []
    for it, mask, plate in zip(inputs.items, inputs.gt_masks(padded=False), inputs.plates()):
        values.append(None if mask is None or plate is None else iou(foreground(it.generated, plate), mask))
    return per_image_result(name, values)


def part_foreground_iou(inputs: EvalInputs, name: str) -> MetricResult:
    """Per-part IoU (``fg_iou_<part>_gt``): the generated foreground as :func:`foreground_iou` finds it, split among
    the target's body parts by nearest part pixel, against each part's mask (:func:`~.pixel.part_ious`). Pairs whose
    target shows none of the part are left out."""

    part = PART_NAMES.index(name.removeprefix("fg_iou_").removesuffix("_gt")) + 1
    values = []
    for it, parts, plate in zip(inputs.items, inputs.gt_parts(), inputs.plates()):
        ok = parts is not None and plate is not None
        values.append(part_ious(foreground(it.generated, plate), parts).get(part) if ok else None)
    return per_image_result(name, values)


# --------------------------------------------------------------------------------------------------- networks
def inception(inputs: EvalInputs):
    """The TF-Inception network (torch-fidelity), built once per evaluation."""

    o = inputs.options
    return inputs.cached("inception", lambda: InceptionFeatures(o.weights_dir, o.device, o.batch_size))


def lpips_network(net: str) -> Callable[[EvalInputs], Any]:
    def build(inputs: EvalInputs):
        o = inputs.options
        return inputs.cached(("lpips", net), lambda: LPIPS(net, o.weights_dir, o.device, o.batch_size))

    return build


def estimator(inputs: EvalInputs):
    """The pose estimator of PCKh; None when the keypoints of the generated images are given (pred-annotation)."""
    o = inputs.options
    if o.pred_annotation is not None:
        return None

    def make():
        return get_estimator(o.estimator, **o.estimator_options)

    return inputs.cached("estimator", make)


def _features(inputs: EvalInputs, padded: bool) -> dict[str, Any]:
    """Inception features of the generated images, with the white bands (IS, paper) or without (FID)."""
    key = ("features", inputs.bands if padded else 0)  # without bands both are the same images: computed once
    images = inputs.generated() if padded else [it.generated for it in inputs.items]
    return inputs.cached(key, lambda: inception(inputs)(inputs.progress(images, "inception features", unit="image")))


# ------------------------------------------------------------------------------------------------ set metrics
def inception_score(inputs: EvalInputs, name: str) -> MetricResult:
    """IS of the (padded) generated panels, splits in file-name order (reference §7.5)."""

    mean, std, splits = score(_features(inputs, padded=True)[IS_FEATURE], inputs.options.is_splits)
    return MetricResult(mean, len(inputs.items), std, details={"splits": splits})


def masked_inception_score(inputs: EvalInputs, name: str) -> MetricResult:
    """IS of the generated panels multiplied by the target pose masks (reference §7.4); images without one are left
    out."""

    masked = [apply_mask(g, m) for g, m in zip(inputs.generated(), inputs.pose_masks()) if m is not None]
    feats = inception(inputs)(inputs.progress(masked, "inception (masked)", unit="image"))
    mean, std, splits = score(feats[IS_FEATURE], inputs.options.is_splits)
    return MetricResult(mean, len(masked), std, details={"splits": splits})


def fid(inputs: EvalInputs, name: str) -> MetricResult:
    """FID of the unpadded generated images against the training images' statistics (cached on disk)."""

    o = inputs.options
    ref = Path(o.fid_reference)
    cache = None
    if ref.suffix == ".npz":
        if not ref.is_file():
            raise DataError(f"{ref}: FID statistics file not found")
        with np.load(ref, allow_pickle=False) as z:
            stats, n_ref, cache = {"mu": z["mu"], "sigma": z["sigma"]}, int(z["n"]) if "n" in z else -1, ref
    else:
        stats, n_ref, cache = reference_statistics(
            inception(inputs), ref, o.cache_dir, read_image, inputs.progress)
    features = _features(inputs, padded=False)[FID_FEATURE]
    details = {"reference": str(ref), "n_reference": n_ref}
    if features.shape[0] < 2:
        return MetricResult(float("nan"), int(features.shape[0]), details=details)
    value = frechet_distance(feature_statistics(features), stats)
    return MetricResult(value, int(features.shape[0]),
                        details={**details, "reference_cache": str(cache) if cache else None})  # fmt: skip


def lpips(inputs: EvalInputs, name: str) -> MetricResult:
    """LPIPS distance of every (unpadded) pair, batched through the network named by the entry (``lpips_<net>``)."""
    model = lpips_network(name.removeprefix("lpips_"))(inputs)
    values = model([it.target for it in inputs.items], [it.generated for it in inputs.items])
    return per_image_result(name, values)


def pckh(inputs: EvalInputs, name: str) -> MetricResult:
    """The authors' PCKh (reference §7.6) of keypoints estimated on (or given for) the generated images."""

    o = inputs.options
    n = len(inputs.items)
    columns: dict[str, list[Any]] = {k: [None] * n for k in ("pred_keypoints_yx", "pckh", "pckh_correct", "pckh_valid")}
    results, skipped, no_prediction = [], [], []
    predict = _predictor(inputs, no_prediction, columns["pred_keypoints_yx"])
    for i in inputs.progress(range(n), "PCKh", unit="image"):
        kp = inputs.keypoints()[i]
        if kp is None:
            continue
        res = pckh_image(kp, predict(i))
        if res is None:
            skipped.append(inputs.items[i].name)
            columns["pckh"][i] = "skipped (fewer than 2 head keypoints in the target)"
        else:
            columns["pckh_correct"][i], columns["pckh_valid"][i] = res.correct, res.valid
        results.append(res)
    correct, valid, score = pckh_score(results)
    images = len(results) - len(skipped)
    source = "pred-annotation CSV" if o.pred_annotation is not None else estimator(inputs).name
    details = {"correct": correct, "valid": valid, "images": images, "skipped": skipped,
               "no_prediction": no_prediction, "estimator": source}  # fmt: skip
    return MetricResult(score, images, columns=columns, details=details)


def _predictor(inputs: EvalInputs, no_prediction: list[str], predicted: list[Any]) -> Callable[[int], np.ndarray]:
    """Item index -> (18, 2) keypoints of its generated image: from the pred-annotation, or estimated (and recorded)."""
    o = inputs.options
    if o.pred_annotation is not None:
        table = Keypoints(o.pred_annotation)

        def given(i: int) -> np.ndarray:
            pred = table.get(inputs.items[i].name)
            if pred is None:
                # The authors' loop silently drops such images; we count their keypoints as wrong and list them.
                no_prediction.append(inputs.items[i].name)
                pred = np.full((18, 2), -1, dtype=np.int64)
            return pred

        return given
    net, paper = estimator(inputs), o.protocol == "paper"

    def estimated(i: int) -> np.ndarray:
        gen = inputs.items[i].generated
        pred = net(_jpeg_roundtrip(gen) if paper else gen)
        predicted[i] = np.asarray(pred).tolist()
        return pred

    return estimated


def _jpeg_roundtrip(image: np.ndarray) -> np.ndarray:
    """The authors' crop scripts save each generated panel as JPEG (PIL default quality) before pose estimation."""

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=PAPER_JPEG_QUALITY)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))
