"""The benchmark run: validate the request, prepare the code sides, run every case, build the table and JSON."""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from posestylizer.bench.cases import DEFAULT_CASES, CaseSpec, split_overrides
from posestylizer.bench.machine import load_average, machine_facts
from posestylizer.bench.report import machine_line, markdown_table
from posestylizer.bench.revision import CodeSide, baseline_side, revision_side, this_side
from posestylizer.bench.runner import BenchError, run_bench, write_json_atomic
from posestylizer.runtime.precision import choose_precision


@dataclass
class BenchResult:
    table: str
    data: dict


def side_line(side: CodeSide) -> str:
    extra = [*side.overrides] + ([f"{side.threads} threads"] if side.threads else [])
    return f"{side.label} = {side.commit}" + (f" with {' '.join(extra)}" if extra else "")


def code_record(side: CodeSide) -> dict:
    return {"commit": side.commit, "src": str(side.src), "overrides": list(side.overrides), "threads": side.threads}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def checked_cases(cases, overrides: list[str], reps: int, min_time: float) -> list[str]:
    """The case names, or BenchError in one line for a malformed case, ``bench.`` option or repetition setting."""
    try:
        specs = [CaseSpec.parse(name).name for name in cases]
        split_overrides(overrides)
    except ValueError as err:
        raise BenchError(str(err)) from None
    if reps < 1 or min_time <= 0:
        raise BenchError(f"--reps {reps} / --min-time {min_time}: need at least 1 repetition of more than 0 s")
    return specs


def code_sides(compare: str, baseline: list[str], baseline_threads: int | None, tmp: Path) -> list[CodeSide]:
    """This code, then (when asked) REV's code unpacked into ``tmp`` or this code again, with the baseline settings."""
    sides = [this_side()]
    if compare or baseline or baseline_threads:
        other = revision_side(compare, tmp) if compare else sides[0]
        sides.append(baseline_side(other, baseline, baseline_threads))
    return sides


def _checkpoint_option(checkpoint: str | Path | None) -> list[str]:
    """``bench.checkpoint=ABSOLUTE_PATH`` (workers run in another folder), or nothing."""
    if not checkpoint:
        return []
    path = Path(checkpoint).resolve()
    if not path.exists():
        raise BenchError(f"--checkpoint {checkpoint}: no such file or folder")
    return [f"bench.checkpoint={path}"]


def _settings(precision: str, device: str, overrides: list[str], log, **fixed) -> dict:
    """The run's settings record, with ``precision`` resolved once for every side (``auto`` says what it chose)."""
    try:
        choice = choose_precision(precision, torch.device(device))
    except ValueError as err:
        raise BenchError(str(err)) from None
    log(choice.describe(precision))
    return {**fixed, "device": device, "precision": choice.name, "precision_reason": choice.reason,
            "overrides": [f"train.precision={choice.name}", *overrides]}  # fmt: skip


def run(
    cases: list[str] | tuple[str, ...] = DEFAULT_CASES,
    *,
    compare: str = "",
    baseline_overrides: list[str] | None = None,
    baseline_threads: int | None = None,
    reps: int = 5,
    min_time: float = 1.0,
    threads: int | None = None,
    precision: str = "fp32",
    device: str = "cpu",
    overrides: list[str] | None = None,
    json_path: str | Path | None = None,
    profile: int = 0,
    matmul_size: int = 2048,
    checkpoint: str | Path | None = None,
    log=_log,
) -> BenchResult:
    """Measure ``cases``; with ``compare``, also the code of that git revision, repetition for repetition.

    Args:
        cases: ``kind:preset:batch`` names (kinds infer, train, data, generate, animate).
        compare: a git revision of this checkout to measure against ("" = none).
        baseline_overrides, baseline_threads: config overrides and thread count of the second side only (with
            ``compare`` the revision's code, else this code): an A/B of settings in one run.
        reps: repetitions per case and side (medians and quartiles are over these).
        min_time: seconds one repetition lasts at least (calls per repetition are chosen at warm-up).
        threads: torch/OpenMP threads of the workers (None = torch's default).
        precision: fp32, bf16, fp16 or auto (resolved here, once, for every side).
        device: torch device of the workers.
        overrides: config overrides for every case, e.g. ``train.channels_last=true``.
        json_path: where to write the JSON record (atomically); None = nowhere.
        profile: after the repetitions, profile one more with ``torch.profiler`` and log (and keep in the JSON)
            this many operators, most self time first; 0 = no profile.
        matmul_size: n of the n x n matmul each repetition is compared with.
        checkpoint: the generator of the generate and animate cases (default: random weights of the preset's
            architecture); BenchError when it does not exist.
    """
    overrides = [*(overrides or []), *_checkpoint_option(checkpoint)]
    specs = checked_cases(cases, [*(overrides or []), *(baseline_overrides or [])], reps, min_time)
    settings = _settings(precision, device, overrides or [], log, reps=reps, min_time=min_time, threads=threads,
                         profile=profile, matmul_size=matmul_size)  # fmt: skip
    facts = machine_facts()
    if threads:
        facts["torch_threads"] = threads
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="posestylizer-bench-rev-") as tmp:
        sides = code_sides(compare, baseline_overrides or [], baseline_threads, Path(tmp))
        records = run_bench(specs, sides, settings, log)
    data = {
        "machine": facts,
        "load_average_end": load_average(),
        "seconds": round(time.time() - start, 1),
        "settings": settings,
        "code": {s.label: code_record(s) for s in sides},
        "cases": records,
    }
    if json_path:
        write_json_atomic(Path(json_path), data)
    return BenchResult(_table(facts, records, sides), data)


def _table(facts: dict, records: list[dict], sides: list[CodeSide]) -> str:
    """The markdown the command prints: the machine's line, the cases, and with two sides what the ratios compare."""
    table = f"{machine_line(facts)}\n\n{markdown_table(records, [s.label for s in sides])}"
    if len(sides) == 2:
        table += "\n\n" + "; ".join(side_line(s) for s in sides) + "; speed-up = paired repetitions"
    return table
