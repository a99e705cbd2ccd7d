"""``posestylizer evaluate`` end to end: result folders, reports, problems, both protocols, the checkpoint path."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from posestylizer.cli import main
from posestylizer.data.formats import write_annotations, write_pairs
from posestylizer.keypoints.maps import draw_pose
from posestylizer.results.panels import compose_grid
from posestylizer.results.protocol import pair_filename

TOL = 1e-6


@pytest.fixture(scope="module")
def ref(reference_dir):
    d = torch.load(reference_dir / "metrics_reference.pt", weights_only=True)
    return {k: (v.numpy() if torch.is_tensor(v) else v) for k, v in d.items()}


@pytest.fixture()
def grid_folder(ref, tmp_path):
    """The fixture's 4 Market pairs as 5-panel grids (PNG, so the values are the fixture's), plus problem files."""
    folder = tmp_path / "images"
    folder.mkdir()
    annotation = {}
    for i in range(4):
        kp = ref["mask_market_kp"][i]
        src = np.full((128, 64, 3), 40 * i, np.uint8)
        grid = compose_grid(src, draw_pose(kp, (128, 64)), ref["market_ref"][i], draw_pose(kp, (128, 64)),
                            ref["market_gen"][i])
        Image.fromarray(grid).save(folder / pair_filename(f"s{i}.jpg", f"t{i}.jpg", ".png", grid=True))
        annotation[f"t{i}.jpg"] = kp
    (folder / pair_filename("s8.jpg", "t8.jpg", ".jpg", grid=True)).write_bytes(b"\xff\xd8 truncated")
    (folder / "notes.txt").write_text("not an image")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "thumbnail.png")
    write_annotations(tmp_path / "annotation.csv", annotation)
    expected = [(f"s{i}.jpg", f"t{i}.jpg") for i in (0, 1, 2, 3, 8, 9)]
    write_pairs(tmp_path / "pairs.csv", expected)
    Image.fromarray(compose_grid(*[ref["market_ref"][0]] * 5)).save(folder / "s7.jpg___t7.jpg_vis.png")
    return folder


def _report(out):
    return json.loads((out / "metrics.json").read_text())


def test_paper_protocol_on_grid_folder_matches_reference(ref, grid_folder, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["evaluate", str(grid_folder), "--annotation", str(tmp_path / "annotation.csv"),
               "--pairs", str(tmp_path / "pairs.csv"), "--metrics", "ssim_paper,mask_ssim_paper,l1,mask_l1",
               "--out", str(out), "--quiet"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "| SSIM ↑" in printed and "mask-SSIM ↑" in printed and "4 evaluated" in printed
    report = _report(out)
    rows = {r["name"]: r for r in report["per_image"]}
    names = [pair_filename(f"s{i}.jpg", f"t{i}.jpg", ".png", grid=True) for i in range(4)]
    for key, fixture in (("ssim_paper", "market_ssim_per_image"), ("l1", "market_l1_per_image"),
                         ("mask_ssim_paper", "market_mask_ssim_per_image"),
                         ("mask_l1", "market_mask_l1_per_image")):
        values = [rows[n][key] for n in names]
        assert np.max(np.abs(np.asarray(values) - ref[fixture])) < TOL, key
    assert report["summary"]["ssim_paper"]["mean"] == pytest.approx(ref["market_ssim_mean_std"][0], abs=TOL)
    assert report["summary"]["ssim_paper"]["std"] == pytest.approx(ref["market_ssim_mean_std"][1], abs=TOL)
    # Problems are listed, never fatal.
    problems = report["problems"]
    assert any("s8.jpg___t8.jpg_vis.jpg" in p for p in problems["unreadable"])
    assert any("s9.jpg___t9.jpg" in p for p in problems["missing"])
    assert any("notes.txt" in p for p in problems["extra"]) and any("thumbnail.png" in p for p in problems["extra"])
    assert any("s7.jpg___t7.jpg" in p and "not in the pair list" in p for p in problems["extra"])
    assert report["counts"] == {"evaluated": 4, "unreadable": 1, "missing": 1, "extra": 3}
    with (out / "metrics.csv").open() as f:
        table = list(csv.DictReader(f))
    assert len(table) == 4 and float(table[0]["ssim_paper"]) == pytest.approx(rows[table[0]["name"]]["ssim_paper"])


def test_13tap_option_and_inception_metrics(ref, grid_folder, tmp_path, random_weights_dir):
    out = tmp_path / "out"
    rc = main(["evaluate", str(grid_folder), "--annotation", str(tmp_path / "annotation.csv"),
               "--metrics", "ssim_paper,is_paper,mask_is_paper", "--ssim-window", "13tap", "--is-splits", "2",
               "--weights-dir", str(random_weights_dir), "--out", str(out), "--quiet"])
    assert rc == 0
    report = _report(out)
    values = sorted((r["name"], r["ssim_paper"]) for r in report["per_image"] if r["name"].startswith("s")
                    and not r["name"].startswith("s7"))
    assert np.max(np.abs(np.array([v for _, v in values]) - ref["market_ssim_per_image_skimage014_13tap"])) < TOL
    s = report["summary"]["is_paper"]
    assert s["splits"] == 2 and s["n"] == 5 and s["mean"] >= 1.0
    s = report["summary"]["mask_is_paper"]  # s7___t7 has no keypoints: no mask
    assert s["splits"] == 2 and s["n"] == 4 and s["mean"] >= 1.0
    assert "13tap" in report["settings"]["ssim_paper"]


def test_missing_inception_weights_is_one_line(grid_folder, tmp_path, capsys):
    rc = main(["evaluate", str(grid_folder), "--metrics", "is_paper", "--weights-dir", str(tmp_path),
               "--out", str(tmp_path / "out"), "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert "weights-inception-2015-12-05-6726825d.pth" in err and len(err.splitlines()) == 1


def test_empty_folder_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["evaluate", str(tmp_path / "empty"), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no result images" in err and len(err.splitlines()) == 1


def test_targets_generated_with_pred_annotation_pckh(ref, tmp_path):
    targets, generated = tmp_path / "targets", tmp_path / "generated"
    targets.mkdir()
    generated.mkdir()
    tgt_kp, pred_kp = {}, {}
    for i in range(3):
        Image.fromarray(ref["market_ref"][i]).save(targets / f"t{i}.jpg.png")
        Image.fromarray(ref["market_gen"][i]).save(generated / f"t{i}.jpg.png")
        tgt_kp[f"t{i}.jpg.png"] = ref["pckh_targets_yx"][i]
        pred_kp[f"t{i}.jpg.png"] = ref["pckh_preds_yx"][i]
    Image.fromarray(ref["market_ref"][3]).save(targets / "lonely.png")  # a target without a generated image
    write_annotations(tmp_path / "tgt.csv", tgt_kp)
    write_annotations(tmp_path / "pckh.csv", pred_kp)
    out = tmp_path / "out"
    rc = main(["evaluate", "--targets", str(targets), "--generated", str(generated), "--annotation",
               str(tmp_path / "tgt.csv"), "--pred-annotation", str(tmp_path / "pckh.csv"),
               "--metrics", "ssim_paper,pckh_paper", "--out", str(out), "--quiet"])
    assert rc == 0
    report = _report(out)
    pckh = report["summary"]["pckh_paper"]
    assert [pckh["correct"], pckh["valid"]] == ref["pckh_total"][:2]
    assert pckh["value"] == pytest.approx(ref["pckh_total"][2], abs=TOL)
    assert pckh["estimator"] == "pred-annotation CSV"
    assert any("lonely.png" in p for p in report["problems"]["missing"])
    values = sorted((r["name"], r["ssim_paper"]) for r in report["per_image"])
    assert np.max(np.abs(np.array([v for _, v in values]) - ref["market_ssim_per_image"][:3])) < TOL


def test_clean_protocol_with_local_weights(ref, tmp_path, random_weights_dir):
    targets, generated, train = tmp_path / "targets", tmp_path / "generated", tmp_path / "train"
    for d in (targets, generated, train):
        d.mkdir()
    for i in range(2):
        Image.fromarray(ref["market_ref"][i]).save(targets / f"t{i}.png")
        Image.fromarray(ref["market_gen"][i]).save(generated / f"s{i}.png___t{i}.png")
        Image.fromarray(ref["market_ref"][i + 2]).save(train / f"r{i}.png")
    out, cache = tmp_path / "out", tmp_path / "cache"
    rc = main(["evaluate", "--protocol", "clean", "--targets", str(targets), "--generated", str(generated),
               "--fid-reference", str(train), "--cache-dir", str(cache), "--weights-dir", str(random_weights_dir),
               "--out", str(out), "--quiet"])
    assert rc == 0
    report = _report(out)
    s = report["summary"]
    assert set(report["metrics"]) == {"ssim_clean", "l1", "psnr", "lpips_alex", "lpips_vgg", "fid"}
    for name in ("ssim_clean", "l1", "psnr", "lpips_alex", "lpips_vgg"):
        assert s[name]["n"] == 2
    assert s["fid"]["n_reference"] == 2 and s["fid"]["value"] > 0
    assert list(cache.glob("fid-stats-*.npz"))
    assert s["l1"]["mean"] == pytest.approx(np.mean(ref["market_l1_per_image"][:2]), abs=TOL)


def test_keypoint_metrics_without_annotation_are_skipped_with_a_note(ref, tmp_path):
    targets, generated = tmp_path / "t", tmp_path / "g"
    targets.mkdir()
    generated.mkdir()
    Image.fromarray(ref["market_ref"][0]).save(targets / "a.png")
    Image.fromarray(ref["market_gen"][0]).save(generated / "a.png")
    out = tmp_path / "out"
    assert main(["evaluate", "--targets", str(targets), "--generated", str(generated), "--metrics",
                 "ssim_paper,mask_ssim_paper,pckh_paper", "--out", str(out), "--quiet"]) == 0
    report = _report(out)
    assert report["metrics"] == ["ssim_paper"]
    assert any("--annotation" in n for n in report["notes"])


@pytest.fixture(scope="module")
def synth_checkpoint(tmp_path_factory):
    from posestylizer.checkpoints.contract import InputContract
    from posestylizer.checkpoints.native import save_generator
    from posestylizer.config import load_config
    from posestylizer.models import Generator

    root = tmp_path_factory.mktemp("synth")
    assert main(["data", "synth", str(root / "data"), "--identities", "4", "--poses", "3", "--seed", "2"]) == 0
    cfg = load_config("synthetic", overrides=["model.ngf=8"])
    torch.manual_seed(0)
    save_generator(Generator(cfg.model).eval(), cfg.model, root / "ckpt", InputContract.of_experiment(cfg))
    return root


def test_checkpoint_mode_generates_then_evaluates(synth_checkpoint, tmp_path):
    from posestylizer.data.formats import read_pairs

    root = synth_checkpoint
    pairs = read_pairs(root / "data" / "market-pairs-test.csv")
    out = tmp_path / "paper"
    rc = main(["evaluate", "--checkpoint", str(root / "ckpt"), "--data", str(root / "data"), "--metrics",
               "ssim_paper,mask_ssim_paper,pckh_paper", "--out", str(out), "--device", "cpu", "--quiet"])
    assert rc == 0
    grids = sorted((out / "grids").glob("*_vis.jpg"))
    assert len(grids) == len(pairs) and Image.open(grids[0]).size == (5 * 64, 128)
    report = _report(out)
    assert report["counts"]["evaluated"] == len(pairs) and report["counts"]["missing"] == 0
    assert report["summary"]["pckh_paper"]["estimator"] == "mediapipe"
    assert report["summary"]["mask_ssim_paper"]["n"] == len(pairs)
    out = tmp_path / "clean"
    rc = main(["evaluate", "--checkpoint", str(root / "ckpt"), "--data", str(root / "data"), "--protocol", "clean",
               "--metrics", "ssim_clean,psnr", "--out", str(out), "--quiet"])
    assert rc == 0
    assert len(list((out / "generated").glob("*.png"))) == len(pairs)
    assert _report(out)["summary"]["psnr"]["n"] == len(pairs)


def test_checkpoint_mode_with_synthetic_ground_truth(synth_checkpoint, tmp_path):
    root = synth_checkpoint
    out = tmp_path / "gt"
    rc = main(["evaluate", "--checkpoint", str(root / "ckpt"), "--data", str(root / "data"), "--protocol", "clean",
               "--metrics", "l1,mask_ssim_gt,mask_l1_gt,fg_iou_gt", "--ground-truth", str(root / "data"),
               "--out", str(out), "--quiet"])
    assert rc == 0
    report = _report(out)
    n = report["counts"]["evaluated"]
    assert report["metrics"] == ["l1", "mask_ssim_gt", "mask_l1_gt", "fg_iou_gt"] and report["notes"] == []
    for name in ("mask_ssim_gt", "mask_l1_gt", "fg_iou_gt"):
        assert report["summary"][name]["n"] == n and name in report["settings"]
    assert 0 <= report["summary"]["fg_iou_gt"]["mean"] <= 1
    with (out / "metrics.csv").open() as f:
        header = next(csv.reader(f))
    assert header == ["name", "from", "to", "l1", "mask_ssim_gt", "mask_l1_gt", "fg_iou_gt"]
