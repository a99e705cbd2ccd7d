"""Pose estimators: BlazePose -> COCO-18 mapping, MediaPipe on a real photo, OpenPose network and PAF decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from posestylizer.errors import ConfigError, WeightsError
from posestylizer.estimators import get_estimator
from posestylizer.estimators.mediapipe_backend import (
    LANDMARK_MODELS,
    blazepose_to_coco18,
    crop_roi,
    frame_image,
    inside,
)
from posestylizer.estimators.openpose import (
    LIMB_PAF,
    LIMBS,
    OpenPoseBody,
    OpenPoseEstimator,
    decode,
    load_openpose_body,
    paper_scales,
    true_scales,
)
from posestylizer.metrics.pckh import pckh_image, pckh_score

# An upright Market-size person (y, x), all 18 keypoints.
PERSON = np.array([
    [14, 32], [26, 32], [27, 22], [44, 19], [60, 18], [27, 42], [44, 45], [60, 46], [64, 25], [88, 25],
    [112, 25], [64, 39], [88, 39], [112, 39], [12, 29], [12, 35], [13, 26], [13, 38],
])  # fmt: skip


def render_maps(people, size, sigma=2.0, half_width=2.0):
    """Ideal network outputs at image resolution: a Gaussian per keypoint, unit vectors along each limb's PAF."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    heat, paf = np.zeros((h, w, 19)), np.zeros((h, w, 38))
    for kp in people:
        kp = np.asarray(kp)
        for i, (y, x) in enumerate(kp):
            if y >= 0:
                heat[:, :, i] = np.maximum(heat[:, :, i], np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * sigma**2)))
        for (a, b), (cx, cy) in zip(LIMBS, LIMB_PAF):
            if kp[a, 0] < 0 or kp[b, 0] < 0:
                continue
            d = np.array([kp[b, 1] - kp[a, 1], kp[b, 0] - kp[a, 0]], dtype=np.float64)
            length = np.hypot(*d)
            u = d / length
            px, py = xx - kp[a, 1], yy - kp[a, 0]
            along, across = px * u[0] + py * u[1], np.abs(px * u[1] - py * u[0])
            on = (along >= -half_width) & (along <= length + half_width) & (across <= half_width)
            paf[on, cx], paf[on, cy] = u[0], u[1]
    heat[:, :, 18] = 1 - heat[:, :, :18].max(axis=2)
    return heat, paf


def test_decode_recovers_one_person_exactly():
    heat, paf = render_maps([PERSON], (128, 64))
    assert (decode(heat, paf) == PERSON).all()


def test_decode_picks_the_strongest_of_two_people_and_marks_missing_parts():
    partial = PERSON.copy()
    partial[[4, 7, 16, 17]] = -1
    other = PERSON.copy()
    other[:, 1] += 70  # a second, complete person to the right
    heat, paf = render_maps([partial, other], (128, 140))
    assert (decode(heat, paf) == other).all()
    heat, paf = render_maps([partial], (128, 64))
    assert (decode(heat, paf) == partial).all()


def test_decode_without_people_is_all_missing():
    heat, paf = np.zeros((64, 32, 19)), np.zeros((64, 32, 38))
    assert (decode(heat, paf) == -1).all()
    # Parts with no limb evidence are not assembled into a person (fewer than 4 parts / no PAF support).
    heat, _ = render_maps([PERSON], (128, 64))
    assert (decode(heat, np.zeros((128, 64, 38))) == -1).all()


def test_paper_scales_reproduce_python2_division():
    assert paper_scales(128) == [1.4375, 2, 4.3125, 5]
    assert paper_scales(256) == [0.71875, 1, 2.15625, 2]
    assert true_scales(128) == [1.4375, 2.875, 4.3125, 5.75]


def _pytorch_openpose_state(net: OpenPoseBody) -> dict[str, torch.Tensor]:
    """The keys of the common PyTorch conversion (body_pose_model.pth): model0.<caffe>, model<stage>_<branch>.<caffe>."""
    out = {}
    for path, tensor in net.state_dict().items():
        parts = path.split(".")
        prefix = "model0" if parts[0] == "front" else f"model{int(parts[1]) + 1}_{parts[2][1]}"
        out[f"{prefix}.{parts[-2]}.{parts[-1]}"] = tensor.clone()
    return out


@pytest.fixture(scope="module")
def openpose_file(tmp_path_factory):
    torch.manual_seed(3)
    net = OpenPoseBody()
    path = tmp_path_factory.mktemp("openpose") / "body_pose_model.pth"
    torch.save(_pytorch_openpose_state(net), path)
    return path, net


