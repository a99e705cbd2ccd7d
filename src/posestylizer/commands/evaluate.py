"""``posestylizer evaluate``: the paper's metrics (and today's) from result files or a checkpoint."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from posestylizer.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    from posestylizer.estimators import BACKENDS
    from posestylizer.metrics.registry import METRICS, PROTOCOLS

    p = sub.add_parser(
        "evaluate",
        help="compute SSIM/IS/mask-SSIM/mask-IS/PCKh (paper protocol) or SSIM/L1/PSNR/LPIPS/FID (clean protocol)",
        description="Inputs, one of: RESULTS (a folder of the authors' <from>___<to>_vis.jpg 5-panel grids); "
        "--targets DIR --generated DIR (images with matching names, or generated <from>___<to>.png); "
        "--checkpoint CKPT --data ROOT (generates the test pairs into --out first). Prints a table and writes "
        "metrics.json and metrics.csv into --out. Metrics: " + ", ".join(METRICS) + ".",
    )
    p.add_argument("results", nargs="?", help="folder of 5-panel result grids (results/<name>/test_latest/images)")
    p.add_argument("--targets", help="folder of target (ground-truth) images")
    p.add_argument("--generated", help="folder of generated images (names match the targets)")
    p.add_argument("--checkpoint", help="generator checkpoint (native folder or authors' .pth); needs --data")
    p.add_argument("--data", help="PATN-layout dataset root whose test pairs --checkpoint generates")
    p.add_argument("--layout", default="market", help="dataset layout of --data (market, fashion)")
    p.add_argument("--protocol", choices=tuple(PROTOCOLS), default="paper")
    p.add_argument("--metrics", help="comma-separated metric names instead of the protocol's list")
    p.add_argument("--annotation", help="annotation CSV of the targets (name:keypoints_y:keypoints_x), for masks "
                   "and PCKh")
    p.add_argument("--pred-annotation", help="keypoints already estimated on the generated images (the authors' "
                   "pckh.csv); otherwise --estimator runs")
    p.add_argument("--pairs", help="pair CSV (from,to): lists the pairs that have no result file")
    p.add_argument("--preset", choices=("market", "fashion"),
                   help="paper-protocol dataset conventions (fashion: 40-px white bands); default: fashion for "
                   "256x176 images, else market")
    p.add_argument("--white-bands", type=int, help="white columns added on both sides before SSIM/L1/IS "
                   "(paper protocol; overrides --preset)")
    p.add_argument("--ssim-window", choices=("11tap", "13tap"), default="11tap",
                   help="Gaussian window of ssim_paper: 11tap (scikit-image >= 0.15) or 13tap (<= 0.14)")
    p.add_argument("--estimator", choices=BACKENDS, default="mediapipe", help="pose estimator for PCKh")
    p.add_argument("--openpose-weights", help="OpenPose COCO body weights (body_pose_model.pth or "
                   "pose_estimator.h5) for --estimator openpose")
    p.add_argument("--weights-dir", help="offline folder with weights-inception-2015-12-05-6726825d.pth, "
                   "alexnet-owt-7be5be79.pth, vgg16-397923af.pth (default: torch hub cache, downloading once)")
    p.add_argument("--fid-reference", help="training-image folder (or mu/sigma .npz) for FID; default with "
                   "--data: ROOT/train")
    p.add_argument("--cache-dir", default=str(Path.home() / ".cache" / "posestylizer"),
                   help="where FID reference statistics are cached")
    p.add_argument("--is-splits", type=int, default=10)
    p.add_argument("--out", default="evaluation", help="output folder for the reports (and generated images)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _progress(quiet: bool):
    if quiet:
        return lambda it, desc="": it
    from tqdm import tqdm

    return lambda it, desc="": tqdm(it, desc=desc, leave=False, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    import torch

    from posestylizer.data.formats import read_annotations, read_pairs
    from posestylizer.metrics.evaluate import (
        FASHION_BANDS,
        EvalOptions,
        collect_folders,
        collect_grids,
        evaluate,
        format_table,
        write_reports,
    )

    modes = [bool(args.results), bool(args.targets or args.generated), bool(args.checkpoint or args.data)]
    if sum(modes) != 1:
        raise ConfigError("give exactly one input: RESULTS, or --targets DIR --generated DIR, or "
                          "--checkpoint CKPT --data ROOT")
    if (args.targets or args.generated) and not (args.targets and args.generated):
        raise ConfigError("--targets and --generated go together")
    if (args.checkpoint or args.data) and not (args.checkpoint and args.data):
        raise ConfigError("--checkpoint and --data go together")
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    progress = _progress(args.quiet)
    out = Path(args.out)
    annotation, fid_reference, pairs, preset = args.annotation, args.fid_reference, args.pairs, args.preset
    expected = read_pairs(pairs) if pairs else None

    if args.checkpoint:
        from posestylizer.inference.batch import generate_results

        res = generate_results(args.checkpoint, args.data, out, layout=args.layout, device=device,
                               batch_size=args.batch_size, write_grids=args.protocol == "paper",
                               progress=progress)
        annotation = annotation or str(res.annotation)
        fid_reference = fid_reference or str(res.train_images)
        expected = expected or res.pairs
        preset = preset or (args.layout if args.layout in ("market", "fashion") else None)
        if args.protocol == "paper":
            collection = collect_grids(res.grids, expected, progress)
        else:
            collection = collect_folders(res.targets, res.generated, expected, progress)
    elif args.results:
        collection = collect_grids(args.results, expected, progress)
    else:
        collection = collect_folders(args.targets, args.generated, expected, progress)

    bands = args.white_bands
    if bands is None:
        if preset is None and collection.items and collection.items[0].target.shape[:2] == (256, 176):
            preset = "fashion"
        bands = FASHION_BANDS if preset == "fashion" else 0
    options = EvalOptions(
        protocol=args.protocol,
        metrics=[m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None,
        white_bands=bands, ssim_window=args.ssim_window,
        annotation=read_annotations(annotation) if annotation else None,
        pred_annotation=read_annotations(args.pred_annotation) if args.pred_annotation else None,
        estimator=args.estimator,
        estimator_options=_estimator_options(args, device),
        weights_dir=args.weights_dir, device=device, fid_reference=fid_reference, cache_dir=args.cache_dir,
        is_splits=args.is_splits, batch_size=args.batch_size,
    )
    report = evaluate(collection, options, progress)
    json_path, csv_path = write_reports(report, out)
    print(format_table(report))
    print(f"wrote {json_path} and {csv_path}")
    return 0


def _estimator_options(args: argparse.Namespace, device: str) -> dict:
    if args.estimator == "openpose":
        return {"weights": args.openpose_weights, "device": device}
    return {}
