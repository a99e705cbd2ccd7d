"""Inception Score and FID through torch-fidelity's TF-Inception port (reference §7.5).

torch-fidelity's ``inception-v3-compat`` reproduces the 2015-12-05 TensorFlow graph the authors used: uint8 input at
native size, TF1-style bilinear resize to 299x299 and scaling to [-1, 1] inside the network, and ``logits_unbiased``
(pool_3 times the logit weights, no bias, 1008 classes) for IS. Splits are taken in list order (no shuffling), as the
authors' script does, so the IS of a folder depends on the file order.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from posestylizer.checkpoints.pretrained import SPECS, read_state_dict, resolve_weights
from posestylizer.errors import DataError
from posestylizer.metrics.batching import shape_batches
from posestylizer.runtime.files import atomic_path
from posestylizer.runtime.imagefiles import image_files
from posestylizer.runtime.progress import QUIET, Progress

IS_FEATURE = "logits_unbiased"
FID_FEATURE = "2048"
IS_SPLITS = 10


class InceptionFeatures:
    """TF-Inception feature extractor (torch-fidelity) loaded from a local or cached weights file.

    Args:
        weights_dir: folder holding ``weights-inception-2015-12-05-6726825d.pth``; ``None`` = torch's hub cache,
            downloading once when online.
        device: torch device for the network.
        batch_size: images per forward pass.
    """

    def __init__(self, weights_dir: str | Path | None = None, device: str | torch.device = "cpu",
                 batch_size: int = 32) -> None:
        from torch_fidelity.utils import create_feature_extractor

        path = resolve_weights("inception", weights_dir)
        # torch-fidelity reads the file with weights_only=False; check it is a plain tensor dict first.
        read_state_dict(path, SPECS["inception"].what)
        self.weights_file = path
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.net = create_feature_extractor(
            "inception-v3-compat", [IS_FEATURE, FID_FEATURE], cuda=False,
            feature_extractor_weights_path=str(path), verbose=False,
        ).to(self.device)

    @torch.no_grad()
    def __call__(self, images: Iterable[np.ndarray]) -> dict[str, torch.Tensor]:
        """Features of uint8 (H, W, 3) images: ``{"logits_unbiased": (N, 1008), "2048": (N, 2048)}`` (float32, CPU)."""
        out: dict[str, list[torch.Tensor]] = {IS_FEATURE: [], FID_FEATURE: []}
        for batch in shape_batches(images, self.batch_size):
            x = torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous().to(self.device)
            logits, pool = self.net(x)
            out[IS_FEATURE].append(logits.cpu())
            out[FID_FEATURE].append(pool.cpu())
        if not out[IS_FEATURE]:
            return {k: torch.zeros(0, 1008 if k == IS_FEATURE else 2048) for k in out}
        return {k: torch.cat(v) for k, v in out.items()}


def inception_score(logits: torch.Tensor, splits: int = IS_SPLITS) -> tuple[float, float, int]:
    """OpenAI-style IS over ``splits`` consecutive chunks (list order): (mean, std, splits used).

    With fewer images than splits, one image per split is used (and the number of splits is reported).
    """
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric

    n = int(logits.shape[0])
    if n == 0:
        return float("nan"), float("nan"), 0
    splits = min(splits, n)
    res = isc_features_to_metric(logits, splits=splits, shuffle=False)
    return res[KEY_METRIC_ISC_MEAN], res[KEY_METRIC_ISC_STD], splits


def feature_statistics(features: torch.Tensor) -> dict[str, np.ndarray]:
    from torch_fidelity.metric_fid import fid_features_to_statistics

    return fid_features_to_statistics(features)


def frechet_distance(stats_a: dict[str, np.ndarray], stats_b: dict[str, np.ndarray]) -> float:
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric

    return fid_statistics_to_metric(stats_a, stats_b, verbose=False)[KEY_METRIC_FID]


def list_images(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: image folder not found")
    return image_files(folder)


def reference_statistics(
    extractor: InceptionFeatures, folder: str | Path, cache_dir: str | Path | None,
    read_image, progress: Progress = QUIET,
) -> tuple[dict[str, np.ndarray], int, Path | None]:
    """FID statistics (mu, sigma) of every image in ``folder``, cached on disk.

    The cache key covers the file names, sizes and modification times and the Inception weights file, so a changed
    folder or different weights recompute. Returns (stats, number of images, cache file or None).

    Args:
        read_image: ``path -> uint8 (H, W, 3)``; the same lossless reader the evaluation uses.
        progress: the progress bars of the command.
    """
    files = list_images(folder)
    if not files:
        raise DataError(f"{folder}: no images for the FID reference statistics")
    h = hashlib.sha256()
    for p in files:
        st = p.stat()
        h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    wst = os.stat(extractor.weights_file)
    h.update(f"weights\0{extractor.weights_file.name}\0{wst.st_size}\0{wst.st_mtime_ns}".encode())
    cache = Path(cache_dir) / f"fid-stats-{h.hexdigest()[:20]}.npz" if cache_dir else None
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            return {"mu": z["mu"], "sigma": z["sigma"]}, int(z["n"]), cache
    it = progress(files, "FID reference features", unit="image")
    feats = extractor(read_image(p) for p in it)[FID_FEATURE]
    stats = feature_statistics(feats)
    if cache is not None:
        with atomic_path(cache) as tmp:  # temp name keeps the .npz suffix, so np.savez adds none
            np.savez(tmp, mu=stats["mu"], sigma=stats["sigma"], n=len(files), folder=str(Path(folder).resolve()))
    return stats, len(files), cache

