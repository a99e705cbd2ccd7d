"""Stops never lose work: SIGTERM to the whole process group (what `timeout`, systemd and SLURM send), loader
workers included, checkpoints at the next iteration boundary and exits without a traceback; `--max-steps 0` is
refused instead of meaning "no limit"."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posestylizer.cli import main
from posestylizer.data.synth import write_dataset
from posestylizer.training.run import find_checkpoint
from posestylizer.training.state import load_state

TINY = ["model.ngf=4", "model.ndf=4", "model.n_blocks=2", "train.batch_size=4", "train.epoch_length=8",
        "train.epochs=1000", "train.epochs_decay=0", "loss.perceptual=false", "data.num_workers=2",
        "train.checkpoint_every=1000"]  # fmt: skip


@pytest.mark.slow
def test_sigterm_to_the_process_group_checkpoints_and_exits_cleanly(tmp_path):
    write_dataset(tmp_path / "data", "market", identities=4, poses=2, seed=0)
    run = tmp_path / "run"
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "posestylizer", "train", "--preset", "synthetic", "--data", str(tmp_path / "data"),
         "--out", str(run), "--quiet", *TINY],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not (run / "config.yaml").exists() and not list(run.glob("events*")) and proc.poll() is None:
        assert time.monotonic() < deadline, "training never started"
        time.sleep(0.1)
    time.sleep(3.0)  # a few iterations with the workers running
    assert proc.poll() is None, proc.stderr.read()
    os.killpg(proc.pid, signal.SIGTERM)  # the main process and its loader workers alike
    out, err = proc.communicate(timeout=240)
    assert "Traceback" not in err and "Error" not in err, err
    assert proc.returncode == 130, (proc.returncode, err)
    assert "--resume" in err
    state = load_state(find_checkpoint(run))
    assert _step(state) >= 1


def _step(state: dict) -> int:
    """The iteration count a training state holds (under the trainer's counters)."""
    for value in state.values():
        if isinstance(value, dict) and isinstance(value.get("counters"), dict):
            return value["counters"]["step"]
    return state["counters"]["step"]


def test_max_steps_zero_is_refused(tmp_path, capsys):
    assert main(["train", "--preset", "synthetic", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
                 "--max-steps", "0"]) == 2
    assert "--max-steps: expected a whole number >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("message", [
    "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: you tried to allocate "
    "68719476736 bytes.",
    "CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 15.77 GiB total capacity)",
])  # fmt: skip
def test_a_batch_that_does_not_fit_is_one_line(tmp_path, capsys, monkeypatch, message):
    from posestylizer.training.loop import Trainer

    write_dataset(tmp_path / "data", "market", identities=4, poses=2, seed=0)

    def allocate(self, batch):  # what the allocator raises for a batch far too large
        raise RuntimeError(message)

    monkeypatch.setattr(Trainer, "train_step", allocate)
    argv = ["train", "--preset", "synthetic", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "run"),
            "--quiet", *TINY[:-2], "data.num_workers=0"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "train.batch_size=4 does not fit in memory on cpu" in err[0], err
    assert "lower train.batch_size" in err[0]
