"""The demo's ``report.html``: result grid, loss curves (inline SVG), metrics table with margins, timings, config.

Self-contained apart from one PNG (the result grid) next to it; no plotting library needed.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from posestylizer.config import ExperimentConfig
from posestylizer.results.panels import pair_panels, panel_row, stack_rows

GRID_SCALE = 3
GRID_COLUMNS = ("source", "source pose", "target", "target pose", "untrained APS", "trained APS")
CEILING = "ideal"  # the row of the best possible answer: a reference, not a method competing for the bold best value
CURVES = (
    ("G/total", "generator loss L_G"),
    ("G/l1", "L1 (generated vs target)"),
    ("D_PB/total", "D_PB loss"),
    ("D_PP/total", "D_PP loss"),
)


def result_grid(examples: list[tuple[dict, dict[str, np.ndarray]]]) -> np.ndarray:
    """Rows of [source | source pose | target | target pose | untrained | trained], 2 px white gaps, upscaled, under
    a strip with the columns' titles (:data:`GRID_COLUMNS`)."""

    rows = [
        panel_row(pair_panels(item["src_img"], item["src_kp"], item["tgt_img"], item["tgt_kp"],
                              outputs["untrained"], outputs["trained"]), gap=2)
        for item, outputs in examples
    ]  # fmt: skip
    grid = stack_rows(rows, gap=2, scale=GRID_SCALE)
    panel_w = (examples[0][0]["src_img"].shape[-1] + 2) * GRID_SCALE  # a panel and its gap, upscaled
    return np.concatenate([title_strip(GRID_COLUMNS, panel_w, grid.shape[1]), grid], axis=0)


def title_strip(titles: tuple[str, ...], column_w: int, width: int, height: int = 18) -> np.ndarray:
    """uint8 (height, width, 3) white strip with ``titles`` centred over columns ``column_w`` pixels apart; a title
    wider than its column is wrapped at a space."""
    from PIL import ImageDraw, ImageFont

    font = ImageFont.load_default(size=11)
    lines = [_wrap(t, font, column_w - 2) for t in titles]
    height = max(height, 13 * max(len(x) for x in lines) + 4)
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    for i, text_lines in enumerate(lines):
        for j, line in enumerate(text_lines):
            w = draw.textlength(line, font=font)
            draw.text((i * column_w + (column_w - 2 * GRID_SCALE - w) / 2, 2 + 13 * j), line, fill="black", font=font)
    return np.asarray(img)


def _wrap(text: str, font, width: int) -> list[str]:
    words, lines = text.split(), [""]
    for word in words:
        trial = f"{lines[-1]} {word}".strip()
        if font.getlength(trial) <= width or not lines[-1]:
            lines[-1] = trial
        else:
            lines.append(word)
    return lines


