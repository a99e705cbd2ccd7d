"""Reading and writing the PATN CSV files with errors that name the file and line (reference §1.2, §1.3).

The annotation CSV, where keypoints meet the integers the files hold, belongs to :mod:`posestylizer.keypoints.patn`;
its readers and writers are re-exported here for the dataset code.

Pair CSV, ``,``-separated, columns ``from`` (source) and ``to`` (target); an unnamed leading index column, as pandas
writes by default, is tolerated.

``parse_*`` collect every problem and keep the good rows (for ``data check``); ``read_*`` raise one
:class:`~posestylizer.errors.DataError` listing the problems.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from posestylizer.keypoints.patn import (  # noqa: F401 (re-exported: the dataset code's one import for its CSVs)
    ANNOTATION_HEADER,
    MAX_COORD,
    AnnotationRow,
    Problem,
    format_annotation_row,
    parse_annotations,
    raise_problems,
    read_annotations,
    write_annotations,
)
from posestylizer.keypoints.vocab import MISSING
from posestylizer.runtime.files import write_text_atomic
from posestylizer.runtime.imagefiles import name_problem


def validate_keypoints(keypoints: np.ndarray, size: tuple[int, int]) -> str:
    """Empty string when every present keypoint lies inside an image of ``size`` = (H, W), else what is wrong."""
    kp = np.asarray(keypoints)
    h, w = size
    bad = []
    for i, (y, x) in enumerate(kp.tolist()):
        if y == MISSING or x == MISSING:
            continue
        if not (0 <= y < h and 0 <= x < w):
            bad.append(f"{i}=({y:g}, {x:g})")
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
