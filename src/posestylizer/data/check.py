"""Dataset validation: every problem of a PATN-layout dataset, each with its file and line.

``posestylizer data check ROOT`` prints the report (exit 0 when clean, 2 otherwise); :class:`PairDataset` runs the
same checks before training or evaluation starts and refuses a broken dataset with the report.

Checked: annotation and pair CSV syntax (header, ``:``/``,`` fields, JSON lists of 18 integers, NaN, duplicates);
keypoints inside the image; every annotated image present, readable, fully decodable (truncation) and of the layout's
size; every pair name annotated; no person id in both train and test.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from posestylizer.data.formats import (
    AnnotationRow,
    Problem,
    parse_annotations,
    parse_pairs,
    raise_problems,
    validate_keypoints,
)
from posestylizer.data.layouts import PHASES, Layout, get_layout
from posestylizer.runtime.imagefiles import displayed_size
from posestylizer.runtime.progress import QUIET, Progress


@dataclass
class CheckReport:
    """Outcome of :func:`check_dataset`: the problems found and what was counted."""

    root: Path
    layout: Layout
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 2

    def summary(self) -> str:
        counted = ", ".join(f"{v} {k}" for k, v in self.counts.items())
        counted = f" ({counted})" if counted else ""
        h, w = self.layout.image_size
        head = f"{self.root} (layout {self.layout.name}, {h}x{w})"
        return f"{head}: OK{counted}" if self.ok else f"{head}: {len(self.problems)} problem(s){counted}"

    def __str__(self) -> str:
        return "\n".join([*(str(p) for p in self.problems), self.summary()])

    def raise_if_failed(self) -> None:
        """Raise DataError (one line: the count and the first problem) when the dataset is not clean."""
        raise_problems(self.problems, f"dataset {self.root} is not usable", self.root)


def image_problem(path: Path, size: tuple[int, int] | None, decode: bool = True) -> str:
    """Empty string when ``path`` is a readable image of ``size`` (H, W), else what is wrong with it."""
    try:
        with Image.open(path) as img:
            h, w = displayed_size(img)
            if size is not None and (h, w) != tuple(size):
                return f"image is {h}x{w}, the layout expects {size[0]}x{size[1]} (H x W)"
            if decode:
                img.load()  # a truncated file fails only when its pixels are decoded
    except FileNotFoundError:
        return "image not found"
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        return f"unreadable or truncated image ({err}); replace the file"
    return ""


def _check_images(
    rows: list[AnnotationRow],
    image_dir: Path,
    layout: Layout,
    annotation: Path,
    decode: bool,
    progress: Progress,
    desc: str,
) -> list[Problem]:
    paths = [image_dir / r.name for r in rows]
    size = tuple(layout.image_size)
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:  # PIL decodes without the GIL
        results = pool.map(lambda p: image_problem(p, size, decode), paths, chunksize=64)
        messages = list(progress(results, desc, total=len(paths), unit="image"))
    return [
        Problem(annotation, r.line, f"{r.name}: {msg} ({p})", subject=r.name)
        for r, p, msg in zip(rows, paths, messages)
        if msg
    ]


def check_dataset(
    root: str | Path,
    layout: str | Layout = "market",
    *,
    phases: tuple[str, ...] = PHASES,
    decode: bool = True,
    progress: Progress = QUIET,
) -> CheckReport:
    """Validate the ``phases`` of a PATN-layout dataset and return every problem found.

    Args:
        root: dataset folder.
        layout: file-name preset or :class:`Layout` (its image size is the size every image must have).
        phases: which phases to check; the train/test identity overlap is checked whenever both annotation
            files exist.
        decode: decode every image fully (finds truncated files; otherwise only headers are read).
        progress: the progress bars of the command (one while images are checked).
    """
    root = Path(root)
    layout = get_layout(layout)
    report = CheckReport(root, layout)
    if not root.is_dir():
        report.problems.append(Problem(root, None, "dataset folder not found"))
        return report
    annotations: dict[str, list[AnnotationRow]] = {}
    for phase in PHASES:
        path = layout.annotation_path(root, phase)
        if phase in phases or path.exists():  # a phase not checked is still read for the identity check
            rows, problems = parse_annotations(path)
            annotations[phase] = rows
            if phase in phases:
                report.problems += problems
                _check_phase(report, phase, rows, problems, decode, progress)
    if len(annotations) == len(PHASES):
        _check_identities(report, annotations["train"], annotations["test"])
    return report


def _check_phase(
    report: CheckReport,
    phase: str,
    rows: list[AnnotationRow],
    row_problems: list[Problem],
    decode: bool,
    progress: Progress,
) -> None:
    """Keypoint ranges, images and the pair list of one phase whose annotation rows have been parsed."""
    root, layout = report.root, report.layout
    path = layout.annotation_path(root, phase)
    for row in rows:
        msg = validate_keypoints(row.keypoints, layout.image_size)
        if msg:
            report.problems.append(Problem(path, row.line, f"{row.name}: {msg}", subject=row.name))
    image_dir = layout.image_dir(root, phase)
    if rows and not image_dir.is_dir():
        report.problems.append(Problem(image_dir, None, f"image folder of the {phase} phase not found"))
    elif rows:
        report.problems += _check_images(rows, image_dir, layout, path, decode, progress, f"check {phase}")
    report.counts[f"{phase} images"] = len(rows)

    pairs_path = layout.pairs_path(root, phase, search_parent=True)
    pairs, problems = parse_pairs(pairs_path)
    report.problems += problems
    if not pairs and not problems:
        report.problems.append(
            Problem(pairs_path, None, "no pairs; make them with `posestylizer data pairs ROOT`")
        )
    report.counts[f"{phase} pairs"] = len(pairs)
    if not path.exists():
        return  # without annotations every pair name would be reported
    # names of malformed rows count as annotated: their pairs are not reported a second time
    known = {r.name for r in rows} | {p.subject for p in row_problems if p.subject}
    for src, tgt, line in pairs:
        missing = [n for n in (src, tgt) if n not in known]
        if missing:
            what = f"{' and '.join(missing)} not in {path.name}; annotate it or drop the pair"
            report.problems.append(Problem(pairs_path, line, what))


def _check_identities(report: CheckReport, train: list[AnnotationRow], test: list[AnnotationRow]) -> None:
    """One problem per person id found in both splits (junk ids such as Market's 0000 and -1 aside)."""
    layout = report.layout
    train_ids: dict[str, AnnotationRow] = {}
    for row in train:
        if not layout.is_junk(row.name):
            train_ids.setdefault(layout.identity(row.name), row)
    train_name = layout.annotation_path(report.root, "train").name
    test_path = layout.annotation_path(report.root, "test")
    reported: set[str] = set()
    for row in test:
        pid = layout.identity(row.name)
        if pid in train_ids and pid not in reported and not layout.is_junk(row.name):
            reported.add(pid)
            what = (
                f"person '{pid}' is also in the train set ({train_name}:{train_ids[pid].line}); "
                "train and test must not share people"
            )
            report.problems.append(Problem(test_path, row.line, what, subject=row.name))
