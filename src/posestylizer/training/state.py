"""Full training state on disk: atomic writes, keep-last-N, RNG states, weights-only loading.

A checkpoint is one ``torch.save`` of plain dicts, tensors and numbers (network and optimiser state dicts, the training
policy's clock, image pools, RNG states of Python/NumPy/torch, counters), read back with ``weights_only=True``: no
pickled code.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import numpy as np
import torch

from posestylizer.errors import CheckpointError
from posestylizer.runtime.files import atomic_file, read_weights_only

CKPT_PATTERN = re.compile(r"^state-(\d{8})\.pt$")


def rng_state() -> dict:
    """RNG states of Python, NumPy and torch (CPU and every CUDA device) as tensors and numbers."""
    py_version, py_internal, py_gauss = random.getstate()
    np_kind, np_keys, np_pos, np_has_gauss, np_cached = np.random.get_state()
    state = {
        "python": {"version": py_version, "internal": torch.tensor(py_internal, dtype=torch.int64), "gauss": py_gauss},
        "numpy": {
            "kind": np_kind,
            "keys": torch.from_numpy(np_keys.astype(np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "cached": float(np_cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["internal"].tolist()), py["gauss"]))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_atomic(obj: dict, path: str | Path) -> Path:
    """``torch.save`` to a temporary sibling, flush to disk, then rename over ``path``: never a half-written file."""
    with atomic_file(path) as fh:
        torch.save(obj, fh)
    return Path(path)


def load_state(path: str | Path) -> dict:
    """Read a training-state file with ``weights_only=True``; :class:`CheckpointError` in one line if unusable."""
    state = read_weights_only(path, "training checkpoint")
    if not isinstance(state, dict) or state.get("format") != "posestylizer-train-state":
        raise CheckpointError(f"{path}: not a posestylizer training checkpoint")
    return state


class CheckpointDir:
    """``<run>/checkpoints/state-<step>.pt`` files; the newest ``keep_last`` survive each save.

    Args:
        folder: the checkpoints folder.
        keep_last: files kept after a save (at least 1: the latest is always kept).
    """

    def __init__(self, folder: str | Path, keep_last: int = 3) -> None:
        self.folder = Path(folder)
        self.keep_last = max(1, keep_last)

    def files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.folder.iterdir() if (m := CKPT_PATTERN.match(p.name))]
        return [p for _, p in sorted(found)]

    def latest(self) -> Path | None:
        files = self.files()
        return files[-1] if files else None

    def save(self, state: dict, step: int) -> Path:
        path = save_atomic(state, self.folder / f"state-{step:08d}.pt")
        for old in self.files()[: -self.keep_last]:
            old.unlink(missing_ok=True)
        # Temporary files of earlier processes that were killed mid-write (kill -9 leaves no time to remove them).
        for stale in self.folder.glob(".state-*.pt.tmp-*"):
            if not stale.name.endswith(f".tmp-{os.getpid()}"):
                stale.unlink(missing_ok=True)
        return path
