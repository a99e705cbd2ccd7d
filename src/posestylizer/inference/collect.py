"""One path from a generator and pairs to scored images: generate in memory, then score either kind of image.

Every command that generates a dataset's pairs in order to measure them goes through :func:`collect` (or, for
batches already in memory, :func:`collect_batches`): the demo, the ablation study (final evaluation and the held-out
curve), ``evaluate --checkpoint`` and ``generate --data`` (whose file writers, :mod:`posestylizer.inference.batch`,
write what was collected here). The result keeps, per pair, the uint8 panels the result files are made of, and turns
them into a :class:`~posestylizer.metrics.collect.Collection` of one of two kinds::

    collected = collect(G, dataset, indices, batch_size=16)
    collected.lossless()      # uint8 images as generated: no JPEG anywhere (the demo, the ablation)
    collected.paper_grids()   # each pair's 5-panel grid through the authors' JPEG (quality 75), panels cut back out:
                              # bit for bit what `evaluate` reads from the written grid files (evaluate --checkpoint)

The collection names its kind (``images``), and every report made from it repeats it, so a number says whether it
is the paper's JPEG-grid protocol or lossless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import default_collate

from posestylizer.metrics.collect import LOSSLESS, PAPER_GRID, Collection, ResultItem
from posestylizer.results.panels import compose_grid, pair_panels
from posestylizer.results.protocol import pair_filename, paper_grid_bytes, split_grid, to_uint8
from posestylizer.runtime.imagefiles import read_photo
from posestylizer.runtime.precision import autocast, inference_precision
from posestylizer.runtime.progress import QUIET, Progress

# ``(iterable, description) -> iterable``: a Progress object or any wrapper of that shape (e.g. a tqdm call).


@dataclass(frozen=True)
class CollectedPair:
    """One generated pair, as the result files hold it.

    Args:
        src_name, tgt_name: image file names of the pair.
        source, target, generated: uint8 (H, W, 3) panels, each made from the [-1, 1] tensor by the reference's
            truncation (:func:`~posestylizer.results.protocol.to_uint8`).
        src_kp, tgt_kp: (18, 2) (y, x) keypoints in pixels of those images, -1 = missing (for the pose panels).
    """

    src_name: str
    tgt_name: str
    source: np.ndarray
    target: np.ndarray
    generated: np.ndarray
    src_kp: np.ndarray
    tgt_kp: np.ndarray

    @property
    def name(self) -> str:
        """The lossless result file's name, ``<from>___<to>.png``."""
        return pair_filename(self.src_name, self.tgt_name)

    @property
    def grid_name(self) -> str:
        """The authors' grid file's name, ``<from>___<to>_vis.jpg``."""
        return pair_filename(self.src_name, self.tgt_name, ".jpg", grid=True)

    def grid(self) -> np.ndarray:
        """The authors' (H, 5W, 3) uint8 row ``[source | source pose | target | target pose | generated]``."""
        return compose_grid(*pair_panels(self.source, self.src_kp, self.target, self.tgt_kp, self.generated))


@dataclass
class Collected:
    """The generated pairs in generation order, and where they came from (one line for the reports)."""

    pairs: list[CollectedPair]
    description: str

    def __len__(self) -> int:
        return len(self.pairs)

    def lossless(self, *, answer: str = "generated", targets: Callable[[str], np.ndarray] | None = None,
                 description: str | None = None, file_order: bool = False) -> Collection:  # fmt: skip
        """The pairs as lossless uint8 images (``images="lossless"``).

        Args:
            answer: ``generated``, or ``source`` (the source image as the answer: the copy baseline).
            targets: ``image name -> uint8 (H, W, 3)``: the targets as stored (e.g. ``dataset.image``) instead of the
                truncated conversion of the loaded tensor (they differ by one level in many pixels).
            description: the collection's source line (default: this collection's).
            file_order: sorted by result-file name, each name once, as reading the written folder gives them.
        """
        if answer not in ("generated", "source"):
            raise ValueError(f"answer must be 'generated' or 'source', got {answer!r}")
        cache: dict[str, np.ndarray] = {}

        def target(p: CollectedPair) -> np.ndarray:
            if targets is None:
                return p.target
            if p.tgt_name not in cache:
                cache[p.tgt_name] = targets(p.tgt_name)
            return cache[p.tgt_name]

        items = [ResultItem(p.name, p.src_name, p.tgt_name, target(p), getattr(p, answer)) for p in self.pairs]
        return Collection(_ordered(items, file_order), description or self.description, images=LOSSLESS)

    def paper_grids(self, *, description: str | None = None, file_order: bool = False) -> Collection:
        """The pairs as the paper's protocol scores them (``images="paper_grid"``): each pair's grid encoded as the
        authors' JPEG (quality 75) and decoded again, target and generated panels cut out as their scripts cut them.
        """
        items = []
        for p in self.pairs:
            panels = split_grid(read_photo(paper_grid_bytes(p.grid()), what=p.grid_name))
            items.append(ResultItem(p.grid_name, p.src_name, p.tgt_name, panels["target"].copy(),
                                    panels["generated"].copy()))  # fmt: skip
        return Collection(_ordered(items, file_order), description or self.description, images=PAPER_GRID)


