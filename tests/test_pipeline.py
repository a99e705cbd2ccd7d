"""PoseStylizerPipeline on small random models: people in a street photo, framing, every target kind, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from extras_helpers import need
from PIL import Image
from pipeline_helpers import full_body_sample, small_checkpoint, street_scene

import posestylizer
from posestylizer.errors import (
    CheckpointError,
    ConfigError,
    InputError,
    MissingKeypointsError,
    NoPersonError,
    PoseArrayError,
)
from posestylizer.inference import PoseStylizerPipeline
from posestylizer.inference.framing import FRAMINGS, ankle_bottom, face_top, torso_length
from posestylizer.keypoints.library import pose_names
from posestylizer.keypoints.maps import heatmaps
from posestylizer.keypoints.vocab import present
from posestylizer.results.protocol import image_to_tensor

need("mediapipe")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return small_checkpoint(tmp_path_factory.mktemp("pipe") / "generator")


@pytest.fixture(scope="module")
def pipe(ckpt):
    return PoseStylizerPipeline.from_pretrained(ckpt)


@pytest.fixture(scope="module")
def street():
    """A 360x480 street photo: a 260-px person at x=150 and a 200-px person at x=330."""
    return street_scene([(1, 150, 330, 260), (2, 330, 320, 200)])


def _same_person(found: np.ndarray, truth: np.ndarray) -> bool:
    """The estimate lies on the annotated person: median keypoint distance under 8% of their height (estimators
    and the synthetic annotations place the neck and hips a few pixels apart)."""
    ok = present(found) & present(truth)
    height = np.ptp(truth[present(truth), 0])
    return ok.sum() >= 8 and float(np.median(np.hypot(*(found[ok] - truth[ok]).T))) < 0.08 * height


def test_lazy_export_and_api(ckpt):
    assert posestylizer.PoseStylizerPipeline is PoseStylizerPipeline
    pipe = posestylizer.PoseStylizerPipeline.from_pretrained(ckpt.parent)  # a training run folder: its generator/
    assert pipe.size == (64, 32) and pipe.contract.heatmap_sigma == 3.0


def test_both_people_are_found_and_pickable(pipe, street):
    photo, truth = street
    people = pipe.find_people(photo)
    assert len(people) == 2
    assert _same_person(people[0].keypoints, truth[0])  # the taller one is the most prominent
    assert _same_person(people[1].keypoints, truth[1])
    default = pipe.appearance(photo)
    assert _same_person(default.photo_keypoints, truth[0])
    for index, point in ((0, (150, 200)), (1, (330, 220))):
        chosen = pipe.appearance(photo, person=point)
        assert _same_person(chosen.photo_keypoints, truth[index])
    boxed = pipe.appearance(photo, person=(280, 100, 380, 340))
    assert _same_person(boxed.photo_keypoints, truth[1])


def test_no_person(pipe, street):
    photo, _ = street
    empty = np.full_like(photo, 128)
    with pytest.raises(NoPersonError, match="no person found"):
        pipe.check_inputs(empty)
    with pytest.raises(NoPersonError, match="at point"):
        pipe.check_inputs(photo, person=(470, 20))


@pytest.mark.parametrize("person", [(-5000, 20), (20, 1e9), (-900, -900, -800, -700)])
def test_point_or_box_outside_the_photo_holds_nobody(pipe, street, person):
    """The clipped window is empty: one NoPersonError, never an estimator handed a 0-pixel image (found by
    hypothesis in test_hostile_properties: MediaPipe's framing divided by the zero height)."""
    with pytest.raises(NoPersonError, match="no person found"):
        pipe.check_inputs(street[0], person=person)


def test_half_body_photo_is_refused_naming_the_legs(pipe):
    from skimage import data as skdata  # a core dependency; its sample photos ship in the wheel
    with pytest.raises(MissingKeypointsError, match="no legs found.*r_hip.*l_ankle"):
        pipe(skdata.astronaut(), "front")


def test_framing_matches_the_training_images(pipe):
    """A dataset image's person, enlarged into a bigger photo, is cut out framed as the dataset frames people."""
    photo, truth = street_scene([(4, 240, 300, 250)], size=(340, 480))
    app = pipe.appearance(photo, source_keypoints=truth[0])
    h, w = pipe.size
    f = FRAMINGS["market"]
    kp = app.keypoints
    assert abs(face_top(kp) - f.face_top * h) <= 1.5
    torso_share = torso_length(kp) / h
    span_share = (ankle_bottom(kp) - face_top(kp)) / h
    assert max(torso_share / f.torso, span_share / f.span) == pytest.approx(1, abs=0.05)
    x0, y0, x1, y1 = app.crop_box.as_tuple()
    assert (x1 - x0) / (y1 - y0) == pytest.approx(w / h)


def test_person_at_the_border_is_padded_not_stretched(pipe):
    photo, truth = street_scene([(4, 30, 300, 250)], size=(340, 480))  # half outside on the left
    app = pipe.appearance(photo, source_keypoints=np.where(truth[0] < 0, -1, np.maximum(truth[0], 0)))
    x0, _, x1, _ = app.crop_box.as_tuple()
    assert x0 < 0  # the crop reaches outside the photo
    cols = round(-x0 / (x1 - x0) * pipe.size[1])
    assert cols >= 2
    left = app.crop[:, : cols - 1].astype(int)
    assert np.abs(left - left[:, :1]).max() <= 2  # padding repeats the border column: constant along each row


def test_render_is_the_generator_forward_and_batches_agree(pipe, street):
    photo, truth = street
    app = pipe.appearance(photo, source_keypoints=truth[0])
    poses = np.stack([pipe.target_keypoints(n, app) for n in ("front", "walking", "sitting")])
    batched = pipe.render(app, poses, batch_size=2)
    single = [pipe.render(app, p)[0] for p in poses]
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(batched, single))
    size, sigma = pipe.size, pipe.contract.heatmap_sigma
    with torch.no_grad():
        fake = pipe.generator(
            image_to_tensor(app.crop)[None].expand(3, -1, -1, -1),
            torch.from_numpy(heatmaps(app.keypoints, size, sigma))[None].expand(3, -1, -1, -1),
            torch.stack([torch.from_numpy(heatmaps(p, size, sigma)) for p in poses]),
        )
    expected = ((fake.clamp(-1, 1) + 1) / 2 * 255).permute(0, 2, 3, 1).numpy().astype(np.uint8)
    got = np.stack([np.asarray(im) for im in batched])
    assert np.abs(got.astype(int) - expected).max() <= 1


