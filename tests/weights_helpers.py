"""Random weights in the real file formats of the evaluation networks (no downloads on these machines).

The numbers are meaningless; the files exercise the real loading code (keys, shapes, file names). Kaiming-normal
conv/linear weights keep features alive through deep stacks (PyTorch's default init collapses them: FID 0, IS 1).
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import torch
from torch import nn

from posestylizer.checkpoints.pretrained import STANDARD_NAMES, TORCHVISION_ARCHS


def _kaiming_(module: nn.Module, generator: torch.Generator) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            with torch.no_grad():
                m.weight.normal_(0.0, (2.0 / fan_in) ** 0.5, generator=generator)
                if m.bias is not None:
                    m.bias.zero_()


def random_state_dict(key: str, seed: int = 0, features_only: bool = True) -> dict[str, torch.Tensor]:
    """A random state dict with the keys and shapes of the real weights ``key`` (inception, alexnet, vgg16, vgg19).

    ``features_only`` drops the torchvision classifier layers, which the metrics never use (a full VGG16 file is
    528 MB).
    """
    gen = torch.Generator().manual_seed(seed)
    if key == "inception":
        from torch_fidelity import feature_extractor_inceptionv3 as fe

        # Build the real torch-fidelity module without its download/load step, to get its exact keys and shapes.
        with mock.patch.object(fe, "load_state_dict_from_url", return_value={}), \
                mock.patch.object(fe.FeatureExtractorInceptionV3, "load_state_dict", return_value=None):
            net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
        _kaiming_(net, gen)
        return {k: v.clone() for k, v in net.state_dict().items()}
    if key in TORCHVISION_ARCHS:
        import torchvision.models as tvm

        net = tvm.get_model(key, weights=None)
        _kaiming_(net, gen)
        state = net.state_dict()
        if features_only:
            state = {k: v for k, v in state.items() if k.startswith("features.")}
        return state
    raise KeyError(f"unknown weights {key!r}")


def write_random_weights(key: str, folder: str | Path, seed: int = 0) -> Path:
    """Save :func:`random_state_dict` under the standard file name in ``folder``; returns the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / STANDARD_NAMES[key]
    torch.save(random_state_dict(key, seed), path)
    return path
