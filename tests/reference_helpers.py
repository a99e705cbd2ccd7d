"""The authors' generator fixtures (shared/fixtures/reference) and their inputs, for equivalence tests."""

from __future__ import annotations

import numpy as np
import torch

from posestylizer.keypoints.maps import heatmaps

GENERATOR_FIXTURES = ["aps_market_ngf8_bnstats.pt", "aps_fashion_ngf4.pt"]


def fixture_inputs(fixture: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(P1, BP1, BP2); the fashion fixture stores keypoints only: rebuild its maps with our heatmap function."""
    inputs, cfg = fixture["inputs"], fixture["config"]
    if "BP1" in inputs:
        return inputs["P1"], inputs["BP1"], inputs["BP2"]
    size = tuple(cfg["image_size"])

    def maps(key: str) -> torch.Tensor:
        return torch.stack([torch.from_numpy(heatmaps(np.asarray(kp), size, cfg["heatmap_sigma"])) for kp in cfg[key]])

    return inputs["P1"], maps("keypoints_BP1_yx"), maps("keypoints_BP2_yx")
