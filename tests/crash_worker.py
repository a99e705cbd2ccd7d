"""A tiny deterministic CPU training run in its own process, for the kill -9 tests (tests/test_train_crash.py).

``python crash_worker.py RUN_DIR``: trains the toy pairs into RUN_DIR, continuing from its newest checkpoint when it
has one (what ``posestylizer train --resume RUN_DIR`` does).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
torch.set_num_threads(1)  # the uninterrupted and the killed runs compute on the same thread layout

from train_helpers import ToyPairs, tiny_config

from posestylizer.training.run import train
from posestylizer.training.state import CheckpointDir

# 16 epochs of 2 iterations, a checkpoint and a sample grid after each epoch: 32 iterations, 16 checkpoint writes.
CRASH_CONFIG = ["train.epochs=12", "train.epochs_decay=4", "train.checkpoint_every=1", "train.keep_last=2"]


def main(run_dir: str) -> None:
    run = Path(run_dir)
    resume = CheckpointDir(run / "checkpoints").latest()  # None: a new run
    train(tiny_config(extra=CRASH_CONFIG), ToyPairs(), run, resume_from=resume, progress=False)


if __name__ == "__main__":
    main(sys.argv[1])
