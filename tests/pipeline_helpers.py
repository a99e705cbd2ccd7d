"""Photos with synthetic people in them, and small checkpoints, for the pipeline's tests (and its README pictures)."""

from __future__ import annotations

from pathlib import Path

from posestylizer.bench.scene import full_body_sample, street_scene  # noqa: F401 - the tests' photos
from posestylizer.checkpoints.contract import InputContract
from posestylizer.checkpoints.native import save_generator
from posestylizer.config import ModelConfig
from posestylizer.models import Generator


def small_checkpoint(folder: Path, *, size: tuple[int, int] = (64, 32), n_blocks: int = 3, norm: str = "batch",
                     layout: str = "market", seed: int = 0) -> Path:
    """A randomly initialised small APS generator saved with its input contract."""
    import torch

    torch.manual_seed(seed)
    cfg = ModelConfig(image_size=size, n_blocks=n_blocks, ngf=8, norm=norm, dropout=0.0)
    contract = InputContract(image_size=size, heatmap_sigma=3.0 * size[0] / 64, layout=layout)
    return save_generator(Generator(cfg), cfg, folder, contract)
