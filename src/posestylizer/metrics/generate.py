"""Generate the test pairs of a dataset with a checkpoint and write them as files to evaluate (reference §6).

For every pair, in pair-list order, batch by batch in eval mode:

- ``generated/<from>___<to>.png``: the generated image, lossless (the clean protocol reads these);
- with ``write_grids``, ``grids/<from>___<to>_vis.jpg``: the authors' ``[source | source pose | target | target pose | generated]`` grid,
  uint8 by truncation, PIL JPEG quality 75 (the paper protocol reads these, as the authors' scripts do).

The targets of the clean protocol are the dataset's own test images.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from posestylizer.metrics.panels import compose_grid, pair_filename, save_paper_grid, to_uint8
from posestylizer.pose import draw_pose


@dataclass
class GeneratedResults:
    grids: Path
    generated: Path
    targets: Path
    train_images: Path
    annotation: Path
    pairs: list[tuple[str, str]]


def generate_results(
    checkpoint: str | Path, data_root: str | Path, out_dir: str | Path, *, layout: str = "market",
    device: str = "cpu", batch_size: int = 16, write_grids: bool = True,
    progress: Callable[[Iterable, str], Iterable] | None = None,
) -> GeneratedResults:
    """Run ``load_generator(checkpoint)`` over the test pairs of ``data_root`` and write the result files.

    Images and pose maps are made by the checkpoint's input contract (image size, heatmap sigma).
    """
    from posestylizer.checkpoint import load_generator, require_contract
    from posestylizer.data.dataset import PairDataset

    model = load_generator(checkpoint, device=device)
    contract = require_contract(model, checkpoint)
    size = tuple(contract.image_size)
    # Pose maps as the model was trained on them (the checkpoint's sigma); `layout` only names the dataset's files.
    dataset = PairDataset(
        data_root, "test", layout=layout, image_size=size, heatmap_sigma=contract.heatmap_sigma, masks=False
    )
    out = Path(out_dir)
    grids, generated = out / "grids", out / "generated"
    generated.mkdir(parents=True, exist_ok=True)
    if write_grids:
        grids.mkdir(parents=True, exist_ok=True)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    batches = progress(loader, "generating") if progress else loader
    with torch.no_grad():
        for batch in batches:
            fake = model(batch["src_img"].to(device), batch["src_pose"].to(device), batch["tgt_pose"].to(device))
            for i in range(fake.shape[0]):
                src, tgt = batch["src_name"][i], batch["tgt_name"][i]
                gen = to_uint8(fake[i])
                Image.fromarray(gen).save(generated / pair_filename(src, tgt, ".png"))
                if write_grids:
                    grid = compose_grid(
                        to_uint8(batch["src_img"][i]), draw_pose(batch["src_kp"][i].numpy(), size),
                        to_uint8(batch["tgt_img"][i]), draw_pose(batch["tgt_kp"][i].numpy(), size), gen,
                    )
                    save_paper_grid(np.ascontiguousarray(grid), grids / pair_filename(src, tgt, ".jpg", grid=True))
    return GeneratedResults(
        grids=grids, generated=generated, targets=dataset.image_dir,
        train_images=dataset.layout.image_dir(data_root, "train"),
        annotation=dataset.layout.annotation_path(data_root, "test"), pairs=list(dataset.pairs),
    )
