"""Market training parity with the authors' nn.DataParallel run (reference §5.5, §5.6): per-replica BatchNorm groups
and one image pool over the global batch, against hand-rolled references of both semantics."""

from __future__ import annotations

import copy
import socket

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn
from torch.func import functional_call
from train_helpers import ToyPairs, pool_worker, tiny_config

from posestylizer.config import load_config
from posestylizer.errors import ConfigError
from posestylizer.models import Generator
from posestylizer.nn.ghost_bn import GhostBatchNorm2d, convert_ghost_batchnorm
from posestylizer.training.distributed import DistInfo, EpochSampler
from posestylizer.training.loop import Trainer, bn_groups
from posestylizer.training.pool import ImagePool


def _net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.Conv2d(6, 4, 3),
                        nn.BatchNorm2d(4, momentum=0.3))  # fmt: skip
    for m in net.modules():  # non-trivial running statistics and affine terms
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return net


def _dataparallel_step(net: nn.Module, x: torch.Tensor, replicas: int, target: torch.Tensor):
    """What nn.DataParallel does on ``replicas`` devices, by hand: the input is cut with ``chunk``; each replica
    runs the shared weights on its chunk with its own buffers, replica 0 with the module's own (the only ones kept);
    the outputs are concatenated and the loss backpropagates to the shared weights."""
    params = dict(net.named_parameters())
    outs = []
    for j, chunk in enumerate(x.chunk(replicas)):
        bufs = {k: (b if j == 0 else b.clone()) for k, b in net.named_buffers()}
        outs.append(functional_call(net, {**params, **bufs}, (chunk,)))
    out = torch.cat(outs)
    ((out - target) ** 2).mean().backward()
    return out


@pytest.mark.parametrize(("batch", "groups"), [(8, 4), (10, 4), (12, 3)])  # 10 / 4: chunks of 3, 3, 3, 1
def test_ghost_batchnorm_is_dataparallel_per_replica_batchnorm(batch, groups):
    ref = _net()
    ghost = convert_ghost_batchnorm(copy.deepcopy(ref), groups)
    assert sum(isinstance(m, GhostBatchNorm2d) for m in ghost.modules()) == 2
    x = torch.randn(batch, 3, 6, 5).contiguous(memory_format=torch.channels_last)
    target = torch.randn(batch, 4, 4, 3)
    for step in range(3):  # running statistics accumulate over calls
        out_ref = _dataparallel_step(ref, x + step, groups, target)
        out = ghost(x + step)
        ((out - target) ** 2).mean().backward()
        torch.testing.assert_close(out, out_ref, rtol=0, atol=1e-6)
        assert out.is_contiguous(memory_format=torch.channels_last)
    for (name, p_ref), p in zip(ref.named_parameters(), ghost.parameters()):
        torch.testing.assert_close(p.grad, p_ref.grad, rtol=1e-5, atol=1e-6, msg=name)
    for (name, b_ref), b in zip(ref.named_buffers(), ghost.buffers()):
        torch.testing.assert_close(b, b_ref, rtol=0, atol=1e-6, msg=name)  # replica 0's updates, three times
    assert int(ghost[1].num_batches_tracked) == 3
    # The groups really differ from whole-batch BatchNorm, and eval mode is plain BatchNorm on the running statistics.
    plain = _net()
    assert not torch.allclose(plain(x), convert_ghost_batchnorm(_net(), groups)(x), atol=1e-3)
    ref.eval(), ghost.eval()
    assert torch.equal(ghost(x), ref(x))


def test_each_group_is_normalised_on_its_own():
    ghost = convert_ghost_batchnorm(_net(), 3)
    x = torch.randn(9, 3, 6, 5)
    out = ghost(x)
    for i, chunk in enumerate(x.chunk(3)):  # a fresh plain BatchNorm per group gives the same group output
        torch.testing.assert_close(out[3 * i : 3 * i + 3], _net()(chunk), rtol=0, atol=1e-6)
    first = _net()
    first(x[:3])
    for b, b_first in zip(ghost.buffers(), first.buffers()):
        torch.testing.assert_close(b, b_first, rtol=0, atol=1e-7)  # running stats moved by the first group only


