"""Evaluation: collect (target, generated) pairs from files, compute the chosen metrics, summarise, write reports.

All three inputs of ``posestylizer evaluate`` end up here as files: the authors' 5-panel grids, two folders of images
with matching names, or the grids and PNGs that :func:`posestylizer.inference.batch.generate_results` writes from a
checkpoint. Problems with individual files (unreadable, wrong size, unmatched, missing) are listed in the report and
never stop the run; only a folder with no result image at all is an error.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from posestylizer.errors import ConfigError, DataError
from posestylizer.imagefiles import IMAGE_EXTS, image_files, is_image_file
from posestylizer.metrics.pckh import pckh_image, pckh_score
from posestylizer.metrics.pixel import add_white_bands, apply_mask, l1, psnr
from posestylizer.metrics.registry import Metric, resolve_metrics
from posestylizer.metrics.ssim import WINDOWS, ssim
from posestylizer.pose import pose_mask
from posestylizer.viz import PAPER_JPEG_QUALITY, pair_from_name, split_grid

FASHION_BANDS = 40  # DeepFashion: 176 -> 256 wide (reference §7.2, addBounding)
Progress = Callable[[Iterable, str], Iterable]


def _no_progress(it: Iterable, desc: str = "") -> Iterable:
    return it


@dataclass
class ResultItem:
    """One evaluated pair: the result file's name, the pair's image names, and uint8 (H, W, 3) panels."""

    name: str
    src_name: str | None
    tgt_name: str
    target: np.ndarray
    generated: np.ndarray


@dataclass
class Collection:
    items: list[ResultItem]
    source: str
    unreadable: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


def _read(path: Path) -> np.ndarray:
    from posestylizer.data.dataset import read_image

    return read_image(path)


def _image_files(folder: Path, what: str) -> tuple[list[Path], list[str]]:
    if not folder.is_dir():
        raise DataError(f"{folder}: {what} folder not found")
    files = image_files(folder)
    other = [f"{p.name}: not an image file" for p in sorted(folder.iterdir())
             if p.is_file() and not is_image_file(p) and not p.name.startswith(".")]
    if not files:
        raise DataError(f"{folder}: no result images ({', '.join(IMAGE_EXTS)}) in this folder")
    return files, other


def _missing_pairs(found: set[tuple[str, str]], expected: list[tuple[str, str]] | None) -> list[str]:
    if not expected:
        return []
    return [f"{a}___{b}: no result file" for a, b in expected if (a, b) not in found]


def collect_grids(folder: str | Path, expected_pairs: list[tuple[str, str]] | None = None,
                  progress: Progress = _no_progress) -> Collection:
    """Read the authors' ``<from>___<to>_vis.jpg`` grids (reference §7.1), sorted by file name."""
    folder = Path(folder)
    files, extra = _image_files(folder, "results")
    col = Collection([], f"5-panel grids in {folder}", extra=extra)
    found: set[tuple[str, str]] = set()
    wanted = set(expected_pairs) if expected_pairs else None
    for path in progress(files, "reading grids"):
        pair = pair_from_name(path.name)
        if pair is None:
            col.extra.append(f"{path.name}: not a '<from>___<to>_vis.jpg' result name")
            continue
        if wanted is not None and pair not in wanted:
            col.extra.append(f"{path.name}: pair not in the pair list")
            continue
        found.add(pair)  # a result file exists (if unreadable, it is listed as such, not as missing)
        try:
            grid = _read(path)
        except DataError as err:
            col.unreadable.append(str(err))
            continue
        if grid.shape[1] % 5:
            col.unreadable.append(f"{path}: width {grid.shape[1]} is not 5 panels of equal width")
            continue
        panels = split_grid(grid)
        col.items.append(ResultItem(path.name, pair[0], pair[1], panels["target"].copy(), panels["generated"].copy()))
    col.missing = _missing_pairs(found, expected_pairs)
    return col


