"""precision=auto: bf16 only where the hardware computes it natively, decided from (faked) capabilities."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from train_helpers import ToyPairs, tiny_config

from posestylizer.runtime import precision
from posestylizer.runtime.precision import choose_precision, native_bf16, read_cpu_flags
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


# -- inference: the pipeline, the CLI


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    from pipeline_helpers import small_checkpoint, street_scene

    root = tmp_path_factory.mktemp("precision")
    photo, truth = street_scene([(1, 240, 330, 280)], size=(360, 480))
    return small_checkpoint(root / "g", size=(64, 32)), photo, truth[0], root


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize(("flags", "picked"), [(AVX2_ONLY, "fp32"), (AVX2_ONLY | {"avx512_bf16"}, "bf16")])
def test_pipeline_auto_picks_by_hardware_and_stays_close_to_fp32(scene, monkeypatch, capsys, flags, picked):
    from posestylizer.inference import PoseStylizerPipeline

    ckpt, photo, kp, _ = scene
    exact = PoseStylizerPipeline.from_pretrained(ckpt)  # default fp32, whatever the CPU
    assert exact.precision == "fp32" and "precision" not in capsys.readouterr().err
    monkeypatch.setattr(precision, "read_cpu_flags", lambda *a: flags)
    auto = PoseStylizerPipeline.from_pretrained(ckpt, precision="auto")
    assert auto.precision == picked and auto.precision_reason in capsys.readouterr().err
    outs = [np.asarray(p(photo, "walking", source_keypoints=kp).image) for p in (exact, auto)]
    assert outs[1].dtype == np.uint8 and outs[1].shape == outs[0].shape == (64, 32, 3)
    if picked == "fp32":
        assert np.array_equal(*outs)
    else:  # bf16 autocast (emulated on CPUs without the flag, same rounding): close to fp32, not equal
        assert not np.array_equal(*outs) and _psnr(*outs) >= 40


def test_fp16_on_cpu_and_unknown_precisions_are_one_line_errors(scene, capsys):
    from cli_helpers import failing_run

    from posestylizer.errors import ConfigError
    from posestylizer.inference import PoseStylizerPipeline

    ckpt, _, _, root = scene
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        PoseStylizerPipeline.from_pretrained(ckpt, precision="fp16")
    with pytest.raises(ConfigError, match="precision must be one of"):
        PoseStylizerPipeline.from_pretrained(ckpt, precision="fp64")
    options = {"--checkpoint": str(ckpt), "--source": str(root / "none.png"), "--target": "walking",
               "--out": str(root / "out.png")}  # fmt: skip
    err = failing_run("generate", options, ["--precision", "fp16"], capsys)
    assert "fp16 needs a CUDA device" in err and "\n" not in err
    assert not (root / "out.png").exists()
