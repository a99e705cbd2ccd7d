"""`posestylizer demo`: its ground-truth metrics (registry entries) and, with a very short budget, every artefact."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from posestylizer.checkpoints.native import load_generator
from posestylizer.cli import main
from posestylizer.config import load_config
from posestylizer.data.synth import background_path, mask_path, part_path
from posestylizer.demo.run import DEMO_METRICS, METHODS
from posestylizer.metrics.collect import Collection, ResultItem
from posestylizer.metrics.evaluate import evaluate
from posestylizer.metrics.inputs import EvalOptions


def _ground_truth(root):
    """One synthetic-style pair: a textured plate, the person at the target's place, the source elsewhere."""
    plate = np.full((32, 16, 3), 90, np.uint8)
    plate[::4] = 60
    target, source = plate.copy(), plate.copy()
    parts = np.zeros((32, 16), np.uint8)
    parts[8:10, 6:10], parts[10:18, 4:12], parts[18:24, 5:11] = 1, 2, 4  # head, torso, legs
    parts[10:18, 12:15] = 3  # an arm held out to the side
    mask = parts > 0
    target[mask] = (200, 30, 30)
    source[2:12, 2:14] = (200, 30, 30)
    for path, image in ((mask_path(root, "test", "t.jpg"), mask.astype(np.uint8) * 255),
                        (part_path(root, "test", "t.jpg"), parts),
                        (background_path(root, "test", "s.jpg"), plate)):  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path)
    return target, source


def test_ground_truth_metrics_of_a_perfect_and_a_copied_image(tmp_path):
    target, source = _ground_truth(tmp_path)
    options = EvalOptions(protocol="clean", metrics=list(DEMO_METRICS), ground_truth=str(tmp_path))

    def run(generated, tgt_name="t.jpg"):
        return evaluate(Collection([ResultItem("x.png", "s.jpg", tgt_name, target, generated)], "test"), options)

    perfect = run(target)
    assert perfect.metrics == list(DEMO_METRICS) and perfect.notes == []
    assert perfect.value("ssim_clean") == pytest.approx(1.0) and perfect.value("l1") == 0
    assert perfect.value("fg_iou_gt") == 1.0 and perfect.value("mask_l1_gt") == 0
    assert all(perfect.value(f"fg_iou_{p}_gt") == 1.0 for p in ("head", "torso", "arms", "legs"))
    armless = target.copy()
    armless[10:18, 12:15] = target[2:10, 12:15]  # background there (same stripe phase): the arm not drawn
    without_arm = run(armless)
    assert without_arm.value("fg_iou_arms_gt") == 0.0 and without_arm.value("fg_iou_torso_gt") == 1.0
    assert without_arm.value("fg_iou_gt") < 1.0 and "nearest part pixel" in without_arm.settings["fg_iou_arms_gt"]
    copied = run(source)
    assert copied.value("fg_iou_gt") < 0.5 and copied.value("mask_l1_gt") > 0 and copied.value("ssim_clean") < 1
    assert copied.value("mask_ssim_gt") < perfect.value("mask_ssim_gt")
    assert "ground-truth person mask" in copied.settings["mask_ssim_gt"]
    # A pair whose target has no mask file: no gt value for it, and a note says why.
    lacking = run(target, tgt_name="u.jpg")
    assert lacking.results["mask_ssim_gt"].n == 0 and lacking.results["ssim_clean"].n == 1
    assert any("without a ground-truth person mask" in n for n in lacking.notes)
    # Without ground truth the gt metrics are skipped with a note naming the option.
    plain = evaluate(Collection([ResultItem("x.png", "s.jpg", "t.jpg", target, target)], "test"),
                     EvalOptions(protocol="clean", metrics=list(DEMO_METRICS)))  # fmt: skip
    assert plain.metrics == ["ssim_clean", "l1"] and any("--ground-truth" in n for n in plain.notes)


def test_ground_truth_of_another_size_is_one_clear_error(tmp_path):
    from posestylizer.errors import DataError

    _ground_truth(tmp_path)
    big = np.zeros((64, 32, 3), np.uint8)
    options = EvalOptions(protocol="clean", metrics=["mask_l1_gt"], ground_truth=str(tmp_path))
    with pytest.raises(DataError, match="--ground-truth must be the dataset"):
        evaluate(Collection([ResultItem("x.png", "s.jpg", "t.jpg", big, big)], "test"), options)


def test_demo_recipe_is_a_preset():
    cfg = load_config("demo")
    assert cfg.preset == "demo" and cfg.name == "demo"
    assert tuple(cfg.model.image_size) == (64, 32) and cfg.model.n_blocks == 3 and not cfg.loss.perceptual
    assert cfg.data.heatmap_sigma == 3 and cfg.loss.lambda_gan == 2 and cfg.data.flip


