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
from PIL import Image

from posestylizer.errors import ImageFileError
from posestylizer.runtime.imagefiles import read_photo

STATUS = {"empty": 400, "damaged": 400, "too_large": 413, "not_image": 415}  # ImageFileError.kind -> HTTP status


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
    """An uploaded file as a uint8 (H, W, 3) RGB array, upright (EXIF orientation applied), by the reader the command
    line uses (:func:`~posestylizer.runtime.imagefiles.read_photo`).

    Raises:
        UploadRefused: 400 empty or damaged file; 413 more than ``max_pixels`` pixels (checked on the header, before
            the pixels are decoded); 415 not an image.
    """
    try:
        return read_photo(data, f"{field}: {name}", max_pixels)
    except ImageFileError as err:
        raise UploadRefused(STATUS[err.kind], str(err)) from None


def png_bytes(image: Image.Image | np.ndarray) -> bytes:
    """Encode an image as PNG (lossless, so what the model made is what the client gets)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def png_base64(image: Image.Image | np.ndarray) -> str:
    return base64.b64encode(png_bytes(image)).decode("ascii")
