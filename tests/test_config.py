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


AWKWARD = ["runs/a #1", "yes", "no", "1e3", "null", "~", "[x]", "a: b", "données/ünï 名前", " spaced ", "'quoted'", ""]


@pytest.mark.parametrize("text", AWKWARD)
def test_text_overrides_are_taken_verbatim(text):
    # YAML would read these as a comment, a boolean, None, a list, a mapping or an unquoted string.
    cfg = load_config("market", overrides=[f"data.root={text}", f"name={text}"])
    assert cfg.data.root == text and cfg.name == text


def test_typed_fields_still_parse_and_text_fields_in_yaml_files_refuse_booleans(tmp_path):
    cfg = load_config("market", overrides=["train.lr=1e-3", "train.epochs=7", "data.flip=yes", "train.time_budget=90"])
    assert (cfg.train.lr, cfg.train.epochs, cfg.data.flip, cfg.train.time_budget) == (1e-3, 7, True, 90.0)
    path = tmp_path / "exp.yaml"
    path.write_text("data:\n  root: yes\n")
    with pytest.raises(ConfigError, match="data.root: expected text, got the boolean True; put the value in quotes"):
        load_config("market", path=path)
    path.write_text("data:\n  root: 'yes'\n  pairs_file: ünï.csv\n")
    assert load_config("market", path=path).data.pairs_file == "ünï.csv"


@pytest.mark.parametrize("text", AWKWARD[:9])
def test_saved_config_reads_back_the_same_values(tmp_path, text):
    cfg = load_config("fashion", overrides=[f"data.root={text}", "train.lr=3e-5"])
    cfg.save(tmp_path / "config.yaml")
    again = load_config(path=tmp_path / "config.yaml")
    assert again == cfg
