"""`posestylizer demo` with a very short budget: every artefact is written and the report path is printed last."""

from __future__ import annotations

import json

import pytest

from posestylizer.checkpoint import load_generator
from posestylizer.cli import main
from posestylizer.demo import METHODS, METRIC_COLUMNS, pair_metrics


def test_pair_metrics_of_a_perfect_and_a_copied_image():
    import numpy as np

    plate = np.full((32, 16, 3), 90, np.uint8)
    plate[::4] = 60  # some texture
    target, source = plate.copy(), plate.copy()
    mask = np.zeros((32, 16), bool)
    mask[8:24, 4:12] = True
    target[mask] = (200, 30, 30)
    source[2:12, 2:14] = (200, 30, 30)
    perfect = pair_metrics(target, target, mask, plate)
    assert perfect["ssim_clean"] == pytest.approx(1.0) and perfect["l1"] == 0 and perfect["fg_iou_gt"] == 1.0
    copied = pair_metrics(target, source, mask, plate)
    assert copied["fg_iou_gt"] < 0.5 and copied["mask_l1_gt"] > 0 and copied["ssim_clean"] < 1


@pytest.mark.slow
def test_demo_smoke(tmp_path, capsys):
    out = tmp_path / "demo"
    args = ["demo", "--minutes", "0.5", "--out", str(out), "--identities", "6", "--poses", "3", "--eval-pairs", "4",
            "--quiet", "model.ngf=4", "model.ndf=4", "model.n_blocks=2", "train.batch_size=4"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == str((out / "report.html").resolve())
    page = (out / "report.html").read_text()
    assert "perceptual loss (VGG19 relu1_2) is <b>off</b>" in page and "<svg" in page and "report_grid.png" in page
    assert (out / "report_grid.png").is_file()
    facts = json.loads((out / "metrics.json").read_text())
    assert set(facts["metrics"]) == {m for m, _ in METHODS}
    assert set(facts["metrics"]["trained"]) == {c for c, _, _ in METRIC_COLUMNS}
    assert facts["timings"]["iterations"] >= 1
    g = load_generator(out / "run" / "generator")  # the demo's model works with the other commands
    assert g.config.ngf == 4
