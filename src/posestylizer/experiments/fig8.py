"""Draw the paper's Fig. 8: the source person, then per decoder norm its bias map (y_b) over its scale map (y_w).

Matplotlib (for colour bars) through its object API on the Agg canvas: no global backend or pyplot state, so the
figure can be drawn from a server or a test.

Two colour modes:

* ``deviation`` (default): each map minus its own mean, on one symmetric colour scale shared by all maps. Both
  terms act on a unit-variance normalised feature (``x_hat * (1 + gamma) + beta``), so equal colours are equal
  effects on the output, and the figure shows at a glance which term varies more over positions. Flat maps
  (AdaIN) are white.
* ``absolute``: the values themselves, one colour scale per row (all bias maps, all scale maps).

Under every map its [min, max] (of the channel-mean values) is written, whatever the mode.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posestylizer.experiments.adapn_maps import AdaNormMaps
from posestylizer.keypoints.maps import draw_pose
from posestylizer.keypoints.vocab import present
from posestylizer.runtime.files import atomic_path

COLOUR_MODES = ("deviation", "absolute")
ROWS = (("beta", "bias $y_b$ (β)"), ("gamma", "scale $y_w$ (γ)"))
NORM_NAMES = {"adapn": "AdaPN", "adain": "AdaIN", "adapn_patch": "AdaPN (per-patch statistics)"}


def overlay_skeleton(crop: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """The crop (h, w, 3) uint8 with the skeleton of ``keypoints`` ((18, 2) (y, x), -1 = missing) drawn over it."""
    pose = draw_pose(keypoints, crop.shape[:2], radius=max(1, crop.shape[0] // 64))
    drawn = pose.any(axis=2, keepdims=True) if present(keypoints).any() else np.zeros_like(crop[..., :1], bool)
    return np.where(drawn, pose, crop // 2).astype(np.uint8)


def _limits(result: AdaNormMaps, mode: str) -> dict[str, tuple[float, float]]:
    """(vmin, vmax) per row."""
    if mode == "deviation":
        maps = [getattr(m, key) for m in result.maps for key, _ in ROWS]
        half = max(float(np.abs(v - v.mean()).max()) for v in maps)
        # Floor at 1 % of the largest value: AdaIN's flat maps deviate from their mean only by float rounding
        # (~1e-8), which an unfloored scale would blow up into full colours; with the floor they draw white.
        half = max(half, 0.01 * max(float(np.abs(v).max()) for v in maps), 1e-6)
        return {key: (-half, half) for key, _ in ROWS}
    limits = {}
    for key, _ in ROWS:
        lo = min(float(getattr(m, key).min()) for m in result.maps)
        hi = max(float(getattr(m, key).max()) for m in result.maps)
        limits[key] = (lo, hi if hi > lo else lo + 1e-6)
    return limits


def draw_fig8(result: AdaNormMaps, *, title: str = "", mode: str = "deviation", panel_width: float = 1.0):
    """The figure (a matplotlib ``Figure``): column 0 the source crop (top) and its pose (bottom), then one column
    per adaptive norm with its bias map over its scale map, nearest-neighbour so that AdaPN's patches show."""
    from matplotlib.figure import Figure

    if mode not in COLOUR_MODES:
        raise ValueError(f"mode must be one of {COLOUR_MODES}, got {mode!r}")
    h, w = result.crop.shape[:2]
    n = len(result.maps)
    panel_h = panel_width * h / w
    fig = Figure(figsize=(panel_width * (n + 1) + 1.2, 2 * panel_h + 1.9), layout="constrained")
    grid = fig.add_gridspec(2, n + 2, width_ratios=[1] * (n + 1) + [0.12])
    limits = _limits(result, mode)
    cmap = "RdBu_r" if mode == "deviation" else "viridis"
    for row, image, label in ((0, result.crop, "source"), (1, overlay_skeleton(result.crop, result.keypoints), "pose")):
        ax = fig.add_subplot(grid[row, 0])
        ax.imshow(image, interpolation="nearest")
        ax.set_title(label, fontsize=8)
        ax.set_axis_off()
    for row, (key, row_label) in enumerate(ROWS):
        shown = None
        for col, m in enumerate(result.maps, start=1):
            values = getattr(m, key)
            ax = fig.add_subplot(grid[row, col])
            data = values - values.mean() if mode == "deviation" else values
            shown = ax.imshow(data, cmap=cmap, vmin=limits[key][0], vmax=limits[key][1], interpolation="nearest",
                              extent=(0, w, h, 0))
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_xlabel(f"[{values.min():.2f}, {values.max():.2f}]", fontsize=7)
            if row == 0:
                ax.set_title(m.label.replace(" norm", "\nnorm"), fontsize=8)
            if col == 1:
                ax.set_ylabel(row_label, fontsize=8)
        bar = fig.colorbar(shown, cax=fig.add_subplot(grid[row, n + 1]))
        bar.ax.tick_params(labelsize=6)
        if mode == "deviation":
            bar.set_label("value − map mean", fontsize=7)
    fig.suptitle(title or f"{NORM_NAMES.get(result.adanorm, result.adanorm)} statistics per decoder block", fontsize=9)
    what = ("colour: each map minus its own mean, one scale for all maps\n(equal colour = equal effect on the "
            "normalised feature)" if mode == "deviation" else "colour: the values, one scale per row")
    fig.supxlabel(f"Channel means of the style maps at each block's feature size; [min, max] under each map;\n{what}",
                  fontsize=7)
    return fig


def save_fig8(result: AdaNormMaps, path: str | Path, *, title: str = "", mode: str = "deviation",
              dpi: int = 150) -> Path:
    """Draw :func:`draw_fig8` into a PNG at ``path`` (written to a temporary sibling and renamed)."""
    fig = draw_fig8(result, title=title, mode=mode)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return Path(path)
