"""``posestylizer train``: train APS from a preset on a PATN-layout dataset (also under torchrun)."""

from __future__ import annotations

import argparse
import sys

from posestylizer.config import PRESETS
from posestylizer.runtime.progress import Progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train APS (one process, or one rank per device under torchrun)",
        description="Trains the generator and both discriminators with the paper's objective and writes a run "
        "folder: config.yaml, scalars.jsonl + tb/ (TensorBoard), samples/, checkpoints/ (full training state, "
        "written atomically) and generator/ (the latest generator for evaluate/convert). Scale out with "
        "`torchrun --nproc_per_node=N -m posestylizer train ...` (train.batch_size is the global batch).",
        epilog="examples: posestylizer train --preset market --data data/market train.batch_size=32 | "
        "posestylizer train --resume runs/market | "
        "posestylizer train --preset market --data data/market --init-from checkpoints/market_APS",
    )
    p.add_argument("--preset", choices=PRESETS, help="config preset")
    p.add_argument("--data", metavar="ROOT", help="dataset root (PATN layout; `posestylizer data synth` makes one)")
    p.add_argument("--config", metavar="FILE", help="YAML file with config differences (applied after the preset)")
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/<name>)")
    p.add_argument("--resume", metavar="RUN", help="continue exactly from a run folder's newest checkpoint (or a "
                   "checkpoints/state-*.pt file); its config.yaml is used, overrides apply on top")  # fmt: skip
    p.add_argument("--init-from", action="append", metavar="PATH", help="start G, D_PB and D_PP from the authors' "
                   "checkpoints: their run folder (latest_netG.pth, latest_netD_PB.pth, latest_netD_PP.pth) or, "
                   "repeated, *_netG.pth / *_netD_PB.pth / *_netD_PP.pth files; networks not given start fresh")  # fmt: skip
    p.add_argument("--vgg-weights", metavar="FILE", help="torchvision VGG19 state dict (vgg19-dcbb9e9d.pth) for "
                   "the perceptual loss, when torchvision's ImageNet weights cannot be downloaded")  # fmt: skip
    p.add_argument("--max-steps", type=_at_least_one, default=0, metavar="N",
                   help="stop (with a checkpoint) after N >= 1 iterations in total (default: the config's length)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="dotted config overrides, e.g. train.lr=1e-4")
    p.set_defaults(func=run)


def _at_least_one(text: str) -> int:
    """``--max-steps`` takes a whole number >= 1 (0 once meant "no limit", which read as "stop at once")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value} (leave it out to train to the end)")
    return value


def run(args: argparse.Namespace) -> int:
    from posestylizer.runtime.outputs import check_folder_path
    from posestylizer.training.run import run_training

    if args.out:
        check_folder_path(args.out, "--out")
    result = run_training(
        preset=args.preset, data=args.data, overrides=args.overrides, config_file=args.config, out=args.out,
        resume=args.resume, init_from=args.init_from, vgg_weights=args.vgg_weights, max_steps=args.max_steps,
        progress=Progress(not args.quiet),
    )  # fmt: skip
    if result.run_dir is not None:
        print(f"{result.steps} iterations, {result.images_per_second:.1f} images/s; run folder: {result.run_dir}")
        if result.interrupted:
            print(f"interrupted: continue with `posestylizer train --resume {result.run_dir}`", file=sys.stderr)
            return 130
    return 0
