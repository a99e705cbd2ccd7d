"""Choosing the CPU thread count by timing, not by counting cores.

On a quiet machine more intra-op threads are faster; on a shared one they can be far slower: every parallel region
waits for its slowest thread, and a thread whose core another job holds stalls them all. (Measured on this project's
2-core machine with another job running: 2 threads trained the demo recipe at 7 images/s, 1 thread at 38.) So the demo
times a few real training steps with each candidate count and keeps the fastest.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask), not the machine's total."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_candidates(cores: int | None = None) -> list[int]:
    """1, half the cores and all of them (distinct, ascending)."""
    cores = cores or usable_cores()
    return sorted({1, max(1, cores // 2), cores})


@dataclass(frozen=True)
class ThreadChoice:
    """The chosen count and the median seconds per call of every candidate."""

    threads: int
    seconds: dict[int, float]

    def describe(self) -> str:
        timed = ", ".join(f"{n}: {s * 1000:.0f} ms" for n, s in sorted(self.seconds.items()))
        return f"{self.threads} CPU thread{'s' if self.threads > 1 else ''} (timed per step: {timed})"


def _seconds_per_call(step: Callable[[], object], threads: int, calls: int) -> float:
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - t0) / calls


def fastest_threads(step: Callable[[], object], candidates: list[int] | None = None, rounds: int = 3,
                    calls: int = 2, max_seconds: float = float("inf")) -> ThreadChoice:  # fmt: skip
    """Time ``step`` under each thread count and set the fastest with ``torch.set_num_threads``.

    After one warm-up call per candidate, the candidates take turns (``rounds`` times, ``calls`` calls each), so a
    change of load during the probe hits all of them alike. No new round starts after ``max_seconds``; a candidate
    never timed past its warm-up is judged by the warm-up call. Returns the choice; the thread count stays set.
    """
    candidates = candidates or thread_candidates()
    start = time.perf_counter()
    warm = {n: _seconds_per_call(step, n, 1) for n in candidates}
    samples: dict[int, list[float]] = {n: [] for n in candidates}
    for _ in range(rounds):
        if time.perf_counter() - start > max_seconds:
            break
        for n in candidates:
            samples[n].append(_seconds_per_call(step, n, calls))
    seconds = {n: statistics.median(samples[n]) if samples[n] else warm[n] for n in candidates}
    best = min(seconds, key=seconds.get)
    torch.set_num_threads(best)
    return ThreadChoice(best, seconds)
