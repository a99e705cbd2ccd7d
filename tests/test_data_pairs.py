"""Pair lists by the reference rules (reference §1.3) and the `data pairs` command."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from posestylizer.cli import main
from posestylizer.data import get_layout, make_pairs, pairable, read_pairs, write_annotations


def _kp(missing=()):
    kp = np.tile(np.array([[40, 30]]), (18, 1))
    kp[list(missing)] = -1
    return kp


def test_pairable_needs_both_shoulders_and_hips():
    assert pairable(_kp())
    assert pairable(_kp(missing=(0, 3, 4, 6, 7, 9, 10, 12, 13, 14, 15, 16, 17)))  # only the four are needed
    for i in (2, 5, 8, 11):
        assert not pairable(_kp(missing=(i,)))
    half = _kp()
    half[8, 1] = -1  # missing when either coordinate is -1
    assert not pairable(half)


def test_market_rules():
    ann = {
        "0002_c1s1_000451_03.jpg": _kp(),
        "0002_c2s1_000301_01.jpg": _kp(),
        "0002_c3s1_000551_02.jpg": _kp(),
        "0002_c4s1_000651_02.jpg": _kp(missing=(2,)),  # not pairable
        "0007_c1s1_000001_01.jpg": _kp(),
        "0007_c2s1_000002_01.jpg": _kp(),
        "0009_c1s1_000003_01.jpg": _kp(),  # alone: no pair
        "0000_c1s1_000004_01.jpg": _kp(),  # junk
        "0000_c1s1_000005_01.jpg": _kp(),
        "-1_c1s1_000006_01.jpg": _kp(),  # distractor
        "-1_c1s1_000007_01.jpg": _kp(),
    }
    pairs = make_pairs(ann, "market")
    p2 = [n for n in ann if n.startswith("0002")][:3]
    p7 = [n for n in ann if n.startswith("0007")]
    assert pairs == list(itertools.permutations(p2, 2)) + list(itertools.permutations(p7, 2))


def test_fashion_identity_keeps_category_underscores():
    layout = get_layout("fashion")
    a, b = "fashionWOMENTees_Tanksid0000062904_1front.jpg", "fashionWOMENTees_Tanksid0000062904_3back.jpg"
    c = "fashionWOMENTees_Tanksid0000071101_1front.jpg"
    assert layout.identity(a) == layout.identity(b) == "fashionWOMENTees_Tanksid0000062904"
    assert make_pairs({a: _kp(), b: _kp(), c: _kp()}, layout) == [(a, b), (b, a)]


def test_sample_is_seeded_like_pandas():
    ann = {f"{p:04d}_c1s1_{i:06d}_01.jpg": _kp() for p in range(1, 6) for i in range(4)}
    everything = make_pairs(ann)
    assert len(everything) == 5 * 12
    sample = make_pairs(ann, max_pairs=10, seed=0)
    # DataFrame.sample(n, random_state=0) draws RandomState(0).permutation(len)[:n], in that order
    assert sample == [everything[i] for i in np.random.RandomState(0).permutation(60)[:10]]
    assert make_pairs(ann, max_pairs=10, seed=0) == sample and make_pairs(ann, max_pairs=10, seed=1) != sample
    assert make_pairs(ann, max_pairs=1000) == everything


def test_cli_pairs(tmp_path, capsys):
    ann = {f"{p:04d}_c1s1_{i:06d}_01.jpg": _kp() for p in (1, 2) for i in range(3)}
    write_annotations(tmp_path / "market-annotation-test.csv", ann)
    assert main(["data", "pairs", str(tmp_path)]) == 0
    assert "12 pairs from 6 annotated images" in capsys.readouterr().out
    assert len(read_pairs(tmp_path / "market-pairs-test.csv")) == 12
    assert main(["data", "pairs", str(tmp_path)]) == 2  # refuses to overwrite
    assert "--force" in capsys.readouterr().err
    assert main(["data", "pairs", str(tmp_path), "--force", "--max-pairs", "5"]) == 0
    assert len(read_pairs(tmp_path / "market-pairs-test.csv")) == 5
    out = tmp_path / "custom.csv"
    assert main(["data", "pairs", str(tmp_path), "--out", str(out)]) == 0 and out.exists()


def test_cli_pairs_reports_malformed_annotation(tmp_path, capsys):
    (tmp_path / "market-annotation-train.csv").write_text("name:keypoints_y:keypoints_x\na.jpg: [1]: [2]\n")
    assert main(["data", "pairs", str(tmp_path), "--phase", "train"]) == 2
    err = capsys.readouterr().err
    assert "market-annotation-train.csv:2: a.jpg: keypoints_y has 1 values, expected 18" in err


@pytest.mark.parametrize("name", ["market", "fashion"])
def test_layout_presets(tmp_path, name):
    layout = get_layout(name)
    assert (
        layout.annotation_path(tmp_path, "train").name
        == f"{'market' if name == 'market' else 'fashion-resize'}-annotation-train.csv"
    )
    assert layout.heatmap_path(tmp_path, "test", "a.jpg") == tmp_path / "testK" / "a.jpg.npy"
    # the authors' Market test script looks for the test pairs one folder up (reference §1.1)
    (tmp_path / f"{layout.pairs.format(phase='test')}").write_text("from,to\n")
    assert layout.pairs_path(tmp_path / "sub", "test", search_parent=True) == tmp_path / layout.pairs.format(
        phase="test"
    )
    assert layout.pairs_path(tmp_path / "sub", "test") == tmp_path / "sub" / layout.pairs.format(phase="test")
