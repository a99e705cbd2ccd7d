"""Authors' checkpoints: equivalence with the reference outputs, conversion, native round trip and clear errors."""

from __future__ import annotations

import argparse
import json

import pytest
import torch
import torchvision
from reference_helpers import GENERATOR_FIXTURES, fixture_inputs

from posestylizer import load_generator
from posestylizer.checkpoints.contract import InputContract
from posestylizer.checkpoints.native import save_generator
from posestylizer.cli import main
from posestylizer.config import ModelConfig
from posestylizer.errors import CheckpointError
from posestylizer.models import Generator

FIXTURES = GENERATOR_FIXTURES


@pytest.mark.parametrize("name", FIXTURES)
def test_reference_output_through_convert_cli(reference_dir, tmp_path, name, capsys):
    fixture = torch.load(reference_dir / name, weights_only=True)
    out_dir = tmp_path / "native"
    assert main(["convert", str(reference_dir / name), str(out_dir)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert (out_dir / "model.safetensors").is_file()
    info = json.loads((out_dir / "config.json").read_text())
    assert info["model"]["ngf"] == fixture["config"]["ngf"]
    assert info["model"]["n_blocks"] == fixture["config"]["n_downsampling"]
    g = load_generator(out_dir)
    assert not g.training
    assert sum(p.numel() for p in g.parameters()) == fixture["config"]["num_params"]
    with torch.no_grad():
        out = g(*fixture_inputs(fixture))
    assert (out - fixture["output"]).abs().max().item() <= 1e-5


@pytest.mark.parametrize("name", FIXTURES)
def test_reference_file_loads_directly_with_dataparallel_prefix(reference_dir, tmp_path, name):
    fixture = torch.load(reference_dir / name, weights_only=True)
    wrapped = {f"module.{k}": v for k, v in fixture["state_dict"].items()}  # as the authors' multi-GPU runs save
    path = tmp_path / "latest_netG.pth"
    torch.save(wrapped, path)
    g = load_generator(path)
    with torch.no_grad():
        assert torch.allclose(g(*fixture_inputs(fixture)), fixture["output"], atol=1e-5, rtol=0)


def _contract(cfg: ModelConfig, sigma: float = 6.0) -> InputContract:
    return InputContract(image_size=cfg.image_size, heatmap_sigma=sigma)


def test_native_round_trip(tmp_path):
    cfg = ModelConfig(image_size=(192, 96), n_blocks=3, ngf=4, norm="batch")
    g = Generator(cfg).eval()
    for m in g.modules():  # non-trivial BN statistics must survive the trip
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    save_generator(g, cfg, tmp_path / "ckpt", _contract(cfg))
    loaded = load_generator(tmp_path / "ckpt")
    assert loaded.config == cfg
    assert loaded.contract == _contract(cfg)
    x = (torch.rand(1, 3, 192, 96) * 2 - 1, torch.rand(1, 18, 192, 96), torch.rand(1, 18, 192, 96))
    with torch.no_grad():
        assert torch.equal(g(*x), loaded(*x))


def test_save_is_atomic(tmp_path, monkeypatch):
    cfg = ModelConfig(image_size=(64, 32), n_blocks=2, ngf=4)
    g = Generator(cfg)
    save_generator(g, cfg, tmp_path / "ckpt", _contract(cfg))
    before = (tmp_path / "ckpt" / "model.safetensors").read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("posestylizer.checkpoints.native.save_file", boom)
    with pytest.raises(OSError):
        save_generator(Generator(cfg), cfg, tmp_path / "ckpt", _contract(cfg))
    assert (tmp_path / "ckpt" / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no temporary folder left behind


def test_other_widths_load_from_reference_names(reference_dir, tmp_path):
    """A reference-named state dict at another width (ngf 16 table) loads and runs."""
    entries = json.loads((reference_dir / "tables" / "netG_fashion_ngf16.json").read_text())["keys"]
    torch.save({k: torch.randn(s) * 0.02 for k, s, _ in entries}, tmp_path / "g.pth")
    g = load_generator(tmp_path / "g.pth")
    assert g.config.ngf == 16 and g.config.image_size == (256, 176) and g.config.norm == "instance"
    with torch.no_grad():
        assert g(torch.zeros(1, 3, 256, 176), torch.zeros(1, 18, 256, 176), torch.zeros(1, 18, 256, 176)).shape == (
            1, 3, 256, 176,
        )  # fmt: skip


def test_missing_checkpoint_is_an_error_not_a_fresh_start(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_generator(tmp_path / "latest_netG.pth")


def test_truncated_file(reference_dir, tmp_path, capsys):
    data = (reference_dir / FIXTURES[0]).read_bytes()
    bad = tmp_path / "truncated.pth"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_generator(bad)
    assert main(["convert", str(bad), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(bad) in err
    assert not (tmp_path / "out").exists()


def test_non_checkpoint_file(tmp_path):
    text = tmp_path / "notes.pth"
    text.write_text("this is not a checkpoint\n")
    with pytest.raises(CheckpointError, match="unreadable"):
        load_generator(text)
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match="not a state dict"):
        load_generator(tmp_path / "list.pth")


def test_pickled_code_is_refused(tmp_path):
    torch.save({"state_dict": {"w": torch.zeros(1)}, "opt": argparse.Namespace(ngf=64)}, tmp_path / "x.pth")
    with pytest.raises(CheckpointError, match="refused to unpickle argparse.Namespace"):
        load_generator(tmp_path / "x.pth")


def test_another_models_state_dict(tmp_path, reference_dir):
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "resnet.pth")
    with pytest.raises(CheckpointError, match="not an APS generator"):
        load_generator(tmp_path / "resnet.pth")
    entries = json.loads((reference_dir / "tables" / "netD_PB_market.json").read_text())["keys"]
    torch.save({k: torch.zeros(s) for k, s, _ in entries}, tmp_path / "netD.pth")
    with pytest.raises(CheckpointError, match="not an APS generator"):
        load_generator(tmp_path / "netD.pth")


def test_mismatch_lists_missing_unexpected_and_shapes(reference_dir, tmp_path):
    state = dict(torch.load(reference_dir / FIXTURES[0], weights_only=True)["state_dict"])
    state.pop("model.out_node_full.1.bias")
    state["model.extra.weight"] = torch.zeros(1)
    state["model.up_blocks_fg.0.att.weight"] = torch.zeros(3, 3, 3, 3)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError) as info:
        load_generator(tmp_path / "bad.pth")
    msg = str(info.value)
    assert "missing 1: decoder.to_rgb.conv.bias" in msg
    assert "unexpected 1: extra.weight" in msg
    assert "wrong shape 1: decoder.fg_blocks.0.attention.weight (3, 3, 3, 3)" in msg
