"""Exact resume: a run stopped mid-epoch and resumed logs the same losses and ends with the same weights."""

from __future__ import annotations

import pytest
import torch
from train_helpers import ToyPairs, tiny_config

from posestylizer.errors import CheckpointError, ConfigError
from posestylizer.training.distributed import EpochSampler
from posestylizer.training.run import find_checkpoint, read_scalars, train
from posestylizer.training.state import load_state

LOSS_KEYS = ("G/total", "G/l1", "G/gan_PB", "G/gan_PP", "D_PB/total", "D_PP/total")


def _losses(run_dir):
    return [(r["step"], tuple(r[k] for k in LOSS_KEYS), r["lr"]) for r in read_scalars(run_dir)]


@pytest.mark.parametrize(("preset", "extra"), [
    ("market", ["loss.pool_size=3"]), ("fashion", []), ("market", ["loss.pool_size=3", "train.bn_group_size=2"])],
    ids=["market", "fashion", "market-bn-groups"])  # fmt: skip
def test_interrupted_and_resumed_run_matches_uninterrupted(tmp_path, preset, extra):
    # market: BatchNorm (whole batch, or DataParallel-like groups of 2), dropout in G and D, BCE, a pool of 3 that
    # replays fakes; fashion: InstanceNorm, LSGAN, no pool
    cfg = tiny_config(preset, extra)
    full = train(cfg, ToyPairs(), tmp_path / "full")
    assert full.steps == 6 and full.epochs == 3

    part = train(cfg, ToyPairs(), tmp_path / "part", max_steps=3)  # stops inside epoch 2
    assert part.steps == 3 and part.epochs == 1 and not part.interrupted
    ckpt = find_checkpoint(tmp_path / "part")
    assert load_state(ckpt)["counters"] == {"epoch": 1, "batch_in_epoch": 1, "step": 3}
    resumed = train(cfg, ToyPairs(), tmp_path / "part", resume_from=ckpt)
    assert resumed.steps == 6

    assert _losses(tmp_path / "part") == _losses(tmp_path / "full")  # bit-identical on CPU
    a, b = load_state(find_checkpoint(tmp_path / "full")), load_state(find_checkpoint(tmp_path / "part"))
    for net in ("G", "D_PB", "D_PP"):
        for k, v in a["nets"][net].items():
            assert torch.equal(v, b["nets"][net][k]), (net, k)
    assert [p.name for p in sorted((tmp_path / "full" / "samples").iterdir())] == [
        "epoch_0001.png", "epoch_0002.png", "epoch_0003.png"]  # fmt: skip

    if extra == ["loss.pool_size=3"]:  # killed after logging steps 5-6 but before their checkpoint (kill -9): steps stay unique
        find_checkpoint(tmp_path / "full").unlink()
        train(cfg, ToyPairs(), tmp_path / "full", resume_from=find_checkpoint(tmp_path / "full"))
        assert _losses(tmp_path / "full") == _losses(tmp_path / "part")


def test_existing_run_needs_resume_and_resume_needs_a_checkpoint(tmp_path):
    cfg = tiny_config()
    train(cfg, ToyPairs(), tmp_path / "run", max_steps=1)
    with pytest.raises(ConfigError, match="--resume"):
        train(cfg, ToyPairs(), tmp_path / "run")
    with pytest.raises(CheckpointError, match="no checkpoints"):
        find_checkpoint(tmp_path)
    bad = tiny_config(extra=["model.ngf=8"])
    with pytest.raises(CheckpointError, match="does not fit"):
        train(bad, ToyPairs(), tmp_path / "run", resume_from=find_checkpoint(tmp_path / "run"))


class _InterruptAt(ToyPairs):
    """Sends SIGINT to this process when item ``at`` is loaded the first time (a user pressing Ctrl-C)."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.fired = at, False

    def __getitem__(self, i: int) -> dict:
        import os
        import signal

        if i == self.at and not self.fired:
            self.fired = True
            os.kill(os.getpid(), signal.SIGINT)
        return super().__getitem__(i)


def test_ctrl_c_checkpoints_at_an_iteration_boundary_and_resume_is_exact(tmp_path):
    cfg = tiny_config()
    train(cfg, ToyPairs(), tmp_path / "full")
    first = next(iter(EpochSampler(12, 8, seed=0)))  # the first pair of epoch 1
    part = train(cfg, _InterruptAt(first), tmp_path / "part", sample_data=ToyPairs())
    assert part.interrupted and part.steps == 1  # the step in flight finished, then it stopped
    train(cfg, ToyPairs(), tmp_path / "part", resume_from=find_checkpoint(tmp_path / "part"))
    assert _losses(tmp_path / "part") == _losses(tmp_path / "full")
