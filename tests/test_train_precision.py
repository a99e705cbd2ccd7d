"""Precision and speed switches on CPU: bf16 autocast and channels_last train with finite losses; fp16 is CUDA-only."""

from __future__ import annotations

import math

import pytest
import torch
from train_helpers import ToyPairs, tiny_config

from posestylizer.errors import ConfigError
from posestylizer.training.run import train


@pytest.mark.parametrize(
    ("extra", "channels_last"),
    [(["train.precision=bf16", "train.channels_last=false"], False), (["train.channels_last=false"], False),
     (["train.precision=bf16"], True)],  # channels_last is the default
)  # fmt: skip
def test_bf16_and_channels_last_train_on_cpu(tmp_path, extra, channels_last):
    result = train(tiny_config(extra=extra + ["train.epochs=1", "train.epochs_decay=0"]), ToyPairs(), tmp_path)
    assert result.steps == 2
    assert all(math.isfinite(v) for v in result.last_losses.values())
    # Convolution weights (1x1 kernels look the same in both layouts) are in the asked layout after training.
    weights = [p for _, net in result.trainer.networks() for p in net.parameters() if p.dim() == 4 and p[0, 0].numel() > 1]
    assert weights and all(p.is_contiguous(memory_format=torch.channels_last) == channels_last for p in weights)


def test_fp16_needs_cuda(tmp_path):
    with pytest.raises(ConfigError, match="CUDA"):
        train(tiny_config(extra=["train.precision=fp16"]), ToyPairs(), tmp_path)


def test_compile_wraps_the_updated_networks(tmp_path, monkeypatch):
    # Real inductor compilation of three networks takes minutes on a small CPU; the wiring is what is tested here.
    compiled = []

    def fake_compile(module, **kwargs):
        compiled.append(module)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    cfg = tiny_config(extra=["train.compile=true", "train.epochs=1", "train.epochs_decay=0"])
    result = train(cfg, ToyPairs(), tmp_path)
    assert len(compiled) == 3 and result.steps == 2
    assert compiled[0] is result.trainer.G and [type(m).__name__ for m in compiled[1:]] == ["PairForward"] * 2
