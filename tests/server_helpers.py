"""A tiny checkpoint and synthetic photos for the server tests (API and browser)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def tiny_checkpoint(folder: Path) -> Path:
    """An untrained APS generator at the market size (128x64, the synthetic photos' size), base width 8."""
    from posestylizer.checkpoint import save_generator
    from posestylizer.config import load_config
    from posestylizer.contract import InputContract
    from posestylizer.models import Generator

    cfg = load_config("market", overrides=["model.ngf=8", "model.n_blocks=2"])
    return save_generator(Generator(cfg.model).eval(), cfg.model, folder, InputContract.of_experiment(cfg))


def person_photo(identity: int = 0, pose: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic person (uint8 (128, 64, 3)) and its true keypoints ((18, 2) (y, x), -1 missing)."""
    from posestylizer.data.synth import render_sample

    image, kp, _mask, _bg = render_sample("market", identity, pose)
    return image, kp


def png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