@pytest.mark.slow
def test_demo_smoke(tmp_path, capsys):
    out = tmp_path / "demo"
    args = ["demo", "--minutes", "0.5", "--out", str(out), "--identities", "6", "--poses", "3", "--eval-pairs", "4",
            "--quiet", "--threads", "1", "model.ngf=4", "model.ndf=4", "model.n_blocks=2", "train.batch_size=4"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == str((out / "report.html").resolve())
    page = (out / "report.html").read_text()
    assert "perceptual loss (VGG19 relu1_2) is <b>off</b>" in page and "<svg" in page and "report_grid.png" in page
    assert "foreground IoU" in page and "arms IoU" in page and "--ground-truth" in page
    assert "an L1 inside the target's pose mask (weight 10; not the paper's)" in page  # the recipe says its terms
    assert "Ceiling: the target person" in page
    grid = np.asarray(Image.open(out / "report_grid.png"))
    assert (grid[:12] < 128).any()  # the column titles above the first row
    table = printed[-9:-1]  # the results table (what was trained, metric titles, 3 methods, the ceiling, 2 margins)
    assert "iterations" in table[0] and "held-out pairs" in table[0]
    assert "arms IoU" in table[1] and table[2].startswith("source copied") and table[4].startswith("trained APS")
    assert table[5].startswith("target person on the source's background (ceiling)")
    assert table[6].startswith("margin over source copied") and table[7].startswith("margin over untrained")
    facts = json.loads((out / "metrics.json").read_text())
    assert set(facts["metrics"]) == {m for m, _ in METHODS}
    # the ceiling is the target inside the person mask: the masked metrics are perfect there
    assert facts["metrics"]["ideal"]["mask_ssim_gt"] == pytest.approx(1.0)
    assert facts["metrics"]["ideal"]["mask_l1_gt"] == 0.0
    assert set(facts["margins"]) == {"copy", "untrained"}
    assert set(facts["metrics"]["trained"]) == set(DEMO_METRICS)
    assert facts["timings"]["iterations"] >= 1
    for method, _ in METHODS:  # the same reports `posestylizer evaluate` writes, one per method
        report = json.loads((out / "eval" / method / "metrics.json").read_text())
        assert report["metrics"] == list(DEMO_METRICS) and report["counts"]["evaluated"] == facts["pairs"]
        assert report["summary"]["fg_iou_gt"]["mean"] == pytest.approx(facts["metrics"][method]["fg_iou_gt"])
    g = load_generator(out / "run" / "generator")  # the demo's model works with the other commands
    assert g.config.ngf == 4


def test_part_ious_split_the_foreground_by_nearest_part():
    from posestylizer.metrics.pixel import part_ious

    parts = np.zeros((10, 10), np.uint8)
    parts[2:8, 2:5], parts[2:8, 6:8] = 2, 3  # a torso and an arm beside it
    assert part_ious(parts > 0, parts) == {2: 1.0, 3: 1.0}
    smear = parts > 0
    smear[2:8, 8] = True  # foreground next to the arm counts against the arm only
    assert part_ious(smear, parts) == {2: 1.0, 3: pytest.approx(12 / 18)}
    assert part_ious(np.zeros((10, 10), bool), np.zeros((10, 10), np.uint8)) == {}


def test_text_table_lists_methods_then_margins():
    from posestylizer.demo.report import Column, text_table

    columns = [Column("a", "A", True, ""), Column("b", "B", False, "")]
    facts = {"metrics": {"copy": {"a": 0.5, "b": 0.2}, "trained": {"a": 0.75, "b": 0.1}},
             "margins": {"copy": {"a": 0.25, "b": 0.1}}}  # fmt: skip
    lines = text_table(facts, columns, [("copy", "source copied (baseline)"), ("trained", "trained APS")]).splitlines()
    assert lines[0].split() == ["A", "↑", "B", "↓"]
    assert lines[1].split()[-2:] == ["0.500", "0.200"] and lines[2].split()[-2:] == ["0.750", "0.100"]
    assert lines[3].startswith("margin over source copied") and lines[3].split()[-2:] == ["+0.250", "+0.100"]
    # a method the report does not have (one written before the ceiling row) is left out, not a KeyError
    later = text_table(facts, columns, [("copy", "c"), ("trained", "t"), ("ideal", "ceiling")]).splitlines()
    assert len(later) == 4 and not any(line.startswith("ceiling") for line in later)
