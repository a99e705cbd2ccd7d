"""A tiny deterministic CPU training run in its own process, for the kill -9 tests (tests/test_train_crash.py).

``python crash_worker.py RUN_DIR [PAUSE]``: trains the toy pairs into RUN_DIR, continuing from its newest checkpoint
when it has one (what ``posestylizer train --resume RUN_DIR`` does). With PAUSE, every atomic file write waits PAUSE
seconds between writing and publishing its file, so that a kill -9 can land while a checkpoint is half-written.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
torch.set_num_threads(1)  # the uninterrupted and the killed runs compute on the same thread layout

from train_helpers import ToyPairs, tiny_config

from posestylizer.training.run import train
from posestylizer.training.state import CheckpointDir

# 16 epochs of 2 iterations, a checkpoint and a sample grid after each epoch: 32 iterations, 16 checkpoint writes.
CRASH_CONFIG = ["train.epochs=12", "train.epochs_decay=4", "train.checkpoint_every=1", "train.keep_last=2"]


def _pause_before_publishing(seconds: float) -> None:
    """Slow down ``os.fsync``: atomic writes (posestylizer.runtime.files) call it after writing a temporary file and
    before renaming it into place, so each write stays half-done for ``seconds``."""
    fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        time.sleep(seconds)
        fsync(fd)

    os.fsync = slow_fsync


def main(run_dir: str, pause: str | None = None) -> None:
    if pause:
        _pause_before_publishing(float(pause))
    run = Path(run_dir)
    resume = CheckpointDir(run / "checkpoints").latest()  # None: a new run
    train(tiny_config(extra=CRASH_CONFIG), ToyPairs(), run, resume_from=resume)


if __name__ == "__main__":
    main(*sys.argv[1:3])
