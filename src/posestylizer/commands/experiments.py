"""``posestylizer experiments reid``: the study "does APS augmentation help re-identification?" on synthetic people,
resumable (:mod:`posestylizer.experiments.reid`)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("experiments", help="studies built from the package's parts (reid: does augmentation help "
                       "re-identification?)")  # fmt: skip
    studies = p.add_subparsers(dest="study", metavar="STUDY", required=True)
    r = studies.add_parser(
        "reid",
        help="re-ID with and without APS-generated images, on synthetic people",
        description="Renders synthetic people (training and disjoint held-out identities, the held-out ones split "
        "into query and gallery by camera), trains APS on the training people, augments the training set with the "
        "trained and the untrained generator, trains a small re-ID CNN from scratch on real / real + trained-APS / "
        "real + untrained-APS images for each seed, and writes rank-1, mAP and identity drift to OUT/table.md|csv "
        "and OUT/reid.png. Run it again to resume: finished stages and runs are skipped.",
    )
    r.add_argument("--out", default="runs/reid-study", help="output folder (default runs/reid-study)")
    r.add_argument("--train-identities", type=int, default=300, metavar="N", help="training people (default 300)")
    r.add_argument("--test-identities", type=int, default=100, metavar="N", help="held-out people (default 100)")
    r.add_argument("--poses", type=int, default=6, metavar="N", help="real images per person (default 6)")
    r.add_argument("--aps-steps", type=int, default=500, metavar="N", help="APS training iterations (default 500)")
    r.add_argument("--aug-poses", type=int, default=2, metavar="K", help="generated images per real training image "
                   "(default 2)")  # fmt: skip
    r.add_argument("--reid-steps", type=int, default=800, metavar="N", help="re-ID iterations per run (default 800)")
    r.add_argument("--reid-width", type=int, default=16, metavar="C", help="re-ID CNN width: channels of its first "
                   "stage, doubled at each of the next three (default 16)")  # fmt: skip
    r.add_argument("--reid-batch", type=int, default=64, metavar="N", help="re-ID batch (default 64)")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="re-ID seeds (default 0 1 2)")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posestylizer.experiments.reid import ReidStudyOptions, run_study
    from posestylizer.runtime.progress import Progress

    opts = ReidStudyOptions(out=args.out, train_identities=args.train_identities,
                            test_identities=args.test_identities, poses=args.poses, aps_steps=args.aps_steps,
                            aug_poses=args.aug_poses, reid_steps=args.reid_steps, reid_batch=args.reid_batch,
                            reid_width=args.reid_width, seeds=args.seeds, progress=Progress(not args.quiet))  # fmt: skip
    table = run_study(opts)
    print(table.read_text(), flush=True)
    print(f"table: {table}  figure: {table.parent / 'reid.png'}", flush=True)
    return 0
