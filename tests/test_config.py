"""Config: presets hold differences, overrides are type-checked, unknown keys rejected, the CLI prints one line."""

from __future__ import annotations

import pytest

from posestylizer.cli import main
from posestylizer.config import load_config
from posestylizer.errors import ConfigError


def test_presets_differ_only_where_the_paper_does():
    market, fashion = load_config("market"), load_config("fashion")
    assert market.model.image_size == (128, 64) and fashion.model.image_size == (256, 176)
    assert (market.model.n_blocks, fashion.model.n_blocks) == (4, 5)
    assert (market.model.norm, fashion.model.norm) == ("batch", "instance")
    assert (market.loss.gan_mode, fashion.loss.gan_mode) == ("bce", "lsgan")
    assert (market.loss.lambda_l1, fashion.loss.lambda_l1) == (10, 1)
    assert (market.loss.pool_size, fashion.loss.pool_size) == (50, 0)
    assert (market.data.heatmap_sigma, fashion.data.heatmap_sigma) == (6, 12)
    assert market.model.ngf == fashion.model.ngf == 64


def test_overrides_are_typed():
    cfg = load_config("market", overrides=["train.lr=1e-4", "model.image_size=[64, 32]", "loss.perceptual=false"])
    assert cfg.train.lr == 1e-4 and cfg.model.image_size == (64, 32) and cfg.loss.perceptual is False
    with pytest.raises(ConfigError, match="expected an integer"):
        load_config("market", overrides=["train.batch_size=1.5"])
    with pytest.raises(ConfigError, match="unknown config key 'train.bach_size'"):
        load_config("market", overrides=["train.bach_size=4"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config("market", overrides=["train.lr"])


def test_yaml_file_and_unknown_preset(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("model:\n  ngf: 32\ntrain:\n  epochs: 3\n")
    cfg = load_config("fashion", path=path)
    assert cfg.model.ngf == 32 and cfg.train.epochs == 3 and cfg.model.norm == "instance"
    path.write_text("model:\n  ngff: 32\n")
    with pytest.raises(ConfigError, match=str(path)):
        load_config("fashion", path=path)
    with pytest.raises(ConfigError, match="unknown preset"):
        load_config("imagenet")


def test_cli_user_error_is_one_line(tmp_path, capsys):
    assert main(["convert", str(tmp_path / "missing.pth"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("posestylizer convert: error:") and err.count("\n") == 1