def test_openpose_network_loads_user_file_and_runs(openpose_file):
    path, original = openpose_file
    est = get_estimator("openpose", weights=path, scales=[1.0])
    net = est.net
    assert sum(p.numel() for p in net.parameters()) == 52_311_446  # the COCO body model
    x = torch.randn(1, 3, 48, 32)
    paf, heat = net(x)
    assert paf.shape == (1, 38, 6, 4) and heat.shape == (1, 19, 6, 4)
    assert torch.equal(paf, original.eval()(x)[0])
    image = np.random.default_rng(0).integers(0, 256, (48, 32, 3), dtype=np.uint8)
    heat_maps, pafs = est.maps(image)
    assert heat_maps.shape == (48, 32, 19) and pafs.shape == (48, 32, 38)
    kp = est(image)
    assert kp.shape == (18, 2) and kp.dtype == np.float32


def test_openpose_loads_the_authors_keras_h5_layout(openpose_file, tmp_path):
    import h5py

    _, original = openpose_file
    path = tmp_path / "pose_estimator.h5"
    with h5py.File(path, "w") as f:  # Keras 2 save_model layout: model_weights/<layer>/<layer>/kernel:0, bias:0
        for caffe, module_path in original.caffe_names().items():
            conv = original.get_submodule(module_path)
            g = f.create_group(f"model_weights/{caffe}/{caffe}")
            g["kernel:0"] = conv.weight.detach().numpy().transpose(2, 3, 1, 0)  # (kh, kw, in, out)
            g["bias:0"] = conv.bias.detach().numpy()
    net = load_openpose_body(path)
    x = torch.randn(1, 3, 24, 16)
    assert torch.equal(net(x)[1], original.eval()(x)[1])