def _source(pipe):
    photo, truth = street_scene([(1, 240, 330, 280)], size=(360, 480))
    return photo, truth[0], pipe.appearance(photo, source_keypoints=truth[0])


def test_target_array_pixels_and_normalised_agree(pipe):
    photo, kp, _ = _source(pipe)
    _, target, _ = full_body_sample(5)
    target = (target // 2).astype(np.int64)  # a 128x64 annotation at the model's 64x32
    target[target < 0] = -1
    normalised = np.where(target >= 0, target / np.array([63.0, 31.0]), -1)
    a = pipe(photo, target, source_keypoints=kp)
    b = pipe(photo, normalised, source_keypoints=kp)
    assert np.array_equal(a.target_keypoints, target)  # arrays are used as given
    assert np.array_equal(a.target_keypoints, b.target_keypoints)
    assert a.target_kind == "array" and a.image.size == (32, 64)


def test_target_photo_is_retargeted_to_the_source_body(pipe, tmp_path):
    _, _, app = _source(pipe)
    tall, _ = street_scene([(7, 240, 350, 340)], size=(360, 480))  # a taller person, elsewhere
    path = tmp_path / "tall.png"
    Image.fromarray(tall).save(path)
    target = pipe.target_keypoints(path, app)
    assert torso_length(target) == pytest.approx(torso_length(app.keypoints), abs=1.5)
    assert ankle_bottom(target) == pytest.approx(ankle_bottom(app.keypoints), abs=1.5)
    assert pipe.target_keypoints(Image.fromarray(tall), app).tolist() == target.tolist()


def test_target_keypoint_files(pipe, tmp_path):
    from posestylizer.data.formats import write_annotations
    from posestylizer.keypoints import to_coco, to_openpose_json

    _, _, app = _source(pipe)
    _, truth = street_scene([(7, 240, 350, 340)], size=(360, 480))
    pose = truth[0].astype(np.int64)
    pose[1] = (pose[2] + pose[5]) // 2  # COCO has no neck: readers put it between the shoulders
    (tmp_path / "pose_keypoints.json").write_text(json.dumps(to_openpose_json(pose, (360, 480))))
    (tmp_path / "coco.json").write_text(json.dumps(to_coco([("street.png", pose, (360, 480))])))
    write_annotations(tmp_path / "pose.csv", [("street.png", pose)])
    results = [pipe.target_keypoints(tmp_path / name, app) for name in ("pose_keypoints.json", "coco.json", "pose.csv")]
    assert all(np.abs(r - results[0]).max() <= 1 for r in results)
    assert torso_length(results[0]) == pytest.approx(torso_length(app.keypoints), abs=1.5)


def test_every_library_pose_renders_inside_the_frame(pipe):
    _, _, app = _source(pipe)
    names = pose_names()
    assert len(names) >= 8 and {"front", "back", "left_profile", "right_profile", "walking", "arms_raised",
                                "arms_out", "sitting"} <= set(names)
    poses = np.stack([pipe.target_keypoints(n, app) for n in names])
    ok = poses >= 0
    assert ok.any(axis=2).sum(axis=1).min() >= 12
    assert (poses[..., 0][ok[..., 0]] < 64).all() and (poses[..., 1][ok[..., 1]] < 32).all()
    images = pipe.render(app, poses)
    assert len(images) == len(names) and all(im.size == (32, 64) for im in images)


def test_paste_back_changes_only_the_crop_box(pipe):
    photo, kp, _ = _source(pipe)
    result = pipe(photo, "arms_out", source_keypoints=kp, paste_back=True)
    out = np.asarray(result.image)
    assert out.shape == photo.shape
    x0, _, x1, _ = result.crop_box
    changed = np.flatnonzero((out != photo).any(axis=2).any(axis=0))
    assert changed.min() >= np.floor(x0) and changed.max() < np.ceil(x1)
    assert (out != photo).any()
    assert result.panel.size[1] >= 256 and result.panel.size[0] == 4 * result.panel.size[1] // 2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"target": np.zeros((17, 2))}, PoseArrayError, r"shape \(18, 2\)"),
        ({"target": np.full((18, 2), 500.0)}, PoseArrayError, r"keypoint 0 \(nose\).*outside the 64x32"),
        ({"target": np.full((18, 2), -1)}, PoseArrayError, "every keypoint is missing"),
        ({"target": "moonwalk"}, InputError, "no library pose of that name"),
        ({"target": "front", "source_keypoints": np.zeros((18, 3))}, PoseArrayError, "source_keypoints"),
        ({"target": "front", "person": (1, 2, 3)}, InputError, "point .* or a box"),
    ],
)
def test_check_inputs_errors_are_one_line(pipe, street, kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        pipe.check_inputs(street[0], **kwargs)
    assert "\n" not in str(info.value)


def test_bad_source_and_checkpoint_errors(pipe, ckpt, tmp_path):
    with pytest.raises(InputError, match=r"\(H, W, 3\) uint8"):
        pipe.check_inputs(np.zeros((64, 32, 3), np.float32))
    config = json.loads((ckpt / "config.json").read_text())
    del config["contract"]
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text(json.dumps(config))
    (old / "model.safetensors").write_bytes((ckpt / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="no input contract"):
        PoseStylizerPipeline.from_pretrained(old)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        PoseStylizerPipeline.from_pretrained(tmp_path / "missing")
    with pytest.raises(ConfigError, match="precision"):
        PoseStylizerPipeline.from_pretrained(ckpt, precision="fp8")


def test_authors_checkpoint_and_bf16(reference_dir, tmp_path):
    fixture = torch.load(reference_dir / "aps_market_ngf8_bnstats.pt", weights_only=True)
    torch.save(fixture["state_dict"], tmp_path / "latest_netG.pth")
    photo, truth = street_scene([(1, 240, 330, 280)], size=(360, 480))
    outs = {}
    for precision in ("fp32", "bf16"):
        pipe = PoseStylizerPipeline.from_pretrained(tmp_path / "latest_netG.pth", preset="market",
                                                    precision=precision)
        assert pipe.size == (128, 64) and pipe.contract.heatmap_sigma == 6.0
        outs[precision] = np.asarray(pipe(photo, "walking", source_keypoints=truth[0]).image).astype(int)
    assert outs["fp32"].shape == (128, 64, 3)
    assert np.abs(outs["fp32"] - outs["bf16"]).mean() < 8  # bf16 autocast: close to fp32, not equal


def test_fashion_framing_and_instance_norm(tmp_path):
    ckpt = small_checkpoint(tmp_path / "fashion", size=(64, 44), norm="instance", layout="fashion")
    pipe = PoseStylizerPipeline.from_pretrained(ckpt)
    photo, truth = street_scene([(1, 240, 330, 280)], size=(360, 480))
    result = pipe(photo, "sitting", source_keypoints=truth[0])
    x0, y0, x1, y1 = result.crop_box
    assert (x1 - x0) / (y1 - y0) == pytest.approx(44 / 64)
    assert result.image.size == (44, 64)
    assert abs(face_top(result.source_keypoints) - FRAMINGS["fashion"].face_top * 64) <= 1.5


def test_generator_without_contract_is_refused():
    from posestylizer.config import ModelConfig
    from posestylizer.models import Generator

    with pytest.raises(CheckpointError, match="no input contract"):
        PoseStylizerPipeline(Generator(ModelConfig(image_size=(64, 32), n_blocks=3, ngf=8)))
