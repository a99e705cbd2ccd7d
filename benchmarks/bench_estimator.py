"""The MediaPipe estimator on dataset-sized images: detection rate and PCKh on synthetic ground truth, per setting.

Builds synthetic ground-truth sets with :func:`posestylizer.data.synth.write_dataset` (128x64 ``market``, 256x176
``fashion``; 64x32 by area-downscaling the 128x64 images and halving their keypoints), runs each estimator setting and
prints a markdown table: images with a person found, PCKh (``posestylizer.metrics.pckh``, authors' definition; an image
without a person counts all its keypoints wrong), the share of people found by the crop fallback, the share of
person-free background plates where a "person" is found, and images/s. Then the same settings on the real photos
available offline (``skimage.data.astronaut``, ``camera``), downscaled, against each photo's full-size keypoints from
the detector-only setting. Prints numbers, asserts nothing:

    PYTHONPATH=src python benchmarks/bench_estimator.py [--count 200] [--variants before,default]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from posestylizer.data.formats import read_annotations
from posestylizer.data.layouts import get_layout
from posestylizer.data.synth import background_path, write_dataset
from posestylizer.errors import ConfigError
from posestylizer.estimators import get_estimator
from posestylizer.keypoints.vocab import FLIP_INDEX
from posestylizer.metrics.pckh import pckh_image, pckh_score

# name -> MediaPipeEstimator options. "before" is the estimator as it was; "default" is today's default.
VARIANTS = {
    "before": {"roi": "detect"},
    "raw": {"min_height": 0, "roi": "detect"},
    "framed": {"pad": 0.25, "roi": "detect"},
    "crop": {"roi": "crop"},
    "framed+crop": {"pad": 0.25},
    "default": {},
    "lite": {"model_complexity": 0},
    "heavy": {"model_complexity": 2},
}
Sample = tuple[np.ndarray, np.ndarray, str]  # uint8 (H, W, 3) image, (18, 2) (y, x) keypoints, image name


def read_set(root: Path, preset: str) -> tuple[list[Sample], list[np.ndarray]]:
    """(image, keypoints, name) of both phases of a synthetic dataset, and the person-free background plates."""
    layout = get_layout(preset)
    samples, plates = [], []
    for phase in ("train", "test"):
        for name, kp in read_annotations(layout.annotation_path(root, phase)).items():
            image = np.asarray(Image.open(layout.image_dir(root, phase) / name).convert("RGB"))
            samples.append((image, kp, name))
            plates.append(np.asarray(Image.open(background_path(root, phase, name)).convert("RGB")))
    return samples, plates


def halve(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return np.asarray(Image.fromarray(image).resize((w // 2, h // 2), Image.BOX))


def halve_sample(sample: Sample) -> Sample:
    """Area-downscale by 2. Pixel k covers [k, k + 1), whose centre lands in pixel k // 2; missing stays -1."""
    image, kp, name = sample
    return halve(image), np.where(kp >= 0, kp // 2, kp), name


def build_sets(root: Path, count: int) -> dict[str, tuple[list[Sample], list[np.ndarray]]]:
    identities = max(2, count // 10)
    write_dataset(root / "market", "market", identities=identities, poses=10, seed=1)
    write_dataset(root / "fashion", "fashion", identities=identities, poses=10, seed=1)
    market, market_plates = read_set(root / "market", "market")
    return {
        "64x32": ([halve_sample(s) for s in market], [halve(p) for p in market_plates]),
        "128x64": (market, market_plates),
        "256x176": read_set(root / "fashion", "fashion"),
    }


def view(name: str) -> str:
    """The view a DeepFashion-style synthetic name carries (``..._3back.jpg``), else ``all``."""
    return next((v for v in ("front", "back", "side") if Path(name).stem.endswith(v)), "all")


def evaluate(estimator, samples: list[Sample], plates: list[np.ndarray]) -> dict:
    """Detection rate, PCKh (also per view, and forgiving left/right swaps), crop share, empty-plate rate, speed."""
    found = from_crop = 0
    scores, mirrored, views = [], [], []
    start = time.perf_counter()
    for image, kp, name in samples:
        pred = estimator(image)
        found += estimator.last_source is not None
        from_crop += estimator.last_source == "crop"
        scores.append(pckh_image(kp, pred))
        # Left/right confusions (a back view read as a front view): the better of the prediction and its mirror.
        swapped = pckh_image(kp, pred[list(FLIP_INDEX)])
        mirrored.append(max(scores[-1], swapped, key=lambda r: r.correct) if swapped else None)
        views.append(view(name))
    rate = len(samples) / (time.perf_counter() - start)
    false = 0
    for plate in plates:
        estimator(plate)
        false += estimator.last_source is not None
    by_view = {v: pckh_score([s for s, w in zip(scores, views) if w == v])[2] for v in sorted(set(views))}
    return {
        "found": found / len(samples), "pckh": pckh_score(scores)[2], "mirror": pckh_score(mirrored)[2],
        "views": by_view, "crop": from_crop / max(found, 1), "empty": false / max(len(plates), 1), "rate": rate,
    }


def real_photos() -> dict[str, np.ndarray]:
    from skimage import data

    return {"astronaut": data.astronaut(), "camera": np.stack([data.camera()] * 3, axis=-1)}


def bench_photos(estimators: dict) -> None:
    """Each photo box-downscaled to 256, 128 and 64 pixels square, against its full-size detector keypoints."""
    reference = get_estimator("mediapipe", **VARIANTS["before"])
    print("\n| photo | size | variant | found | PCKh vs full size | mean error (full-size px) |")
    print("|---|---|---|---|---|---|")
    for name, photo in real_photos().items():
        ref = reference(photo)
        for size in (512, 256, 128, 64):
            small = np.asarray(Image.fromarray(photo).resize((size, size), Image.BOX))
            for variant, est in estimators.items():
                kp = est(small)
                up = np.where(kp >= 0, np.rint((kp + 0.5) * 512 / size - 0.5), -1).astype(np.int64)
                both = (up[:, 0] >= 0) & (ref[:, 0] >= 0)
                err = float(np.hypot(*(up[both] - ref[both]).T).mean()) if both.any() else float("nan")
                score = pckh_image(ref, up)
                print(f"| {name} | {size} | {variant} | {est.last_source or 'no'} | "
                      f"{score.correct}/{score.valid} | {err:.1f} |")
    reference.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="images per size (multiple of 10)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names of VARIANTS")
    parser.add_argument("--no-photos", action="store_true", help="skip the real-photo table")
    args = parser.parse_args()
    os.environ.setdefault("GLOG_minloglevel", "2")
    estimators = {}
    for name in args.variants.split(","):
        try:
            estimators[name] = get_estimator("mediapipe", **VARIANTS[name])
        except ConfigError as err:
            print(f"{name}: not available: {err}")
    with tempfile.TemporaryDirectory() as tmp:
        sets = build_sets(Path(tmp), args.count)
        print(f"\n{args.count} synthetic images per size; 'empty' = the same number of person-free backgrounds\n")
        print("| size | variant | found | PCKh | PCKh, L/R swaps forgiven | PCKh by view | found by crop "
              "| found on empty | images/s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for size, (samples, plates) in sets.items():
            for name, est in estimators.items():
                r = evaluate(est, samples, plates)
                views = " ".join(f"{v} {p:.2f}" for v, p in r["views"].items()) if len(r["views"]) > 1 else "-"
                print(f"| {size} | {name} | {r['found']:.1%} | {r['pckh']:.3f} | {r['mirror']:.3f} | {views} | "
                      f"{r['crop']:.0%} | {r['empty']:.1%} | {r['rate']:.0f} |", flush=True)
    if not args.no_photos:
        bench_photos(estimators)
    for est in estimators.values():
        est.close()


if __name__ == "__main__":
    main()
