"""Which files in a folder are images (result folders, training folders, photos to estimate poses on), and which
image names from a user's file are safe to join to a folder."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from posestylizer.errors import DataError, ImageFileError
from posestylizer.runtime.files import atomic_path

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
# Formats Pillow reads that people use for photos; anything else (PDF, PSD, ICO...) is refused as "not an image".
PHOTO_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF", "MPO")
# Pillow warns above this many pixels and refuses twice as many (its decompression-bomb guard); we refuse above it,
# on the header, before any pixel is decoded.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS and path.is_file()


def image_files(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (a fixed order, unlike ``os.listdir``)."""
    return sorted(p for p in Path(folder).iterdir() if is_image_file(p))


def name_problem(name: str) -> str:
    """Empty string when ``name`` is a plain file name, else why not.

    Image names in the CSVs are joined to the dataset's image folder and (in ``generate``/``evaluate`` outputs) to
    the output folder; a name with a folder part (``../x.jpg``, ``/etc/passwd``, ``a\\b.jpg``) would read or write
    outside them, so it is refused wherever names are read from a file (the CSV readers, keypoint imports).
    """
    if name in (".", "..") or any(c in name for c in "/\\") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return (f"image name {name[:80]!r} must be a file name inside the image folder (no '/', '\\', '..' or "
                "control characters)")
    return ""


def read_photo(source: bytes | str | Path, what: str | None = None, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A photo (file path or its bytes) as uint8 (H, W, 3) RGB, upright: EXIF orientation applied, grayscale and CMYK
    converted, transparency over white, 16-bit scaled from 0..65535.

    Args:
        source: a path, or the file's bytes (an upload).
        what: how messages name the photo (default: the path).
        max_pixels: largest accepted width x height, checked on the header before decoding.

    Raises:
        ImageFileError: one line naming the photo; ``kind`` empty, damaged (truncated or corrupt), too_large or
            not_image.
    """
    where = what or str(source)
    if isinstance(source, (str, Path)):
        try:
            source = Path(source).read_bytes()
        except FileNotFoundError:
            raise ImageFileError(f"{where}: image not found", "not_image") from None
        except OSError as err:
            raise ImageFileError(f"{where}: cannot read the file ({err.strerror or err})", "not_image") from None
    if not source:
        raise ImageFileError(f"{where} is empty", "empty")
    try:
        with warnings.catch_warnings():  # Pillow warns about what the pixel check below refuses in one line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(source))
        with im:
            if im.format not in PHOTO_FORMATS:
                raise ImageFileError(f"{where} is a {im.format} file, not a photo ({', '.join(PHOTO_FORMATS[:6])})",
                                     "not_image")
            w, h = im.size
            if w * h > max_pixels:
                raise ImageFileError(f"{where} is {w}x{h} = {w * h / 1e6:.1f} megapixels; at most "
                                     f"{max_pixels / 1e6:.1f} megapixels are accepted", "too_large")
            im.load()
            return to_rgb(ImageOps.exif_transpose(im))
    except UnidentifiedImageError:
        raise ImageFileError(f"{where} is not an image (expected {', '.join(PHOTO_FORMATS[:6])})", "not_image") from None
    except Image.DecompressionBombError as err:  # Pillow's own guard, when it fires on the header before we look
        raise ImageFileError(f"{where}: {str(err).rstrip('.')}; at most {max_pixels / 1e6:.1f} megapixels are "
                             "accepted", "too_large") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:  # truncated or corrupt data
        raise ImageFileError(f"{where} is a damaged or truncated image ({err})", "damaged") from None


def displayed_size(im: Image.Image) -> tuple[int, int]:
    """(H, W) of an opened image as shown, i.e. after its EXIF orientation (read from the header, nothing decoded)."""
    turned = im.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # orientations that swap width and height
    return (im.width, im.height) if turned else (im.height, im.width)


def to_rgb(im: Image.Image) -> np.ndarray:
    """uint8 (H, W, 3): transparency over white; 16-bit and float images scaled from their range to 0..255."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
        gray = np.clip(a / top * 255 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.array(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.array(im.convert("RGB"))  # a writable copy (torch.from_numpy warns on read-only arrays)


def save_image(image: np.ndarray | Image.Image, path: str | Path, **options) -> Path:
    """Write a uint8 (H, W, 3) array or PIL image with PIL (format from the suffix, ``options`` to PIL's save)
    through a temporary sibling and a rename, so a crash never leaves a half-written file under the final name."""
    path = Path(path)
    fmt = _image_format(path)
    picture = image if isinstance(image, Image.Image) else Image.fromarray(np.ascontiguousarray(image))
    with atomic_path(path) as tmp:
        picture.save(tmp, format=fmt, **options)
    return path


def _image_format(path: Path) -> str:
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: no image format for the suffix {path.suffix!r}")
    return fmt


def read_image(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """uint8 RGB array (H, W, 3) of an image file, read as every photo is (:func:`read_photo`:
    EXIF orientation applied, gray/CMYK/16-bit/transparent converted); DataError if unreadable or not ``size``."""
    try:
        arr = read_photo(path)
    except ImageFileError as err:
        raise DataError(f"{err}; replace the file" if Path(path).exists() else str(err)) from None
    if size is not None and arr.shape[:2] != tuple(size):
        h, w = arr.shape[:2]
        raise DataError(f"{path}: image is {h}x{w}, the dataset layout expects {size[0]}x{size[1]} (H x W)")
    return arr
