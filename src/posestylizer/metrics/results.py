"""The typed results of an evaluation: one :class:`MetricResult` per metric, gathered in an :class:`EvalReport`.

``EvalReport.to_json()`` gives the layout ``metrics.json`` has always had (settings, summary, per-image values, counts,
problems, notes); :mod:`posestylizer.metrics.write` writes it, the CSV and the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class MetricResult:
    """What one metric computed.

    Args:
        value: the headline number: the mean over images, or the value over the image set (IS mean, FID, PCKh).
        n: images it was computed on.
        std: spread over images (or over IS splits); None for a metric without one (FID, PCKh).
        columns: per-image values by column name, aligned with the report's pairs; None = no value for that image.
        details: further facts written into the summary (IS splits, the FID reference, PCKh counts).
    """

    value: float
    n: int
    std: float | None = None
    columns: dict[str, list[Any]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The ``summary`` entry of ``metrics.json``: ``mean``/``std``/``n`` where there is a spread, else ``value``."""
        if self.std is not None:
            return {"mean": self.value, "std": self.std, "n": self.n, **self.details}
        return {"value": self.value, "n": self.n, **self.details}


def per_image_result(name: str, values: list[float | None]) -> MetricResult:
    """Mean and (population) standard deviation of per-image values; None and NaN values are left out."""
    kept = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=np.float64)
    if kept.size == 0:
        return MetricResult(float("nan"), 0, float("nan"), {name: values})
    return MetricResult(float(kept.mean()), int(kept.size), float(kept.std()), {name: values})


@dataclass(frozen=True)
class PairName:
    """One evaluated pair: its result file's name and its source and target image names (source may be unknown)."""

    name: str
    src_name: str | None
    tgt_name: str


@dataclass
class EvalReport:
    """An evaluation: what was asked, how it was computed, its results and the files that could not be used.

    Args:
        protocol: ``paper`` or ``clean``.
        source: where the pairs came from, in words.
        settings: how each metric was computed (registry settings texts) and the shared settings.
        requested: the metric names asked for.
        results: computed metrics by name, in column order (metrics skipped for lack of inputs are absent).
        pairs: the evaluated pairs, in the order of every ``columns`` list.
        problems: ``unreadable``, ``missing`` and ``extra`` file lines.
        notes: why metrics were skipped or lack values for some images.
        images: how the scored images were stored (a key of :data:`posestylizer.metrics.collect.IMAGE_KINDS`): the
            paper's JPEG grids or lossless images give different numbers for the same model.
    """

    protocol: str
    source: str
    settings: dict[str, Any]
    requested: list[str]
    results: dict[str, MetricResult]
    pairs: list[PairName]
    problems: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)
    images: str = "lossless"

    @property
    def metrics(self) -> list[str]:
        return list(self.results)

    def value(self, name: str) -> float:
        """The headline number of metric ``name`` (KeyError if it was not computed)."""
        return self.results[name].value

    @property
    def counts(self) -> dict[str, int]:
        return {"evaluated": len(self.pairs), **{k: len(v) for k, v in self.problems.items()}}

    def per_image(self) -> list[dict[str, Any]]:
        """One row per pair: ``name``, ``from``, ``to``, then every metric column that has a value for it."""
        rows = [{"name": p.name, "from": p.src_name, "to": p.tgt_name} for p in self.pairs]
        for result in self.results.values():
            for column, values in result.columns.items():
                for row, v in zip(rows, values):
                    if v is not None:
                        row[column] = v
        return rows

    def to_json(self) -> dict[str, Any]:
        """The content of ``metrics.json`` (NaN stays NaN here; the writer makes it JSON-safe)."""
        return {
            "protocol": self.protocol,
            "source": self.source,
            "images": self.images,
            "settings": self.settings,
            "metrics": self.metrics,
            "requested": self.requested,
            "summary": {name: r.summary() for name, r in self.results.items()},
            "counts": self.counts,
            "problems": self.problems,
            "notes": self.notes,
            "per_image": self.per_image(),
        }

