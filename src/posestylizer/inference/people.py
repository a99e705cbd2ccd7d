"""Finding the people in a photo with a single-person pose estimator.

The offline estimator (MediaPipe BlazePose, the ``pose`` extra) reports one person per image: the one its person
detector scores highest. No multi-person body detector ships in that wheel: it holds the BlazePose detector and
landmark models (used one person at a time by ``mp.solutions.pose``), hand, selfie-segmentation and face models. The
face detector does find several faces, but people seen from behind or from afar show none; torchvision's person
detectors need weights that cannot be downloaded here. So :func:`find_people` searches with the estimator itself:

1. estimate on the photo; cover the person found with the photo's median colour (a thick-limb silhouette around
   their skeleton) and estimate again, until nobody new is found (at most ``max_people``);
2. when the whole photo gives nobody, estimate on overlapping half-size tiles of it, which finds people too small
   for the detector's 224-pixel view of the whole photo, covering each one found as in step 1.

A detection counts as a new person when most of its keypoints fall outside the people already covered.

Limits, honestly: people who overlap strongly (one in front of the other) are found as one or not at all; a person
smaller than about 1/8 of the photo's height is often missed; the estimator can also place a person on a statue or
a poster; a small person beside a large one is found only when the covering uncovers them. ``person=`` (a point
or a box) is the reliable way to choose: a box is searched on its own, a point is matched to the people found, or
searched in a window around it.

Keypoints are (y, x) pixels of the photo, -1 = missing; boxes are (x0, y0, x1, y1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from posestylizer.errors import NoPersonError
from posestylizer.inference.framing import torso_length
from posestylizer.keypoints.maps import pose_mask
from posestylizer.keypoints.vocab import KEYPOINT_DTYPE, missing_pose, present

Estimator = Callable[[np.ndarray], np.ndarray]
MIN_KEYPOINTS = 4  # fewer present keypoints than this is not a person (a stray hand, a face on a poster)


@dataclass(frozen=True)
class Person:
    """One person found in a photo: float32 (18, 2) (y, x) photo pixels, -1 = missing."""

    keypoints: np.ndarray

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the present keypoints."""
        pts = self.keypoints[present(self.keypoints)]
        return (float(pts[:, 1].min()), float(pts[:, 0].min()), float(pts[:, 1].max()), float(pts[:, 0].max()))

    @property
    def prominence(self) -> float:
        """How much of the photo the person takes: the diagonal of their keypoint box, in pixels."""
        x0, y0, x1, y1 = self.box
        return float(np.hypot(x1 - x0, y1 - y0))

    def contains(self, x: float, y: float, margin: float = 0.15) -> bool:
        x0, y0, x1, y1 = self.box
        mx, my = margin * max(x1 - x0, (y1 - y0) / 2), margin * (y1 - y0)
        return x0 - mx <= x <= x1 + mx and y0 - my <= y <= y1 + my


def _silhouette(kp: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bool (H, W) region to cover for a found person: their skeleton with limbs about a body-width thick."""
    torso = torso_length(kp)
    if torso is None:
        x0, y0, x1, y1 = Person(kp).box
        torso = max(y1 - y0, x1 - x0) / 3
    return pose_mask(kp, size, radius=max(2, round(0.35 * torso)))


def _estimate_in(image: np.ndarray, estimator: Estimator, box: tuple[int, int, int, int]) -> np.ndarray:
    """Estimate on ``image[y0:y1, x0:x1]`` and return keypoints in the whole image's pixels (all missing when the
    window, clipped to the photo, is empty: a point or box outside the photo holds nobody)."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return missing_pose()
    kp = np.array(estimator(np.ascontiguousarray(image[y0:y1, x0:x1])), KEYPOINT_DTYPE)
    ok = present(kp)
    kp[ok] += (y0, x0)
    return kp


