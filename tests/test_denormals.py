"""Flush-to-zero for training and inference (runtime.denormals) and pose maps without subnormal tails."""

from __future__ import annotations

import numpy as np
import torch

from posestylizer.config import load_config
from posestylizer.keypoints.maps import heatmaps
from posestylizer.models import Generator
from posestylizer.runtime.denormals import flush_denormals, flushing


def test_flush_denormals_sets_the_mode_and_restores_it():
    assert not flushing()
    with flush_denormals() as on:
        assert flushing() == on
        if on:  # x86 with SSE3, ARM with FZ: a subnormal product reads as zero
            assert (torch.tensor([1e-39]) * 1.0).item() == 0.0
    assert not flushing()
    torch.set_flush_denormal(True)
    try:
        with flush_denormals():
            pass
        assert flushing() == torch.set_flush_denormal(True)  # a caller's own setting is kept
    finally:
        torch.set_flush_denormal(False)


def test_pose_maps_tails_are_exact_zeros_not_subnormals():
    kp = np.array([[10, 5], [60, 30], [-1, -1]] + [[100, 40]] * 15)
    maps = heatmaps(kp, (128, 64), 6.0)
    tiny = np.finfo(np.float32).tiny
    assert not ((maps > 0) & (maps < tiny)).any() and maps[0, 10, 5] == 1.0
    full = np.exp(-((np.arange(128)[:, None] - 10.0) ** 2 + (np.arange(64)[None] - 5.0) ** 2) / 72).astype(np.float32)
    assert np.abs(maps[0] - full).max() < tiny  # only the subnormal tail moved


def test_generator_outputs_are_identical_with_flush_to_zero():
    cfg = load_config("demo", overrides=["model.image_size=[32,16]", "model.n_blocks=2", "model.ngf=4"])
    torch.manual_seed(0)
    g = Generator(cfg.model).eval()
    kps = [np.array([[4 + i, 2 + i % 12] for i in range(18)]), np.array([[20 - i % 9, 8] for i in range(18)])]
    maps = torch.from_numpy(np.stack([heatmaps(k, (32, 16), 3.0) for k in kps]))
    img = torch.rand(2, 3, 32, 16) * 2 - 1
    with torch.no_grad():
        plain = g(img, maps, maps.flip(0))
        with flush_denormals():
            flushed = g(img, maps, maps.flip(0))
    assert torch.equal(plain, flushed)
