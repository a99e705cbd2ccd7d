"""A training run on disk: folder, resolved config, scalars (TensorBoard + JSON lines), sample grids, checkpoints.

::

    runs/<name>/
      config.yaml               the resolved config (what --resume reads back)
      scalars.jsonl             one JSON object per logged step (losses averaged over ranks, lr, images/s)
      tb/                       TensorBoard event files of the same scalars
      samples/epoch_0001.png    rows of [source | source pose | target | target pose | generated]
      checkpoints/state-*.pt    full training state, written atomically, newest ``train.keep_last`` kept
      generator/                the latest generator as a native checkpoint (posestylizer.checkpoints.native)

:func:`train` is one loop over iterations; when it stops is the :class:`~posestylizer.training.schedule.TrainingPolicy`'s
call (an epoch count or a wall-clock budget, ``train.time_budget``), plus ``max_steps`` and Ctrl-C. Everything else
happens in small hooks around the step (:mod:`posestylizer.training.hooks`). Only rank 0 writes; every rank takes part
in the collectives (loss averaging, state gathering, the stop decision).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

import numpy as np

from posestylizer.checkpoints.convert import read_reference_networks
from posestylizer.config import PRESETS, ExperimentConfig, load_config, set_value
from posestylizer.data.dataset import PairDataset
from posestylizer.data.pairs import evenly_spaced
from posestylizer.errors import CheckpointError, ConfigError, DataError
from posestylizer.results.panels import batch_rows, stack_rows
from posestylizer.runtime.denormals import flush_denormals
from posestylizer.runtime.progress import QUIET, Progress
from posestylizer.training.distributed import (
    DistInfo,
    barrier,
    broadcast_from_main,
    init_distributed,
    shutdown_distributed,
)
from posestylizer.training.hooks import (
    Checkpoints,
    FiniteLosses,
    Hook,
    ProgressBar,
    SampleGrids,
    ScalarLog,
    read_scalars,
)
from posestylizer.training.loop import Trainer
from posestylizer.training.schedule import Clock, StopFlag, fits_in_memory
from posestylizer.training.state import CheckpointDir, load_state

# read_scalars is re-exported: run folders are read through this module.
__all__ = ["RunResult", "find_checkpoint", "load_datasets", "read_scalars", "resolve_run", "run_training", "train"]


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



def sample_grid(trainer: Trainer, batch: dict) -> np.ndarray:
    """uint8 rows of [source | source pose | target | target pose | generated] for a batch (eval-mode G)."""

    return stack_rows(batch_rows(batch, trainer.generate(batch)))


def fixed_batch(dataset, count: int) -> dict:
    """The first ``count`` evenly spaced items of a dataset, collated (the sample grids' fixed pairs)."""
    import torch
    from torch.utils.data import default_collate

    idx = evenly_spaced(len(dataset), count)
    # Items may draw from the global RNG (random flips); the grid must not shift the training run's random stream.
    with torch.random.fork_rng(devices=[]):
        return default_collate([dataset[i] for i in idx])


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


def _refuse_existing_run(run_dir: Path, resume: bool) -> None:
    if not resume and CheckpointDir(run_dir / "checkpoints").latest() is not None:
        raise ConfigError(f"{run_dir}: already holds a run; add --resume to continue it or choose another --out")


def _write_run_folder(cfg: ExperimentConfig, run_dir: Path, info: DistInfo) -> None:
    if info.is_main:
        (run_dir / "samples").mkdir(parents=True, exist_ok=True)
        cfg.save(run_dir / "config.yaml")
    barrier(info)


def _start_from(trainer: Trainer, resume_from, init_from, main: bool) -> None:
    """Exact continuation of a checkpoint, or fresh training from given network weights (the authors')."""
    if resume_from is not None:
        trainer.load_state_dict(load_state(resume_from), str(resume_from))
    elif init_from:
        states, sources = read_reference_networks(list(init_from))
        trainer.init_networks(states, sources)
        if main:
            given = ", ".join(f"{k} <- {sources.get(k, 'fresh initialisation')}" for k, _ in trainer.networks())
            print(f"init-from: {given}", file=sys.stderr)


def train(
    cfg: ExperimentConfig,
    dataset,
    run_dir: str | Path,
    *,
    dist_info: DistInfo | None = None,
    resume_from: str | Path | None = None,
    init_from: list[str | Path] | None = None,
    sample_data=None,
    max_steps: int = 0,
    time_budget: float | None = None,
    progress: Progress = QUIET,
    perceptual="auto",
    extra_hooks: Sequence[Hook] = (),
) -> RunResult:
    """Train (or continue) one run.

    Args:
        cfg: resolved config.
        dataset: training pairs (see :class:`~posestylizer.training.loop.Trainer`).
        run_dir: the run folder.
        dist_info: torchrun rank/world/device; single process by default.
        resume_from: a checkpoint file to continue from exactly.
        init_from: the authors' checkpoint folder or ``*_netG.pth`` / ``*_netD_PB.pth`` / ``*_netD_PP.pth`` files to
            start the networks from (:func:`~posestylizer.checkpoints.convert.read_reference_networks`).
        sample_data: dataset whose first evenly spaced pairs fill the sample grids (default: ``dataset``).
        max_steps: stop (and checkpoint) after this many iterations in total, 0 = run to the end.
        time_budget: seconds of training, the same as ``train.time_budget`` in ``cfg`` (which is left unchanged):
            the epoch schedule's LR shape is stretched over this wall time and the run stops when it is spent.
        progress: the progress bars of the command (the main rank shows the training bar); :data:`QUIET` = none.
        perceptual: passed to the Trainer ("auto" loads what ``cfg.loss`` asks for).
        extra_hooks: more hooks (e.g. held-out evaluation), run before the same iteration's checkpoint.
    """
    info = dist_info or DistInfo()
    run_dir, main = Path(run_dir), info.is_main
    if time_budget is not None:
        cfg = copy.deepcopy(cfg)
        cfg.train.time_budget = float(time_budget)
    if resume_from is not None and init_from:
        raise ConfigError("--init-from starts a new run from given weights; it cannot be combined with --resume")
    _refuse_existing_run(run_dir, resume=resume_from is not None)
    # Flush-to-zero from before the networks are built, so the CPU thread pool inherits it (runtime.denormals: up
    # to 4x on Intel CPUs; outputs identical).
    with flush_denormals():
        # Settings and weights files are checked here (one-line errors), before the run folder exists.
        trainer = Trainer(cfg, dataset, info, perceptual=perceptual)
        _start_from(trainer, resume_from, init_from, main)
        _write_run_folder(cfg, run_dir, info)
        start_step = trainer.step
        hooks = _hooks(trainer, run_dir, sample_data if sample_data is not None else dataset, progress, extra_hooks)
        try:
            reason, seconds = _loop(trainer, hooks, max_steps)
        finally:
            for hook in hooks:
                hook.close()
    return RunResult(run_dir=run_dir if main else None, steps=trainer.step, epochs=trainer.epoch, seconds=seconds,
                     images=(trainer.step - start_step) * cfg.train.batch_size, interrupted=reason == "interrupted",
                     last_losses=hooks[0].last, trainer=trainer)  # fmt: skip


def _hooks(trainer: Trainer, run_dir: Path, sample_data, progress: Progress, extra: Sequence[Hook] = ()) -> list[Hook]:
    """Scalar log (first), loss check, progress bar, sample grids, the ``extra`` hooks and checkpoints, in the order
    they run after each step."""
    t, info = trainer.cfg.train, trainer.dist
    main_dir = run_dir if info.is_main else None
    log = ScalarLog(main_dir, info, t.log_every, t.batch_size, resume_step=trainer.step)
    hooks: list[Hook] = [log]
    if info.is_main and progress.enabled:
        hooks.append(ProgressBar(trainer, log, progress))
    grid_batch = fixed_batch(sample_data, 6) if info.is_main else None
    hooks.append(SampleGrids(main_dir, t.sample_every, sample_grid, grid_batch))
    checkpoints = Checkpoints(run_dir, info, t.checkpoint_every, t.keep_last, start_step=trainer.step)
    # The loss check runs after the log (the diverged step is logged) and before grids and checkpoints.
    hooks.insert(1, FiniteLosses(info, checkpoints.files))
    hooks.extend(extra)
    hooks.append(checkpoints)
    return hooks


def _loop(trainer: Trainer, hooks: list[Hook], max_steps: int) -> tuple[str, float]:
    """Iterate until the policy says finished, ``max_steps`` is reached or a signal arrives; returns (why it stopped,
    seconds spent outside the hooks: training and data loading)."""
    in_hooks = 0.0

    def call(method: str, *args) -> None:
        nonlocal in_hooks
        t0 = perf_counter()
        for hook in hooks:
            getattr(hook, method)(trainer, *args)
        in_hooks += perf_counter() - t0

    def batches():
        while not trainer.finished:
            yield from trainer.loader()
            trainer.end_epoch()
            call("after_epoch")

    started = perf_counter()
    with StopFlag() as stop:
        call("at_start")
        clock = Clock(trainer.policy, trainer.dist)
        reason = _stop_reason(trainer, False, max_steps)
        if reason is None:
            for batch in batches():
                with fits_in_memory(trainer.local_batch, trainer.dist.device):
                    stats = trainer.train_step(batch)
                interrupted = clock.tick(stop.requested)
                call("after_step", stats)
                reason = _stop_reason(trainer, interrupted, max_steps)
                if reason is not None:
                    break
            else:
                reason = "finished"  # the last epoch ended
        call("at_end", reason)
    return reason, perf_counter() - started - in_hooks


def _stop_reason(trainer: Trainer, interrupted: bool, max_steps: int) -> str | None:
    """Why the loop stops after the current iteration, or None to go on. (An epoch count finishes at an epoch's end,
    where the batches run out; a time budget finishes after any iteration.)"""
    if interrupted:
        return "interrupted"
    if trainer.finished:
        return "finished"
    if max_steps and trainer.step >= max_steps:
        return "max_steps"
    return None


def resolve_run(
    *,
    preset: str | None,
    data: str | None,
    overrides: list[str],
    config_file: str | None = None,
    out: str | None = None,
    resume: str | None = None,
    vgg_weights: str | None = None,
) -> tuple[ExperimentConfig, Path, Path | None]:
    """The config, run folder and checkpoint (or None) of a ``posestylizer train`` command line.

    ``data`` and ``vgg_weights`` are paths and are set as such (never parsed as override text); they win over the
    same keys in ``overrides``. A resumed run reads its saved ``config.yaml``; overrides apply on top.
    """

    checkpoint = None
    if resume:
        checkpoint = find_checkpoint(resume)
        run_dir = Path(out) if out else run_dir_of(checkpoint)
        cfg = load_config(path=run_dir_of(checkpoint) / "config.yaml", overrides=overrides)
    else:
        if not preset and not config_file:
            raise ConfigError(f"choose a preset (--preset {'|'.join(PRESETS)}) or a --config FILE")
        cfg = load_config(preset, path=config_file, overrides=overrides)
        run_dir = Path(out) if out else Path("runs") / cfg.name
    if data:
        set_value(cfg, "data.root", str(data), "--data")
    if vgg_weights:
        set_value(cfg, "loss.vgg_weights", str(vgg_weights), "--vgg-weights")
    if not cfg.data.root:
        raise ConfigError("no dataset given: pass --data ROOT (make one with `posestylizer data synth ROOT`)")
    return cfg, run_dir, checkpoint


def load_datasets(cfg: ExperimentConfig, info: DistInfo):
    """The training pairs and the sample grids' pairs (the test split, or None when there is none).

    Rank 0 validates the files (decoding every image, a verdict cached by file sizes and times); the other ranks wait
    for its verdict instead of decoding the same images again, and raise the same DataError when it failed.
    """

    def build(check: bool):
        train_set = PairDataset.from_config(cfg, "train", check=check)
        try:
            samples = PairDataset.from_config(cfg, "test", masks=False, check=check)
        except DataError:
            samples = None  # no test split: the grids show training pairs
        return train_set, samples

    built, verdict = None, None
    if info.is_main:
        try:
            built = build(check=True)
        except DataError as err:
            verdict = str(err)
    verdict = broadcast_from_main(verdict, info)
    if verdict is not None:
        raise DataError(verdict)
    return built if built is not None else build(check=False)


def run_training(
    *, init_from: list[str] | None = None, max_steps: int = 0, progress: Progress = QUIET, **command_line
) -> RunResult:
    """What ``posestylizer train`` does, single-process or as one torchrun rank.

    ``command_line`` holds the keyword arguments of :func:`resolve_run` (preset, data, overrides, config_file, out,
    resume, vgg_weights); ``init_from``, ``max_steps`` and ``progress`` are passed to :func:`train`.
    """

    cfg, run_dir, checkpoint = resolve_run(**command_line)
    info = init_distributed(cfg.train.device)
    try:
        dataset, samples = load_datasets(cfg, info)
        return train(
            cfg, dataset, run_dir, dist_info=info, resume_from=checkpoint, init_from=init_from, sample_data=samples,
            max_steps=max_steps, progress=progress,
        )  # fmt: skip
    finally:
        shutdown_distributed()
