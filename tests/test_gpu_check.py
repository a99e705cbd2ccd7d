"""benchmarks/gpu_check.py: the dry run lists every check with its command, and the tiny CPU run exercises every
check's code path and writes one markdown report with measured rows."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import REFERENCE, REPO

SCRIPT = REPO / "benchmarks" / "gpu_check.py"
CHECKS = ("ceiling", "equivalence", "inference", "train", "memory", "ddp")


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)  # fmt: skip


def _section(report: str, name: str) -> str:
    start = report.index(f"## {name}:")
    end = report.find("\n## ", start + 1)
    return report[start : end if end > 0 else None]


def _numeric_rows(section: str) -> list[str]:
    """Table rows (not the header or rule) with at least one number in a measured column."""
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("|---")][1:]
    return [r for r in rows if re.search(r"\|\s*[0-9][0-9,.e+-]*\s*\|", r)]


def test_dry_run_lists_every_check_and_runs_nothing(tmp_path):
    out = tmp_path / "report.md"
    proc = _run("--dry-run", "--out", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in CHECKS:
        assert re.search(rf"^- {name} \(budget \d+ s\): \S", proc.stdout, re.M), name
    assert "torch.distributed.run" in proc.stdout and "-m posestylizer train" in proc.stdout
    assert not out.exists()


@pytest.mark.slow
def test_tiny_cpu_run_writes_one_report_with_every_check_measured(tmp_path):
    out = tmp_path / "gpu_report.md"
    # --limit: no time budget may cut a code path short on a loaded machine; this asserts paths, not speed.
    # aot_eager: the compile row goes through torch.compile's tracing without inductor's C++ build (minutes on two
    # shared cores); the GPU run uses inductor.
    proc = _run("--device", "cpu", "--tiny", "--out", str(out), "--fixtures", str(REFERENCE), "--limit", "3000",
                "--compile-backend", "aot_eager", timeout=1500)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [p.name for p in tmp_path.iterdir()] == ["gpu_report.md"]
    report = out.read_text()
    for name in CHECKS:
        section = _section(report, name)
        assert section.startswith(f"## {name}: ok"), section[:300]
        assert _numeric_rows(section), f"{name}: no measured row\n{section}"
    assert report.count("| PASS |") == 4  # both fixtures, strict fp32 NCHW and channels_last, on the CPU
    inference = _section(report, "inference")
    for mode in ("eager", "compile"):
        assert re.search(rf"\| {mode} \| [0-9]", inference), mode  # images/s measured
    assert "skipped: needs CUDA" in inference  # CUDA graphs: warm-up ran, capture needs CUDA
    train = _section(report, "train")
    assert re.search(r"\| fp32 \| [0-9]", train) and re.search(r"\| bf16 \| [0-9]", train)
    memory = _section(report, "memory")
    assert memory.count("| 3 | bisected |") == 2  # the artificial 3-sample limit was found by bisection
    ddp = _section(report, "ddp")
    assert "| 2 | gloo | 3 |" in ddp and re.search(r"\| 0 \| 1 \|", ddp)  # exit 0, a checkpoint written
    assert re.search(r"^- (PASS|MISS): bf16 inference at market", report, re.M)
    assert re.search(r"^- (PASS|MISS): AMP training at market", report, re.M)
