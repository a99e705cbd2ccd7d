"""Images and labels of the re-identification study (:mod:`posestylizer.experiments.reid`).

The synthetic people are rendered at the market preset's size and resized to the recipe's (as ``posestylizer demo``
does); their Market-style names (``PPPP_cXsY_...``) give the person id and the camera. The held-out people are split
into query and gallery by camera, as Market-1501 does: per person, the first image of each of its first
``QUERY_CAMERAS`` cameras is a query, every other image is in the gallery. A query's gallery images of the same
person *and* camera are excluded at evaluation, as Market's protocol does, so a match must come from another camera.
The synthetic camera number is a label only: a person keeps one background plate (shifted) in all its images, so
unlike Market a "camera" change does not change the scene; the study's README section says what that implies.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from posestylizer.errors import DataError

QUERY_CAMERAS = 2  # cameras per held-out person that give a query image (Market-1501: one query per camera)
_MARKET_NAME = re.compile(r"^(\d+)_c(\d+)")


def parse_market_name(name: str) -> tuple[int, int]:
    """(person id, camera) of a Market-style file name, e.g. ``0002_c1s1_000451_03_aps00.jpg`` -> (2, 1)."""
    m = _MARKET_NAME.match(name)
    if m is None:
        raise DataError(f"{name}: not a Market-style name (PPPP_cX...); the study reads person and camera from it")
    return int(m.group(1)), int(m.group(2))


@dataclass
class ImageSet:
    """Images with their labels.

    Attributes:
        images: uint8 (N, 3, H, W), RGB 0-255.
        pids: int64 (N,) person ids as in the file names.
        cams: int64 (N,) camera numbers (1-6).
        names: the N file names.
    """

    images: torch.Tensor
    pids: torch.Tensor
    cams: torch.Tensor
    names: list[str]

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, index: list[int]) -> ImageSet:
        """The images at ``index``, in that order."""
        idx = torch.as_tensor(index, dtype=torch.long)
        return ImageSet(self.images[idx], self.pids[idx], self.cams[idx], [self.names[i] for i in index])

    @staticmethod
    def concat(parts: list[ImageSet]) -> ImageSet:
        """The images of ``parts`` one after the other."""
        return ImageSet(torch.cat([p.images for p in parts]), torch.cat([p.pids for p in parts]),
                        torch.cat([p.cams for p in parts]), [n for p in parts for n in p.names])  # fmt: skip


def read_folder(folder: str | Path, names: list[str] | None = None) -> ImageSet:
    """The images of ``folder`` (``names`` in that order, else every ``.jpg`` / ``.png`` by name) with the person id
    and camera parsed from each name."""
    folder = Path(folder)
    if names is None:
        names = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not names:
        raise DataError(f"{folder}: no images")
    arrays, pids, cams = [], [], []
    for name in names:
        with Image.open(folder / name) as im:
            arrays.append(np.asarray(im.convert("RGB")))
        pid, cam = parse_market_name(name)
        pids.append(pid)
        cams.append(cam)
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return ImageSet(images, torch.tensor(pids), torch.tensor(cams), list(names))


def query_gallery(test: ImageSet) -> tuple[list[int], list[int]]:
    """Indices of the query and gallery images of the held-out set (see the module docstring)."""
    by_person: dict[int, list[int]] = {}
    for i in sorted(range(len(test)), key=lambda i: test.names[i]):
        by_person.setdefault(int(test.pids[i]), []).append(i)
    query: list[int] = []
    for indices in by_person.values():
        first_of_cam: dict[int, int] = {}
        for i in indices:
            first_of_cam.setdefault(int(test.cams[i]), i)
        query += [first_of_cam[c] for c in sorted(first_of_cam)[:QUERY_CAMERAS]]
    chosen = set(query)
    return query, [i for i in range(len(test)) if i not in chosen]


def read_manifest(folder: str | Path) -> list[tuple[str, str]]:
    """(generated image, its source image) of every row of an ``augment-manifest.csv`` in ``folder``."""
    path = Path(folder) / "augment-manifest.csv"
    with open(path, newline="") as f:
        return [(row["image"], row["source"]) for row in csv.DictReader(f)]


def drift(embed, real: ImageSet, generated: ImageSet, pairs: list[tuple[str, str]], *, seed: int = 0,
          max_pairs: int = 2000) -> dict[str, float]:  # fmt: skip
    """Identity drift of generated images in the embedding space of a re-ID model.

    Args:
        embed: function uint8 (N, 3, H, W) -> L2-normalised float (N, D) embeddings.
        real: the real training images (the sources).
        generated: the generated images.
        pairs: (generated name, source name) of each generated image.
        seed: draw of the reference pairs.
        max_pairs: at most this many pairs of each kind are compared.

    Returns:
        mean Euclidean distance (0-2 for unit vectors) between a generated image and its source
        (``source_to_generated``), between two real images of the same person (``same_person``), and between real
        images of two different people (``different_people``).
    """
    rng = np.random.default_rng(seed)
    if len(pairs) > max_pairs:
        pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), max_pairs, replace=False))]
    e_real, e_gen = embed(real.images), embed(generated.images)
    row = {n: i for i, n in enumerate(real.names)}
    g_row = {n: i for i, n in enumerate(generated.names)}
    a = torch.tensor([g_row[g] for g, _ in pairs])
    b = torch.tensor([row[s] for _, s in pairs])
    n = len(real)
    i, j = torch.from_numpy(rng.integers(0, n, 20 * max_pairs)), torch.from_numpy(rng.integers(0, n, 20 * max_pairs))
    same = (real.pids[i] == real.pids[j]) & (i != j)
    diff = real.pids[i] != real.pids[j]

    def mean_dist(x: torch.Tensor, y: torch.Tensor) -> float:
        return float((x - y).norm(dim=1).mean()) if len(x) else float("nan")

    si, sj = i[same][:max_pairs], j[same][:max_pairs]
    di, dj = i[diff][:max_pairs], j[diff][:max_pairs]
    return {
        "source_to_generated": mean_dist(e_gen[a], e_real[b]),
        "same_person": mean_dist(e_real[si], e_real[sj]),
        "different_people": mean_dist(e_real[di], e_real[dj]),
        "pairs": len(pairs),
    }
