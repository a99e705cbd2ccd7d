"""IS, FID and LPIPS through the real loading code (torch-fidelity, lpips, torchvision formats) on random weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from weights_helpers import write_random_weights

from posestylizer.checkpoints.pretrained import STANDARD_NAMES, resolve_weights
from posestylizer.errors import WeightsError
from posestylizer.metrics.inception import (
    FID_FEATURE,
    IS_FEATURE,
    InceptionFeatures,
    feature_statistics,
    frechet_distance,
    inception_score,
    reference_statistics,
)
from posestylizer.metrics.perceptual import LPIPS


def _images(n, seed, size=(48, 32)):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (n, 1, 1, 3))
    noise = rng.integers(0, 256, (n, *size, 3))
    return list(((base + noise) // 2).astype(np.uint8))


@pytest.fixture(scope="module")
def inception(random_weights_dir):
    return InceptionFeatures(random_weights_dir, batch_size=8)


@pytest.fixture(scope="module")
def features(inception):
    return inception(_images(4, 0))


def test_inception_loads_local_file_and_gives_live_features(inception, features):
    assert inception.weights_file.name == STANDARD_NAMES["inception"]
    assert features[IS_FEATURE].shape == (4, 1008) and features[FID_FEATURE].shape == (4, 2048)
    # Kaiming re-init keeps the random network's features apart for different images.
    assert features[FID_FEATURE].std(dim=0).mean() > 1e-3


def test_inception_score_is_openai_formula_in_list_order(features):
    logits = features[IS_FEATURE].double()
    mean, std, splits = inception_score(features[IS_FEATURE], splits=2)
    p = logits.softmax(1)
    scores = []
    for part in p.split(2):  # consecutive chunks, no shuffling
        kl = (part * (part.log() - part.mean(0, keepdim=True).log())).sum(1).mean()
        scores.append(float(kl.exp()))
    assert splits == 2
    assert mean == pytest.approx(np.mean(scores), rel=1e-9) and std == pytest.approx(np.std(scores), abs=1e-9)
    assert inception_score(features[IS_FEATURE], splits=10)[2] == 4  # fewer images than splits: one per split


def test_fid_and_cached_reference_statistics(inception, features, tmp_path):
    from PIL import Image

    folder = tmp_path / "train"
    folder.mkdir()
    for i, img in enumerate(_images(2, 1)):
        Image.fromarray(img).save(folder / f"{i}.png")
    read = lambda p: np.asarray(Image.open(p).convert("RGB"))
    stats, n, cache = reference_statistics(inception, folder, tmp_path / "cache", read)
    assert n == 2 and cache.is_file()
    # Second call: read from the cache, not recomputed.
    stats2, _, cache2 = reference_statistics(inception, folder, tmp_path / "cache", lambda p: 1 / 0)
    assert cache2 == cache and np.array_equal(stats["sigma"], stats2["sigma"])
    # A changed folder gets a new cache entry.
    Image.fromarray(_images(1, 2)[0]).save(folder / "new.png")
    _, n3, cache3 = reference_statistics(inception, folder, tmp_path / "cache", read)
    assert n3 == 3 and cache3 != cache
    own = feature_statistics(features[FID_FEATURE])
    assert frechet_distance(own, own) == pytest.approx(0.0, abs=1e-3)
    assert frechet_distance(own, stats) > 0.01


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_backbone_from_local_torchvision_file(random_weights_dir, tmp_path, net):
    a, b = _images(3, 3), _images(3, 4)
    metric = LPIPS(net, random_weights_dir)
    same = metric(a, a)
    diff = metric(a, b)
    assert same == pytest.approx([0.0] * 3, abs=1e-6)
    assert all(d > 0 for d in diff)
    # The backbone really comes from the file: other weights, other distances.
    other = tmp_path / "other"
    write_random_weights("alexnet" if net == "alex" else "vgg16", other, seed=7)
    assert not np.allclose(LPIPS(net, other)(a, b), diff)


def test_missing_and_broken_weight_files_are_one_clear_line(tmp_path):
    with pytest.raises(WeightsError) as err:
        resolve_weights("inception", tmp_path)
    assert STANDARD_NAMES["inception"] in str(err.value) and "\n" not in str(err.value)
    (tmp_path / STANDARD_NAMES["alexnet"]).write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="unreadable"):
        LPIPS("alex", tmp_path)
    torch.save({"features.0.weight": torch.zeros(3)}, tmp_path / STANDARD_NAMES["vgg16"])
    with pytest.raises(WeightsError, match="does not fit torchvision's vgg16"):
        LPIPS("vgg", tmp_path)


def test_offline_without_weights_dir_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(WeightsError, match="vgg16-397923af.pth .*--weights-dir"):
        resolve_weights("vgg16")
