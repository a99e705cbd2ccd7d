"""``posestylizer pose import`` / ``pose export``: round trips through every file format, scaling, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from posestylizer.cli import main
from posestylizer.data.formats import read_annotations, write_annotations

PERSON = np.array([
    [14, 32], [27, 32], [27, 22], [44, 19], [60, 18], [27, 42], [44, 45], [60, 46], [64, 25], [88, 25],
    [112, 25], [64, 39], [88, 39], [112, 39], [12, 29], [12, 35], [13, 26], [13, 38],
])  # fmt: skip
ROWS = {"0002_c1s1_000451_03.jpg": PERSON}
ROWS["0003_c2s1_000100_01.jpg"] = ROWS["0002_c1s1_000451_03.jpg"] + 1
ROWS["0003_c2s1_000100_01.jpg"][[0, 9, 16]] = -1
ROWS["0003_c2s1_000100_01.jpg"][1] = ROWS["0003_c2s1_000100_01.jpg"][[2, 5]].mean(axis=0)  # neck = shoulders' mid


def same(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("fmt", ["openpose", "coco", "blazepose"])
def test_export_then_import_gives_the_same_annotation(tmp_path, fmt, capsys):
    src = tmp_path / "ann.csv"
    write_annotations(src, ROWS)
    out = tmp_path / ("coco.json" if fmt == "coco" else "files")
    assert main(["pose", "export", str(src), "--to", fmt, "--out", str(out), "--image-size", "128", "64"]) == 0
    back = tmp_path / "back.csv"
    assert main(["pose", "import", str(out), "--from", fmt, "--out", str(back)]) == 0
    assert same(read_annotations(back), ROWS)
    # detected format, and scaled onto images twice the size: (c + 0.5) * 2 - 0.5, rounded half to even
    big = tmp_path / "big.csv"
    assert main(["pose", "import", str(out), "--out", str(big), "--image-size", "256", "128"]) == 0
    scaled = read_annotations(big)
    for name, kp in ROWS.items():
        ok = kp[:, 0] >= 0
        assert (scaled[name][ok] == np.rint(kp[ok] * 2 + 0.5)).all() and (scaled[name][~ok] == -1).all()
    assert "wrote" in capsys.readouterr().out


def test_openpose_export_writes_openpose_names_and_layout(tmp_path):
    src = tmp_path / "ann.csv"
    write_annotations(src, ROWS)
    out = tmp_path / "op"
    assert main(["pose", "export", str(src), "--to", "openpose", "--out", str(out)]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["0002_c1s1_000451_03_keypoints.json", "0003_c2s1_000100_01_keypoints.json"]
    obj = json.loads((out / files[1]).read_text())
    values = obj["people"][0]["pose_keypoints_2d"]
    assert len(values) == 54 and values[:3] == [0, 0, 0] and values[3:6] == [33.0, 28.0, 1.0]
    assert "image_size" not in obj


def test_import_without_source_size_cannot_scale(tmp_path, capsys):
    path = tmp_path / "x_keypoints.json"
    path.write_text(json.dumps({"people": [{"pose_keypoints_2d": [10.0, 20.0, 0.9] * 18}]}))
    out = tmp_path / "a.csv"
    assert main(["pose", "import", str(path), "--out", str(out), "--image-size", "128", "64"]) == 2
    assert "x_keypoints.json: the file does not say its image size; give --source-size" in capsys.readouterr().err
    assert not out.exists()
    assert main(["pose", "import", str(path), "--out", str(out), "--image-size", "128", "64",
                 "--source-size", "256", "128"]) == 0  # fmt: skip
    assert read_annotations(out)["x.jpg"][0].tolist() == [10, 5]


def test_import_of_a_malformed_file_is_one_line_and_writes_nothing(tmp_path, capsys):
    good = tmp_path / "a_keypoints.json"
    good.write_text(json.dumps({"people": [{"pose_keypoints_2d": [10.0, 20.0, 0.9] * 18}]}))
    bad = tmp_path / "b_keypoints.json"
    bad.write_text(json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 54}, {"pose_keypoints_2d": None}]}))
    out = tmp_path / "a.csv"
    assert main(["pose", "import", str(tmp_path), "--from", "openpose", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("b_keypoints.json: people[1].pose_keypoints_2d must be a list of numbers, got NoneType")
    assert "\n" not in err and not out.exists()
