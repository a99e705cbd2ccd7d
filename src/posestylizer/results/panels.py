"""Pictures of generated people: the one place where result panels and grids are drawn.

The grid is the authors' 5-panel row ``[source | source pose | target | target pose | generated]`` (reference §6,
§7.1). Training samples, the generated result files, the demo report and the pipeline's panels all build it here,
so that a row looks the same wherever it appears. Extra generated columns (the report's untrained and trained
models side by side) append to the right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from posestylizer.keypoints.maps import draw_pose
from posestylizer.results.protocol import to_uint8

WHITE = 255


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
        uint8 (H, W, 3) panels, pose panels drawn as the reference does (:func:`posestylizer.keypoints.maps.draw_pose`).
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
