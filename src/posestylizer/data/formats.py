"""Reading and writing the PATN CSV files with errors that name the file and line (reference §1.2, §1.3).

Annotation CSV, ``:``-separated, keypoint cells are JSON lists of 18 integers in (y, x) order, -1 = missing::

    name:keypoints_y:keypoints_x
    0002_c1s1_000451_03.jpg: [14, 26, ...]: [32, 32, ...]

Pair CSV, ``,``-separated, columns ``from`` (source) and ``to`` (target); an unnamed leading index column, as pandas
writes by default, is tolerated.

``parse_*`` collect every problem and keep the good rows (for ``data check``); ``read_*`` raise one
:class:`~posestylizer.errors.DataError` listing the problems.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posestylizer.errors import DataError
from posestylizer.keypoints.maps import MISSING, NUM_KEYPOINTS
from posestylizer.runtime.files import write_text_atomic
from posestylizer.runtime.imagefiles import name_problem

ANNOTATION_HEADER = ("name", "keypoints_y", "keypoints_x")
MAX_COORD = 1_000_000  # largest keypoint coordinate read (beyond it, int64 arithmetic on pixels could overflow)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dataset: where (file, 1-based line or None for the whole file) and what."""

    path: Path
    line: int | None
    message: str
    subject: str = ""  # the image name the problem is about, when there is one

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class AnnotationRow:
    name: str
    keypoints: np.ndarray  # (18, 2) int64, (y, x), -1 = missing
    line: int


def raise_problems(problems: list[Problem], what: str, root: str | Path = "ROOT") -> None:
    """Raise one DataError, one line: how many problems, the first, and the command that lists them all (no-op when
    there are none). ``root``: the dataset folder named in that command."""
    if not problems:
        return
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    raise DataError(f"{what}: {len(problems)} problem(s); first: {problems[0]}{more}; "
                    f"`posestylizer data check {root}` lists them all")


def _parse_coords(cell: str, axis: str) -> tuple[list | None, str]:
    """The JSON list of one keypoint cell, or None and what is wrong with it."""
    try:
        values = json.loads(cell)
    except json.JSONDecodeError as err:
        return None, f"keypoints_{axis} is not a JSON list ({err.msg})"
    if not isinstance(values, list):
        return (
            None,
            f"keypoints_{axis}: expected a JSON list of {NUM_KEYPOINTS} integers, got {type(values).__name__}",
        )
    if len(values) != NUM_KEYPOINTS:
        return (
            None,
            f"keypoints_{axis} has {len(values)} values, expected {NUM_KEYPOINTS} (OpenPose COCO-18 order)",
        )
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None, f"keypoints_{axis}[{i}] is {v!r}, expected an integer pixel (-1 = missing)"
        if not math.isfinite(v):
            return None, f"keypoints_{axis}[{i}] is {v}; mark a missing keypoint with -1 in both y and x"
        if v != int(v):
            return None, f"keypoints_{axis}[{i}] is {v}, expected an integer pixel; round the coordinates"
        if abs(v) > MAX_COORD:
            return None, f"keypoints_{axis}[{i}] is {v:.6g}, not a pixel of any image (at most {MAX_COORD})"
    return values, ""


def parse_annotations(path: str | Path) -> tuple[list[AnnotationRow], list[Problem]]:
    """Read an annotation CSV, keeping the well-formed rows and a Problem for every malformed one."""
    path = Path(path)
    problems: list[Problem] = []
    rows: list[AnnotationRow] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return rows, [Problem(path, None, "annotation file not found; check the dataset root and --layout")]
    except (OSError, UnicodeDecodeError) as err:
        return rows, [Problem(path, None, f"cannot read annotation file ({err})")]
    start = 1
    if not lines or tuple(c.strip() for c in lines[0].split(":")) != ANNOTATION_HEADER:
        got = lines[0][:60] if lines else "an empty file"
        problems.append(Problem(path, 1, f"header must be 'name:keypoints_y:keypoints_x', got {got!r}"))
        if lines and lines[0].split(":")[0].strip() != "name":
            start = 0  # no header at all: the first line is data, check it too
    seen: dict[str, int] = {}
    for number, text in enumerate(lines[start:], start=start + 1):
        if not text.strip():
            continue
        fields = text.split(":")
        if len(fields) != 3:
            problems.append(
                Problem(
                    path, number, f"row has {len(fields)} ':'-separated fields, expected 3 (name:[ys]:[xs])"
                )
            )
            continue
        name = fields[0].strip()
        if not name or name_problem(name):
            problems.append(Problem(path, number, name_problem(name) or "empty image name"))
            continue
        coords = []
        for cell, axis in ((fields[1], "y"), (fields[2], "x")):
            values, err = _parse_coords(cell, axis)
            if err:
                problems.append(Problem(path, number, f"{name}: {err}", subject=name))
                break
            coords.append(values)
        if len(coords) != 2:
            continue
        if name in seen:
            problems.append(
                Problem(
                    path,
                    number,
                    f"{name}: duplicate of line {seen[name]}; keep one row per image",
                    subject=name,
                )
            )
            continue
        seen[name] = number
        rows.append(AnnotationRow(name, np.asarray(coords, dtype=np.int64).T.copy(), number))
    return rows, problems


