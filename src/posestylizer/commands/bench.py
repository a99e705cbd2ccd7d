"""``posestylizer bench``: throughput table of inference, training iterations, the loader and the pipeline (and vs a
revision)."""

from __future__ import annotations

import argparse

from posestylizer.commands.argtypes import COUNT, NON_NEGATIVE, POSITIVE, device


def register(sub: argparse._SubParsersAction) -> None:
    from posestylizer.bench.cases import DEFAULT_CASES

    p = sub.add_parser(
        "bench",
        help="measure images/s of inference, training iterations, the training loop and the loader, as shares of a "
        "measured ceiling",
        description="Each case KIND:PRESET:BATCH (KIND infer, train, loop, data, generate, animate, infer-random or "
        "train-random; PRESET market, "
        "fashion, synthetic or demo) runs in its own process; generate times BATCH whole pipeline calls on synthetic "
        "street photos (estimation, framing, generation; needs the 'pose' extra), animate renders BATCH poses from "
        "one appearance (frames/s), both with ms per image by stage; loop runs `posestylizer train` itself for bench.steps iterations; "
        "train and infer run on rendered pose maps of synthetic people (*-random: a random batch). Every repetition "
        "follows the ceiling's probes (a 2048x2048 matmul, 3x3 convolutions forward and backward) in the same dtype "
        "and threads; a share is of their best (never above 100 %: a faster case raises the ceiling), "
        "and FLOPs come from torch.utils.flop_counter. Prints a markdown table (medians with interquartile ranges) "
        "and writes a JSON record with the machine's facts and every repetition. --compare REV measures that "
        "commit's code too, alternating repetitions, and prints the paired speed-ups.",
        epilog=f"default cases: {' '.join(DEFAULT_CASES)}. example: posestylizer bench --cases train:demo:8 "
        "--compare main --reps 9",
    )
    p.add_argument("--cases", nargs="+", default=list(DEFAULT_CASES), metavar="CASE", help="what to measure")
    p.add_argument("--compare", default="", metavar="REV", help="also measure this git revision's code")
    p.add_argument("--baseline", action="append", default=[], metavar="key=value", help="a config override of the "
                   "second side only (this code, or REV's with --compare), repeatable: an A/B of settings in one run, "
                   "e.g. --baseline train.channels_last=false")
    p.add_argument("--baseline-threads", type=COUNT, metavar="N", help="threads of the second side only")
    p.add_argument("--reps", type=COUNT, default=5, help="repetitions per case (default 5)")
    p.add_argument("--min-time", type=POSITIVE, default=1.0, help="seconds per repetition at least (default 1)")
    p.add_argument("--threads", type=COUNT, help="torch/OpenMP threads (default: torch's)")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16", "auto"),
                   help="compute precision (auto: bf16 where the device runs it natively)")  # fmt: skip
    p.add_argument("--device", type=device, default="cpu", help="torch device (default cpu)")
    p.add_argument("--checkpoint", metavar="DIR", help="generator of the generate and animate cases (default: random "
                   "weights of the preset's architecture)")  # fmt: skip
    p.add_argument("--profile", type=NON_NEGATIVE, default=0, metavar="N", help="also profile one repetition per case and "
                   "print its N most expensive operators (torch.profiler)")  # fmt: skip
    p.add_argument("--json", default="bench.json", metavar="FILE", help="JSON record (default bench.json)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides for every case")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posestylizer.bench.suite import run as run_bench

    result = run_bench(
        args.cases, compare=args.compare, baseline_overrides=args.baseline, baseline_threads=args.baseline_threads, reps=args.reps, min_time=args.min_time, threads=args.threads,
        precision=args.precision, device=args.device, overrides=args.overrides, json_path=args.json,
        profile=args.profile, checkpoint=args.checkpoint,
    )  # fmt: skip
    print(result.table)
    print(f"\nJSON: {args.json}")
    return 0
