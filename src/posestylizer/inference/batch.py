"""Generate the pairs of a dataset with a checkpoint and write them as result files (reference §6).

For every pair, in pair-list order, batch by batch in eval mode:

- ``generated/<from>___<to>.png``: the generated image, lossless (the clean protocol reads these);
- with ``write_grids``, ``grids/<from>___<to>_vis.jpg``: the authors' ``[source | source pose | target | target
  pose | generated]`` grid, uint8 by truncation, PIL JPEG quality 75 (the paper protocol reads these, as the
  authors' scripts do; ``posestylizer evaluate OUT/grids`` reads them too).

``posestylizer generate --data`` and ``posestylizer evaluate --checkpoint`` both call :func:`generate_results`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from posestylizer.results.panels import batch_rows
from posestylizer.results.protocol import pair_filename, save_paper_grid, to_uint8
from posestylizer.runtime.denormals import flush_denormals
from posestylizer.runtime.imagefiles import save_image
from posestylizer.runtime.precision import autocast, inference_precision


@dataclass
class GeneratedResults:
    """Where :func:`generate_results` wrote its files, and what the evaluation needs besides them."""

    grids: Path
    generated: Path
    targets: Path
    train_images: Path
    annotation: Path
    pairs: list[tuple[str, str]]


def generate_results(
    checkpoint: str | Path, data_root: str | Path, out_dir: str | Path, *, layout: str | None = None,
    pairs_file: str | Path | None = None, preset: str | None = None, device: str = "cpu", precision: str = "fp32",
    batch_size: int = 16, write_grids: bool = True, progress: Callable[[Iterable, str], Iterable] | None = None,
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
        progress: ``(iterable, description) -> iterable`` wrapper, e.g. a tqdm bar.
    """
    from posestylizer.checkpoints.native import load_generator, require_contract
    from posestylizer.data.dataset import PairDataset

    choice = inference_precision(precision, torch.device(device))
    model = load_generator(checkpoint, device=device, preset=preset)
    contract = require_contract(model, checkpoint)
    # Pose maps as the model was trained on them (the checkpoint's sigma); `layout` only names the dataset's files.
    dataset = PairDataset(
        data_root, "test", layout=layout or contract.layout, image_size=tuple(contract.image_size),
        heatmap_sigma=contract.heatmap_sigma, masks=False, pairs_file=pairs_file,
    )
    out = Path(out_dir)
    grids, generated = out / "grids", out / "generated"
    generated.mkdir(parents=True, exist_ok=True)
    if write_grids:
        grids.mkdir(parents=True, exist_ok=True)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    with torch.no_grad(), flush_denormals():  # runtime.denormals: faster on Intel CPUs, outputs identical
        for batch in progress(loader, "generating") if progress else loader:
            with autocast(choice, torch.device(device)):
                fake = model(batch["src_img"].to(device), batch["src_pose"].to(device), batch["tgt_pose"].to(device))
            fake = fake.float()  # bf16/fp16 autocast output: to float32 before uint8
            names = list(zip(batch["src_name"], batch["tgt_name"]))
            for (src, tgt), image in zip(names, fake):
                save_image(to_uint8(image), generated / pair_filename(src, tgt, ".png"))
            if write_grids:
                for (src, tgt), row in zip(names, batch_rows(batch, fake)):
                    save_paper_grid(row, grids / pair_filename(src, tgt, ".jpg", grid=True))
    return GeneratedResults(
        grids=grids, generated=generated, targets=dataset.image_dir,
        train_images=dataset.layout.image_dir(data_root, "train"),
        annotation=dataset.layout.annotation_path(data_root, "test"), pairs=list(dataset.pairs),
    )
