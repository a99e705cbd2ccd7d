"""A dataset's pairs generated with a checkpoint, written as result files (reference §6).

The pairs are generated once by :func:`posestylizer.inference.collect.collect` (the one path from a generator to
scored images); the writers here put the collected images on disk:

- :func:`write_pngs`: ``generated/<from>___<to>.png``, the generated image, lossless (the clean protocol);
- :func:`write_paper_grids`: ``grids/<from>___<to>_vis.jpg``, the authors' ``[source | source pose | target | target pose |
  generated]`` grid, uint8 by truncation, PIL JPEG quality 75 (the paper protocol reads these, as the authors'
  scripts do; ``posestylizer evaluate OUT/grids`` reads them too). They hold the very bytes
  :meth:`~posestylizer.inference.collect.Collected.paper_grids` scores in memory.

``posestylizer generate --data`` and ``posestylizer evaluate --checkpoint`` both call :func:`generate_results`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from posestylizer.checkpoints.native import load_generator, require_contract
from posestylizer.data.dataset import PairDataset
from posestylizer.inference.collect import Collected, collect
from posestylizer.results.protocol import save_paper_grid
from posestylizer.runtime.imagefiles import save_image
from posestylizer.runtime.progress import QUIET, Progress


def write_pngs(collected: Collected, folder: str | Path) -> Path:
    """Each pair's generated image as ``<folder>/<from>___<to>.png`` (lossless); returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for pair in collected.pairs:
        save_image(pair.generated, folder / pair.name)
    return folder


def write_paper_grids(collected: Collected, folder: str | Path) -> Path:
    """Each pair's 5-panel grid as the authors' ``<folder>/<from>___<to>_vis.jpg`` (JPEG quality 75)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for pair in collected.pairs:
        save_paper_grid(pair.grid(), folder / pair.grid_name)
    return folder


@dataclass
class GeneratedResults:
    """Where :func:`generate_results` wrote its files, what it generated, and what the evaluation needs besides."""

    grids: Path
    generated: Path
    targets: Path
    train_images: Path
    annotation: Path
    pairs: list[tuple[str, str]]
    collected: Collected
    dataset: object  # the PairDataset the pairs were read from (made by the checkpoint's contract)
    layout: str  # the dataset layout used: the one asked for, else the checkpoint's


def checkpoint_dataset(model, checkpoint: str | Path, data_root: str | Path, *, layout: str | None = None,
                       pairs_file: str | Path | None = None):  # fmt: skip
    """The test pairs of ``data_root`` made by the model's input contract (image size, heatmap sigma), in the layout
    asked for or else the one the checkpoint was trained on; CheckpointError for a checkpoint without a contract."""

    contract = require_contract(model, checkpoint)
    return PairDataset(
        data_root, "test", layout=layout or contract.layout, image_size=tuple(contract.image_size),
        heatmap_sigma=contract.heatmap_sigma, masks=False, pairs_file=pairs_file,
    )  # fmt: skip


def generate_results(
    checkpoint: str | Path, data_root: str | Path, out_dir: str | Path, *, layout: str | None = None,
    pairs_file: str | Path | None = None, preset: str | None = None, device: str = "cpu", precision: str = "fp32",
    batch_size: int = 16, write_grids: bool = True, progress: Progress = QUIET,
) -> GeneratedResults:
    """Run ``load_generator(checkpoint)`` over the test pairs of ``data_root`` and write the result files.

    Images and pose maps are made by the checkpoint's input contract (image size, heatmap sigma).

    Args:
        checkpoint: native folder, training run's ``generator/`` or an authors' ``.pth``.
        data_root: PATN-layout dataset; its ``test`` images and annotation are read.
        out_dir: receives ``generated/`` and (with ``write_grids``) ``grids/``.
        layout: file names of the dataset (``market``, ``fashion``); default: the layout the checkpoint was
            trained on.
        pairs_file: pair CSV (``from,to``) instead of the dataset's test pairs.
        preset: for an authors' ``.pth``, which paper model it is (``market``, ``fashion``).
        precision: ``fp32``, ``bf16``, ``fp16`` (CUDA) or ``auto`` (:func:`~posestylizer.runtime.precision.inference_precision`;
            autocast on the model's device).
        progress: the progress bars of the command.
    """

    model = load_generator(checkpoint, device=device, preset=preset)
    dataset = checkpoint_dataset(model, checkpoint, data_root, layout=layout, pairs_file=pairs_file)
    collected = collect(model, dataset, device=device, precision=precision, batch_size=batch_size,
                        progress=progress, description=f"{checkpoint} on the test pairs of {data_root}")  # fmt: skip
    out = Path(out_dir)
    generated = write_pngs(collected, out / "generated")
    grids = write_paper_grids(collected, out / "grids") if write_grids else out / "grids"
    return GeneratedResults(
        grids=grids, generated=generated, targets=dataset.image_dir,
        train_images=dataset.layout.image_dir(data_root, "train"),
        annotation=dataset.layout.annotation_path(data_root, "test"), pairs=list(dataset.pairs),
        collected=collected, dataset=dataset, layout=dataset.layout.name,
    )
