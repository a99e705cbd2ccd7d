"""``data prepare`` on miniature Market-1501 and DeepFashion downloads: layout, report, check, resume, errors."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from extras_helpers import need
from PIL import Image
from prepare_helpers import fashion_archive, market_archive

from posestylizer.cli import main
from posestylizer.data.check import check_dataset
from posestylizer.data.formats import read_annotations, read_pairs, write_annotations
from posestylizer.data.prepare import prepare_dataset
from posestylizer.data.prepare_sources import flatten_fashion_name
from posestylizer.errors import DataError


def quiet(**kw):
    return {"log": lambda s: None, **kw}


def test_flattened_deepfashion_names_follow_the_reference():
    assert flatten_fashion_name("img/WOMEN/Skirts/id_00000629/04_3_back.jpg") == \
        "fashionWOMENSkirtsid0000062904_3back.jpg"
    assert flatten_fashion_name("img/WOMEN/Tees_Tanks/id_00000629/04_3_back.jpg") == \
        "fashionWOMENTees_Tanksid0000062904_3back.jpg"


def test_market_from_openpose_files(tmp_path):
    truth = market_archive(tmp_path / "raw")
    out = tmp_path / "market"
    report = prepare_dataset("market1501", tmp_path / "raw", out, keypoints=tmp_path / "raw" / "openpose",
                             workers=2, **quiet())  # fmt: skip
    assert report.dropped == Counter(distractor=2, unreadable=1, few_keypoints=1, no_pose=1, single=1)
    train, test = read_annotations(out / "market-annotation-train.csv"), read_annotations(
        out / "market-annotation-test.csv")
    assert sorted(train) == ["0001_c1s1_001000_01.jpg", "0001_c2s1_002000_01.jpg", "0001_c3s1_003000_01.jpg",
                             "0002_c2s1_002000_01.jpg", "0002_c3s1_003000_01.jpg"]  # fmt: skip
    assert sorted(test) == ["0005_c1s1_001000_01.jpg", "0005_c2s1_002000_01.jpg", "0006_c1s1_001000_01.jpg",
                            "0006_c2s1_002000_01.jpg"]  # fmt: skip
    for name, kp in {**train, **test}.items():
        assert np.array_equal(kp, truth[name])
        # Market images need no crop: the downloaded file is copied byte for byte
        phase = "train" if name in train else "test"
        folder = "bounding_box_train" if phase == "train" else "bounding_box_test"
        assert (out / phase / name).read_bytes() == \
            (tmp_path / "raw" / "Market-1501-v15.09.15" / folder / name).read_bytes()
    assert len(read_pairs(out / "market-pairs-train.csv")) == 3 * 2 + 2 * 1
    assert len(read_pairs(out / "market-pairs-test.csv")) == 2 + 2
    assert sorted(p.name for p in (out / "train").iterdir()) == sorted(train)
    assert check_dataset(out, "market").ok
    text = (out / "prepare-report.txt").read_text()
    assert "train: 8 raw images, kept 5, 8 pairs" in text
    assert "1  unreadable image (e.g. bounding_box_train/0001_c6s1_009000_01.jpg" in text
    assert "1  the only usable image of its identity" in text


def test_deepfashion_from_coco_is_cropped_flattened_and_split(tmp_path):
    truth = fashion_archive(tmp_path / "raw")
    out = tmp_path / "fashion"
    report = prepare_dataset("deepfashion", tmp_path / "raw", out, keypoints=tmp_path / "raw" / "coco.json",
                             workers=1, **quiet())  # fmt: skip
    assert report.dropped == Counter(size=1)
    train = read_annotations(out / "fashion-resize-annotation-train.csv")
    test = read_annotations(out / "fashion-resize-annotation-test.csv")
    assert len(train) == 5 and len(test) == 3  # query and gallery images of item 3 are both test
    for name, kp in {**train, **test}.items():
        rel, true_kp = truth[name]
        expected = true_kp.copy()  # COCO has no neck: it is rebuilt from the shoulders
        expected[1] = np.rint((true_kp[2] + true_kp[5]) / 2) if (true_kp[[2, 5]] >= 0).all() else -1
        assert np.array_equal(kp, expected)
        phase = "train" if name in train else "test"
        image = np.asarray(Image.open(out / phase / name), dtype=np.float64)
        raw = np.asarray(Image.open(tmp_path / "raw" / rel), dtype=np.float64)
        assert image.shape == (256, 176, 3) and np.abs(image - raw[:, 40:216]).mean() < 3  # JPEG re-encoding
    # identity = item + image index (text before the last '_'): all views of one shoot pair up
    assert len(read_pairs(out / "fashion-resize-pairs-train.csv")) == 3 * 2 + 2 * 1
    assert len(read_pairs(out / "fashion-resize-pairs-test.csv")) == 3 * 2
    assert check_dataset(out, "fashion").ok


def test_prepare_resumes_and_refuses_to_mix(tmp_path):
    market_archive(tmp_path / "raw")
    out, kp = tmp_path / "market", tmp_path / "raw" / "openpose"
    first = prepare_dataset("market1501", tmp_path / "raw", out, keypoints=kp, **quiet())
    assert first.processed == 13  # 12 people images and the unreadable file; distractors are never read
    csv_before = (out / "market-annotation-train.csv").read_text()
    (out / "train" / "0001_c1s1_001000_01.jpg").unlink()
    again = prepare_dataset("market1501", tmp_path / "raw", out, keypoints=kp, **quiet())
    assert again.processed == 1 and (out / "train" / "0001_c1s1_001000_01.jpg").exists()
    assert (out / "market-annotation-train.csv").read_text() == csv_before
    assert prepare_dataset("market1501", tmp_path / "raw", out, keypoints=kp, **quiet()).processed == 0
    with pytest.raises(DataError, match="prepared with other options"):
        prepare_dataset("market1501", tmp_path / "raw", out, **quiet())
    other = tmp_path / "other"
    other.mkdir()
    (other / "mine.txt").write_text("x")
    with pytest.raises(DataError, match="was not made by data prepare"):
        prepare_dataset("market1501", tmp_path / "raw", other, keypoints=kp, **quiet())


def test_cli_prepare_and_malformed_partition(tmp_path, capsys):
    fashion_archive(tmp_path / "raw")
    out = tmp_path / "fashion"
    args = ["data", "prepare", "deepfashion", str(tmp_path / "raw"), str(out), "--keypoints",
            str(tmp_path / "raw" / "coco.json"), "--quiet"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "train: 6 raw images, kept 5" in printed and "unexpected image size" in printed
    assert main(["data", "check", str(out), "--layout", "fashion"]) == 0
    part = tmp_path / "raw" / "Eval" / "list_eval_partition.txt"
    lines = part.read_text().splitlines()
    lines[4] = lines[4].replace(" train", " validation")
    part.write_text("\n".join(lines))
    assert main(args[:4] + [str(tmp_path / "new"), *args[5:]]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("list_eval_partition.txt:5: expected 'image_name item_id train|query|gallery', got "
                        f"{lines[4]!r}")  # fmt: skip
    assert not (tmp_path / "new").exists()


def test_keypoints_for_no_image_give_no_pose(tmp_path):
    market_archive(tmp_path / "raw")
    (tmp_path / "empty.json").write_text(json.dumps({"images": [], "annotations": []}))
    report = prepare_dataset("market1501", tmp_path / "raw", tmp_path / "out", keypoints=tmp_path / "empty.json",
                             **quiet())  # fmt: skip
    assert report.dropped == Counter(no_pose=12, unreadable=1, distractor=2)
    assert report.kept("train") == report.kept("test") == 0
    assert check_dataset(tmp_path / "out", "market").problems  # no pairs: not a usable dataset


def test_a_single_image_identity_is_revived_when_it_gains_an_image(tmp_path):
    from prepare_helpers import render_sample, to_openpose_json

    market_archive(tmp_path / "raw")
    out, kp = tmp_path / "market", tmp_path / "raw" / "openpose"
    first = prepare_dataset("market1501", tmp_path / "raw", out, keypoints=kp, **quiet())
    assert first.dropped["single"] == 1 and not (out / "train" / "0003_c1s1_001000_01.jpg").exists()
    image, pose, _, _ = render_sample("market", 3, 1, 0)
    Image.fromarray(image).save(tmp_path / "raw/Market-1501-v15.09.15/bounding_box_train/0003_c2s1_002000_01.jpg")
    (kp / "0003_c2s1_002000_01_keypoints.json").write_text(json.dumps(to_openpose_json(pose)))
    again = prepare_dataset("market1501", tmp_path / "raw", out, keypoints=kp, **quiet())
    assert again.processed == 2 and again.dropped["single"] == 0
    train = read_annotations(out / "market-annotation-train.csv")
    assert {"0003_c1s1_001000_01.jpg", "0003_c2s1_002000_01.jpg"} <= set(train)
    assert check_dataset(out, "market").ok


@pytest.mark.slow
def test_market_with_the_builtin_estimator_in_worker_processes(tmp_path):
    need("mediapipe")
    truth = market_archive(tmp_path / "raw")
    out = tmp_path / "market"
    report = prepare_dataset("market1501", tmp_path / "raw", out, workers=2, **quiet())
    assert report.processed == 13 and report.dropped["distractor"] == 2 and report.dropped["unreadable"] == 1
    assert "no_pose" not in report.dropped  # the estimator runs on every readable image
    kept = {**read_annotations(out / "market-annotation-train.csv"),
            **read_annotations(out / "market-annotation-test.csv")}  # fmt: skip
    assert len(kept) >= 4 and len(kept) + sum(report.dropped.values()) == 15
    for name, kp in kept.items():  # shoulders and hips near the truth (a back view may swap left and right)
        true = truth[name][[2, 5, 8, 11]]
        error = min(np.abs(kp[idx] - true).max() for idx in ([2, 5, 8, 11], [5, 2, 11, 8]))
        assert error < 16, (name, kp, truth[name])
    assert check_dataset(out, "market").ok


def test_workers_start_clean_after_mediapipe_ran_in_this_process(tmp_path):
    """A process that estimated poses before (a notebook, this test run) must not fork workers that inherit
    MediaPipe's threads and heap (it crashed with `malloc(): unaligned tcache chunk detected`)."""
    need("mediapipe")
    from posestylizer.estimators import get_estimator

    market_archive(tmp_path / "raw")
    get_estimator("mediapipe")(np.zeros((128, 64, 3), np.uint8))  # MediaPipe runs in this process first
    report = prepare_dataset("market1501", tmp_path / "raw", tmp_path / "market", workers=2, **quiet())
    assert report.processed == 13 and check_dataset(tmp_path / "market", "market").ok