def read_annotations(path: str | Path) -> dict[str, np.ndarray]:
    """Annotation CSV as {image name: (18, 2) int64 (y, x) keypoints}; DataError naming file:line if malformed."""
    rows, problems = parse_annotations(path)
    raise_problems(problems, f"{path}")
    return {r.name: r.keypoints for r in rows}


def format_annotation_row(name: str, keypoints: np.ndarray) -> str:
    kp = np.asarray(keypoints).astype(np.int64)
    return f"{name}: {json.dumps(kp[:, 0].tolist())}: {json.dumps(kp[:, 1].tolist())}"


def write_annotations(
    path: str | Path, annotations: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]]
) -> None:
    """Write an annotation CSV in the layout compute_coordinates emits (``name: [ys]: [xs]``)."""
    items = annotations.items() if isinstance(annotations, Mapping) else annotations
    lines = [":".join(ANNOTATION_HEADER)] + [format_annotation_row(n, kp) for n, kp in items]
    write_text_atomic(path, "\n".join(lines) + "\n")


def validate_keypoints(keypoints: np.ndarray, size: tuple[int, int]) -> str:
    """Empty string when every present keypoint lies inside an image of ``size`` = (H, W), else what is wrong."""
    kp = np.asarray(keypoints)
    h, w = size
    bad = []
    for i, (y, x) in enumerate(kp.tolist()):
        if y == MISSING or x == MISSING:
            continue
        if not (0 <= y < h and 0 <= x < w):
            bad.append(f"{i}=({y}, {x})")
    if not bad:
        return ""
    return (
        f"keypoint(s) outside the {h}x{w} image: {', '.join(bad)} (y, x); "
        "mark keypoints that are not visible with -1 in both y and x"
    )


def parse_pairs(path: str | Path) -> tuple[list[tuple[str, str, int]], list[Problem]]:
    """Read a pair CSV as (from, to, line) triples plus a Problem for every malformed row."""
    path = Path(path)
    pairs: list[tuple[str, str, int]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return pairs, [
            Problem(path, None, "pair file not found; make one with `posestylizer data pairs ROOT`")
        ]
    except (OSError, UnicodeDecodeError) as err:
        return pairs, [Problem(path, None, f"cannot read pair file ({err})")]
    rows = list(csv.reader(text.splitlines()))
    header = [c.strip() for c in rows[0]] if rows else []
    if "from" not in header or "to" not in header:
        return pairs, [
            Problem(path, 1, f"header must name the columns 'from' and 'to', got {','.join(header)!r}")
        ]
    i_from, i_to = header.index("from"), header.index("to")
    problems: list[Problem] = []
    for number, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != len(header):
            problems.append(
                Problem(
                    path, number, f"row has {len(row)} fields, expected {len(header)} ({','.join(header)})"
                )
            )
            continue
        src, tgt = row[i_from].strip(), row[i_to].strip()
        if not src or not tgt or name_problem(src) or name_problem(tgt):
            problems.append(Problem(path, number, name_problem(src) or name_problem(tgt) or "empty image name"))
            continue
        pairs.append((src, tgt, number))
    return pairs, problems


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """Pair CSV as a list of (from, to) names; DataError naming file:line if malformed."""
    pairs, problems = parse_pairs(path)
    raise_problems(problems, f"{path}")
    return [(a, b) for a, b, _ in pairs]


def write_pairs(path: str | Path, pairs: Iterable[tuple[str, str]]) -> None:
    lines = ["from,to"] + [f"{a},{b}" for a, b in pairs]
    write_text_atomic(path, "\n".join(lines) + "\n")
