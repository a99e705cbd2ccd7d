"""Property tests of the readers of user files: whatever the bytes, the answer is data or one UserError line.

Hypothesis writes annotation and pair CSVs (wrong separators, missing columns, wrong keypoint counts, NaN, huge
numbers, unicode, path-traversal names) and keypoint JSON of each format with hostile values. The promises:

- a reader returns well-formed values (names that are plain file names, finite in-range keypoints of shape (18, 2))
  or raises one :class:`~posestylizer.errors.UserError` whose message is one line naming the file;
- nothing else: no other exception type (a traceback for the user), no multi-line message.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from extras_helpers import need
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posestylizer.data.formats import MAX_COORD, parse_annotations, parse_pairs, read_annotations, read_pairs
from posestylizer.errors import UserError
from posestylizer.keypoints import read_pose_file, read_pose_records

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

NAMES = st.one_of(
    st.sampled_from(["0001_c1s1_000451_03.jpg", "../x.jpg", "../../etc/passwd", "/etc/hosts", "a/b.jpg", "a\\b.jpg",
                     "..", ".", "", " ", "naïve ümlaut.jpg", "人物.png", "x\x00.jpg", "x\n.jpg", "a:b.jpg", "a,b.jpg"]),
    st.text(max_size=20),
)
NUMBERS = st.one_of(
    st.integers(-2, 200), st.integers(-(10**30), 10**30), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([True, None, "3", [1], {"a": 1}]),
)
CELLS = st.one_of(
    st.lists(NUMBERS, min_size=16, max_size=20).map(lambda v: json.dumps(v)),  # json writes NaN / Infinity
    st.sampled_from(["[]", "", "[1, 2", "nan", "{}", "null", "[" + ", ".join(["1e400"] * 18) + "]"]),
    st.text(max_size=30),
)
SEPARATORS = st.sampled_from([":", ",", ";", "\t", ": ", "::"])


def _annotation_text(draw) -> str:
    sep = draw(SEPARATORS)
    header = draw(st.sampled_from(["name:keypoints_y:keypoints_x", "name,keypoints_y,keypoints_x", "name:keypoints_y",
                                   "", "from,to"]))
    rows = draw(st.lists(st.tuples(NAMES, CELLS, CELLS, st.booleans()), max_size=6))
    lines = [header] + [sep.join([n, y, x] if full else [n, y]) for n, y, x, full in rows]
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n", "\n\n\x00"]))


def _pairs_text(draw) -> str:
    sep = draw(st.sampled_from([",", ";", ":", "\t"]))
    header = draw(st.sampled_from(["from,to", ",from,to", "from;to", "to,from", "source,target", ""]))
    rows = draw(st.lists(st.lists(NAMES, min_size=1, max_size=3), max_size=6))
    return "\n".join([header] + [sep.join(r) for r in rows]) + "\n"


def _one_line(err: UserError, path) -> str:
    text = str(err)
    assert "\n" not in text and str(path) in text, text
    return text


def _written(path, text: str):
    """``text`` written to ``path`` (lone surrogates kept as bytes: a file need not be valid UTF-8)."""
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


def _plain_name(name: str) -> bool:
    return name not in ("", ".", "..") and not any(c in name for c in "/\\") and all(ord(c) >= 32 for c in name)


@SETTINGS
@given(text=st.data())
def test_annotation_csv_yields_plain_names_and_sane_keypoints_or_one_line(tmp_path, text):
    path = _written(tmp_path / "ann.csv", _annotation_text(text.draw))
    rows, problems = parse_annotations(path)
    for row in rows:
        assert _plain_name(row.name), row.name
        assert row.keypoints.shape == (18, 2) and row.keypoints.dtype == np.float32
        assert np.abs(row.keypoints).max() <= MAX_COORD
    for p in problems:
        assert "\n" not in str(p)
    try:
        read_annotations(path)
    except UserError as err:
        assert problems and _one_line(err, path)
    else:
        assert not problems


@SETTINGS
@given(text=st.data())
def test_pair_csv_yields_plain_names_or_one_line(tmp_path, text):
    path = _written(tmp_path / "pairs.csv", _pairs_text(text.draw))
    pairs, problems = parse_pairs(path)
    assert all(_plain_name(a) and _plain_name(b) for a, b, _ in pairs), pairs
    try:
        read_pairs(path)
    except UserError as err:
        assert problems and _one_line(err, path)


def test_traversal_names_are_refused_with_file_and_line(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("from,to\na.jpg,b.jpg\n../x.jpg,b.jpg\n", encoding="utf-8")
    with pytest.raises(UserError) as err:
        read_pairs(path)
    assert f"first: {path}:3: image name '../x.jpg' must be a file name inside the image folder" in str(err.value)
    ann = tmp_path / "ann.csv"
    ann.write_text("name:keypoints_y:keypoints_x\n/etc/passwd: " + json.dumps([1] * 18) + ": " + json.dumps([1] * 18)
                   + "\n", encoding="utf-8")
    assert "'/etc/passwd' must be a file name" in str(parse_annotations(ann)[1][0])


# ------------------------------------------------------------------------------------------------ keypoint JSON
def _triples(draw, n: int) -> list:
    return draw(st.one_of(st.lists(NUMBERS, min_size=3 * n - 2, max_size=3 * n + 2),
                          st.lists(st.floats(-5, 300), min_size=3 * n, max_size=3 * n)))


def _openpose(draw) -> dict:
    people = draw(st.lists(st.one_of(st.builds(dict, pose_keypoints_2d=st.just(_triples(draw, 18))),
                                     st.sampled_from([{}, None, [], {"pose_keypoints_2d": "x"}])), max_size=3))
    obj = {"version": 1.3, "people": people}
    if draw(st.booleans()):
        obj["image_size"] = draw(st.lists(NUMBERS, min_size=0, max_size=3))
    return obj


def _coco(draw) -> dict:
    images = [{"id": i, "file_name": draw(NAMES), "height": draw(NUMBERS), "width": draw(NUMBERS)}
              for i in range(1, draw(st.integers(1, 2)) + 1)]
    anns = [{"image_id": draw(st.sampled_from([1, 1, 1, 2, "1", None])), "keypoints": _triples(draw, 17)}
            for _ in range(draw(st.integers(0, 3)))]
    return {"images": images, "annotations": anns}


def _blazepose(draw):
    landmark = st.fixed_dictionaries({"x": NUMBERS, "y": NUMBERS, "visibility": NUMBERS})
    good = st.fixed_dictionaries({"x": st.floats(0, 1), "y": st.floats(0, 1), "visibility": st.floats(0, 1)})
    marks = draw(st.lists(st.one_of(landmark, good, good, good), min_size=33, max_size=33)
                 | st.lists(good, min_size=31, max_size=34))
    obj = {"landmarks": marks}
    if draw(st.booleans()):
        obj["image_size"] = draw(st.lists(NUMBERS, min_size=2, max_size=2))
    return obj if draw(st.booleans()) else [marks]


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["openpose", "coco", "blazepose"]))
def test_keypoint_json_of_each_format_reads_or_refuses_in_one_line(tmp_path, data, kind):
    obj = {"openpose": _openpose, "coco": _coco, "blazepose": _blazepose}[kind](data.draw)
    path = tmp_path / "pose_keypoints.json"
    path.write_text(json.dumps(obj), encoding="utf-8")  # NaN and Infinity are written as JSON's extensions
    for read in (lambda: [read_pose_file(path, image_size=(128, 64))],
                 lambda: [r.keypoints for r in read_pose_records(path, image_size=(128, 64))]):
        try:
            poses = read()
        except UserError as err:
            _one_line(err, path)
            continue
        for kp in poses:
            kp = np.asarray(kp, dtype=np.float64)
            assert kp.shape == (18, 2) and all(math.isfinite(v) for v in kp.ravel()), kp


# ------------------------------------------------------------------------------------------------ the server's fields
@pytest.fixture(scope="module")
def client(tmp_path_factory):
    need("fastapi")
    need("mediapipe")
    from fastapi.testclient import TestClient
    from server_helpers import person_photo, png, tiny_checkpoint

    from posestylizer.inference import PoseStylizerPipeline
    from posestylizer.server import create_app

    pipe = PoseStylizerPipeline.from_pretrained(tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny"))
    with TestClient(create_app(pipe, checkpoint_name="tiny", max_upload_bytes=100_000, max_pixels=200_000)) as c:
        yield c, png(person_photo(0, 0)[0])


KEYPOINT_FIELDS = st.one_of(
    st.lists(st.lists(NUMBERS, min_size=2, max_size=2), min_size=17, max_size=19).map(json.dumps),
    st.lists(st.tuples(st.integers(-1, 127), st.integers(-1, 63)), min_size=18, max_size=18).map(json.dumps),
    st.text(max_size=40),
)
PERSON_FIELDS = st.one_of(st.none(), st.text(max_size=20),
                          st.lists(st.floats(allow_nan=True), min_size=2, max_size=4).map(lambda v: ",".join(map(str, v))))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keypoints=KEYPOINT_FIELDS, person=PERSON_FIELDS, pose=st.one_of(st.none(), NAMES))
def test_server_fields_get_a_result_or_a_documented_4xx_in_one_line(client, keypoints, person, pose):
    c, photo = client
    data = {"target_pose": pose} if pose is not None else {"target_keypoints": keypoints}
    if person is not None:
        data["person"] = person
    r = c.post("/api/target-pose", files={"source": ("p.png", photo, "image/png")}, data=data)
    assert r.status_code in (200, 400, 422), (r.status_code, r.text)
    if r.status_code != 200:
        detail = r.json()["detail"]
        assert isinstance(detail, list) or "\n" not in detail, detail  # a list: FastAPI's own field validation
