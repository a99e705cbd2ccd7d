"""`posestylizer ablate`: the step-count policy, Table 2 from the runs on disk, Fig. 7, resuming and bad input."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from PIL import Image

from posestylizer.cli import main
from posestylizer.errors import ConfigError
from posestylizer.experiments.table import TABLE_METRICS
from posestylizer.training.schedule import TrainingPolicy, budget_factor

TINY = ["model.ngf=4", "model.ndf=4", "model.n_blocks=2", "train.batch_size=4", "train.deterministic=true"]


def _args(data, out, *extra: str) -> list[str]:
    overrides = [a for o in TINY for a in ("-o", o)]
    return ["ablate", "--data", str(data), "--out", str(out), "--quiet", "--eval-pairs", "48", *overrides, *extra]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """A synthetic dataset at the demo recipe's 64x32 (rendered at market size, then resized), with ground truth."""
    from posestylizer.data.resize import resize_dataset
    from posestylizer.data.synth import write_dataset

    folder = tmp_path_factory.mktemp("ablate-data")
    write_dataset(folder / "full", "market", identities=8, poses=3, seed=0)
    return resize_dataset(folder / "full", folder / "data", (64, 32), layout="market")


def test_step_policy_stretches_the_lr_shape_over_the_iterations():
    policy = TrainingPolicy(1, 1, steps=10)  # constant for the first half of the iterations, then linear to 0
    factors = [policy.lr_factor(epoch=7, step=i) for i in range(10)]  # epochs play no part
    assert factors == [budget_factor(i / 10, 1, 1) for i in range(10)]
    assert factors[:6] == [1.0] * 6 and factors[9] == pytest.approx(0.2)
    assert not policy.finished(0, 9) and policy.finished(0, 10)
    with pytest.raises(ValueError, match="not both"):
        TrainingPolicy(1, 1, time_budget=5.0, steps=10)


def test_step_count_and_budget_together_is_a_config_error():
    from posestylizer.config import load_config
    from posestylizer.training.distributed import DistInfo
    from posestylizer.training.loop import check_train_config

    cfg = load_config("demo", overrides=["train.steps=5", "train.time_budget=10"])
    with pytest.raises(ConfigError, match="not both"):
        check_train_config(cfg, DistInfo())


def _result(variant, seed, l1, ssim, steps=4):
    return {"variant": variant, "paper_row": "", "seed": seed, "metrics": {"l1": l1, "ssim_paper": ssim},
            "steps": steps, "pairs": 6, "params": 123, "train_s": 60.0, "eval_s": 1.0, "cpu_s": 100.0}  # fmt: skip


def test_table_rows_follow_table_2_and_give_mean_and_half_range(tmp_path):
    from posestylizer.experiments.table import write_table

    for variant, seed, l1, ssim in (("full", 0, 0.30, 0.5), ("full", 1, 0.20, 0.7), ("full", 2, 0.25, 0.9),
                                    ("adain", 3, 0.40, 0.1)):  # fmt: skip
        (tmp_path / variant / f"seed{seed}").mkdir(parents=True)
        (tmp_path / variant / f"seed{seed}" / "result.json").write_text(json.dumps(_result(variant, seed, l1, ssim)))
    (tmp_path / "not_a_variant" / "seed0").mkdir(parents=True)  # reported under the table, not averaged
    (tmp_path / "not_a_variant" / "seed0" / "result.json").write_text(json.dumps(_result("x", 0, 1, 1)))
    md, csv = write_table(tmp_path)
    lines = md.read_text().splitlines()
    assert "half the range" in lines[0] and "lossless" in lines[0]  # the caption says how the images were scored
    assert lines[-1] == (f"Not in the table: {tmp_path / 'not_a_variant'} (seed0): no ablation variant "
                         "'not_a_variant' (renamed or removed?)")
    assert lines[2].split(" | ")[4:6] == ["SSIM ↑", "L1 ↓"]
    rows = [line for line in lines if line.startswith("| ")][1:]
    assert [r.split(" | ")[1] for r in rows] == ["`adain`", "`full`"]  # Table 2 order: AdaIN above the full model
    assert rows[0].split(" | ")[3:6] == ["1", "0.100", "0.400"]  # one seed: no spread
    assert rows[1].split(" | ")[3:6] == ["3", "0.700 ± 0.200", "0.250 ± 0.050"]
    full = csv.read_text().splitlines()[2].split(",")
    assert full[:4] == ["full", "Full model", "123", "0 1 2"]
    assert [float(x) for x in full[4:8]] == pytest.approx([0.7, 0.2, 0.25, 0.05])


def _write_results(out, variant, *results):
    for r in results:
        (out / variant / f"seed{r['seed']}").mkdir(parents=True, exist_ok=True)
        (out / variant / f"seed{r['seed']}" / "result.json").write_text(json.dumps(r))


