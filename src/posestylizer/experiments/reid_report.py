"""Table (Markdown and CSV) and figure of the re-identification study (:mod:`posestylizer.experiments.reid`)."""

from __future__ import annotations

import csv
import io
import statistics
from pathlib import Path

from posestylizer.runtime.files import write_text_atomic


def _spread(values: list[float]) -> tuple[float, float]:
    """(mean, sample standard deviation; 0 for one value)."""
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarise(results: list[dict], arms) -> list[dict]:
    """One row per arm: mean and standard deviation over seeds of rank-1, mAP and the identity drift measured by that
    arm's models (fractions 0-1 for rank-1 and mAP; Euclidean distances 0-2 between unit embeddings)."""
    rows = []
    for arm, _, label in arms:
        rs = [r for r in results if r["arm"] == arm]
        if not rs:
            continue
        row = {"arm": arm, "label": label, "seeds": len(rs), "train_images": rs[0]["train_images"]}
        for key in ("rank1", "mAP"):
            row[key], row[f"{key}_sd"] = _spread([r[key] for r in rs])
        for g in ("trained", "untrained"):
            row[f"drift_{g}"], _ = _spread([r["drift"][g]["source_to_generated"] for r in rs])
        row["same_person"], _ = _spread([r["drift"]["trained"]["same_person"] for r in rs])
        row["different_people"], _ = _spread([r["drift"]["trained"]["different_people"] for r in rs])
        row["cpu_s"] = sum(r["cpu_s"] for r in rs)
        rows.append(row)
    return rows


def _markdown(rows: list[dict], stages: dict, results: list[dict]) -> str:
    lines = ["| arm | training images | seeds | rank-1 (%) | mAP (%) |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['train_images']} | {r['seeds']} | {100 * r['rank1']:.1f} ± "
                     f"{100 * r['rank1_sd']:.1f} | {100 * r['mAP']:.1f} ± {100 * r['mAP_sd']:.1f} |")  # fmt: skip
    lines += ["", "Identity drift in each arm's own embedding (mean Euclidean distance between unit vectors, mean "
              "over seeds):", "",
              "| re-ID model of | generated ↔ its source (trained APS) | generated ↔ its source (untrained) | "
              "same person, two real images | two different people |", "|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['label']} | {r['drift_trained']:.3f} | {r['drift_untrained']:.3f} | "
                     f"{r['same_person']:.3f} | {r['different_people']:.3f} |")  # fmt: skip
    cpu = {k: v.get("cpu_s", 0.0) for k, v in stages.items()}
    cpu["re-ID runs"] = sum(r["cpu_s"] for r in results)
    q = results[0]
    lines += ["", f"Queries {q['queries']} (with a match on another camera), gallery {q['gallery']} images. "
              "CPU seconds (as recorded when each stage ran): "
              + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items()) + f"; total {sum(cpu.values()):.0f}.", ""]  # fmt: skip
    return "\n".join(lines)


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _figure(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    colours = ["#7f7f7f", "#1f77b4", "#ff7f0e"]
    for ax, key, title in ((axes[0], "rank1", "rank-1 (%)"), (axes[1], "mAP", "mAP (%)")):
        x = range(len(rows))
        ax.bar(x, [100 * r[key] for r in rows], yerr=[100 * r[f"{key}_sd"] for r in rows], capsize=4,
               color=colours[: len(rows)])  # fmt: skip
        ax.set_xticks(list(x), [r["arm"] for r in rows])
        ax.set_title(f"{title}, mean ± sd over {rows[0]['seeds']} seeds")
        lo = min(100 * (r[key] - r[f"{key}_sd"]) for r in rows)
        ax.set_ylim(max(0.0, lo - 10), min(100.0, max(100 * (r[key] + r[f"{key}_sd"]) for r in rows) + 5))
    fig.suptitle("Re-ID on held-out synthetic people: real vs real + generated images")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(out: Path, results: list[dict], stages: dict, arms) -> Path:
    """Write ``table.md``, ``table.csv`` and ``reid.png`` into ``out``; returns the path of ``table.md``."""
    rows = summarise(results, arms)
    write_text_atomic(out / "table.csv", _csv(rows))
    _figure(rows, out / "reid.png")
    return write_text_atomic(out / "table.md", _markdown(rows, stages, results))
