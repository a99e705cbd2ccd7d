"""Where the files of a PATN-layout dataset live (reference §1.1-§1.4), with presets for the authors' archives.

A dataset root holds ``train/`` and ``test/`` image folders, an annotation CSV and a pair CSV per phase and, optionally,
precomputed pose maps in ``<phase>K/<image name>.npy``. Only the file names and the image geometry differ between
Market-1501 and DeepFashion; every name can be overridden::

    layout = get_layout("market", pairs="my-pairs-{phase}.csv")
    layout.annotation_path(root, "train")  # root / "market-annotation-train.csv"
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from posestylizer.errors import DataError

PHASES = ("train", "test")


@dataclass(frozen=True)
class Layout:
    """File names and geometry of one PATN-layout dataset.

    Args:
        name: preset name (``market``, ``fashion``) or a user label.
        image_size: (H, W) every image must have; pose maps and masks are rendered at this size.
        heatmap_sigma: Gaussian sigma of the pose maps in pixels (reference §1.6: market 6, fashion 12).
        annotation: annotation CSV file name, ``{phase}`` replaced by ``train``/``test``; relative to the root.
        pairs: pair CSV file name, same rule.
        images: image folder of a phase, relative to the root.
        heatmaps: precomputed pose-map folder of a phase (``<folder>/<image name>.npy``).
        identity_split: how a person id is cut out of an image name: ``first`` = text before the first ``_``
            (Market ``0002_c1s1_000451_03.jpg``), ``last`` = text before the last ``_`` (DeepFashion
            ``fashionWOMENTees_Tanksid0000062904_3back.jpg``: category names carry their own underscores).
        junk_prefixes: names starting with one of these are never paired (Market distractors ``-1``/``0000``).
    """

    name: str
    image_size: tuple[int, int]
    heatmap_sigma: float
    annotation: str
    pairs: str
    images: str = "{phase}"
    heatmaps: str = "{phase}K"
    identity_split: str = "first"
    junk_prefixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.identity_split not in ("first", "last"):
            raise DataError(
                f"layout {self.name}: identity_split must be 'first' or 'last', not {self.identity_split!r}"
            )

    def annotation_path(self, root: str | Path, phase: str) -> Path:
        return Path(root) / self.annotation.format(phase=phase)

    def pairs_path(self, root: str | Path, phase: str, *, search_parent: bool = False) -> Path:
        """The pair list of ``phase``. For reading, ``search_parent`` falls back to the parent folder, where the
        authors' test script looks for ``market-pairs-test.csv`` (reference §10.15), when the root has none."""
        path = Path(root) / self.pairs.format(phase=phase)
        if search_parent and not path.exists():
            parent = Path(root).parent / path.name
            if parent.exists():
                return parent
        return path

    def image_dir(self, root: str | Path, phase: str) -> Path:
        return Path(root) / self.images.format(phase=phase)

    def heatmap_path(self, root: str | Path, phase: str, name: str) -> Path:
        # The reference appends ".npy" to the full image name: 0002_c1s1_000451_03.jpg.npy (§1.1).
        return Path(root) / self.heatmaps.format(phase=phase) / f"{name}.npy"

    def identity(self, name: str) -> str:
        """Person id of an image name (pairs join images of the same id, reference §1.3)."""
        if "_" not in name:
            return name
        return name.split("_", 1)[0] if self.identity_split == "first" else name.rsplit("_", 1)[0]

    def is_junk(self, name: str) -> bool:
        return any(name.startswith(p) for p in self.junk_prefixes)

    def replace(self, **changes) -> Layout:
        return dataclasses.replace(self, **changes)


LAYOUTS: dict[str, Layout] = {
    # File names of the authors' market_data archive (reference §1.1).
    "market": Layout(
        name="market",
        image_size=(128, 64),
        heatmap_sigma=6.0,
        annotation="market-annotation-{phase}.csv",
        pairs="market-pairs-{phase}.csv",
        identity_split="first",
        junk_prefixes=("-1", "0000"),
    ),
    # File names of the authors' fashion_data archive; 176x256 crops, sigma 12 (reference §0, §1.4).
    "fashion": Layout(
        name="fashion",
        image_size=(256, 176),
        heatmap_sigma=12.0,
        annotation="fashion-resize-annotation-{phase}.csv",
        pairs="fashion-resize-pairs-{phase}.csv",
        identity_split="last",
    ),
}


def get_layout(layout: str | Layout = "market", **overrides) -> Layout:
    """A preset by name (or a Layout as is), with any field replaced by a non-empty keyword override."""
    if isinstance(layout, Layout):
        base = layout
    else:
        try:
            base = LAYOUTS[layout]
        except KeyError:
            raise DataError(
                f"unknown dataset layout '{layout}': choose one of {', '.join(LAYOUTS)}"
            ) from None
    changes = {k: v for k, v in overrides.items() if v not in (None, "")}
    if "image_size" in changes:
        changes["image_size"] = tuple(int(v) for v in changes["image_size"])
    return base.replace(**changes) if changes else base
