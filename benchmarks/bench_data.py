"""Data tools' throughput: pose-map renders/s vs reading precomputed .npy maps, synthesis and check rates.

The training loader's batches/s are a case of ``posestylizer bench`` (``--cases data:demo:8 data:market:8``).
Prints numbers, asserts nothing. Runs in one process (set OMP/MKL threads to 1 for one-core figures):

    OMP_NUM_THREADS=1 python benchmarks/bench_data.py [--identities 40] [--poses 10] [--seconds 2]
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from posestylizer.data import check_dataset, get_layout, write_dataset
from posestylizer.keypoints.maps import heatmaps


def rate(fn, items: list, seconds: float) -> float:
    """Calls of ``fn(item)`` per second, cycling through ``items``, over at least ``seconds`` (after a warm-up)."""
    fn(items[0])
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn(items[n % len(items)])
        n += 1
    return n / elapsed


def bench_renders(seconds: float) -> None:
    rng = np.random.default_rng(0)
    for preset in ("market", "fashion"):
        layout = get_layout(preset)
        h, w = layout.image_size
        kps = [np.stack([rng.integers(0, h, 18), rng.integers(0, w, 18)], 1) for _ in range(64)]
        r = rate(functools.partial(heatmaps, size=(h, w), sigma=layout.heatmap_sigma), kps, seconds)
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for i, kp in enumerate(kps):
                paths.append(Path(tmp) / f"{i}.jpg.npy")
                np.save(paths[-1], heatmaps(kp, (h, w), layout.heatmap_sigma).transpose(1, 2, 0))
            r_npy = rate(lambda path: np.load(path).transpose(2, 0, 1).copy(), paths, seconds)
        mb = h * w * 18 * 4 / 2**20
        print(
            f"pose maps {preset:7s} {h}x{w}x18 (sigma {layout.heatmap_sigma:g}): render {r:8.0f}/s   "
            f"read .npy {r_npy:8.0f}/s   ({mb:.2f} MiB per map on disk)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--identities", type=int, default=40)
    parser.add_argument("--poses", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measured rate")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, numpy {np.__version__}, torch threads {torch.get_num_threads()}")
    bench_renders(args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        for preset in ("market", "fashion"):
            root = Path(tmp) / preset
            start = time.perf_counter()
            summary = write_dataset(root, preset, args.identities, args.poses, seed=0)
            took = time.perf_counter() - start
            n = sum(summary.images.values())
            h, w = summary.layout.image_size
            print(f"synth {preset:7s} {h}x{w}: {n} images (+ masks, backgrounds, CSVs) in {took:.2f} s = "
                  f"{n / took:.0f} images/s")  # fmt: skip
            start = time.perf_counter()
            report = check_dataset(root, preset)
            took = time.perf_counter() - start
            print(f"check {preset:7s}: {n} images decoded and validated in {took:.2f} s = {n / took:.0f} images/s "
                  f"({'clean' if report.ok else 'PROBLEMS'})")  # fmt: skip


if __name__ == "__main__":
    main()
