"""``data prepare``: the PATN layout from the official Market-1501 / DeepFashion In-shop downloads.

Steps: list the raw images and their phase (:mod:`~posestylizer.data.prepare_sources`); per image, read, check, crop
and find its pose (:mod:`~posestylizer.data.prepare_work`, in parallel); drop identities with a single usable image;
write the annotation CSVs and the pair lists by the reference rules (§1.3) and a report of what was dropped and why.

Resumable: every finished image is journalled in ``OUT/.prepare/journal.jsonl``; a second run with the same options
skips those images. Every output file is renamed into place when complete.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from posestylizer.data.formats import write_annotations, write_pairs
from posestylizer.data.layouts import PHASES, Layout, get_layout
from posestylizer.data.pairs import make_pairs
from posestylizer.data.prepare_keypoints import FRAMES, FileKeypoints, Frame
from posestylizer.data.prepare_report import PrepareReport
from posestylizer.data.prepare_sources import RawImage, fashion_images, market_images, split_from_lists
from posestylizer.data.prepare_work import Outcome, Task, init_worker, output_path, prepare_image
from posestylizer.errors import DataError
from posestylizer.runtime.files import atomic_path
from posestylizer.runtime.progress import QUIET, Progress

KINDS = {"market1501": "market", "deepfashion": "fashion"}  # dataset -> layout preset
JOURNAL = Path(".prepare") / "journal.jsonl"
TEST_PAIRS = {"market1501": 12000, "deepfashion": None}  # the authors' Market test list samples 12,000 (§1.3)


class Journal:
    """Outcomes of finished images, one JSON line each, after a first line with the run's settings."""

    def __init__(self, out: Path, settings: dict) -> None:
        self.path = out / JOURNAL
        self.done: dict[tuple[str, str], Outcome] = {}
        lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []
        first = json.loads(lines[0]) if lines else {}
        for line in lines[1:]:
            try:
                o = Outcome(**json.loads(line))
            except (json.JSONDecodeError, TypeError):
                continue  # the line being written when the last run was stopped
            self.done[(o.phase, o.name)] = o
        if self.done and first.get("settings") != settings:
            raise DataError(
                f"{out}: prepared with other options ({first.get('settings')}); use the same options to "
                "resume, or a new folder"
            )
        if self.done:
            self._fh = self.path.open("a", encoding="utf-8")
        else:  # nothing finished (a run that failed on its options or first image): start over with these options
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8")
            self._write({"settings": settings})

    def _write(self, obj: dict) -> None:
        self._fh.write(json.dumps(obj) + "\n")
        self._fh.flush()

    def add(self, outcome: Outcome) -> None:
        self.done[(outcome.phase, outcome.name)] = outcome
        self._write(outcome.to_json())

    def close(self) -> None:
        self._fh.close()


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: is a file; the prepared dataset goes in a folder (choose a new folder name)")
    if out.exists() and any(out.iterdir()) and not (out / JOURNAL).exists():
        raise DataError(f"{out}: folder exists and was not made by data prepare; choose a new or empty folder")


def _finished(journal: Journal, out: Path, phase: str, name: str) -> bool:
    o = journal.done.get((phase, name))
    return o is not None and (o.drop is not None or output_path(out, phase, name).exists())


def _context():
    """fork on Linux when it is safe: workers inherit the imported package instead of importing torch again (seconds
    each). It is not safe once this process has run MediaPipe or started threads (a Python session that estimated
    poses before, a test run): a forked child inherits their locks and heap mid-use and crashes (``malloc():
    unaligned tcache chunk detected``); then, and off Linux, workers start from a clean interpreter (forkserver/spawn).
    """
    import threading

    if sys.platform == "linux":
        clean = "mediapipe" not in sys.modules and threading.active_count() == 1
        return get_context("fork" if clean else "forkserver")
    return get_context("spawn")


