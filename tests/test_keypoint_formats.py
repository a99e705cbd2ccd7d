"""Formats people have: OpenPose files written with --keypoint_scale 3 ([0, 1]) or 4 ([-1, 1]) are read with the
image size, or refused in one line; never taken as pixels 0 and 1."""

from __future__ import annotations

import json

import numpy as np
import pytest

from posestylizer.cli import main
from posestylizer.errors import DataError
from posestylizer.keypoints import read_pose_file

H, W = 128, 64


def _openpose(tmp_path, scale: int):
    rng = np.random.default_rng(0)
    y, x = rng.uniform(10, H - 10, 18), rng.uniform(5, W - 5, 18)
    ny, nx = y / (H - 1), x / (W - 1)
    if scale == 4:
        ny, nx = ny * 2 - 1, nx * 2 - 1
    values = [v for i in range(18) for v in (float(nx[i]), float(ny[i]), 0.9)]
    path = tmp_path / f"p{scale}_keypoints.json"
    path.write_text(json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": values}]}))
    return path, np.stack([y, x], 1)


@pytest.mark.parametrize("scale", [3, 4])
def test_normalised_openpose_is_scaled_with_the_image_size(tmp_path, scale):
    path, pixels = _openpose(tmp_path, scale)
    kp = read_pose_file(path, image_size=(H, W))
    assert np.abs(kp - pixels).max() < 1e-3
    with pytest.raises(DataError, match=r"coordinates in \[0, 1\] or \[-1, 1\].*--source-size H W"):
        read_pose_file(path)


def test_pose_import_of_normalised_openpose(tmp_path, capsys):
    path, pixels = _openpose(tmp_path, 3)
    assert main(["pose", "import", str(path), "--out", str(tmp_path / "a.csv")]) == 2
    assert "--keypoint_scale" in capsys.readouterr().err
    assert main(["pose", "import", str(path), "--source-size", str(H), str(W), "--out", str(tmp_path / "b.csv")]) == 0
    row = (tmp_path / "b.csv").read_text().splitlines()[1]
    ys = json.loads(row.split(":")[1])
    assert np.abs(np.array(ys) - np.rint(pixels[:, 0])).max() <= 1


def test_coco_results_list_is_coco_not_blazepose(tmp_path, capsys):
    from posestylizer.keypoints import detect_format

    kp17 = [v for i in range(17) for v in (10.0 + i, 20.0 + 3 * i, 2)]
    results = [{"image_id": 42, "category_id": 1, "keypoints": kp17, "score": 0.9},
               {"image_id": 42, "category_id": 1, "keypoints": [0.0] * 51, "score": 0.1},
               {"image_id": 7, "category_id": 1, "keypoints": kp17, "score": 0.8}]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    assert detect_format(path) == "coco"
    assert main(["pose", "import", str(path), "--source-size", "128", "64", "--out", str(tmp_path / "a.csv")]) == 0
    names = sorted(line.split(":")[0] for line in (tmp_path / "a.csv").read_text().splitlines()[1:])
    assert names == ["42.jpg", "7.jpg"]
    assert read_pose_file(path, person="42")[0].tolist() == [20.0, 10.0]  # nose (y, x) of the largest person