def _ordered(items: list[ResultItem], file_order: bool) -> list[ResultItem]:
    """Items in generation order, or sorted by name with each name once (a later file overwrites an earlier one,
    so the last of a repeated pair is the one a folder holds)."""
    if not file_order:
        return items
    return [it for _, it in sorted({it.name: it for it in items}.items())]


def pairs_of_batch(batch: dict, fake: torch.Tensor) -> list[CollectedPair]:
    """The :class:`CollectedPair` of each pair of a collated ``PairDataset`` batch and its (B, 3, H, W) output."""
    fake = fake.float()  # bf16/fp16 autocast output: to float32 before uint8
    return [
        CollectedPair(src, tgt, to_uint8(batch["src_img"][j]), to_uint8(batch["tgt_img"][j]), to_uint8(fake[j]),
                      np.asarray(batch["src_kp"][j]), np.asarray(batch["tgt_kp"][j]))
        for j, (src, tgt) in enumerate(zip(batch["src_name"], batch["tgt_name"]))
    ]  # fmt: skip


def collect_batches(generate: Callable[[dict], torch.Tensor], batches: Iterable[dict], description: str,
                    progress: Progress = QUIET) -> Collected:  # fmt: skip
    """Run ``generate(batch) -> (B, 3, H, W)`` in [-1, 1] on collated batches (under ``no_grad``) and keep the pairs.

    For batches already in memory (the held-out curve reads its pairs once per run); :func:`collect` reads them."""
    pairs: list[CollectedPair] = []
    with torch.no_grad():
        for batch in progress(batches, "generating", unit="batch"):
            pairs += pairs_of_batch(batch, generate(batch))
    return Collected(pairs, description)


def model_call(generator: torch.nn.Module, *, device: torch.device | str | None = None,
               precision: str = "fp32") -> Callable[[dict], torch.Tensor]:  # fmt: skip
    """``batch -> generator(src_img, src_pose, tgt_pose)`` on the generator's device (or ``device``), under the
    precision's autocast (:func:`~posestylizer.runtime.precision.inference_precision`)."""
    if device is None:
        device = next(iter(generator.parameters()), torch.empty(0)).device
    device = torch.device(device)
    choice = inference_precision(precision, device)

    def call(batch: dict) -> torch.Tensor:
        with autocast(choice, device):
            return generator(batch["src_img"].to(device), batch["src_pose"].to(device), batch["tgt_pose"].to(device))

    return call


class _Batches:
    """Collated batches of ``dataset[indices]``, read one batch at a time; sized, so progress bars know the total."""

    def __init__(self, dataset, indices: Sequence[int], batch_size: int) -> None:
        self.dataset = dataset
        self.chunks = [list(indices[i : i + batch_size]) for i in range(0, len(indices), batch_size)]

    def __len__(self) -> int:
        return len(self.chunks)

    def __iter__(self):
        for chunk in self.chunks:
            yield default_collate([self.dataset[i] for i in chunk])


def collect(generator: torch.nn.Module, dataset, indices: Sequence[int] | None = None, *,
            device: torch.device | str | None = None, precision: str = "fp32", batch_size: int = 16,
            progress: Progress = QUIET, description: str | None = None) -> Collected:  # fmt: skip
    """Generate the pairs ``dataset[indices]`` (all, in order, by default) in eval mode, ``batch_size`` at a time.

    Args:
        generator: a loaded generator (its train/eval mode is restored afterwards).
        dataset: a :class:`~posestylizer.data.dataset.PairDataset` made by the generator's input contract.
        indices: which pairs, in this order.
        device: where the inputs go (default: the generator's device).
        precision: ``fp32``, ``bf16``, ``fp16`` (CUDA) or ``auto``.
        batch_size: pairs per generator call (on CPU the batch size can change the last bit of an output: keep it
            fixed to compare numbers).
        progress: the progress bars of the command (a bar over the batches).
        description: the source line of the reports (default: the dataset's folder and the pair count).
    """
    indices = list(range(len(dataset))) if indices is None else list(indices)
    what = description or f"{len(indices)} pairs of {getattr(dataset, 'root', 'the dataset')}"
    was_training = generator.training
    generator.eval()
    try:
        call = model_call(generator, device=device, precision=precision)
        return collect_batches(call, _Batches(dataset, indices, batch_size), what, progress)
    finally:
        generator.train(was_training)
