"""Keypoint files in and out: round trips, layouts, person choice, scaling, and one-line errors for malformed files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from posestylizer.data.formats import write_annotations
from posestylizer.errors import DataError
from posestylizer.keypoints import (
    BODY25_TO_COCO18,
    from_blazepose,
    from_coco,
    from_openpose,
    read_pose_file,
    read_pose_records,
    round_pose,
    scale_pose,
    to_blazepose_json,
    to_coco,
    to_openpose_json,
)

# An upright Market-size person (y, x); the neck is the midpoint of the shoulders, as COCO and BlazePose rebuild it.
PERSON = np.array([
    [14, 32], [27, 32], [27, 22], [44, 19], [60, 18], [27, 42], [44, 45], [60, 46], [64, 25], [88, 25],
    [112, 25], [64, 39], [88, 39], [112, 39], [12, 29], [12, 35], [13, 26], [13, 38],
], dtype=np.float32)  # fmt: skip


def partial_person() -> np.ndarray:
    kp = PERSON.copy()
    kp[[4, 10, 16]] = -1  # right wrist, right ankle, right ear missing
    return kp


def write_json(path, obj):
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def test_openpose_round_trip_and_auto_detection(tmp_path):
    kp = partial_person()
    path = write_json(tmp_path / "a_keypoints.json", to_openpose_json(kp, (128, 64)))
    assert np.array_equal(read_pose_file(path), kp)
    assert np.array_equal(read_pose_file(path, fmt="openpose"), kp)
    rec = read_pose_records(path)[0]
    assert (rec.name, rec.image_size) == ("a", (128, 64))
    assert read_pose_file(path).dtype == np.float32


def test_openpose_body25_maps_to_coco18_and_threshold_marks_missing():
    body25 = np.zeros((25, 3))
    for k18, k25 in enumerate(BODY25_TO_COCO18):
        body25[k25] = (PERSON[k18, 1], PERSON[k18, 0], 0.9)
    body25[8] = (30.5, 64, 0.9)  # MidHip, which COCO-18 does not have
    body25[19:] = (5, 5, 0.9)  # feet, dropped
    body25[BODY25_TO_COCO18[3], 2] = 0.05  # a weak right elbow
    obj = {"people": [{"pose_keypoints_2d": body25.ravel().tolist()}]}
    expected = PERSON.copy()
    expected[3] = -1
    assert np.array_equal(from_openpose(obj), expected)
    expected_low = PERSON.copy()
    assert np.array_equal(from_openpose(obj, threshold=0.01), expected_low)


def test_openpose_picks_the_largest_person_or_an_index():
    small = PERSON / 2
    big = PERSON.copy()
    big[:, 1] += 100
    obj = to_openpose_json(np.stack([small, big]))
    assert np.array_equal(from_openpose(obj), big)
    assert np.array_equal(from_openpose(obj, person=0), small)
    with pytest.raises(DataError, match=r"people\[2\] does not exist; the file holds 2 person"):
        from_openpose(obj, person=2)


def test_coco_round_trip_with_neck_and_image_join(tmp_path):
    kp = partial_person()
    other = PERSON.copy()
    other[[1, 2]] = -1  # no right shoulder: no neck either
    obj = to_coco([("b.jpg", kp, (128, 64)), ("c.jpg", other, (128, 64))])
    path = write_json(tmp_path / "person_keypoints.json", obj)
    assert np.array_equal(read_pose_file(path, person="b.jpg"), kp)
    assert np.array_equal(read_pose_file(path, person="c.jpg"), other)
    records = read_pose_records(path)
    assert [(r.name, r.image_size) for r in records] == [("b.jpg", (128, 64)), ("c.jpg", (128, 64))]
    with pytest.raises(DataError, match="holds 2 images; name one"):
        read_pose_file(path)


def test_coco_v0_is_missing_and_v1_present():
    triples = np.zeros((17, 3))
    triples[5] = (42, 27, 1)  # left shoulder labelled but occluded
    triples[6] = (22, 27, 2)  # right shoulder visible
    triples[0] = (32, 14, 0)  # nose not labelled: missing even with coordinates
    obj = {"images": [{"id": 7, "file_name": "x.jpg"}],
           "annotations": [{"image_id": 7, "keypoints": triples.ravel().tolist()}]}  # fmt: skip
    kp = from_coco(obj)
    assert kp[0].tolist() == [-1, -1]
    assert kp[5].tolist() == [27, 42] and kp[2].tolist() == [27, 22] and kp[1].tolist() == [27, 32]


def test_blazepose_round_trip(tmp_path):
    kp = partial_person()
    path = write_json(tmp_path / "d.json", to_blazepose_json(kp, (128, 64)))
    assert np.array_equal(read_pose_file(path), kp)
    assert np.array_equal(read_pose_file(path, fmt="blazepose"), kp)
    # the same landmarks as a (33, 3) array, and scaled onto a twice larger image
    lm = np.array([[p["x"], p["y"], p["visibility"]] for p in json.loads(path.read_text())["landmarks"]])
    assert np.array_equal(from_blazepose(lm, (128, 64)), kp)
    big = from_blazepose(lm, (256, 128))
    ok = kp[:, 0] >= 0
    assert np.array_equal(big[ok], kp[ok] * 2) and (big[~ok] == -1).all()


def test_patn_csv_rows_by_name(tmp_path):
    path = tmp_path / "ann.csv"
    write_annotations(path, {"e.jpg": partial_person().astype(int), "f.jpg": PERSON.astype(int)})
    assert np.array_equal(read_pose_file(path, person="f.jpg"), PERSON)
    with pytest.raises(DataError, match="holds 2 rows; name the image"):
        read_pose_file(path)
    write_annotations(path, {"e.jpg": partial_person().astype(int)})
    assert np.array_equal(read_pose_file(path), partial_person())


def test_scale_maps_pixel_centres_and_keeps_missing():
    kp = partial_person()
    up = scale_pose(kp, (128, 64), (256, 128))
    ok = kp[:, 0] >= 0
    assert np.allclose(up[ok], kp[ok] * 2 + 0.5) and (up[~ok] == -1).all()
    assert np.allclose(scale_pose(up, (256, 128), (128, 64)), kp)
    assert round_pose(np.array([[10.4, -3.0]] + [[-1, -1]] * 17), (128, 64))[0].tolist() == [-1, -1]
    assert round_pose(np.array([[10.6, 3.2]] + [[-1, -1]] * 17))[0].tolist() == [11, 3]


BAD_FILES = {
    "openpose": ({"people": [{"pose_keypoints_2d": [1.0] * 54}, {"pose_keypoints_2d": [1.0] * 50}]},
                 r"bad\.json: people\[1\]\.pose_keypoints_2d has 50 values, expected 54 \(COCO-18\) or 75"),
    "coco": ({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 2, "keypoints": [0] * 51}]},
             r"bad\.json: annotations\[0\]\.image_id 2 is not in images\[\]"),
    "blazepose": ({"image_size": [128, 64], "landmarks": [{"x": 0.5, "y": 0.5, "visibility": 1}] * 32
                   + [{"x": 0.5, "y": "top", "visibility": 1}]},
                  r"bad\.json: landmarks\[32\] holds 'top', expected finite numbers"),
}  # fmt: skip


@pytest.mark.parametrize("fmt", sorted(BAD_FILES))
def test_malformed_file_is_one_line_naming_file_and_entry(tmp_path, fmt):
    obj, message = BAD_FILES[fmt]
    path = write_json(tmp_path / "bad.json", obj)
    for given in (None, fmt):
        with pytest.raises(DataError, match=message) as err:
            read_pose_file(path, fmt=given)
        assert "\n" not in str(err.value)


def test_malformed_patn_csv_names_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("name:keypoints_y:keypoints_x\ng.jpg: [1, 2]: [3, 4]\n")
    with pytest.raises(DataError, match=r"bad\.csv:2: g\.jpg: keypoints_y has 2 values, expected 18") as err:
        read_pose_file(path)
    assert "\n" not in str(err.value)


def test_invalid_json_and_unknown_layout(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"people": [\n  {"pose_keypoints_2d": [1, 2,]}\n]}')
    with pytest.raises(DataError, match=r"broken\.json:2: not valid JSON"):
        read_pose_file(path)
    path = write_json(tmp_path / "other.json", {"something": 1})
    with pytest.raises(DataError, match="cannot tell the keypoint format"):
        read_pose_file(path)
