"""Pose maps and evaluation masks equal the authors' (metrics_reference.pt), directly and through PairDataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from posestylizer.data import PairDataset, get_layout, write_annotations, write_pairs
from posestylizer.keypoints.maps import heatmaps, pose_mask


@pytest.fixture(scope="module")
def ref(reference_dir):
    return torch.load(reference_dir / "metrics_reference.pt", weights_only=True)


def _one_image_dataset(root, layout_name, kps):
    """A dataset of one image per keypoint set, paired 0 -> i, in the given layout."""
    layout = get_layout(layout_name)
    (root / "test").mkdir(parents=True)
    names = [f"0001_c1s1_{i:06d}_01.jpg" for i in range(len(kps))]
    for n in names:
        Image.new("RGB", layout.image_size[::-1], (128, 64, 32)).save(root / "test" / n)
    write_annotations(layout.annotation_path(root, "test"), zip(names, kps))
    write_pairs(layout.pairs_path(root, "test"), [(names[0], n) for n in names])
    return layout


@pytest.mark.parametrize(
    ("preset", "size", "sigma"), [("market", (128, 64), 6.0), ("fashion", (256, 176), 12.0)]
)
def test_heatmaps_match_reference(ref, preset, size, sigma):
    kp = ref[f"heatmap_{preset}_kp"].numpy()
    expected = ref[f"heatmap_{preset}"].numpy()  # (H, W, 18)
    got = heatmaps(kp, size, sigma).transpose(1, 2, 0)
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    missing = (kp == -1).any(axis=1)
    assert missing.any() and not got[..., missing].any()  # a missing point is a zero channel


def test_heatmap_keeps_tail_of_point_outside_image():
    kp = np.full((18, 2), -1)
    kp[0] = (-5, 70)  # above and right of a 128x64 image: not missing, only -1 is
    maps = heatmaps(kp, (128, 64), 6.0)
    assert maps[0].max() > 0 and maps[0, 0, 63] == pytest.approx(np.exp(-(25 + 49) / 72), rel=1e-6)


def test_masks_match_reference(ref):
    kps = ref["mask_market_kp"].numpy()
    expected = ref["mask_market"].numpy()
    for i, kp in enumerate(kps):
        got = pose_mask(kp, (128, 64))
        assert np.array_equal(got, expected[i]), i
        assert int(got.sum()) == ref["mask_market_pixels"][i]


@pytest.mark.parametrize("preset", ["market", "fashion"])
def test_dataset_pose_maps_match_reference(tmp_path, ref, preset):
    kp = ref[f"heatmap_{preset}_kp"].numpy()
    _one_image_dataset(tmp_path, preset, [kp])
    item = PairDataset(tmp_path, "test", layout=preset)[0]
    expected = ref[f"heatmap_{preset}"].permute(2, 0, 1)
    torch.testing.assert_close(item["src_pose"], expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(item["tgt_pose"], expected, rtol=0, atol=1e-6)


def test_dataset_target_masks_match_reference(tmp_path, ref):
    kps = ref["mask_market_kp"].numpy()
    _one_image_dataset(tmp_path, "market", list(kps))
    # the fixture's random skeletons put points outside the 64-px width (x = 66), which `data check` rejects
    ds = PairDataset(tmp_path, "test", layout="market", check=False)
    for i in range(len(kps)):
        item = ds[i]
        assert item["tgt_mask"].shape == (1, 128, 64) and item["tgt_mask"].dtype == torch.bool
        assert torch.equal(item["tgt_mask"][0], ref["mask_market"][i]), i
