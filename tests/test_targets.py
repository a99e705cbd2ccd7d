"""Typed pipeline targets and their one string rule; locate apart from encode; one person search and one file read
per call; the server's estimate endpoints never run the encoder; one ``person`` reader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from extras_helpers import need
from PIL import Image
from pipeline_helpers import small_checkpoint, street_scene

import posestylizer.inference.pipeline as pipeline_module
import posestylizer.inference.targets as targets_module
from posestylizer.errors import InputError
from posestylizer.inference import (
    Appearance,
    KeypointArray,
    KeypointFile,
    LibraryPose,
    Located,
    PoseFromPhoto,
    PoseStylizerPipeline,
    resolve_target,
)
from posestylizer.inference.inputs import parse_person
from posestylizer.keypoints import to_openpose_json


class FixedEstimator:
    """A stand-in pose estimator that reports the same person on every image, and counts its calls."""

    def __init__(self, keypoints: np.ndarray) -> None:
        self.keypoints, self.calls = np.asarray(keypoints), 0

    def __call__(self, image: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self.keypoints


@pytest.fixture(scope="module")
def scene():
    """A 360x480 photo of one person (260 px tall) and that person's true keypoints."""
    photo, truth = street_scene([(1, 240, 330, 260)], size=(360, 480))
    return photo, truth[0]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return small_checkpoint(tmp_path_factory.mktemp("targets") / "generator")


@pytest.fixture
def pipe(ckpt, scene):
    return PoseStylizerPipeline.from_pretrained(ckpt, estimator=FixedEstimator(scene[1]))


def _write_pose_json(path: Path, kp: np.ndarray, size=(360, 480)) -> Path:
    path.write_text(json.dumps(to_openpose_json(kp.astype(np.int64), size)))
    return path


# -- the one string rule


def test_a_library_name_is_the_library_whatever_the_working_directory_holds(tmp_path, monkeypatch, scene):
    monkeypatch.chdir(tmp_path)
    _write_pose_json(tmp_path / "walking", scene[1])
    _write_pose_json(tmp_path / "walking.json", scene[1])
    assert resolve_target("walking") == LibraryPose("walking")
    assert resolve_target("library:walking") == LibraryPose("walking")
    assert resolve_target("walking.json") == KeypointFile(Path("walking.json"))
    with pytest.raises(InputError, match="not a keypoint file"):
        resolve_target("./walking")  # a path (it has a '/'): the file, which has no keypoint-file extension
    with pytest.raises(InputError, match="not a keypoint file"):
        resolve_target(Path("walking"))  # a Path is always a path


def test_strings_that_fit_no_target_are_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="'moonwalk': no such file and no library pose of that name"):
        resolve_target("moonwalk")
    with pytest.raises(InputError, match=r"'moonwalk': no library pose of that name \(library: .*walking"):
        resolve_target("library:moonwalk")
    with pytest.raises(InputError, match="'missing.json': no such file"):
        resolve_target("missing.json")
    with pytest.raises(InputError, match="got dict"):
        resolve_target({"pose": 1})


