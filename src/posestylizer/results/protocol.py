"""The result-file protocol of the authors' evaluation: names, the 5-panel JPEG grid, and the uint8 conversion.

The authors' result files are the 5-panel row ``[source | source pose | target | target pose | generated]`` saved as
``<from>___<to>_vis.jpg`` by PIL at its default JPEG quality (75), after ``((x + 1) / 2 * 255).astype(uint8)``
(truncation, not rounding); every paper metric is computed from those JPEG files, so :func:`to_uint8` and
:func:`save_paper_grid` reproduce them exactly. Writers (batch generation) and readers (metric inputs) share this
module, so a file written by one is always parsed the same way by the other.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from posestylizer.runtime.imagefiles import save_image

GRID_COLUMNS = ("source", "source pose", "target", "target pose", "generated")
GRID_SUFFIX = "_vis"
PAIR_SEPARATOR = "___"
PAPER_JPEG_QUALITY = 75  # PIL's default, which the authors' test.py uses


def to_uint8(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """(3, H, W) tensor in [-1, 1] -> (H, W, 3) uint8 by the reference's truncation ``((x + 1) / 2 * 255)``.

    Values are clamped to [-1, 1] first (the generator's tanh output already lies there). A uint8 (H, W, 3) array
    passes through unchanged, so callers may mix tensors and finished panels.
    """
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected a uint8 (H, W, 3) panel, got {image.dtype} {image.shape}")
        return image
    arr = ((image.detach().float().cpu().clamp(-1, 1) + 1) / 2 * 255).permute(1, 2, 0).numpy()
    return arr.astype(np.uint8)


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> float32 (3, H, W) in [-1, 1], as ToTensor + Normalize(0.5, 0.5) computes it (§1.7)."""
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255)
    return x.sub_(0.5).div_(0.5)


def split_grid(grid: np.ndarray) -> dict[str, np.ndarray]:
    """Cut a (H, 5W, 3) grid into its ``source``, ``target`` and ``generated`` panels (width ``int(W_total / 5)``,
    as the authors' evaluation scripts cut it)."""
    w = int(grid.shape[1] / 5)
    return {"source": grid[:, :w], "target": grid[:, 2 * w : 3 * w], "generated": grid[:, 4 * w : 5 * w]}


def pair_filename(src_name: str, tgt_name: str, ext: str = ".png", grid: bool = False) -> str:
    """``('a.jpg', 'b.jpg', '.jpg', grid=True)`` -> ``'a.jpg___b.jpg_vis.jpg'``, the authors' result file name."""
    return f"{src_name}{PAIR_SEPARATOR}{tgt_name}{GRID_SUFFIX if grid else ''}{ext}"


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


def save_paper_grid(grid: np.ndarray, path: str | Path) -> Path:
    """Write a grid exactly as the authors' test.py does: PIL JPEG at quality 75."""
    return save_image(grid, path, quality=PAPER_JPEG_QUALITY)


def paper_grid_bytes(grid: np.ndarray) -> bytes:
    """The bytes :func:`save_paper_grid` writes for ``grid`` (uint8 (H, 5W, 3)), without a file: scoring in memory
    what the paper's protocol scores from files."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(grid)).save(buf, format="JPEG", quality=PAPER_JPEG_QUALITY)
    return buf.getvalue()
