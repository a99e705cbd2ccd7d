"""What happens around the training step: scalars, the progress bar, sample grids and checkpoints, one hook each.

The loop (:func:`posestylizer.training.run.train`) calls every hook, on every rank and in list order:
``at_start`` once before the first iteration (a resumed run's counters are restored by then), ``after_step`` after
each iteration, ``after_epoch`` when an epoch has ended, ``at_end`` once when the run stops
(``reason``: ``"finished"``, ``"max_steps"`` or ``"interrupted"``) and ``close`` in any case. Hooks write on the main
rank only but take part in the collectives (loss averaging, state gathering) on all of them.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from posestylizer.errors import CheckpointError, TrainingDiverged
from posestylizer.runtime.files import atomic_file, write_text_atomic
from posestylizer.runtime.progress import Progress
from posestylizer.training.distributed import DistInfo, broadcast_from_main
from posestylizer.training.loop import Trainer, reduce_stats
from posestylizer.training.state import CheckpointDir

SHOWN_LOSSES = (("G", "G/total"), ("D_PB", "D_PB/total"), ("D_PP", "D_PP/total"))


class Hook:
    """No-op base: subclasses override what they need."""

    def at_start(self, trainer: Trainer) -> None:
        pass

    def after_step(self, trainer: Trainer, stats: dict) -> None:
        pass

    def after_epoch(self, trainer: Trainer) -> None:
        pass

    def at_end(self, trainer: Trainer, reason: str) -> None:
        pass

    def close(self) -> None:
        pass


def read_scalars(run_dir: str | Path) -> list[dict]:
    """The logged scalars of a run, in order (one dict per logged step: step, epoch, losses, lr, images_per_s)."""
    path = Path(run_dir) / "scalars.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class ScalarLog(Hook):
    """Losses averaged over ranks, lr and images/s to ``scalars.jsonl`` and TensorBoard, every ``every`` iterations
    and at the last one.

    Args:
        run_dir: the run folder, or None on ranks other than the main one (they only join the averaging).
        info: rank and world size.
        every: iterations between logged steps.
        images_per_step: global batch size (for images/s).
        resume_step: the iteration a resumed run continues from: rows logged after it (by a run killed before its
            next checkpoint) are dropped, so that the file has each step once.
    """

    def __init__(self, run_dir: Path | None, info: DistInfo, every: int, images_per_step: int, resume_step: int = 0):
        self.run_dir, self.info, self.every, self.images_per_step = run_dir, info, max(1, every), images_per_step
        self.writer = None
        self.last: dict[str, float] = {}  # the latest logged values (the progress bar and the run result show them)
        self.logged_step = resume_step
        self.pending: dict | None = None
        self.window_t, self.window_images = time.perf_counter(), 0
        if run_dir is not None:
            from torch.utils.tensorboard import SummaryWriter

            if resume_step:
                self._drop_rows_after(resume_step)
            self.writer = SummaryWriter(str(run_dir / "tb"))

    def _drop_rows_after(self, step: int) -> None:
        rows = read_scalars(self.run_dir)
        kept = [r for r in rows if r["step"] <= step]
        if len(kept) != len(rows):
            write_text_atomic(self.run_dir / "scalars.jsonl", "".join(json.dumps(r) + "\n" for r in kept))

    def after_step(self, trainer: Trainer, stats: dict) -> None:
        self.window_images += self.images_per_step
        # What the step was: the epoch counter moves on before at_end may log it.
        self.pending = {"step": trainer.step, "epoch": trainer.epoch + 1, "lr": trainer.lr, "stats": stats}
        if trainer.step % self.every == 0:
            self._log()

    def at_end(self, trainer: Trainer, reason: str) -> None:
        if self.pending is not None and self.logged_step != self.pending["step"]:
            self._log()

    def _log(self) -> None:
        step, epoch = self.pending["step"], self.pending["epoch"]
        values = reduce_stats(self.pending["stats"], self.info)  # a collective: every rank logs at the same steps
        now = time.perf_counter()
        values["lr"] = self.pending["lr"]
        values["images_per_s"] = self.window_images / max(now - self.window_t, 1e-9)
        self.window_t, self.window_images = now, 0
        self.last, self.logged_step = values, step
        if self.writer is None:
            return
        with open(self.run_dir / "scalars.jsonl", "a") as fh:  # a few hundred bytes per logged step
            fh.write(json.dumps({"step": step, "epoch": epoch, **values}) + "\n")
        for k, v in values.items():
            self.writer.add_scalar(k, v, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class FiniteLosses(Hook):
    """Stop the run at the first iteration whose loss is NaN or infinite, before any later hook saves its weights.

    A diverged GAN does not come back, and a checkpoint of NaN weights would overwrite good ones (only the newest
    ``keep_last`` are kept); so the run stops with a :class:`~posestylizer.errors.TrainingDiverged` line naming the
    step and the last good checkpoint. Every rank checks (the flag is reduced: a NaN on one rank stops them all).

    Args:
        info: rank and world size.
        checkpoints: the run's checkpoint folder (named in the message).
    """

    def __init__(self, info: DistInfo, checkpoints: CheckpointDir) -> None:
        self.info, self.checkpoints = info, checkpoints

    def after_step(self, trainer: Trainer, stats: dict) -> None:
        names = sorted(stats)
        values = torch.stack([stats[k].detach().float() for k in names])
        bad = (~torch.isfinite(values)).any().float()
        if self.info.distributed:
            dist.all_reduce(bad, op=dist.ReduceOp.MAX)
        if not bad.item():  # one device sync per iteration, negligible next to a GAN step
            return
        which = [f"{k}={v}" for k, v in zip(names, values.tolist()) if not math.isfinite(v)]
        which = which or ["a loss on another rank"]
        latest = self.checkpoints.latest()
        kept = f"the last good checkpoint is {latest}" if latest else "no checkpoint had been written yet"
        raise TrainingDiverged(
            f"training diverged at step {trainer.step}: {', '.join(which)}; nothing was saved after it, {kept} "
            "(resume from it with a lower train.lr, or without mixed precision)"
        )


class ProgressBar(Hook):
    """tqdm on stderr: iterations of the epoch schedule, or seconds of a time budget; shows the latest losses."""

    def __init__(self, trainer: Trainer, log: ScalarLog, progress: Progress) -> None:
        self.log, policy = log, trainer.policy
        if policy.budgeted:
            self.bar = progress.bar("train", total=round(policy.time_budget), initial=round(policy.elapsed), unit="s",
                                      leave=True,
                                      bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f}s [{elapsed}<{remaining}{postfix}]")
        else:
            self.bar = progress.bar("train", total=trainer.total_steps, initial=trainer.step, unit="it", leave=True)
        self._describe(trainer)

    def _describe(self, trainer: Trainer) -> None:
        total = "" if trainer.policy.budgeted or trainer.policy.counted else f"/{trainer.total_epochs}"
        self.bar.set_description(f"epoch {trainer.epoch + 1}{total}", refresh=False)

    def after_step(self, trainer: Trainer, stats: dict) -> None:
        if self.log.logged_step == trainer.step and self.log.last:
            self.bar.set_postfix({k: f"{self.log.last[v]:.3f}" for k, v in SHOWN_LOSSES}, refresh=False)
        policy = trainer.policy
        self.bar.update(min(policy.elapsed, policy.time_budget) - self.bar.n if policy.budgeted else 1)

    def after_epoch(self, trainer: Trainer) -> None:
        self._describe(trainer)

    def close(self) -> None:
        self.bar.close()


class SampleGrids(Hook):
    """PNG grids of fixed pairs in ``samples/``: every ``every`` epochs (``epoch_0001.png``) and when the run
    finishes between epoch ends (``step_00001234.png``, a time budget).

    Args:
        run_dir: the run folder, or None on ranks other than the main one.
        every: epochs between grids; 0 = none.
        draw: ``(trainer, batch) -> uint8 (H, W, 3)`` grid.
        batch: the fixed pairs.
    """

    def __init__(self, run_dir: Path | None, every: int, draw: Callable[[Trainer, dict], np.ndarray], batch) -> None:
        self.run_dir, self.every, self.draw, self.batch = run_dir, every, draw, batch
        self.drawn_step = -1

    def _save(self, trainer: Trainer, name: str) -> None:
        from PIL import Image

        with atomic_file(self.run_dir / "samples" / name) as fh:
            Image.fromarray(self.draw(trainer, self.batch)).save(fh, format="PNG")
        self.drawn_step = trainer.step

    def after_epoch(self, trainer: Trainer) -> None:
        if self.run_dir is not None and self.every and trainer.epoch % self.every == 0:
            self._save(trainer, f"epoch_{trainer.epoch:04d}.png")

    def at_end(self, trainer: Trainer, reason: str) -> None:
        if self.run_dir is None or not self.every or reason != "finished" or self.drawn_step == trainer.step:
            return
        at_epoch_end = trainer.batch_in_epoch == 0
        self._save(trainer, f"epoch_{trainer.epoch:04d}.png" if at_epoch_end else f"step_{trainer.step:08d}.png")


class Checkpoints(Hook):
    """The full training state in ``checkpoints/`` (newest ``keep_last`` kept) and the generator in ``generator/``:
    every ``every`` epochs and whenever the run stops, so that ``--resume`` continues exactly.

    Args:
        run_dir: the run folder (every rank builds the state; the main rank writes it).
        info: rank and world size.
        every: epochs between checkpoints; 0 = only when the run stops.
        keep_last: state files kept.
        start_step: the iteration the run starts from (a resumed run's checkpoint needs no second copy).
    """

    def __init__(self, run_dir: Path, info: DistInfo, every: int, keep_last: int, start_step: int) -> None:
        self.run_dir, self.info, self.every = run_dir, info, every
        self.files = CheckpointDir(run_dir / "checkpoints", keep_last)
        self.saved_step = start_step

    def _save(self, trainer: Trainer) -> None:
        state = trainer.state_dict()  # collective
        failure = None
        if self.info.is_main:
            previous = self.files.latest()
            try:
                self.files.save(state, trainer.step)
                trainer.export_generator(self.run_dir / "generator")
            except OSError as err:  # disk full, quota, a vanished mount: the atomic writes left the old files
                kept = f"the previous checkpoint {previous} is intact" if previous else "no earlier checkpoint exists"
                failure = (f"could not write the checkpoint of step {trainer.step} to {self.files.folder} "
                           f"({err.strerror or err}); {kept}; free space and continue with "
                           f"`posestylizer train --resume {self.run_dir}`")
        failure = broadcast_from_main(failure, self.info)  # a collective: every rank waits for the outcome
        if failure:
            raise CheckpointError(failure)
        self.saved_step = trainer.step

    def after_epoch(self, trainer: Trainer) -> None:
        if self.every and trainer.epoch % self.every == 0:
            self._save(trainer)

    def at_end(self, trainer: Trainer, reason: str) -> None:
        if self.saved_step != trainer.step:
            self._save(trainer)
