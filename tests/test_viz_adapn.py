"""``posestylizer viz adapn`` (the paper's Fig. 8): the maps it computes, the figure it writes, its errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from pipeline_helpers import full_body_sample

from posestylizer.checkpoints.contract import InputContract
from posestylizer.checkpoints.native import save_generator
from posestylizer.cli import main
from posestylizer.config import ModelConfig
from posestylizer.data.formats import write_annotations
from posestylizer.experiments.adapn_maps import adanorm_maps
from posestylizer.keypoints import to_openpose_json
from posestylizer.keypoints.maps import heatmaps
from posestylizer.models import Generator
from posestylizer.results.protocol import image_to_tensor

SIZE = (64, 32)


def _checkpoint(folder, adanorm: str, seed: int = 0):
    torch.manual_seed(seed)
    cfg = ModelConfig(image_size=SIZE, n_blocks=3, ngf=8, norm="batch", dropout=0.0, adanorm=adanorm)
    return save_generator(Generator(cfg), cfg, folder, InputContract(image_size=SIZE, heatmap_sigma=3.0))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("viz_adapn")
    image, kp, _ = full_body_sample(1)
    Image.fromarray(image).save(root / "person.png")
    Image.fromarray(image).save(root / "stranger.png")  # no row of annotations.csv names it
    (root / "person.json").write_text(json.dumps(to_openpose_json(kp)))
    other = np.where(kp >= 0, kp + 1, -1)
    write_annotations(root / "annotations.csv", [("other.png", other), ("person.png", kp)])
    ys, xs = "[" + ", ".join(["10"] * 17) + "]", "[" + ", ".join(["5"] * 17) + "]"
    (root / "short.csv").write_text(f"name:keypoints_y:keypoints_x\nperson.png: {ys}: {xs}\n")
    (root / "broken.png").write_text("not an image")
    return {"root": root, "kp": kp, "adapn": _checkpoint(root / "adapn", "adapn"),
            "adain": _checkpoint(root / "adain", "adain")}


def test_command_writes_png_and_table(files, capsys):
    root = files["root"]
    out = root / "out" / "fig8.png"
    args = ["viz", "adapn", "--checkpoint", str(files["adapn"]), "--source", str(root / "person.png"),
            "--source-pose", str(root / "person.json"), "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "AdaPN" in text and "Dec 3 norm2" in text and "gamma std" in text
    with Image.open(out) as png:
        assert png.format == "PNG" and png.width > 600 and png.height > 300
    flat = root / "out" / "adain.png"
    assert main(args[:3] + [str(files["adain"])] + args[4:-1] + [str(flat), "--colour", "absolute"]) == 0
    assert "AdaIN" in capsys.readouterr().out
    with Image.open(flat) as png:
        assert png.format == "PNG"


def test_maps_match_a_hand_computation(files):
    root = files["root"]
    result = adanorm_maps(files["adapn"], root / "person.png", source_pose=root / "annotations.csv")
    assert [m.label for m in result.maps] == [f"Dec {i} norm{j}" for i in (1, 2, 3) for j in (1, 2)]
    assert [m.size for m in result.maps] == [(16, 8), (16, 8), (32, 16), (32, 16), (64, 32), (64, 32)]
    from posestylizer.checkpoints.native import load_generator

    g = load_generator(files["adapn"])
    with torch.no_grad():
        src = image_to_tensor(result.crop)[None]
        pose = torch.from_numpy(heatmaps(result.keypoints, SIZE, 3.0))[None]
        code = g.appearance_code(src, pose)  # the crop and keypoints the pipeline prepared give the same code
        np.testing.assert_allclose(result.code, code[0].numpy(), atol=1e-5)
        conv = g.decoder.fg_blocks[1].norm2.style  # block "Dec 2": factor 4, 8x4 code -> 32x16
        params = torch.einsum("oc,bchw->bohw", conv.weight[:, :, 0, 0], code) + conv.bias[None, :, None, None]
        params = params.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)
    beta, gamma = params[0].chunk(2, dim=0)
    np.testing.assert_allclose(result.maps[3].beta, beta.mean(0).numpy(), atol=1e-5)
    np.testing.assert_allclose(result.maps[3].gamma, gamma.mean(0).numpy(), atol=1e-5)


def test_adain_maps_are_flat_and_adapn_maps_are_not(files):
    root = files["root"]
    flat = adanorm_maps(files["adain"], root / "person.png", source_pose=root / "person.json")
    assert flat.adanorm == "adain"
    assert [m.size for m in flat.maps] == [(16, 8), (16, 8), (32, 16), (32, 16), (64, 32), (64, 32)]
    assert all(np.ptp(m.beta) == 0 and np.ptp(m.gamma) == 0 for m in flat.maps)  # every position the same value
    varied = adanorm_maps(files["adapn"], root / "person.png", source_pose=root / "person.json")
    assert float(np.std(varied.code, axis=(1, 2)).max()) > 0  # a non-constant code ...
    assert all(m.beta.std() > 1e-5 and m.gamma.std() > 1e-5 for m in varied.maps)  # ... gives non-flat maps


def test_rounding_noise_of_flat_maps_draws_white():
    """AdaIN maps deviate from their mean by float rounding only; the colour scale must not blow that up."""
    from posestylizer.experiments.adapn_maps import AdaNormMaps, NormMaps
    from posestylizer.experiments.fig8 import _limits

    noisy = np.full((4, 2), 0.5, np.float32)
    noisy[0, 0] += 3e-8
    maps = [NormMaps("fg_blocks.0.norm1", "Dec 1 norm1", beta=noisy, gamma=noisy - 1)]
    lo, hi = _limits(AdaNormMaps("adain", None, None, None, maps), "deviation")["beta"]
    assert hi >= 0.01 * 0.5 and lo == -hi  # the deviation of 3e-8 is well inside the middle (white) of the scale


ERRORS = [
    (["--checkpoint", "{root}/nope"], "no such checkpoint"),
    (["--source", "{root}/broken.png"], "broken.png"),
    (["--source", "{root}/missing.png"], "missing.png"),
    (["--source-pose", "{root}/short.csv"], "short.csv"),
    (["--source-pose", "{root}/absent.json"], "no such keypoint file"),
    (["--source", "{root}/stranger.png", "--source-pose", "{root}/annotations.csv"], "none named 'stranger.png'"),
    (["--out", "{root}/fig.jpg"], "end the file name with .png"),
]


@pytest.mark.parametrize(("extra", "message"), ERRORS)
def test_bad_inputs_are_one_line_errors(files, capsys, extra, message):
    root = files["root"]
    options = {"--checkpoint": str(files["adapn"]), "--source": str(root / "person.png"),
               "--source-pose": str(root / "person.json"), "--out": str(root / "err" / "fig8.png")}
    err = _run_failing(options, extra, capsys, root)
    assert message in err and "\n" not in err
    assert not (root / "err" / "fig8.png").exists()


def _run_failing(options: dict, extra: list[str], capsys, root) -> str:
    """Run ``viz adapn`` with ``options`` overridden by ``extra``; assert exit 2 and one error line; return it."""
    extra = [e.format(root=root) for e in extra]
    options = dict(options, **dict(zip(extra[::2], extra[1::2])))
    assert main(["viz", "adapn"] + [x for kv in options.items() for x in kv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("posestylizer viz: error: ") and "Traceback" not in err, err
    return err
