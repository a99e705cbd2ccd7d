"""Training throughput: images/s of full APS iterations (G step, D_PP step, D_PB step) per preset.

Prints numbers, asserts nothing. The data are random tensors already in memory (loader cost is bench_data.py's
subject), so this measures the networks and the objective only. The paper presets are full width (ngf = ndf = 64);
on a CPU the batch is small (throughput in images/s barely depends on it there, memory does).

    python benchmarks/bench_train.py [--presets synthetic market fashion demo] [--batch 4] [--steps 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import time

import torch

from posestylizer.config import load_config
from posestylizer.losses import VGGRelu12
from posestylizer.training.distributed import DistInfo, resolve_device
from posestylizer.training.loop import Trainer


class RandomPairs(torch.utils.data.Dataset):
    """A stand-in dataset: the Trainer only needs its length here (batches are built directly)."""

    def __len__(self) -> int:
        return 1024


def random_batch(cfg, batch: int) -> dict[str, torch.Tensor]:
    h, w = cfg.model.image_size
    gen = torch.Generator().manual_seed(0)
    return {
        "src_img": torch.rand(batch, 3, h, w, generator=gen) * 2 - 1,
        "tgt_img": torch.rand(batch, 3, h, w, generator=gen) * 2 - 1,
        "src_pose": torch.rand(batch, 18, h, w, generator=gen),
        "tgt_pose": torch.rand(batch, 18, h, w, generator=gen),
    }


def config_for(preset: str, batch: int, extra: list[str]):
    """A preset (``demo`` is the recipe of ``posestylizer demo``, configs/demo.yaml) at this benchmark's batch size."""
    return load_config(preset, overrides=[f"train.batch_size={batch}"] + extra)


def bench(
    preset: str, batch: int, steps: int, device: torch.device, extra: list[str], perceptual: bool
) -> tuple[float, float]:
    """(images/s, seconds per iteration) after one warm-up iteration."""
    cfg = config_for(preset, batch, extra)
    vgg = VGGRelu12() if perceptual else None  # random weights: the same cost as the real ones
    trainer = Trainer(cfg, RandomPairs(), DistInfo(device=device), perceptual=vgg)
    data = random_batch(cfg, batch)
    trainer.train_step(data)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(data)
    if device.type == "cuda":
        torch.cuda.synchronize()
    per_it = (time.perf_counter() - start) / steps
    return batch / per_it, per_it


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=["demo", "synthetic", "market", "fashion"])
    p.add_argument("--batch", type=int, default=4, help="images per iteration (default 4)")
    p.add_argument("--steps", type=int, default=3, help="timed iterations per preset (default 3)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--perceptual", action="store_true", help="include the VGG19 relu1_2 term")
    p.add_argument("overrides", nargs="*", help="config overrides for every preset, e.g. train.precision=bf16")
    args = p.parse_args()
    device = resolve_device(args.device)
    extra = list(args.overrides)
    print(f"device {device}, {torch.get_num_threads()} threads, batch {args.batch}, torch {torch.__version__}")
    for preset in args.presets:
        cfg = config_for(preset, args.batch, extra)
        m = cfg.model
        ips, per_it = bench(preset, args.batch, args.steps, device, extra, args.perceptual)
        print(
            f"{preset:9s} {m.image_size[0]}x{m.image_size[1]} blocks {m.n_blocks} ngf {m.ngf} ndf {m.ndf} "
            f"{cfg.train.precision}: {ips:7.2f} images/s ({per_it:.2f} s/iteration)",
            flush=True,
        )


if __name__ == "__main__":
    main()
