"""``posestylizer evaluate``: the paper's metrics (and today's) from result files or a checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

from posestylizer.commands.argtypes import COUNT, NON_NEGATIVE, device_or_auto
from posestylizer.errors import ConfigError
from posestylizer.runtime.progress import Progress


def register(sub: argparse._SubParsersAction) -> None:
    from posestylizer.estimators import BACKENDS
    from posestylizer.metrics.registry import METRICS, PROTOCOLS

    p = sub.add_parser(
        "evaluate",
        help="compute SSIM/IS/mask-SSIM/mask-IS/PCKh (paper protocol) or SSIM/L1/PSNR/LPIPS/FID (clean protocol)",
        description="Inputs, one of: RESULTS (a folder of the authors' <from>___<to>_vis.jpg 5-panel grids); "
        "--targets DIR --generated DIR (images with matching names, or generated <from>___<to>.png); "
        "--checkpoint CKPT --data ROOT (generates the test pairs by the checkpoint's contract, writes them into --out "
        "and scores them: the paper protocol through the 5-panel JPEG grids, clean on lossless images). Prints a table "
        "and writes metrics.json and metrics.csv into --out; both say which images were scored. Metrics: " + ", ".join(METRICS) + ".",
    )
    p.add_argument("results", nargs="?", help="folder of 5-panel result grids (results/<name>/test_latest/images)")
    p.add_argument("--targets", help="folder of target (ground-truth) images")
    p.add_argument("--generated", help="folder of generated images (names match the targets)")
    p.add_argument("--checkpoint", help="generator checkpoint (native folder or authors' .pth); needs --data")
    p.add_argument("--data", help="PATN-layout dataset root whose test pairs --checkpoint generates")
    p.add_argument("--layout", choices=("market", "fashion"),
                   help="file names of --data (default: the layout the checkpoint was trained on)")
    p.add_argument("--protocol", choices=tuple(PROTOCOLS), default="paper")
    p.add_argument("--metrics", help="comma-separated metric names instead of the protocol's list")
    p.add_argument("--annotation", help="annotation CSV of the targets (name:keypoints_y:keypoints_x), for masks "
                   "and PCKh")
    p.add_argument("--pred-annotation", help="keypoints already estimated on the generated images (the authors' "
                   "pckh.csv); otherwise --estimator runs")
    p.add_argument("--pairs", help="pair CSV (from,to): lists the pairs that have no result file; with --checkpoint, "
                   "the pairs generated (default: the dataset's test pairs)")
    p.add_argument("--preset", choices=("market", "fashion"),
                   help="paper-protocol dataset conventions (fashion: 40-px white bands); default: fashion for "
                   "256x176 images, else market")
    p.add_argument("--white-bands", type=NON_NEGATIVE, help="white columns added on both sides before SSIM/L1/IS "
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
    p.add_argument("--ground-truth", metavar="ROOT", help="synthetic dataset (posestylizer data synth) whose "
                   "masks/ and backgrounds/ hold the ground truth of the test pairs, for mask_ssim_gt, mask_l1_gt, "
                   "fg_iou_gt")
    p.add_argument("--cache-dir", default=str(Path.home() / ".cache" / "posestylizer"),
                   help="where FID reference statistics are cached")
    p.add_argument("--is-splits", type=COUNT, default=10)
    p.add_argument("--out", default="evaluation", help="output folder for the reports (and generated images)")
    p.add_argument("--device", type=device_or_auto, default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--batch-size", type=COUNT, default=32)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posestylizer.metrics.evaluate import evaluate
    from posestylizer.metrics.write import format_table, write_reports
    from posestylizer.runtime.outputs import check_folder_path

    _check_inputs(args)
    check_folder_path(args.out, "--out")  # before any image is generated or scored
    progress = Progress(not args.quiet)
    collection, defaults = _collect(args, progress)
    report = evaluate(collection, _options(args, collection, defaults), progress)
    json_path, csv_path = write_reports(report, args.out)
    print(format_table(report))
    print(f"wrote {json_path} and {csv_path}")
    return 0


def _check_inputs(args: argparse.Namespace) -> None:
    modes = [bool(args.results), bool(args.targets or args.generated), bool(args.checkpoint or args.data)]
    if sum(modes) != 1:
        raise ConfigError("give exactly one input: RESULTS, or --targets DIR --generated DIR, or "
                          "--checkpoint CKPT --data ROOT")
    if (args.targets or args.generated) and not (args.targets and args.generated):
        raise ConfigError("--targets and --generated go together")
    if (args.checkpoint or args.data) and not (args.checkpoint and args.data):
        raise ConfigError("--checkpoint and --data go together")


def _device(args: argparse.Namespace) -> str:
    import torch

    if args.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return args.device


def _collect(args: argparse.Namespace, progress: Progress) -> tuple:
    """The collection of pairs, and what a checkpoint run supplies by default (annotation, FID reference, preset)."""
    from posestylizer.data.formats import read_pairs
    from posestylizer.metrics.collect import collect_folders, collect_grids

    if args.results or args.targets:
        expected = read_pairs(args.pairs) if args.pairs else None
        if args.results:
            return collect_grids(args.results, expected, progress), {}
        return collect_folders(args.targets, args.generated, expected, progress), {}
    return _collect_checkpoint(args, progress)


def _collect_checkpoint(args: argparse.Namespace, progress: Progress) -> tuple:
    """Generate the pairs in memory (the checkpoint's contract: image size, sigma, layout unless --layout), write
    them into --out, and score the images in memory: the paper protocol through each pair's JPEG grid (the bytes
    written to OUT/grids), the clean one lossless against the targets as stored; in file-name order, as
    ``evaluate OUT/grids`` reads them."""
    from posestylizer.inference.batch import generate_results

    res = generate_results(args.checkpoint, args.data, Path(args.out), layout=args.layout, pairs_file=args.pairs,
                           device=_device(args), batch_size=args.batch_size, write_grids=args.protocol == "paper",
                           progress=progress)  # fmt: skip
    defaults = {"annotation": str(res.annotation), "fid_reference": str(res.train_images),
                "preset": res.layout if res.layout in ("market", "fashion") else None}  # fmt: skip
    if args.protocol == "paper":
        return res.collected.paper_grids(description=f"5-panel grids in {res.grids}", file_order=True), defaults
    description = f"targets in {res.targets} vs generated images in {res.generated}"
    return res.collected.lossless(targets=res.dataset.image, description=description, file_order=True), defaults


def _white_bands(args: argparse.Namespace, collection, preset: str | None) -> int:
    from posestylizer.metrics.evaluate import FASHION_BANDS

    if args.white_bands is not None:
        return args.white_bands
    if preset is None and collection.items and collection.items[0].target.shape[:2] == (256, 176):
        preset = "fashion"
    return FASHION_BANDS if preset == "fashion" else 0


def _options(args: argparse.Namespace, collection, defaults: dict):
    from posestylizer.data.formats import read_annotations
    from posestylizer.metrics.inputs import EvalOptions

    annotation = args.annotation or defaults.get("annotation")
    device = _device(args)
    return EvalOptions(
        protocol=args.protocol,
        metrics=[m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None,
        white_bands=_white_bands(args, collection, args.preset or defaults.get("preset")),
        ssim_window=args.ssim_window,
        annotation=read_annotations(annotation) if annotation else None,
        pred_annotation=read_annotations(args.pred_annotation) if args.pred_annotation else None,
        estimator=args.estimator,
        estimator_options=_estimator_options(args, device),
        weights_dir=args.weights_dir, device=device,
        fid_reference=args.fid_reference or defaults.get("fid_reference"), cache_dir=args.cache_dir,
        is_splits=args.is_splits, batch_size=args.batch_size, ground_truth=args.ground_truth,
    )  # fmt: skip


def _estimator_options(args: argparse.Namespace, device: str) -> dict:
    if args.estimator == "openpose":
        return {"weights": args.openpose_weights, "device": device}
    if args.openpose_weights:  # not silently ignored: the user meant PCKh by OpenPose
        raise ConfigError(f"--openpose-weights is for --estimator openpose (the estimator is {args.estimator})")
    return {}
