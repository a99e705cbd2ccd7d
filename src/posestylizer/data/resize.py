"""Copy a PATN-layout dataset at another image size, in the same layout, so every command reads the copy.

Images are area-averaged (PIL's box filter) and written in their own format (JPEG at quality 95), keypoints are scaled
and floored to the new pixel grid (missing stay -1), pair lists are copied unchanged. The ground-truth masks and
background plates of a synthetic dataset (:func:`posestylizer.data.synth.mask_path` / ``background_path``) are resized
with the images; masks are thresholded back to 0/255.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from posestylizer.data.formats import read_annotations, write_annotations
from posestylizer.data.layouts import PHASES, Layout, get_layout
from posestylizer.data.synth import background_path, mask_path
from posestylizer.errors import DataError
from posestylizer.keypoints.vocab import present
from posestylizer.runtime.progress import QUIET, Progress

MARKER = "resize.json"  # written into every resized copy; only such a folder is replaced by a later resize
JPEG_QUALITY = 95


def resize_dataset(
    src: str | Path,
    dst: str | Path,
    size: tuple[int, int],
    *,
    layout: str | Layout = "market",
    progress: Progress = QUIET,
) -> Path:
    """Write ``src`` (a dataset in ``layout``, at the layout's image size) into ``dst`` at ``size`` = (H, W).

    ``dst`` must be new, empty, or an earlier resized copy (replaced whole, so no file of an earlier, larger copy is
    left behind). Returns ``dst``.
    """
    src, dst = Path(src), Path(dst)
    lay = get_layout(layout)
    _prepare(dst)
    scale = np.array([size[0] / lay.image_size[0], size[1] / lay.image_size[1]])
    for phase in PHASES:
        annotations = read_annotations(lay.annotation_path(src, phase))
        rows = []
        for name in progress(list(annotations), f"resize {phase}", unit="image"):
            for a, b, is_mask in _files(src, dst, lay, phase, name):
                _resize_file(a, b, size, is_mask)
            kp = annotations[name].copy()
            ok = present(kp)
            kp[ok] = np.floor(kp[ok] * scale)  # whole pixels, as the reference resized its annotations
            rows.append((name, kp))
        write_annotations(lay.annotation_path(dst, phase), rows)
        shutil.copyfile(lay.pairs_path(src, phase), lay.pairs_path(dst, phase))
    info = {"source": str(src.resolve()), "layout": lay.name, "image_size": list(size)}
    (dst / MARKER).write_text(json.dumps(info, indent=2) + "\n")
    return dst


def _prepare(dst: Path) -> None:
    if dst.exists() and any(dst.iterdir()):
        if not (dst / MARKER).is_file():
            raise DataError(f"{dst}: folder exists and is not a resized dataset; choose a new or empty folder")
        shutil.rmtree(dst)
    dst.mkdir(parents=True, exist_ok=True)


def _files(src: Path, dst: Path, lay: Layout, phase: str, name: str) -> list[tuple[Path, Path, bool]]:
    """(source file, destination file, is a mask) of one image: the image, and a synthetic dataset's extras."""
    files = [(lay.image_dir(src, phase) / name, lay.image_dir(dst, phase) / name, False)]
    for extra, is_mask in ((mask_path, True), (background_path, False)):
        if extra(src, phase, name).is_file():
            files.append((extra(src, phase, name), extra(dst, phase, name), is_mask))
    return files


def _resize_file(a: Path, b: Path, size: tuple[int, int], is_mask: bool) -> None:
    b.parent.mkdir(parents=True, exist_ok=True)
    try:
        with Image.open(a) as img:
            small = img.resize((size[1], size[0]), Image.BOX)
    except OSError as err:
        raise DataError(f"{a}: cannot read image ({err}); replace the file") from None
    if is_mask:
        small = small.point(lambda v: 255 if v > 127 else 0)
    if b.suffix.lower() in (".jpg", ".jpeg"):
        small.save(b, quality=JPEG_QUALITY)
    else:
        small.save(b)
