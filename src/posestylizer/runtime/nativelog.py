"""Third-party native log lines (MediaPipe's glog/absl, TFLite) kept off the terminal unless ``--verbose``.

MediaPipe's C++ code writes ``W0000 ...``/``I0000 ...`` and ``INFO: Created TensorFlow Lite XNNPACK delegate`` lines
straight to file descriptor 2, before absl's logging is initialised and from the graph's own threads after a call
has returned, so neither Python's logging, absl's verbosity nor ``GLOG_minloglevel`` reaches them. The only switch
is the file descriptor itself: :func:`filtered_native_stderr` points fd 2 at a pipe for the whole command, and a
thread copies every line that is not such noise to the real stderr, in order; real errors still show. ``--verbose``
on any command (``POSESTYLIZER_VERBOSE=1`` in the environment, which worker processes inherit) lets everything
through.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

VERBOSE_ENV = "POSESTYLIZER_VERBOSE"
# glog/absl lines (severity letter, MMDD or 0000, a time or a thread id), TFLite's INFO lines, absl's pre-init notice.
NOISE = re.compile(rb"^([IW]\d{4} [\d:.]+ |INFO: |WARNING: All log messages before absl::InitializeLog)")


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def set_verbose(on: bool) -> None:
    """The ``--verbose`` switch, for this process and the workers it starts."""
    if on:
        os.environ[VERBOSE_ENV] = "1"


def _pump(read_fd: int, out_fd: int) -> None:
    """Copy lines from ``read_fd`` to ``out_fd`` until EOF, dropping noise; a partial line ending in a carriage
    return (a progress bar redrawing itself) is passed on at once."""
    pending = b""
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            out = b"".join(line + b"\n" for line in lines if not NOISE.match(line))
            if b"\r" in pending and not NOISE.match(pending):
                cut = pending.rindex(b"\r") + 1
                out, pending = out + pending[:cut], pending[cut:]
            if out:
                os.write(out_fd, out)
    if pending and not NOISE.match(pending):
        os.write(out_fd, pending)


@contextlib.contextmanager
def filtered_native_stderr() -> Iterator[None]:
    """Within the block (and for writes from threads the block started), file descriptor 2 is filtered as the
    module docstring says; on exit everything written so far has reached the real stderr."""
    if verbose():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    pump = threading.Thread(target=_pump, args=(read_fd, saved), name="stderr-filter", daemon=True)
    pump.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes our last handle on the pipe's write end: the pump reads to EOF
        pump.join(timeout=5)  # longer only if a child process still holds the pipe
        os.close(saved)
