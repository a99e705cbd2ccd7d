"""Render a chunk of the plan: one appearance code per source image, its poses decoded in batches, JPEG files out.

Works at the model + keypoints level (no person search: dataset images are already person crops of the model's
size): the source image and its pose maps go through ``Generator.appearance_code`` once, and the decoder renders the
code in every target pose (APS's encoder sees only the source, reference §3.1-3.2, so one code serves all poses).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from posestylizer.augment.plan import Chunk, Job
from posestylizer.errors import DataError
from posestylizer.keypoints.maps import heatmaps
from posestylizer.results.protocol import image_to_tensor, to_uint8
from posestylizer.runtime.imagefiles import read_image, save_image
from posestylizer.runtime.precision import PrecisionChoice, autocast

JPEG_QUALITY = 95  # as `posestylizer data resize` writes dataset images


@dataclass
class Renderer:
    """A loaded generator and what its inputs must be.

    Args:
        generator: APS generator in eval mode (its variant must have a pose-free appearance code).
        size: (H, W) of its images (the checkpoint's contract).
        sigma: pose-map Gaussian sigma in pixels (the contract's).
        device: where it runs.
        precision: resolved precision (fp32 or bf16/fp16 autocast); images are made float32 before uint8.
        batch: poses per decoder call.
    """

    generator: torch.nn.Module
    size: tuple[int, int]
    sigma: float
    device: torch.device
    precision: PrecisionChoice
    batch: int

    def _maps(self, keypoints: list[np.ndarray]) -> torch.Tensor:
        maps = np.stack([heatmaps(kp, self.size, self.sigma) for kp in keypoints])
        return torch.from_numpy(maps).to(self.device)

    def read_sources(self, image_dir: Path, names: tuple[str, ...]) -> tuple[list[str], list[np.ndarray]]:
        """(names that could be read, their uint8 (H, W, 3) images); unreadable or wrongly sized files are left
        out (counted at the end as skipped)."""
        kept, images = [], []
        for name in names:
            try:
                images.append(read_image(image_dir / name, self.size))
            except DataError:
                continue
            kept.append(name)
        return kept, images

    @torch.no_grad()
    def render(self, chunk: Chunk, images: list[np.ndarray], names: list[str],
               source_kp: dict[str, np.ndarray]) -> list[tuple[Job, np.ndarray]]:  # fmt: skip
        """The chunk's jobs of the sources in ``names`` as (job, uint8 (H, W, 3) image), in job order.

        Args:
            chunk: the unit of work (its jobs name the source, the retargeted target keypoints and the output).
            images: uint8 (H, W, 3) source images, one per name.
            names: the chunk's sources that were read.
            source_kp: (18, 2) (y, x) model-pixel keypoints of every source.
        """
        if not names:
            return []
        src = torch.stack([image_to_tensor(im) for im in images]).to(self.device)
        src_pose = self._maps([source_kp[n] for n in names])
        with autocast(self.precision, self.device):
            codes = self.generator.appearance_code(src, src_pose)  # once per source image
        row = {n: i for i, n in enumerate(names)}
        jobs = [job for job in chunk.jobs if job.source in row]
        out = []
        for start in range(0, len(jobs), self.batch):
            part = jobs[start : start + self.batch]
            index = torch.tensor([row[j.source] for j in part], device=self.device)
            tgt_pose = self._maps([j.keypoints for j in part])
            with autocast(self.precision, self.device):
                fake = self.generator.decoder(codes.index_select(0, index), tgt_pose)
            fake = fake.float().cpu()  # one device-to-host copy per batch
            out += [(job, to_uint8(img)) for job, img in zip(part, fake)]
        return out


def write_outputs(out_dir: Path, rendered: list[tuple[Job, np.ndarray]]) -> int:
    """Write every image whose file does not exist yet (each through a temporary sibling and a rename, so a killed
    run never leaves part of an image under its final name); returns how many were written."""
    written = 0
    for job, image in rendered:
        path = out_dir / job.name
        if path.exists():
            continue
        save_image(image, path, quality=JPEG_QUALITY)
        written += 1
        _test_pause()
    return written


def remove_stale_temporaries(out_dir: Path, names: list[str]) -> None:
    """Delete the temporary files a killed run left for these outputs (``.<name>.tmp-<pid>.jpg``). Only the process
    that owns the outputs in this run calls it, so it never touches a file another process is writing."""
    for name in names:
        for tmp in out_dir.glob(f".{name}.tmp-*"):
            tmp.unlink(missing_ok=True)


def _test_pause() -> None:
    """Sleep ``$POSESTYLIZER_TEST_WRITE_PAUSE`` seconds after each image (the crash tests set it so that a kill -9
    lands in the middle of a chunk; unset: no pause)."""
    pause = os.environ.get("POSESTYLIZER_TEST_WRITE_PAUSE")
    if pause:
        time.sleep(float(pause))
