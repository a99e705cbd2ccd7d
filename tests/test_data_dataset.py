"""PairDataset items: keys, shapes, ranges, pose maps from keypoints or from .npy files, flip, config."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posestylizer.config import load_config
from posestylizer.data import PairDataset, write_dataset, write_heatmaps
from posestylizer.errors import DataError
from posestylizer.keypoints.maps import heatmaps, pose_mask
from posestylizer.keypoints.vocab import FLIP_INDEX
from posestylizer.runtime.imagefiles import read_image


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds") / "synth"
    write_dataset(root, "market", identities=4, poses=3, seed=2)
    return root


def test_item(root):
    ds = PairDataset(root, "train")
    assert len(ds) == len(ds.pairs) > 0
    item = ds[0]
    assert set(item) == {"src_img", "src_pose", "tgt_img", "tgt_pose", "src_kp", "tgt_kp", "src_name", "tgt_name",
                         "tgt_mask"}  # fmt: skip
    assert (item["src_name"], item["tgt_name"]) == ds.pairs[0]
    for side in ("src", "tgt"):
        img, pose, kp = item[f"{side}_img"], item[f"{side}_pose"], item[f"{side}_kp"]
        assert img.shape == (3, 128, 64) and img.dtype == torch.float32 and -1 <= img.min() < img.max() <= 1
        assert pose.shape == (18, 128, 64) and pose.dtype == torch.float32
        assert kp.shape == (18, 2) and kp.dtype == torch.float32
        assert torch.equal(pose, torch.from_numpy(heatmaps(kp.numpy(), (128, 64), 6.0)))
        raw = read_image(root / "train" / item[f"{side}_name"])
        # ToTensor + Normalize(0.5, 0.5), reference §1.7
        assert torch.equal(img, (torch.from_numpy(raw).permute(2, 0, 1).float() / 255 - 0.5) / 0.5)
    assert torch.equal(item["tgt_mask"][0], torch.from_numpy(pose_mask(item["tgt_kp"].numpy(), (128, 64))))
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=2)))
    assert batch["src_img"].shape == (2, 3, 128, 64) and len(batch["src_name"]) == 2


def test_precomputed_heatmaps_equal_rendered(root):
    assert write_heatmaps(root, "market", "test") == 3
    arr = np.load(root / "testK" / f"{PairDataset(root, 'test').pairs[0][0]}.npy")
    assert arr.shape == (128, 64, 18) and arr.dtype == np.float32
    rendered, stored = (
        PairDataset(root, "test"),
        PairDataset(root, "test", precomputed_heatmaps=True, masks=False),
    )
    for i in range(len(rendered)):
        a, b = rendered[i], stored[i]
        assert torch.equal(a["src_pose"], b["src_pose"]) and torch.equal(a["tgt_pose"], b["tgt_pose"])
    next(iter((root / "testK").iterdir())).unlink()
    with pytest.raises(DataError, match="precomputed pose map not found"):
        [stored[i] for i in range(len(stored))]


def test_flip_mirrors_images_and_keeps_labels_anatomical(root):
    plain = PairDataset(root, "train", check=False)
    flipped = PairDataset(root, "train", flip=True, check=False)
    seen = set()
    for seed in range(8):
        torch.manual_seed(seed)
        a, b = plain[0], flipped[0]
        if torch.equal(a["src_img"], b["src_img"]):
            seen.add("same")
            continue
        seen.add("flipped")
        assert torch.equal(b["src_img"], a["src_img"].flip(-1)) and torch.equal(
            b["tgt_img"], a["tgt_img"].flip(-1)
        )
        kp = a["src_kp"].clone()
        ok = (kp != -1).all(1)
        kp[ok, 1] = 63 - kp[ok, 1]
        assert torch.equal(b["src_kp"], kp[list(FLIP_INDEX)])  # the right shoulder stays the right shoulder
        torch.testing.assert_close(
            b["src_pose"], torch.from_numpy(heatmaps(b["src_kp"].numpy(), (128, 64), 6.0))
        )
    assert seen == {"same", "flipped"}


def test_from_config(root):
    cfg = load_config("synthetic", overrides=[f"data.root={root}"])
    ds = PairDataset.from_config(cfg, "test")
    assert ds.image_size == (128, 64) and ds.sigma == 6.0 and not ds.flip
    (root / "market-pairs-test.csv").rename(root / "p-test.csv")
    cfg = load_config("synthetic", overrides=[f"data.root={root}", "data.pairs_file=p-{phase}.csv"])
    assert len(PairDataset.from_config(cfg, "test")) == len(ds)
    (root / "p-test.csv").rename(root / "market-pairs-test.csv")
    with pytest.raises(DataError, match="data.root"):
        PairDataset.from_config(load_config("synthetic"), "train")


def test_wrong_image_size_for_layout(root):
    with pytest.raises(DataError, match=r"market-annotation-train.csv:2: .* the layout expects 256x176"):
        PairDataset(root, "train", image_size=(256, 176))
    with pytest.raises(DataError, match="fashion-resize-annotation-train.csv: annotation file not found"):
        PairDataset(root, "train", layout="fashion")
    with pytest.raises(DataError, match="dataset folder not found"):
        PairDataset(root / "nope", "train")
    with pytest.raises(DataError, match="unknown phase"):
        PairDataset(root, "val")


def test_a_clean_check_is_remembered_by_file_sizes_and_times(root, tmp_path, monkeypatch):
    import shutil

    from posestylizer.data import dataset

    data = tmp_path / "copy"
    shutil.copytree(root, data)
    calls = []
    real = dataset.check_dataset
    monkeypatch.setattr(dataset, "check_dataset", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    listing = sorted(p.name for p in data.iterdir())
    PairDataset(data, "train"), PairDataset(data, "train")
    assert len(calls) == 1  # the second construction decodes nothing
    PairDataset(data, "test")
    assert len(calls) == 2  # another phase, another verdict

    image = min((data / "train").iterdir())
    content = image.read_bytes()
    image.write_bytes(content[: len(content) // 2])
    with pytest.raises(DataError, match="truncated"):
        PairDataset(data, "train")
    with pytest.raises(DataError, match="truncated"):
        PairDataset(data, "train")  # failures are never remembered
    image.write_bytes(content)
    PairDataset(data, "train")
    assert len(calls) == 5
    assert sorted(p.name for p in data.iterdir()) == listing  # nothing is written into the dataset

    (tmp_path / "a file").write_text("")
    monkeypatch.setenv("POSESTYLIZER_CACHE", str(tmp_path / "a file" / "cache"))  # a cache that cannot be written
    PairDataset(data, "train"), PairDataset(data, "train")
    assert len(calls) == 7  # still correct, just checked each time