def test_generator_with_groups_keeps_its_state_dict_layout():
    cfg = tiny_config()
    ghost = convert_ghost_batchnorm(Generator(cfg.model), 2)
    plain = Generator(cfg.model)
    assert any(isinstance(m, GhostBatchNorm2d) for m in ghost.modules())
    assert list(ghost.state_dict()) == list(plain.state_dict())
    plain.load_state_dict(ghost.state_dict())  # strict: an exported generator loads into the plain one
    ghost.load_state_dict(plain.state_dict())


def test_market_preset_groups_and_the_settings_that_cannot_be_honoured():
    cfg = load_config("market")
    assert cfg.train.bn_group_size == 24 and cfg.train.batch_size == 192
    assert [bn_groups(cfg, DistInfo(world_size=w)) for w in (1, 2, 4, 8)] == [8, 4, 2, 1]  # 8 DataParallel replicas
    with pytest.raises(ConfigError, match="cannot split evenly"):
        bn_groups(cfg, DistInfo(world_size=3))
    for bad, match in (("train.sync_batchnorm=true", "sync_batchnorm"), ("train.bn_group_size=-1", "bn_group_size")):
        with pytest.raises(ConfigError, match=match):
            bn_groups(load_config("market", overrides=[bad]), DistInfo())
    assert bn_groups(load_config("market", overrides=["train.batch_size=32"]), DistInfo()) == 2  # 2 x 16
    assert bn_groups(load_config("fashion", overrides=["train.bn_group_size=4"]), DistInfo()) == 1  # no BatchNorm
    assert bn_groups(load_config("synthetic"), DistInfo()) == 1  # off by default


def test_trainer_groups_every_batchnorm_and_saves_plain_keys(tmp_path):
    trainer = Trainer(tiny_config(extra=["train.bn_group_size=2"]), ToyPairs())
    for name, net in trainer.networks():
        norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
        assert norms and all(isinstance(m, GhostBatchNorm2d) and m.groups == 2 for m in norms), name
    plain = Trainer(tiny_config(), ToyPairs())  # batch 4 < 24: one group, plain BatchNorm
    assert not any(isinstance(m, GhostBatchNorm2d) for _, net in plain.networks() for m in net.modules())
    state = trainer.state_dict()
    assert "pools" in state and all(set(r) == {"rng"} for r in state["per_rank"])  # the pool is saved once
    plain.load_state_dict(state)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pool_over_two_gloo_ranks_is_one_pool_over_the_concatenated_batch(tmp_path):
    batches = [torch.randn(6, 2, 3, 3) for _ in range(8)]  # global batches of 6; a pool of 5 fills in the first
    torch.save(batches, tmp_path / "batches.pt")
    mp.spawn(pool_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"pool{r}.pt", weights_only=True) for r in range(2)]
    single, replays = ImagePool(5, seed=11), 0
    for i, batch in enumerate(batches):
        expected = single.query(batch)
        assert torch.equal(torch.cat([ranks[0]["outputs"][i], ranks[1]["outputs"][i]]), expected), i
        replays += sum(not torch.equal(a, b) for a, b in zip(expected, batch))
    assert replays > 5  # past the fill, stored entries come back
    for r in ranks:  # every rank holds the same pool as the single process
        assert torch.equal(r["state"]["entries"], single.state_dict()["entries"])
        assert torch.equal(r["state"]["rng"], single.state_dict()["rng"])


def test_ranks_take_contiguous_slices_of_each_global_batch_as_dataparallel_scatters_it():
    single = list(EpochSampler(100, 10, seed=3))  # global batches of 4: [0:4], [4:8] and the partial [8:10]
    ranks = [list(EpochSampler(100, 10, seed=3, rank=r, world_size=2, batch_size=4)) for r in range(2)]
    assert ranks[0] == single[0:2] + single[4:6] + single[8:9]
    assert ranks[1] == single[2:4] + single[6:8] + single[9:10]
    padded = [list(EpochSampler(100, 9, seed=3, rank=r, world_size=2, batch_size=4)) for r in range(2)]
    assert [len(p) for p in padded] == [5, 5] and padded[0][:4] == ranks[0][:4]  # the partial batch padded to 2 x 1
