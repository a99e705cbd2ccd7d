"""``posestylizer generate`` and ``posestylizer pose list``: files written, and every error as one line, exit 2."""

from __future__ import annotations

import numpy as np
import pytest
from extras_helpers import need
from PIL import Image
from pipeline_helpers import small_checkpoint, street_scene

from posestylizer.cli import main
from posestylizer.keypoints.library import pose_names

need("mediapipe")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("generate")
    ckpt = small_checkpoint(root / "run" / "generator")
    photo, _ = street_scene([(1, 150, 330, 260), (2, 330, 320, 200)])
    Image.fromarray(photo).save(root / "street.png")
    Image.fromarray(np.full((200, 300, 3), 127, np.uint8)).save(root / "empty.png")
    (root / "broken.png").write_text("not an image")
    (root / "broken.json").write_text("{not json")
    from skimage import data as skdata  # a core dependency; its sample photos ship in the wheel
    Image.fromarray(skdata.astronaut()).save(root / "astronaut.png")
    return root, ckpt


def test_generate_writes_image_and_panel(files, capsys):
    root, ckpt = files
    out = root / "out" / "walking.png"
    args = ["generate", "--checkpoint", str(ckpt), "--source", str(root / "street.png"), "--target", "walking",
            "--out", str(out), "--panel", "--person", "330,220"]
    assert main(args) == 0
    assert "library target" in capsys.readouterr().out
    assert Image.open(out).size == (32, 64)
    assert Image.open(out.with_name("walking_panel.png")).size == (4 * 32 * 4, 64 * 4)
    pasted = root / "out" / "pasted.jpg"
    other_photo = ["--target", str(root / "street.png"), "--person", "150,200"]  # pose of one, on the other
    assert main(args[:5] + other_photo + ["--out", str(pasted), "--paste-back"]) == 0
    assert Image.open(pasted).size == (480, 360)


def test_pose_list_draws_the_library(tmp_path, capsys):
    out = tmp_path / "poses.png"
    assert main(["pose", "list", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in pose_names())
    rows = -(-len(pose_names()) // 5)
    assert Image.open(out).size == (5 * 128, rows * (256 + 20))


ERRORS = [
    (["--target", "front"], "needs --source IMG and --target POSE"),
    (["--source", "{root}/street.png", "--target", "moonwalk"], "no library pose of that name"),
    (["--source", "{root}/street.png", "--target", "front", "--person", "12"], "--person '12'"),
    (["--source", "{root}/street.png", "--target", "front", "--out", "{root}/x.gif"], "end the file name"),
    (["--source", "{root}/street.png", "--target", "front", "--checkpoint", "{root}/nope"], "no such checkpoint"),
    (["--source", "{root}/street.png", "--target", "front", "--device", "cuda:7"], "device"),
    (["--source", "{root}/empty.png", "--target", "front"], "no person found in the 300x200 photo"),
    (["--source", "{root}/street.png", "--target", "front", "--person", "470,20"], "no person found at point"),
    (["--source", "{root}/astronaut.png", "--target", "front"], "no legs found"),
    (["--source", "{root}/broken.png", "--target", "front"], "broken.png is not an image"),
    (["--source", "{root}/missing.png", "--target", "front"], "image not found"),
    (["--source", "{root}/street.png", "--target", "{root}/broken.json"], "broken.json"),
    (["--source", "{root}/street.png", "--target", "{root}/empty.png"], "no person found"),
]


@pytest.mark.parametrize(("extra", "message"), ERRORS, ids=[m for _, m in ERRORS])
def test_generate_errors_are_one_line(files, capsys, extra, message):
    root, ckpt = files
    args = {"--checkpoint": str(ckpt), "--out": str(root / "err" / "out.png")}
    extra = [e.format(root=root) for e in extra]
    for i in range(0, len(extra), 2):
        args[extra[i]] = extra[i + 1]
    argv = ["generate"] + [x for kv in args.items() for x in kv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("posestylizer generate: error: ") and "\n" not in err, err
    assert message in err
    assert not (root / "err").exists()  # nothing written, not even the folder