def test_values_and_typed_targets(tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(photo)
    assert isinstance(resolve_target(str(photo)), PoseFromPhoto) and resolve_target(str(photo)).image == photo
    assert isinstance(resolve_target(np.zeros((8, 8, 3), np.uint8)), PoseFromPhoto)
    assert isinstance(resolve_target(Image.new("RGB", (8, 8))), PoseFromPhoto)
    assert isinstance(resolve_target(np.zeros((18, 2))), KeypointArray)
    assert isinstance(resolve_target([[0, 0]] * 18), KeypointArray)
    assert KeypointFile("a.json") == KeypointFile(Path("a.json")) and KeypointFile("a.json").kind == "file"
    typed = KeypointFile(tmp_path / "never-read.json")
    assert resolve_target(typed) is typed


def test_a_file_named_like_a_library_pose_does_not_change_the_result(pipe, scene, tmp_path, monkeypatch):
    photo, kp = scene
    plain = pipe(photo, "walking", source_keypoints=kp)
    monkeypatch.chdir(tmp_path)
    other = kp.copy()
    other[[9, 10]] -= (40, 0)  # a different pose (right knee lifted), so reading the file would show
    _write_pose_json(tmp_path / "walking", other)
    shadowed = pipe(photo, "walking", source_keypoints=kp)
    assert shadowed.target_kind == "library"
    assert np.array_equal(shadowed.target_keypoints, plain.target_keypoints)
    assert np.array_equal(np.asarray(shadowed.image), np.asarray(plain.image))
    by_file = pipe(photo, KeypointFile(_write_pose_json(tmp_path / "w.json", other)), source_keypoints=kp)
    assert not np.array_equal(by_file.target_keypoints, plain.target_keypoints)  # the file is another pose


# -- read once, search once


def test_a_keypoint_file_is_read_once_per_call(pipe, scene, tmp_path, monkeypatch):
    photo, kp = scene
    path = _write_pose_json(tmp_path / "pose.json", kp)
    reads = []
    real = targets_module.read_pose_file
    monkeypatch.setattr(targets_module, "read_pose_file", lambda p, **kw: reads.append(p) or real(p, **kw))
    result = pipe(photo, str(path), source_keypoints=kp)
    assert result.target_kind == "file" and len(reads) == 1
    prepared = pipe.check_target(path)  # the CLI's order: checked before the model runs, then handed to the call
    again = pipe(photo, prepared, source_keypoints=kp)
    assert len(reads) == 2 and np.array_equal(again.target_keypoints, result.target_keypoints)


def test_a_prepared_target_is_prepared_anew_for_another_model_size(pipe, tmp_path, scene):
    photo, kp = scene
    bigger = PoseStylizerPipeline.from_pretrained(small_checkpoint(tmp_path / "big", size=(128, 64)),
                                                  estimator=FixedEstimator(kp))
    prepared = pipe.prepare_target("walking")
    assert pipe.prepare_target(prepared) is prepared
    again = bigger.prepare_target(prepared)
    assert again.size == (128, 64) and np.array_equal(again.keypoints, bigger.prepare_target("walking").keypoints)
    assert bigger(photo, prepared, source_keypoints=kp).image.size == (64, 128)


def test_a_call_searches_for_the_person_once_and_check_inputs_is_reused(pipe, scene, monkeypatch):
    photo, _ = scene
    searches = []
    real = pipeline_module.pick_person
    monkeypatch.setattr(pipeline_module, "pick_person", lambda *a, **kw: searches.append(1) or real(*a, **kw))
    result = pipe(photo, "walking")
    assert len(searches) == 1
    located = pipe.check_inputs(photo, "walking")
    assert len(searches) == 2 and isinstance(located, Located) and not isinstance(located, Appearance)
    calls = pipe.estimator.calls
    reused = pipe(located, "walking")
    assert len(searches) == 2 and pipe.estimator.calls == calls  # no second search, not even one estimator call
    assert np.array_equal(np.asarray(reused.image), np.asarray(result.image))
    with pytest.raises(InputError, match="already located"):
        pipe(located, "walking", person=(240, 200))


def test_locate_runs_no_encoder_and_encode_matches_appearance(pipe, scene, monkeypatch):
    photo, _ = scene
    codes = []
    real = pipe.generator.appearance_code
    monkeypatch.setattr(pipe.generator, "appearance_code", lambda *a: codes.append(1) or real(*a))
    located = pipe.locate(photo)
    assert codes == []
    encoded = pipe.encode(located)
    assert len(codes) == 1 and pipe.encode(encoded) is encoded
    whole = pipe.appearance(photo)
    assert np.array_equal(whole.code.numpy(), encoded.code.numpy())
    assert np.array_equal(whole.keypoints, located.keypoints) and whole.crop_box == located.crop_box


# -- person=


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), ("  ", None), ("330,220", (330.0, 220.0)), ((1, 2, 3, 4), (1.0, 2.0, 3.0, 4.0)),
    (np.array([5, 6]), (5.0, 6.0)),
])
def test_parse_person_reads_every_form(value, expected):
    assert parse_person(value) == expected