def collect_folders(targets: str | Path, generated: str | Path,
                    expected_pairs: list[tuple[str, str]] | None = None,
                    progress: Progress = _no_progress) -> Collection:
    """Pair each generated image with the target of the same name (or, for ``<from>___<to>.png``, the ``to`` image).

    Names match on the file stem, so ``x.png`` pairs with ``x.jpg``; images are read as stored (PNG is lossless).
    """
    targets, generated = Path(targets), Path(generated)
    gen_files, extra = _image_files(generated, "generated")
    if not targets.is_dir():
        raise DataError(f"{targets}: targets folder not found")
    by_stem: dict[str, Path] = {}
    for p in image_files(targets):
        by_stem.setdefault(p.stem, p)
        by_stem.setdefault(p.name, p)
    col = Collection([], f"targets in {targets} vs generated images in {generated}", extra=extra)
    used: set[str] = set()
    found: set[tuple[str, str]] = set()
    wanted = set(expected_pairs) if expected_pairs else None
    cache: dict[Path, np.ndarray] = {}
    for path in progress(gen_files, "reading images"):
        pair = pair_from_name(path.name)
        if wanted is not None and pair is not None and pair not in wanted:
            col.extra.append(f"{path.name}: pair not in the pair list")
            continue
        src_name, tgt_key = pair if pair else (None, path.stem)
        if pair:
            found.add(pair)
        tgt_path = by_stem.get(tgt_key) or by_stem.get(Path(tgt_key).stem)
        if tgt_path is None:
            col.extra.append(f"{path.name}: no target image named {tgt_key} in {targets}")
            continue
        try:
            gen = _read(path)
            if tgt_path not in cache:
                cache[tgt_path] = _read(tgt_path)
            tgt = cache[tgt_path]
        except DataError as err:
            col.unreadable.append(str(err))
            continue
        if gen.shape != tgt.shape:
            col.unreadable.append(f"{path}: generated image is {gen.shape[0]}x{gen.shape[1]}, its target "
                                  f"{tgt_path.name} is {tgt.shape[0]}x{tgt.shape[1]}")
            continue
        used.add(tgt_path.name)
        tgt_name = tgt_path.name if pair is None else tgt_key
        col.items.append(ResultItem(path.name, src_name, tgt_name, tgt, gen))
    if expected_pairs:
        col.missing = _missing_pairs(found, expected_pairs)
    else:
        col.missing = [f"{p.name}: no generated image" for p in sorted(set(by_stem.values()))
                       if p.name not in used]
    return col


@dataclass
class EvalOptions:
    """Settings of one evaluation.

    Args:
        protocol: ``paper`` or ``clean`` (see :mod:`posestylizer.metrics.registry`).
        metrics: explicit metric names (default: the protocol's list).
        white_bands: white columns padded on both sides before SSIM/L1/IS under the paper protocol (DeepFashion 40).
        ssim_window: ``11tap`` (scikit-image >= 0.15) or ``13tap`` (scikit-image <= 0.14) for ``ssim_paper``.
        annotation: target keypoints {image name: (18, 2)}, for masks and PCKh.
        pred_annotation: keypoints already estimated on the generated images {result file name: (18, 2)}.
        estimator: pose estimator for PCKh when ``pred_annotation`` is not given.
        estimator_options: keyword arguments of that estimator (e.g. openpose ``weights``).
        fid_reference: folder of training images, or an ``.npz`` with ``mu``/``sigma``.
        cache_dir: where FID reference statistics are cached.
    """

    protocol: str = "paper"
    metrics: list[str] | None = None
    white_bands: int = 0
    ssim_window: str = "11tap"
    annotation: dict[str, np.ndarray] | None = None
    pred_annotation: dict[str, np.ndarray] | None = None
    estimator: str = "mediapipe"
    estimator_options: dict[str, Any] = field(default_factory=dict)
    weights_dir: str | None = None
    device: str = "cpu"
    fid_reference: str | None = None
    cache_dir: str | None = None
    is_splits: int = 10
    batch_size: int = 32


