"""Generator inference throughput (images/s) for the paper presets; prints numbers, asserts nothing.

    python benchmarks/bench_model.py [--device cpu|cuda] [--batch 8] [--iters 5] [--ngf 64]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from posestylizer.config import load_config
from posestylizer.models import Generator


def bench(preset: str, device: str, batch: int, iters: int, ngf: int, precision: str, channels_last: bool) -> float:
    cfg = dataclasses.replace(load_config(preset).model, ngf=ngf)
    g = Generator(cfg).to(device).eval()
    h, w = cfg.image_size
    x = [torch.rand(batch, c, h, w, device=device) for c in (3, 18, 18)]
    if channels_last:
        g = g.to(memory_format=torch.channels_last)
        x = [t.contiguous(memory_format=torch.channels_last) for t in x]
    dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    device_type = torch.device(device).type
    with torch.inference_mode(), torch.autocast(device_type, dtype=dtype or torch.float32, enabled=dtype is not None):
        g(*x)  # warm-up
        if device_type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(iters):
            g(*x)
        if device_type == "cuda":
            torch.cuda.synchronize()
    return batch * iters / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--ngf", type=int, default=64)
    args = parser.parse_args()
    print(f"device {args.device}, torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}")
    for preset in ("market", "fashion"):
        for precision, cl in (("fp32", False), ("fp32", True), ("bf16", False)):
            rate = bench(preset, args.device, args.batch, args.iters, args.ngf, precision, cl)
            print(f"{preset:8s} ngf {args.ngf:3d} {precision} channels_last={cl!s:5s} {rate:8.1f} images/s")


if __name__ == "__main__":
    main()
