"""Flush-to-zero for the CPU work of a training run or a batch of inference.

Subnormal floats (|x| < 1.18e-38 in float32) are computed by a microcode assist on many x86 cores: Intel Xeons pay
about 1.9x for the demo's training loop and 4x at 128x64 with them (issue 24), while the AMD EPYC (Zen 4) these
numbers were checked on pays nothing measurable. The Gaussian pose maps' tails were their source (4 % of a map's
values, until :func:`posestylizer.keypoints.maps.heatmaps` made them exact zeros); training can make more in
activations and gradients, so the run also sets the CPU's flush-to-zero / denormals-are-zero modes.

The numeric effect is nil at the size of anything the networks compute: a subnormal is below the rounding step of any
sum that holds a normal number, so outputs are identical (max difference 0.0 measured on the demo recipe's generator
with real pose maps; the reference fixtures and the exact-resume test pass unchanged).

x86 keeps these modes per thread, and a thread inherits them when it is created: set them before the first parallel
torch operation of the process (before networks are built) so that the OpenMP pool inherits them. Restoring at exit
reaches the calling thread only; pool threads started inside keep flushing (harmless, see above). On CUDA and on CPUs
without the modes nothing changes (``torch.set_flush_denormal`` returns False there).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def flushing() -> bool:
    """Whether this thread flushes subnormals now (torch has no getter: a subnormal times one reads as zero)."""
    return bool((torch.tensor([1e-39], dtype=torch.float32) * 1.0).item() == 0.0)


@contextmanager
def flush_denormals(enabled: bool = True) -> Iterator[bool]:
    """Flush subnormal floats to zero on the CPU inside the block; yields whether the mode is on.

    Restores this thread's previous mode at exit, so a caller that had set it keeps it.
    """
    before = flushing()
    on = bool(torch.set_flush_denormal(True)) if enabled else before
    try:
        yield on
    finally:
        if enabled and not before:
            torch.set_flush_denormal(False)
