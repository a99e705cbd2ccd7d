"""Generator size and speed of the ablation variants (paper Table 2, configs/ablations/).

Prints each variant's parameter count at the given presets, then its forward and forward+backward time per batch at
one recipe (train mode, random inputs), as medians over interleaved rounds and as ratios to the full model.
Prints numbers, asserts nothing:

    python benchmarks/bench_variants.py [--presets market demo] [--recipe demo] [--batch 8] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from posestylizer.config import load_config
from posestylizer.experiments.params import parameter_table
from posestylizer.experiments.variants import load_variants
from posestylizer.models import Generator, init_generator_weights


def print_parameters(presets: list[str]) -> None:
    tables = {p: parameter_table(load_config(p)) for p in presets}
    print(f"{'variant':16s} {'Table 2 row':22s}" + "".join(f" {p:>12s}" for p in presets))
    for i, (name, row, _) in enumerate(tables[presets[0]]):
        print(f"{name:16s} {row or '-':22s}" + "".join(f" {tables[p][i][2]:>12,d}" for p in presets))


def time_variants(recipe: str, batch: int, rounds: int) -> dict[str, tuple[float, float]]:
    """Median seconds per batch (forward, forward+backward) of each variant, rounds interleaved across variants."""
    base = load_config(recipe)
    nets = {v.name: init_generator_weights(Generator(v.apply(base).model)).train() for v in load_variants()}
    h, w = base.model.image_size
    inputs = (torch.rand(batch, 3, h, w) * 2 - 1, torch.rand(batch, 18, h, w), torch.rand(batch, 18, h, w))
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in nets}
    for r in range(rounds + 1):  # round 0 warms up
        for name, g in nets.items():
            start = time.perf_counter()
            with torch.no_grad():
                g(*inputs)
            mid = time.perf_counter()
            g(*inputs).square().mean().backward()
            end = time.perf_counter()
            if r:
                times[name][0].append(mid - start)
                times[name][1].append(end - mid)
    return {name: (statistics.median(f), statistics.median(fb)) for name, (f, fb) in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["market", "demo"])
    parser.add_argument("--recipe", default="demo")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print_parameters(args.presets)
    medians = time_variants(args.recipe, args.batch, args.rounds)
    full = medians["full"]
    print(f"\n{args.recipe} recipe, batch {args.batch}, {torch.get_num_threads()} threads, median of {args.rounds}:")
    print(f"{'variant':16s} {'fwd ms':>8s} {'x full':>7s} {'fwd+bwd ms':>11s} {'x full':>7s}")
    for name, (f, fb) in medians.items():
        print(f"{name:16s} {f * 1e3:8.1f} {f / full[0]:7.2f} {fb * 1e3:11.1f} {fb / full[1]:7.2f}")


if __name__ == "__main__":
    main()