@pytest.mark.parametrize(("value", "match"), [
    ("12", r"--person '12': give a point X,Y or a box"), ((1, 2, 3), r"--person \(1, 2, 3\): give a point"),
    ("1,nan", "give a point"), ("x,y", "give a point"), ((5, 5, 1, 9), "box .* is empty"), (7, "give a point"),
])
def test_parse_person_errors_name_the_argument(value, match):
    with pytest.raises(InputError, match=match) as info:
        parse_person(value, "--person")
    assert "\n" not in str(info.value)


# -- the edges: server and CLI


def test_server_estimate_endpoints_never_run_the_encoder(ckpt, scene, monkeypatch):
    need("fastapi")
    from fastapi.testclient import TestClient

    from posestylizer.server import create_app

    photo, kp = scene
    pipe = PoseStylizerPipeline.from_pretrained(ckpt, estimator=FixedEstimator(kp))
    codes = []
    real = pipe.generator.appearance_code
    monkeypatch.setattr(pipe.generator, "appearance_code", lambda *a: codes.append(1) or real(*a))
    buf = __import__("io").BytesIO()
    Image.fromarray(photo).save(buf, format="PNG")
    source = ("street.png", buf.getvalue(), "image/png")
    app = create_app(pipe, checkpoint_name="small", max_upload_bytes=2_000_000, max_pixels=400_000, queue_size=2)
    with TestClient(app) as client:
        estimate = client.post("/api/estimate", files={"image": source})
        assert estimate.status_code == 200, estimate.text
        target = client.post("/api/target-pose", files={"source": source}, data={"target_pose": "walking"})
        assert target.status_code == 200, target.text
        assert codes == []
        generated = client.post("/api/generate", files={"source": source}, data={"target_pose": "walking"})
        assert generated.status_code == 200, generated.text
        assert len(codes) == 1  # the counter sees the encoder when it does run
    assert generated.json()["target_keypoints"] == target.json()["target_keypoints"]


def test_cli_target_name_ignores_a_file_of_that_name(ckpt, tmp_path, monkeypatch, capsys):
    need("mediapipe")
    from posestylizer.cli import main

    photo, truth = street_scene([(1, 240, 330, 260)], size=(360, 480))
    Image.fromarray(photo).save(tmp_path / "street.png")
    args = ["generate", "--checkpoint", str(ckpt), "--source", str(tmp_path / "street.png"), "--target", "walking"]
    assert main(args + ["--out", str(tmp_path / "plain.png")]) == 0
    monkeypatch.chdir(tmp_path)
    _write_pose_json(tmp_path / "walking", truth[0])
    assert main(args + ["--out", str(tmp_path / "shadowed.png")]) == 0
    assert "library target" in capsys.readouterr().out
    assert np.array_equal(np.asarray(Image.open(tmp_path / "plain.png")),
                          np.asarray(Image.open(tmp_path / "shadowed.png")))


def test_a_target_photo_with_nobody_is_named_as_the_target(ckpt, scene, tmp_path):
    from posestylizer.errors import NoPersonError
    from posestylizer.keypoints.vocab import missing_pose

    def estimator(image):  # the scene's person in the scene, nobody in the empty room
        return scene[1] if image.shape[:2] == scene[0].shape[:2] else missing_pose()

    pipe = PoseStylizerPipeline.from_pretrained(ckpt, estimator=estimator)
    empty = tmp_path / "empty_room.png"
    Image.new("RGB", (96, 160), (235, 235, 235)).save(empty)
    with pytest.raises(NoPersonError, match=r"^target photo .*empty_room\.png: no person found"):
        pipe(scene[0], str(empty))
