"""The statistics behind the paper's Fig. 8: AdaPN's bias and scale maps per generator block.

The adaptive norms of the APS decoder compute ``x_hat * (1 + gamma) + beta`` (paper Eq. 8: gamma is the scaling
factor y_w, beta the bias y_b). AdaPN predicts them per bottleneck cell, so they vary over positions; AdaIN predicts
one pair per channel, so its maps are flat. This module prepares a source photo exactly as the generation pipeline
does (:meth:`~posestylizer.inference.PoseStylizerPipeline.appearance`: person, framing, pose maps, appearance code S),
asks every adaptive norm of the decoder for its maps (its own ``style_maps`` method, at the feature size it is applied
to) and averages them over channels, as the paper's figure does::

    result = adanorm_maps("runs/demo", "photo.jpg", source_pose="photo_keypoints.json")
    for m in result.maps:
        print(m.label, m.beta.std(), m.gamma.std())

Drawing lives in :mod:`posestylizer.experiments.fig8`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from posestylizer.errors import DataError
from posestylizer.inference import PoseStylizerPipeline
from posestylizer.inference.inputs import load_image
from posestylizer.keypoints import read_pose_records, rescale
from posestylizer.keypoints.maps import heatmaps

# Decoder norms are named decoder.fg_blocks.<i>.norm<j> (models/generator.py); "Dec i" counts blocks from 1 like the
# paper's figure.
_NORM_NAME = re.compile(r"fg_blocks\.(\d+)\.(norm\d+)$")


@dataclass
class NormMaps:
    """Channel-averaged style maps of one adaptive norm.

    Attributes:
        name: module name inside the decoder (``fg_blocks.0.norm1``).
        label: short label for figures (``Dec 1 norm1``).
        beta: float32 (H, W), channel mean of the bias y_b at the norm's feature size (H, W).
        gamma: float32 (H, W), channel mean of the scaling factor y_w (the norm multiplies by 1 + gamma).
    """

    name: str
    label: str
    beta: np.ndarray
    gamma: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        return self.beta.shape


@dataclass
class AdaNormMaps:
    """What :func:`adanorm_maps` returns.

    Attributes:
        adanorm: the checkpoint's adaptive norm (``adapn``, ``adain``, ...), from its config.
        crop: uint8 (h, w, 3), the source person as the model sees it (the contract's image size).
        keypoints: int64 (18, 2) (y, x) model pixels of the source person, -1 = missing.
        code: float32 (Cb, h', w'), the appearance code S.
        maps: one :class:`NormMaps` per adaptive norm, in the order the decoder applies them.
    """

    adanorm: str
    crop: np.ndarray
    keypoints: np.ndarray
    code: np.ndarray
    maps: list[NormMaps]


def norm_label(name: str) -> str:
    """``fg_blocks.2.norm1`` -> ``Dec 3 norm1``; other names are kept as they are."""
    m = _NORM_NAME.search(name)
    return f"Dec {int(m.group(1)) + 1} {m.group(2)}" if m else name


@torch.no_grad()
def style_maps(decoder: torch.nn.Module, code: torch.Tensor, tgt_pose: torch.Tensor) -> list[NormMaps]:
    """Channel-mean (beta, gamma) of every adaptive norm (any module with a ``style_maps`` method) of ``decoder``.

    The decoder is run once on ``tgt_pose``; a hook on each norm asks it for its maps from the code and the feature
    size it is actually applied to, so odd widths and variant decoders need no special case here.

    Args:
        decoder: e.g. ``Generator.decoder``; its norms are called as ``norm(x, style)``.
        code: (1, Cb, h', w') appearance code S.
        tgt_pose: (1, 18, H, W) pose maps in [0, 1] the decoder renders (the source pose: a reconstruction).
    Returns:
        one :class:`NormMaps` per norm, in call order; maps are (H_i, W_i) float32.
    """
    found: dict[str, NormMaps] = {}

    def hook(name: str):
        def record(module, args, _output):
            x, style = args[0], args[1]
            beta, gamma = module.style_maps(style, x.shape[-2:])
            # AdaIN's maps are (B, C, 1, 1): expand the channel means to the feature size so every map is (H, W).
            size = (x.shape[0], *x.shape[-2:])
            found.setdefault(name, NormMaps(name, norm_label(name), _channel_mean(beta, size),
                                            _channel_mean(gamma, size)))
        return record

    norms = [(n, m) for n, m in decoder.named_modules() if callable(getattr(m, "style_maps", None))]
    handles = [m.register_forward_hook(hook(n)) for n, m in norms]
    try:
        decoder(code, tgt_pose)
    finally:
        for h in handles:
            h.remove()
    return list(found.values())


def _channel_mean(t: torch.Tensor, size: tuple[int, int, int]) -> np.ndarray:
    return t.float().mean(dim=1).expand(size)[0].cpu().numpy().astype(np.float32)


def read_source_pose(path: str | Path, source: str | Path, photo_size: tuple[int, int]) -> np.ndarray:
    """The source person's keypoints from any file :func:`~posestylizer.keypoints.read_pose_records` reads.

    A file with several images (a dataset's PATN annotation CSV, a COCO file) gives the row of the source photo's
    file name. Returns float (18, 2) (y, x) pixels of the photo (of size ``photo_size`` (H, W)), -1 = missing.
    """

    path = Path(path)
    if not path.is_file():
        raise DataError(f"--source-pose {path}: no such keypoint file")
    records = read_pose_records(path, image_size=photo_size)
    if len(records) != 1:
        name = Path(source).name
        records = [r for r in records if r.name in (name, Path(name).stem)]
        if not records:
            raise DataError(f"{path}: holds several images but none named {name!r}; give the keypoint file of "
                            f"{name} (one row, or a file with a row named {name})")
    return np.asarray(rescale(records[0], photo_size), dtype=np.float64)


def adanorm_maps(checkpoint: str | Path, source: str | Path, *, source_pose: str | Path | None = None,
                 device: str = "cpu", estimator=None, pipeline=None) -> AdaNormMaps:
    """Load a checkpoint, prepare ``source`` as ``generate`` does and return the maps of every adaptive norm.

    Args:
        checkpoint: native checkpoint folder, training run folder or authors' ``.pth``.
        source: the photo (path).
        source_pose: keypoint file of the source person; None estimates the pose (MediaPipe by default).
        device: where the generator runs.
        estimator: pose estimator for the pipeline (see :class:`~posestylizer.inference.PoseStylizerPipeline`).
        pipeline: an already built pipeline to use instead of loading ``checkpoint``.
    """

    pipe = pipeline or PoseStylizerPipeline.from_pretrained(checkpoint, device=device, estimator=estimator)
    kp = None
    if source_pose is not None:
        kp = read_source_pose(source_pose, source, load_image(source).shape[:2])
    app = pipe.appearance(source, source_keypoints=kp)
    src_pose = torch.from_numpy(heatmaps(app.keypoints, pipe.size, pipe.contract.heatmap_sigma))[None]
    code = app.code.float()
    maps = style_maps(pipe.generator.decoder, code, src_pose.to(code.device))
    return AdaNormMaps(adanorm=pipe.generator.config.adanorm, crop=app.crop, keypoints=app.keypoints,
                       code=code[0].cpu().numpy(), maps=maps)


def spread_rows(maps: list[NormMaps]) -> list[dict]:
    """Per norm: mean and standard deviation over positions of the channel-mean beta and gamma maps (the number
    behind the paper's reading of Fig. 8: biases alike within a layer, scaling factors varying across positions)."""
    return [{"norm": m.label, "size": f"{m.size[0]}x{m.size[1]}",
             "beta_mean": float(m.beta.mean()), "beta_std": float(m.beta.std()),
             "gamma_mean": float(m.gamma.mean()), "gamma_std": float(m.gamma.std())} for m in maps]


def spread_table(maps: list[NormMaps]) -> str:
    """:func:`spread_rows` as a fixed-width text table."""
    head = f"{'norm':<14}{'size':>7}{'beta mean':>11}{'beta std':>10}{'gamma mean':>12}{'gamma std':>11}"
    lines = [head]
    for r in spread_rows(maps):
        lines.append(f"{r['norm']:<14}{r['size']:>7}{r['beta_mean']:>11.4f}{r['beta_std']:>10.4f}"
                     f"{r['gamma_mean']:>12.4f}{r['gamma_std']:>11.4f}")
    return "\n".join(lines)
