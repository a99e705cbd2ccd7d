"""``posestylizer viz {adapn}``: figures that look inside a trained model.

``adapn`` draws the paper's Fig. 8 (:mod:`posestylizer.experiments.fig8`): per decoder block, the channel-averaged
bias and scale maps of its adaptive norms for one source person, and prints how much each varies over positions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from posestylizer.commands.argtypes import device
from posestylizer.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("viz", help="figures that look inside a trained model (AdaPN statistics, Fig. 8)")
    viz_sub = p.add_subparsers(dest="viz_command", metavar="SUBCOMMAND")
    a = viz_sub.add_parser(
        "adapn",
        help="draw the bias and scale maps of every decoder block's adaptive norm (the paper's Fig. 8)",
        description="Prepares --source as `generate` does (finds and frames the person, computes the appearance "
        "code S) and draws, per decoder block, the channel means of the bias y_b and scale y_w its adaptive norms "
        "compute from S. AdaPN maps vary over positions; AdaIN maps are flat.",
    )
    a.add_argument("--checkpoint", required=True, help="native checkpoint folder, training run folder, or an "
                   "authors' latest_netG.pth")
    a.add_argument("--source", required=True, help="photo of the person")
    a.add_argument("--source-pose", metavar="FILE", help="keypoints of the source person (OpenPose, COCO or "
                   "BlazePose JSON, or a PATN CSV; a dataset's annotation CSV gives the row of --source's file "
                   "name); default: estimate them (needs posestylizer[pose])")
    a.add_argument("--out", default="fig8.png", help="PNG to write (default fig8.png)")
    a.add_argument("--colour", choices=("deviation", "absolute"), default="deviation",
                   help="deviation: each map minus its mean on one scale for all maps (shows which term varies "
                   "over positions); absolute: the values, one scale per row")
    a.add_argument("--title", help="figure title (default: the norm, the checkpoint and the source file)")
    a.add_argument("--device", type=device, default="cpu", help="cpu, cuda, cuda:1, ...")
    a.set_defaults(func=run_adapn)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def run_adapn(args: argparse.Namespace) -> int:
    from posestylizer.experiments.adapn_maps import adanorm_maps, spread_table
    from posestylizer.experiments.fig8 import NORM_NAMES, save_fig8

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out {out}: the figure is a PNG; end the file name with .png")
    result = adanorm_maps(args.checkpoint, args.source, source_pose=args.source_pose, device=args.device)
    norm = NORM_NAMES.get(result.adanorm, result.adanorm)
    title = args.title or f"{norm} statistics per decoder block; checkpoint {args.checkpoint}, source " \
        f"{Path(args.source).name}"
    save_fig8(result, out, title=title, mode=args.colour)
    print(f"{norm} ({result.adanorm}): mean and standard deviation over positions of the channel-mean maps")
    print(spread_table(result.maps))
    print(f"wrote {out}")
    return 0
