"""What an augmentation run writes, decided before any pixel is computed: sources, target poses, names, chunks.

Everything here is a pure function of the dataset's annotations, the pose source, ``K`` and the seed, never of the
process count, the rank or the order in which work is done, so every torchrun rank computes the same plan and takes
its share of it, and a resumed run finds the same names:

- a **source** is a training image whose annotation has a usable pose (both shoulders, both hips, a knee or an
  ankle: what the training pairs and ``generate`` require); the rest are skipped and counted;
- its ``K`` **target poses** are drawn by a generator seeded from ``sha256(seed, source name)``
  (:func:`source_rng`): ``dataset`` draws among the other sources' poses, ``library`` among the built-in library's,
  a keypoint file among its records (without replacement while there are enough, with replacement after);
- each target is **retargeted** to the source person (:func:`~posestylizer.inference.retarget.retarget`, as
  ``generate`` does) in model pixels;
- output **names** keep the source's person id (and Market's camera and sequence) first: :func:`generated_name`;
- sources are cut into **chunks** of ``max(1, batch // K)`` consecutive sources in name order; a chunk is the unit
  of work (one encoder batch, its ``K`` poses per source decoded in batches of ``batch``), so every image is computed
  in the same batch whichever process computes it, which is what makes the bytes equal at any process count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posestylizer.data.layouts import Layout
from posestylizer.errors import ConfigError, MissingKeypointsError
from posestylizer.inference.framing import Framing, frame_box
from posestylizer.inference.retarget import retarget
from posestylizer.keypoints import read_pose_records
from posestylizer.keypoints.library import library_pose, pose_names
from posestylizer.keypoints.vocab import LEGS, TORSO_CORNERS, present

POSE_SOURCES = ("dataset", "library")
MARK = "aps"  # generated images carry "_aps<k>" (or "-aps<k>"): what tells them from the camera's images


@dataclass(frozen=True)
class Pose:
    """A candidate target pose: ``label`` names it in the manifest (an image name, a library pose name or
    ``FILE#record``); ``keypoints`` float64 (18, 2) (y, x) model pixels (not yet retargeted), -1 = missing."""

    label: str
    kind: str
    keypoints: np.ndarray


@dataclass(frozen=True)
class Job:
    """One output image: the ``k``-th pose of ``source``; ``keypoints`` int64 (18, 2) retargeted model pixels."""

    source: str
    k: int
    pose: Pose
    keypoints: np.ndarray
    name: str


@dataclass(frozen=True)
class Chunk:
    """Consecutive sources (name order) rendered together; ``jobs`` in source order, then ``k``."""

    index: int
    sources: tuple[str, ...]
    jobs: tuple[Job, ...]


def usable(kp: np.ndarray) -> bool:
    """True when the pose has both shoulders, both hips and a knee or ankle (full body, as training pairs)."""
    ok = present(kp)
    # both shoulders and both hips (the training pairs' requirement, reference §1.3) and some leg
    return bool(ok[list(TORSO_CORNERS)].all() and ok[list(LEGS)].any())


def generated_name(layout: Layout, source: str, k: int) -> str:
    """The file name of the ``k``-th generated image of ``source``: same person id as the source under the
    layout's id rule, ``.jpg``.

    Market (id before the first ``_``): ``0002_c1s1_000451_03.jpg`` -> ``0002_c1s1_000451_03_aps00.jpg``, which
    re-ID loaders parse as person 0002, camera 1. DeepFashion (id before the last ``_``): the mark is joined with
    ``-`` so that the id stays ``..._id00000629`` (``..._3back.jpg`` -> ``..._3back-aps00.jpg``).
    """
    stem = Path(source).stem
    sep = "_" if layout.identity_split == "first" else "-"
    name = f"{stem}{sep}{MARK}{k:02d}.jpg"
    assert layout.identity(name) == layout.identity(source), (name, source)
    return name


def source_rng(seed: int, source: str) -> np.random.Generator:
    """The random generator of one source image: a function of (seed, name) only, never of rank or order."""
    digest = hashlib.sha256(f"posestylizer-augment\0{seed}\0{source}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def draw(rng: np.random.Generator, n: int, k: int) -> list[int]:
    """``k`` indices into ``range(n)``: distinct while ``k <= n``, then with replacement."""
    if n <= 0:
        return []
    return rng.choice(n, size=k, replace=k > n).tolist()


def dataset_poses(sources: dict[str, np.ndarray]) -> list[Pose]:
    """The usable training poses, in name order (they are already in model pixels: dataset images are model-size)."""
    return [Pose(name, "image", np.asarray(kp, np.float64)) for name, kp in sorted(sources.items())]


def library_poses(size: tuple[int, int], framing: Framing) -> list[Pose]:
    """Every library pose placed in a model image framed as the training images are."""

    return [Pose(name, "library", library_pose(name, size, framing)) for name in pose_names()]


def file_poses(path: Path, size: tuple[int, int], framing: Framing) -> list[Pose]:
    """Every pose of a keypoint file (PATN CSV, OpenPose, COCO JSON) framed into a model image as ``generate``
    frames a target from a file; records that cannot be framed (no torso, no face and ankle) are left out."""

    poses = []
    for i, rec in enumerate(read_pose_records(path)):
        try:
            box = frame_box(rec.keypoints, size, framing)
        except MissingKeypointsError:
            continue
        label = f"{path.name}#{rec.name or i}"
        poses.append(Pose(label, "file", box.to_model(rec.keypoints, size, clip=False)))
    if not poses:
        raise ConfigError(f"--pose-source {path}: no pose in the file has a torso (neck or shoulders, and hips) or a "
                          "face and an ankle to place it by")
    return poses


def plan_jobs(source: str, source_kp: np.ndarray, poses: list[Pose], k: int, seed: int, layout: Layout,
              size: tuple[int, int], exclude: int | None = None) -> list[Job]:  # fmt: skip
    """The ``k`` outputs of one source: poses drawn by :func:`source_rng` among ``poses`` but the one at
    ``exclude`` (the source's own pose, for the ``dataset`` source), retargeted to it."""
    n = len(poses) - (exclude is not None)
    picks = [j + (exclude is not None and j >= exclude) for j in draw(source_rng(seed, source), n, k)]
    return [Job(source, i, poses[j], retarget(poses[j].keypoints, source_kp, size),
                generated_name(layout, source, i)) for i, j in enumerate(picks)]  # fmt: skip


def make_chunks(sources: dict[str, np.ndarray], poses: list[Pose], *, k: int, seed: int, batch: int,
                layout: Layout, size: tuple[int, int]) -> list[Chunk]:  # fmt: skip
    """All chunks of the run (module docstring), in name order."""
    names = sorted(sources)
    per_chunk = max(1, batch // k)
    own = {p.label: i for i, p in enumerate(poses) if p.kind == "image"}
    chunks = []
    for start in range(0, len(names), per_chunk):
        group = names[start : start + per_chunk]
        jobs = [job for name in group for job in plan_jobs(name, sources[name], poses, k, seed, layout, size,
                                                         own.get(name))]
        chunks.append(Chunk(len(chunks), tuple(group), tuple(jobs)))
    return chunks


def rank_chunks(chunks: list[Chunk], rank: int, world_size: int) -> list[Chunk]:
    """The chunks of one process: every ``world_size``-th, starting at ``rank`` (balanced within one chunk)."""
    return chunks[rank::world_size]
