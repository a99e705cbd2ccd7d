"""Loading never runs code: a malicious pickle, one that creates a file when unpickled, is refused in one line at every
place a path is accepted, and the file it would create never appears.

The payload is ``builtins.open(MARKER, "w")`` in ``__reduce__``: unpickling it with ``torch.load(weights_only=False)``
or ``pickle.load`` creates MARKER (checked below, so the payload is known to work). Every reader must use
``weights_only=True`` (or safetensors, or ``np.load(allow_pickle=False)``).
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from posestylizer.cli import main
from posestylizer.errors import UserError

TINY = ["model.ngf=4", "model.ndf=4", "model.n_blocks=2", "train.batch_size=4", "train.epoch_length=4",
        "train.epochs=1", "train.epochs_decay=0", "data.num_workers=0"]  # fmt: skip


class Payload:
    """Unpickling this calls ``open(marker, "w")``: it creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def evil_state_dict(path: Path, marker: Path, *, legacy: bool = False) -> Path:
    """A ``torch.save`` file shaped like a state dict (or a training state) with the payload inside."""
    obj = {"state_dict": {"weight": torch.zeros(2), "bias": Payload(marker)}, "format": "posestylizer-train-state"}
    path.parent.mkdir(parents=True, exist_ok=True)
    if legacy:  # a plain pickle stream, as old torch.save (_use_new_zipfile_serialization=False) wrote
        path.write_bytes(pickle.dumps(obj, protocol=2))
    else:
        torch.save(obj, path)
    return path


def test_the_payload_does_create_the_file_when_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    path = evil_state_dict(tmp_path / "x.pth", marker)
    torch.load(path, weights_only=False)  # what an unsafe reader does
    assert marker.exists()


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from posestylizer.data.synth import write_dataset

    root = tmp_path_factory.mktemp("synth")
    write_dataset(root / "data", "market", identities=4, poses=2, seed=0)
    run = root / "run"
    assert main(["train", "--preset", "synthetic", "--data", str(root / "data"), "--out", str(run), "--quiet",
                 "--max-steps", "1", "loss.perceptual=false", *TINY]) == 0
    assert main(["generate", "--checkpoint", str(run / "generator"), "--data", str(root / "data"), "--out",
                 str(root / "results"), "--quiet"]) == 0
    return root


def _refused(capsys, argv: list[str], marker: Path, *words: str) -> str:
    assert main(argv) == 2, argv
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)
    assert not marker.exists(), argv
    return err


REFUSED = "refused to unpickle"  # names the first global the file asks for (io.open, or a tensor rebuilder)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy-pickle"])
def test_every_command_that_takes_a_weights_file_refuses_pickled_code(synth, tmp_path, capsys, legacy):
    marker = tmp_path / "pwned"
    evil = evil_state_dict(tmp_path / "evil" / "latest_netG.pth", marker, legacy=legacy)
    data = str(synth / "data")
    # convert, generate/serve/export with an authors' checkpoint (load_generator + the pipeline)
    _refused(capsys, ["convert", str(evil), str(tmp_path / "native")], marker, str(evil), REFUSED)
    assert not (tmp_path / "native").exists()
    _refused(capsys, ["generate", "--checkpoint", str(evil), "--preset", "market", "--source", "x.png", "--target",
                      "walking", "--out", str(tmp_path / "o.png")], marker, REFUSED)
    _refused(capsys, ["serve", "--checkpoint", str(evil), "--preset", "market", "--port", "1"], marker, REFUSED)
    _refused(capsys, ["export", "--checkpoint", str(evil), "--preset", "market", "--onnx",
                      str(tmp_path / "g.onnx")], marker, REFUSED)
    # train --vgg-weights, --init-from
    base = ["train", "--preset", "synthetic", "--data", data, "--quiet", "--max-steps", "1"]
    _refused(capsys, base + ["--out", str(tmp_path / "r1"), "--vgg-weights", str(evil), *TINY], marker, REFUSED)
    _refused(capsys, base + ["--out", str(tmp_path / "r2"), "--init-from", str(evil), "loss.perceptual=false", *TINY],
             marker, REFUSED)
    # evaluate --weights-dir (Inception for FID/IS), --openpose-weights (PCKh); pose estimate / data prepare --weights
    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copy(evil, weights / "weights-inception-2015-12-05-6726825d.pth")
    grids = synth / "results" / "grids"
    _refused(capsys, ["evaluate", str(grids), "--metrics", "fid", "--weights-dir", str(weights), "--quiet",
                      "--fid-reference", f"{data}/train", "--out",
                      str(tmp_path / "e1")], marker, REFUSED)
    _refused(capsys, ["evaluate", str(grids), "--metrics", "pckh_paper", "--estimator", "openpose",
                      "--openpose-weights", str(evil), "--quiet",
                      "--annotation", f"{data}/market-annotation-test.csv", "--out", str(tmp_path / "e2")],
             marker, REFUSED)
    _refused(capsys, ["pose", "estimate", f"{data}/test", "--backend", "openpose", "--weights", str(evil), "--out",
                      str(tmp_path / "p.csv"), "--quiet"], marker, REFUSED)
    assert not any(p.name.startswith(("r1", "r2", "e1", "e2", "p.csv", "o.png", "g.onnx")) for p in tmp_path.iterdir())


def test_train_resume_refuses_a_pickled_training_state(synth, tmp_path, capsys):
    marker = tmp_path / "pwned"
    run = tmp_path / "run"
    shutil.copytree(synth / "run", run)
    state = next((run / "checkpoints").glob("state-*.pt"))
    evil_state_dict(state, marker)
    err = _refused(capsys, ["train", "--resume", str(run), "--quiet"], marker, str(state), REFUSED)
    assert "training checkpoint" in err


def test_python_api_refuses_pickled_code(tmp_path):
    from posestylizer.checkpoints.native import load_generator
    from posestylizer.inference import PoseStylizerPipeline

    marker = tmp_path / "pwned"
    evil = evil_state_dict(tmp_path / "latest_netG.pth", marker)
    for load in (lambda: load_generator(evil, preset="market"),
                 lambda: PoseStylizerPipeline.from_pretrained(evil, preset="market")):
        with pytest.raises(UserError, match=f"{REFUSED} io.open"):  # builtins.open pickles as io.open
            load()
    assert not marker.exists()


def test_precomputed_pose_maps_with_pickled_objects_are_refused(synth, tmp_path):
    from posestylizer.data.dataset import PairDataset
    from posestylizer.errors import DataError

    marker = tmp_path / "pwned"
    root = tmp_path / "data"
    shutil.copytree(synth / "data", root)
    ds = PairDataset(root, "test", precomputed_heatmaps=True)
    name = ds.pairs[0][0]
    path = ds.layout.heatmap_path(root, "test", name)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(DataError) as err:
        ds[0]
    assert str(path) in str(err.value) and "pickled" in str(err.value) and "\n" not in str(err.value)
    assert not marker.exists()
