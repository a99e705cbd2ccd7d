"""Pictures of people and poses: the one place where result panels and grids are drawn.

The grid is the authors' 5-panel row ``[source | source pose | target | target pose | generated]`` (reference §6,
§7.1). Training samples, the generated result files, the demo report and the pipeline's panels all build it here,
so that a row looks the same wherever it appears. Extra generated columns (the report's untrained and trained
models side by side) append to the right.

The authors' result files are this row saved as ``<from>___<to>_vis.jpg`` by PIL at its default JPEG quality (75),
after ``((x + 1) / 2 * 255).astype(uint8)`` (truncation, not rounding); every paper metric is computed from those
JPEG files, so :func:`to_uint8` and :func:`save_paper_grid` reproduce them exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from posestylizer.pose import draw_pose

GRID_COLUMNS = ("source", "source pose", "target", "target pose", "generated")
GRID_SUFFIX = "_vis"
PAIR_SEPARATOR = "___"
PAPER_JPEG_QUALITY = 75  # PIL's default, which the authors' test.py uses
WHITE = 255


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


def pair_panels(
    src_img: torch.Tensor | np.ndarray,
    src_kp: np.ndarray | torch.Tensor,
    tgt_img: torch.Tensor | np.ndarray,
    tgt_kp: np.ndarray | torch.Tensor,
    *generated: torch.Tensor | np.ndarray,
) -> list[np.ndarray]:
    """The panels of one pair: source, source pose, target, target pose, then each generated image.

    Args:
        src_img, tgt_img: (3, H, W) tensors in [-1, 1] or (H, W, 3) uint8 arrays.
        src_kp, tgt_kp: (18, 2) (y, x) keypoints in pixels of that image, -1 = missing.
        generated: any number of images like ``src_img`` (usually one).

    Returns:
        uint8 (H, W, 3) panels, pose panels drawn as the reference does (:func:`posestylizer.pose.draw_pose`).
    """
    source = to_uint8(src_img)
    size = source.shape[:2]
    return [
        source,
        draw_pose(np.asarray(src_kp), size),
        to_uint8(tgt_img),
        draw_pose(np.asarray(tgt_kp), size),
        *(to_uint8(g) for g in generated),
    ]


def panel_row(panels: Sequence[np.ndarray], gap: int = 0) -> np.ndarray:
    """Panels of equal height side by side, separated by ``gap`` white columns (0: touching, the authors' files)."""
    if gap <= 0:
        return np.concatenate(list(panels), axis=1)
    spacer = np.full((panels[0].shape[0], gap, 3), WHITE, np.uint8)
    parts = [p for panel in panels for p in (panel, spacer)][:-1]
    return np.concatenate(parts, axis=1)


def compose_grid(source: np.ndarray, source_pose: np.ndarray, target: np.ndarray, target_pose: np.ndarray,
                 generated: np.ndarray) -> np.ndarray:
    """The authors' grid from five uint8 (H, W, 3) panels: (H, 5W, 3), in the reference's order."""
    return panel_row([source, source_pose, target, target_pose, generated])


def batch_rows(batch: Mapping, *generated: torch.Tensor | Sequence[np.ndarray], gap: int = 0) -> list[np.ndarray]:
    """One panel row per pair of a collated batch.

    Args:
        batch: a :class:`~posestylizer.data.dataset.PairDataset` batch (``src_img``, ``tgt_img``: (B, 3, H, W) in
            [-1, 1]; ``src_kp``, ``tgt_kp``: (B, 18, 2)).
        generated: per generated column, a (B, 3, H, W) tensor in [-1, 1] or B uint8 (H, W, 3) images.
        gap: white columns between panels.
    """
    return [
        panel_row(
            pair_panels(batch["src_img"][i], batch["src_kp"][i], batch["tgt_img"][i], batch["tgt_kp"][i],
                        *(column[i] for column in generated)),
            gap=gap,
        )
        for i in range(len(batch["src_img"]))
    ]


def stack_rows(rows: Sequence[np.ndarray], gap: int = 0, scale: int = 1) -> np.ndarray:
    """Rows of equal width on top of each other with ``gap`` white lines between, enlarged ``scale`` times by pixel
    repetition (crisp pixels for small images in a report)."""
    if gap > 0:
        spacer = np.full((gap, rows[0].shape[1], 3), WHITE, np.uint8)
        rows = [p for row in rows for p in (row, spacer)][:-1]
    grid = np.concatenate(list(rows), axis=0)
    return grid.repeat(scale, 0).repeat(scale, 1) if scale > 1 else grid


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


def save_image(image: np.ndarray | Image.Image, path: str | Path, **options) -> Path:
    """Write a uint8 (H, W, 3) array or PIL image with PIL (format from the suffix, ``options`` to PIL's save)
    through a temporary sibling and a rename, so a crash never leaves a half-written file under the final name."""
    from posestylizer.files import atomic_path

    path = Path(path)
    fmt = _image_format(path)
    picture = image if isinstance(image, Image.Image) else Image.fromarray(np.ascontiguousarray(image))
    with atomic_path(path) as tmp:
        picture.save(tmp, format=fmt, **options)
    return path


def _image_format(path: Path) -> str:
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: no image format for the suffix {path.suffix!r}")
    return fmt


def save_paper_grid(grid: np.ndarray, path: str | Path) -> Path:
    """Write a grid exactly as the authors' test.py does: PIL JPEG at quality 75."""
    return save_image(grid, path, quality=PAPER_JPEG_QUALITY)