def test_deepfashion_with_the_authors_csvs_as_keypoints_and_split(tmp_path):
    truth = fashion_archive(tmp_path / "raw")
    authors = tmp_path / "authors"
    authors.mkdir()
    # an "authors'" split other than the official one: item 2 in test, item 3 in train; one image in neither list
    train = {n: kp for n, (_, kp) in truth.items() if "id00000002" not in n}
    test = {n: kp for n, (_, kp) in truth.items() if "id00000002" in n}
    del train["fashionWOMENDressesid0000000101_3back.jpg"]
    write_annotations(authors / "fashion-resize-annotation-train.csv", train)
    write_annotations(authors / "fashion-resize-annotation-test.csv", test)
    out = tmp_path / "fashion"
    report = prepare_dataset("deepfashion", tmp_path / "raw", out, keypoints=authors,
                             split_from=(authors / "fashion-resize-annotation-train.csv",
                                         authors / "fashion-resize-annotation-test.csv"), **quiet())  # fmt: skip
    assert report.dropped == Counter(unlisted=2)  # the image left out, and the odd-sized one no list names
    got_train = read_annotations(out / "fashion-resize-annotation-train.csv")
    got_test = read_annotations(out / "fashion-resize-annotation-test.csv")
    assert sorted(got_train) == sorted(train) and sorted(got_test) == sorted(test)
    for name, kp in {**got_train, **got_test}.items():  # PATN CSVs are in prepared-image pixels: taken as they are
        assert np.array_equal(kp, truth[name][1])
    assert check_dataset(out, "fashion").ok


def test_a_failed_run_with_nothing_finished_does_not_lock_the_folder(tmp_path, monkeypatch):
    import posestylizer.data.prepare as prepare

    market_archive(tmp_path / "raw")
    out, kp = tmp_path / "market", tmp_path / "raw" / "openpose"

    def fail(*args, **kwargs):  # the run dies before its first image is journalled (wrong options, say)
        raise DataError("first image failed")

    with monkeypatch.context() as m:
        m.setattr(prepare, "_process", fail)
        with pytest.raises(DataError, match="first image failed"):
            prepare_dataset("market1501", tmp_path / "raw", out, **quiet())
    assert (out / ".prepare" / "journal.jsonl").exists()
    fixed = prepare_dataset("market1501", tmp_path / "raw", out, keypoints=kp, **quiet())  # other options: accepted
    assert fixed.processed == 13
