"""The input contract travels with the checkpoint: training writes it, loading reads it, generation obeys it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from posestylizer.checkpoints.contract import InputContract
from posestylizer.checkpoints.native import load_generator, save_generator
from posestylizer.cli import main
from posestylizer.config import ModelConfig, load_config
from posestylizer.data.dataset import PairDataset
from posestylizer.data.synth import write_dataset
from posestylizer.errors import CheckpointError
from posestylizer.inference.batch import generate_results
from posestylizer.models import Generator
from posestylizer.results.protocol import pair_filename, to_uint8

TINY = ["model.ngf=4", "model.ndf=4", "model.n_blocks=2", "train.batch_size=4", "train.epoch_length=4",
        "train.epochs=1", "train.epochs_decay=0", "data.num_workers=0", "loss.perceptual=false"]  # fmt: skip


@pytest.fixture(scope="module")
def trained_with_sigma_3(tmp_path_factory):
    """A run trained on pose maps of sigma 3 (the synthetic preset's default is 6)."""
    root = tmp_path_factory.mktemp("contract")
    write_dataset(root / "data", "market", identities=4, poses=3, seed=1)
    args = ["train", "--preset", "synthetic", "--data", str(root / "data"), "--out", str(root / "run"), "--quiet"]
    assert main(args + TINY + ["data.heatmap_sigma=3"]) == 0
    return root


def test_training_writes_the_contract_and_loading_reads_it(trained_with_sigma_3):
    ckpt = trained_with_sigma_3 / "run" / "generator"
    info = json.loads((ckpt / "config.json").read_text())
    assert info["contract"] == {"image_size": [128, 64], "heatmap_sigma": 3.0, "keypoints": "coco18-yx",
                                "layout": "market"}  # fmt: skip
    g = load_generator(ckpt)
    assert g.contract == InputContract(image_size=(128, 64), heatmap_sigma=3.0, layout="market")


def test_evaluate_checkpoint_renders_the_trained_sigma(trained_with_sigma_3, tmp_path):
    """The written images equal G on sigma-3 maps, and differ from G on the layout's default sigma-6 maps."""
    root = trained_with_sigma_3
    res = generate_results(root / "run" / "generator", root / "data", tmp_path, write_grids=False)
    g = load_generator(root / "run" / "generator")
    outputs = {}
    for sigma in (3.0, 6.0):
        item = PairDataset(root / "data", "test", heatmap_sigma=sigma, masks=False)[0]
        with torch.no_grad():
            fake = g(item["src_img"][None], item["src_pose"][None], item["tgt_pose"][None])[0]
        outputs[sigma] = to_uint8(fake)
    src, tgt = res.pairs[0]
    written = np.asarray(Image.open(res.generated / pair_filename(src, tgt, ".png")))
    assert np.array_equal(written, outputs[3.0])
    assert not np.array_equal(written, outputs[6.0])


def test_reference_file_takes_its_presets_contract(tmp_path):
    cfg = load_config("fashion", overrides=["model.ngf=4"]).model
    torch.save(Generator(cfg).state_dict(), tmp_path / "g.pth")  # native names load too
    g = load_generator(tmp_path / "g.pth", preset="fashion")
    assert g.contract == InputContract(image_size=(256, 176), heatmap_sigma=12.0, layout="fashion")
    g = load_generator(tmp_path / "g.pth", preset="fashion", image_size=(128, 88))
    assert g.contract.heatmap_sigma == 6.0  # the sigma scales with the height


def _native(tmp_path, contract_entry, drop_contract=False):
    cfg = ModelConfig(image_size=(64, 32), n_blocks=2, ngf=4)
    folder = save_generator(Generator(cfg), cfg, tmp_path / "ckpt", InputContract((64, 32), 4.0))
    path = folder / "config.json"
    info = json.loads(path.read_text())
    if drop_contract:
        del info["contract"]
    else:
        info["contract"] = contract_entry
    path.write_text(json.dumps(info))
    return folder


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"image_size": [64, 32]}, "heatmap_sigma"),
        ({"image_size": [64, 32], "heatmap_sigma": -1}, "positive"),
        ({"image_size": [128, 64], "heatmap_sigma": 6}, "differs from model.image_size"),
        ({"image_size": [64, 32], "heatmap_sigma": 6, "keypoints": "body25"}, "keypoint convention"),
        ({"image_size": [64, 32], "heatmap_sigma": 6, "colour": 1}, "unknown contract field"),
        ("sigma 6", "must be an object"),
    ],
)
def test_malformed_contract_is_one_error_naming_the_file(tmp_path, entry, message):
    folder = _native(tmp_path, entry)
    with pytest.raises(CheckpointError, match=message) as err:
        load_generator(folder)
    assert "config.json" in str(err.value) and "\n" not in str(err.value)


def test_checkpoint_without_contract_loads_but_cannot_be_fed(tmp_path):
    folder = _native(tmp_path, None, drop_contract=True)
    assert load_generator(folder).contract is None
    with pytest.raises(CheckpointError, match="no input contract"):
        generate_results(folder, tmp_path / "no-data", tmp_path / "out")
