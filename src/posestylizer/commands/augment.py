"""``posestylizer augment``: write every training person of a re-ID dataset in K new poses (Market-style names and a
manifest), on one process or over ``torchrun`` ranks; run it again to resume (:mod:`posestylizer.augment`)."""

from __future__ import annotations

import argparse

from posestylizer.commands.argtypes import device_or_auto


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "augment",
        help="augment a re-ID training set: every person in K new poses (Market-style names, a manifest)",
        description="For every training image of --data with a usable pose (both shoulders and hips, a knee or "
        "ankle), writes K images of the same person in K target poses, retargeted to the person, into --out as "
        "<source name>_apsNN.jpg (person id and camera first, as re-ID loaders parse them), plus "
        "augment-manifest.csv. Split over processes with `torchrun --nproc_per_node=N -m posestylizer augment ...`; "
        "run the same command again to resume.",
    )
    p.add_argument("--checkpoint", required=True, help="native checkpoint folder, training run folder or an "
                   "authors' .pth")
    p.add_argument("--data", required=True, metavar="ROOT", help="PATN-layout dataset (train/ and its annotation "
                   "CSV; Market-1501 or DeepFashion)")
    p.add_argument("--out", required=True, help="folder for the images (e.g. ROOT/bounding_box_train_aps, beside "
                   "bounding_box_train/)")
    p.add_argument("--poses", type=int, default=4, metavar="K", help="new poses per image (default 4)")
    p.add_argument("--pose-source", default="dataset", metavar="dataset|library|FILE",
                   help="where target poses come from: dataset = other training images' poses (default), library = "
                   "the built-in pose library (`posestylizer pose list`), or a keypoint file (PATN CSV, OpenPose or "
                   "COCO JSON; every pose in it)")
    p.add_argument("--seed", type=int, default=0, help="pose draw seed (each image's draw depends on it and the "
                   "image name only)")
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16", "auto"), default="fp32",
                   help="fp32 (default), bf16/fp16 autocast (fp16 on CUDA), auto = bf16 where native")
    p.add_argument("--batch", type=int, default=16, metavar="N", help="poses per generator call (default 16)")
    p.add_argument("--device", type=device_or_auto, default="auto", help="auto (this rank's GPU if any, else CPU), cpu, cuda, cuda:1")
    p.add_argument("--layout", choices=("market", "fashion"), help="file names of --data (default: the layout the "
                   "checkpoint was trained on)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posestylizer.augment import AugmentOptions, run_augment
    from posestylizer.runtime.progress import Progress

    opts = AugmentOptions(checkpoint=args.checkpoint, data=args.data, out=args.out, poses=args.poses,
                          pose_source=args.pose_source, seed=args.seed, precision=args.precision, batch=args.batch,
                          device=args.device, layout=args.layout, progress=Progress(not args.quiet))  # fmt: skip
    summary = run_augment(opts)
    if summary is not None:
        print(summary.line(args.poses), flush=True)
    return 0
