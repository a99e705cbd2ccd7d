"""The one progress-bar convention of the commands: tqdm on stderr with rate and ETA.

Bars are off with ``--quiet`` (``Progress(False)``) and off when stderr is not a terminal, so logs, pipes and CI stay
clean. Library functions take a ``Progress`` (default :data:`QUIET`) and wrap their long loops in it::

    progress = Progress(not args.quiet)
    for path in progress(files, "reading images", unit="image"):
        ...
    bar = progress.bar("evaluate", total=len(pairs), unit="pair")  # for loops that advance by batches
    bar.update(16)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")


class Progress:
    """Makes the progress bars of one command.

    Args:
        enabled: ``False`` (the command's ``--quiet``) turns every bar off; ``True`` shows bars when stderr is a
            terminal.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def __call__(self, iterable: Iterable[T], desc: str = "", *, total: int | None = None,
                 unit: str = "it") -> Iterable[T]:  # fmt: skip
        """``iterable`` itself when off, else wrapped in a bar that disappears when the loop ends."""
        if not self.enabled:
            return iterable
        return self.bar(desc, total=total, unit=unit, iterable=iterable)

    def bar(self, desc: str = "", *, total: float | None = None, unit: str = "it", iterable: Iterable | None = None,
            **options: Any):  # fmt: skip
        """A ``tqdm`` bar (a silent one when off): call ``update(n)`` and ``close()``, or iterate over it.

        ``options`` go to tqdm (e.g. ``bar_format``, ``leave=True`` to keep the finished bar on screen).
        """
        from tqdm import tqdm

        settings = {"leave": False, **options}
        # disable=None: tqdm turns itself off when stderr is not a terminal.
        return tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr, dynamic_ncols=True,
                    disable=None if self.enabled else True, **settings)  # fmt: skip


QUIET = Progress(False)
