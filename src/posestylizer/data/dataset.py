"""The pair dataset: source image + pose, target image + pose, with pose maps rendered on the fly (reference §1).

Images are read from ``<root>/<phase>/``, keypoints from the phase's annotation CSV, pairs from its pair CSV. Pose maps
are the reference's Gaussian heatmaps (§1.6) computed from the keypoints when an item is loaded, so none of the
authors' 18 GB / 160 GB of ``.npy`` files is needed; users who have them can read them instead
(``precomputed_heatmaps=True``).

The dataset is validated when it is built (:func:`~posestylizer.data.check.check_dataset`): a missing or truncated
image, a malformed row or a pair naming an unknown image stops here with the full report, not in the middle of an epoch.
A passed check is remembered in the user cache (:func:`~posestylizer.runtime.files.user_cache_dir`) under the names, sizes and
modification times of the files it read, so an unchanged dataset is decoded once, not on every construction.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from posestylizer.data.check import check_dataset
from posestylizer.data.formats import read_annotations, read_pairs
from posestylizer.data.layouts import PHASES, Layout, get_layout
from posestylizer.errors import DataError
from posestylizer.keypoints.maps import heatmaps, pose_mask
from posestylizer.keypoints.vocab import FLIP_INDEX, KEYPOINT_DTYPE, NUM_KEYPOINTS, present
from posestylizer.results.protocol import image_to_tensor
from posestylizer.runtime.files import user_cache_dir, write_text_atomic
from posestylizer.runtime.imagefiles import read_image


def flip_keypoints(keypoints: np.ndarray, width: int) -> np.ndarray:
    """Mirror (y, x) keypoints horizontally and swap left/right indices so that the labels stay anatomical."""
    kp = np.asarray(keypoints).copy()
    ok = present(kp)
    kp[ok, 1] = width - 1 - kp[ok, 1]
    return kp[list(FLIP_INDEX)]


CHECK_CACHE_VERSION = 1  # bump when check_dataset checks more: earlier verdicts then no longer count


def _check_fingerprint(root: Path, layout: Layout, phase: str) -> str:
    """sha256 over the layout and the name, size and modification time of every file the check of ``phase`` reads
    (both annotation CSVs, the pair CSV, every file of the image folder)."""
    h = hashlib.sha256(f"{CHECK_CACHE_VERSION}\0{layout!r}\0{phase}\n".encode())
    files = [layout.annotation_path(root, p) for p in PHASES] + [layout.pairs_path(root, phase, search_parent=True)]
    image_dir = layout.image_dir(root, phase)
    if image_dir.is_dir():
        with os.scandir(image_dir) as entries:
            files += sorted(Path(e.path) for e in entries)
    for path in files:
        try:
            st = path.stat()
        except OSError:
            h.update(f"{path}\0missing\n".encode())
            continue
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def check_once(root: Path, layout: Layout, phase: str) -> None:
    """Raise DataError with the report unless ``phase`` of the dataset is clean; a clean verdict is cached.

    Decoding every image takes minutes on a full dataset and every command (and every torchrun rank) builds datasets,
    so the verdict is kept under the files' names, sizes and modification times: an unchanged dataset is decoded once.
    Only clean verdicts are cached (a failing check must print its report every time).
    """

    fingerprint = _check_fingerprint(root, layout, phase)
    key = hashlib.sha256(f"{root.resolve()}\0{phase}".encode()).hexdigest()[:24]
    cache = user_cache_dir() / "dataset-checks" / f"{key}.json"
    try:
        if json.loads(cache.read_text()).get("fingerprint") == fingerprint:
            return
    except (OSError, ValueError, AttributeError):
        pass  # no verdict yet (or an unreadable one): check
    check_dataset(root, layout, phases=(phase,)).raise_if_failed()
    record = {"root": str(root.resolve()), "phase": phase, "fingerprint": fingerprint}
    try:
        write_text_atomic(cache, json.dumps(record, indent=2) + "\n")
    except OSError:
        pass  # a read-only cache folder only means the next construction checks again


class PairDataset(torch.utils.data.Dataset):
    """Pairs of images of the same person from a PATN-layout dataset.

    Each item is a dict:

    - ``src_img``, ``tgt_img``: float32 (3, H, W) in [-1, 1];
    - ``src_pose``, ``tgt_pose``: float32 (18, H, W) Gaussian pose maps in [0, 1];
    - ``src_kp``, ``tgt_kp``: float32 (18, 2) (y, x) keypoints, -1 = missing;
    - ``src_name``, ``tgt_name``: image file names;
    - ``tgt_mask``: bool (1, H, W) foreground mask of the target pose (the evaluation's mask, reference §2);
      only when ``masks=True``.

    The index walks the pair list in file order (the reference's test behaviour). The reference's training draws
    ``epoch_length`` random pairs with replacement per epoch; use a ``RandomSampler(replacement=True,
    num_samples=epoch_length)`` for that.

    Args:
        root: dataset folder (``train/``, ``test/``, CSV files).
        phase: ``train`` or ``test``.
        layout: file-name preset (``market``, ``fashion``) or a :class:`Layout`.
        image_size: (H, W) override of the layout's image size.
        heatmap_sigma: override of the layout's pose-map sigma.
        precomputed_heatmaps: read ``<phase>K/<name>.npy`` (H, W, 18) instead of rendering.
        flip: mirror both images and poses with probability 0.5 (left/right keypoints swapped, unlike the
            reference, whose flip is disabled in both paper presets anyway).
        masks: add ``tgt_mask``.
        check: validate the phase's files first and raise DataError with the report if anything is wrong.
        pairs_file: pair CSV to use instead of the layout's.
    """

    def __init__(
        self,
        root: str | Path,
        phase: str = "train",
        *,
        layout: str | Layout = "market",
        image_size: tuple[int, int] | None = None,
        heatmap_sigma: float | None = None,
        precomputed_heatmaps: bool = False,
        flip: bool = False,
        masks: bool = True,
        check: bool = True,
        pairs_file: str | Path | None = None,
    ) -> None:
        if phase not in PHASES:
            raise DataError(f"unknown phase '{phase}': choose one of {', '.join(PHASES)}")
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(
                f"{self.root}: dataset folder not found (make one with `posestylizer data synth`)"
            )
        self.phase = phase
        self.layout = get_layout(layout, image_size=image_size, heatmap_sigma=heatmap_sigma)
        if pairs_file:
            self.layout = self.layout.replace(pairs=str(Path(pairs_file).resolve()))
        if check:
            check_once(self.root, self.layout, phase)
        self.image_size = tuple(self.layout.image_size)
        self.sigma = float(self.layout.heatmap_sigma)
        self.precomputed_heatmaps = precomputed_heatmaps
        self.flip = flip
        self.masks = masks
        self.image_dir = self.layout.image_dir(self.root, phase)
        self.annotations = read_annotations(self.layout.annotation_path(self.root, phase))
        pairs_path = self.layout.pairs_path(self.root, phase, search_parent=True)
        self.pairs = read_pairs(pairs_path)
        unknown = [n for pair in self.pairs for n in pair if n not in self.annotations]
        if unknown:
            raise DataError(
                f"{pairs_path}: {len(unknown)} image name(s) not in the annotation, e.g. {unknown[0]}"
            )

    @classmethod
    def from_config(cls, cfg: Any, phase: str = "train", **kwargs: Any) -> PairDataset:
        """Build from an ExperimentConfig (``cfg.data`` and ``cfg.model.image_size``).

        ``tgt_mask`` is computed for the test phase, and for training only when ``loss.lambda_l1_mask`` > 0 (the
        masked L1 term needs it), unless ``masks=`` says otherwise: it costs more than the rest of an item (about
        2.5 ms per pair at 128x64).
        """
        data = cfg.data
        if not data.root:
            raise DataError(
                "no dataset given: set data.root=PATH (make one with `posestylizer data synth PATH`)"
            )
        options = {
            "layout": get_layout(data.layout, annotation=data.annotation_file, pairs=data.pairs_file),
            "image_size": tuple(cfg.model.image_size),
            "heatmap_sigma": data.heatmap_sigma,
            "precomputed_heatmaps": data.use_precomputed_heatmaps,
            "flip": data.flip and phase == "train",
            "masks": phase == "test" or (phase == "train" and cfg.loss.lambda_l1_mask > 0),
        }
        options.update(kwargs)
        return cls(data.root, phase, **options)

    def __len__(self) -> int:
        return len(self.pairs)

    def image(self, name: str) -> np.ndarray:
        """uint8 (H, W, 3) image of this phase by file name."""
        return read_image(self.image_dir / name, self.image_size)

    def keypoints(self, name: str) -> np.ndarray:
        return self.annotations[name]

    def pose_maps(self, name: str, keypoints: np.ndarray) -> np.ndarray:
        """(18, H, W) float32 pose maps of an image, rendered from ``keypoints`` or read from ``<phase>K``."""
        if not self.precomputed_heatmaps:
            return heatmaps(keypoints, self.image_size, self.sigma)
        path = self.layout.heatmap_path(self.root, self.phase, name)
        try:
            arr = np.load(path, allow_pickle=False)  # never unpickle objects from a data folder
        except FileNotFoundError:
            raise DataError(
                f"{path}: precomputed pose map not found; render maps on the fly (data.use_precomputed_heatmaps=false)"
            ) from None
        except ValueError as err:  # numpy refuses object arrays (pickled) when allow_pickle=False
            what = "holds pickled objects (refused)" if "allow_pickle" in str(err) else f"is not a .npy array ({err})"
            raise DataError(f"{path}: pose map {what}; write float maps (H, W, 18) with np.save") from None
        except OSError as err:
            raise DataError(f"{path}: unreadable pose map ({err})") from None
        expected = (*self.image_size, NUM_KEYPOINTS)
        if arr.shape != expected:
            raise DataError(f"{path}: pose map has shape {arr.shape}, expected {expected} (H, W, 18)")
        return np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32)

    def _side(self, name: str, flip: bool) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        img = self.image(name)
        kp = self.annotations[name]
        maps = self.pose_maps(name, kp)
        if flip:
            img = img[:, ::-1]
            kp = flip_keypoints(kp, self.image_size[1])
            maps = maps[list(FLIP_INDEX), :, ::-1]
        return image_to_tensor(img), torch.from_numpy(np.ascontiguousarray(maps)), kp

    def __getitem__(self, index: int) -> dict[str, Any]:
        src_name, tgt_name = self.pairs[index]
        flip = self.flip and bool(torch.rand(()) < 0.5)
        src_img, src_pose, src_kp = self._side(src_name, flip)
        tgt_img, tgt_pose, tgt_kp = self._side(tgt_name, flip)
        item = {
            "src_img": src_img,
            "src_pose": src_pose,
            "tgt_img": tgt_img,
            "tgt_pose": tgt_pose,
            "src_kp": torch.from_numpy(np.asarray(src_kp, dtype=KEYPOINT_DTYPE)),
            "tgt_kp": torch.from_numpy(np.asarray(tgt_kp, dtype=KEYPOINT_DTYPE)),
            "src_name": src_name,
            "tgt_name": tgt_name,
        }
        if self.masks:
            item["tgt_mask"] = torch.from_numpy(pose_mask(tgt_kp, self.image_size))[None]
        return item


def write_heatmaps(root: str | Path, layout: str | Layout = "market", phase: str = "train") -> int:
    """Write ``<phase>K/<name>.npy`` (H, W, 18) pose maps for every annotated image, as the authors' tools do.

    Only useful to compare against the on-the-fly path or to feed the authors' code; returns the number written.
    """
    layout = get_layout(layout)
    annotations = read_annotations(layout.annotation_path(root, phase))
    out = layout.heatmap_path(root, phase, "x").parent
    out.mkdir(parents=True, exist_ok=True)
    for name, kp in annotations.items():
        maps = heatmaps(kp, layout.image_size, layout.heatmap_sigma)
        np.save(layout.heatmap_path(root, phase, name), maps.transpose(1, 2, 0))
    return len(annotations)
