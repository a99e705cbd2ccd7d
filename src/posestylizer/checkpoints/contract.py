"""The input contract of a trained generator: what its inputs must look like.

A generator only works on inputs made the way its training data was made: images of one size, pose maps rendered with
one Gaussian sigma from keypoints in one convention. The contract travels with the checkpoint (``config.json`` of a
native folder, key ``contract``), so everything that feeds a loaded model (``evaluate --checkpoint``, the pipeline,
the server, ONNX export) renders its pose maps from it rather than from a command-line guess::

    G = load_generator("runs/demo/generator")
    G.contract.heatmap_sigma  # 6.0: the sigma the model was trained with

An authors' ``.pth`` file has no config: its preset supplies the contract (market: 128x64, sigma 6; fashion: 256x176,
sigma 12; reference §1.6).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from posestylizer.errors import CheckpointError

# 18 OpenPose/COCO keypoints in posestylizer.keypoints.vocab.KEYPOINT_NAMES order, (y, x) pixels of the model's image, -1 missing.
KEYPOINTS_COCO18_YX = "coco18-yx"


@dataclass(frozen=True)
class InputContract:
    """What a generator's inputs must be.

    Args:
        image_size: (H, W) of source/target images and of the pose maps, in pixels.
        heatmap_sigma: Gaussian sigma of the pose maps, in pixels of that image size.
        keypoints: keypoint convention of the pose maps (only ``coco18-yx``: 18 channels in OpenPose/COCO order).
        layout: dataset layout the model was trained on (``market``: person crops from street cameras, ``fashion``:
            studio photos); it tells how people are framed in the training images.
    """

    image_size: tuple[int, int]
    heatmap_sigma: float
    keypoints: str = KEYPOINTS_COCO18_YX
    layout: str = "market"

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "image_size": list(self.image_size)}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> InputContract:
        """Parse the ``contract`` entry of a checkpoint config; ``where`` names the file in errors."""
        if not isinstance(data, dict):
            raise CheckpointError(f"{where}: 'contract' must be an object with image_size and heatmap_sigma")
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise CheckpointError(f"{where}: unknown contract field(s) {', '.join(unknown)}")
        try:
            h, w = (int(v) for v in data["image_size"])
            sigma = float(data["heatmap_sigma"])
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(
                f"{where}: contract needs image_size [H, W] and a numeric heatmap_sigma, got {data!r}"
            ) from None
        keypoints = str(data.get("keypoints", KEYPOINTS_COCO18_YX))
        if keypoints != KEYPOINTS_COCO18_YX:
            raise CheckpointError(f"{where}: unsupported keypoint convention {keypoints!r} (expected coco18-yx)")
        if h <= 0 or w <= 0 or not sigma > 0:
            raise CheckpointError(f"{where}: contract image_size and heatmap_sigma must be positive, got {data!r}")
        layout = str(data.get("layout", "market"))
        return cls(image_size=(h, w), heatmap_sigma=sigma, keypoints=keypoints, layout=layout)

    @classmethod
    def of_experiment(cls, cfg: Any, image_size: tuple[int, int] | None = None) -> InputContract:
        """The contract of an ExperimentConfig's data (``cfg.data``, ``cfg.model.image_size``).

        With ``image_size`` other than the config's, the sigma scales with the height, so the blobs cover the same
        share of the body (how the authors' 6 px at 128x64 became 12 px at 256x176, reference §1.6).
        """
        size = tuple(int(v) for v in (image_size or cfg.model.image_size))
        sigma = float(cfg.data.heatmap_sigma) * size[0] / cfg.model.image_size[0]
        return cls(image_size=size, heatmap_sigma=sigma, layout=cfg.data.layout)
