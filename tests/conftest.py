"""Shared test helpers: where the reference fixtures live (``../shared`` beside the repository root)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "fixtures" / "reference"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def _user_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("user-cache")


@pytest.fixture(autouse=True)
def _private_cache(_user_cache, monkeypatch):
    """Caches (dataset check verdicts) go to a folder of this test session, not the user's ~/.cache."""
    monkeypatch.setenv("POSESTYLIZER_CACHE", str(_user_cache))


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    assert REFERENCE.is_dir(), f"reference fixtures not found at {REFERENCE} (shared/ must sit beside the repo)"
    return REFERENCE


@pytest.fixture(scope="session")
def random_weights_dir(tmp_path_factory) -> Path:
    """Random Inception / AlexNet / VGG16 weights in their real file formats and standard names (no downloads here)."""
    from weights_helpers import write_random_weights

    folder = tmp_path_factory.mktemp("weights")
    for key in ("inception", "alexnet", "vgg16"):
        write_random_weights(key, folder, seed=1)
    return folder
