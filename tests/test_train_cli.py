"""`posestylizer train` end to end on a tiny synthetic dataset: run folder, exported generator, resume, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from posestylizer.checkpoints.native import load_generator
from posestylizer.cli import main
from posestylizer.config import load_config
from posestylizer.data.synth import write_dataset
from posestylizer.training.run import find_checkpoint, read_scalars
from posestylizer.training.state import load_state

TINY = ["model.ngf=4", "model.ndf=4", "model.n_blocks=2", "train.batch_size=4", "train.epoch_length=8",
        "train.epochs=1", "train.epochs_decay=1", "train.log_every=1", "data.num_workers=0"]  # fmt: skip


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    write_dataset(root, "market", identities=4, poses=3, seed=0)
    return root


def test_train_cli_writes_a_run_that_evaluate_can_load_and_resume_continues(
    synth_root, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "yes #1 ü").symlink_to(synth_root)  # a path YAML would read as True or cut at the '#'
    run = tmp_path / "run"
    args = ["train", "--preset", "synthetic", "--data", "yes #1 ü", "--out", str(run), "--quiet"]
    assert main(args + TINY + ["loss.perceptual=false"]) == 0
    assert "run folder" in capsys.readouterr().out
    assert load_config(path=run / "config.yaml").data.root == "yes #1 ü"
    for name in ("config.yaml", "scalars.jsonl", "generator/config.json", "generator/model.safetensors",
                 "samples/epoch_0001.png", "samples/epoch_0002.png", "checkpoints/state-00000004.pt"):  # fmt: skip
        assert (run / name).is_file(), name
    assert list((run / "tb").iterdir())
    rows = read_scalars(run)
    assert [r["step"] for r in rows] == [1, 2, 3, 4] and rows[-1]["lr"] == 0.0
    g = load_generator(run / "generator")
    assert tuple(g.config.image_size) == (128, 64) and g.config.ngf == 4
    info = json.loads((run / "generator" / "config.json").read_text())
    assert info["trained"]["step"] == 4

    # continue the finished run for two more epochs: counters go on from the checkpoint
    assert main(["train", "--resume", str(run), "--quiet", "train.epochs=2", "train.epochs_decay=2"]) == 0
    assert [r["step"] for r in read_scalars(run)] == [1, 2, 3, 4, 5, 6, 7, 8]


def test_train_cli_errors_are_one_line(synth_root, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    run = tmp_path / "run"
    base = ["train", "--preset", "synthetic", "--data", str(synth_root), "--out", str(run), "--quiet"] + TINY
    assert main(base) == 2  # perceptual term on, no VGG19 weights anywhere
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--vgg-weights" in err and not run.exists()
    assert main(base + ["--vgg-weights", str(tmp_path / "missing.pth")]) == 2
    assert "missing.pth" in capsys.readouterr().err
    assert main(["train", "--preset", "synthetic", "--quiet"]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(base + ["train.precision=fp16"]) == 2  # GradScaler fp16 is CUDA-only
    assert "bf16" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "nothing"), "--quiet"]) == 2
    assert "resume" in capsys.readouterr().err


@pytest.mark.parametrize("path", ["yes", "runs/a #1", "1e3", "null", "ü/名前 x", "[a]"])
def test_cli_paths_are_values_not_override_text(path, tmp_path):
    from posestylizer.training.run import resolve_run

    cfg, run_dir, checkpoint = resolve_run(
        preset="synthetic", data=path, overrides=["data.root=elsewhere", "train.lr=1e-3"], vgg_weights=path
    )
    assert (cfg.data.root, cfg.loss.vgg_weights, cfg.train.lr) == (path, path, 1e-3)  # --data wins over data.root=
    assert run_dir == Path("runs") / "synthetic" and checkpoint is None


def _write_authors_run(folder: Path, cfg, reference_dir: Path) -> dict[str, dict[str, torch.Tensor]]:
    """latest_netG/netD_PB/netD_PP.pth under the authors' key names (§3.9, §4; G saved through DataParallel), holding
    random weights of this config's networks; returns the written weights under our names."""
    from posestylizer.checkpoints.convert import reference_discriminator_to_native, reference_to_native
    from posestylizer.models import Generator, build_discriminators, init_generator_weights

    torch.manual_seed(5)  # not the run's seed: loaded weights differ from a fresh start
    g = init_generator_weights(Generator(cfg.model))
    d_pb, d_pp = build_discriminators(cfg.model, cfg.loss.gan_mode)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for key, net, name, table, to_native, prefix in (
        ("G", g, "netG", "netG_market_ngf16", reference_to_native, "module."),
        ("D_PB", d_pb, "netD_PB", "netD_PB_market", reference_discriminator_to_native, ""),
        ("D_PP", d_pp, "netD_PP", "netD_PP_market", reference_discriminator_to_native, ""),
    ):
        ref_keys = [k for k, _, _ in json.loads((reference_dir / "tables" / f"{table}.json").read_text())["keys"]]
        ours = list(to_native(dict.fromkeys(ref_keys, torch.empty(0))))  # same order, our names
        state = net.state_dict()
        torch.save({prefix + r: state[n] for r, n in zip(ref_keys, ours)}, folder / f"latest_{name}.pth")
        written[key] = state
    return written


