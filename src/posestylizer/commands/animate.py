"""``posestylizer animate``: the person of a photo follows the motion of a driving video (GIF or MP4 out)."""

from __future__ import annotations

import argparse

from posestylizer.commands.argtypes import COUNT, NON_NEGATIVE, POSITIVE, real
from posestylizer.commands.common import add_force_option, add_model_options
from posestylizer.errors import ConfigError
from posestylizer.runtime.outputs import check_not_an_input, check_output_file
from posestylizer.runtime.progress import Progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "animate",
        help="motion transfer: the person in a photo follows a driving video, frames folder or pose file",
        description="Estimates the driver's pose on every frame (or reads one pose per row of a PATN CSV), smooths "
        "the keypoints in time (One-Euro filter; joints missing for a few frames are held), retargets them to the "
        "source person with one body scale for the clip, computes the source's appearance once and renders the "
        "frames in batches. GIF output needs only Pillow; video input and MP4 output need "
        "pip install 'posestylizer[video]'.",
    )
    add_model_options(p)
    p.add_argument("--source", required=True, help="photo of the person to animate")
    p.add_argument("--driving", required=True, metavar="VIDEO|FRAMES_DIR|POSES_FILE",
                   help="driving video (.mp4, .mov, .avi, .webm, .gif, ...), a folder of frames (natural name "
                   "order) or a PATN pose CSV (name:keypoints_y:keypoints_x, one row per frame, in file order)")
    p.add_argument("--out", required=True, metavar="OUT.mp4|OUT.gif", help="animation to write")
    add_force_option(p)
    p.add_argument("--side-by-side", action="store_true", help="frames show driving frame | target pose | "
                   "generated")
    p.add_argument("--person", help="which person of --source: a point X,Y or a box X0,Y0,X1,Y1 in pixels")
    p.add_argument("--fps", type=POSITIVE, help="frame rate (default: the video's; 12 for frames and pose files)")
    p.add_argument("--max-frames", type=COUNT, help="use at most this many driving frames")
    p.add_argument("--min-cutoff", type=POSITIVE, default=1.5, help="smoothing of still joints, Hz: lower is "
                   "smoother (0 = no smoothing)")
    p.add_argument("--beta", type=real(0.0, low_open=False), default=1.5, help="how quickly fast motion escapes the smoothing")
    p.add_argument("--hold", type=NON_NEGATIVE, default=4, help="frames a missing joint keeps its last position")
    p.add_argument("--batch-size", type=COUNT, default=16, help="poses per decoder forward")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    for name in ("fps", "max_frames", "batch_size"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise ConfigError(f"--{name.replace('_', '-')} {value}: give a positive number")
    if args.min_cutoff < 0 or args.beta < 0 or args.hold < 0:
        raise ConfigError("--min-cutoff, --beta and --hold must not be negative")




def run(args: argparse.Namespace) -> int:
    from posestylizer.inference import PoseStylizerPipeline
    from posestylizer.inference.animate import animate
    from posestylizer.inference.inputs import parse_person
    from posestylizer.inference.smoothing import SmoothingOptions
    from posestylizer.inference.video import check_output_path, classify_driving, write_clip

    _check(args)
    out = check_output_path(args.out)
    check_not_an_input(out, [args.source, args.driving], "--out")
    check_output_file(out, force=args.force, option="--out")
    classify_driving(args.driving)
    person = parse_person(args.person, "--person")
    pipe = PoseStylizerPipeline.from_pretrained(args.checkpoint, preset=args.preset, device=args.device,
                                                precision=args.precision)
    anim = animate(
        pipe, args.source, args.driving, person=person, side_by_side=args.side_by_side, fps=args.fps,
        max_frames=args.max_frames, batch_size=args.batch_size, progress=Progress(not args.quiet),
        smoothing=SmoothingOptions(min_cutoff=args.min_cutoff, beta=args.beta, hold=args.hold),
    )
    write_clip(anim.frames, out, anim.fps)
    n, t = len(anim.frames), anim.seconds
    h, w = anim.frames[0].shape[:2]
    print(f"wrote {out} ({n} frames, {w}x{h}, {anim.fps:g} fps)")
    print(f"poses {t['poses']:.1f} s ({n / t['poses']:.1f} frames/s), rendering {t['render']:.1f} s "
          f"({n / t['render']:.1f} frames/s, {1000 * t['render'] / n:.0f} ms/frame), appearance once "
          f"{1000 * t['appearance']:.0f} ms" + (f"; {anim.held} frames without a person repeat the previous pose"
                                               if anim.held else ""))
    return 0
