"""The progress-bar convention: off with --quiet, off when stderr is not a terminal, never changes what is iterated."""

from __future__ import annotations

from posestylizer.runtime.progress import QUIET, Progress


def test_quiet_returns_the_iterable_itself():
    items = [1, 2, 3]
    assert QUIET(items, "x") is items
    bar = Progress(False).bar("x", total=3)
    bar.update(3)
    bar.close()


def test_bars_stay_silent_off_a_terminal_and_yield_everything(capsys):
    # pytest captures stderr, so it is not a terminal here: the bar must not draw.
    progress = Progress(True)
    assert list(progress(range(5), "count", unit="item")) == [0, 1, 2, 3, 4]
    bar = progress.bar("manual", total=10)
    bar.update(10)
    bar.close()
    assert capsys.readouterr().err == ""