def _run(tasks: list[Task], workers: int, estimator: tuple | None, journal: Journal, progress: Progress) -> None:
    """Prepare every task, ``workers`` at a time, journalling each outcome as it arrives."""
    def bar(it: Iterable) -> Iterable:
        return progress(it, "prepare", total=len(tasks), unit="image")

    if workers <= 1 or len(tasks) < 2:
        init_worker(*(estimator or (None, {})))
        for outcome in bar(map(prepare_image, tasks)):
            journal.add(outcome)
        return
    if estimator is None:  # reading, cropping and writing: PIL releases the GIL, threads suffice
        pool = ThreadPoolExecutor(workers)
    else:  # each worker process builds its own estimator
        pool = ProcessPoolExecutor(workers, mp_context=_context(), initializer=init_worker, initargs=estimator)
    with pool:
        for outcome in bar(pool.map(prepare_image, tasks, chunksize=16)):
            journal.add(outcome)


def _decide(layout: Layout, outcomes: list[Outcome]) -> list[Outcome]:
    """Outcomes with the usable images of single-image identities dropped (no pair can be made with them).

    Images an earlier run dropped as single are usable candidates again: their identity may have gained an image.
    """
    outcomes = [Outcome(o.phase, o.name, o.keypoints) if o.drop == "single" else o for o in outcomes]

    def person(o: Outcome) -> tuple[str, str]:
        return o.phase, layout.identity(o.name)

    count = Counter(person(o) for o in outcomes if o.drop is None)
    return [
        Outcome(o.phase, o.name, o.keypoints, "single") if o.drop is None and count[person(o)] < 2 else o
        for o in outcomes
    ]


def _write_outputs(out: Path, layout: Layout, outcomes: list[Outcome], test_pairs: int | None, seed: int) -> dict:
    """Annotation CSVs and pair lists of the kept images; stale files of dropped images removed. Pairs per phase."""
    pairs_per_phase = {}
    for o in outcomes:
        if o.drop is not None:
            output_path(out, o.phase, o.name).unlink(missing_ok=True)
    for phase in PHASES:
        rows = {o.name: np.asarray(o.keypoints) for o in outcomes if o.phase == phase and o.drop is None}
        write_annotations(layout.annotation_path(out, phase), rows)  # atomic
        pairs = make_pairs(rows, layout, max_pairs=test_pairs if phase == "test" else None, seed=seed)
        with atomic_path(layout.pairs_path(out, phase)) as tmp:
            write_pairs(tmp, pairs)
        pairs_per_phase[phase] = len(pairs)
    return pairs_per_phase


@dataclass(frozen=True)
class _Job:
    """Everything a run needs to prepare images (see :func:`prepare_dataset`)."""

    out: Path
    root: Path
    frame: Frame
    keypoints: Path | None
    keypoint_format: str | None
    estimator: tuple[str, dict] | None
    workers: int
    progress: Progress
    log: Callable[[str], None]


def _process(job: _Job, journal: Journal, items: list[RawImage], all_rel: list[str]) -> int:
    """Prepare the images of ``items`` no earlier run finished; returns how many were processed."""
    todo = [it for it in items if not _finished(journal, job.out, it.phase, it.name)]
    if not todo:
        return 0
    file_kp = FileKeypoints(job.keypoints, job.frame, all_rel, job.keypoint_format) if job.keypoints else None
    tasks = [Task(it, str(job.root), str(job.out), job.frame, file_kp.lookup(it.rel, it.name) if file_kp is not None
                  else "estimate") for it in todo]  # fmt: skip
    source = f"keypoints from {job.keypoints}" if job.keypoints else f"estimator {job.estimator[0]}"
    job.log(f"{len(todo)} image(s) to prepare from {job.root} ({source}), {job.workers} worker(s)")
    _run(tasks, job.workers, job.estimator, journal, job.progress)
    return len(todo)


