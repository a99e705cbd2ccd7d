"""A training run on disk: folder, resolved config, scalars (TensorBoard + JSON lines), sample grids, checkpoints.

::

    runs/<name>/
      config.yaml               the resolved config (what --resume reads back)
      scalars.jsonl             one JSON object per logged step (losses averaged over ranks, lr, images/s)
      tb/                       TensorBoard event files of the same scalars
      samples/epoch_0001.png    rows of [source | source pose | target | target pose | generated]
      checkpoints/state-*.pt    full training state, written atomically, newest ``train.keep_last`` kept
      generator/                the latest generator as a native checkpoint (posestylizer.checkpoint)

Only rank 0 writes; every rank takes part in the collectives (loss averaging, state gathering).
"""

from __future__ import annotations

import json
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image

from posestylizer.config import ExperimentConfig
from posestylizer.errors import CheckpointError, ConfigError
from posestylizer.losses import load_perceptual
from posestylizer.training.distributed import DistInfo, barrier
from posestylizer.training.loop import Trainer, check_train_config, reduce_stats
from posestylizer.training.schedule import budget_factor, set_lr
from posestylizer.training.state import CheckpointDir, load_state

SHOWN_LOSSES = (("G", "G/total"), ("D_PB", "D_PB/total"), ("D_PP", "D_PP/total"))


def find_checkpoint(resume: str | Path) -> Path:
    """A run folder (its newest checkpoint) or a state file; CheckpointError when there is none."""
    path = Path(resume)
    if path.is_dir():
        latest = CheckpointDir(path / "checkpoints").latest()
        if latest is None:
            raise CheckpointError(f"{path}: no checkpoints/state-*.pt to resume from")
        return latest
    if not path.is_file():
        raise CheckpointError(f"{path}: no such run folder or checkpoint file to resume from")
    return path


def run_dir_of(checkpoint: Path) -> Path:
    return checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent


class RunLogger:
    """Scalars to ``scalars.jsonl`` and TensorBoard (main rank only; other ranks get a no-op logger)."""

    def __init__(self, run_dir: Path | None) -> None:
        self.run_dir = run_dir
        self.writer = None
        if run_dir is not None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(run_dir / "tb"))

    def scalars(self, step: int, epoch: int, values: dict[str, float]) -> None:
        if self.writer is None:
            return
        with open(self.run_dir / "scalars.jsonl", "a") as fh:  # a few hundred bytes per logged step
            fh.write(json.dumps({"step": step, "epoch": epoch, **values}) + "\n")
        for k, v in values.items():
            self.writer.add_scalar(k, v, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def read_scalars(run_dir: str | Path) -> list[dict]:
    """The logged scalars of a run, in order."""
    path = Path(run_dir) / "scalars.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def sample_grid(trainer: Trainer, batch: dict) -> np.ndarray:
    """uint8 rows of [source | source pose | target | target pose | generated] for a batch (eval-mode G)."""
    from posestylizer.viz import batch_rows, stack_rows

    return stack_rows(batch_rows(batch, trainer.generate(batch)))


def fixed_batch(dataset, count: int) -> dict:
    """The first ``count`` evenly spaced items of a dataset, collated (the sample grids' fixed pairs)."""
    from torch.utils.data import default_collate

    n = len(dataset)
    idx = sorted({int(i) for i in np.linspace(0, n - 1, min(count, n))})
    return default_collate([dataset[i] for i in idx])


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

    def any_rank(self, info: DistInfo) -> bool:
        return _agree(self.requested, info)


def _agree(flag: bool, info: DistInfo) -> bool:
    """True on every rank when it is True on any (so that all ranks stop at the same iteration)."""
    if not info.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=info.device)
    dist.all_reduce(value)
    return bool(value.item() > 0)


@dataclass
class RunResult:
    run_dir: Path | None
    steps: int
    epochs: int
    seconds: float
    images: int
    interrupted: bool = False
    last_losses: dict[str, float] = field(default_factory=dict)
    trainer: Trainer | None = field(default=None, repr=False)

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0


