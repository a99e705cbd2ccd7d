"""Collect (target, generated) pairs from result files: the first of the three steps collect, compute, write.

Two file sources: the authors' 5-panel grids, or two folders of images with matching names. Problems with individual
files (unreadable, wrong size, unmatched, missing) are listed on the :class:`Collection` and never stop the run; only
a folder with no result image at all is an error. Images generated in memory (the demo, the ablation,
``evaluate --checkpoint``) come from :func:`posestylizer.inference.collect.collect`, which builds a
:class:`Collection` equal to what these readers give for the files it writes.

Every collection says how its images were stored (``images``: :data:`IMAGE_KINDS`), and every report repeats it: the
paper's numbers are computed on panels cut out of 5-panel JPEG grids (quality 75), so a score of lossless images of the
same model is a different number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posestylizer.errors import DataError
from posestylizer.results.protocol import pair_from_name, split_grid
from posestylizer.runtime.imagefiles import IMAGE_EXTS, image_files, is_image_file, read_image
from posestylizer.runtime.progress import QUIET, Progress

PAPER_GRID, LOSSLESS, STORED = "paper_grid", "lossless", "stored_files"
IMAGE_KINDS = {
    PAPER_GRID: "panels cut out of the paper's 5-panel JPEG grids (quality 75)",
    LOSSLESS: "lossless uint8 images (in memory or PNG, never JPEG-compressed)",
    STORED: "image files as stored (JPEG files among them, not the paper's grid)",
}
LOSSLESS_SUFFIXES = (".png", ".bmp", ".tif", ".tiff")


@dataclass
class ResultItem:
    """One evaluated pair: the result file's name, the pair's image names, and uint8 (H, W, 3) panels."""

    name: str
    src_name: str | None
    tgt_name: str
    target: np.ndarray
    generated: np.ndarray


@dataclass
class Collection:
    """The pairs to evaluate, where they came from (one line for the report), the files that were not usable, and
    how the images were stored (``images``, a key of :data:`IMAGE_KINDS`)."""

    items: list[ResultItem]
    source: str
    unreadable: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    images: str = LOSSLESS


def stored_kind(files: list[Path], grids: bool) -> str:
    """How these result files store the generated images: PNG and the like are lossless, JPEG grids are the paper's
    (targets are whatever the dataset holds and do not count)."""
    if all(p.suffix.lower() in LOSSLESS_SUFFIXES for p in files):
        return LOSSLESS
    return PAPER_GRID if grids else STORED


def _image_files(folder: Path, what: str) -> tuple[list[Path], list[str]]:
    if not folder.is_dir():
        raise DataError(f"{folder}: {what} folder not found")
    files = image_files(folder)
    other = [f"{p.name}: not an image file" for p in sorted(folder.iterdir())
             if p.is_file() and not is_image_file(p) and not p.name.startswith(".")]
    if not files:
        raise DataError(f"{folder}: no result images ({', '.join(IMAGE_EXTS)}) in this folder")
    return files, other


def _missing_pairs(found: set[tuple[str, str]], expected: list[tuple[str, str]] | None) -> list[str]:
    if not expected:
        return []
    return [f"{a}___{b}: no result file" for a, b in expected if (a, b) not in found]


def collect_grids(folder: str | Path, expected_pairs: list[tuple[str, str]] | None = None,
                  progress: Progress = QUIET) -> Collection:
    """Read the authors' ``<from>___<to>_vis.jpg`` grids (reference §7.1), sorted by file name."""
    folder = Path(folder)
    files, extra = _image_files(folder, "results")
    col = Collection([], f"5-panel grids in {folder}", extra=extra, images=stored_kind(files, grids=True))
    found: set[tuple[str, str]] = set()
    wanted = set(expected_pairs) if expected_pairs else None
    for path in progress(files, "reading grids", unit="image"):
        pair = pair_from_name(path.name)
        if pair is None:
            col.extra.append(f"{path.name}: not a '<from>___<to>_vis.jpg' result name")
            continue
        if wanted is not None and pair not in wanted:
            col.extra.append(f"{path.name}: pair not in the pair list")
            continue
        found.add(pair)  # a result file exists (if unreadable, it is listed as such, not as missing)
        try:
            grid = read_image(path)
        except DataError as err:
            col.unreadable.append(str(err))
            continue
        if grid.shape[1] % 5:
            col.unreadable.append(f"{path}: width {grid.shape[1]} is not 5 panels of equal width")
            continue
        panels = split_grid(grid)
        col.items.append(ResultItem(path.name, pair[0], pair[1], panels["target"].copy(), panels["generated"].copy()))
    col.missing = _missing_pairs(found, expected_pairs)
    return col


def _targets_by_stem(targets: Path) -> dict[str, Path]:
    """Target files by name and by stem (``x.png`` finds ``x.jpg``)."""
    if not targets.is_dir():
        raise DataError(f"{targets}: targets folder not found")
    by_stem: dict[str, Path] = {}
    for p in image_files(targets):
        by_stem.setdefault(p.stem, p)
        by_stem.setdefault(p.name, p)
    return by_stem


def collect_folders(targets: str | Path, generated: str | Path,
                    expected_pairs: list[tuple[str, str]] | None = None,
                    progress: Progress = QUIET) -> Collection:
    """Pair each generated image with the target of the same name (or, for ``<from>___<to>.png``, the ``to`` image).

    Names match on the file stem, so ``x.png`` pairs with ``x.jpg``; images are read as stored (PNG is lossless).
    """
    targets, generated = Path(targets), Path(generated)
    gen_files, extra = _image_files(generated, "generated")
    by_stem = _targets_by_stem(targets)
    col = Collection([], f"targets in {targets} vs generated images in {generated}", extra=extra,
                     images=stored_kind(gen_files, grids=False))
    used: set[str] = set()
    found: set[tuple[str, str]] = set()
    wanted = set(expected_pairs) if expected_pairs else None
    cache: dict[Path, np.ndarray] = {}
    for path in progress(gen_files, "reading images", unit="image"):
        pair = pair_from_name(path.name)
        if wanted is not None and pair is not None and pair not in wanted:
            col.extra.append(f"{path.name}: pair not in the pair list")
            continue
        src_name, tgt_key = pair if pair else (None, path.stem)
        if pair:
            found.add(pair)
        tgt_path = by_stem.get(tgt_key) or by_stem.get(Path(tgt_key).stem)
        if tgt_path is None:
            col.extra.append(f"{path.name}: no target image named {tgt_key} in {targets}")
            continue
        try:
            gen = read_image(path)
            if tgt_path not in cache:
                cache[tgt_path] = read_image(tgt_path)
        except DataError as err:
            col.unreadable.append(str(err))
            continue
        tgt = cache[tgt_path]
        if gen.shape != tgt.shape:
            col.unreadable.append(f"{path}: generated image is {gen.shape[0]}x{gen.shape[1]}, its target "
                                  f"{tgt_path.name} is {tgt.shape[0]}x{tgt.shape[1]}")
            continue
        used.add(tgt_path.name)
        col.items.append(ResultItem(path.name, src_name, tgt_path.name if pair is None else tgt_key, tgt, gen))
    if expected_pairs:
        col.missing = _missing_pairs(found, expected_pairs)
    else:
        col.missing = [f"{p.name}: no generated image" for p in sorted(set(by_stem.values())) if p.name not in used]
    return col
