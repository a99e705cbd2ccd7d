"""The machine's ceiling: the best FLOP/s of dense probes in the case's dtype, threads and device settings.

A case's "share" is its FLOP/s over this ceiling. One probe is not a ceiling: a 2048² ``torch.mm`` goes to the BLAS
(MKL) while convolutions go to oneDNN (or cuDNN, which on CUDA also defaults to TF32 where matmuls stay strict
fp32), and a case can beat it. So the ceiling is the best of several probes, each warmed up and taken at every
repetition:

- ``gemm``: an ``n x n`` matmul;
- ``conv3x3 fwd``: a 3x3 convolution forward, channels_last (the layout oneDNN and cuDNN prefer);
- ``conv3x3 fwd nchw``: the same in NCHW, the pipeline's layout;
- ``conv3x3 fwd+bwd``: forward and backward (input and weight gradients), channels_last.

The probes run in the caller's process and thread, so they share the case's threads and its ``torch.backends``
settings (TF32 on CUDA). Where a case runs faster than every probe, the ceiling rises to the case's rate and the
record says so: no share is above 100 %.

    from posestylizer.bench.ceiling import machine_ceiling
    best = machine_ceiling(torch.device("cuda"), torch.bfloat16)
    print(best.flops_per_s / 1e9, best.probe)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def conv_shape(n: int) -> tuple[int, int, int]:
    """(batch, channels, side) of the convolution probes that go with an ``n x n`` matmul: 8 x 128 x 32² at
    n = 2048 (2.4 GFLOP forward, like the matmul's 17 in a fraction of its time), shrinking with n for tests."""
    return 8, max(8, n // 16), max(8, n // 64)


class CeilingProbes:
    """The probes in ``dtype`` on ``device``; calling returns ``{probe name: FLOP/s}`` of one timed run of each."""

    def __init__(self, device: torch.device, dtype: torch.dtype = torch.float32, n: int = 2048) -> None:
        gen = torch.Generator().manual_seed(0)

        def rand(*shape: int) -> torch.Tensor:
            return torch.randn(*shape, generator=gen).to(device=device, dtype=dtype)

        b, c, s = conv_shape(n)
        a, m = rand(n, n), rand(n, n)
        x, w = rand(b, c, s, s), rand(c, c, 3, 3)
        xl, wl = x.contiguous(memory_format=torch.channels_last), w.contiguous(memory_format=torch.channels_last)
        xg, wg = xl.clone().requires_grad_(True), wl.clone().requires_grad_(True)
        conv = 2 * b * c * c * 9 * s * s  # multiply-adds x 2 of one forward

        def fwd_bwd() -> None:
            F.conv2d(xg, wg, padding=1).sum().backward()

        self.device = device
        self.repeat = 20 if device.type == "cuda" else 1
        self.probes: dict[str, tuple[Callable[[], object], float]] = {
            "gemm": (lambda: torch.mm(a, m), 2 * n**3),
            "conv3x3 fwd": (lambda: F.conv2d(xl, wl, padding=1), conv),
            "conv3x3 fwd nchw": (lambda: F.conv2d(x, w, padding=1), conv),
            "conv3x3 fwd+bwd": (fwd_bwd, 3 * conv),  # forward, input gradient, weight gradient
        }
        self()  # warm-up: thread pools, kernel and algorithm selection
        self()

    def _time(self, fn: Callable[[], object], flops: float) -> float:
        _sync(self.device)
        start = time.perf_counter()
        for _ in range(self.repeat):
            fn()
        _sync(self.device)
        return self.repeat * flops / (time.perf_counter() - start)

    def __call__(self) -> dict[str, float]:
        return {name: self._time(fn, flops) for name, (fn, flops) in self.probes.items()}


@dataclass(frozen=True)
class Ceiling:
    """The best measured rate, which probe (or ``"the case"``) set it, and every probe's best."""

    flops_per_s: float
    probe: str
    probes: dict[str, float]

    @property
    def raised_by_case(self) -> bool:
        return self.probe == "the case"


def best_of(runs: list[dict[str, float]], case_flops_per_s: float | None = None) -> Ceiling:
    """The ceiling of several probe runs; a case rate above every probe becomes the ceiling (``probe="the case"``)."""
    best: dict[str, float] = {}
    for run in runs:
        for name, rate in run.items():
            best[name] = max(rate, best.get(name, 0.0))
    if not best:
        raise ValueError("no probe runs to take a ceiling from")
    probe = max(best, key=best.__getitem__)
    if case_flops_per_s is not None and case_flops_per_s > best[probe]:
        return Ceiling(case_flops_per_s, "the case", best)
    return Ceiling(best[probe], probe, best)


def machine_ceiling(device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, *, n: int = 2048,
                    runs: int = 3) -> Ceiling:  # fmt: skip
    """The ceiling of this process's device, dtype and threads: the best of ``runs`` warmed-up runs of every probe.

    Set the threads and backend flags (e.g. ``torch.backends.cuda.matmul.allow_tf32``) as the measured work has
    them before calling.
    """
    probes = CeilingProbes(torch.device(device), dtype, n=n)
    return best_of([probes() for _ in range(runs)])
