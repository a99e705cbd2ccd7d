"""What a pickled file would import, read from its opcodes without running it.

``torch.load(weights_only=True)`` already refuses pickled code, but it says so in wording that changes between torch
releases (2.4: ``Unsupported global: GLOBAL os.system``; 2.14: ``Trying to load unsupported GLOBAL posix.system whose
module posix is blocked``), followed by advice to load with ``weights_only=False``. Whether a file holds code is a
fact of the file, so it is decided here from the pickle itself: :mod:`pickletools` lists its opcodes, and every
``GLOBAL``/``STACK_GLOBAL``/``INST`` names a callable the unpickler would import. No library answers this for both of
torch's formats on every supported torch (``torch.serialization.get_unsafe_globals_in_checkpoint`` exists from 2.5
on and reads zip archives only), hence this module.

Formats: a zip archive (``torch.save`` since 1.6) holds its pickle in ``<archive>/data.pkl``; the legacy format is a
sequence of pickles (magic number, protocol, system info, the object, storage keys) followed by raw storage bytes.
"""

from __future__ import annotations

import io
import pickletools
import re
import zipfile
from pathlib import Path

# What a tensor file needs: tensor and parameter rebuilders, storages, dtypes, sizes, devices, ordered dicts.
# A file asking for anything else would run code that is not a container of numbers.
_SAFE = re.compile(
    r"collections\.OrderedDict|torch\._utils\._rebuild_(tensor(_v[23])?|parameter(_with_state)?)|"
    r"torch\.(storage\.)?\w*Storage|torch\.(Size|device|dtype|layout|memory_format)|"
    r"torch\.(float|bfloat|half|double|int|uint|bool|complex|long|short|cfloat|cdouble)\w*|"
    r"torch\.serialization\._get_layout|(__builtin__|builtins)\.(set|frozenset|bytearray|slice|complex)|_codecs\.encode"
)
_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}


def _globals_of_one(stream: io.BytesIO) -> list[str]:
    """The ``module.name`` globals of the pickle starting at ``stream``'s position; leaves it after the STOP."""
    found: list[str] = []
    memo: dict[int, object] = {}
    recent: list[object] = []  # the values pushed last, for STACK_GLOBAL's two string operands
    for op, arg, _ in pickletools.genops(stream):
        if op.name in _STRING_OPS:
            recent.append(arg)
        elif op.name in ("GLOBAL", "INST"):
            found.append(str(arg).replace(" ", "."))
        elif op.name == "STACK_GLOBAL":
            module, name = (recent[-2:] + [None, None])[:2] if len(recent) >= 2 else (None, None)
            found.append(f"{module}.{name}" if isinstance(module, str) and isinstance(name, str) else "<computed>")
        elif op.name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[int(arg)] = recent[-1] if recent else None
            continue
        elif op.name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
            continue
        elif op.name in ("BINGET", "LONG_BINGET", "GET"):
            recent.append(memo.get(int(arg)))
        elif op.name != "PROTO" and op.name != "FRAME":
            recent.append(None)
    return found


def pickle_globals(data: bytes) -> list[str]:
    """Every global a stream of one or more pickles imports (``module.name``), in order; ``<computed>`` when a
    ``STACK_GLOBAL`` takes names that were not pushed as literal strings. Raises ValueError on bytes that are not a
    pickle (truncated or foreign); stops at the first byte after a pickle that does not start another one."""
    stream = io.BytesIO(data)
    found = _globals_of_one(stream)
    while stream.tell() < len(data) and data[stream.tell()] == 0x80:  # PROTO: another pickle follows (legacy format)
        start = stream.tell()
        try:
            found += _globals_of_one(stream)
        except ValueError:  # raw storage bytes that happen to start with 0x80
            stream.seek(start)
            break
    return found


def file_globals(path: str | Path) -> list[str]:
    """The globals that unpickling ``path`` (either ``torch.save`` format) would import. ValueError when the file is
    neither a readable zip archive of pickles nor a pickle stream."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                pickles = [n for n in archive.namelist() if n.endswith(".pkl")]
                return [g for name in pickles for g in pickle_globals(archive.read(name))]
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise ValueError(f"broken zip archive: {err}") from None
    return pickle_globals(path.read_bytes())


def code_globals(path: str | Path) -> list[str]:
    """The globals in ``path`` that are not plain tensor containers: what loading it would run. Empty for a state
    dict, a training state or any file of tensors, numbers, strings and containers."""
    return [g for g in file_globals(path) if not _SAFE.fullmatch(g)]