def _settle(job: _Job, journal: Journal, layout: Layout, items: list[RawImage]) -> tuple[list[Outcome], int]:
    """Final outcomes of ``items`` (identities decided), and the images that had to be prepared again for it."""
    all_rel = [it.rel for it in items]
    decided = _decide(layout, [journal.done[(it.phase, it.name)] for it in items])
    revived = [it for it, o in zip(items, decided) if o.drop is None
               and not output_path(job.out, it.phase, it.name).exists()]  # fmt: skip
    for it in revived:  # dropped as single by an earlier run, paired now: its file was removed
        journal.done.pop((it.phase, it.name))
    processed = _process(job, journal, revived, all_rel) if revived else 0
    if revived:
        decided = _decide(layout, [journal.done[(it.phase, it.name)] for it in items])
    for o in decided:
        if o.drop == "single" and journal.done[(o.phase, o.name)].drop != "single":
            journal.add(o)
    return decided, processed


def prepare_dataset(
    kind: str, raw: str | Path, out: str | Path, *, keypoints: str | Path | None = None,
    keypoint_format: str | None = None, estimator: str = "mediapipe", estimator_options: dict | None = None,
    split_from: tuple[str | Path, str | Path] | None = None, workers: int | None = None,
    test_pairs: int | None | str = "default", seed: int = 0, progress: Progress = QUIET, log: Callable[[str], None] = print,
) -> PrepareReport:
    """Prepare ``raw`` (an unpacked official download of ``kind``) into ``out`` in the PATN layout.

    Args:
        kind: ``market1501`` or ``deepfashion``.
        keypoints: a keypoint file or folder (any format of :mod:`posestylizer.keypoints`) instead of the estimator.
        estimator: pose estimator backend when ``keypoints`` is None; ``estimator_options`` its options.
        split_from: (train CSV, test CSV): take each image's phase from the annotation CSV that names it (the
            authors' split) instead of the official one; images in neither are dropped.
        workers: parallel workers (default: the CPU count, at most 8).
        test_pairs: test pairs sampled with ``seed`` (None = all; default: Market 12,000, DeepFashion all).
    """
    if kind not in KINDS:
        raise DataError(f"unknown dataset {kind!r}: choose one of {', '.join(KINDS)}")
    start = time.perf_counter()
    out, layout = Path(out), get_layout(KINDS[kind])
    _check_out(out)
    if not Path(raw).is_dir():
        raise DataError(f"{raw}: not a folder; give the unpacked {kind} download")
    if kind == "market1501":
        root, items, junk = market_images(raw)
    else:
        (root, items), junk = fashion_images(raw), []
    unlisted = []
    if split_from:
        items, unlisted = split_from_lists(items, *split_from)
    keypoints = Path(keypoints).resolve() if keypoints else None
    job = _Job(out, root, FRAMES[kind], keypoints, keypoint_format,
               None if keypoints else (estimator, estimator_options or {}),
               max(1, workers or min(8, os.cpu_count() or 1)), progress, log)  # fmt: skip
    settings = {"dataset": kind, "raw": str(root.resolve()), "keypoints": str(keypoints or f"estimator {estimator}"),
                "split": [str(Path(p).resolve()) for p in split_from] if split_from else "official"}
    journal = Journal(out, settings)
    try:
        processed = _process(job, journal, items, [it.rel for it in items])
        decided, again = _settle(job, journal, layout, items)
    finally:
        journal.close()
    outcomes = [Outcome(it.phase, it.name, drop="distractor", detail=it.rel) for it in junk]
    outcomes += [Outcome(it.phase, it.name, drop="unlisted", detail=it.rel) for it in unlisted] + decided
    pairs = test_pairs if test_pairs != "default" else TEST_PAIRS[kind]
    n_pairs = _write_outputs(out, layout, outcomes, pairs, seed)
    report = PrepareReport(kind, out, layout.name, outcomes, n_pairs, processed + again, time.perf_counter() - start)
    with atomic_path(out / "prepare-report.txt") as tmp:
        tmp.write_text(str(report) + "\n", encoding="utf-8")
    return report
