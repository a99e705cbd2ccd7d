"""One collector from a generator and pairs to scored images: its images equal the result files and the earlier
in-memory path, every scoring path goes through it, reports say lossless or JPEG grid, the checkpoint's layout wins."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

import posestylizer.inference.collect as collect_module
from posestylizer.checkpoints.contract import InputContract
from posestylizer.checkpoints.native import load_generator, save_generator
from posestylizer.cli import main
from posestylizer.config import load_config
from posestylizer.data.dataset import PairDataset
from posestylizer.inference.batch import generate_results
from posestylizer.inference.collect import collect
from posestylizer.metrics.collect import LOSSLESS, PAPER_GRID, collect_folders, collect_grids
from posestylizer.models import Generator, init_generator_weights
from posestylizer.results.protocol import paper_grid_bytes, to_uint8


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A synthetic market dataset and a small initialised generator whose contract says sigma 4."""
    root = tmp_path_factory.mktemp("collect")
    assert main(["data", "synth", str(root / "data"), "--identities", "6", "--poses", "3", "--seed", "2"]) == 0
    cfg = load_config("synthetic", overrides=["model.ngf=8", "model.n_blocks=2"])
    torch.manual_seed(0)
    g = init_generator_weights(Generator(cfg.model)).eval()
    save_generator(g, cfg.model, root / "ckpt", InputContract((128, 64), 4.0))
    return root


def _dataset(root):
    return PairDataset(root / "data", "test", heatmap_sigma=4.0, masks=False)


def _same(a, b):
    """Two collections hold the same pairs, names and pixels, in the same order."""
    assert [(i.name, i.src_name, i.tgt_name) for i in a.items] == [(i.name, i.src_name, i.tgt_name) for i in b.items]
    for x, y in zip(a.items, b.items):
        assert np.array_equal(x.target, y.target) and np.array_equal(x.generated, y.generated)


def test_collected_images_equal_the_result_files(root, tmp_path):
    res = generate_results(root / "ckpt", root / "data", tmp_path, batch_size=4)
    collected = collect(load_generator(root / "ckpt"), _dataset(root), batch_size=4)
    # Every grid file holds the very bytes the in-memory paper protocol decodes.
    for pair in collected.pairs:
        assert (res.grids / pair.grid_name).read_bytes() == paper_grid_bytes(pair.grid())
    grids = collected.paper_grids(file_order=True)
    _same(grids, collect_grids(res.grids))
    assert grids.images == PAPER_GRID and collect_grids(res.grids).images == PAPER_GRID
    lossless = collected.lossless(targets=_dataset(root).image, file_order=True)
    _same(lossless, collect_folders(res.targets, res.generated))
    assert lossless.images == LOSSLESS and collect_folders(res.targets, res.generated).images == LOSSLESS


def test_collected_images_equal_the_earlier_in_memory_path(root):
    """What the demo and the ablation computed before the collector: G on collated batches of 16, truncated."""
    dataset, g = _dataset(root), load_generator(root / "ckpt")
    indices = [0, 2, 3, 5]
    got = collect(g, dataset, indices, batch_size=16)
    batch = default_collate([dataset[i] for i in indices])
    with torch.no_grad():
        fake = g(batch["src_img"], batch["src_pose"], batch["tgt_pose"])
    for j, item in enumerate(got.lossless().items):
        assert item.name == f"{batch['src_name'][j]}___{batch['tgt_name'][j]}.png"
        assert np.array_equal(item.generated, to_uint8(fake[j]))
        assert np.array_equal(item.target, to_uint8(batch["tgt_img"][j]))
    copies = got.lossless(answer="source").items
    assert all(np.array_equal(c.generated, to_uint8(batch["src_img"][j])) for j, c in enumerate(copies))


@pytest.fixture
def calls(monkeypatch):
    """Every call of the collector's one generation loop, by description."""
    seen: list[str] = []
    real = collect_module.collect_batches

    def spy(generate, batches, description, *args, **kwargs):
        seen.append(description)
        return real(generate, batches, description, *args, **kwargs)

    import posestylizer.experiments.curves as curves_module  # imports the loop by name

    monkeypatch.setattr(collect_module, "collect_batches", spy)
    monkeypatch.setattr(curves_module, "collect_batches", spy)
    return seen


def test_demo_ablation_curve_and_evaluate_go_through_the_collector(root, tmp_path, calls):
    from posestylizer.demo.run import generate_pairs
    from posestylizer.experiments.ablate import AblateOptions, StudyData, evaluate_run
    from posestylizer.experiments.curves import evaluate_generator
    from posestylizer.runtime.progress import QUIET

    dataset, g = _dataset(root), load_generator(root / "ckpt")
    demo = generate_pairs(dataset, [0, 1], {"trained": g}, QUIET)
    assert list(demo) == ["copy", "trained"] and len(calls) == 1
    assert all(c.images == LOSSLESS for c in demo.values())

    run = tmp_path / "run"
    save_generator(g, g.config, run / "generator", g.contract)
    data = StudyData(None, dataset, [0, 1, 2], [0, 1], None)
    values = evaluate_run(run, data, ["ssim_paper", "l1"], AblateOptions())
    assert len(calls) == 2 and set(values) == {"ssim_paper", "l1"}
    report = json.loads((run / "eval" / "metrics.json").read_text())
    assert report["images"] == LOSSLESS and report["settings"]["images"].startswith("lossless")

    evaluate_generator(lambda b: g(b["src_img"], b["src_pose"], b["tgt_pose"]), [default_collate([dataset[0]])])
    assert len(calls) == 3

    assert main(["evaluate", "--checkpoint", str(root / "ckpt"), "--data", str(root / "data"), "--metrics",
                 "ssim_paper,l1", "--out", str(tmp_path / "ev"), "--quiet"]) == 0  # fmt: skip
    assert len(calls) == 4
    report = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert report["images"] == PAPER_GRID and "JPEG grids (quality 75)" in report["settings"]["images"]
    # The same numbers as scoring the grid files it wrote, in the same (file-name) order.
    assert main(["evaluate", str(tmp_path / "ev" / "grids"), "--metrics", "ssim_paper,l1", "--out",
                 str(tmp_path / "files"), "--quiet"]) == 0  # fmt: skip
    files = json.loads((tmp_path / "files" / "metrics.json").read_text())
    assert files["summary"] == report["summary"] and files["per_image"] == report["per_image"]


@pytest.mark.slow
def test_evaluate_takes_the_checkpoints_layout_unless_told(tmp_path, capsys):
    """A DeepFashion-layout checkpoint on DeepFashion-layout data: no --layout needed, and the fashion preset's white
    bands follow; an explicit --layout market is obeyed (and finds no market files there)."""
    from posestylizer.data.synth import write_dataset

    write_dataset(tmp_path / "data", "fashion", identities=3, poses=2, seed=1)
    cfg = load_config("fashion", overrides=["model.ngf=4", "model.n_blocks=2"])
    torch.manual_seed(0)
    save_generator(Generator(cfg.model).eval(), cfg.model, tmp_path / "ckpt", InputContract.of_experiment(cfg))
    args = ["evaluate", "--checkpoint", str(tmp_path / "ckpt"), "--data", str(tmp_path / "data"), "--metrics",
            "ssim_paper", "--quiet"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "ev")]) == 0
    report = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert report["counts"]["evaluated"] > 0 and report["settings"]["white_bands"] == 40
    assert main([*args, "--out", str(tmp_path / "market"), "--layout", "market"]) == 2
    assert "market" in capsys.readouterr().err
