"""Pretrained weights of the evaluation (and perceptual-loss) networks: where they come from and how they load.

Online, each file comes from its library's own location (torch-fidelity's Inception release, torchvision's model zoo)
into torch's hub cache, exactly as those libraries fetch it. Offline, ``weights_dir`` holds the same files under their
standard names (``DIR/<name>`` or, as a copied hub cache, ``DIR/checkpoints/<name>``). A missing file is one
:class:`~posestylizer.errors.WeightsError` line naming it. Files are always read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from posestylizer.errors import WeightsError
from posestylizer.runtime.files import read_state_dict_file


@dataclass(frozen=True)
class WeightSpec:
    key: str
    what: str

    @property
    def url(self) -> str | None:
        if self.key == "inception":
            from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

            return URL_INCEPTION_V3
        if self.key in TORCHVISION_ARCHS:
            import torchvision.models as tvm

            return tvm.get_model_weights(self.key).IMAGENET1K_V1.url
        return None

    @property
    def filename(self) -> str:
        return STANDARD_NAMES[self.key]


# Standard file names (the basename of each library's download URL; kept here so that errors can name the file
# without importing the library).
STANDARD_NAMES = {
    "inception": "weights-inception-2015-12-05-6726825d.pth",  # torch-fidelity's TF-Inception (IS, FID)
    "alexnet": "alexnet-owt-7be5be79.pth",  # torchvision AlexNet (LPIPS alex)
    "vgg16": "vgg16-397923af.pth",  # torchvision VGG16 (LPIPS vgg)
    "vgg19": "vgg19-dcbb9e9d.pth",  # torchvision VGG19 (perceptual loss)
}
TORCHVISION_ARCHS = ("alexnet", "vgg16", "vgg19")
SPECS = {
    "inception": WeightSpec("inception", "TF-Inception (2015-12-05) weights for IS/FID"),
    "alexnet": WeightSpec("alexnet", "torchvision AlexNet weights for LPIPS (alex)"),
    "vgg16": WeightSpec("vgg16", "torchvision VGG16 weights for LPIPS (vgg)"),
    "vgg19": WeightSpec("vgg19", "torchvision VGG19 weights for the perceptual loss"),
}


def _spec(key: str) -> WeightSpec:
    if key not in SPECS:
        raise KeyError(f"unknown weights {key!r}; known: {', '.join(SPECS)}")
    return SPECS[key]


def resolve_weights(key: str, weights_dir: str | Path | None = None) -> Path:
    """Local path of the weights ``key``, downloading into torch's hub cache when no ``weights_dir`` is given.

    Raises:
        WeightsError: the file is not in ``weights_dir``, or (online mode) not cached and cannot be downloaded.
    """
    spec = _spec(key)
    name = spec.filename
    if weights_dir is not None:
        folder = Path(weights_dir)
        for candidate in (folder / name, folder / "checkpoints" / name):
            if candidate.is_file():
                return candidate
        raise WeightsError(f"{spec.what}: {folder / name} not found (put the file there under this name)")
    cached = Path(torch.hub.get_dir()) / "checkpoints" / name
    if cached.is_file():
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(spec.url, str(cached), progress=True)
    except Exception as err:  # noqa: BLE001 - no network, proxy, HTTP error: all mean "give me the file"
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise WeightsError(
            f"{spec.what}: {name} is not in {cached.parent} and cannot be downloaded ({reason}); "
            f"put it in a folder and pass --weights-dir DIR"
        ) from None
    return cached


def load_weights(key: str, weights_dir: str | Path | None = None) -> dict[str, torch.Tensor]:
    """State dict of the weights ``key`` (see :func:`resolve_weights`), read with ``weights_only=True``."""
    path = resolve_weights(key, weights_dir)
    return read_state_dict(path, _spec(key).what)


def read_state_dict(path: str | Path, what: str) -> dict[str, torch.Tensor]:
    """A state dict of tensors from a ``.pth``/``.pt`` file (``weights_only=True``, optionally under ``state_dict``)
    or a ``.safetensors`` file; WeightsError naming ``what`` and the file otherwise."""
    return read_state_dict_file(path, what, WeightsError)


def torchvision_features(key: str, weights_dir: str | Path | None = None) -> nn.Sequential:
    """The ``features`` stack of a torchvision classifier (alexnet, vgg16, vgg19) with its pretrained weights.

    The classifier part of the file, when present, is ignored.
    """
    import torchvision.models as tvm

    if key not in TORCHVISION_ARCHS:
        raise KeyError(f"{key!r} is not one of {TORCHVISION_ARCHS}")
    state = load_weights(key, weights_dir)
    with torch.device("meta"):  # shapes only: no time spent initialising layers that the file overwrites
        features = tvm.get_model(key, weights=None).features
    sub = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    expected = features.state_dict()
    missing = [k for k in expected if k not in sub]
    unexpected = [k for k in sub if k not in expected]
    wrong = [k for k, v in sub.items() if k in expected and expected[k].shape != v.shape]
    if missing or unexpected or wrong:
        raise WeightsError(
            f"{_spec(key).what}: file does not fit torchvision's {key} (missing {missing[:3]}, unexpected "
            f"{unexpected[:3]}, wrong shapes {wrong[:3]})"
        )
    features.load_state_dict(sub, assign=True)
    return features
