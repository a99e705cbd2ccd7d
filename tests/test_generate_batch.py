"""``posestylizer generate --data``: a dataset's pairs as PNGs and the authors' grids, which ``evaluate`` reads."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from cli_helpers import failing_run
from PIL import Image

from posestylizer.checkpoints.contract import InputContract
from posestylizer.checkpoints.native import load_generator, save_generator
from posestylizer.cli import main
from posestylizer.config import load_config
from posestylizer.data.dataset import PairDataset
from posestylizer.data.formats import read_pairs, write_pairs
from posestylizer.models import Generator
from posestylizer.results.panels import pair_panels, panel_row
from posestylizer.results.protocol import pair_filename


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A synthetic dataset and a small generator trained on nothing, with sigma 4 in its contract."""
    root = tmp_path_factory.mktemp("batch")
    assert main(["data", "synth", str(root / "data"), "--identities", "4", "--poses", "3", "--seed", "2"]) == 0
    cfg = load_config("synthetic", overrides=["model.ngf=4", "model.n_blocks=2"])
    torch.manual_seed(0)
    save_generator(Generator(cfg.model).eval(), cfg.model, root / "ckpt", InputContract((128, 64), 4.0))
    return root


def test_batch_writes_pngs_and_the_authors_grids(dataset, tmp_path, capsys):
    root = dataset
    pairs = read_pairs(root / "data" / "market-pairs-test.csv")
    out = tmp_path / "results"
    assert main(["generate", "--checkpoint", str(root / "ckpt"), "--data", str(root / "data"), "--out", str(out),
                 "--batch-size", "3", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {len(pairs)} pairs" in printed and "posestylizer evaluate" in printed
    assert sorted(p.name for p in (out / "generated").iterdir()) == sorted(pair_filename(*p) for p in pairs)
    assert len(list((out / "grids").glob("*_vis.jpg"))) == len(pairs)

    # The grid file is byte for byte PIL's JPEG (quality 75) of [source | source pose | target | target pose |
    # generated], with the generated panel the PNG written beside it, made on maps of the checkpoint's sigma.
    item = PairDataset(root / "data", "test", heatmap_sigma=4.0, masks=False)[1]
    g = load_generator(root / "ckpt")
    with torch.no_grad():
        fake = g(item["src_img"][None], item["src_pose"][None], item["tgt_pose"][None])[0]
    name = (item["src_name"], item["tgt_name"])
    png = np.asarray(Image.open(out / "generated" / pair_filename(*name)))
    expected = panel_row(pair_panels(item["src_img"], item["src_kp"], item["tgt_img"], item["tgt_kp"], fake))
    assert np.array_equal(png, expected[:, 4 * 64 :])
    buf = io.BytesIO()
    Image.fromarray(expected).save(buf, format="JPEG", quality=75)
    assert (out / "grids" / pair_filename(*name, ".jpg", grid=True)).read_bytes() == buf.getvalue()

    # evaluate RESULTS reads them
    rc = main(["evaluate", str(out / "grids"), "--metrics", "ssim_paper,l1", "--out", str(tmp_path / "eval"),
               "--quiet"])
    assert rc == 0
    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert report["counts"]["evaluated"] == len(pairs)


def test_batch_pairs_file_limits_the_pairs(dataset, tmp_path, capsys):
    root = dataset
    pairs = read_pairs(root / "data" / "market-pairs-test.csv")[:2]
    write_pairs(tmp_path / "two.csv", pairs)
    out = tmp_path / "two"
    assert main(["generate", "--checkpoint", str(root / "ckpt"), "--data", str(root / "data"), "--pairs",
                 str(tmp_path / "two.csv"), "--out", str(out), "--quiet"]) == 0
    assert "wrote 2 pairs" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "generated").iterdir()) == sorted(pair_filename(*p) for p in pairs)


ERRORS = [
    (["--data", "{root}/nowhere"], "dataset folder not found"),
    (["--pairs", "{root}/x.csv"], "--pairs needs --data"),
    (["--data", "{root}/data", "--source", "a.png"], "give one mode"),
    (["--data", "{root}/data", "--out", "{tmp}/out.png"], "--out is a folder"),
    (["--data", "{root}/data", "--pairs", "{tmp}/bad.csv"], "bad.csv:2: nobody.jpg"),
    (["--data", "{root}/data", "--batch-size", "0"], "argument --batch-size: expected a whole number >= 1"),
    (["--data", "{root}/data", "--checkpoint", "{tmp}/nope"], "no such checkpoint"),
]


@pytest.mark.parametrize(("extra", "message"), ERRORS, ids=[m for _, m in ERRORS])
def test_batch_errors_are_one_line(dataset, tmp_path, capsys, extra, message):
    write_pairs(tmp_path / "bad.csv", [("nobody.jpg", "nothing.jpg")])
    options = {"--checkpoint": str(dataset / "ckpt"), "--out": str(tmp_path / "err")}
    err = failing_run("generate", options, extra, capsys, flags=("--quiet",), root=dataset, tmp=tmp_path)
    assert "\n" not in err, err  # one line, the dataset check's too (its first problem and `data check ROOT`)
    assert message in err
    assert not (tmp_path / "err").exists()
