"""Crash-safe training: kill -9 at random moments (some in the middle of a checkpoint write), NaN losses, a full disk.

The promises: a crash never costs more than the last checkpoint, that checkpoint always loads, and resuming ends with
the weights an uninterrupted run ends with, bit for bit (deterministic CPU mode); a diverged run stops at the step
that diverged and keeps its last good checkpoint; a checkpoint that cannot be written leaves the previous one intact
and says so.
"""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from train_helpers import ToyPairs, tiny_config

from posestylizer.errors import CheckpointError, TrainingDiverged
from posestylizer.training.run import find_checkpoint, read_scalars, train
from posestylizer.training.state import CheckpointDir, load_state

WORKER = Path(__file__).resolve().parent / "crash_worker.py"
LOSS_KEYS = ("G/total", "G/l1", "G/gan_PB", "G/gan_PP", "D_PB/total", "D_PP/total")
KILLS = 6  # half of them while a checkpoint is being written
WAIT = 300.0  # seconds an attempt may take before the test gives up (a stuck process is a failure, not a hang)


def _start(run: Path, pause: float | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1] / "src"),
                                                         os.environ.get("PYTHONPATH", "")])}
    args = [str(run)] + ([str(pause)] if pause else [])  # the worker holds each file write open that long
    return subprocess.Popen([sys.executable, str(WORKER), *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _wait_until(proc: subprocess.Popen, condition) -> bool:
    """Poll ``condition`` until it holds (True) or the process ends by itself (False)."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the training process made no progress"
        time.sleep(0.005)
    return True


def _half_written(run: Path) -> list[Path]:
    return list((run / "checkpoints").glob(".state-*.pt.tmp-*")) if (run / "checkpoints").is_dir() else []


def _final_weights(run: Path) -> dict:
    return load_state(find_checkpoint(run))["nets"]


@pytest.mark.slow
def test_kill_9_at_random_moments_and_resume_ends_bit_identical(tmp_path):
    reference = _start(tmp_path / "reference")
    assert reference.wait(timeout=WAIT) == 0, reference.stderr.read()

    rng = random.Random(19)
    run, kills, in_write, attempts = tmp_path / "killed", 0, 0, 0
    while True:
        attempts += 1
        assert attempts < 3 * KILLS, "the run does not finish"
        files = CheckpointDir(run / "checkpoints")
        before = files.latest()
        during_write = kills < KILLS and kills % 2 == 1 and before is not None
        proc = _start(run, pause=0.5 if during_write else None)
        if kills >= KILLS:
            assert proc.wait(timeout=WAIT) == 0, proc.stderr.read()
            break
        if during_write:  # a temporary state file appears: the process is inside the atomic write
            reached = _wait_until(proc, lambda: _half_written(run))
        else:  # a moment after this process wrote a checkpoint of its own: somewhere in an epoch
            reached = _wait_until(proc, lambda files=files, before=before: files.latest() not in (None, before))
            time.sleep(rng.uniform(0.0, 0.3))
        if not reached or proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read()
            break  # it finished before the kill landed
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        in_write += during_write
        latest = files.latest()
        assert latest is not None and load_state(latest)["counters"]["step"] > 0  # the newest checkpoint loads
    print(f"\ncrash test: {kills} kills survived ({in_write} during a checkpoint write) in {attempts} starts")
    assert kills >= 5 and in_write >= 2
    assert not _half_written(run)  # the killed writers' temporary files were cleared by the next save

    want, got = _final_weights(tmp_path / "reference"), _final_weights(run)
    for net in ("G", "D_PB", "D_PP"):
        assert want[net].keys() == got[net].keys()
        for k, v in want[net].items():
            assert torch.equal(v, got[net][k]), (net, k)
    losses = [[r[k] for k in LOSS_KEYS] for r in read_scalars(run)]
    assert losses == [[r[k] for k in LOSS_KEYS] for r in read_scalars(tmp_path / "reference")]
    assert [r["step"] for r in read_scalars(run)] == list(range(1, 33))  # each step logged once


class _GoesNaN(ToyPairs):
    """Toy pairs whose images turn NaN from the ``after``-th item loaded on (a run that diverges mid-epoch)."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after, self.loaded = after, 0

    def __getitem__(self, i: int) -> dict:
        self.loaded += 1
        item = super().__getitem__(i)
        if self.loaded > self.after:
            item = {**item, "src_img": torch.full_like(item["src_img"], float("nan"))}
        return item


def test_nan_loss_stops_at_its_step_and_keeps_the_last_good_checkpoint(tmp_path):
    cfg = tiny_config(extra=["train.checkpoint_every=1"])  # 2 iterations per epoch, a checkpoint after each epoch
    with pytest.raises(TrainingDiverged) as err:
        # items 13.. (of the training loader; the sample grids read their own pairs) are NaN: step 4 diverges
        train(cfg, _GoesNaN(after=12), tmp_path / "run", sample_data=ToyPairs())
    message = str(err.value)
    good = tmp_path / "run" / "checkpoints" / "state-00000002.pt"
    assert message.startswith("training diverged at step 4: ") and "nan" in message and "\n" not in message
    assert f"the last good checkpoint is {good}" in message
    assert CheckpointDir(tmp_path / "run" / "checkpoints").files() == [good]
    nets = load_state(good)["nets"]
    assert all(torch.isfinite(v).all() for state in nets.values() for v in state.values() if v.is_floating_point())
    # and it resumes from there with clean data
    assert train(cfg, ToyPairs(), tmp_path / "run", resume_from=good).steps == 6


def test_a_failed_checkpoint_write_keeps_the_previous_one_and_says_so(tmp_path, monkeypatch):
    from posestylizer.runtime import files

    real_fsync, calls = os.fsync, []

    def disk_full(fd):  # the file system refuses the second state file's data (delayed allocation: at fsync)
        name = os.readlink(f"/proc/self/fd/{fd}")
        if ".state-00000004.pt.tmp-" in name:
            calls.append(name)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", disk_full)
    cfg = tiny_config(extra=["train.checkpoint_every=1"])
    run = tmp_path / "run"
    with pytest.raises(CheckpointError) as err:
        train(cfg, ToyPairs(), run)
    previous = run / "checkpoints" / "state-00000002.pt"
    assert calls and str(err.value) == (
        f"could not write the checkpoint of step 4 to {run / 'checkpoints'} (No space left on device); the previous "
        f"checkpoint {previous} is intact; free space and continue with `posestylizer train --resume {run}`")
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["state-00000002.pt"]  # no half file
    assert load_state(previous)["counters"]["step"] == 2
    monkeypatch.setattr(files.os, "fsync", real_fsync)
    assert train(cfg, ToyPairs(), run, resume_from=previous).steps == 6