def test_openpose_weight_errors(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        OpenPoseEstimator(weights=tmp_path / "body_pose_model.pth")
    with pytest.raises(WeightsError, match="needs its weights file"):
        OpenPoseEstimator()
    other = tmp_path / "vgg.pth"
    torch.save({"conv1_1.weight": torch.zeros(64, 3, 3, 3), "conv1_1.bias": torch.zeros(7)}, other)
    with pytest.raises(WeightsError, match="not the OpenPose COCO body model"):
        load_openpose_body(other)


def test_blazepose_mapping_rules():
    lm = np.zeros((33, 3))
    lm[:, 0], lm[:, 1], lm[:, 2] = 0.5, 0.5, 0.9
    lm[11] = (0.6, 0.3, 0.9)  # left shoulder
    lm[12] = (0.4, 0.3, 0.9)  # right shoulder
    lm[14] = (0.3, 0.45, 0.2)  # right elbow, not visible enough
    lm[16] = (1.2, 0.6, 0.9)  # right wrist outside the image
    kp = blazepose_to_coco18(lm, (100, 50))
    assert tuple(kp[2]) == (30, 20) and tuple(kp[5]) == (30, 30)  # (y, x) pixels
    assert tuple(kp[1]) == (30, 25)  # neck = shoulder midpoint
    assert tuple(kp[3]) == (-1, -1) and tuple(kp[4]) == (-1, -1)
    lm[11, 2] = 0.1  # one shoulder hidden -> no neck
    assert tuple(blazepose_to_coco18(lm, (100, 50))[1]) == (-1, -1)


# Positions checked by eye on skimage.data.astronaut() (512x512), (y, x) pixels: the tip of the nose, the base of
# the neck inside the suit's collar ring, the two shoulders of the suit, and her right elbow at the left image
# border. Her left elbow is hidden behind the helmet, so it is expected missing.
ASTRONAUT = {0: (128, 222), 1: (248, 210), 2: (240, 113), 5: (257, 306), 3: (414, 65)}


def test_mediapipe_on_the_astronaut_photo():
    from skimage import data

    est = get_estimator("mediapipe")
    kp = est(data.astronaut())
    # Her legs run out of the frame, so the detector's result is kept (a whole-image region would invent a body).
    assert est.last_source == "detector"
    for index, (y, x) in ASTRONAUT.items():
        assert np.hypot(kp[index, 0] - y, kp[index, 1] - x) <= 6, (index, kp[index])
    assert tuple(kp[6]) == (-1, -1)  # left elbow, occluded
    assert tuple(kp[11]) == (-1, -1)  # hips are below the frame/helmet: not guessed
    est.close()


def test_pose_estimate_cli_writes_patn_annotation(tmp_path, capsys):
    from skimage import data

    from posestylizer.cli import main
    from posestylizer.data.formats import read_annotations

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(data.astronaut()).save(folder / "astronaut.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    out = tmp_path / "annotation.csv"
    assert main(["pose", "estimate", str(folder), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "mediapipe: 1 image(s), a person found in 1" in printed and "broken.jpg" in printed
    assert out.read_text().splitlines()[0] == "name:keypoints_y:keypoints_x"
    kp = read_annotations(out)["astronaut.png"]
    assert np.hypot(*(kp[0] - ASTRONAUT[0])) <= 6
    assert main(["pose", "estimate", str(tmp_path / "nothing"), "--out", str(out)]) == 2


def test_framing_maps_canvas_coordinates_back_to_original_pixels():
    image = np.zeros((128, 64, 3), dtype=np.uint8)
    image[37, 21] = 255  # one white pixel: continuous centre (37.5, 21.5)
    canvas, framing = frame_image(image, min_height=256, pad=0.25)
    # 128x64 -> 256x128 (x2), centred in a round(256 / 0.75) = 341 square: 42 rows above, 106 columns left.
    assert canvas.shape == (341, 341, 3)
    assert (framing.top, framing.left, framing.scale_y, framing.scale_x) == (42, 106, 2.0, 2.0)
    assert canvas[:42].max() == 0 and canvas[:, :106].max() == 0 and canvas[298:].max() == 0
    # The dot's intensity centroid in the canvas, normalised as MediaPipe reports points, maps back to the pixel.
    weight = canvas[..., 0].astype(np.float64)
    yy, xx = np.mgrid[0:341, 0:341] + 0.5
    cy, cx = (weight * yy).sum() / weight.sum(), (weight * xx).sum() / weight.sum()
    back = framing.to_original(np.array([[cx / 341, cy / 341, 0.9]]))
    assert np.allclose(back[0, :2] * (64, 128), (21.5, 37.5), atol=0.02) and back[0, 2] == 0.9
    # A landmark exactly at a known canvas position, through the whole mapping to COCO-18 pixels.
    lm = np.zeros((33, 3))
    lm[:, 2] = 0.9
    lm[0, :2] = ((106 + 2 * 20.75) / 341, (42 + 2 * 60.25) / 341)  # the nose at original (y, x) = (60.25, 20.75)
    assert tuple(blazepose_to_coco18(framing.to_original(lm), (128, 64))[0]) == (60, 21)
    # No upscaling and no border: the image itself, identity mapping.
    same, ident = frame_image(image, min_height=0, pad=0.0)
    assert same is image and np.allclose(ident.to_original(lm), lm)


def test_crop_region_and_inside_rule():
    assert crop_roi((128, 64)) == (0.5, 0.5, 1.3 * 128 / 64, 1.3)
    assert crop_roi((100, 200), scale=1.0) == (0.5, 0.5, 1.0, 2.0)
    lm = np.full((33, 3), 0.5)
    assert inside(lm)
    lm[27, 1] = 1.04  # an ankle just below the border: still the crop's person
    assert inside(lm)
    lm[27, 1] = 1.3  # legs out of the frame: a portrait, not a person crop
    assert not inside(lm)


def _synthetic_people(halve: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    from posestylizer.data.synth import render_sample

    out = []
    for identity in (0, 2, 3, 5):
        image, kp, _, _ = render_sample("market", identity, 0)
        if halve:  # a 64x32 crop: area downscale, pixel k lands in pixel k // 2
            image = np.asarray(Image.fromarray(image).resize((32, 64), Image.BOX))
            kp = np.where(kp >= 0, kp // 2, kp)
        out.append((image, kp))
    return out


@pytest.fixture(scope="module")
def mediapipe_default():
    est = get_estimator("mediapipe")
    yield est
    est.close()


@pytest.mark.parametrize("halve", [False, True], ids=["128x64", "64x32"])
def test_mediapipe_finds_small_synthetic_people(mediapipe_default, halve):
    scores = []
    for image, kp in _synthetic_people(halve):
        pred = mediapipe_default(image)
        assert mediapipe_default.last_source is not None
        assert pred.shape == (18, 2) and pred.dtype == np.float32
        scores.append(pckh_image(kp, pred))
    assert pckh_score(scores)[2] >= 0.55


def test_mediapipe_options_switch_the_crop_region_off_and_on():
    image, _ = _synthetic_people(halve=True)[0]
    detector_only = get_estimator("mediapipe", roi="detect")
    assert (detector_only(image) == -1).all() and detector_only.last_source is None  # the detector misses her
    detector_only.close()
    crop_only = get_estimator("mediapipe", roi="crop")
    assert (crop_only(image) >= 0).any() and crop_only.last_source == "crop"
    crop_only.close()


def test_mediapipe_option_errors():
    import mediapipe

    with pytest.raises(ConfigError, match="roi='box'"):
        get_estimator("mediapipe", roi="box")
    with pytest.raises(ConfigError, match="pad=1"):
        get_estimator("mediapipe", pad=1.0)
    with pytest.raises(ConfigError, match="model_complexity=3"):
        get_estimator("mediapipe", model_complexity=3)
    folder = Path(mediapipe.__file__).parent / "modules" / "pose_landmark"
    for complexity in (0, 2):  # not in the 0.10.21 wheel; MediaPipe would try to download them
        if not (folder / LANDMARK_MODELS[complexity]).exists():
            with pytest.raises(ConfigError, match=f"{LANDMARK_MODELS[complexity]} is not in the installed wheel"):
                get_estimator("mediapipe", model_complexity=complexity)
