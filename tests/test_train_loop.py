"""The training loop's contract: update order, memory format, the time-budget regime and its resumable clock."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import default_collate
from train_helpers import ToyPairs, tiny_config

import posestylizer.training.run as run_module
import posestylizer.training.schedule as schedule_module
from posestylizer.training.loop import Trainer
from posestylizer.training.run import find_checkpoint, read_scalars, train
from posestylizer.training.schedule import budget_factor
from posestylizer.training.state import load_state


def _batch(n: int = 4) -> dict:
    data = ToyPairs()
    return default_collate([data[i] for i in range(n)])


def _spy(fn, calls: list, name: str):
    """``fn`` that also appends (name, args, result) to ``calls``."""

    def wrapper(*args, **kwargs):
        result = fn(*args, **kwargs)
        calls.append((name, args, result))
        return result

    return wrapper


def test_one_iteration_steps_g_then_d_pp_then_d_pb_on_the_fake_made_before_gs_step():
    trainer = Trainer(tiny_config(extra=["loss.pool_size=0"]), ToyPairs())
    calls = []
    for name, opt in trainer.optimizers.items():
        opt.step = _spy(opt.step, calls, name)
    trainer.G.forward = _spy(trainer.G.forward, calls, "G forward")
    for key, pool in trainer.pools.items():
        pool.query = _spy(pool.query, calls, f"pool {key}")
    trainer.train_step(_batch())
    names = [name for name, _, _ in calls]
    assert names == ["G forward", "G", "pool PP", "D_PP", "pool PB", "D_PB"]  # reference §5.4
    fake = calls[0][2].detach()
    for i in (2, 4):  # both discriminators get that one forward's output, not a second one after G's step
        assert torch.equal(calls[i][1][0][:, :3], fake)
    assert (trainer.step, trainer.batch_in_epoch) == (1, 1)  # the trainer counts its own iterations


@pytest.mark.parametrize("channels_last", [True, False])
def test_channels_last_reaches_every_convolution(channels_last):
    trainer = Trainer(tiny_config(extra=[f"train.channels_last={str(channels_last).lower()}"]), ToyPairs())
    formats = []

    def record(module, args):
        formats.append(args[0].is_contiguous(memory_format=torch.channels_last))

    for _, net in trainer.networks():
        for m in net.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                m.register_forward_pre_hook(record)
    for _ in range(2):  # the second iteration replays pooled fakes
        trainer.train_step(_batch())
    # G, D_PB and D_PP, including the discriminators' inputs in G's step and the pooled fakes.
    assert len(formats) > 100
    assert formats == [channels_last] * len(formats)
    # (1x1 kernels are laid out the same way in both formats)
    weights = [p for _, net in trainer.networks() for p in net.parameters() if p.dim() == 4 and p[0, 0].numel() > 1]
    assert all(p.is_contiguous(memory_format=torch.channels_last) == channels_last for p in weights)


class FakeClock:
    """Wall time that advances exactly one second per training iteration (the policy's clock and the loop read it)."""

    def __init__(self, monkeypatch) -> None:
        self.now = 0.0
        for module in (schedule_module, run_module):
            monkeypatch.setattr(module, "perf_counter", lambda: self.now)
        step = Trainer.train_step

        def timed_step(trainer, batch):
            out = step(trainer, batch)
            self.now += 1.0
            return out

        monkeypatch.setattr(Trainer, "train_step", timed_step)


def test_time_budget_schedule_stop_and_resume_continue_the_clock(tmp_path, monkeypatch):
    FakeClock(monkeypatch)
    cfg = tiny_config()  # epochs 2 + decay 1 of 2 iterations each: the budget, not the epochs, decides here
    full = train(cfg, ToyPairs(), tmp_path / "full", time_budget=4.0)
    assert full.steps == 4 and not full.interrupted  # 4 s spent after the 4th iteration
    rows = read_scalars(tmp_path / "full")
    # The rate of iteration k follows the fraction of the budget spent before it (k - 1 seconds): constant for the
    # first 2/3 of the time, then linear to 0, across epoch ends (no per-epoch scheduler on top).
    assert [r["lr"] for r in rows] == [cfg.train.lr * budget_factor((k - 1) / 4.0, 2, 1) for k in range(1, 5)]
    assert rows[-1]["lr"] < rows[0]["lr"]
    assert cfg.train.time_budget == 0.0  # the caller's config is left as it was
    assert "time_budget: 4.0" in (tmp_path / "full" / "config.yaml").read_text()  # --resume reads the budget back
    assert (tmp_path / "full" / "samples" / "step_00000004.png").is_file()  # the grid of where the budget ran out

    part = train(cfg, ToyPairs(), tmp_path / "part", time_budget=4.0, max_steps=2)
    assert part.steps == 2
    assert load_state(find_checkpoint(tmp_path / "part"))["policy"] == {"elapsed": 2.0, "time_budget": 4.0}
    resumed = train(cfg, ToyPairs(), tmp_path / "part", resume_from=find_checkpoint(tmp_path / "part"),
                    time_budget=4.0)  # fmt: skip
    assert resumed.steps == 4  # the clock went on from 2 s instead of restarting
    assert [r["lr"] for r in read_scalars(tmp_path / "part")] == [r["lr"] for r in rows]
