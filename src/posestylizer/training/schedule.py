"""When training stops and which learning rate each iteration uses: one policy for the epoch and the budget regime.

The reference (§5.5) keeps the rate constant for ``niter`` epochs, then decays it linearly to exactly 0 over
``niter_decay`` epochs: ``LambdaLR`` stepped once at the end of every epoch with
``factor(e) = 1 - max(0, e + 1 + epoch_count - niter) / (niter_decay + 1)``, ``epoch_count = 1`` and ``e`` the 0-based
scheduler count, so 1-based epoch E trains with ``lr * factor(E - 1)``: with niter = niter_decay = 400, epochs 1-399
use the full rate, epoch 400 0.99751, epoch 600 0.49875, epoch 799 0.00249 and epoch 800 exactly 0 (reference quirk 8,
reproduced). A wall-clock budget (the demo) or an iteration count (the ablation study, ``train.steps``) stretches the
same shape over the budget or the iterations instead.

:class:`TrainingPolicy` decides both regimes; :class:`Clock` advances its seconds and :class:`StopFlag` turns Ctrl-C
into a stop at an iteration boundary.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from time import perf_counter
from typing import Self

import torch
import torch.distributed as dist

from posestylizer.errors import ConfigError
from posestylizer.training.distributed import DistInfo


class LinearDecay:
    """``factor(e)`` of the reference rule (``e`` = completed epochs)."""

    def __init__(self, niter: int, niter_decay: int, epoch_count: int = 1) -> None:
        self.niter, self.niter_decay, self.epoch_count = niter, niter_decay, epoch_count

    def __call__(self, e: int) -> float:
        return 1.0 - max(0, e + 1 + self.epoch_count - self.niter) / float(self.niter_decay + 1)


def budget_factor(fraction: float, niter: int, niter_decay: int) -> float:
    """The same shape stretched over a wall-clock budget: ``fraction`` of the budget spent -> LR factor.

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


class TrainingPolicy:
    """The stop condition and the LR factor of a run, in one of three regimes.

    - epochs (``time_budget == 0`` and ``steps == 0``, the reference): the run ends after ``epochs + epochs_decay``
      epochs; iteration in 0-based epoch e uses ``lr * LinearDecay(e)``, the value ``LambdaLR`` stepped once per epoch
      gives.
    - wall-clock budget (``time_budget > 0`` seconds, the demo): the run ends when the budget is spent; the rate follows
      :func:`budget_factor` of the fraction spent.
    - iteration count (``steps > 0``, the ablation study): the run ends after exactly ``steps`` iterations; iteration
      i (0-based) uses :func:`budget_factor` of ``i / steps``, so the result does not depend on the machine's speed.

    :attr:`elapsed` (training wall-clock seconds over every resumed segment of the run) is advanced by the loop and is
    part of :meth:`state_dict`, so a resumed budget run continues its clock instead of restarting it.

    Args:
        epochs: epochs at the full rate (reference ``niter``).
        epochs_decay: epochs of linear decay (reference ``niter_decay``).
        time_budget: seconds of training; 0 = the epoch (or step) regime.
        steps: iterations of training; 0 = the epoch (or budget) regime. Not together with ``time_budget``.
    """

    def __init__(self, epochs: int, epochs_decay: int, time_budget: float = 0.0, steps: int = 0) -> None:
        if time_budget < 0 or steps < 0:
            raise ValueError(f"time_budget and steps must be >= 0, got {time_budget} and {steps}")
        if time_budget > 0 and steps > 0:
            raise ValueError("give a time budget or a step count, not both")
        self.epochs, self.epochs_decay, self.time_budget = epochs, epochs_decay, float(time_budget)
        self.steps = int(steps)
        self.elapsed = 0.0

    @classmethod
    def from_config(cls, train_cfg) -> TrainingPolicy:
        """From a :class:`~posestylizer.config.TrainConfig` (``epochs``, ``epochs_decay``, ``time_budget``,
        ``steps``)."""
        return cls(train_cfg.epochs, train_cfg.epochs_decay, train_cfg.time_budget, train_cfg.steps)

    @property
    def budgeted(self) -> bool:
        return self.time_budget > 0

    @property
    def counted(self) -> bool:
        """True in the iteration-count regime (``steps > 0``)."""
        return self.steps > 0

    @property
    def total_epochs(self) -> int:
        return self.epochs + self.epochs_decay

    def lr_factor(self, epoch: int, step: int = 0) -> float:
        """Factor of the base rate for the next iteration, ``epoch`` = completed epochs, ``step`` = completed
        iterations; in [0, 1]."""
        if self.budgeted:
            return budget_factor(self.elapsed / self.time_budget, self.epochs, self.epochs_decay)
        if self.counted:
            return budget_factor(step / self.steps, self.epochs, self.epochs_decay)
        return LinearDecay(self.epochs, self.epochs_decay)(epoch)

    def finished(self, epoch: int, step: int = 0) -> bool:
        """True once the run is complete (``epoch`` = completed epochs, ``step`` = completed iterations)."""
        if self.budgeted:
            return self.elapsed >= self.time_budget
        if self.counted:
            return step >= self.steps
        return epoch >= self.total_epochs

    def state_dict(self) -> dict:
        return {"elapsed": self.elapsed, "time_budget": self.time_budget}

    def load_state_dict(self, state: dict) -> None:
        """Restore the clock; the regime and the budget come from the (possibly changed) config."""
        self.elapsed = float(state["elapsed"])


