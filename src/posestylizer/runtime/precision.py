"""Which floating-point precision to compute in: ``precision=auto`` picks bf16 only where the hardware runs it natively.

bf16 pays only on hardware with bf16 arithmetic units: CUDA GPUs of compute capability 8.0 or newer, and CPUs with
AMX (``amx_bf16``) or AVX512-BF16 (``avx512_bf16``). Elsewhere PyTorch emulates it (converting to fp32 and back),
which is slower than fp32 and less exact, so ``auto`` stays in fp32 there.

    choice = choose_precision("auto", torch.device("cpu"))
    choice.name, choice.dtype, choice.reason   # e.g. "bf16", torch.bfloat16, "CPU has avx512_bf16"

The capabilities are parameters (``cpu_flags``, ``cuda_bf16``) so the decision can be tested with faked hardware.
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch

from posestylizer.errors import ConfigError

PRECISIONS = ("fp32", "bf16", "fp16", "auto")
DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
# /proc/cpuinfo flags of native bf16 arithmetic (AMX tiles; AVX512 VDPBF16PS dot products).
NATIVE_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


@dataclass(frozen=True)
class PrecisionChoice:
    """A resolved precision: ``name`` in fp32/bf16/fp16, the autocast ``dtype`` (None = plain fp32) and why."""

    name: str
    reason: str

    @property
    def dtype(self) -> torch.dtype | None:
        return DTYPES[self.name]

    def describe(self, requested: str) -> str:
        """One log line, e.g. ``precision auto -> bf16 (CPU has avx512_bf16)``."""
        return f"precision {requested} -> {self.name} ({self.reason})"


def read_cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU feature flags the kernel reports (empty when the file is missing, e.g. not on Linux)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86 / ARM spelling
            return frozenset(value.split())
    return frozenset()


def cuda_native_bf16(device: torch.device) -> bool:
    """True when ``device`` is a CUDA GPU with bf16 units (compute capability >= 8.0), not emulation."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return False
    major, _ = torch.cuda.get_device_capability(device)
    return major >= 8


def native_bf16(
    device: torch.device, *, cpu_flags: frozenset[str] | None = None, cuda_bf16: bool | None = None
) -> tuple[bool, str]:
    """(does ``device`` compute bf16 natively, the reason in words). Capabilities default to this machine's."""
    if device.type == "cuda":
        ok = cuda_native_bf16(device) if cuda_bf16 is None else cuda_bf16
        return ok, "GPU has bf16 units" if ok else "GPU has no bf16 units (compute capability < 8.0)"
    if device.type == "cpu":
        flags = read_cpu_flags() if cpu_flags is None else cpu_flags
        found = [f for f in NATIVE_BF16_CPU_FLAGS if f in flags]
        if found:
            return True, f"CPU has {' and '.join(found)}"
        return False, "CPU has neither AMX nor AVX512-BF16: bf16 would be emulated"
    return False, f"no native bf16 check for device type '{device.type}'"


def choose_precision(
    requested: str,
    device: torch.device,
    *,
    cpu_flags: frozenset[str] | None = None,
    cuda_bf16: bool | None = None,
) -> PrecisionChoice:
    """Resolve ``requested`` (fp32, bf16, fp16 or auto) for ``device``.

    An explicit precision is kept as asked (whether it suits the device is the caller's check); ``auto`` is bf16
    where :func:`native_bf16` says so, fp32 otherwise. Raises ValueError for an unknown name.
    """
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision '{requested}' (choose {', '.join(PRECISIONS)})")
    if requested != "auto":
        return PrecisionChoice(requested, "as requested")
    ok, reason = native_bf16(device, cpu_flags=cpu_flags, cuda_bf16=cuda_bf16)
    return PrecisionChoice("bf16" if ok else "fp32", reason)


def inference_precision(requested: str, device: torch.device) -> PrecisionChoice:
    """The precision inference runs in: ``requested`` resolved for ``device``; ``auto`` prints its choice (one
    line, stderr). ConfigError for an unknown name, and for fp16 off CUDA (CPU autocast has no fast fp16 path)."""
    if requested not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {requested!r}")
    if requested == "fp16" and device.type != "cuda":
        raise ConfigError(f"precision fp16 needs a CUDA device (got {device}); on CPU use fp32, bf16 or auto")
    choice = choose_precision(requested, device)
    if requested == "auto":
        print(choice.describe("auto"), file=sys.stderr, flush=True)
    return choice


def autocast(choice: PrecisionChoice, device: torch.device) -> AbstractContextManager:
    """``torch.autocast`` in the choice's dtype on ``device``, or a no-op for fp32."""
    if choice.dtype is None:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=choice.dtype)
