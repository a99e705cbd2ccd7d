"""Held-out curves during training (paper Fig. 7): L1 and SSIM of the eval-mode generator every K iterations.

:class:`HeldOutCurve` is a training hook (:mod:`posestylizer.training.hooks`) that evaluates a fixed small set of
held-out pairs and appends one row per evaluation to ``<run>/curve.jsonl``::

    {"step": 200, "l1": 0.1432, "ssim_paper": 0.6211}

It writes a row at step 0 (the initialised network), every ``every`` iterations and at the end of a finished run.
A resumed run first drops the rows after its checkpoint's step (written by a run killed before its next checkpoint),
so every step appears once and the curve of an interrupted and resumed run is the one of an uninterrupted run: the
evaluation runs the generator in eval mode under ``no_grad`` (no BatchNorm statistics updated, no random numbers
drawn), so it leaves the training itself unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

from posestylizer.inference.collect import collect_batches
from posestylizer.metrics.evaluate import evaluate
from posestylizer.metrics.inputs import EvalOptions
from posestylizer.runtime.files import write_text_atomic
from posestylizer.training.hooks import Hook

CURVE_FILE = "curve.jsonl"
CURVE_METRICS = ("l1", "ssim_paper")  # the registry's L1 and paper-protocol SSIM, as in the table


def read_curve(run_dir: str | Path) -> list[dict]:
    """The rows of ``<run_dir>/curve.jsonl`` in file order ([] when there is none)."""
    path = Path(run_dir) / CURVE_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class HeldOutCurve(Hook):
    """Periodic held-out L1 and SSIM (paper protocol) of the generator, to ``<run_dir>/curve.jsonl``.

    Args:
        run_dir: the run folder, or None on ranks other than the main one (they do nothing).
        dataset: held-out pairs (``PairDataset`` items: ``src_img`` etc. in [-1, 1], ``src_name``, ``tgt_name``).
        indices: the items evaluated every time (fixed for the whole run).
        every: iterations between evaluations; 0 = only at step 0 and at the end.
        batch_size: pairs per generator call.
    """

    def __init__(self, run_dir: Path | None, dataset, indices: list[int], every: int, batch_size: int = 16) -> None:
        from torch.utils.data import default_collate

        self.run_dir, self.every = run_dir, every
        self.batches: list[dict] = []
        if run_dir is not None:  # the items are read once: every evaluation sees the very same tensors
            for start in range(0, len(indices), batch_size):
                self.batches.append(default_collate([dataset[i] for i in indices[start : start + batch_size]]))
        self.last_step = -1

    def at_start(self, trainer) -> None:
        if self.run_dir is None:
            return
        rows = read_curve(self.run_dir)
        kept = [r for r in rows if r["step"] <= trainer.step]
        if len(kept) != len(rows):
            write_text_atomic(self.run_dir / CURVE_FILE, "".join(json.dumps(r) + "\n" for r in kept))
        self.last_step = kept[-1]["step"] if kept else -1
        if trainer.step == 0 and self.last_step != 0:
            self._evaluate(trainer)

    def after_step(self, trainer, stats: dict) -> None:
        if self.run_dir is not None and self.every and trainer.step % self.every == 0:
            self._evaluate(trainer)

    def at_end(self, trainer, reason: str) -> None:
        # Only a finished run adds its last step: an interrupted one continues later, and a point at the interruption
        # would make its curve differ from an uninterrupted run's.
        if self.run_dir is not None and reason == "finished" and self.last_step != trainer.step:
            self._evaluate(trainer)

    def _evaluate(self, trainer) -> None:
        row = {"step": trainer.step, **evaluate_generator(trainer.generate, self.batches)}
        with open(self.run_dir / CURVE_FILE, "a") as fh:  # one short line per evaluation
            fh.write(json.dumps(row) + "\n")
        self.last_step = trainer.step


def evaluate_generator(generate, batches: list[dict]) -> dict[str, float]:
    """Mean L1 and paper SSIM over the pairs of ``batches`` (lossless in-memory images, as the study's final
    evaluation); ``generate(batch)`` gives (B, 3, H, W) in [-1, 1]."""

    collection = collect_batches(generate, batches, "held-out curve").lossless()
    report = evaluate(collection, EvalOptions(protocol="paper", metrics=list(CURVE_METRICS)))
    return {name: report.value(name) for name in CURVE_METRICS}
