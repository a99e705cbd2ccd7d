"""The PATN annotation CSV (reference §1.2): the one place where keypoints meet the integers the files hold.

``:``-separated, keypoint cells are JSON lists of 18 integers in (y, x) order, -1 = missing::

    name:keypoints_y:keypoints_x
    0002_c1s1_000451_03.jpg: [14, 26, ...]: [32, 32, ...]

Reading gives float32 (18, 2) poses (:data:`posestylizer.keypoints.vocab.KEYPOINT_DTYPE`); writing rounds to whole
pixels. ``parse_annotations`` collects every problem and keeps the good rows (for ``data check``);
``read_annotations`` raises one :class:`~posestylizer.errors.DataError` listing them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posestylizer.errors import DataError
from posestylizer.keypoints.vocab import KEYPOINT_DTYPE, MISSING, NUM_KEYPOINTS, present
from posestylizer.runtime.files import write_text_atomic
from posestylizer.runtime.imagefiles import name_problem

ANNOTATION_HEADER = ("name", "keypoints_y", "keypoints_x")
MAX_COORD = 1_000_000  # largest keypoint coordinate read (float32 holds every integer up to 2**24 exactly)


def from_file(values: np.ndarray) -> np.ndarray:
    """The integers of an annotation row, (18, 2) (y, x), as a float32 pose (exact: |values| <= MAX_COORD)."""
    return np.asarray(values, dtype=np.int64).astype(KEYPOINT_DTYPE)


def to_file(keypoints: np.ndarray) -> np.ndarray:
    """A pose as the int64 (18, 2) a row holds: rounded to whole pixels, -1 where missing."""
    kp = np.asarray(keypoints, dtype=np.float64)
    out = np.rint(kp).astype(np.int64)
    out[~present(kp)] = MISSING
    return out


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
    keypoints: np.ndarray  # float32 (18, 2), (y, x), -1 = missing
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
        rows.append(AnnotationRow(name, from_file(np.asarray(coords).T), number))
    return rows, problems


def read_annotations(path: str | Path) -> dict[str, np.ndarray]:
    """Annotation CSV as {image name: float32 (18, 2) (y, x) keypoints}; DataError naming file:line if malformed."""
    rows, problems = parse_annotations(path)
    raise_problems(problems, f"{path}")
    return {r.name: r.keypoints for r in rows}


def format_annotation_row(name: str, keypoints: np.ndarray) -> str:
    kp = to_file(keypoints)
    return f"{name}: {json.dumps(kp[:, 0].tolist())}: {json.dumps(kp[:, 1].tolist())}"


def write_annotations(
    path: str | Path, annotations: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]]
) -> None:
    """Write an annotation CSV in the layout compute_coordinates emits (``name: [ys]: [xs]``)."""
    items = annotations.items() if isinstance(annotations, Mapping) else annotations
    lines = [":".join(ANNOTATION_HEADER)] + [format_annotation_row(n, kp) for n, kp in items]
    write_text_atomic(path, "\n".join(lines) + "\n")
