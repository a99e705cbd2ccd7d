"""Which files in a folder are images (result folders, training folders, photos to estimate poses on)."""

from __future__ import annotations

from pathlib import Path

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS and path.is_file()


def image_files(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (a fixed order, unlike ``os.listdir``)."""
    return sorted(p for p in Path(folder).iterdir() if is_image_file(p))
