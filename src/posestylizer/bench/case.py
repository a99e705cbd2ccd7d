"""A benchmark case's measurable call (:class:`Case`) and the dtypes of the precisions; shared by the case builders
(:mod:`posestylizer.bench.cases`, :mod:`posestylizer.bench.pipeline_cases`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class Case:
    """One measurable call and what it is worth.

    Attributes:
        call: does the work once (a batch of inference, one iteration, one loaded batch).
        items: images per call.
        dtype: dtype of the matmul the call is compared with (None: no FLOPs to compare, e.g. the loader).
        setting: the configuration in words, for the table.
        cleanup: releases what the case holds (temporary folders, loader workers).
        stages: for the pipeline cases, a :class:`~posestylizer.bench.pipeline_cases.StageClock` the call adds
            its seconds per stage to (None: one undivided call).
    """

    call: Callable[[], object]
    items: int
    dtype: torch.dtype | None
    setting: str
    cleanup: list[Callable[[], object]] = field(default_factory=list)
    stages: object | None = None

    def close(self) -> None:
        for fn in self.cleanup:
            fn()
