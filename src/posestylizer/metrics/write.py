"""Write an evaluation: the last step of collect -> compute -> write.

``metrics.json`` (settings, summary, per-image values, counts, problems, notes), ``metrics.csv`` (one row per pair,
scalar columns) and a printed table in the spirit of the paper's Table 1. Files are written whole or not at all.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from posestylizer.metrics.collect import IMAGE_KINDS
from posestylizer.metrics.registry import METRICS
from posestylizer.metrics.results import EvalReport, MetricResult
from posestylizer.runtime.files import write_text_atomic


def _cell(result: MetricResult | None) -> str:
    if result is None:
        return "-"
    if result.std is None:
        v = result.value
        return "nan" if v is None or math.isnan(v) else f"{v:.4f}"
    if result.n == 0:
        return "-"
    return f"{result.value:.4f} ± {result.std:.4f}"


def _header(name: str, result: MetricResult) -> str:
    metric = METRICS[name]
    label = metric.label
    if "estimator" in result.details:  # PCKh numbers depend on the estimator: the header names it
        label += f" ({result.details['estimator']})"
    return label + (" ↑" if metric.higher_is_better else " ↓")


def format_table(report: EvalReport) -> str:
    """One row, one column per metric (mean ± std where per image), then the counts, problems and notes."""
    headers = [_header(name, r) for name, r in report.results.items()]
    cells = [_cell(r) for r in report.results.values()]
    widths = [max(len(h), len(c)) for h, c in zip(headers, cells)]
    c = report.counts
    lines = [
        f"protocol: {report.protocol} — {report.source}",
        f"scored on {IMAGE_KINDS.get(report.images, report.images)}",
        (f"images: {c['evaluated']} evaluated, {c['unreadable']} unreadable, {c['missing']} missing, "
         f"{c['extra']} extra"),
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
        "| " + " | ".join(v.ljust(w) for v, w in zip(cells, widths)) + " |",
    ]  # fmt: skip
    for key, problems in report.problems.items():
        lines += [f"  {key}: {p}" for p in problems[:5]]
        if len(problems) > 5:
            lines.append(f"  {key}: ... {len(problems) - 5} more (see the JSON report)")
    lines += [f"  note: {n}" for n in report.notes]
    return "\n".join(lines)


def json_safe(obj: Any) -> Any:
    """NaN -> null, ±inf -> "inf"/"-inf", numpy scalars -> Python numbers, tuples -> lists (strict JSON)."""
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    return obj


def csv_text(rows: list[dict[str, Any]]) -> str:
    """Per-image rows as CSV: every column holding scalars (lists, e.g. predicted keypoints, stay in the JSON)."""
    keys = dict.fromkeys(k for row in rows for k in row)
    columns = [k for k in keys if not any(isinstance(row.get(k), (list, tuple)) for row in rows)]
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in columns})
    return buf.getvalue()


def write_reports(report: EvalReport, out_dir: str | Path, stem: str = "metrics") -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.csv`` into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = report.to_json()
    json_path, csv_path = out / f"{stem}.json", out / f"{stem}.csv"
    write_text_atomic(json_path, json.dumps(json_safe(data), indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(csv_path, csv_text(data["per_image"]))
    return json_path, csv_path
