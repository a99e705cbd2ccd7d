"""`posestylizer train` end to end on a tiny synthetic dataset: run folder, exported generator, resume, errors."""

from __future__ import annotations

import json

import pytest
import torch

from posestylizer.checkpoint import load_generator
from posestylizer.cli import main
from posestylizer.data.synth import write_dataset
from posestylizer.training.run import read_scalars

TINY = ["model.ngf=4", "model.ndf=4", "model.n_blocks=2", "train.batch_size=4", "train.epoch_length=8",
        "train.epochs=1", "train.epochs_decay=1", "train.log_every=1", "data.num_workers=0"]  # fmt: skip


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    write_dataset(root, "market", identities=4, poses=3, seed=0)
    return root


def test_train_cli_writes_a_run_that_evaluate_can_load_and_resume_continues(synth_root, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--preset", "synthetic", "--data", str(synth_root), "--out", str(run), "--quiet"]
    assert main(args + TINY + ["loss.perceptual=false"]) == 0
    assert "run folder" in capsys.readouterr().out
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
