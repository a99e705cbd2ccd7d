"""The code a benchmark side runs: this tree's ``src/``, or an older commit's ``src/`` unpacked into a folder.

An older commit gets today's ``posestylizer/bench`` package copied over its own, so both sides are measured by the
same harness while each runs its own models, loop and loader.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, replace
from pathlib import Path

from posestylizer.errors import UserError

BENCH_PACKAGE = Path(__file__).resolve().parent
SRC = BENCH_PACKAGE.parent.parent  # the folder that holds this posestylizer package


class RevisionError(UserError):
    """The --compare revision cannot be resolved or unpacked."""


@dataclass(frozen=True)
class CodeSide:
    """One side of a measurement: a label, the folder to put first on PYTHONPATH, the commit it came from (with a
    dirty flag), config overrides added to the run's, and its own thread count (None = the run's)."""

    label: str
    src: Path
    commit: str
    overrides: tuple[str, ...] = ()
    threads: int | None = None


def _git(repo: Path, *args: str, binary: bool = False) -> str | bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, check=True, text=not binary
        )
    except FileNotFoundError:
        raise RevisionError("--compare needs git on PATH") from None
    except subprocess.CalledProcessError as err:
        msg = err.stderr if isinstance(err.stderr, str) else err.stderr.decode(errors="replace")
        raise RevisionError(
            f"git {' '.join(args[:2])}: {msg.strip().splitlines()[-1] if msg.strip() else err}"
        ) from None
    return done.stdout


def repository_root() -> Path:
    """The git checkout this package is imported from (RevisionError when it is not in one)."""
    root = SRC.parent
    if not (root / ".git").exists():
        raise RevisionError(
            f"{root}: not a git checkout, so --compare has no history to take a revision from"
        )
    return root


def this_side() -> CodeSide:
    """The running code; its commit is ``git describe``-like: hash plus ``+dirty`` when src/ has local changes."""
    root = SRC.parent
    commit = "unknown (not a git checkout)"
    if (root / ".git").exists():
        commit = str(_git(root, "rev-parse", "--short=12", "HEAD")).strip()
        if str(_git(root, "status", "--porcelain", "--", "src")).strip():
            commit += "+dirty"
    return CodeSide("this", SRC, commit)


def baseline_side(side: CodeSide, overrides: list[str], threads: int | None) -> CodeSide:
    """``side`` with extra config overrides and/or its own thread count (the settings half of an A/B run)."""
    return replace(side, label="baseline" if side.label == "this" else side.label, overrides=tuple(overrides),
                   threads=threads)  # fmt: skip


def revision_side(rev: str, dest: Path) -> CodeSide:
    """Unpack ``rev``'s ``src/`` into ``dest`` with today's bench package over it."""
    root = repository_root()
    try:
        commit = str(_git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")).strip()
    except RevisionError:
        raise RevisionError(f"--compare {rev}: no such commit in {root}") from None
    archive = _git(root, "archive", "--format=tar", commit, "src", binary=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    package = dest / "src" / "posestylizer"
    if not package.is_dir():
        raise RevisionError(f"--compare {rev}: commit {commit[:12]} has no src/posestylizer")
    shutil.rmtree(package / "bench", ignore_errors=True)
    shutil.copytree(BENCH_PACKAGE, package / "bench", ignore=shutil.ignore_patterns("__pycache__"))
    return CodeSide(rev, dest / "src", commit[:12])
