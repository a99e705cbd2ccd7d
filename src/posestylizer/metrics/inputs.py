"""What the metrics compute from: the evaluation's options and the collected pairs, prepared once and shared.

:class:`EvalInputs` prepares on first use and then caches: the panels with DeepFashion's white bands, the target
keypoints and their pose masks, the ground-truth masks and background plates of a synthetic dataset, and the networks
(Inception, LPIPS, the pose estimator) several metrics share. Every registry entry's ``compute`` reads from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from posestylizer.data.synth import background_path, mask_path, part_path
from posestylizer.errors import DataError
from posestylizer.keypoints.maps import pose_mask
from posestylizer.metrics.collect import Collection, ResultItem
from posestylizer.metrics.pixel import add_white_bands, apply_mask
from posestylizer.runtime.imagefiles import read_image
from posestylizer.runtime.progress import QUIET, Progress

T = TypeVar("T")


@dataclass
class EvalOptions:
    """Settings of one evaluation.

    Args:
        protocol: ``paper`` or ``clean`` (see :mod:`posestylizer.metrics.registry`).
        metrics: explicit metric names (default: the protocol's list).
        white_bands: white columns padded on both sides before SSIM/L1/IS under the paper protocol (DeepFashion 40).
        ssim_window: ``11tap`` (scikit-image >= 0.15) or ``13tap`` (scikit-image <= 0.14) for ``ssim_paper``.
        annotation: target keypoints {image name: (18, 2)}, for masks and PCKh.
        pred_annotation: keypoints already estimated on the generated images {result file name: (18, 2)}.
        estimator: pose estimator for PCKh when ``pred_annotation`` is not given.
        estimator_options: keyword arguments of that estimator (e.g. openpose ``weights``).
        fid_reference: folder of training images, or an ``.npz`` with ``mu``/``sigma``.
        cache_dir: where FID reference statistics are cached.
        ground_truth: root of a synthetic dataset (``posestylizer data synth``) whose ground-truth person masks (of
            the targets) and background plates (of the sources) the ``*_gt`` metrics read.
        ground_truth_phase: the phase of that dataset the evaluated pairs come from.
    """

    protocol: str = "paper"
    metrics: list[str] | None = None
    white_bands: int = 0
    ssim_window: str = "11tap"
    annotation: dict[str, np.ndarray] | None = None
    pred_annotation: dict[str, np.ndarray] | None = None
    estimator: str = "mediapipe"
    estimator_options: dict[str, Any] = field(default_factory=dict)
    weights_dir: str | None = None
    device: str = "cpu"
    fid_reference: str | None = None
    cache_dir: str | None = None
    is_splits: int = 10
    batch_size: int = 32
    ground_truth: str | None = None
    ground_truth_phase: str = "test"


class Keypoints:
    """Keypoint rows by image name, also found by file stem (``x.png`` finds the row of ``x.jpg``)."""

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.by_name = table
        self.by_stem: dict[str, np.ndarray] = {}
        for name, kp in table.items():
            self.by_stem.setdefault(Path(name).stem, kp)

    def get(self, name: str | None) -> np.ndarray | None:
        if not name:
            return None
        found = self.by_name.get(name)
        return found if found is not None else self.by_stem.get(Path(name).stem)


class EvalInputs:
    """The collected pairs and everything derived from them, each made once on first use.

    Args:
        collection: the (target, generated) pairs.
        options: the evaluation's settings.
        progress: progress bars of the long loops.
    """

    def __init__(self, collection: Collection, options: EvalOptions, progress: Progress = QUIET) -> None:
        self.items: list[ResultItem] = collection.items
        self.options = options
        self.progress = progress
        self.bands = options.white_bands if options.protocol == "paper" else 0
        self.notes: list[str] = []  # inputs some pairs lack, one line each
        self._cache: dict[Any, Any] = {}

    def cached(self, key: Any, make: Callable[[], T]) -> T:
        """``make()`` the first time ``key`` is asked for, the same object afterwards."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # ------------------------------------------------------------------------------------------------ images
    def targets(self) -> list[np.ndarray]:
        """Target panels, uint8 (H, W + 2 * bands, 3): white bands added under the paper protocol."""
        return self.cached("targets", lambda: [add_white_bands(it.target, self.bands) for it in self.items])

    def generated(self) -> list[np.ndarray]:
        """Generated panels, prepared as :meth:`targets`."""
        return self.cached("generated", lambda: [add_white_bands(it.generated, self.bands) for it in self.items])

    def masked(self, masks: list[np.ndarray | None]) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """(target, generated) with the background zeroed by each item's mask (None where it has no mask)."""
        return [None if m is None else (apply_mask(t, m), apply_mask(g, m))
                for t, g, m in zip(self.targets(), self.generated(), masks)]  # fmt: skip

    # --------------------------------------------------------------------------------------------- keypoints
    def keypoints(self) -> list[np.ndarray | None]:
        """(18, 2) (y, x) target keypoints of each item from the annotation (None where it has no row)."""

        def make() -> list[np.ndarray | None]:
            if self.options.annotation is None:
                return [None] * len(self.items)
            table = Keypoints(self.options.annotation)
            found = [table.get(it.tgt_name) for it in self.items]
            self._note_lacking(found, "target(s) not in the annotation (no mask/PCKh for them)")
            return found

        return self.cached("keypoints", make)

    def pose_masks(self) -> list[np.ndarray | None]:
        """Boolean person masks of the targets drawn from their keypoints (reference §2), padded like the panels."""

        def make() -> list[np.ndarray | None]:
            out = []
            for it, kp in zip(self.items, self.keypoints()):
                mask = None if kp is None else pose_mask(kp, it.target.shape[:2])
                out.append(mask if mask is None or not self.bands else np.pad(mask, ((0, 0), (self.bands,) * 2)))
            return out

        return self.cached("pose_masks", make)

    # ---------------------------------------------------------------------------------- synthetic ground truth
    def gt_masks(self, padded: bool = True) -> list[np.ndarray | None]:
        """Boolean ground-truth person masks of the targets (None where the file is absent); ``padded`` adds the
        white bands' width as background, to match :meth:`targets`."""

        masks = self.cached("gt_masks", lambda: self._ground_truth(mask_path, lambda it: it.tgt_name, "person mask"))
        if not padded or not self.bands:
            return masks
        return [None if m is None else np.pad(m, ((0, 0), (self.bands,) * 2)) for m in masks]

    def gt_parts(self) -> list[np.ndarray | None]:
        """uint8 (H, W) body-part maps of the targets (0 background, 1 head, 2 torso, 3 arms, 4 legs; None where the
        file is absent), unpadded."""

        return self.cached("gt_parts", lambda: self._ground_truth(part_path, lambda it: it.tgt_name, "part map"))

    def plates(self) -> list[np.ndarray | None]:
        """uint8 (H, W, 3) background plates of the sources (None where the file is absent or the pair's source is
        not known): the background a generator, which sees only the source, should keep."""

        return self.cached("plates", lambda: self._ground_truth(background_path, lambda it: it.src_name,
                                                              "background plate"))

    def _ground_truth(self, where: Callable[[str, str, str], Path], name_of: Callable[[ResultItem], str | None],
                      what: str) -> list[np.ndarray | None]:  # fmt: skip
        root, phase = self.options.ground_truth, self.options.ground_truth_phase
        out = []
        for it in self.items:
            name = name_of(it)
            out.append(read_ground_truth(where(root, phase, name) if root and name else None, it, what))
        self._note_lacking(out, f"pair(s) without a ground-truth {what} in {root} (phase {phase})")
        return out

    def _note_lacking(self, found: list[Any], what: str) -> None:
        lacking = [it.name for it, x in zip(self.items, found) if x is None]
        if lacking:
            self.notes.append(f"{len(lacking)} {what}, e.g. {lacking[0]}")


def read_ground_truth(path: Path | None, item: ResultItem, what: str) -> np.ndarray | None:
    """A person mask (boolean (H, W), > 127 is person), a part map (uint8 (H, W)) or a background plate (uint8
    (H, W, 3)) for ``item``; None if there is no file."""

    if path is None or not path.is_file():
        return None
    if what == "person mask":
        with Image.open(path) as img:
            data = np.asarray(img.convert("L")) > 127
    elif what == "part map":
        with Image.open(path) as img:
            data = np.asarray(img.convert("L"))
    else:
        data = read_image(path)
    if data.shape[:2] != item.target.shape[:2]:
        h, w = item.target.shape[:2]
        raise DataError(f"{path}: is {data.shape[0]}x{data.shape[1]}, the evaluated image {item.name} is {h}x{w}; "
                        "--ground-truth must be the dataset the pairs were made from")
    return data
