"""The GPU check: one run (at most 8 minutes on one GPU) that writes one markdown report.

    python benchmarks/gpu_check.py --out gpu_report.md            # on a GPU machine
    python benchmarks/gpu_check.py --dry-run                      # list the checks and what each runs
    python benchmarks/gpu_check.py --device cpu --tiny            # every code path on a CPU, tiny sizes (tested)

Checks, in order, each with its own time budget (a check past its budget skips its remaining rows; a failing check
is recorded with its error line and the others continue):

- ``ceiling``: the bench's ceiling (``posestylizer.bench.ceiling``: GEMM and 3x3 convolution probes) per dtype;
  every row's share is its FLOP/s over this ceiling;
- ``equivalence``: the authors' generator fixtures on the device (fp32 strict to 1e-5; TF32 and channels_last);
- ``inference``: market and fashion generators, fp32 / bf16 / fp16, NCHW / channels_last, CUDA graphs,
  torch.compile, on real pose maps;
- ``train``: ``Trainer.train_step`` in fp32, AMP bf16 and AMP fp16 with GradScaler;
- ``memory``: peak memory and the largest fp32 training batch that fits at both presets;
- ``ddp``: ``torchrun -m posestylizer train`` over NCCL with the GPUs present (gloo on CPU).

The reference fixtures are read from ``--fixtures`` (default: ``shared/fixtures/reference`` inside or beside the
repository). Benchmarks measure and print; the targets are PASS/MISS lines, never an exit status.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_check_parts import DTYPES, Ctx, equivalence_rows, first_line, measure_ceiling  # noqa: E402
from gpu_check_runs import ddp_command, ddp_rows, inference_rows, memory_rows, train_rows  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TOTAL_LIMIT_S = 480.0  # the whole run stays under 8 minutes; budgets below sum to 420 s, leaving slack for start-up


@dataclass(frozen=True)
class Check:
    name: str
    budget_s: float
    runs: str  # what it runs, in words (the --dry-run listing)
    fn: Callable[[Ctx], list[dict]]


def ceiling_rows(ctx: Ctx) -> list[dict]:
    rows = []
    for name in DTYPES:
        try:
            found = measure_ceiling(ctx.device, name, ctx.tiny)
            ctx.ceilings[name] = {"flops": found["flops"], "by": found["by"]}
            row = {"dtype": name, "ceiling_gflops": found["flops"] / 1e9, "set_by": found["by"]}
            row.update({f"{probe} GFLOP/s": v / 1e9 for probe, v in found["probes"].items()})
        except Exception as err:
            row = {"dtype": name, "note": first_line(err)}
        rows.append(row)
    return rows


CHECKS = (
    Check("ceiling", 30, "the bench's ceiling per dtype: GEMM 8192^2 and conv3x3 8x512x128x128 (NCHW and channels_last "
          "fwd, channels_last fwd+bwd), best of 3 runs",
          ceiling_rows),
    Check("equivalence", 30, "authors' fixtures aps_market_ngf8_bnstats.pt, aps_fashion_ngf4.pt through "
          "load_generator on the device: fp32 strict (<= 1e-5), channels_last, cuDNN TF32", equivalence_rows),
    Check("inference", 150, "Generator forward, market b64 / fashion b32, fp32/bf16/fp16 x NCHW, channels_last, "
          "CUDA graph; torch.compile for market bf16/fp16/fp32 and fashion bf16", inference_rows),
    Check("train", 70, "Trainer.train_step, market b48 / fashion b16, fp32, AMP bf16, AMP fp16 + GradScaler",
          train_rows),
    Check("memory", 80, "largest fp32 training batch (doubling, then bisection; OOM caught) market cap 4096, "
          "fashion cap 1024; torch.cuda.max_memory_allocated at it", memory_rows),
    Check("ddp", 60, "torchrun -m posestylizer train --preset synthetic, 20 steps, all GPUs (NCCL)", ddp_rows),
)  # fmt: skip


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-3 or abs(value) >= 1e5 else f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def _table(rows: list[dict]) -> list[str]:
    if not rows:
        return ["(no rows)"]
    cols = list(dict.fromkeys(k for r in rows for k in r if k != "note"))
    if any("note" in r for r in rows):
        cols.append("note")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in cols) + " |" for r in rows]
    return lines


def targets(results: dict[str, dict]) -> list[str]:
    """The issue's targets as PASS/MISS lines: bf16 inference at market >= 30 % of the ceiling (best bf16 row);
    AMP training >= 2x fp32 (best AMP row per preset)."""
    lines = []
    infer = [r for r in results.get("inference", {}).get("rows", []) if r.get("share_pct") is not None]
    market_bf16 = [r for r in infer if r["preset"] == "market" and r["dtype"] == "bf16"]
    if market_bf16:
        best = max(market_bf16, key=lambda r: r["share_pct"])
        verdict = "PASS" if best["share_pct"] >= 30 else "MISS"
        lines.append(f"- {verdict}: bf16 inference at market {best['share_pct']:.1f} % of the bf16 ceiling "
                     f"({best['layout']}, {best['mode']}; target >= 30 %)")  # fmt: skip
    else:
        lines.append("- MISS: bf16 inference at market: no measured row")
    train = [r for r in results.get("train", {}).get("rows", []) if r.get("images_s")]
    for preset in ("market", "fashion"):
        fp32 = [r for r in train if r["preset"] == preset and r["precision"] == "fp32"]
        amp = [r for r in train if r["preset"] == preset and r["precision"] != "fp32"]
        if fp32 and amp:
            best = max(amp, key=lambda r: r["images_s"])
            ratio = best["images_s"] / fp32[0]["images_s"]
            lines.append(f"- {'PASS' if ratio >= 2 else 'MISS'}: AMP training at {preset} {ratio:.2f}x fp32 "
                         f"({best['precision']}; target >= 2x)")  # fmt: skip
        else:
            lines.append(f"- MISS: AMP training at {preset}: fp32 or AMP row missing")
    return lines


def machine_lines(ctx: Ctx) -> list[str]:
    name = torch.cuda.get_device_name(ctx.device) if ctx.cuda else (platform.processor() or platform.machine())
    return [
        f"- device: {ctx.device} ({name}); GPUs visible: {torch.cuda.device_count() if torch.cuda.is_available() else 0}",
        f"- torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN "
        f"{torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else '-'}, Python {platform.python_version()}",
        f"- TF32: matmul {torch.backends.cuda.matmul.allow_tf32}, cuDNN {torch.backends.cudnn.allow_tf32}; "
        f"cudnn.benchmark {torch.backends.cudnn.benchmark}; CPU threads {torch.get_num_threads()}",
        f"- torch.compile backend: {ctx.compile_backend}",
        f"- mode: {'tiny sizes (code paths only: numbers are not results)' if ctx.tiny else 'full sizes'}",
    ]


def write_report(path: Path, ctx: Ctx, results: dict[str, dict], argv: list[str], wall: float) -> None:
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# GPU check, {date}", "", f"`python benchmarks/gpu_check.py {' '.join(argv)}`: {wall:.0f} s in all",
             "", *machine_lines(ctx), "", "## Targets", "", *targets(results), ""]  # fmt: skip
    for check in CHECKS:
        res = results[check.name]
        lines += [f"## {check.name}: {res['status']} ({res['seconds']:.1f} s of {check.budget_s:.0f} s)", "",
                  f"Runs: {check.runs}.", ""]  # fmt: skip
        if res.get("error"):
            lines += [f"Error: `{res['error']}`", ""]
        lines += [*_table(res["rows"]), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def run_checks(ctx: Ctx, limit_s: float) -> dict[str, dict]:
    """Every check in order under its budget and the total limit; a check that raises is recorded and skipped."""
    results, t0 = {}, time.perf_counter()
    for check in CHECKS:
        start = time.perf_counter()
        total_left = limit_s - (start - t0)
        # --tiny runs every row (its point is the code paths); only the total limit bounds it.
        ctx.deadline = start + (max(total_left, 0.0) if ctx.tiny else min(check.budget_s, max(total_left, 0.0)))
        res = {"rows": [], "error": None}
        if total_left <= 0:
            res["status"] = "skipped (total time limit reached)"
        else:
            print(f"[gpu_check] {check.name} (budget {check.budget_s:.0f} s)", file=sys.stderr, flush=True)
            try:
                res["rows"] = check.fn(ctx)
                bad = [r for r in res["rows"] if r.get("verdict") == "FAIL"]
                res["status"] = "FAIL" if bad else "ok"
            except Exception as err:  # recorded in the report; the next check still runs
                res["status"], res["error"] = "failed", first_line(err)
        res["seconds"] = time.perf_counter() - start
        results[check.name] = res
    return results


def default_fixtures() -> Path:
    for candidate in (REPO / "shared", REPO.parent / "shared"):
        if (candidate / "fixtures" / "reference").is_dir():
            return candidate / "fixtures" / "reference"
    return REPO / "shared" / "fixtures" / "reference"


def dry_run(args: argparse.Namespace) -> str:
    ctx = Ctx(device=torch.device(args.device or "cuda"), tiny=args.tiny, work=Path("WORK"), fixtures=args.fixtures)
    n = "N_GPUS" if ctx.cuda else 2
    lines = [f"gpu_check --dry-run: {len(CHECKS)} checks, total limit {args.limit:.0f} s, report -> {args.out}",
             f"fixtures: {args.fixtures}"]  # fmt: skip
    for check in CHECKS:
        lines.append(f"- {check.name} (budget {check.budget_s:.0f} s): {check.runs}")
        if check.name == "ddp":
            cmd = ddp_command(ctx, n, "WORK/ddp-data", "WORK/run", 3 if ctx.tiny else 20)
            lines.append("    command: " + " ".join(cmd))
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("gpu_report.md"), help="markdown report (default gpu_report.md)")
    p.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    p.add_argument("--tiny", action="store_true", help="tiny sizes: every code path in seconds (for CPU tests)")
    p.add_argument("--dry-run", action="store_true", help="list the checks and what they run; run nothing")
    p.add_argument("--fixtures", type=Path, default=default_fixtures(), help="shared/fixtures/reference folder")
    p.add_argument("--compile-backend", default="inductor", help="torch.compile backend of the compile rows "
                   "(default inductor; aot_eager traces the same graphs without generating code)")
    p.add_argument("--limit", type=float, default=TOTAL_LIMIT_S, help="total seconds for all checks (default 480)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.dry_run:
        print(dry_run(args))
        return 0
    name = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name if name != "cuda" else "cuda:0")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            print(f"--device {name}: CUDA is not available here; use --device cpu --tiny", file=sys.stderr)
            return 2
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True  # as the Trainer sets it on CUDA
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as work:
        ctx = Ctx(device=device, tiny=args.tiny, work=Path(work), fixtures=args.fixtures,
                  compile_backend=args.compile_backend)
        results = run_checks(ctx, args.limit)
        write_report(args.out, ctx, results, argv, time.perf_counter() - start)
    print(f"wrote {args.out}")
    print("\n".join(targets(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
