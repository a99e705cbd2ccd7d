"""Files written whole or not at all, and tensors read without unpickling code.

Every file the package writes for later reading (training states, checkpoint folders, configs, CSV and JSON
outputs) goes through :func:`atomic_file`, :func:`write_text_atomic` or :func:`replace_dir_atomically`: the content
is written to a temporary sibling and renamed into place, so a crash or a full disk leaves the previous file (or
none), never half of one. Every ``torch.load`` goes through :func:`read_weights_only`, which refuses pickled code
(``weights_only=True``) and turns every failure into one line naming the file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from posestylizer.errors import CheckpointError, UserError
from posestylizer.runtime.pickles import code_globals

if TYPE_CHECKING:  # torch is imported where it is used: configs and CSV writers stay light to import
    import torch


# ------------------------------------------------------------------------------------------------ atomic writes
@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; on a clean exit flush it to disk and rename it over ``path``.

    On an exception the temporary file is removed and ``path`` keeps its previous content (if any).

    Args:
        path: the final file; its folder is created when missing.
        mode: ``"wb"`` or ``"w"``.
        encoding: text encoding for ``mode="w"`` (default UTF-8).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if "b" not in mode:
        encoding = encoding or "utf-8"
    try:
        with open(tmp, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())  # the rename must never publish a file whose bytes are still in the page cache only
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary sibling path of ``path`` for writers that take a file name (PIL, imageio, CSV writers); renamed
    over ``path`` when the block succeeds, removed when it fails, so that ``path`` is never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_file`); returns ``path``."""
    with atomic_file(path, "w", encoding=encoding) as fh:
        fh.write(text)
    return Path(path)


def replace_dir_atomically(build: Callable[[Path], None], out_dir: str | Path) -> Path:
    """Call ``build(tmp_dir)`` to fill a fresh sibling folder, then swap it in for ``out_dir``; returns ``out_dir``.

    A failing ``build`` leaves ``out_dir`` as it was and no temporary folder behind.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        build(tmp)
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def user_cache_dir() -> Path:
    """Where small derived facts are cached (never inside a dataset, which may be read-only or shared):
    ``$POSESTYLIZER_CACHE``, else ``$XDG_CACHE_HOME/posestylizer``, else ``~/.cache/posestylizer``."""
    if os.environ.get("POSESTYLIZER_CACHE"):
        return Path(os.environ["POSESTYLIZER_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "posestylizer"


# ------------------------------------------------------------------------------------------------ weights-only reads
def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def read_weights_only(path: str | Path, what: str, error: type[UserError] = CheckpointError) -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)``: tensors, numbers, strings and containers only.

    Args:
        path: a file written by ``torch.save``.
        what: what the file should be, for messages (e.g. ``"training checkpoint"``).
        error: the :class:`~posestylizer.errors.UserError` subclass raised (one line naming ``path``) when the
            file is missing, a folder, holds pickled code or cannot be read.
    """
    import torch

    path = Path(path)
    if not path.exists():
        raise error(f"{path}: {what} file not found (nothing starts from scratch silently; check the path)")
    if path.is_dir():
        raise error(f"{path}: is a folder; give the {what} file")
    try:
        with warnings.catch_warnings():  # torch warns about legacy formats; the user gets our one line or nothing
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch.load raises many types on foreign bytes (IndexError on text)
        failure = err
    # Code or garbage? Decided from the pickle's own opcodes, never from torch's wording (which changes by release
    # and ends in advice to load with weights_only=False).
    try:
        code = code_globals(path)
    except (ValueError, OSError) as err:
        raise error(f"{path}: unreadable {what} file (truncated or corrupt?): {_first_line(err)}") from None
    if code:
        raise error(
            f"{path}: refused to unpickle {code[0]} from this {what} (code, not weights: only tensors and plain "
            "values are read); save the state dict alone"
        ) from None
    raise error(f"{path}: unreadable {what} file (truncated or corrupt?): {_reason(failure)}") from None


def _reason(err: BaseException) -> str:
    """The first line of torch's message that states a fact rather than advice about ``weights_only``."""
    for line in str(err).splitlines():
        line = line.strip().removeprefix("WeightsUnpickler error:").strip()
        if line and "weights_only" not in line and "Weights only load failed" not in line:
            return line
    return type(err).__name__


def read_state_dict_file(
    path: str | Path, what: str, error: type[UserError] = CheckpointError
) -> dict[str, torch.Tensor]:
    """A state dict of tensors from a ``.pth``/``.pt`` file (optionally nested under ``"state_dict"``, as many trainers
    save it) or a ``.safetensors`` file; ``error`` in one line when the file holds anything else."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        if not path.is_file():
            raise error(f"{path}: {what} file not found")
        try:
            state = load_file(str(path))
        except (SafetensorError, OSError) as err:
            raise error(f"{path}: unreadable {what} file (truncated or corrupt?): {_first_line(err)}") from None
    else:
        state = read_weights_only(path, what, error)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    import torch

    if not isinstance(state, dict) or not state or not all(torch.is_tensor(v) for v in state.values()):
        raise error(f"{path}: holds a {type(state).__name__}, not a state dict of tensors ({what})")
    return state