def _jpeg_roundtrip(image: np.ndarray) -> np.ndarray:
    """The authors' crop scripts save each generated panel as JPEG (PIL default quality) before pose estimation."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=PAPER_JPEG_QUALITY)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


class _Keypoints:
    """Keypoint rows by image name, also found by file stem (``x.png`` finds the row of ``x.jpg``)."""

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.by_name = table
        self.by_stem: dict[str, np.ndarray] = {}
        for name, kp in table.items():
            self.by_stem.setdefault(Path(name).stem, kp)

    def get(self, name: str | None) -> np.ndarray | None:
        if not name:
            return None
        found = self.by_name.get(name)
        return found if found is not None else self.by_stem.get(Path(name).stem)


def _stats(values: list[float]) -> dict[str, float]:
    arr = np.asarray([v for v in values if not math.isnan(v)], dtype=np.float64)
    if arr.size == 0:
        return {"mean": float("nan"), "std": float("nan"), "n": 0}
    return {"mean": float(arr.mean()), "std": float(arr.std()), "n": int(arr.size)}


def evaluate(collection: Collection, options: EvalOptions, progress: Progress = _no_progress) -> dict[str, Any]:
    """Compute the metrics on a collection and return the report (settings, summary, per-image values, problems)."""
    if options.ssim_window not in WINDOWS:
        raise ConfigError(f"unknown SSIM window '{options.ssim_window}': choose one of {', '.join(WINDOWS)}")
    metrics = resolve_metrics(options.protocol, options.metrics)
    names = [m.name for m in metrics]
    items = collection.items
    notes: list[str] = []
    paper = options.protocol == "paper"
    bands = options.white_bands if paper else 0

    # Target keypoints: masks and PCKh need them.
    kps: list[np.ndarray | None] = [None] * len(items)
    if options.annotation is not None:
        targets_kp = _Keypoints(options.annotation)
        kps = [targets_kp.get(it.tgt_name) for it in items]
        lacking = [it.name for it, k in zip(items, kps) if k is None]
        if lacking:
            notes.append(f"{len(lacking)} target(s) not in the annotation (no mask/PCKh for them), "
                         f"e.g. {lacking[0]}")
    keypoint_metrics = [m.name for m in metrics if m.masked or m.kind == "pckh"]
    if keypoint_metrics and options.annotation is None:
        notes.append(f"{', '.join(keypoint_metrics)}: skipped, they need target keypoints (--annotation CSV)")
        metrics = [m for m in metrics if not (m.masked or m.kind == "pckh")]
    if any(m.name == "fid" for m in metrics) and not options.fid_reference:
        notes.append("fid: skipped, it needs the training images (--fid-reference DIR or stats .npz)")
        metrics = [m for m in metrics if m.name != "fid"]
    wanted = {m.name for m in metrics}

    # Build the networks first, so that a missing weights file stops the run before any long loop.
    inception = None
    if wanted & {"is_paper", "mask_is_paper", "fid"}:
        from posestylizer.metrics.inception import InceptionFeatures

        inception = InceptionFeatures(options.weights_dir, options.device, options.batch_size)
    lpips_nets = {}
    for net in ("alex", "vgg"):
        if f"lpips_{net}" in wanted:
            from posestylizer.metrics.perceptual import LPIPS

            lpips_nets[net] = LPIPS(net, options.weights_dir, options.device, options.batch_size)
    estimator = None
    if "pckh_paper" in wanted and options.pred_annotation is None:
        from posestylizer.estimators import get_estimator

        estimator = get_estimator(options.estimator, **options.estimator_options)

    # Prepared panels: white bands (paper, DeepFashion) and masks from the target keypoints.
    prepared_t = [add_white_bands(it.target, bands) for it in items]
    prepared_g = [add_white_bands(it.generated, bands) for it in items]
    masks: list[np.ndarray | None] = []
    for it, kp in zip(items, kps):
        if kp is None or not any(m.masked for m in metrics):
            masks.append(None)
            continue
        mask = pose_mask(kp, it.target.shape[:2])
        masks.append(np.pad(mask, ((0, 0), (bands, bands))) if bands else mask)

    per_image: list[dict[str, Any]] = [
        {"name": it.name, "from": it.src_name, "to": it.tgt_name} for it in items
    ]
    truncate = WINDOWS[options.ssim_window]
    for i in progress(range(len(items)), "per-image metrics"):
        t, g, mask, row = prepared_t[i], prepared_g[i], masks[i], per_image[i]
        if "ssim_paper" in wanted:
            row["ssim_paper"] = ssim(t, g, data_range=None, truncate=truncate)
        if "ssim_clean" in wanted:
            row["ssim_clean"] = ssim(t, g, data_range=255.0)
        if "l1" in wanted:
            row["l1"] = l1(t, g)
        if "psnr" in wanted:
            row["psnr"] = psnr(t, g)
        if mask is not None:
            mt, mg = apply_mask(t, mask), apply_mask(g, mask)
            if "mask_ssim_paper" in wanted:
                row["mask_ssim_paper"] = ssim(mt, mg, data_range=None, truncate=truncate)
            if "mask_l1" in wanted:
                row["mask_l1"] = l1(mt, mg)
    for net, model in lpips_nets.items():
        values = model([it.target for it in items], [it.generated for it in items])
        for row, v in zip(per_image, values):
            row[f"lpips_{net}"] = v

    summary: dict[str, Any] = {}
    for m in metrics:
        if m.kind == "image":
            summary[m.name] = _stats([r[m.name] for r in per_image if m.name in r])

    # Set-level metrics: IS on the (padded) generated panels, mask-IS on the masked ones, FID on the clean images.
    if inception is not None:
        from posestylizer.metrics.inception import FID_FEATURE, IS_FEATURE, inception_score

        if "is_paper" in wanted or "fid" in wanted:
            feats = inception(progress(prepared_g if "is_paper" in wanted else [it.generated for it in items],
                                       "inception features"))
            if "is_paper" in wanted:
                mean, std, splits = inception_score(feats[IS_FEATURE], options.is_splits)
                summary["is_paper"] = {"mean": mean, "std": std, "n": len(items), "splits": splits}
            if "fid" in wanted:
                if bands:  # FID is a clean-protocol metric: features of the unpadded images
                    feats = inception(it.generated for it in items)
                summary["fid"] = _fid(inception, feats[FID_FEATURE], options, progress)
        if "mask_is_paper" in wanted:
            masked = [apply_mask(g, m) for g, m in zip(prepared_g, masks) if m is not None]
            mean, std, splits = inception_score(inception(progress(masked, "inception (masked)"))[IS_FEATURE],
                                                options.is_splits)
            summary["mask_is_paper"] = {"mean": mean, "std": std, "n": len(masked), "splits": splits}

    if "pckh_paper" in wanted:
        summary["pckh_paper"] = _pckh(items, kps, per_image, options, estimator, paper, progress)

    return {
        "protocol": options.protocol,
        "source": collection.source,
        "settings": _settings(options, bands, metrics, estimator),
        "metrics": [m.name for m in metrics],
        "requested": names,
        "summary": summary,
        "counts": {
            "evaluated": len(items), "unreadable": len(collection.unreadable), "missing": len(collection.missing),
            "extra": len(collection.extra),
        },
        "problems": {
            "unreadable": collection.unreadable, "missing": collection.missing, "extra": collection.extra,
        },
        "notes": notes,
        "per_image": per_image,
    }


def _fid(inception, features, options: EvalOptions, progress: Progress) -> dict[str, Any]:
    from posestylizer.metrics.inception import feature_statistics, frechet_distance, reference_statistics

    ref = Path(options.fid_reference)
    if ref.suffix == ".npz":
        if not ref.is_file():
            raise DataError(f"{ref}: FID statistics file not found")
        with np.load(ref) as z:
            stats, n_ref, cache = {"mu": z["mu"], "sigma": z["sigma"]}, int(z["n"]) if "n" in z else -1, ref
    else:
        stats, n_ref, cache = reference_statistics(
            inception, ref, options.cache_dir, _read, lambda it: progress(it, "FID reference features"))
    if features.shape[0] < 2:
        return {"value": float("nan"), "n": int(features.shape[0]), "reference": str(ref), "n_reference": n_ref}
    value = frechet_distance(feature_statistics(features), stats)
    return {"value": value, "n": int(features.shape[0]), "reference": str(ref), "n_reference": n_ref,
            "reference_cache": str(cache) if cache else None}


def _pckh(items, kps, per_image, options: EvalOptions, estimator, paper: bool, progress: Progress) -> dict[str, Any]:
    results = []
    predictions = _Keypoints(options.pred_annotation) if options.pred_annotation is not None else None
    no_prediction: list[str] = []
    skipped: list[str] = []
    for i in progress(range(len(items)), "PCKh"):
        it, kp = items[i], kps[i]
        if kp is None:
            continue
        if predictions is not None:
            pred = predictions.get(it.name)
            if pred is None:
                # The authors' loop silently drops such images; we count their keypoints as wrong and list them.
                no_prediction.append(it.name)
                pred = np.full((18, 2), -1, dtype=np.int64)
        else:
            pred = estimator(_jpeg_roundtrip(it.generated) if paper else it.generated)
            per_image[i]["pred_keypoints_yx"] = np.asarray(pred).tolist()
        res = pckh_image(kp, pred)
        if res is None:
            skipped.append(it.name)
            per_image[i]["pckh"] = "skipped (fewer than 2 head keypoints in the target)"
        else:
            per_image[i]["pckh_correct"], per_image[i]["pckh_valid"] = res.correct, res.valid
        results.append(res)
    correct, valid, score = pckh_score(results)
    source = "pred-annotation CSV" if options.pred_annotation is not None else estimator.name
    return {"value": score, "correct": correct, "valid": valid, "images": len(results) - len(skipped),
            "skipped": skipped, "no_prediction": no_prediction, "estimator": source}


def _settings(options: EvalOptions, bands: int, metrics: list[Metric], estimator) -> dict[str, Any]:
    s: dict[str, Any] = {"protocol": options.protocol, "device": options.device}
    if any(m.name == "ssim_paper" or m.name == "mask_ssim_paper" for m in metrics):
        s["ssim_paper"] = (f"Gaussian sigma 1.5, {options.ssim_window} window, population covariance, "
                           "data_range = generated max - min, 5-px border cropped")
    if any(m.name == "ssim_clean" for m in metrics):
        s["ssim_clean"] = "Gaussian sigma 1.5, 11-tap window, population covariance, data_range 255"
    s["white_bands"] = bands
    if any(m.weights for m in metrics):
        s["weights_dir"] = options.weights_dir or "torch hub cache"
    if any(m.kind == "set" and m.name != "fid" for m in metrics):
        s["inception_score"] = f"torch-fidelity inception-v3-compat logits_unbiased, {options.is_splits} splits " \
                               "in file-name order, no shuffling"
    if any(m.name == "fid" for m in metrics):
        s["fid"] = "torch-fidelity inception-v3-compat pool3 (2048), TF1 bilinear resize to 299 inside the network"
    if any(m.kind == "pckh" for m in metrics):
        s["pckh_keypoints"] = "pred-annotation CSV" if options.pred_annotation is not None else estimator.name
    return s


# ----------------------------------------------------------------------------------------------------------- output

def _cell(report: dict[str, Any], name: str) -> str:
    s = report["summary"].get(name)
    if s is None:
        return "-"
    if "value" in s:
        v = s["value"]
        return "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"
    if s["n"] == 0:
        return "-"
    return f"{s['mean']:.4f} ± {s['std']:.4f}"


def format_table(report: dict[str, Any]) -> str:
    """A table in the spirit of the paper's Table 1: one row, one column per metric (mean ± std where per image)."""
    from posestylizer.metrics.registry import METRICS

    names = report["metrics"]
    headers = []
    for n in names:
        label = METRICS[n].label
        if n == "pckh_paper":
            label += f" ({report['summary'][n]['estimator']})"
        headers.append(label + (" ↑" if METRICS[n].higher_is_better else " ↓"))
    cells = [_cell(report, n) for n in names]
    widths = [max(len(h), len(c)) for h, c in zip(headers, cells)]
    c = report["counts"]
    lines = [
        f"protocol: {report['protocol']} — {report['source']}",
        (f"images: {c['evaluated']} evaluated, {c['unreadable']} unreadable, {c['missing']} missing, "
         f"{c['extra']} extra"),
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
        "| " + " | ".join(v.ljust(w) for v, w in zip(cells, widths)) + " |",
    ]
    for key in ("unreadable", "missing", "extra"):
        for p in report["problems"][key][:5]:
            lines.append(f"  {key}: {p}")
        if len(report["problems"][key]) > 5:
            lines.append(f"  {key}: ... {len(report['problems'][key]) - 5} more (see the JSON report)")
    lines += [f"  note: {n}" for n in report["notes"]]
    return "\n".join(lines)


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def write_reports(report: dict[str, Any], out_dir: str | Path, stem: str = "metrics") -> tuple[Path, Path]:
    """Write ``<stem>.json`` (settings, summary, per-image values, problems) and ``<stem>.csv`` (per image)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out / f"{stem}.json", out / f"{stem}.csv"
    json_path.write_text(json.dumps(_json_safe(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    columns = ["name", "from", "to"] + [
        k for k in dict.fromkeys(k for row in report["per_image"] for k in row)
        if k not in ("name", "from", "to", "pred_keypoints_yx")
    ]
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in report["per_image"]:
            writer.writerow({k: row.get(k, "") for k in columns})
    return json_path, csv_path