def test_table_refuses_to_average_seeds_of_different_recipes(tmp_path):
    from posestylizer.experiments.table import collect_study, write_table

    steps = [{"train.steps": 4, "model.ngf": 4}, {"train.steps": 8, "model.ngf": 4}]
    a, b = (_result("full", seed, 0.3, 0.5) | {"recipe": f"r{seed}", "recipe_items": items}
            for seed, items in enumerate(steps))  # fmt: skip
    _write_results(tmp_path, "full", a, b)
    with pytest.raises(ConfigError) as err:
        write_table(tmp_path)
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "full" / "seed0") in message and "full/seed1" in message
    assert "train.steps: 4 vs 8" in message
    assert not (tmp_path / "table.md").exists()
    # The same recipe averages; a run from before recipes were recorded does not pass for either.
    _write_results(tmp_path, "full", b | {"seed": 0})
    assert [len(r.results) for r in collect_study(tmp_path).rows] == [2]
    legacy = _result("full", 2, 0.3, 0.5)
    _write_results(tmp_path, "full", legacy)
    with pytest.raises(ConfigError, match="not recorded"):
        collect_study(tmp_path)


def test_unknown_variant_runs_are_reported(tmp_path, capsys):
    from posestylizer.experiments.ablate import write_study_report

    _write_results(tmp_path, "full", _result("full", 0, 0.3, 0.5))
    _write_results(tmp_path, "renamed_variant", _result("renamed_variant", 0, 0.3, 0.5),
                   _result("renamed_variant", 1, 0.3, 0.5))  # fmt: skip
    write_study_report(tmp_path)
    err = capsys.readouterr().err
    assert "not in the table:" in err and "renamed_variant (seed0, seed1)" in err
    assert "renamed_variant" in (tmp_path / "table.md").read_text()


def test_recipe_items_leave_out_the_seed_and_the_folder_and_follow_the_data(tmp_path, data_root):
    from posestylizer.data.layouts import get_layout
    from posestylizer.experiments.recipe import data_identity, recipe_hash, run_recipe

    layout = get_layout("market")
    shutil.copytree(data_root, tmp_path / "copy")
    same = data_identity(data_root, layout)
    assert data_identity(tmp_path / "copy", layout) == same  # a copied dataset is the same data
    with open(tmp_path / "copy" / "market-pairs-test.csv", "a") as fh:
        fh.write("x.jpg,y.jpg\n")
    assert data_identity(tmp_path / "copy", layout) != same

    from posestylizer.config import load_config

    def items(seed, root, **change):
        cfg = load_config("demo", overrides=[f"train.seed={seed}", f"data.root={root}"])
        kwargs = {"eval_pairs": 120, "curve_pairs": 48, "curve_every": 60, "images": "lossless", "data": same,
                  **change}  # fmt: skip
        return run_recipe(cfg.to_dict(), **kwargs)

    base = recipe_hash(items(0, "a"))
    assert recipe_hash(items(1, "b")) == base
    assert recipe_hash(items(0, "a", eval_pairs=60)) != base and recipe_hash(items(0, "a", data="other")) != base
    assert "train.seed" not in items(0, "a") and items(0, "a")["train.steps"] == 0


def _table_cells(out):
    lines = (out / "table.md").read_text().splitlines()
    header = [c.strip() for c in lines[2].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[4:]]
    return header, rows


