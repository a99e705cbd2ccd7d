"""Synthetic people: deterministic, PATN layout (passes `data check`), identity split, anatomical left/right."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import re

import numpy as np
import pytest
from PIL import Image

from posestylizer.cli import main
from posestylizer.data import check_dataset, get_layout, read_annotations, read_pairs, write_dataset
from posestylizer.data.synth import (
    background,
    background_path,
    mask_path,
    part_path,
    render_sample,
    sample_identity,
    sample_pose,
)
from posestylizer.data.synth.render import Renderer
from posestylizer.errors import DataError

MARKET_NAME = re.compile(r"^(\d{4})_c[1-6]s[1-6]_\d{6}_\d{2}\.jpg$")


def _digest(root):
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "market"
    summary = write_dataset(root, "market", identities=6, poses=4, seed=3)
    return root, summary


def test_layout_and_counts(market):
    root, summary = market
    layout = get_layout("market")
    assert summary.images == {"train": 20, "test": 4} and summary.identities == {"train": 5, "test": 1}
    for phase in ("train", "test"):
        ann = read_annotations(layout.annotation_path(root, phase))
        assert len(ann) == summary.images[phase]
        for name, kp in ann.items():
            assert MARKET_NAME.match(name), name
            with Image.open(root / phase / name) as img:
                assert img.format == "JPEG" and img.size == (64, 128)
            mask = np.asarray(Image.open(root / "masks" / phase / name.replace(".jpg", ".png")))
            assert (
                mask.shape == (128, 64) and set(np.unique(mask)) <= {0, 255} and 0.1 < (mask > 0).mean() < 0.6
            )
            assert Image.open(root / "backgrounds" / phase / name.replace(".jpg", ".png")).size == (64, 128)
            assert kp.shape == (18, 2)
        pairs = read_pairs(layout.pairs_path(root, phase))
        assert len(pairs) == summary.pairs[phase] > 0
        assert all(layout.identity(a) == layout.identity(b) and a != b for a, b in pairs)
    train_ids = {layout.identity(n) for n in read_annotations(layout.annotation_path(root, "train"))}
    test_ids = {layout.identity(n) for n in read_annotations(layout.annotation_path(root, "test"))}
    assert len(train_ids) == 5 and len(test_ids) == 1 and not train_ids & test_ids
    meta = json.loads((root / "synth.json").read_text())
    assert meta["seed"] == 3 and meta["identities"] == 6 and meta["poses"] == 4


def test_written_dataset_passes_check(market, capsys):
    root, _ = market
    assert check_dataset(root, "market").ok
    assert main(["data", "check", str(root)]) == 0
    assert "OK" in capsys.readouterr().out


def test_deterministic_for_a_seed(tmp_path, market):
    root, _ = market
    write_dataset(tmp_path / "again", "market", identities=6, poses=4, seed=3)
    assert _digest(tmp_path / "again") == _digest(root)
    write_dataset(tmp_path / "other", "market", identities=6, poses=4, seed=4)
    assert _digest(tmp_path / "other") != _digest(root)


def _written(root, layout):
    """{image name: (phase, keypoints)} of a written dataset."""
    return {
        name: (phase, kp)
        for phase in ("train", "test")
        for name, kp in read_annotations(layout.annotation_path(root, phase)).items()
    }


def _files(root, phase, name):
    """The image, mask and background plate written for image ``name``."""
    return root / phase / name, mask_path(root, phase, name), background_path(root, phase, name)


def test_people_do_not_depend_on_dataset_size(tmp_path, market):
    # The demo and the benchmarks draw different counts: person i, image k of a seed must be the same files in a
    # small dataset as in a larger one (only the train/test split may differ).
    large, _ = market  # 6 people x 4 images, seed 3
    small = tmp_path / "small"
    write_dataset(small, "market", identities=3, poses=2, seed=3)
    layout = get_layout("market")
    small_images, large_images = _written(small, layout), _written(large, layout)
    assert len(small_images) == 6 and {layout.identity(n) for n in small_images} == {"0001", "0002", "0003"}
    for name, (phase, kp) in small_images.items():
        assert name in large_images, name
        other_phase, other_kp = large_images[name]
        assert np.array_equal(kp, other_kp), name
        for path, other in zip(_files(small, phase, name), _files(large, other_phase, name)):
            assert path.read_bytes() == other.read_bytes(), path


def test_render_sample_is_what_write_dataset_wrote(market):
    root, _ = market
    layout = get_layout("market")
    images = _written(root, layout)
    for person, k in ((0, 0), (4, 3)):
        image, kp, mask, plate = render_sample("market", person, k, seed=3)
        # the k-th image of a person in the annotation file is image k (names are written in pose order)
        name = [n for n in images if layout.identity(n) == f"{person + 1:04d}"][k]
        phase, written_kp = images[name]
        assert np.array_equal(kp, written_kp)
        assert np.array_equal(np.asarray(Image.open(mask_path(root, phase, name))) > 127, mask)
        assert np.array_equal(np.asarray(Image.open(background_path(root, phase, name))), plate)
        jpeg = io.BytesIO()
        Image.fromarray(image).save(jpeg, format="JPEG", quality=95)
        assert jpeg.getvalue() == (root / phase / name).read_bytes()


def test_fashion_preset(tmp_path):
    root = tmp_path / "fashion"
    write_dataset(root, "fashion", identities=3, poses=3, seed=0)
    layout = get_layout("fashion")
    ann = read_annotations(layout.annotation_path(root, "train"))
    for name in ann:
        assert re.match(r"^fashion(WO)?MEN[A-Za-z_]+id\d{10}_\d+(front|back|side)\.jpg$", name), name
        with Image.open(root / "train" / name) as img:
            assert img.size == (176, 256)
    assert check_dataset(root, "fashion").ok


def test_some_keypoints_are_missing_but_people_are_pairable(tmp_path):
    summary = write_dataset(tmp_path, "market", identities=10, poses=6, seed=0)
    kps = np.stack(list(read_annotations(tmp_path / "market-annotation-train.csv").values()))
    missing = (kps == -1).all(axis=2)
    assert 0.02 < missing.mean() < 0.4  # occluded, out-of-frame and missed points, as in real annotations
    assert missing[:, 1:14].mean() < 0.2  # the body joints are mostly there
    assert summary.pairs["train"] > 0.5 * 8 * 6 * 5


def _pose_with(yaw: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    pose = sample_pose(rng, "market")
    return dataclasses.replace(pose, kind="stand", yaw=yaw, lean=0.0, scale=0.9, top=0.03, center=0.5,
                               arm_abduct=(0.2, 0.2), arm_flex=(0.0, 0.0), elbow=(0.2, 0.2))  # fmt: skip


@pytest.mark.parametrize(("yaw", "view"), [(0.0, "front"), (math.pi, "back"), (math.pi / 2, "right"),
                                           (-math.pi / 2, "left")])  # fmt: skip
def test_left_right_semantics(yaw, view):
    ident = dataclasses.replace(sample_identity(0, 0), hair_style="short")
    plate = background("market", (128, 64), 0, pad=0)
    keypoints = []
    for trial in range(5):  # a keypoint is sometimes dropped at random, as an estimator would
        _, kp, _ = Renderer((128, 64)).render(ident, _pose_with(yaw), plate, np.random.default_rng(trial))
        keypoints.append(kp)
    kp = max(keypoints, key=lambda k: (k != -1).sum())
    x = kp[:, 1]
    r_sh, l_sh, nose, neck = 2, 5, 0, 1
    if view == "front":  # the person's right side is on the image's left
        assert x[r_sh] < x[neck] < x[l_sh] and kp[nose, 0] != -1
    elif view == "back":
        assert x[l_sh] < x[neck] < x[r_sh] and kp[nose, 0] == -1 and kp[14, 0] == -1 and kp[15, 0] == -1
    else:  # profile: the nose points where the person faces; the far eye is hidden
        assert (x[nose] > x[neck]) == (view == "right")
        far_eye = 15 if view == "right" else 14  # facing image right shows the right side of the face
        assert kp[far_eye, 0] == -1


def test_mask_and_background_explain_the_image():
    image, _, mask, bg = render_sample("market", 1, 0, seed=0)
    diff = np.abs(image.astype(int) - bg.astype(int)).sum(axis=2)
    assert np.median(diff[~mask]) == 0  # outside the person the image is the plate
    assert (diff[mask] > 0).mean() > 0.9


def test_bad_arguments(tmp_path):
    with pytest.raises(DataError, match="identities"):
        write_dataset(tmp_path, identities=1)
    with pytest.raises(DataError, match="poses"):
        write_dataset(tmp_path, poses=1)
    with pytest.raises(DataError, match="preset"):
        write_dataset(tmp_path, preset="coco")


def test_cli_synth_with_grid(tmp_path, capsys):
    grid = tmp_path / "grid.png"
    assert (
        main(["data", "synth", str(tmp_path / "d"), "--identities", "3", "--poses", "2", "--grid", str(grid)])
        == 0
    )
    assert "6 images of 3 people" in capsys.readouterr().out
    assert Image.open(grid).size == (2 * 66 * 2, 2 * 130 * 2)  # train people x poses, 1-px borders, 2x


def test_rewriting_replaces_an_earlier_synthetic_dataset_only(tmp_path):
    write_dataset(tmp_path / "d", identities=4, poses=3, seed=0)
    write_dataset(tmp_path / "d", identities=2, poses=2, seed=0)
    assert (
        len(list((tmp_path / "d" / "train").iterdir())) + len(list((tmp_path / "d" / "test").iterdir())) == 4
    )
    assert len(list((tmp_path / "d" / "masks" / "train").iterdir())) == 2
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "photo.jpg").write_bytes(b"x")
    with pytest.raises(DataError, match="not a synthetic dataset"):
        write_dataset(tmp_path / "mine", identities=2, poses=2)
    assert (tmp_path / "mine" / "photo.jpg").exists()


def test_part_maps_tile_the_mask_and_name_the_limbs(market):
    root, _ = market
    layout = get_layout("market")
    seen, on_part = set(), {1: [], 3: [], 4: []}
    for name, (phase, kp) in _written(root, layout).items():
        parts = np.asarray(Image.open(part_path(root, phase, name)))
        mask = np.asarray(Image.open(mask_path(root, phase, name))) > 127
        assert parts.dtype == np.uint8 and np.array_equal(parts > 0, mask), name  # the parts tile the mask
        assert set(np.unique(parts)) <= {0, 1, 2, 3, 4}
        seen |= set(np.unique(parts).tolist())
        for k, part in ((0, 1), (14, 1), (4, 3), (7, 3), (10, 4), (13, 4)):  # nose, eye: head; wrists; ankles
            y, x = (int(v) for v in kp[k])  # on its part or at its edge (rounded to a pixel); a few are annotated though hidden
            if y >= 0:
                on_part[part].append(part in parts[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2])
    assert seen == {0, 1, 2, 3, 4}
    assert all(len(v) >= 8 and np.mean(v) >= 0.8 for v in on_part.values()), on_part


def test_split_among_keeps_the_test_people(tmp_path, market):
    root, summary = market  # 6 people, seed 3: one test person
    more = tmp_path / "more"
    bigger = write_dataset(more, "market", identities=9, poses=4, seed=3, split_among=6)
    layout = get_layout("market")
    test = lambda r: sorted(read_annotations(layout.annotation_path(r, "test")))  # noqa: E731
    assert test(more) == test(root) and bigger.identities == {"train": 8, "test": 1}
    assert json.loads((more / "synth.json").read_text())["split_among"] == 6


def test_cli_synth_at_a_size(tmp_path, capsys):
    out = tmp_path / "small"
    args = ["data", "synth", str(out), "--identities", "3", "--poses", "2", "--size", "64", "32", "--quiet"]
    assert main(args) == 0
    assert "6 images of 3 people" in capsys.readouterr().out
    layout = get_layout("market", image_size=(64, 32))
    assert check_dataset(out, layout).ok
    name = next(iter(read_annotations(layout.annotation_path(out, "train"))))
    for path in (out / "train" / name, mask_path(out, "train", name), part_path(out, "train", name),
                 background_path(out, "train", name)):  # fmt: skip
        assert Image.open(path).size == (32, 64), path
    assert json.loads((out / "synth.json").read_text())["resized_to"] == [64, 32]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # the full-size render is removed
    assert main(args) == 2  # a second run needs --force (runtime.outputs) ...
    assert main([*args, "--force"]) == 0  # ... and then replaces its own output
