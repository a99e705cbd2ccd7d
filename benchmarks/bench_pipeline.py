"""Pipeline speed per image on this machine: finding the person, encoding once, rendering poses, one whole call.

Prints medians (wall and process CPU seconds), asserts nothing. The photo is a 360x480 street scene with two
synthetic people (tests/pipeline_helpers.py). Without --checkpoint, a random generator of the paper's market or
fashion architecture (base width 64) is timed::

    PYTHONPATH=src python benchmarks/bench_pipeline.py --checkpoint runs/demo/generator
    PYTHONPATH=src python benchmarks/bench_pipeline.py --preset market --device cuda --precision bf16
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from pipeline_helpers import street_scene

from posestylizer.checkpoint import save_generator
from posestylizer.config import load_config
from posestylizer.contract import InputContract
from posestylizer.inference import PoseStylizerPipeline
from posestylizer.models import Generator
from posestylizer.poselibrary import pose_names


def measure(fn, repeats: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def random_checkpoint(preset: str, folder: Path) -> Path:
    cfg = load_config(preset)
    return save_generator(Generator(cfg.model), cfg.model, folder, InputContract.of_experiment(cfg))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint")
    ap.add_argument("--preset", choices=("market", "fashion"), default="market")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = args.checkpoint or random_checkpoint(args.preset, Path(tmp) / "g")
        pipe = PoseStylizerPipeline.from_pretrained(ckpt, device=args.device, precision=args.precision)
        photo, _ = street_scene([(5, 150, 335, 250), (13, 360, 318, 190)], size=(360, 480), seed=3)
        app = pipe.appearance(photo)
        names = pose_names()
        poses = np.stack([pipe.target_keypoints(n, app) for n in names])
        n = len(names)
        rows = {
            "find people (estimator)": measure(lambda: pipe.find_people(photo), args.repeats),
            "appearance (find, crop, encode)": measure(lambda: pipe.appearance(photo), args.repeats),
            f"render {n} poses, per image": [t / n for t in measure(lambda: pipe.render(app, poses), args.repeats)],
            "whole call (library pose)": measure(lambda: pipe(photo, "walking"), args.repeats),
            "whole call, paste back": measure(lambda: pipe(photo, "walking", paste_back=True), args.repeats),
        }
    print(f"{Path(str(ckpt)).name if args.checkpoint else args.preset + ' (random, ngf 64)'} {pipe.size}, "
          f"{args.device} {args.precision}, torch threads {torch.get_num_threads()}")
    for name, (wall, cpu) in rows.items():
        print(f"  {name:34s} {wall * 1000:8.1f} ms wall  {cpu * 1000:8.1f} ms CPU")


if __name__ == "__main__":
    main()