def svg_curve(steps: list[float], values: list[float], title: str, width: int = 330, height: int = 180) -> str:
    """A small line chart: raw values (light) and a moving average (dark), with min/max labels."""
    if not values:
        return ""
    x0, y0, pw, ph = 44, 22, width - 54, height - 48
    xs, ys = np.asarray(steps, float), np.asarray(values, float)
    k = max(1, len(ys) // 15)
    smooth = np.convolve(ys, np.ones(k) / k, mode="valid") if len(ys) >= k else ys
    sx = xs[k - 1 :] if len(ys) >= k else xs
    lo, hi = float(ys.min()), float(ys.max())
    span = hi - lo or 1.0
    xmax = float(xs.max()) or 1.0

    def pts(a: np.ndarray, b: np.ndarray) -> str:
        return " ".join(f"{x0 + pw * x / xmax:.1f},{y0 + ph * (1 - (y - lo) / span):.1f}" for x, y in zip(a, b))

    return (
        f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" '
        f'font-size="11"><text x="{x0}" y="14" font-weight="bold">{html.escape(title)}</text>'
        f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#bbb"/>'
        f'<polyline fill="none" stroke="#9ecae1" stroke-width="1" points="{pts(xs, ys)}"/>'
        f'<polyline fill="none" stroke="#08519c" stroke-width="2" points="{pts(sx, smooth)}"/>'
        f'<text x="{x0 - 4}" y="{y0 + 4}" text-anchor="end">{hi:.3g}</text>'
        f'<text x="{x0 - 4}" y="{y0 + ph}" text-anchor="end">{lo:.3g}</text>'
        f'<text x="{x0}" y="{y0 + ph + 14}">0</text>'
        f'<text x="{x0 + pw}" y="{y0 + ph + 14}" text-anchor="end">{int(xmax)} iterations</text></svg>'
    )


@dataclass(frozen=True)
class Column:
    """One metric column of the report's table.

    Args:
        key: metric name, the key of ``facts["metrics"][method]`` and ``facts["margins"][baseline]``.
        label: column header.
        higher_is_better: direction of improvement (arrow, bold best value).
        explanation: how the metric is computed, printed under the table.
    """

    key: str
    label: str
    higher_is_better: bool
    explanation: str


def metrics_table(facts: dict, columns: list[Column], methods: list[tuple[str, str]]) -> str:
    """Rows: each method (the best value per column in bold, the ceiling row aside), then the trained model's margin
    over each baseline."""
    table, margins = facts["metrics"], facts["margins"]
    head = "".join(f"<th>{html.escape(c.label)} {'↑' if c.higher_is_better else '↓'}</th>" for c in columns)
    methods = [(key, label) for key, label in methods if key in table]  # a report from before the ceiling row
    body, ranked = [], [m for m, _ in methods if m != CEILING]
    for key, label in methods:
        cells = []
        for c in columns:
            best = (max if c.higher_is_better else min)(table[m][c.key] for m in ranked)
            value = table[key][c.key]
            text = f"{value:.4f}"
            cells.append(f"<td><b>{text}</b></td>" if value == best else f"<td>{text}</td>")
        body.append(f"<tr><th>{html.escape(label)}</th>{''.join(cells)}</tr>")
    labels = dict(methods)
    for base in margins:
        cells = "".join(f"<td>{margins[base][c.key]:+.4f}</td>" for c in columns)
        body.append(f'<tr class="margin"><th>margin over {html.escape(labels[base])}</th>{cells}</tr>')
    return f"<table><tr><th></th>{head}</tr>{''.join(body)}</table>"


def text_table(facts: dict, columns: list[Column], methods: list[tuple[str, str]]) -> str:
    """The metrics table for a terminal: one row per method, then the trained model's margins; a column per metric
    (label and arrow: which way is better), values to 3 decimals."""
    table, margins = facts["metrics"], facts["margins"]
    labels = dict(methods)
    methods = [(key, label) for key, label in methods if key in table]  # a report from before the ceiling row
    rows = [(label, [f"{table[key][c.key]:.3f}" for c in columns]) for key, label in methods]
    rows += [(f"margin over {labels[b].split(' (')[0]}", [f"{margins[b][c.key]:+.3f}" for c in columns])
             for b in margins]  # fmt: skip
    heads = [f"{c.label} {'↑' if c.higher_is_better else '↓'}" for c in columns]
    first = max(len(r[0]) for r in rows)
    widths = [max(len(h), *(len(r[1][i]) for r in rows)) for i, h in enumerate(heads)]
    line = lambda name, cells: "  ".join([name.ljust(first), *(x.rjust(w) for x, w in zip(cells, widths))])  # noqa: E731
    return "\n".join([line("", heads), *(line(name, cells) for name, cells in rows)])


STYLE = """<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th { background: #f4f4f4; }
tr.margin td { color: #08519c; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 8px 12px; }
pre { background: #f7f7f7; padding: 10px; font-size: 12px; }
dl.metrics dt { font-weight: bold; margin-top: 4px; }
</style>"""


def _intro(facts: dict, cfg: ExperimentConfig) -> str:
    t, ids, loss = facts["timings"], facts["identities"], cfg.loss
    masked = (f", plus an L1 inside the target's pose mask (weight {loss.lambda_l1_mask:g}; not the paper's)"
              if loss.lambda_l1_mask > 0 else "")  # fmt: skip
    return f"""<h1>posestylizer demo: APS on synthetic people</h1>
<p>The Appearance-aware Pose Stylizer (Huang et al., IJCAI 2020) trained from scratch on this machine's CPU
({facts["threads"]} threads) for {t["train_s"] / 60:.1f} minutes ({t["iterations"]} iterations,
{t["images_per_s"]:.1f} images/s), then tested on {facts["pairs"]} pairs of {ids["test"]} identities it never saw
({ids["train"]} identities, {facts["images"]["train"]} images for training).
Whole demo: {t["total_s"] / 60:.1f} minutes (data {t["data_s"]:.0f} s).</p>
<p class="note">The perceptual loss (VGG19 relu1_2) is <b>off</b> in this demo: no pretrained VGG19 weights can be
downloaded offline. The objective is the paper's GAN (two discriminators, BCE) + L1 terms{masked}; train with
<code>posestylizer train --vgg-weights FILE</code> for the full objective.</p>"""


def _metrics_section(facts: dict, columns: list[Column], methods: list[tuple[str, str]]) -> str:
    explanations = "".join(f"<dt>{html.escape(c.label)}</dt><dd>{html.escape(c.explanation)}</dd>" for c in columns)
    return f"""<h2>Metrics ({facts["pairs"]} held-out pairs)</h2>
{metrics_table(facts, columns, methods)}
<dl class="metrics">{explanations}</dl>
<p>Margins: trained minus baseline, signed so that positive means better.</p>{_ceiling_note(facts)}"""


def _ceiling_note(facts: dict) -> str:
    if CEILING not in facts["metrics"]:
        return ""
    return """<p>Ceiling: the target person (inside the ground-truth mask) pasted on the source's background plate, the
best answer a generator that sees only the source can give. Its foreground IoUs stay below 1: the foreground leaves
out clothes within 12% of the background's colour and limbs thinner than the 3x3 opening.</p>"""


def _usage(out: Path, columns: list[Column]) -> str:
    run, data = html.escape(str(out / "run")), html.escape(str(out / "data"))
    metrics = html.escape(",".join(c.key for c in columns))
    return f"""<h2>Use the trained model</h2>
<pre>posestylizer evaluate --checkpoint {run}/generator --data {data} --protocol clean --metrics {metrics} --ground-truth {data}
tensorboard --logdir {run}/tb</pre>"""


def write_report(
    out: Path,
    *,
    cfg: ExperimentConfig,
    facts: dict,
    scalars: list[dict],
    examples: list[tuple[dict, dict[str, np.ndarray]]],
    columns: list[Column],
    methods: list[tuple[str, str]],
) -> Path:
    """Write ``out/report.html`` and ``out/report_grid.png``; return the HTML path.

    Args:
        facts: ``metrics`` {method: {column key: value}}, ``margins`` {baseline: {column key: value}}, ``pairs``,
            ``identities``, ``images``, ``threads``, ``timings``.
        columns: the metric columns of the table, in order.
        methods: (key, label) of the table's rows, in order.
    """
    import yaml

    Image.fromarray(result_grid(examples)).save(out / "report_grid.png")  # the column titles are in the picture
    curves = "".join(
        svg_curve([r["step"] for r in scalars if key in r], [r[key] for r in scalars if key in r], title)
        for key, title in CURVES
    )
    cfg_yaml = yaml.safe_dump(cfg.to_dict(), sort_keys=False)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>posestylizer demo report</title>
{STYLE}</head><body>
{_intro(facts, cfg)}

<h2>Results on held-out identities</h2>
<img src="report_grid.png" alt="result grid: {html.escape(", ".join(GRID_COLUMNS))}">

{_metrics_section(facts, columns, methods)}

<h2>Training losses</h2>
<div>{curves}</div>

{_usage(out, columns)}

<h2>Configuration</h2>
<pre>{html.escape(cfg_yaml)}</pre>
</body></html>
"""
    path = out / "report.html"
    path.write_text(page)
    return path