def prepare_run_dir(cfg: ExperimentConfig, run_dir: Path, resume: bool) -> None:
    """Create the folder and save the resolved config; refuse to train over an existing run without --resume."""
    if not resume and CheckpointDir(run_dir / "checkpoints").latest() is not None:
        raise ConfigError(f"{run_dir}: already holds a run; add --resume to continue it or choose another --out")
    (run_dir / "samples").mkdir(parents=True, exist_ok=True)
    cfg.save(run_dir / "config.yaml")


def train(
    cfg: ExperimentConfig,
    dataset,
    run_dir: str | Path,
    *,
    dist_info: DistInfo | None = None,
    resume_from: str | Path | None = None,
    sample_data=None,
    max_steps: int = 0,
    time_budget: float | None = None,
    progress: bool = True,
    perceptual="auto",
) -> RunResult:
    """Train (or continue) one run.

    Args:
        cfg: resolved config.
        dataset: training pairs (see :class:`~posestylizer.training.loop.Trainer`).
        run_dir: the run folder.
        dist_info: torchrun rank/world/device; single process by default.
        resume_from: a checkpoint file to continue from exactly.
        sample_data: dataset whose first evenly spaced pairs fill the sample grids (default: ``dataset``).
        max_steps: stop (and checkpoint) after this many iterations in total, 0 = run to the end.
        time_budget: seconds of training; the epoch schedule's LR shape (constant, then linear decay) is stretched
            over this wall time and the run stops when it is spent (the demo). The progress bar counts seconds.
        progress: show a progress bar (main rank).
        perceptual: passed to the Trainer ("auto" loads what ``cfg.loss`` asks for).
    """
    info = dist_info or DistInfo()
    run_dir = Path(run_dir)
    main = info.is_main
    check_train_config(cfg, info)
    if perceptual == "auto":
        perceptual = load_perceptual(cfg.loss)  # a missing weights file stops here, before the run folder exists
    if main:
        prepare_run_dir(cfg, run_dir, resume=resume_from is not None)
    barrier(info)
    trainer = Trainer(cfg, dataset, info, perceptual=perceptual)
    if resume_from is not None:
        trainer.load_state_dict(load_state(resume_from), str(resume_from))
    t = cfg.train
    ckpts = CheckpointDir(run_dir / "checkpoints", t.keep_last)
    logger = RunLogger(run_dir if main else None)
    grid_batch = fixed_batch(sample_data if sample_data is not None else dataset, 6) if main else None

    def checkpoint() -> None:
        state = trainer.state_dict()  # collective
        if main:
            ckpts.save(state, trainer.step)
            trainer.export_generator(run_dir / "generator")
        barrier(info)

    budget = float(time_budget or 0)
    bar = None
    if main and progress:
        from tqdm import tqdm

        if budget:
            bar = tqdm(total=round(budget), desc="train", unit="s", dynamic_ncols=True, file=sys.stderr,
                       bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f}s [{elapsed}<{remaining}{postfix}]")  # fmt: skip
        else:
            bar = tqdm(total=trainer.total_steps, initial=trainer.step, desc="train", unit="it", dynamic_ncols=True,
                       file=sys.stderr)  # fmt: skip
    images_per_step = t.batch_size
    start_step = trainer.step
    seconds, interrupted, last = 0.0, False, {}
    window_t, window_images = time.perf_counter(), 0
    started = time.perf_counter()
    out_of_time = False
    try:
        with StopFlag() as stop:
            while (budget or not trainer.finished) and not out_of_time:  # a budget decides alone
                if bar is not None:
                    bar.set_description(f"epoch {trainer.epoch + 1}" + ("" if budget else f"/{trainer.total_epochs}"))
                t0 = time.perf_counter()
                for batch in trainer.loader():
                    if budget:
                        factor = budget_factor((time.perf_counter() - started) / budget, t.epochs, t.epochs_decay)
                        for opt in trainer.optimizers.values():
                            set_lr(opt, t.lr * factor)
                    stats = trainer.train_step(batch)
                    trainer.step += 1
                    trainer.batch_in_epoch += 1
                    window_images += images_per_step
                    now = time.perf_counter()
                    if budget:
                        out_of_time = _agree(now - started >= budget, info)
                    if trainer.step % t.log_every == 0 or trainer.step == trainer.total_steps or out_of_time:
                        last = reduce_stats(stats, info)
                        last["lr"] = trainer.lr
                        last["images_per_s"] = window_images / max(now - window_t, 1e-9)
                        window_t, window_images = now, 0
                        logger.scalars(trainer.step, trainer.epoch + 1, last)
                        if bar is not None:
                            bar.set_postfix({k: f"{last[v]:.3f}" for k, v in SHOWN_LOSSES}, refresh=False)
                    if bar is not None:
                        bar.update(min(now - started, budget) - bar.n if budget else 1)
                    if out_of_time:
                        break
                    if (max_steps and trainer.step >= max_steps) or stop.any_rank(info):
                        interrupted = not (max_steps and trainer.step >= max_steps)
                        break
                else:
                    trainer.end_epoch()
                seconds += time.perf_counter() - t0  # training only: grids and checkpoints are not counted
                epoch_done = trainer.batch_in_epoch == 0
                if main and t.sample_every and (out_of_time or (epoch_done and trainer.epoch % t.sample_every == 0)):
                    grid = sample_grid(trainer, grid_batch)
                    name = f"epoch_{trainer.epoch:04d}.png" if epoch_done else f"step_{trainer.step:08d}.png"
                    Image.fromarray(grid).save(run_dir / "samples" / name)
                stopping = not epoch_done or out_of_time or (trainer.finished and not budget)
                if stopping or (t.checkpoint_every and trainer.epoch % t.checkpoint_every == 0):
                    checkpoint()
                if not epoch_done:
                    break
    finally:
        if bar is not None:
            bar.close()
        logger.close()
    return RunResult(
        run_dir=run_dir if main else None,
        steps=trainer.step,
        epochs=trainer.epoch,
        seconds=seconds,
        images=(trainer.step - start_step) * images_per_step,
        interrupted=interrupted,
        last_losses=last,
        trainer=trainer,
    )


