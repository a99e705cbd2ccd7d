"""``posestylizer pose {estimate,import,export,list}``: COCO-18 keypoints in the PATN annotation format.

``estimate`` runs a pose estimator on images; ``import`` reads OpenPose, COCO, BlazePose or PATN files into an
annotation CSV; ``export`` writes an annotation CSV as OpenPose, COCO or BlazePose files; ``list`` names and draws
the built-in pose library (the target names ``generate --target`` accepts).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from posestylizer.commands.argtypes import PROBABILITY, SIDE, device
from posestylizer.commands.common import add_force_option, save_image
from posestylizer.errors import DataError
from posestylizer.runtime.imagefiles import image_files
from posestylizer.runtime.outputs import check_not_an_input, check_output_dir, check_output_file


def register(sub: argparse._SubParsersAction) -> None:
    from posestylizer.estimators import BACKENDS

    p = sub.add_parser("pose", help="pose keypoints: estimate them from images, import and export keypoint files")
    pose_sub = p.add_subparsers(dest="pose_command", metavar="SUBCOMMAND")
    e = pose_sub.add_parser(
        "estimate",
        help="estimate COCO-18 keypoints and write a PATN annotation CSV",
        description="Writes name:keypoints_y:keypoints_x rows ((y, x) pixels, -1 = missing) for each image, as the "
        "dataset annotations and the authors' pckh.csv. Folders are expanded to their images.",
    )
    e.add_argument("images", nargs="+", help="image files or folders")
    e.add_argument("--out", required=True, help="annotation CSV to write")
    add_force_option(e)
    e.add_argument("--backend", choices=BACKENDS, default="mediapipe",
                   help="mediapipe (BlazePose, offline; pip install 'posestylizer[pose]') or openpose (needs "
                   "--weights)")
    e.add_argument("--weights", help="OpenPose COCO body weights file (body_pose_model.pth or pose_estimator.h5)")
    e.add_argument("--scales", choices=("paper", "true"), default="paper",
                   help="openpose scale list: the authors' Python-2 values (paper) or true division")
    e.add_argument("--device", type=device, default="cpu")
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(func=run_estimate)
    _register_import(pose_sub)
    _register_export(pose_sub)
    _register_list(pose_sub)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _expand(items: list[str]) -> list[Path]:
    from posestylizer.keypoints.io import expand_paths

    return expand_paths(items, image_files, "image file")


def run_estimate(args: argparse.Namespace) -> int:
    from posestylizer.data.formats import write_annotations
    from posestylizer.estimators import estimate_files, get_estimator
    from posestylizer.keypoints.vocab import present
    from posestylizer.runtime.imagefiles import read_image
    from posestylizer.runtime.progress import Progress

    check_not_an_input(args.out, args.images, "--out")
    check_output_file(args.out, force=args.force, option="--out")

    paths = _expand(args.images)
    options = {"weights": args.weights, "device": args.device, "scales": args.scales} \
        if args.backend == "openpose" else {}
    estimator = get_estimator(args.backend, **options)
    progress = Progress(not args.quiet)
    rows, problems = estimate_files(estimator, paths, read_image, progress)
    write_annotations(args.out, rows)
    found = sum(int(present(kp).any()) for _, kp in rows)
    print(f"{args.backend}: {len(rows)} image(s), a person found in {found}; wrote {args.out}")
    for p in problems:
        print(f"  unreadable: {p}")
    return 0


def _register_import(pose_sub) -> None:
    from posestylizer.keypoints import FORMATS

    i = pose_sub.add_parser(
        "import",
        help="read OpenPose / COCO / BlazePose / PATN keypoint files into a PATN annotation CSV",
        description="Writes name:keypoints_y:keypoints_x rows ((y, x) pixels, COCO-18 order, -1 = missing), one per "
        "image, the largest person of each. OpenPose BODY_25 is mapped to COCO-18, COCO gets a neck from both "
        "shoulders, BlazePose is mapped as the built-in estimator maps it. Folders are expanded to their .json/.csv "
        "files. Per-image files name their image after the file: photo_keypoints.json -> photo.jpg (--image-ext).",
    )
    i.add_argument("files", nargs="+", help="keypoint files or folders")
    i.add_argument("--from", dest="fmt", choices=FORMATS, help="the files' format (default: detected per file)")
    i.add_argument("--out", required=True, help="annotation CSV to write")
    add_force_option(i)
    i.add_argument("--image-size", type=SIDE, nargs=2, metavar=("H", "W"),
                   help="the dataset's image size: scale poses from their source image size to it (points outside "
                   "become -1)")
    i.add_argument("--source-size", type=SIDE, nargs=2, metavar=("H", "W"),
                   help="source image size for files that do not state it (OpenPose, BlazePose)")
    i.add_argument("--image-ext", default=".jpg", help="extension of the image names of per-image files")
    i.add_argument("--threshold", type=PROBABILITY, default=0.1, help="OpenPose confidence below which a point is missing")
    i.add_argument("--min-visibility", type=PROBABILITY, default=0.5,
                   help="BlazePose visibility below which a landmark is missing")
    i.set_defaults(func=run_import)


def _register_export(pose_sub) -> None:
    from posestylizer.keypoints.io import EXPORT_FORMATS

    x = pose_sub.add_parser(
        "export",
        help="write a PATN annotation CSV as OpenPose, COCO or BlazePose files",
        description="openpose: one <name>_keypoints.json per image in the --out folder (COCO-18 layout, confidence "
        "1 for present points, 0 0 0 for missing ones); blazepose: one <name>.json per image (needs --image-size); "
        "coco: one person_keypoints JSON file --out.",
    )
    x.add_argument("annotation", help="annotation CSV (name:keypoints_y:keypoints_x)")
    x.add_argument("--to", required=True, choices=EXPORT_FORMATS)
    x.add_argument("--out", required=True, help="output folder (openpose, blazepose) or file (coco)")
    add_force_option(x)
    x.add_argument("--image-size", type=SIDE, nargs=2, metavar=("H", "W"),
                   help="the images' size, recorded in the files (required for blazepose)")
    x.set_defaults(func=run_export)


def run_import(args: argparse.Namespace) -> int:
    from posestylizer.data.formats import write_annotations
    from posestylizer.keypoints.io import import_keypoints
    from posestylizer.keypoints.vocab import present

    check_not_an_input(args.out, args.files, "--out")
    check_output_file(args.out, force=args.force, option="--out")

    result = import_keypoints(
        args.files, fmt=args.fmt, image_size=_size(args.image_size), source_size=_size(args.source_size),
        image_ext=args.image_ext, threshold=args.threshold, min_visibility=args.min_visibility,
    )
    write_annotations(args.out, result.rows)  # atomic
    found = sum(int(present(kp).any()) for kp in result.rows.values())
    print(f"wrote {args.out}: {len(result.rows)} image(s), {found} with keypoints")
    if result.outside:
        lost = sum(result.outside.values())
        print(f"  {lost} keypoint(s) of {len(result.outside)} image(s) fell outside the image and are marked -1")
    return 0


def _export_folder(path) -> bool:
    """Whether a folder holds only keypoint JSON files (an earlier export): replaceable with --force."""
    return all(child.is_file() and child.suffix == ".json" for child in path.iterdir())


def run_export(args: argparse.Namespace) -> int:
    from posestylizer.data.formats import read_annotations
    from posestylizer.keypoints.io import export_keypoints

    check_not_an_input(args.out, [args.annotation], "--out")
    if args.to == "coco":
        check_output_file(args.out, force=args.force, option="--out")
    else:  # one file per image: a folder of its own or an empty one
        check_output_dir(args.out, force=args.force, option="--out", ours=_export_folder)

    annotations = read_annotations(args.annotation)
    written = export_keypoints(annotations, args.to, args.out, _size(args.image_size))
    where = args.out if args.to == "coco" else f"{len(written)} file(s) in {args.out}"
    print(f"wrote {len(annotations)} pose(s) as {args.to}: {where}")
    return 0


def _size(value: list[int] | None) -> tuple[int, int] | None:
    if value is None:
        return None
    if min(value) <= 0:
        raise DataError(f"image size {value[0]} {value[1]}: both H and W must be positive")
    return value[0], value[1]


def _register_list(pose_sub) -> None:
    ls = pose_sub.add_parser(
        "list",
        help="list the built-in pose library (targets for generate --target NAME); --out draws it",
        description="Prints the names and descriptions of the library's poses; with --out, draws all of them as "
        "one picture (skeletons framed as in the training images of --layout).",
    )
    ls.add_argument("--out", help="picture to write (.png or .jpg)")
    add_force_option(ls)
    ls.add_argument("--layout", choices=("market", "fashion"), default="market",
                    help="framing of the drawn poses (market: 256x128 cells, fashion: 256x176)")
    ls.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    from posestylizer.keypoints.library import describe, pose_names

    if args.out:
        check_output_file(args.out, force=args.force, option="--out")
    names = pose_names()
    for name in names:
        print(f"{name:15s} {describe(name)}")
    if args.out:
        from posestylizer.inference.framing import framing_for
        from posestylizer.inference.retarget import fit_inside
        from posestylizer.keypoints.library import library_pose, pose_sheet

        size = (256, 128) if args.layout == "market" else (256, 176)
        framing = framing_for(args.layout)
        poses = {n: fit_inside(library_pose(n, size, framing), size) for n in names}
        save_image(pose_sheet(poses, size), args.out)
        print(f"wrote {args.out}")
    return 0
