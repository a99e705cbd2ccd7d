"""The authors' 5-panel result grids (reference §6, §7.1): ``[source | source pose | target | target pose | generated]``.

Files are named ``<from>___<to>_vis.jpg`` and written by PIL with its default JPEG quality (75); every paper metric is
computed from these JPEG files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

GRID_SUFFIX = "_vis"
PAIR_SEPARATOR = "___"
PAPER_JPEG_QUALITY = 75  # PIL's default, which test.py uses


def split_grid(grid: np.ndarray) -> dict[str, np.ndarray]:
    """Cut a (H, 5W, 3) grid into its ``source``, ``target`` and ``generated`` panels (width ``int(W_total / 5)``)."""
    w = int(grid.shape[1] / 5)
    return {"source": grid[:, :w], "target": grid[:, 2 * w : 3 * w], "generated": grid[:, 4 * w : 5 * w]}


def pair_from_name(filename: str) -> tuple[str, str] | None:
    """``'a.jpg___b.jpg_vis.jpg'`` -> ``('a.jpg', 'b.jpg')``; ``None`` for a name that is not a pair.

    The authors strip the last 8 characters (``_vis.jpg``); any image extension after ``_vis`` is accepted here, and
    so is a plain ``<from>___<to>.<ext>`` name (our lossless outputs).
    """
    stem = Path(filename).stem.removesuffix(GRID_SUFFIX)
    parts = stem.split(PAIR_SEPARATOR)
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


def pair_filename(src_name: str, tgt_name: str, ext: str = ".png", grid: bool = False) -> str:
    return f"{src_name}{PAIR_SEPARATOR}{tgt_name}{GRID_SUFFIX if grid else ''}{ext}"


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) tensor in [-1, 1] -> (H, W, 3) uint8 by the reference's truncation ``((x + 1) / 2 * 255).astype(uint8)``.

    Values are clamped to [0, 255] first (the generator's tanh output already lies there).
    """
    arr = ((image.detach().float().cpu().clamp(-1, 1) + 1) / 2 * 255).permute(1, 2, 0).numpy()
    return arr.astype(np.uint8)


def compose_grid(source: np.ndarray, source_pose: np.ndarray, target: np.ndarray, target_pose: np.ndarray,
                 generated: np.ndarray) -> np.ndarray:
    """Concatenate five (H, W, 3) uint8 panels side by side in the reference's order."""
    return np.concatenate([source, source_pose, target, target_pose, generated], axis=1)


def save_paper_grid(grid: np.ndarray, path: str | Path) -> None:
    """Write a grid exactly as test.py does: PIL JPEG at quality 75."""
    Image.fromarray(grid).save(path, format="JPEG", quality=PAPER_JPEG_QUALITY)
