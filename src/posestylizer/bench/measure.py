"""Measuring primitives: FLOP counts, peak memory, timed calls and robust summaries.

The shares of the table are of the best of several probes (:mod:`posestylizer.bench.ceiling`).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of ``fn`` as ``torch.utils.flop_counter`` counts them (matmuls and convolutions, forward
    and backward; elementwise work and norms are not counted)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_memory(device: torch.device) -> bool:
    """Start a new peak-memory window; False when the host's peak RSS cannot be reset (non-Linux)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    try:  # "5" resets the peak resident set size (VmHWM) to the current RSS (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def rss_mib() -> float | None:
    kib = _status_kib("VmRSS")
    return None if kib is None else kib / 1024


def peak_memory_mib(device: torch.device) -> dict[str, float | None]:
    """Peak host RSS of this process (MiB) and, on CUDA, the peak of allocated device memory."""
    kib = _status_kib("VmHWM")
    out: dict[str, float | None] = {"host_peak_rss_mib": None if kib is None else kib / 1024}
    if device.type == "cuda":
        out["device_peak_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


def summary(values: list[float]) -> dict:
    """Median, quartiles and range of repeated measurements (JSON-serialisable)."""
    if not values:
        return {"n": 0}
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (values[0],) * 3
    return {"median": statistics.median(values), "q1": q1, "q3": q3, "min": min(values), "max": max(values),
            "n": len(values), "values": values}  # fmt: skip


def time_calls(fn: Callable[[], object], calls: int, device: torch.device) -> float:
    """Seconds for ``calls`` consecutive calls of ``fn`` (device work included)."""
    synchronize(device)
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    synchronize(device)
    return time.perf_counter() - start
