"""Hostile JSON (nested 1,200 deep, a 5,000-digit integer, NaN) is a 4xx answer from the server and one error line
from a keypoint file, never a 500 or a traceback."""

from __future__ import annotations

import json

import pytest
from extras_helpers import need

need("fastapi")
need("mediapipe")

from fastapi.testclient import TestClient  # noqa: E402
from server_helpers import person_photo, png, tiny_checkpoint  # noqa: E402

from posestylizer.cli import main  # noqa: E402
from posestylizer.inference import PoseStylizerPipeline  # noqa: E402
from posestylizer.runtime.boundedjson import MAX_DEPTH, loads_bounded  # noqa: E402
from posestylizer.server import create_app  # noqa: E402

HOSTILE = {
    "deep": "[" * 1200 + "]" * 1200,
    "huge int": "[[" + "9" * 5000 + ", 1]]",
    "nan": "[[NaN, 1]]",
}


def test_bounds():
    assert loads_bounded("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert loads_bounded('{"a": "[[[[[[[[[[ not brackets"}') == {"a": "[[[[[[[[[[ not brackets"}
    assert loads_bounded("[1.5e300, -3, 12345678901234567890]") == [1.5e300, -3, 12345678901234567890]
    for text in HOSTILE.values():
        with pytest.raises(ValueError):
            loads_bounded(text)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    pipe = PoseStylizerPipeline.from_pretrained(tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny"))
    with TestClient(create_app(pipe, checkpoint_name="tiny", max_upload_bytes=200_000, max_pixels=200_000,
                               queue_size=2)) as c:
        yield c


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("route", ["/api/generate", "/api/target-pose"])
def test_server_answers_422(client, route, name):
    photo, _ = person_photo(0, 0)
    r = client.post(route, files={"source": ("p.png", png(photo), "image/png")},
                    data={"target_keypoints": HOSTILE[name]})
    assert r.status_code == 422, (r.status_code, r.text[:200])
    assert "target_keypoints" in r.json()["detail"]


@pytest.mark.parametrize("name", HOSTILE)
def test_keypoint_file_is_one_line(tmp_path, capsys, name):
    path = tmp_path / "pose.json"
    path.write_text(json.dumps({"people": []})[:-1] + ', "x": ' + HOSTILE[name] + "}")
    assert main(["pose", "import", str(path), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "Traceback" not in err, err
