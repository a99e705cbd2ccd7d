"""The ablation study's Table 2 from the runs on disk: one row per variant, mean ± spread over its seeds.

The spread is half the range over seeds, ``(max - min) / 2``: with two seeds the mean ± spread spans exactly the two
values, which says more than a standard deviation of two numbers. Rows follow Table 2's order
(``configs/ablations/*.yaml`` ``order``); columns are the paper's metrics that were computed, with the registry's
labels and direction arrows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from posestylizer.errors import ConfigError
from posestylizer.experiments.recipe import check_same_recipe
from posestylizer.experiments.variants import Variant, load_variant
from posestylizer.metrics.collect import IMAGE_KINDS, LOSSLESS
from posestylizer.metrics.registry import METRICS
from posestylizer.metrics.write import csv_text, json_safe
from posestylizer.runtime.files import write_text_atomic

SPREAD = "half the range over seeds, (max - min) / 2"
# Table 2's columns (paper protocol) and the synthetic data's ground-truth foreground IoU, in table order.
TABLE_METRICS = ("ssim_paper", "is_paper", "l1", "mask_ssim_paper", "mask_is_paper", "mask_l1", "fg_iou_gt")


@dataclass
class Row:
    """One variant's runs: its variant, the per-seed results (``result.json`` contents) in seed order."""

    variant: Variant
    results: list[dict]

    @property
    def seeds(self) -> list[int]:
        return [r["seed"] for r in self.results]

    def values(self, key: str, metric: bool = True) -> list[float]:
        """Per-seed values of a metric (or of a top-level field such as ``steps``), runs lacking it left out."""
        found = [(r["metrics"] if metric else r).get(key) for r in self.results]
        return [float(v) for v in found if v is not None]


def mean_spread(values: list[float]) -> tuple[float, float]:
    """(mean, half range) of per-seed values; (nan, nan) when there are none."""
    if not values:
        return float("nan"), float("nan")
    return sum(values) / len(values), (max(values) - min(values)) / 2


@dataclass
class Study:
    """What is on disk under a study folder: the table's rows, and the finished runs no row can hold (``unknown``:
    one line per folder whose variant no longer exists)."""

    rows: list[Row]
    unknown: list[str] = field(default_factory=list)


def collect_study(out: str | Path) -> Study:
    """The finished runs under ``out`` (``<variant>/seed<k>/result.json``), one row per variant in Table 2's order.

    Raises ConfigError when a variant's runs ran different recipes (:mod:`posestylizer.experiments.recipe`).
    Folders of finished runs whose variant is not known are listed in ``unknown``, not tabulated."""
    rows, unknown = [], []
    for folder in sorted(p for p in Path(out).iterdir() if p.is_dir()) if Path(out).is_dir() else []:
        files = sorted(folder.glob("seed*/result.json"))
        if not files:
            continue
        try:
            variant = load_variant(folder.name)
        except ConfigError:
            runs = ", ".join(f.parent.name for f in files)
            unknown.append(f"{folder} ({runs}): no ablation variant '{folder.name}' (renamed or removed?)")
            continue
        results = sorted(((f, json.loads(f.read_text())) for f in files), key=lambda fr: fr[1]["seed"])
        for path, result in results[1:]:
            check_same_recipe((results[0][0].parent, results[0][1]), (path.parent, result))
        rows.append(Row(variant, [r for _, r in results]))
    return Study(sorted(rows, key=lambda r: r.variant.order), unknown)


def table_columns(rows: list[Row]) -> list[str]:
    """The metrics present in any run, in the study's column order."""
    present = {m for row in rows for r in row.results for m in r["metrics"]}
    return [m for m in TABLE_METRICS if m in present]


def _header(metric: str) -> str:
    m = METRICS[metric]
    return f"{m.label} {'↑' if m.higher_is_better else '↓'}"


def _cell(values: list[float]) -> str:
    if not values:
        return "–"
    mean, spread = mean_spread(values)
    return f"{mean:.3f}" if len(values) == 1 else f"{mean:.3f} ± {spread:.3f}"


def _model(variant: Variant) -> str:
    return variant.paper_row or f"({variant.description})"


def markdown_table(rows: list[Row]) -> str:
    """Table 2 as markdown: a caption line, then Model | variant | params | seeds | metrics | steps | minutes."""
    columns = table_columns(rows)
    pairs = sorted({r.get("pairs") for row in rows for r in row.results if r.get("pairs")})
    # Runs from before result.json named it were scored the same way: in memory, lossless.
    images = sorted({r.get("images", LOSSLESS) for row in rows for r in row.results})
    head = ["Model", "variant", "G params", "seeds", *(_header(m) for m in columns), "iterations", "train min/run"]
    lines = [
        (f"Mean ± {SPREAD} (seeds column: how many); ↑ higher is better, ↓ lower is better; "
         f"{'/'.join(map(str, pairs)) or '?'} held-out pairs per run, scored on "
         f"{' and '.join(IMAGE_KINDS.get(i, i) for i in images)}."),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join([":--", ":--", "--:", "--:", *["--:"] * len(columns), "--:", "--:"]) + "|",
    ]
    for row in rows:
        steps, minutes = row.values("steps", False), [v / 60 for v in row.values("train_s", False)]
        params = row.values("params", False)
        cells = [_model(row.variant), f"`{row.variant.name}`", f"{int(params[0]):,}" if params else "–",
                 str(len(row.results)), *(_cell(row.values(m)) for m in columns),
                 f"{mean_spread(steps)[0]:.0f}" if steps else "–", f"{mean_spread(minutes)[0]:.1f}" if minutes else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def csv_rows(rows: list[Row]) -> list[dict]:
    """One dict per variant: names, params, seeds, ``<metric>_mean`` / ``<metric>_halfrange`` and run costs."""
    out = []
    for row in rows:
        d = {"variant": row.variant.name, "paper_row": row.variant.paper_row,
             "params": row.results[0].get("params"), "seeds": " ".join(map(str, row.seeds))}  # fmt: skip
        for m in table_columns(rows):
            d[f"{m}_mean"], d[f"{m}_halfrange"] = mean_spread(row.values(m))
        for key in ("steps", "train_s", "eval_s", "cpu_s"):
            d[f"{key}_mean"] = mean_spread(row.values(key, False))[0]
        out.append(d)
    return out


def write_table(out: str | Path, study: Study | None = None) -> tuple[Path, Path] | None:
    """``<out>/table.md`` and ``<out>/table.csv`` from the finished runs (``study``: already collected from ``out``);
    None when there is none yet."""

    study = study or collect_study(out)
    if not study.rows:
        return None
    notes = "".join(f"\nNot in the table: {line}\n" for line in study.unknown)
    md = write_text_atomic(Path(out) / "table.md", markdown_table(study.rows) + notes)
    data = [{k: ("" if v is None else v) for k, v in json_safe(r).items()} for r in csv_rows(study.rows)]
    return md, write_text_atomic(Path(out) / "table.csv", csv_text(data))
