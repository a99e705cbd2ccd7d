"""Resizing a PATN-layout dataset: same layout at the new size, keypoints on the new grid, synthetic extras kept."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from posestylizer.data import check_dataset, get_layout, read_annotations, read_pairs, write_dataset
from posestylizer.data.resize import resize_dataset
from posestylizer.data.synth import background_path, mask_path, part_path
from posestylizer.errors import DataError


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("resize") / "full"
    write_dataset(root, "market", identities=3, poses=2, seed=5)
    return root


def test_resized_copy_is_the_same_dataset_at_the_new_size(synth, tmp_path):
    out = resize_dataset(synth, tmp_path / "small", (64, 32))
    layout = get_layout("market")
    for phase in ("train", "test"):
        before = read_annotations(layout.annotation_path(synth, phase))
        after = read_annotations(layout.annotation_path(out, phase))
        assert list(after) == list(before)
        for name, kp in before.items():
            with Image.open(layout.image_dir(out, phase) / name) as img:
                assert img.size == (32, 64) and img.format == "JPEG"
            mask = np.asarray(Image.open(mask_path(out, phase, name)))
            assert mask.shape == (64, 32) and set(np.unique(mask)) <= {0, 255} and mask.any()
            assert Image.open(background_path(out, phase, name)).size == (32, 64)
            parts = np.asarray(Image.open(part_path(out, phase, name)))
            assert np.array_equal(parts > 0, mask > 0)  # the resized parts tile the resized mask
            full = np.asarray(Image.open(part_path(synth, phase, name)))
            assert set(np.unique(parts)) <= set(np.unique(full))
            missing = kp[:, 0] == -1
            assert (after[name][missing] == -1).all()
            assert (after[name][~missing] == kp[~missing] // 2).all()  # floor of half
        assert read_pairs(layout.pairs_path(out, phase)) == read_pairs(layout.pairs_path(synth, phase))
    assert check_dataset(out, get_layout("market", image_size=(64, 32))).ok


def test_an_earlier_copy_is_replaced_and_a_foreign_folder_refused(synth, tmp_path):
    out = tmp_path / "small"
    resize_dataset(synth, out, (64, 32))
    stale = out / "test" / "stale.jpg"
    stale.write_bytes(b"left over")
    resize_dataset(synth, out, (32, 16))  # an earlier resized copy: replaced whole
    assert not stale.exists()
    first = next(iter(read_annotations(get_layout("market").annotation_path(out, "train"))))
    assert Image.open(out / "train" / first).size == (16, 32)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="not a resized dataset"):
        resize_dataset(synth, foreign, (64, 32))
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_cli_resize(synth, tmp_path, capsys):
    from posestylizer.cli import main

    assert main(["data", "resize", str(synth), str(tmp_path / "r"), "--size", "32", "16", "--quiet"]) == 0
    assert "32x16" in capsys.readouterr().out
    assert check_dataset(tmp_path / "r", get_layout("market", image_size=(32, 16))).ok
