"""Training building blocks: LR schedule values, image pool, sampler split, atomic checkpoints, RNG state."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from posestylizer.training.distributed import EpochSampler
from posestylizer.training.pool import ImagePool
from posestylizer.training.schedule import LinearDecay, TrainingPolicy, budget_factor
from posestylizer.training.state import CheckpointDir, load_state, rng_state, save_atomic, set_rng_state


def test_schedule_matches_reference_values():
    def factor(epoch: int) -> float:  # LR factor while training 1-based ``epoch`` (LinearDecay takes completed epochs)
        return LinearDecay(400, 400)(epoch - 1)

    assert all(factor(e) == 1.0 for e in range(1, 400))
    assert factor(400) == pytest.approx(0.99751, abs=5e-6)
    assert factor(600) == pytest.approx(0.49875, abs=5e-6)
    assert factor(799) == pytest.approx(0.00249, abs=5e-6)
    assert factor(800) == 0.0


def test_epoch_policy_gives_what_lambdalr_stepped_once_per_epoch_gives():
    # The reference's LambdaLR (stepped at every epoch end) is the oracle: the policy must give the same float.
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=2e-4, betas=(0.5, 0.999))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, LinearDecay(400, 400))
    policy = TrainingPolicy(400, 400)
    for epoch in range(800):
        assert not policy.finished(epoch)
        assert 2e-4 * policy.lr_factor(epoch) == opt.param_groups[0]["lr"], epoch
        opt.step()
        sched.step()
    assert policy.finished(800) and policy.lr_factor(799) == 0.0


def test_budget_policy_stretches_the_shape_over_wall_time_and_keeps_its_clock(tmp_path):
    policy = TrainingPolicy(2, 1, time_budget=90.0)  # constant for the first 2/3 of the time, then linear to 0
    factors = []
    for elapsed in (0.0, 30.0, 59.9, 60.0, 75.0, 89.0):
        policy.elapsed = elapsed
        factors.append(policy.lr_factor(epoch=123))  # epochs play no part
        assert not policy.finished(epoch=123)
    assert factors[:4] == [1.0, 1.0, 1.0, 1.0] and factors[4] == pytest.approx(0.5) and factors[5] == pytest.approx(1 / 30)
    policy.elapsed = 90.0
    assert policy.finished(epoch=0) and policy.lr_factor(0) == 0.0
    policy.elapsed = 42.5
    torch.save(policy.state_dict(), tmp_path / "p.pt")
    resumed = TrainingPolicy(2, 1, time_budget=90.0)
    resumed.load_state_dict(torch.load(tmp_path / "p.pt", weights_only=True))
    assert resumed.elapsed == 42.5 and resumed.lr_factor(0) == budget_factor(42.5 / 90.0, 2, 1)


def test_pool_identity_fill_and_replay():
    batch = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(ImagePool(0).query(batch), batch)
    pool = ImagePool(4, seed=1)
    assert torch.equal(pool.query(batch), batch) and len(pool) == 4
    seen = torch.cat([pool.query(torch.full((4, 1, 1, 1), 10.0 + i)) for i in range(20)]).flatten()
    old, new = (seen < 10).sum().item(), (seen >= 10).sum().item()
    assert old > 0 and new > 0 and len(pool) == 4  # about half the returns are replays


def test_pool_state_roundtrip_replays_exactly(tmp_path):
    pool = ImagePool(3, seed=5)
    for i in range(3):
        pool.query(torch.randn(2, 2, 4, 4))
    torch.save(pool.state_dict(), tmp_path / "pool.pt")
    after = [pool.query(torch.full((2, 2, 4, 4), float(i))) for i in range(5)]
    restored = ImagePool(3, seed=999)
    restored.load_state_dict(torch.load(tmp_path / "pool.pt", weights_only=True))
    again = [restored.query(torch.full((2, 2, 4, 4), float(i))) for i in range(5)]
    assert all(torch.equal(a, b) for a, b in zip(after, again))


def test_sampler_rank_batches_compose_the_single_process_batch():
    single = list(EpochSampler(100, 10, seed=3))
    ranks = [list(EpochSampler(100, 10, seed=3, rank=r, world_size=2)) for r in range(2)]
    for i in range(0, 10, 4):  # global batch 4 = two per-rank batches of 2
        assert sorted(single[i : i + 4]) == sorted(ranks[0][i // 2 : i // 2 + 2] + ranks[1][i // 2 : i // 2 + 2])
    s = EpochSampler(100, 9, seed=3, world_size=2)
    assert len(s) == 5  # padded to a multiple of the world size
    s.set_epoch(1)
    e1 = list(s)
    s.set_epoch(1, skip=2)
    assert list(s) == e1[2:] and len(s) == 3
    full = EpochSampler(7, 0, seed=0)
    assert sorted(full) == list(range(7))  # length 0: one shuffled pass


def test_save_atomic_never_leaves_a_half_written_file(tmp_path, monkeypatch):
    target = tmp_path / "state.pt"
    save_atomic({"format": "posestylizer-train-state", "v": torch.ones(2)}, target)

    def broken_save(obj, fh):
        fh.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_atomic({"format": "posestylizer-train-state", "v": torch.zeros(2)}, target)
    assert [p.name for p in tmp_path.iterdir()] == ["state.pt"]  # no temporary left behind
    assert torch.equal(load_state(target)["v"], torch.ones(2))  # the previous checkpoint is intact


def test_checkpoint_dir_keeps_last_n(tmp_path):
    ckpts = CheckpointDir(tmp_path / "checkpoints", keep_last=2)
    for step in (10, 20, 30):
        ckpts.save({"format": "posestylizer-train-state", "step": step}, step)
    assert [p.name for p in ckpts.files()] == ["state-00000020.pt", "state-00000030.pt"]
    assert load_state(ckpts.latest())["step"] == 30


def test_rng_state_roundtrip_through_weights_only_file(tmp_path):
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    save_atomic({"rng": rng_state()}, tmp_path / "rng.pt")
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True)["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_unreadable_or_foreign_checkpoint_is_one_line(tmp_path):
    from posestylizer.errors import CheckpointError

    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="unreadable"):
        load_state(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a posestylizer training checkpoint"):
        load_state(tmp_path / "other.pt")


def test_sample_grid_pairs_leave_the_training_random_stream_alone():
    """Items that draw random flips must not shift the run's RNG when the sample grid's fixed pairs are read."""
    import torch

    from posestylizer.training.run import fixed_batch

    class Flipping(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 10

        def __getitem__(self, i: int) -> dict:
            return {"x": torch.rand(())}

    torch.manual_seed(3)
    expected = torch.rand(4)
    torch.manual_seed(3)
    fixed_batch(Flipping(), 6)
    assert torch.equal(torch.rand(4), expected)
