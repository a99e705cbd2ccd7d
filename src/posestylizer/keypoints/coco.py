"""COCO keypoint annotations: ``annotations[k].keypoints`` = 17 × (x, y, v), joined to ``images[]`` by ``image_id``.

``v = 0`` is a keypoint that is not labelled (missing); ``v = 1`` (labelled, occluded) and ``v = 2`` (visible) are
present. COCO has no neck; it is the midpoint of the shoulders when both are present, as in the BlazePose mapping.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from posestylizer.errors import DataError
from posestylizer.keypoints.core import PoseRecord, choose_person, pose_area, pose_from_points
from posestylizer.keypoints.vocab import present

COCO17_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)  # fmt: skip
NECK_FROM_SHOULDERS = None
# COCO-17 index of each COCO-18 keypoint (None = the neck, made from both shoulders).
COCO17_FOR_COCO18 = (0, NECK_FROM_SHOULDERS, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)
COCO17_SHOULDERS = (5, 6)
# COCO's own skeleton (1-based pairs of COCO17_NAMES), written into the categories of an exported file.
COCO_SKELETON = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8), (7, 9), (8, 10), (9, 11),
    (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
)  # fmt: skip


def _keypoints17(values, where: str, entry: str) -> np.ndarray:
    if not isinstance(values, list) or len(values) != 51:
        got = f"{len(values)} values" if isinstance(values, list) else type(values).__name__
        raise DataError(f"{where}: {entry} must be 17 x (x, y, v) = 51 numbers, got {got}")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise DataError(f"{where}: {entry}[{i}] is {v!r}, expected a finite number")
    return np.asarray(values, dtype=np.float64).reshape(17, 3)


def coco17_to_coco18(triples: np.ndarray) -> np.ndarray:
    """(17, 3) COCO (x, y, v) -> float32 (18, 2) (y, x), -1 where v = 0; the neck from both shoulders."""
    x, y, ok = np.full(18, np.nan), np.full(18, np.nan), np.zeros(18, dtype=bool)
    for k, src in enumerate(COCO17_FOR_COCO18):
        if src is NECK_FROM_SHOULDERS:
            if (triples[list(COCO17_SHOULDERS), 2] > 0).all():
                x[k], y[k] = triples[list(COCO17_SHOULDERS), :2].mean(axis=0)
                ok[k] = True
        elif triples[src, 2] > 0:
            x[k], y[k], ok[k] = triples[src, 0], triples[src, 1], True
    return pose_from_points(y, x, ok)


def _images(obj, where: str) -> dict:
    if not isinstance(obj, dict) or not isinstance(obj.get("images"), list) or not isinstance(
        obj.get("annotations"), list
    ):
        raise DataError(f"{where}: not a COCO keypoint file (needs 'images' and 'annotations' lists)")
    images = {}
    for i, image in enumerate(obj["images"]):
        if not isinstance(image, dict) or "id" not in image or not isinstance(image.get("file_name"), str):
            raise DataError(f"{where}: images[{i}] needs an 'id' and a 'file_name'")
        images[image["id"]] = image
    return images


def is_results_list(obj) -> bool:
    """Whether ``obj`` is a COCO results list (what detectors write for COCO's evaluation): a list of objects with
    ``image_id`` and ``keypoints`` (and a ``score``), and no ``images[]`` to name or size the images."""
    return isinstance(obj, list) and bool(obj) and all(
        isinstance(item, dict) and "image_id" in item and "keypoints" in item for item in obj)


def _from_results(results: list, where: str) -> dict:
    """A results list as a keypoint object: each ``image_id`` becomes an image named by the id (``pose import``
    adds ``--image-ext``), without a size (``--source-size`` gives it)."""
    ids = []
    for k, item in enumerate(results):
        image_id = item["image_id"]
        if isinstance(image_id, bool) or not isinstance(image_id, (int, str)) or not str(image_id).strip():
            raise DataError(f"{where}: [{k}].image_id is {image_id!r}, expected a number or a name")
        if image_id not in ids:
            ids.append(image_id)
    images = [{"id": image_id, "file_name": str(image_id)} for image_id in ids]
    return {"images": images, "annotations": results}


def coco_people(obj, *, where: str = "COCO JSON") -> dict[str, list[PoseRecord]]:
    """{image file name: its people in annotation order} of a parsed COCO keypoint object.

    Each :class:`PoseRecord` carries the image's (H, W) when ``images[]`` gives ``height`` and ``width``.
    Annotations without ``keypoints`` (e.g. crowd boxes) are skipped. A results list (:func:`is_results_list`) is
    read as images named by their ``image_id``.
    """
    if is_results_list(obj):
        obj = _from_results(obj, where)
    images = _images(obj, where)
    people: dict[str, list[PoseRecord]] = {img["file_name"]: [] for img in images.values()}
    for k, ann in enumerate(obj["annotations"]):
        if not isinstance(ann, dict):
            raise DataError(f"{where}: annotations[{k}] is not an object")
        if "keypoints" not in ann:
            continue
        image = images.get(ann.get("image_id"))
        if image is None:
            raise DataError(f"{where}: annotations[{k}].image_id {ann.get('image_id')!r} is not in images[]")
        kp = coco17_to_coco18(_keypoints17(ann["keypoints"], where, f"annotations[{k}].keypoints"))
        size = (image["height"], image["width"]) if "height" in image and "width" in image else None
        people[image["file_name"]].append(PoseRecord(image["file_name"], kp, size))
    return people


def coco_records(obj, *, where: str = "COCO JSON") -> list[PoseRecord]:
    """The largest person of every image that has one (images without people are left out)."""
    return [max(recs, key=lambda r: pose_area(r.keypoints)) for recs in coco_people(obj, where=where).values() if recs]


def from_coco(obj, *, image: str | None = None, person: int | None = None, where: str = "COCO JSON") -> np.ndarray:
    """One person of a parsed COCO keypoint object: float32 (18, 2) (y, x), -1 = missing.

    Args:
        image: ``file_name`` of the image; None when the file holds a single image.
        person: index among that image's annotations; None = the largest person.
    """
    people = coco_people(obj, where=where)
    if image is None:
        if len(people) != 1:
            raise DataError(f"{where}: holds {len(people)} images; name one (file_name of images[])")
        image = next(iter(people))
    if image not in people:
        raise DataError(f"{where}: no image with file_name {image!r} in images[]")
    poses = [r.keypoints for r in people[image]]
    return choose_person(poses, person, where, entry=f"annotations of {image!r}")


def to_coco(records: Iterable[PoseRecord | tuple]) -> dict:
    """A COCO keypoint object (``json.dump`` it) with one image and one person per record.

    Records are :class:`PoseRecord` or (name, keypoints, (H, W)) tuples; present points get v = 2, missing ones
    (0, 0, 0). COCO has no neck, so the neck is not written (readers rebuild it from the shoulders).
    """
    images, annotations = [], []
    for i, rec in enumerate(records, start=1):
        name, kp, size = (rec.name, rec.keypoints, rec.image_size) if isinstance(rec, PoseRecord) else rec
        kp = np.asarray(kp, dtype=np.float64)
        ok = present(kp)
        triples = np.zeros((17, 3)).tolist()  # plain floats, for JSON
        for k18, k17 in enumerate(COCO17_FOR_COCO18):
            if k17 is not NECK_FROM_SHOULDERS and ok[k18]:
                triples[k17] = [float(kp[k18, 1]), float(kp[k18, 0]), 2]
        image = {"id": i, "file_name": name}
        if size is not None:
            image.update(height=int(size[0]), width=int(size[1]))
        images.append(image)
        vis = np.array([t for t in triples if t[2] > 0]).reshape(-1, 3)
        x0, y0 = (vis[:, 0].min(), vis[:, 1].min()) if len(vis) else (0.0, 0.0)
        w, h = (vis[:, 0].max() - x0, vis[:, 1].max() - y0) if len(vis) else (0.0, 0.0)
        annotations.append({
            "id": i, "image_id": i, "category_id": 1, "iscrowd": 0, "num_keypoints": len(vis),
            "keypoints": [v for x, y, flag in triples for v in (round(x, 3), round(y, 3), int(flag))],
            "bbox": [round(float(v), 3) for v in (x0, y0, w, h)], "area": round(float(w * h), 3),
        })  # fmt: skip
    category = {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(COCO17_NAMES),
                "skeleton": [list(p) for p in COCO_SKELETON]}  # fmt: skip
    return {"images": images, "annotations": annotations, "categories": [category]}
