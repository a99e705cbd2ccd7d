"""Uploaded images in, PNG out: decoding with a pixel limit and answers that say what was wrong.

The request-body size is capped by FastAPI (``max_body_size``); each uploaded file is checked against the per-file
limit here, so that the answer can name the file and the limit. Decoding happens in the worker thread (a 40-megapixel
JPEG takes a second), never on the event loop.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from fastapi import HTTPException
from PIL import Image, ImageOps, UnidentifiedImageError

# Formats Pillow reads that people upload; anything else (PDF, PSD, ICO...) is refused as "not an image".
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")


class UploadRefused(HTTPException):
    """An upload the server will not read: 413 too large, 415 not an image, 400 damaged."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(status_code=status_code, detail=detail)


def check_size(field: str, name: str, size: int, max_bytes: int) -> None:
    """413 when one uploaded file is over ``max_bytes``."""
    if size > max_bytes:
        raise UploadRefused(
            413, f"{field}: {name} is {size / 1e6:.1f} MB; the server accepts files up to {max_bytes / 1e6:.1f} MB"
        )


def decode_image(data: bytes, field: str, name: str, max_pixels: int) -> np.ndarray:
    """An uploaded file as a uint8 (H, W, 3) RGB array, upright (EXIF orientation applied).

    Raises:
        UploadRefused: 400 empty or damaged file; 413 more than ``max_pixels`` pixels (checked on the header, before
            the pixels are decoded, as Pillow's decompression-bomb guard does); 415 not an image.
    """
    where = f"{field}: {name}"
    if not data:
        raise UploadRefused(400, f"{where} is empty")
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format not in FORMATS:
                raise UploadRefused(415, f"{where} is a {im.format} file, not a photo ({', '.join(FORMATS)})")
            w, h = im.size
            if w * h > max_pixels:
                raise UploadRefused(
                    413, f"{where} is {w}x{h} = {w * h / 1e6:.1f} megapixels; the server accepts up to "
                    f"{max_pixels / 1e6:.1f} megapixels"
                )
            im.load()
            return to_rgb(ImageOps.exif_transpose(im))
    except UnidentifiedImageError:
        raise UploadRefused(415, f"{where} is not an image (expected {', '.join(FORMATS)})") from None
    except Image.DecompressionBombError as err:  # Pillow's own guard, for a limit set above its default
        raise UploadRefused(413, f"{where}: {err}") from None
    except (OSError, SyntaxError, ValueError) as err:  # truncated or corrupt data
        raise UploadRefused(400, f"{where} is a damaged or truncated image ({err})") from None


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


def png_bytes(image: Image.Image | np.ndarray) -> bytes:
    """Encode an image as PNG (lossless, so what the model made is what the client gets)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def png_base64(image: Image.Image | np.ndarray) -> str:
    return base64.b64encode(png_bytes(image)).decode("ascii")
