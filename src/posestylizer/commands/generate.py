"""``posestylizer generate``: re-pose the person in a photo with a checkpoint.

Single-image mode: ``--source IMG --target POSE --out OUT.png`` where POSE is a keypoint file (PATN CSV row,
OpenPose JSON, COCO JSON), another photo (its pose is retargeted to the source person) or a library pose name
(``posestylizer pose list``). The options shared by every mode (checkpoint, device, precision) are registered by
:func:`_add_model_options`; a mode adds its own group and a branch in :func:`run`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

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
    p.add_argument("--out", required=True, help="image to write (.png or .jpg)")
    p.set_defaults(func=run)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    model = p.add_argument_group("model")
    model.add_argument("--checkpoint", required=True, help="native checkpoint folder, training run folder, or an "
                       "authors' latest_netG.pth (with --preset)")
    model.add_argument("--preset", choices=("market", "fashion"), help="for an authors' .pth: which paper model "
                       "it is (default: market for BatchNorm weights)")
    model.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    model.add_argument("--precision", choices=("fp32", "bf16"), default="fp32", help="bf16 = autocast")


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
    from PIL import Image

    from posestylizer.keypoints.io import atomic_path

    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ConfigError(f"{path}: unknown image type; end the file name with {', '.join(IMAGE_SUFFIXES)}")
    image = Image.fromarray(np.asarray(image)) if not isinstance(image, Image.Image) else image
    fmt = Image.registered_extensions()[path.suffix.lower()]
    with atomic_path(path) as tmp:
        image.save(tmp, format=fmt)
    return path


def run(args: argparse.Namespace) -> int:
    return _run_single(args)


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
