"""``posestylizer pose estimate IMAGES... --out annotation.csv``: COCO-18 keypoints in the PATN annotation format."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from posestylizer.errors import DataError
from posestylizer.imagefiles import image_files


def register(sub: argparse._SubParsersAction) -> None:
    from posestylizer.estimators import BACKENDS

    p = sub.add_parser("pose", help="pose keypoints: estimate them from images")
    pose_sub = p.add_subparsers(dest="pose_command", metavar="SUBCOMMAND")
    e = pose_sub.add_parser(
        "estimate",
        help="estimate COCO-18 keypoints and write a PATN annotation CSV",
        description="Writes name:keypoints_y:keypoints_x rows ((y, x) pixels, -1 = missing) for each image, as the "
        "dataset annotations and the authors' pckh.csv. Folders are expanded to their images.",
    )
    e.add_argument("images", nargs="+", help="image files or folders")
    e.add_argument("--out", required=True, help="annotation CSV to write")
    e.add_argument("--backend", choices=BACKENDS, default="mediapipe",
                   help="mediapipe (BlazePose, offline; pip install 'posestylizer[pose]') or openpose (needs "
                   "--weights)")
    e.add_argument("--weights", help="OpenPose COCO body weights file (body_pose_model.pth or pose_estimator.h5)")
    e.add_argument("--scales", choices=("paper", "true"), default="paper",
                   help="openpose scale list: the authors' Python-2 values (paper) or true division")
    e.add_argument("--device", default="cpu")
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(func=run_estimate)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _expand(items: list[str]) -> list[Path]:
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            paths.extend(image_files(path))
        elif path.exists():
            paths.append(path)
        else:
            raise DataError(f"{path}: no such image file or folder")
    if not paths:
        raise DataError(f"no images found in {', '.join(items)}")
    return paths


def run_estimate(args: argparse.Namespace) -> int:
    from posestylizer.data.dataset import read_image
    from posestylizer.data.formats import write_annotations
    from posestylizer.estimators import estimate_files, get_estimator
    from posestylizer.pose import present

    paths = _expand(args.images)
    options = {"weights": args.weights, "device": args.device, "scales": args.scales} \
        if args.backend == "openpose" else {}
    estimator = get_estimator(args.backend, **options)
    progress = None
    if not args.quiet:
        from tqdm import tqdm

        progress = lambda it: tqdm(it, desc="estimating", leave=False, file=sys.stderr)
    rows, problems = estimate_files(estimator, paths, read_image, progress)
    write_annotations(args.out, rows)
    found = sum(int(present(kp).any()) for _, kp in rows)
    print(f"{args.backend}: {len(rows)} image(s), a person found in {found}; wrote {args.out}")
    for p in problems:
        print(f"  unreadable: {p}")
    return 0