def run_training(
    *,
    preset: str | None,
    data: str | None,
    overrides: list[str],
    config_file: str | None = None,
    out: str | None = None,
    resume: str | None = None,
    vgg_weights: str | None = None,
    max_steps: int = 0,
    progress: bool = True,
) -> RunResult:
    """What ``posestylizer train`` does, single-process or as one torchrun rank."""
    from posestylizer.config import load_config
    from posestylizer.data.dataset import PairDataset
    from posestylizer.errors import DataError
    from posestylizer.training.distributed import init_distributed, shutdown_distributed

    extra = list(overrides)
    if data:
        extra.append(f"data.root={data}")
    if vgg_weights:
        extra.append(f"loss.vgg_weights={vgg_weights}")
    checkpoint = None
    if resume:
        checkpoint = find_checkpoint(resume)
        run_dir = Path(out) if out else run_dir_of(checkpoint)
        saved = run_dir_of(checkpoint) / "config.yaml"
        cfg = load_config(path=saved, overrides=extra)
    else:
        if not preset and not config_file:
            raise ConfigError("choose a preset (--preset market|fashion|synthetic) or a --config FILE")
        cfg = load_config(preset, path=config_file, overrides=extra)
        run_dir = Path(out) if out else Path("runs") / cfg.name
    if not cfg.data.root:
        raise ConfigError("no dataset given: pass --data ROOT (make one with `posestylizer data synth ROOT`)")
    info = init_distributed(cfg.train.device)
    try:
        dataset = PairDataset.from_config(cfg, "train", masks=False)
        try:
            samples = PairDataset.from_config(cfg, "test", masks=False)
        except DataError:
            samples = None  # no test split: the grids show training pairs
        result = train(
            cfg, dataset, run_dir, dist_info=info, resume_from=checkpoint, sample_data=samples,
            max_steps=max_steps, progress=progress,
        )  # fmt: skip
    finally:
        shutdown_distributed()
    return result
