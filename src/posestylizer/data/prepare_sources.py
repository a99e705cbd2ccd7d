"""The images of the official Market-1501 and DeepFashion In-shop downloads, and where each one goes.

Market-1501 (``Market-1501-v15.09.15.zip``): ``bounding_box_train/`` and ``bounding_box_test/`` hold 128x64 crops named
``PPPP_cXsY_FFFFFF_NN.jpg``; person ids ``-1`` (junk) and ``0000`` (distractors) are no people of the benchmark.

DeepFashion In-shop (``img.zip`` + ``Eval/list_eval_partition.txt``): ``img/<GENDER>/<Category>/id_XXXXXXXX/
NN_P_view.jpg`` at 256x256. The partition file lists every image with its item id and ``train``, ``query`` or
``gallery``; query and gallery together are the test identities. The PATN layout flattens each path into one file
name (reference §1.4): ``img/WOMEN/Skirts/id_00000629/04_3_back.jpg`` -> ``fashionWOMENSkirtsid0000062904_3back.jpg``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from posestylizer.data.formats import read_annotations
from posestylizer.errors import DataError
from posestylizer.runtime.imagefiles import image_files

MARKET_FOLDERS = {"train": "bounding_box_train", "test": "bounding_box_test"}
MARKET_JUNK = ("-1", "0000")
PARTITION = "list_eval_partition.txt"
FASHION_PHASES = {"train": "train", "query": "test", "gallery": "test"}


@dataclass(frozen=True)
class RawImage:
    """One image of a download: its path relative to the download's root (posix), its phase and its output name."""

    rel: str
    phase: str
    name: str


def _find_root(raw: Path, marker: str) -> Path:
    """``raw`` itself, or its single subfolder, that holds ``marker`` (archives unpack into a versioned folder)."""
    if (raw / marker).exists():
        return raw
    inner = [p for p in raw.iterdir() if (p / marker).exists()] if raw.is_dir() else []
    if len(inner) == 1:
        return inner[0]
    return raw


def market_images(raw: str | Path) -> tuple[Path, list[RawImage], list[RawImage]]:
    """(root, images to prepare, distractors) of an unpacked Market-1501 download; names are kept as they are."""
    root = _find_root(Path(raw), MARKET_FOLDERS["train"])
    missing = [f for f in MARKET_FOLDERS.values() if not (root / f).is_dir()]
    if missing:
        raise DataError(
            f"{root}: no {' or '.join(missing)} folder; point RAW at the unpacked Market-1501-v15.09.15 folder"
        )
    keep, junk = [], []
    for phase, folder in MARKET_FOLDERS.items():
        for path in image_files(root / folder):
            item = RawImage(f"{folder}/{path.name}", phase, path.name)
            (junk if path.name.startswith(MARKET_JUNK) else keep).append(item)
    return root, keep, junk


def flatten_fashion_name(rel: str) -> str:
    """PATN file name of an In-shop image path (reference §1.4).

    ``img/<GENDER>/<Category>/id_<8 digits>/<NN>_<P>_<view>.jpg`` -> ``fashion<GENDER><Category>id<8 digits><NN>_<P>
    <view>.jpg``: the category keeps its own underscores, the id loses its one, and the image name loses the one
    before the view word. ValueError for a path of another shape.
    """
    parts = rel.split("/")
    if len(parts) < 4 or not parts[-2].startswith("id_") or parts[-1].count("_") < 2:
        raise ValueError(f"not an In-shop image path img/GENDER/Category/id_XXXXXXXX/NN_P_view.jpg: {rel}")
    gender, category, item, file = parts[-4], parts[-3], parts[-2], parts[-1]
    head, view = file.rsplit("_", 1)
    return f"fashion{gender}{category}{item.replace('_', '')}{head}{view}"


def _partition_file(raw: Path) -> Path:
    for candidate in (raw / PARTITION, raw / "Eval" / PARTITION, raw.parent / "Eval" / PARTITION):
        if candidate.is_file():
            return candidate
    raise DataError(f"{raw}: {PARTITION} not found (looked in RAW and RAW/Eval); unpack the In-shop 'Eval' folder")


def fashion_images(raw: str | Path) -> tuple[Path, list[RawImage]]:
    """(root, images listed by the official partition) of an unpacked DeepFashion In-shop download.

    The root is the folder that holds ``img/``; the images keep the partition file's order.
    """
    root = _find_root(Path(raw), "img")
    part = _partition_file(root)
    lines = part.read_text(encoding="utf-8").splitlines()
    images, seen = [], {}
    for number, line in enumerate(lines[2:], start=3):  # line 1: image count, line 2: column names
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or fields[2] not in FASHION_PHASES:
            raise DataError(
                f"{part}:{number}: expected 'image_name item_id train|query|gallery', got {line.strip()[:80]!r}"
            )
        rel, _, status = fields
        try:
            name = flatten_fashion_name(rel)
        except ValueError as err:
            raise DataError(f"{part}:{number}: {err}") from None
        if name in seen:  # the same image as query and gallery would be prepared twice
            if seen[name] != rel:
                raise DataError(f"{part}:{number}: {rel} flattens to {name}, as {seen[name]} does")
            continue
        seen[name] = rel
        images.append(RawImage(rel, FASHION_PHASES[status], name))
    if not images:
        raise DataError(f"{part}: lists no images")
    return root, images


def split_from_lists(
    images: list[RawImage], train: str | Path, test: str | Path
) -> tuple[list[RawImage], list[RawImage]]:
    """Images re-assigned to the phase of the annotation CSV that names them (e.g. the authors' own split), and
    the images neither CSV names."""

    phase_of: dict[str, str] = {}
    for phase, path in (("train", train), ("test", test)):
        for name in read_annotations(path):
            if phase_of.get(name, phase) != phase:
                raise DataError(f"{path}: {name} is also in the train list {train}; an image has one phase")
            phase_of[name] = phase
    listed = [RawImage(it.rel, phase_of[it.name], it.name) for it in images if it.name in phase_of]
    return listed, [it for it in images if it.name not in phase_of]
