"""``posestylizer generate``: re-pose the person in a photo with a checkpoint.

Single-image mode: ``--source IMG --target POSE --out OUT.png`` where POSE is a keypoint file (PATN CSV row,
OpenPose JSON, COCO JSON), another photo (its pose is retargeted to the source person) or a library pose name
(``posestylizer pose list``), resolved once by :func:`posestylizer.inference.targets.resolve_target`'s rule: a library
name wins over a file of that name in the working directory (write ``./walking`` for the file), ``library:NAME`` is
always the library. The options shared by every mode (checkpoint, device, precision) are registered by
:func:`posestylizer.commands.common.add_model_options`; a mode adds its own group and a branch in :func:`run`.

Batch mode: ``--data ROOT [--pairs CSV] --out DIR`` generates a dataset's test pairs into ``DIR/generated/*.png``
and the authors' 5-panel grids ``DIR/grids/<from>___<to>_vis.jpg`` (reference §6), which ``posestylizer evaluate
DIR/grids`` reads; ``evaluate --checkpoint`` runs the same code (:mod:`posestylizer.inference.batch`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from posestylizer.commands.argtypes import COUNT
from posestylizer.commands.common import (
    IMAGE_SUFFIXES,
    add_force_option,
    add_model_options,
    check_image_path,
    save_image,
)
from posestylizer.errors import ConfigError
from posestylizer.runtime.outputs import check_not_an_input, check_output_dir, check_output_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="re-pose the person in a photo (to a keypoint file, another photo's pose or a library pose)",
        description="Finds the person in --source (the most prominent one, or the one at --person), frames them as "
        "the checkpoint's training images frame people, and generates them in the --target pose. Library poses: "
        "`posestylizer pose list`.",
    )
    add_model_options(p)
    single = p.add_argument_group("single image")
    single.add_argument("--source", help="photo of the person (any size; one or several people)")
    single.add_argument("--target", help="target pose: a library pose name (`posestylizer pose list`; a name wins "
                        "over a file of that name: write ./NAME for the file; library:NAME is always the library), "
                        "a keypoint file (.csv PATN row, OpenPose or COCO .json) or a photo (the pose of its most "
                        "prominent person)")
    single.add_argument("--person", help="which person of --source: a point X,Y or a box X0,Y0,X1,Y1 in pixels "
                        "(default: the most prominent)")
    single.add_argument("--panel", action="store_true", help="also write OUT_panel.png: source crop | source pose | "
                        "target pose | generated")
    single.add_argument("--paste-back", action="store_true", help="write the whole photo with the generated person "
                        "in place of the original, instead of the model-size crop")
    batch = p.add_argument_group("dataset pairs (batch)")
    batch.add_argument("--data", metavar="ROOT", help="PATN-layout dataset whose test pairs are generated into the "
                       "folder --out: generated/<from>___<to>.png and the authors' grids/<from>___<to>_vis.jpg "
                       "(read by `posestylizer evaluate OUT/grids`)")
    batch.add_argument("--pairs", metavar="CSV", help="pair list (from,to) to generate instead of the dataset's test "
                       "pairs")
    batch.add_argument("--layout", choices=("market", "fashion"), help="file names of --data (default: the layout "
                       "the checkpoint was trained on)")
    batch.add_argument("--batch-size", type=COUNT, default=16, help="pairs per generator forward")
    batch.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--out", required=True, help="image to write (.png or .jpg); with --data, a folder")
    add_force_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.data or args.pairs:
        return _run_batch(args)
    return _run_single(args)


def _run_batch(args: argparse.Namespace) -> int:
    import time

    from posestylizer.inference.batch import generate_results

    if not args.data:
        raise ConfigError("--pairs needs --data ROOT (the dataset whose images the pairs name)")
    if args.source or args.target or args.person or args.panel or args.paste_back:
        raise ConfigError("--data generates a dataset's pairs; --source/--target/--person/--panel/--paste-back "
                          "belong to single-image mode: give one mode")
    out = Path(args.out)
    if out.suffix.lower() in IMAGE_SUFFIXES or out.is_file():
        raise ConfigError(f"--out {out}: with --data, --out is a folder (it receives generated/ and grids/)")
    check_not_an_input(out, [args.data], "--out")
    check_output_dir(out, force=True, option="--out", ours=_batch_folder)
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size {args.batch_size}: give a positive number of pairs")
    from posestylizer.runtime.progress import Progress

    progress = Progress(not args.quiet)
    start = time.perf_counter()
    res = generate_results(args.checkpoint, args.data, out, layout=args.layout, pairs_file=args.pairs,
                           preset=args.preset, device=args.device, precision=args.precision,
                           batch_size=args.batch_size, progress=progress)
    seconds = time.perf_counter() - start
    n = len(res.pairs)
    print(f"wrote {n} pairs in {seconds:.1f} s ({n / seconds:.1f} pairs/s): {res.generated} (PNG) and {res.grids} "
          f"(5-panel grids; evaluate with `posestylizer evaluate {res.grids} --annotation {res.annotation}`)")
    return 0


def _batch_folder(path: Path) -> bool:
    """Whether ``path`` holds only what batch mode writes (generated/, grids/): safe to write into again."""
    return all(child.name in ("generated", "grids") for child in path.iterdir())


def _run_single(args: argparse.Namespace) -> int:
    import time

    from posestylizer.inference import PoseStylizerPipeline, resolve_target
    from posestylizer.inference.inputs import parse_person

    if not args.source or not args.target:
        raise ConfigError("generate needs --source IMG and --target POSE (a keypoint file, a photo or a library "
                          "pose name; `posestylizer pose list`)")
    out = check_image_path(args.out)
    check_not_an_input(out, [args.source, args.target], "--out")
    check_output_file(out, force=args.force, option="--out")
    if args.panel:
        check_output_file(out.with_name(f"{out.stem}_panel.png"), force=args.force, option="--panel")
    person = parse_person(args.person, "--person")
    target = resolve_target(args.target)  # the one string rule, here at the edge; a typo fails before loading
    pipe = PoseStylizerPipeline.from_pretrained(
        args.checkpoint, preset=args.preset, device=args.device, precision=args.precision
    )
    prepared = pipe.prepare_target(target)  # read once, checked before the person search, handed to the call
    start = time.perf_counter()
    result = pipe(args.source, prepared, person=person, paste_back=args.paste_back)
    seconds = time.perf_counter() - start
    save_image(result.image, out)
    print(f"wrote {out} ({result.target_kind} target, crop box "
          f"{', '.join(f'{v:.0f}' for v in result.crop_box)}, {seconds:.2f} s)")
    if args.panel:
        panel = out.with_name(f"{out.stem}_panel.png")
        save_image(result.panel, panel)
        print(f"wrote {panel}")
    return 0
