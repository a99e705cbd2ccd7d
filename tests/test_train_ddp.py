"""torchrun scale-out on CPU: 2 gloo processes keep identical parameters and match one process with the same
global batch."""

from __future__ import annotations

import socket

import pytest
import torch
import torch.multiprocessing as mp
from train_helpers import ToyPairs, datasets_worker, ddp_worker, tiny_config

from posestylizer.training.run import train

# InstanceNorm and no dropout: per-rank batch statistics and dropout masks would (legitimately) differ from one
# process's. The pool of 3 is one pool over the global batch, as in one process.
EXACT = ["model.norm=instance", "model.dropout=0.0", "model.d_dropout=false", "loss.gan_mode=lsgan"]
# BatchNorm in groups of 2 (market's per-replica statistics): 2 ranks of 2 samples are one process with 2 groups.
GROUPS = ["model.dropout=0.0", "model.d_dropout=false", "train.bn_group_size=2"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(tmp_path, overrides):
    mp.spawn(ddp_worker, args=(2, _free_port(), overrides, str(tmp_path)), nprocs=2, join=True)
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]


@pytest.mark.parametrize("overrides", [EXACT, GROUPS], ids=["instancenorm", "batchnorm-groups"])
def test_two_gloo_ranks_match_each_other_and_a_single_process(tmp_path, overrides):
    ranks = _spawn(tmp_path / "ddp", overrides)
    result = train(tiny_config(extra=overrides), ToyPairs(), tmp_path / "single")
    single = result.trainer
    losses = [{k: v for k, v in r["losses"].items() if "/" in k} for r in ranks]
    assert losses[0] == losses[1]  # averaged over ranks before logging
    for k, v in losses[0].items():
        assert v == pytest.approx(result.last_losses[k], rel=1e-5, abs=1e-6), k
    worst, compared = 0.0, 0
    for name, net in single.networks():
        for pname, p in net.named_parameters():
            a, b = ranks[0]["nets"][name][pname], ranks[1]["nets"][name][pname]
            assert torch.equal(a, b), (name, pname)  # DDP keeps ranks bit-identical
            # Conv biases right before an InstanceNorm have a gradient that is zero in exact arithmetic (~1e-8
            # of float noise here); Adam turns noise into lr-sized steps, so only parameters that really learn
            # are compared with the single process.
            if p.grad.abs().max() > 1e-4:
                worst = max(worst, (a - p.detach()).abs().max().item())
                compared += 1
    assert compared > 40
    assert worst < 1e-6, worst  # one process, global batch 4 == two processes of 2 (float summation order only)
    for name, net in single.networks():  # rank 0's running statistics are the first group's, as in one process
        for bname, b in net.named_buffers():
            # A running mean carries the bias of the conv before it, whose noise-driven steps (see above) differ by
            # up to a few lr; variances and counts do not see that bias.
            atol = 2e-3 if bname.endswith("running_mean") else 1e-6
            torch.testing.assert_close(ranks[0]["buffers"][name][bname], b, rtol=1e-5, atol=atol)
    assert (tmp_path / "ddp" / "run" / "checkpoints").is_dir() and not list((tmp_path / "ddp").glob("run/*rank1*"))


@pytest.mark.slow
def test_two_gloo_ranks_with_batchnorm_dropout_and_pools_stay_identical(tmp_path):
    ranks = _spawn(tmp_path, ["loss.pool_size=3", "train.bn_group_size=2"])
    for name, params in ranks[0]["nets"].items():
        for pname, a in params.items():
            assert torch.equal(a, ranks[1]["nets"][name][pname]), (name, pname)


def test_rank_0_checks_the_dataset_and_every_rank_gets_its_verdict(tmp_path):
    import json

    from posestylizer.data.synth import write_dataset

    good, broken = tmp_path / "good", tmp_path / "broken"
    for root in (good, broken):
        write_dataset(root, "market", identities=3, poses=2, seed=0)
    image = min((broken / "train").iterdir())
    image.write_bytes(image.read_bytes()[:100])
    roots = [str(good), str(broken)]
    mp.spawn(datasets_worker, args=(2, _free_port(), roots, str(tmp_path)), nprocs=2, join=True)  # no hang
    rank0, rank1 = (json.loads((tmp_path / f"datasets{r}.json").read_text()) for r in range(2))
    assert [r["checks"] for r in rank0] == [2, 1] and [r["checks"] for r in rank1] == [0, 0]  # train + test splits
    assert rank0[0]["error"] is None and rank1[0]["error"] is None
    assert "truncated" in rank0[1]["error"] and rank1[1]["error"] == rank0[1]["error"]
