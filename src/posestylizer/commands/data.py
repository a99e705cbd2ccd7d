"""``posestylizer data {synth,prepare,check,pairs,resize}``: make, prepare, validate and pair PATN-layout datasets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from posestylizer.commands.argtypes import COUNT, FRACTION, NON_NEGATIVE, SIDE
from posestylizer.commands.common import add_force_option
from posestylizer.runtime.outputs import check_output_dir, check_output_file
from posestylizer.runtime.progress import Progress


def _layout_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--layout", default="market", choices=("market", "fashion"),
                   help="file-name preset of the authors' archives (default: market)")  # fmt: skip
    p.add_argument("--annotation", help="annotation CSV name, {phase} = train/test (default: the layout's)")
    p.add_argument("--pairs", help="pair CSV name, {phase} = train/test (default: the layout's)")
    p.add_argument("--image-size", type=SIDE, nargs=2, metavar=("H", "W"), help="expected image size")


def _layout(args: argparse.Namespace):
    from posestylizer.data.layouts import get_layout

    return get_layout(args.layout, annotation=args.annotation, pairs=args.pairs, image_size=args.image_size)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data", help="make, check and pair PATN-layout datasets (synthetic people, Market, DeepFashion)"
    )
    data_sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    _register_synth(data_sub)
    _register_prepare(data_sub)
    _register_resize(data_sub)
    _register_check_and_pairs(data_sub)


def _register_synth(data_sub) -> None:
    s = data_sub.add_parser(
        "synth",
        help="render a synthetic people dataset in the PATN layout",
        description="Renders clothed people procedurally (each identity in several poses and views) and writes "
        "train/ and test/ images, annotation and pair CSVs, masks/ (ground-truth foreground), parts/ (body parts: "
        "1 head, 2 torso, 3 arms, 4 legs) and backgrounds/.",
        epilog="example (the demo recipe's data): posestylizer data synth data/demo --identities 120 --poses 8 "
        "--size 64 32",
    )
    s.add_argument("out", help="output folder")
    s.add_argument("--preset", default="market", choices=("market", "fashion"),
                   help="market: 128x64 street scenes; fashion: 256x176 plain light backgrounds")  # fmt: skip
    s.add_argument("--identities", type=COUNT, default=50, help="number of people (default 50)")
    s.add_argument("--poses", type=COUNT, default=10, help="images per person (default 10)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--test-fraction", type=FRACTION, default=0.2, help="share of people in the test split")
    s.add_argument("--split-among", type=NON_NEGATIVE, default=0, metavar="N",
                   help="split the first N people as a set of N would be, and train on all people after them "
                   "(more training people, the same test people; default 0: split all)")  # fmt: skip
    s.add_argument("--size", type=SIDE, nargs=2, metavar=("H", "W"),
                   help="write the images (masks, parts, plates, keypoints) at this size: rendered at the preset's "
                   "size, then area-resized as `data resize` does (the demo recipe: 64 32)")  # fmt: skip
    s.add_argument("--grid", metavar="PNG", help="also save a grid of samples (one row per person)")
    add_force_option(s)
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=run_synth)


def _register_check_and_pairs(data_sub) -> None:
    c = data_sub.add_parser(
        "check",
        help="validate a dataset and report every problem with file and line (exit 0 clean, 2 otherwise)",
    )
    c.add_argument("root", help="dataset folder")
    _layout_options(c)
    c.add_argument(
        "--phase", choices=("train", "test"), action="append", help="check only this phase (repeatable)"
    )
    c.add_argument(
        "--no-decode", action="store_true", help="read image headers only (faster; misses truncation)"
    )
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=run_check)

    r = data_sub.add_parser(
        "pairs",
        help="make a pair list by the reference rules (same person, shoulders and hips annotated)",
        description="Reads ROOT's annotation CSV of PHASE and writes all ordered same-person pairs of images whose "
        "shoulders and hips are annotated (Market junk ids -1/0000 dropped), or a seeded sample of --max-pairs.",
    )
    r.add_argument("root", help="dataset folder")
    _layout_options(r)
    r.add_argument("--phase", default="test", choices=("train", "test"))
    r.add_argument("--max-pairs", type=COUNT, help="sample this many pairs (Market test: 12000)")
    r.add_argument("--seed", type=int, default=0, help="sample seed (pandas random_state)")
    r.add_argument("--out", help="output CSV (default: the layout's pair file in ROOT)")
    add_force_option(r)
    r.set_defaults(func=run_pairs)


def _register_prepare(data_sub) -> None:
    from posestylizer.estimators import BACKENDS
    from posestylizer.keypoints import FORMATS

    d = data_sub.add_parser(
        "prepare",
        help="build the PATN layout from the official Market-1501 / DeepFashion In-shop downloads",
        description="market1501: RAW is the unpacked Market-1501-v15.09.15 folder (bounding_box_train/, "
        "bounding_box_test/; ids -1 and 0000 dropped). deepfashion: RAW holds img/ and list_eval_partition.txt "
        "(or Eval/list_eval_partition.txt); names are flattened, images cropped to columns 40..215 (256x176), "
        "train = the official train items, test = query + gallery. Writes train/, test/, annotation and pair "
        "CSVs (the authors' pair rules) and prepare-report.txt. Resumable: run it again to continue.",
    )
    d.add_argument("dataset", choices=("market1501", "deepfashion"))
    d.add_argument("raw", help="unpacked official download")
    d.add_argument("out", help="output folder (new, or one this command made)")
    d.add_argument("--keypoints", metavar="FILE",
                   help="keypoints instead of the estimator: a file or folder in any format of `pose import` "
                   "(OpenPose, COCO, BlazePose: raw image pixels; PATN CSV: prepared image pixels)")
    d.add_argument("--keypoint-format", choices=FORMATS, help="format of --keypoints (default: detected)")
    d.add_argument("--estimator", choices=BACKENDS, default="mediapipe", help="pose estimator (default mediapipe)")
    d.add_argument("--weights", help="OpenPose COCO body weights file for --estimator openpose")
    d.add_argument("--split-from", nargs=2, metavar=("TRAIN_CSV", "TEST_CSV"),
                   help="take the train/test split from these annotation CSVs (e.g. the authors') instead of the "
                   "official one; images in neither are dropped")
    d.add_argument("--workers", type=COUNT, help="parallel workers (default: CPU count, at most 8)")
    d.add_argument("--test-pairs", type=NON_NEGATIVE,
                   help="sample this many test pairs (default: Market 12000 as the authors, DeepFashion all; "
                   "0 = all)")
    d.add_argument("--seed", type=int, default=0, help="test pair sample seed")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=run_prepare)


def _register_resize(data_sub) -> None:
    z = data_sub.add_parser(
        "resize",
        help="copy a PATN-layout dataset at another image size (masks, parts and plates of a synthetic set too)",
        description="Writes SRC into DST at H x W: images area-averaged, keypoints scaled, pair lists copied; a "
        "synthetic set's masks, part maps and background plates resized with them.",
        epilog="example: posestylizer data resize data/synth data/synth_64x32 --size 64 32",
    )
    z.add_argument("src", help="dataset folder at its layout's size")
    z.add_argument("dst", help="output folder (new, empty, or an earlier resized copy, replaced)")
    z.add_argument("--size", type=SIDE, nargs=2, metavar=("H", "W"), required=True, help="new image size")
    z.add_argument("--layout", default="market", choices=("market", "fashion"), help="layout of SRC")
    z.add_argument("--quiet", action="store_true", help="no progress bar")
    z.set_defaults(func=run_resize)


def run_resize(args: argparse.Namespace) -> int:
    from posestylizer.data.resize import resize_dataset
    from posestylizer.errors import DataError
    from posestylizer.runtime.outputs import check_folder_path, check_not_an_input

    if not Path(args.src).is_dir():
        raise DataError(f"{args.src}: not a folder; give the dataset folder to resize (SRC)")
    check_not_an_input(args.dst, [args.src], "DST")
    check_folder_path(args.dst, "DST")  # what it may hold: resize_dataset's rule (an earlier resized copy)
    out = resize_dataset(args.src, args.dst, tuple(args.size), layout=args.layout, progress=Progress(not args.quiet))
    print(f"wrote {out} at {args.size[0]}x{args.size[1]}")
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    from posestylizer.data.prepare import prepare_dataset

    options = {"weights": args.weights} if args.estimator == "openpose" else {}
    test_pairs = "default" if args.test_pairs is None else (args.test_pairs or None)
    report = prepare_dataset(
        args.dataset, args.raw, args.out, keypoints=args.keypoints, keypoint_format=args.keypoint_format,
        estimator=args.estimator, estimator_options=options, split_from=args.split_from, workers=args.workers,
        test_pairs=test_pairs,
        seed=args.seed, progress=Progress(not args.quiet),
    )
    print(report)
    layout = "market" if args.dataset == "market1501" else "fashion"
    print(f"check it with: posestylizer data check {args.out} --layout {layout}")
    return 0


def run_synth(args: argparse.Namespace) -> int:
    import time

    from posestylizer.data.synth import contact_sheet, write_dataset

    # a folder that an earlier synth wrote (synth.json) is written again with --force; any other one never
    check_output_dir(args.out, force=args.force, option="OUT", ours=lambda path: (path / "synth.json").is_file())
    if args.grid:
        check_output_file(args.grid, force=args.force, option="--grid")
    start = time.perf_counter()
    synth = dict(identities=args.identities, poses=args.poses, seed=args.seed, test_fraction=args.test_fraction,
                 split_among=args.split_among)  # fmt: skip
    if args.size:
        from posestylizer.data.resize import write_synth_at_size

        summary = write_synth_at_size(args.out, tuple(args.size), args.preset, progress=Progress(not args.quiet),
                                      **synth)  # fmt: skip
    else:
        summary = write_dataset(args.out, args.preset, progress=Progress(not args.quiet), **synth)
    took = time.perf_counter() - start
    n = sum(summary.images.values())
    print(
        f"wrote {summary.root}: {n} images of {args.identities} people "
        f"(train {summary.images['train']} images / {summary.pairs['train']} pairs, "
        f"test {summary.images['test']} / {summary.pairs['test']}) in {took:.1f} s ({n / took:.0f} images/s)"
    )
    if args.grid:
        from PIL import Image

        Image.fromarray(contact_sheet(args.out, summary.layout)).save(args.grid)
        print(f"wrote {args.grid}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from posestylizer.data.check import check_dataset

    phases = tuple(args.phase) if args.phase else ("train", "test")
    report = check_dataset(args.root, _layout(args), phases=phases, decode=not args.no_decode,
                          progress=Progress(not args.quiet))
    for problem in report.problems:
        print(problem)
    print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return report.exit_code


def run_pairs(args: argparse.Namespace) -> int:
    from pathlib import Path

    from posestylizer.data.formats import read_annotations, write_pairs
    from posestylizer.data.pairs import make_pairs

    layout = _layout(args)
    out = Path(args.out) if args.out else layout.pairs_path(args.root, args.phase)
    check_output_file(out, force=args.force, option="--out")
    annotations = read_annotations(layout.annotation_path(args.root, args.phase))
    pairs = make_pairs(annotations, layout, max_pairs=args.max_pairs, seed=args.seed)
    write_pairs(out, pairs)
    print(f"wrote {out}: {len(pairs)} pairs from {len(annotations)} annotated images")
    return 0
