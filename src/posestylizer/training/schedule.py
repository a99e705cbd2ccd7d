"""Learning-rate schedule of the reference (§5.5): constant, then linear decay that reaches exactly 0.

``LambdaLR`` stepped once at the end of every epoch with
``factor(e) = 1 - max(0, e + 1 + epoch_count - niter) / (niter_decay + 1)``, ``epoch_count = 1`` and ``e`` the
0-based scheduler count, so 1-based epoch E trains with ``lr * factor(E - 1)``: with niter = niter_decay = 400,
epochs 1-399 use the full rate, epoch 400 0.99751, epoch 600 0.49875, epoch 799 0.00249 and epoch 800 exactly 0
(reference quirk 8, reproduced).
"""

from __future__ import annotations

import torch


class LinearDecay:
    """``factor(e)`` of the reference rule, picklable as plain numbers (scheduler state dicts stay weights-only)."""

    def __init__(self, niter: int, niter_decay: int, epoch_count: int = 1) -> None:
        self.niter, self.niter_decay, self.epoch_count = niter, niter_decay, epoch_count

    def __call__(self, e: int) -> float:
        return 1.0 - max(0, e + 1 + self.epoch_count - self.niter) / float(self.niter_decay + 1)


def epoch_factor(epoch: int, niter: int, niter_decay: int) -> float:
    """LR factor used while training 1-based ``epoch``."""
    return LinearDecay(niter, niter_decay)(epoch - 1)


def make_scheduler(optimizer: torch.optim.Optimizer, niter: int, niter_decay: int) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, LinearDecay(niter, niter_decay))


def budget_factor(fraction: float, niter: int, niter_decay: int) -> float:
    """The same shape stretched over a wall-clock budget (the demo): ``fraction`` of the budget spent -> LR factor.

    Constant for the first ``niter / (niter + niter_decay)`` of the time, then linear to 0 at the end.
    """
    total = niter + niter_decay
    if niter_decay <= 0 or total <= 0:
        return 1.0
    position = fraction * total
    return min(1.0, max(0.0, (total - position) / niter_decay))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
