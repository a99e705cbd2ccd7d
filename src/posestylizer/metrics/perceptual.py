"""LPIPS (Zhang et al. 2018) with its shipped linear layers and a torchvision backbone from local or cached weights.

The ``lpips`` package builds its backbone with torchvision and downloads ImageNet weights itself; here the backbone
weights come through :mod:`posestylizer.checkpoints.pretrained` (same files, same names, offline with ``weights_dir``) and are copied
into lpips' slices, whose modules keep torchvision's layer indices as names.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from posestylizer.checkpoints.pretrained import torchvision_features
from posestylizer.metrics.batching import shape_batches

BACKBONES = {"alex": "alexnet", "vgg": "vgg16"}


class LPIPS:
    """``LPIPS(net)(targets, generated)`` -> per-image distances (lower is more similar).

    Args:
        net: ``"alex"`` or ``"vgg"``.
        weights_dir: folder with the torchvision backbone file (``alexnet-owt-7be5be79.pth`` / ``vgg16-397923af.pth``);
            ``None`` = torch's hub cache.
    """

    def __init__(self, net: str, weights_dir: str | Path | None = None, device: str | torch.device = "cpu",
                 batch_size: int = 32) -> None:
        import lpips

        if net not in BACKBONES:
            raise ValueError(f"LPIPS backbone must be one of {sorted(BACKBONES)}, got {net!r}")
        features = torchvision_features(BACKBONES[net], weights_dir)
        with warnings.catch_warnings():  # lpips passes torchvision's deprecated `pretrained=` argument
            warnings.simplefilter("ignore", UserWarning)
            model = lpips.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False)
        for name, block in model.net.named_children():
            if name.startswith("slice"):
                for idx, layer in block.named_children():
                    layer.load_state_dict(features[int(idx)].state_dict())
        self.model = model.to(device).eval().requires_grad_(False)
        self.device = torch.device(device)
        self.batch_size = batch_size

    @torch.no_grad()
    def __call__(self, targets: list[np.ndarray], generated: list[np.ndarray]) -> list[float]:
        """Distances between uint8 (H, W, 3) image pairs (inputs scaled to [-1, 1] as lpips expects)."""
        values: list[float] = []
        for a, b in zip(shape_batches(targets, self.batch_size), shape_batches(generated, self.batch_size)):
            values.extend(self.model(_to_tensor(a, self.device), _to_tensor(b, self.device)).flatten().cpu().tolist())
        return values

def _to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().to(device)
    return x / 127.5 - 1.0
