"""Pair lists by the reference rules (reference §1.3, the authors' ``tool/create_pair.py``).

An image can be paired when both shoulders and both hips are annotated; names that start with a junk prefix (Market
distractors ``-1``/``0000``) are dropped; the pairs are all ordered permutations of the images of one person. A test
list is a seeded sample of those permutations (the Market test list has 12,000 pairs, ``random_state=0``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import numpy as np

from posestylizer.data.layouts import Layout, get_layout
from posestylizer.keypoints.vocab import TORSO_CORNERS, present

# Keypoints an image needs to be paired: both shoulders and both hips (reference §1.3).
PAIR_REQUIRED_KEYPOINTS = TORSO_CORNERS


def pairable(keypoints: np.ndarray) -> bool:
    """True when both shoulders and both hips are present."""
    return bool(present(keypoints)[list(PAIR_REQUIRED_KEYPOINTS)].all())


def make_pairs(
    annotations: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]],
    layout: str | Layout = "market",
    *,
    max_pairs: int | None = None,
    seed: int = 0,
) -> list[tuple[str, str]]:
    """All ordered same-person pairs of pairable images, optionally a seeded sample of ``max_pairs`` of them.

    Args:
        annotations: {image name: (18, 2) keypoints} in file order (names are grouped by person id in order of first
            appearance; within a person, pairs follow ``itertools.permutations``).
        layout: how a person id is cut from a name and which prefixes are junk.
        max_pairs: keep this many pairs drawn without replacement (all when None or not fewer than available).
        seed: seed of the sample; the sample is ``RandomState(seed).permutation(n)[:max_pairs]`` — what pandas'
            ``DataFrame.sample(max_pairs, random_state=seed)`` draws.

    Returns:
        list of (from, to) image names.
    """
    layout = get_layout(layout)
    items = annotations.items() if isinstance(annotations, Mapping) else annotations
    groups: dict[str, list[str]] = {}
    for name, kp in items:
        if layout.is_junk(name) or not pairable(kp):
            continue
        groups.setdefault(layout.identity(name), []).append(name)
    pairs = [p for names in groups.values() for p in itertools.permutations(names, 2)]
    if max_pairs is not None and max_pairs < len(pairs):
        order = np.random.RandomState(seed).permutation(len(pairs))[:max_pairs]
        pairs = [pairs[i] for i in order]
    return pairs


def evenly_spaced(n: int, count: int) -> list[int]:
    """``count`` item indices spread evenly over ``range(n)`` (all of them when ``count >= n``), sorted and distinct:
    the held-out pairs the demo and the ablation study evaluate, and the sample grids' fixed pairs."""
    return sorted({int(i) for i in np.linspace(0, n - 1, min(count, n))}) if n else []