def _tiles(size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Half-size windows (square when the photo allows) overlapping by half, as (x0, y0, x1, y1)."""
    h, w = size
    side = max(32, min(h, w) // 2)
    boxes = []
    for y0 in sorted({*range(0, max(1, h - side + 1), side // 2), max(0, h - side)}):
        for x0 in sorted({*range(0, max(1, w - side + 1), side // 2), max(0, w - side)}):
            boxes.append((x0, y0, min(w, x0 + side), min(h, y0 + side)))
    return boxes


class _Search:
    """Covering state of :func:`find_people`: the photo with found people painted over."""

    def __init__(self, image: np.ndarray, estimator: Estimator, max_people: int) -> None:
        self.image = np.array(image, dtype=np.uint8, copy=True)
        self.fill = np.median(image.reshape(-1, 3), axis=0).astype(np.uint8)
        self.covered = np.zeros(image.shape[:2], dtype=bool)
        self.estimator, self.max_people = estimator, max_people
        self.people: list[Person] = []

    def accept(self, kp: np.ndarray) -> bool:
        """Record ``kp`` as a new person (and cover them) unless it is nobody or somebody already found."""
        ok = present(kp)
        if ok.sum() < MIN_KEYPOINTS or len(self.people) >= self.max_people:
            return False
        pix = np.rint(kp[ok]).astype(np.int64)  # pixel indices (an estimator's poses are on the grid already)
        if self.covered[pix[:, 0], pix[:, 1]].mean() > 0.5:
            return False
        self.people.append(Person(kp))
        region = _silhouette(kp, self.covered.shape)
        self.covered |= region
        self.image[region] = self.fill
        return True

    def repeat(self, box: tuple[int, int, int, int]) -> None:
        while self.accept(_estimate_in(self.image, self.estimator, box)):
            pass


def find_people(image: np.ndarray, estimator: Estimator, *, max_people: int = 8, tiles: bool = True) -> list[Person]:
    """Everybody the estimator finds in ``image`` (uint8 (H, W, 3)), most prominent first (module docstring)."""
    h, w = image.shape[:2]
    search = _Search(image, estimator, max_people)
    search.repeat((0, 0, w, h))
    if tiles and not search.people and min(h, w) >= 128:
        for box in _tiles((h, w)):
            search.repeat(box)
    return sorted(search.people, key=lambda p: -p.prominence)


def _clip_box(box, size: tuple[int, int], grow: float) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (float(v) for v in box)
    gx, gy = grow * (x1 - x0), grow * (y1 - y0)
    h, w = size
    return (max(0, int(x0 - gx)), max(0, int(y0 - gy)), min(w, int(np.ceil(x1 + gx))), min(h, int(np.ceil(y1 + gy))))


def pick_person(image: np.ndarray, estimator: Estimator, person=None) -> Person:
    """The person to re-pose: the most prominent, the one at point ``(x, y)``, or the one inside box
    ``(x0, y0, x1, y1)`` (photo pixels).

    Raises:
        NoPersonError: nobody found (at that point / in that box).
    """
    h, w = image.shape[:2]
    if person is not None and len(person) == 4:
        box = _clip_box(person, (h, w), 0.1)
        kp = _estimate_in(image, estimator, box)
        if present(kp).sum() < MIN_KEYPOINTS:
            raise NoPersonError(f"no person found in the box {tuple(person)}; draw the box around a whole person")
        return Person(kp)
    people = find_people(image, estimator)
    if person is None:
        if not people:
            raise NoPersonError(f"no person found in the {w}x{h} photo; use a photo with a clearly visible person")
        return people[0]
    x, y = (float(v) for v in person)
    hits = [p for p in people if p.contains(x, y)]
    if hits:
        return min(hits, key=lambda p: np.hypot((p.box[0] + p.box[2]) / 2 - x, (p.box[1] + p.box[3]) / 2 - y))
    side = max(h, w) // 2
    window = _clip_box((x - side / 2, y - side / 2, x + side / 2, y + side / 2), (h, w), 0.0)
    found = Person(_estimate_in(image, estimator, window))
    if present(found.keypoints).sum() >= MIN_KEYPOINTS and found.contains(x, y):
        return found
    raise NoPersonError(f"no person found at point ({x:g}, {y:g}) of the {w}x{h} photo; give a point on the person")
