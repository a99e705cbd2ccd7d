"""``posestylizer export --checkpoint CKPT --onnx OUT.onnx``: the generator as ONNX with a dynamic batch axis."""

from __future__ import annotations

import argparse

from posestylizer.commands.common import add_force_option
from posestylizer.config import PRESETS
from posestylizer.runtime.outputs import check_not_an_input, check_output_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a generator checkpoint to ONNX (dynamic batch axis, input contract in the file's metadata)",
        description="Writes fake_img = G(src_img, src_pose, tgt_pose) as ONNX (opset 18) with a dynamic batch "
        "axis; the checkpoint's input contract (image size, pose-map sigma, keypoint order, layout) goes into the "
        "file's metadata_props as posestylizer.checkpoints.contract. The file is then run once in onnxruntime against "
        "PyTorch and the largest difference printed. Needs pip install 'posestylizer[onnx]'.",
    )
    p.add_argument("--checkpoint", required=True, help="native checkpoint folder, training run folder or "
                   "authors' .pth")
    p.add_argument("--onnx", required=True, metavar="OUT.onnx", help="ONNX file to write")
    add_force_option(p)
    p.add_argument("--preset", choices=PRESETS, help="for an authors' .pth: market (BatchNorm default) or fashion")
    p.add_argument("--no-verify", action="store_true", help="skip the onnxruntime-vs-PyTorch check")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posestylizer.checkpoints.native import load_generator, require_contract
    from posestylizer.inference.export import export_onnx

    check_not_an_input(args.onnx, [args.checkpoint], "--onnx")
    check_output_file(args.onnx, force=args.force, option="--onnx")
    model = load_generator(args.checkpoint, preset=args.preset)
    contract = require_contract(model, args.checkpoint)
    res = export_onnx(model, contract, args.onnx, verify=not args.no_verify)
    h, w = contract.image_size
    print(f"wrote {res.path} ({h}x{w}, pose-map sigma {contract.heatmap_sigma}, dynamic batch; {res.seconds:.1f} s)")
    if res.max_abs_diff is not None:
        print(f"onnxruntime vs PyTorch on a random batch of 3: max abs difference {res.max_abs_diff:.2e}")
    return 0
