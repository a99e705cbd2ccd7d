"""precision=auto: bf16 only where the hardware computes it natively, decided from (faked) capabilities."""

from __future__ import annotations

import pytest
import torch
from train_helpers import ToyPairs, tiny_config

from posestylizer import precision
from posestylizer.precision import choose_precision, native_bf16, read_cpu_flags
from posestylizer.training.distributed import DistInfo
from posestylizer.training.loop import Trainer

CPU, CUDA = torch.device("cpu"), torch.device("cuda:0")
AVX2_ONLY = frozenset({"sse4_2", "avx", "avx2", "fma"})  # e.g. the project's first AMD EPYC machine


@pytest.mark.parametrize(
    ("flags", "expected", "reason"),
    [
        (AVX2_ONLY, "fp32", "emulated"),
        (AVX2_ONLY | {"avx512f", "avx512bw"}, "fp32", "emulated"),  # AVX-512 without BF16 still emulates
        (AVX2_ONLY | {"avx512f", "avx512_bf16"}, "bf16", "avx512_bf16"),
        (AVX2_ONLY | {"amx_tile", "amx_bf16"}, "bf16", "amx_bf16"),
        (frozenset(), "fp32", "emulated"),  # flags unknown (no /proc/cpuinfo): stay exact
    ],
)
def test_auto_on_cpu_follows_the_flags(flags, expected, reason):
    choice = choose_precision("auto", CPU, cpu_flags=flags)
    assert choice.name == expected and reason in choice.reason
    assert choice.dtype == (torch.bfloat16 if expected == "bf16" else None)
    assert choice.describe("auto").startswith(f"precision auto -> {expected} (")


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_on_cuda_follows_the_gpu(native, expected):
    assert choose_precision("auto", CUDA, cuda_bf16=native).name == expected
    # CPU flags are irrelevant for a GPU
    assert choose_precision("auto", CUDA, cpu_flags=frozenset({"amx_bf16"}), cuda_bf16=native).name == expected


def test_explicit_precisions_are_kept_and_unknown_ones_refused():
    for name in ("fp32", "bf16", "fp16"):
        assert choose_precision(name, CPU, cpu_flags=AVX2_ONLY).name == name
    with pytest.raises(ValueError, match="fp64"):
        choose_precision("fp64", CPU)
    assert native_bf16(torch.device("meta"))[0] is False


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse avx2 avx512_bf16\n\nprocessor\t: 1\n")
    assert read_cpu_flags(info) == {"fpu", "sse", "avx2", "avx512_bf16"}
    assert read_cpu_flags(tmp_path / "missing") == frozenset()
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16\n")
    assert "bf16" in read_cpu_flags(arm)


@pytest.mark.parametrize(
    ("flags", "dtype", "picked"), [(AVX2_ONLY, None, "fp32"), (AVX2_ONLY | {"amx_bf16"}, torch.bfloat16, "bf16")]
)
def test_trainer_resolves_auto_and_says_what_it_picked(monkeypatch, capsys, flags, dtype, picked):
    monkeypatch.setattr(precision, "read_cpu_flags", lambda *a: flags)
    trainer = Trainer(tiny_config(extra=["train.precision=auto"]), ToyPairs(), DistInfo(), perceptual=None)
    assert trainer.autocast_dtype == dtype
    assert f"train.precision=auto -> {picked}" in capsys.readouterr().err
