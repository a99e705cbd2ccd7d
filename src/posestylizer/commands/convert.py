"""``posestylizer convert REF_FILE OUT_DIR``: authors' generator checkpoint -> native folder."""

from __future__ import annotations

import argparse

from posestylizer.commands.argtypes import SIDE
from posestylizer.config import PRESETS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="convert an authors' generator checkpoint (latest_netG.pth) into a posestylizer checkpoint folder",
        description="Reads REF_FILE with torch.load(weights_only=True) (a state dict, optionally with the 'module.' "
        "prefix of multi-GPU runs or under 'state_dict'), infers the architecture from tensor shapes, and writes "
        "OUT_DIR/model.safetensors + OUT_DIR/config.json.",
    )
    p.add_argument("ref_file", help="authors' checkpoint, e.g. checkpoints/market_APS/latest_netG.pth")
    p.add_argument("out_dir", help="output folder")
    p.add_argument("--preset", choices=PRESETS, help="image size/dropout preset (default: market for BatchNorm "
                   "checkpoints, fashion for InstanceNorm ones)")
    p.add_argument("--image-size", type=SIDE, nargs=2, metavar=("H", "W"), help="override the preset's image size")
    p.add_argument("--force", action="store_true", help="replace OUT_DIR when it is a checkpoint folder already")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posestylizer.checkpoints.native import convert_reference, is_checkpoint_folder
    from posestylizer.runtime.outputs import check_not_an_input, check_output_dir

    check_not_an_input(args.out_dir, [args.ref_file], "OUT_DIR")
    check_output_dir(args.out_dir, force=args.force, option="OUT_DIR", ours=is_checkpoint_folder)
    out, cfg = convert_reference(args.ref_file, args.out_dir, preset=args.preset, image_size=args.image_size)
    print(
        f"wrote {out} (APS generator: {cfg.image_size[0]}x{cfg.image_size[1]}, {cfg.n_blocks} blocks, ngf {cfg.ngf}, "
        f"{cfg.norm} norm)"
    )
    return 0