class StopFlag:
    """SIGINT/SIGTERM ask the loop to stop at the next iteration boundary (then checkpoint); a second SIGINT aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, object] = {}

    def __enter__(self) -> Self:
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def ignore_stop_signals(worker_id: int) -> None:
    """Loader workers leave SIGTERM and SIGINT to the main process. ``timeout``, systemd and SLURM signal the whole
    process group: a worker killed by it would make the loader raise before the main process could checkpoint at
    the next iteration boundary (:class:`StopFlag`), which then shuts them down."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Clock:
    """Advances the policy's training seconds after every iteration and agrees on the stop request.

    Under torchrun one all-reduce (max) per iteration gives every rank the same elapsed time and the stop request of
    any rank, so that all ranks use the same learning rate and stop at the same iteration.
    """

    def __init__(self, policy: TrainingPolicy, info: DistInfo) -> None:
        self.policy, self.info = policy, info
        self.base, self.start = policy.elapsed, perf_counter()

    def tick(self, stop_requested: bool) -> bool:
        """Update ``policy.elapsed``; True when any rank asks to stop."""
        elapsed = self.base + perf_counter() - self.start
        if self.info.distributed:
            both = torch.tensor([float(stop_requested), elapsed], dtype=torch.float64, device=self.info.device)
            dist.all_reduce(both, op=dist.ReduceOp.MAX)
            stop_requested, elapsed = bool(both[0].item() > 0), float(both[1].item())
        self.policy.elapsed = elapsed
        return stop_requested


# What the allocators say when a batch does not fit: CUDA's OutOfMemoryError, CPU malloc refusing a huge block.
_OUT_OF_MEMORY = ("out of memory", "not enough memory", "can't allocate memory", "cannot allocate memory")


@contextlib.contextmanager
def fits_in_memory(batch_size: int, device) -> Iterator[None]:
    """Turn an allocator's out-of-memory error inside the block into one ConfigError line that names the batch size
    (the other errors pass through). A batch that Linux's overcommit lets through and the kernel kills later cannot be
    caught by any process; these are the refusals that come back as errors."""
    try:
        yield
    except (torch.OutOfMemoryError, RuntimeError) as err:
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if not isinstance(err, torch.OutOfMemoryError) and not any(s in text.lower() for s in _OUT_OF_MEMORY):
            raise
        raise ConfigError(f"train.batch_size={batch_size} does not fit in memory on {device} ({text[:160]}); "
                          "lower train.batch_size") from None
