"""Output paths checked before any work: the right kind, not an input, and never replacing what the user made.

One rule and one wording on every command: an output that exists is replaced only with ``--force``; an output folder
that holds files the command did not write is never replaced; an output equal to one of the inputs is refused.
These run before the first model is loaded or image read, so a mistake costs nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from posestylizer.errors import UserError


class OutputError(UserError):
    """An output path that would lose data or cannot be written."""


def _writable_parent(path: Path, option: str) -> None:
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{path}: {parent} is a file, not a folder ({option}); choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write in {parent} (permission denied) ({option}); choose another path")


def check_not_an_input(out: str | Path, inputs: Iterable[str | Path | None], option: str) -> None:
    """Refuse an output that resolves to one of ``inputs`` (``generate --out photo.jpg --source photo.jpg``)."""
    target = Path(out).resolve()
    for item in inputs:
        if item is not None and Path(item).resolve() == target:
            raise OutputError(f"{out}: is also an input ({option} would overwrite it); choose another output path")


def check_output_file(path: str | Path, *, force: bool, option: str) -> Path:
    """A file output: not a folder, in a writable folder, and absent unless ``force``."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; {option} takes a file path")
    _writable_parent(path, option)
    if path.exists() and not force:
        raise OutputError(f"{path}: exists; pass --force to replace it ({option})")
    return path


def check_folder_path(path: str | Path, option: str) -> Path:
    """A folder the command fills itself (a run folder, an evaluation folder): not a file, in a writable folder.
    What it may hold already is the command's own rule (a run folder is resumed or refused)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: is a file; {option} takes a folder (choose a new folder name)")
    _writable_parent(path, option)
    return path


def check_output_dir(
    path: str | Path, *, force: bool, option: str, ours: Callable[[Path], bool] | None = None
) -> Path:
    """A folder output: not a file, in a writable folder; a non-empty folder is replaced only when ``ours(path)``
    says the command made it (a checkpoint folder for ``convert``) and ``force`` is given; ``ours=None``: a
    non-empty folder is refused outright."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: is a file; {option} takes a folder (choose a new folder name)")
    _writable_parent(path, option)
    if path.is_dir() and any(path.iterdir()):
        if ours is None or not ours(path):
            raise OutputError(
                f"{path}: is a folder with other files in it; {option} never replaces a folder it did not write "
                "(choose a new or empty folder)"
            )
        if not force:
            raise OutputError(f"{path}: exists; pass --force to replace it ({option})")
    return path
