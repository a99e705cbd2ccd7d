"""``posestylizer ablate``: train and evaluate the ablation variants (paper Table 2) and draw Fig. 7."""

from __future__ import annotations

import argparse

from posestylizer.commands.argtypes import COUNT, NON_NEGATIVE, POSITIVE
from posestylizer.errors import ConfigError
from posestylizer.runtime.progress import Progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ablate",
        help="the paper's ablation study: train every variant x seed, write Table 2 (table.md/csv) and Fig. 7",
        description="Trains every ablation variant (configs/ablations/*.yaml) with every seed on the same data and "
        "budget, evaluates each on the same held-out pairs (SSIM, L1, mask-SSIM, mask-L1, foreground IoU; IS and "
        "mask-IS with Inception weights), and writes OUT/table.md, OUT/table.csv and OUT/fig7.png. Finished runs are "
        "never retrained; an interrupted run continues from its checkpoint.",
    )
    p.add_argument("--data", help="dataset root with train and test splits (e.g. from `posestylizer data synth`, "
                   "resized to the base recipe's image size)")  # fmt: skip
    p.add_argument("--variants", nargs="+", metavar="NAME", help="variants to run (default: all, Table 2's order)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--budget", type=POSITIVE, metavar="MIN", help="wall-clock minutes of training per run")
    length.add_argument("--steps", type=COUNT, metavar="N", help="iterations per run (the LR schedule spans them)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default 0), e.g. 0,1")
    p.add_argument("--base", default="demo", help="preset of the base recipe (default demo)")
    p.add_argument("-o", "--override", action="append", default=[], metavar="key=value",
                   help="config override of the base recipe (repeatable)")  # fmt: skip
    p.add_argument("--out", default="runs/ablate", help="study folder (default runs/ablate)")
    p.add_argument("--eval-every", type=NON_NEGATIVE, default=0, metavar="K",
                   help="iterations between held-out curve points (default: steps/20, or 100 with --budget)")
    p.add_argument("--eval-pairs", type=COUNT, default=120, metavar="N", help="held-out pairs evaluated (default 120)")
    p.add_argument("--weights-dir", help="folder with the TF-Inception weights for IS and mask-IS (never downloaded)")
    p.add_argument("--list", action="store_true", help="list the variants (paper row, parameters) and exit")
    p.add_argument("--report-only", action="store_true", help="rebuild table and figure from OUT; train nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds {text}: give comma-separated integers, e.g. --seeds 0,1") from None
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text}: a seed is repeated")
    return seeds


def run(args: argparse.Namespace) -> int:
    from posestylizer.experiments.ablate import AblateOptions, list_variants, run_study, write_study_report

    opts = AblateOptions(
        data=args.data or "", out=args.out, variants=args.variants or [], seeds=_seeds(args.seeds),
        budget_minutes=args.budget or 0.0, steps=args.steps or 0, base=args.base, overrides=args.override,
        eval_every=args.eval_every, eval_pairs=args.eval_pairs, weights_dir=args.weights_dir,
        progress=Progress(not args.quiet),
    )  # fmt: skip
    if args.list:
        print(list_variants(opts))
        return 0
    written = write_study_report(args.out) if args.report_only else run_study(opts)
    if not written:
        raise ConfigError(f"{args.out}: no finished run (result.json) to report yet")
    for path in written:
        print(path)
    return 0
