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


def test_progress_means_one_thing_everywhere():
    """Every ``progress`` parameter or option of the package is a ``Progress`` (never a bool or a bare callable)."""
    import ast
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src" / "posestylizer"
    wrong = []
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            args = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                args = [ast.arg(arg=node.target.id, annotation=node.annotation, lineno=node.lineno)]
            for a in args:
                if a.arg == "progress" and not (isinstance(a.annotation, ast.Name) and a.annotation.id == "Progress"):
                    wrong.append(f"{path.relative_to(src)}:{getattr(a, 'lineno', node.lineno)}")
    assert not wrong, wrong
