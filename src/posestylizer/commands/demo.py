"""``posestylizer demo``: synthetic data -> APS training -> evaluation against baselines -> report.html."""

from __future__ import annotations

import argparse

from posestylizer.commands.argtypes import COUNT, NON_NEGATIVE, POSITIVE
from posestylizer.runtime.progress import Progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the whole loop offline on CPU: synthetic people, APS training, evaluation, report.html",
        description="Renders synthetic people, trains APS on them within the time budget, evaluates held-out "
        "identities against two baselines (the source image copied; the untrained network) and a ceiling (the "
        "target person on the source's background) and writes report.html. Prints the metrics table (baselines, "
        "trained, ceiling, margins), then the report's path. No "
        "downloads; the perceptual loss is off (no VGG19 weights). Override train.steps=N to train N iterations "
        "instead of the time left (recipes compared at equal work).",
    )
    p.add_argument("--minutes", type=POSITIVE, default=10.0, help="wall-clock budget of the whole demo (default 10)")
    p.add_argument("--out", default="demo_out", help="output folder (default demo_out)")
    p.add_argument("--identities", type=COUNT, default=600,
                   help="synthetic people (default 600; the same 24 of the first 120 are held out whatever the "
                   "number, all others train)")  # fmt: skip
    p.add_argument("--poses", type=COUNT, default=8, help="images per person (default 8)")
    p.add_argument("--eval-pairs", type=COUNT, default=120, help="held-out pairs evaluated (default 120)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=NON_NEGATIVE, default=0,
                   help="CPU threads for training (default 0: time a few steps with 1, half and all cores, keep the "
                   "fastest; on a shared machine fewer threads are often faster)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides of the demo recipe")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posestylizer.demo.run import DemoOptions, run_demo

    options = DemoOptions(
        minutes=args.minutes, out=args.out, identities=args.identities, poses=args.poses,
        eval_pairs=args.eval_pairs, seed=args.seed, threads=args.threads, overrides=args.overrides,
        progress=Progress(not args.quiet),
    )  # fmt: skip
    report = run_demo(options)
    print(results_table(report.parent / "metrics.json"))
    print(report.resolve())
    return 0


def results_table(facts_file) -> str:
    """The demo's metrics table for the terminal, from the ``metrics.json`` it wrote."""
    import json

    from posestylizer.demo.report import Column, text_table
    from posestylizer.demo.run import METHODS, demo_metrics

    facts = json.loads(facts_file.read_text())
    columns = [Column(m.name, m.label, m.higher_is_better, "") for m in demo_metrics()]
    t = facts["timings"]
    head = (f"{t['iterations']} iterations in {t['train_s'] / 60:.1f} min ({t['images_per_s']:.1f} images/s); "
            f"{facts['pairs']} held-out pairs of {facts['identities']['test']} unseen people")  # fmt: skip
    return head + "\n" + text_table(facts, columns, list(METHODS))