def test_init_from_starts_g_and_both_ds_from_the_authors_files(synth_root, tmp_path, reference_dir, capsys):
    shape = ["model.n_blocks=4", "loss.perceptual=false"]  # the authors' key layout (4 blocks, BatchNorm)
    written = _write_authors_run(tmp_path / "authors", load_config("synthetic", overrides=TINY + shape), reference_dir)
    run = tmp_path / "run"
    args = ["train", "--preset", "synthetic", "--data", str(synth_root), "--out", str(run), "--quiet", "--max-steps",
            "1", "--init-from", str(tmp_path / "authors")] + TINY + shape  # fmt: skip
    assert main(args + ["train.lr=0"]) == 0  # lr 0: the parameters after one iteration are the loaded ones
    assert "G <- " in capsys.readouterr().err
    nets = load_state(find_checkpoint(run))["nets"]
    for key, state in written.items():
        params = [k for k, v in state.items() if v.is_floating_point() and "running" not in k]
        assert len(params) > 10 and all(torch.equal(nets[key][k], state[k]) for k in params), key

    # A generator file with another architecture is one line, before any run folder exists.
    other = tmp_path / "other"
    assert main(args[:-len(TINY + shape)] + ["--out", str(other)] + TINY + ["loss.perceptual=false"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "latest_netG.pth: does not match this run's G" in err and not other.exists()
    assert main(["train", "--resume", str(run), "--init-from", str(tmp_path / "authors"), "--quiet"]) == 2
    assert "--init-from" in capsys.readouterr().err


def test_authors_files_are_found_by_folder_or_name(tmp_path):
    from posestylizer.checkpoints.convert import find_reference_files
    from posestylizer.errors import CheckpointError

    for name in ("latest_netG.pth", "latest_netD_PP.pth", "800_netD_PB.pth"):
        torch.save({}, tmp_path / name)
    assert find_reference_files([tmp_path]) == {"G": tmp_path / "latest_netG.pth", "D_PP": tmp_path / "latest_netD_PP.pth"}
    assert find_reference_files([tmp_path / "800_netD_PB.pth", tmp_path / "latest_netG.pth"]) == {
        "D_PB": tmp_path / "800_netD_PB.pth", "G": tmp_path / "latest_netG.pth"}  # fmt: skip
    with pytest.raises(CheckpointError, match="name says no network"):
        find_reference_files([tmp_path / "weights.pth"])
    with pytest.raises(CheckpointError, match="already given"):
        find_reference_files([tmp_path, tmp_path / "latest_netG.pth"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no latest_netG.pth"):
        find_reference_files([tmp_path / "empty"])
