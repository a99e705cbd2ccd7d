"""ONNX export: onnxruntime equals PyTorch (and the authors' network) on both presets' architectures, any batch size,
and the file carries the input contract."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from extras_helpers import need
from reference_helpers import fixture_inputs

from posestylizer.checkpoints.contract import InputContract
from posestylizer.checkpoints.native import load_generator
from posestylizer.cli import main

need("onnxruntime")
need("onnxscript")
TOL = 1e-4


def _run(path, src_img, src_pose, tgt_pose):
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {"src_img": src_img.numpy(), "src_pose": src_pose.numpy(), "tgt_pose": tgt_pose.numpy()}
    return session.run(["fake_img"], feed)[0]


@pytest.mark.slow  # torch.export + ONNX translation: about 15-30 s per model on 2 cores
@pytest.mark.parametrize(
    "name, contract",
    [
        # market: BatchNorm (running statistics randomised by the authors' fixture), 4 blocks, 128x64, ngf 8
        ("aps_market_ngf8_bnstats.pt", InputContract((128, 64), 6.0, layout="market")),
        # fashion: InstanceNorm, 5 blocks, 256x176 (odd-width paddings and crops), ngf 4
        ("aps_fashion_ngf4.pt", InputContract((256, 176), 12.0, layout="fashion")),
    ],
)
def test_onnx_matches_pytorch_and_the_reference(reference_dir, tmp_path, capsys, name, contract):
    from posestylizer.inference.export import read_metadata

    out = tmp_path / "aps.onnx"
    assert main(["export", "--checkpoint", str(reference_dir / name), "--onnx", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "max abs difference" in printed
    assert [p.name for p in tmp_path.iterdir()] == ["aps.onnx"]  # no temporary file left

    fixture = torch.load(reference_dir / name, weights_only=True)
    inputs = fixture_inputs(fixture)  # batch 2, the authors' inputs
    got = _run(out, *inputs)
    diff_reference = np.abs(got - fixture["output"].numpy()).max()
    g = load_generator(reference_dir / name)
    with torch.no_grad():
        diff_torch = np.abs(got - g(*inputs).numpy()).max()
    # another batch size than the traced one (dynamic axis), inputs in the contract's ranges
    torch.manual_seed(1)
    h, w = contract.image_size
    more = (torch.rand(5, 3, h, w) * 2 - 1, torch.rand(5, 18, h, w), torch.rand(5, 18, h, w))
    with torch.no_grad():
        diff_batch5 = np.abs(_run(out, *more) - g(*more).numpy()).max()
    one = tuple(x[:1] for x in more)
    with torch.no_grad():
        diff_batch1 = np.abs(_run(out, *one) - g(*one).numpy()).max()
    print(f"{name}: onnxruntime vs reference {diff_reference:.2e}, vs PyTorch {diff_torch:.2e} (batch 2), "
          f"{diff_batch5:.2e} (batch 5), {diff_batch1:.2e} (batch 1)")
    assert max(diff_reference, diff_torch, diff_batch5, diff_batch1) < TOL

    meta = read_metadata(out)
    assert InputContract.from_dict(json.loads(meta["contract"]), "onnx") == contract
    assert json.loads(meta["model"])["norm"] == fixture["config"]["norm"]
    assert set(json.loads(meta["io"])) == {"src_img", "src_pose", "tgt_pose", "fake_img"}


def test_export_errors_are_one_line(tmp_path, capsys):
    assert main(["export", "--checkpoint", str(tmp_path / "missing"), "--onnx", str(tmp_path / "a.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no such checkpoint" in err and "\n" not in err
    assert not (tmp_path / "a.onnx").exists()
