"""The REST API through FastAPI's TestClient, on a tiny untrained checkpoint and synthetic people."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from extras_helpers import need

need("fastapi")
need("mediapipe")

from fastapi.testclient import TestClient
from PIL import Image
from pipeline_helpers import street_scene
from server_helpers import jpeg, person_photo, png, tiny_checkpoint

from posestylizer.inference import PoseStylizerPipeline
from posestylizer.keypoints.vocab import FLIP_INDEX, JOINT_COLORS, KEYPOINT_NAMES, SKELETON, present
from posestylizer.runtime import precision
from posestylizer.server import create_app

LIMIT = 100_000  # bytes per file: the synthetic photos are ~20 kB, the street photo 65 kB


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")


@pytest.fixture(scope="module")
def pipe(checkpoint):
    return PoseStylizerPipeline.from_pretrained(checkpoint)


@pytest.fixture(scope="module")
def client(pipe):
    app = create_app(pipe, checkpoint_name="tiny", max_upload_bytes=LIMIT, max_pixels=200_000, queue_size=2)
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def photo():
    return person_photo(0, 0)


def _pixels(body: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))


def test_contract_skeleton_library_page_and_openapi(client):
    contract = client.get("/api/contract").json()
    assert contract == {
        "checkpoint": "tiny", "preset": "market", "image_size": [128, 64], "heatmap_sigma": 6.0,
        "keypoints": "coco18-yx", "device": "cpu", "precision": "fp32",
        "limits": {"max_upload_bytes": LIMIT, "max_pixels": 200_000, "queue_size": 2},
    }  # fmt: skip
    skeleton = client.get("/api/skeleton").json()
    assert skeleton["names"] == list(KEYPOINT_NAMES) and skeleton["flip"] == list(FLIP_INDEX)
    assert [tuple(v) for v in skeleton["limbs"]] == list(SKELETON)
    assert [tuple(v) for v in skeleton["colors"]] == list(JOINT_COLORS)
    poses = client.get("/api/poses").json()["poses"]
    assert len(poses) >= 8 and {"front", "walking", "sitting"} <= {p["name"] for p in poses}
    for p in poses:
        kp = np.array(p["keypoints"])
        ok = present(kp)
        assert kp.shape == (18, 2) and ok.sum() >= 10
        assert (kp[ok] >= 0).all() and (kp[ok, 0] < 128).all() and (kp[ok, 1] < 64).all(), p["name"]
    page = client.get("/")
    assert page.status_code == 200 and "Pose studio" in page.text
    for asset in ("studio.js", "editor.js", "pose.js", "api.js", "studio.css"):
        assert client.get(f"/static/{asset}").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/api/estimate", "/api/generate", "/api/target-pose", "/api/poses", "/api/contract"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200


def test_contract_reports_the_precision_auto_chose(checkpoint, monkeypatch):
    monkeypatch.setattr(precision, "read_cpu_flags", lambda *a: frozenset({"avx2", "amx_bf16"}))
    pipe = PoseStylizerPipeline.from_pretrained(checkpoint, precision="auto")
    app = create_app(pipe, checkpoint_name="tiny", max_upload_bytes=LIMIT, max_pixels=200_000, queue_size=2)
    with TestClient(app) as c:
        assert c.get("/api/contract").json()["precision"] == "bf16"


def test_estimate_finds_the_synthetic_person(client, photo):
    image, truth = photo
    r = client.post("/api/estimate", files={"image": ("person.png", png(image), "image/png")})
    assert r.status_code == 200, r.text
    body = r.json()
    kp = np.array(body["keypoints"])
    both = present(kp) & present(truth)
    assert body["image_size"] == [128, 64] and both.sum() >= 14
    assert np.abs(kp[both] - truth[both]).mean() < 4  # pixels
    left, top, right, bottom = body["crop_box"]
    assert right > left and bottom > top and (bottom - top) / (right - left) == pytest.approx(2, rel=0.02)
    model = np.array(body["model_keypoints"])
    assert (present(model) == present(kp)).all() and body["missing"] == [
        KEYPOINT_NAMES[i] for i in np.flatnonzero(~present(kp))]


def test_person_picks_one_of_two_people(client):
    photo, truth = street_scene([(1, 150, 330, 260), (2, 330, 320, 200)])
    upload = {"image": ("street.jpg", jpeg(photo), "image/jpeg")}
    for person, index in ((None, 0), ("330,220", 1), ("280,100,380,340", 1)):
        body = client.post("/api/estimate", files=upload, data={"person": person} if person else {}).json()
        kp = np.array(body["keypoints"])
        both = present(kp) & present(truth[index])
        assert both.sum() >= 10 and np.median(np.abs(kp[both] - truth[index][both])) < 15, person
    nobody = client.post("/api/estimate", files=upload, data={"person": "470,20"})
    assert nobody.status_code == 422 and "person" in nobody.json()["detail"]


def test_generate_matches_the_pipeline_for_each_target_kind(client, pipe, photo):
    image, _ = photo
    files = {"source": ("person.png", png(image), "image/png")}
    target = np.array(client.get("/api/poses").json()["poses"][5]["keypoints"])
    r = client.post("/api/generate", files=files, data={"target_keypoints": json.dumps(target.tolist())})
    assert r.status_code == 200, r.text
    body = r.json()
    direct = pipe(image, target.astype(np.float64), retarget=False)
    assert np.array_equal(_pixels(__import__("base64").b64decode(body["image"])), np.asarray(direct.image))
    assert body["target_keypoints"] == target.tolist() and body["seconds"] > 0
    assert body["crop_box"] == pytest.approx(list(direct.crop_box), abs=0.01)
    panel = _pixels(__import__("base64").b64decode(body["panel"]))
    assert panel.shape[1] == 4 * panel.shape[0] // 2  # source | source pose | target pose | result

    as_png = client.post("/api/generate?output=image", files=files,
                         data={"target_keypoints": json.dumps(target.tolist())})
    assert as_png.headers["content-type"] == "image/png"
    assert np.array_equal(_pixels(as_png.content), np.asarray(direct.image))

    by_name = client.post("/api/generate", files=files, data={"target_pose": "walking"}).json()
    fitted = client.post("/api/target-pose", files=files, data={"target_pose": "walking"}).json()
    assert by_name["target_keypoints"] == fitted["target_keypoints"]
    other = png(person_photo(1, 2)[0])
    by_photo = client.post("/api/generate", files={**files, "target_image": ("other.png", other, "image/png")})
    assert by_photo.status_code == 200, by_photo.text
    assert present(np.array(by_photo.json()["target_keypoints"])).sum() >= 12


def _refused(client, status: int, *, endpoint="/api/estimate", files=None, data=None, params=None) -> str:
    r = client.post(endpoint, files=files, data=data, params=params)
    assert r.status_code == status, r.text
    return r.json()["detail"]


def test_every_refusal_is_a_clear_4xx(client, photo):
    image, _ = photo
    source = {"source": ("person.png", png(image), "image/png")}
    text = {"image": ("notes.txt", b"shopping list\n" * 20, "text/plain")}
    assert _refused(client, 415, files=text).startswith("image: notes.txt is not an image")
    big = {"image": ("big.png", png(np.random.default_rng(0).integers(0, 256, (240, 160, 3), np.uint8)), "image/png")}
    assert "MB; the server accepts files up to 0.1 MB" in _refused(client, 413, files=big)
    many = {"image": ("wide.png", png(np.zeros((300, 700, 3), np.uint8)), "image/png")}
    assert "700x300 = 0.2 megapixels; at most 0.2 megapixels are accepted" in _refused(client, 413, files=many)
    blank = {"image": ("wall.png", png(np.full((128, 64, 3), 128, np.uint8)), "image/png")}
    assert "no person" in _refused(client, 422, files=blank).lower()
    cut = {"image": ("cut.png", png(image)[:300], "image/png")}
    assert "damaged or truncated" in _refused(client, 400, files=cut)
    assert "exactly one target" in _refused(client, 400, endpoint="/api/generate", files=source)
    two = {"target_pose": "front", "target_keypoints": "[]"}
    assert "(got target_keypoints, target_pose)" in _refused(client, 400, endpoint="/api/generate", files=source,
                                                             data=two)
    for name in ("../../etc/passwd", "/etc/hosts", "nope"):
        detail = _refused(client, 422, endpoint="/api/generate", files=source, data={"target_pose": name})
        assert detail.startswith("target_pose: no library pose named") and "front" in detail
    assert "not JSON" in _refused(client, 422, endpoint="/api/generate", files=source,
                                  data={"target_keypoints": "[[1, 2],"})
    assert "18 [y, x] pairs" in _refused(client, 422, endpoint="/api/generate", files=source,
                                         data={"target_keypoints": "[[1, 2]]"})
    outside = [[500, 10]] + [[-1, -1]] * 17
    assert "outside the 128x64 image" in _refused(client, 422, endpoint="/api/generate", files=source,
                                                  data={"target_keypoints": json.dumps(outside)})
    assert "person 'x': give a point X,Y or a box" in _refused(client, 422, files={"image": source["source"]},
                                                               data={"person": "x"})
    assert _refused(client, 422, endpoint="/api/generate", files=source, data={"target_pose": "front"},
                    params={"output": "gif"})  # FastAPI's own validation answer
    # A body over the total cap (two files and the fields) is cut off by FastAPI's body-size guard.
    r = client.post("/api/estimate", files={"image": ("huge.png", b"\0" * (3 * LIMIT + 1_000_001), "image/png")})
    assert r.status_code == 413
