"""CSV formats and `data check`: every malformed input is reported with its file and line; training refuses it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from posestylizer.cli import main
from posestylizer.data import (
    PairDataset,
    check_dataset,
    get_layout,
    parse_annotations,
    read_annotations,
    read_pairs,
    write_annotations,
    write_dataset,
)
from posestylizer.errors import DataError


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("check") / "clean"
    write_dataset(root, "market", identities=4, poses=3, seed=1)
    return root


@pytest.fixture
def root(clean, tmp_path):
    shutil.copytree(clean, tmp_path / "d")
    return tmp_path / "d"


def _lines(path):
    return path.read_text().splitlines()


def _set_line(path, number, text):
    lines = _lines(path)
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


def _problems(root, **kw):
    return [str(p) for p in check_dataset(root, **kw).problems]


def test_annotation_roundtrip_and_reference_spacing(tmp_path):
    kp = np.arange(36).reshape(18, 2)
    kp[3] = -1
    path = tmp_path / "a.csv"
    write_annotations(path, {"0001_c1s1_000001_01.jpg": kp})
    # the authors' writer puts a blank after each colon: "name: [..]: [..]"
    assert _lines(path)[1].startswith("0001_c1s1_000001_01.jpg: [0, 2, 4,")
    got = read_annotations(path)["0001_c1s1_000001_01.jpg"]
    assert got.dtype == np.float32 and np.array_equal(got, kp)


def test_pairs_with_pandas_index_column(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(",from,to\n0,a.jpg,b.jpg\n1,b.jpg,a.jpg\n")
    assert read_pairs(path) == [("a.jpg", "b.jpg"), ("b.jpg", "a.jpg")]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("x.jpg: [1, 2]", "2 ':'-separated fields"),
        ("x.jpg: [1, 2]: [3, 4]: [5]", "4 ':'-separated fields"),
        ("x.jpg: [1, 2, 3]: " + str([0] * 18), "keypoints_y has 3 values, expected 18"),
        ("x.jpg: " + str([0] * 18) + ": [1, 2", "keypoints_x is not a JSON list"),
        ("x.jpg: [NaN" + ", 0" * 17 + "]: " + str([0] * 18), "keypoints_y[0] is nan"),
        ("x.jpg: [1.5" + ", 0" * 17 + "]: " + str([0] * 18), "expected an integer pixel"),
        ("x.jpg: " + str([0] * 18) + ': ["a"' + ", 0" * 17 + "]", "keypoints_x[0] is 'a'"),
        (": " + str([0] * 18) + ": " + str([0] * 18), "empty image name"),
    ],
)
def test_malformed_annotation_rows_are_reported_with_line(tmp_path, row, message):
    path = tmp_path / "a.csv"
    good = "ok.jpg: " + str([0] * 18) + ": " + str([0] * 18)
    path.write_text(f"name:keypoints_y:keypoints_x\n{good}\n{row}\n{good.replace('ok', 'ok2')}\n")
    rows, problems = parse_annotations(path)
    assert [r.name for r in rows] == ["ok.jpg", "ok2.jpg"]  # the bad row is skipped, the others kept
    assert len(problems) == 1 and problems[0].line == 3 and message in problems[0].message
    assert str(problems[0]).startswith(f"{path}:3: ")
    with pytest.raises(DataError, match=f"{path}:3: "):
        read_annotations(path)


def test_missing_header_and_duplicates(tmp_path):
    path = tmp_path / "a.csv"
    row = "a.jpg: " + str([0] * 18) + ": " + str([0] * 18)
    path.write_text(f"{row}\n{row}\n")
    rows, problems = parse_annotations(path)
    assert [p.line for p in problems] == [1, 2]
    assert "header" in problems[0].message and "duplicate of line 1" in problems[1].message
    assert [r.name for r in rows] == ["a.jpg"]


def test_clean_dataset(clean):
    report = check_dataset(clean, "market")
    assert report.ok and report.exit_code == 0
    assert report.counts == {"train images": 9, "train pairs": report.counts["train pairs"], "test images": 3,
                             "test pairs": report.counts["test pairs"]}  # fmt: skip


def test_every_problem_is_reported_with_file_and_line(root, capsys):
    ann = root / "market-annotation-train.csv"
    pairs = root / "market-pairs-train.csv"
    names = list(read_annotations(ann))
    lines = _lines(ann)
    # line 2: the image is missing; line 3: truncated; line 4: wrong size; line 5: not an image at all
    (root / "train" / names[0]).unlink()
    data = (root / "train" / names[1]).read_bytes()
    (root / "train" / names[1]).write_bytes(data[: len(data) // 2])
    Image.new("RGB", (64, 64)).save(root / "train" / names[2])
    (root / "train" / names[3]).write_bytes(b"not a jpeg")
    # line 6: 17 keypoints; line 7: NaN; line 8: out of range
    name, ys, xs = lines[5].split(":")
    _set_line(ann, 6, f"{name}:{ys.replace('[', '[', 1).rsplit(',', 1)[0]}]:{xs}")
    name, ys, xs = lines[6].split(":")
    _set_line(ann, 7, f"{name}: [NaN,{ys.split(',', 1)[1]}:{xs}")
    name, ys, xs = lines[7].split(":")
    _set_line(ann, 8, f"{name}: [500,{ys.split(',', 1)[1]}:{xs}")
    # pairs: line 2 names an unknown image, line 3 has 3 fields
    _set_line(pairs, 2, "nobody.jpg," + names[4])
    _set_line(pairs, 3, "a,b,c")
    # a test person also in train
    test_ann = root / "market-annotation-test.csv"
    test_name = next(iter(read_annotations(test_ann)))
    train_person = names[4].split("_")[0]
    shared = train_person + test_name[4:]
    (root / "test" / test_name).rename(root / "test" / shared)
    test_lines = _lines(test_ann)
    _set_line(test_ann, 2, test_lines[1].replace(test_name, shared))
    for i, line in enumerate(_lines(root / "market-pairs-test.csv")[1:], start=2):
        _set_line(root / "market-pairs-test.csv", i, line.replace(test_name, shared))

    problems = _problems(root)
    expected = [
        (f"{ann}:2:", "image not found"),
        (f"{ann}:3:", "truncated"),
        (f"{ann}:4:", "image is 64x64, the layout expects 128x64"),
        (f"{ann}:5:", "unreadable"),
        (f"{ann}:6:", "keypoints_y has 17 values, expected 18"),
        (f"{ann}:7:", "keypoints_y[0] is nan"),
        (f"{ann}:8:", "outside the 128x64 image: 0=(500,"),
        (f"{pairs}:2:", "nobody.jpg not in market-annotation-train.csv"),
        (f"{pairs}:3:", "row has 3 fields"),
        (f"{test_ann}:2:", f"person '{train_person}' is also in the train set"),
    ]
    for where, what in expected:
        assert any(p.startswith(where) and what in p for p in problems), (where, what, problems)
    assert len(problems) == len(expected), problems

    assert main(["data", "check", str(root)]) == 2
    out = capsys.readouterr()
    assert f"{ann}:3:" in out.out and "10 problem(s)" in out.err

    # training/evaluation refuse the dataset up front, in one line: the count, the first problem, the command
    with pytest.raises(DataError, match=r"10 problem\(s\); first: ") as err:
        PairDataset(root, "train")
    assert "\n" not in str(err.value) and f"first: {ann}:" in str(err.value) and "(and 9 more)" in str(err.value)
    assert str(err.value).endswith(f"`posestylizer data check {root}` lists them all")


def test_missing_files_and_folder(root, tmp_path):
    (root / "market-pairs-test.csv").unlink()
    shutil.rmtree(root / "train")
    problems = _problems(root)
    assert any("market-pairs-test.csv: pair file not found" in p for p in problems)
    assert any(p.endswith("image folder of the train phase not found") for p in problems)
    assert _problems(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}: dataset folder not found"]


def test_phase_selection_and_header_only(root):
    (root / "market-annotation-test.csv").write_text("garbage\n")
    assert _problems(root, phases=("train",)) == []  # test not checked; identity check skipped (no rows)
    assert len(_problems(root, phases=("test",))) >= 1
    data = (root / "train" / next(iter(read_annotations(root / "market-annotation-train.csv")))).read_bytes()
    first = next(iter(read_annotations(root / "market-annotation-train.csv")))
    (root / "train" / first).write_bytes(data[: len(data) // 2])
    assert _problems(root, phases=("train",), decode=False) == []  # headers only: truncation not seen
    assert len(_problems(root, phases=("train",))) == 1


def test_custom_file_names(root, capsys):
    (root / "market-annotation-train.csv").rename(root / "kp-train.csv")
    (root / "market-annotation-test.csv").rename(root / "kp-test.csv")
    assert main(["data", "check", str(root)]) == 2
    capsys.readouterr()
    assert main(["data", "check", str(root), "--annotation", "kp-{phase}.csv"]) == 0
    ds = PairDataset(root, "test", layout=get_layout("market", annotation="kp-{phase}.csv"))
    assert len(ds) > 0 and ds.layout.annotation_path(root, "test") == root / "kp-test.csv"