@pytest.mark.slow
def test_study_of_two_variants_and_two_seeds_then_nothing_is_retrained(tmp_path, data_root, monkeypatch, capsys):
    out = tmp_path / "study"
    assert main(_args(data_root, out, "--variants", "full", "adain", "--seeds", "0,1", "--steps", "3",
                      "--eval-every", "1")) == 0  # fmt: skip
    header, rows = _table_cells(out)
    assert header[:4] == ["Model", "variant", "G params", "seeds"]
    assert header[4:9] == ["SSIM ↑", "L1 ↓", "mask-SSIM ↑", "mask-L1 ↓", "foreground IoU ↑"]  # no IS: no weights
    assert [r[1] for r in rows] == ["`adain`", "`full`"]
    for row, variant in zip(rows, ("adain", "full")):
        results = [json.loads((out / variant / f"seed{s}" / "result.json").read_text()) for s in (0, 1)]
        assert all(r["steps"] == 3 and r["params"] > 0 and r["cpu_s"] > 0 for r in results)
        for cell, metric in zip(row[4:9], [m for m in TABLE_METRICS if "is_" not in m]):
            a, b = (r["metrics"][metric] for r in results)
            assert cell == f"{(a + b) / 2:.3f} ± {abs(a - b) / 2:.3f}", metric
        curve = [json.loads(x) for x in (out / variant / "seed0" / "curve.jsonl").read_text().splitlines()]
        assert [c["step"] for c in curve] == [0, 1, 2, 3]
        assert curve[-1]["l1"] == pytest.approx(results[0]["metrics"]["l1"])  # both: every test pair
    with Image.open(out / "fig7.png") as fig:
        assert fig.format == "PNG" and fig.size[0] > 600
    # Again, with one more seed of the full model: the four finished runs are not touched, the table grows.
    import posestylizer.experiments.ablate as run_module  # train() as the study imports it

    calls = []
    real_train = run_module.train
    monkeypatch.setattr(run_module, "train", lambda *a, **k: calls.append(k) or real_train(*a, **k))
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/seed*/checkpoints/*.pt")}
    assert main(_args(data_root, out, "--variants", "full", "adain", "--seeds", "0,1", "--steps", "3",
                      "--eval-every", "1")) == 0  # fmt: skip
    assert calls == [] and stamps == {p: p.stat().st_mtime_ns for p in out.glob("*/seed*/checkpoints/*.pt")}
    assert main(_args(data_root, out, "--variants", "full", "--seeds", "2", "--steps", "3", "--eval-every", "1")) == 0
    assert len(calls) == 1
    assert [r[3] for r in _table_cells(out)[1]] == ["2", "3"]
    recipes = {json.loads(f.read_text())["recipe"] for f in (out / "full").glob("seed*/result.json")}
    assert len(recipes) == 1
    # A seed added with another evaluation would mix recipes in the full model's row: refused before training.
    capsys.readouterr()
    assert main(_args(data_root, out, "--variants", "full", "--seeds", "3", "--steps", "3", "--eval-every", "1",
                      "--eval-pairs", "4")) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "have different recipes" in err[0] and "eval.pairs" in err[0], err
    assert len(calls) == 1 and not (out / "full" / "seed3").exists()


@pytest.mark.slow
def test_interrupted_run_resumes_exactly(tmp_path, data_root):
    from posestylizer.experiments.ablate import AblateOptions, load_study_data, run_config, run_folder
    from posestylizer.experiments.curves import HeldOutCurve
    from posestylizer.experiments.variants import load_variant
    from posestylizer.training.run import train

    study = ["--variants", "adain", "--seeds", "0", "--steps", "4", "--eval-every", "1"]
    assert main(_args(data_root, tmp_path / "whole", *study)) == 0
    # A run stopped after 2 of its 4 iterations, which left a curve point after its checkpoint (killed later).
    opts = AblateOptions(data=str(data_root), out=str(tmp_path / "parts"), seeds=[0], steps=4, overrides=TINY,
                         eval_pairs=48)  # fmt: skip
    cfg, run_dir = run_config(opts, load_variant("adain"), 0), run_folder(opts.out, "adain", 0)
    data = load_study_data(cfg, opts)
    curve = HeldOutCurve(run_dir, data.test, data.curve_indices, every=1)
    assert train(cfg, data.train, run_dir, max_steps=2, extra_hooks=[curve]).steps == 2
    with open(run_dir / "curve.jsonl", "a") as fh:
        fh.write(json.dumps({"step": 3, "l1": 9.0, "ssim_paper": 9.0}) + "\n")
    assert main(_args(data_root, tmp_path / "parts", *study)) == 0
    whole, parts = (tmp_path / name / "adain" / "seed0" for name in ("whole", "parts"))
    assert (parts / "curve.jsonl").read_text() == (whole / "curve.jsonl").read_text()
    from safetensors.torch import load_file

    a, b = (load_file(p / "generator" / "model.safetensors") for p in (whole, parts))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    metrics = [json.loads((p / "result.json").read_text())["metrics"] for p in (whole, parts)]
    assert metrics[0] == metrics[1]


def test_bad_input_is_one_line(tmp_path, data_root, capsys):
    assert main(_args(data_root, tmp_path, "--variants", "nope", "--steps", "2")) == 2
    assert "unknown ablation variant 'nope'" in capsys.readouterr().err
    assert main(_args(data_root, tmp_path, "--variants", "full")) == 2
    assert "--budget MIN" in capsys.readouterr().err
    assert main(_args(data_root, tmp_path, "--steps", "2", "--seeds", "0,x")) == 2
    assert "--seeds 0,x" in capsys.readouterr().err
    no_test = tmp_path / "no_test"
    shutil.copytree(data_root, no_test)
    (no_test / "market-pairs-test.csv").unlink()
    assert main(_args(no_test, tmp_path / "o", "--variants", "full", "--steps", "2")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs a test split" in err[0]
    assert main(["ablate", "--report-only", "--out", str(tmp_path / "empty")]) == 2
    assert "no finished run" in capsys.readouterr().err
    # argparse: --budget and --steps exclude each other
    assert main(_args(data_root, tmp_path, "--steps", "2", "--budget", "1")) == 2
    assert "not allowed with" in capsys.readouterr().err
