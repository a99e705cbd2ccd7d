"""Argument types with their bounds, so a number out of range is argparse's one line and exit 2 before any work.

``type=int`` accepts ``--max-pairs -5`` and ``type=float`` accepts ``--threshold nan``; each option here says what it
takes. Every type raises ``argparse.ArgumentTypeError``, which argparse prints as
``posestylizer CMD: error: argument --opt: expected ...``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _number(text: str, kind: type) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {'whole ' if kind is int else ''}number, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def whole(minimum: int = 1, maximum: int | None = None) -> Callable[[str], int]:
    """A whole number in ``[minimum, maximum]``."""

    def parse(text: str) -> int:
        value = _number(text, int)
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
            raise argparse.ArgumentTypeError(f"expected a whole number {bound}, got {value}")
        return value

    parse.__name__ = "whole number"
    return parse


def real(low: float = 0.0, high: float = math.inf, *, low_open: bool = True, high_open: bool = False
         ) -> Callable[[str], float]:
    """A finite number in the interval from ``low`` to ``high`` (open or closed at each end)."""

    def parse(text: str) -> float:
        value = _number(text, float)
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        if not (above and below):
            left, right = "(" if low_open else "[", ")" if high_open or high == math.inf else "]"
            raise argparse.ArgumentTypeError(f"expected a number in {left}{low:g}, {high:g}{right}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


COUNT = whole(1)  # how many of something, at least one
NON_NEGATIVE = whole(0)
POSITIVE = real(0.0)  # seconds, megabytes, frame rates
FRACTION = real(0.0, 1.0, low_open=True, high_open=True)  # a share strictly between 0 and 1
PROBABILITY = real(0.0, 1.0, low_open=False)  # a threshold on a confidence in [0, 1]
SIDE = whole(1, 16384)  # an image side in pixels


def device(text: str) -> str:
    """``cpu``, ``cuda``, ``cuda:N`` or ``mps``, checked for form (not presence) before anything loads."""
    return _device(text, auto=False)


def device_or_auto(text: str) -> str:
    """:func:`device`, or ``auto`` (CUDA when present, else CPU)."""
    return text if text == "auto" else _device(text, auto=True)


def _device(text: str, auto: bool) -> str:
    choices = f"{'auto, ' if auto else ''}cpu, cuda, cuda:N or mps"
    import torch  # only here: parsing devices needs torch's own rules, and commands import torch anyway

    try:
        parsed = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {choices}, got {text!r}") from None
    if parsed.type not in ("cpu", "cuda", "mps"):
        raise argparse.ArgumentTypeError(f"expected {choices}, got {text!r}")
    return text
