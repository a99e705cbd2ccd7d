"""``posestylizer generate``: re-pose the person in a photo with a checkpoint.

Single-image mode: ``--source IMG --target POSE --out OUT.png`` where POSE is a keypoint file (PATN CSV row,
OpenPose JSON, COCO JSON), another photo (its pose is retargeted to the source person) or a library pose name
(``posestylizer pose list``). The options shared by every mode (checkpoint, device, precision) are registered by
:func:`_add_model_options`; a mode adds its own group and a branch in :func:`run`.

Batch mode: ``--data ROOT [--pairs CSV] --out DIR`` generates a dataset's test pairs into ``DIR/generated/*.png``
and the authors' 5-panel grids ``DIR/grids/<from>___<to>_vis.jpg`` (reference §6), which ``posestylizer evaluate
DIR/grids`` reads; ``evaluate --checkpoint`` runs the same code (:mod:`posestylizer.inference.batch`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from posestylizer.errors import ConfigError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="re-pose the person in a photo (to a keypoint file, another photo's pose or a library pose)",
        description="Finds the person in --source (the most prominent one, or the one at --person), frames them as "
        "the checkpoint's training images frame people, and generates them in the --target pose. Library poses: "
        "`posestylizer pose list`.",
    )
    _add_model_options(p)
    single = p.add_argument_group("single image")
    single.add_argument("--source", help="photo of the person (any size; one or several people)")
    single.add_argument("--target", help="target pose: keypoint file (.csv PATN row, OpenPose or COCO .json), a "
                        "photo (the pose of its most prominent person), or a library pose name")
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
    batch.add_argument("--batch-size", type=int, default=16, help="pairs per generator forward")
    batch.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--out", required=True, help="image to write (.png or .jpg); with --data, a folder")
    p.set_defaults(func=run)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    model = p.add_argument_group("model")
    model.add_argument("--checkpoint", required=True, help="native checkpoint folder, training run folder, or an "
                       "authors' latest_netG.pth (with --preset)")
    model.add_argument("--preset", choices=("market", "fashion"), help="for an authors' .pth: which paper model "
                       "it is (default: market for BatchNorm weights)")
    model.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    add_precision_option(model)


def add_precision_option(p) -> None:
    """``--precision`` of the inference commands (generate, animate, serve)."""
    # fp32 by default: the same outputs on every machine; auto is opt-in because it changes them where bf16 is native.
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16", "auto"), default="fp32",
                   help="compute precision (default fp32): bf16/fp16 = autocast (fp16 on CUDA only); auto = bf16 "
                   "where the device computes it natively (CUDA compute capability >= 8, CPUs with AMX or "
                   "AVX512-BF16), else fp32, and it prints its choice")


def parse_person(text: str | None) -> tuple[float, ...] | None:
    """``"X,Y"`` or ``"X0,Y0,X1,Y1"`` -> floats; ConfigError naming the option otherwise."""
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) not in (2, 4):
        raise ConfigError(f"--person {text!r}: give a point X,Y or a box X0,Y0,X1,Y1 in pixels of the source photo")
    return values


def save_image(image, path: str | Path) -> Path:
    """Write an image (PIL or uint8 array) atomically: a temporary sibling renamed into place."""
    from posestylizer.runtime.imagefiles import save_image

    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ConfigError(f"{path}: unknown image type; end the file name with {', '.join(IMAGE_SUFFIXES)}")
    return save_image(image, path)


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


def _run_single(args: argparse.Namespace) -> int:
    import time

    from posestylizer.inference import PoseStylizerPipeline

    if not args.source or not args.target:
        raise ConfigError("generate needs --source IMG and --target POSE (a keypoint file, a photo or a library "
                          "pose name; `posestylizer pose list`)")
    out = Path(args.out)
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise ConfigError(f"--out {out}: end the file name with one of {', '.join(IMAGE_SUFFIXES)}")
    person = parse_person(args.person)
    pipe = PoseStylizerPipeline.from_pretrained(
        args.checkpoint, preset=args.preset, device=args.device, precision=args.precision
    )
    pipe.check_target(args.target)
    start = time.perf_counter()
    result = pipe(args.source, args.target, person=person, paste_back=args.paste_back)
    seconds = time.perf_counter() - start
    save_image(result.image, out)
    print(f"wrote {out} ({result.target_kind} target, crop box "
          f"{', '.join(f'{v:.0f}' for v in result.crop_box)}, {seconds:.2f} s)")
    if args.panel:
        panel = out.with_name(f"{out.stem}_panel.png")
        save_image(result.panel, panel)
        print(f"wrote {panel}")
    return 0
