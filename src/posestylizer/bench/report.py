"""The benchmark's markdown table: one row per case, medians with their interquartile range; the pipeline cases add
their milliseconds per image by stage, and a case a side could not run says why in its cells."""

from __future__ import annotations


def _spread(s: dict, fmt: str) -> str:
    """``median (q1-q3)`` of a summary, or a dash when there are no values."""
    if not s.get("n"):
        return "-"
    return f"{s['median']:{fmt}} ({s['q1']:{fmt}}-{s['q3']:{fmt}})"


def _memory(mem: dict) -> str:
    if mem.get("device_peak_mib") is not None:
        return f"{mem['device_peak_mib']:.0f} (GPU)"
    peak, base = mem.get("host_peak_rss_mib"), mem.get("baseline_rss_mib")
    if peak is None:
        return "-"
    return f"{peak:.0f} (+{peak - base:.0f})" if base is not None else f"{peak:.0f}"


def stages_cell(side: dict) -> str:
    """``estimation 41 + framing 6 + generation 95 ms (generation 38 % of matmul)``: median ms per image by stage."""
    stages = side.get("stage_ms_per_image")
    if not stages:
        return "-"
    text = " + ".join(f"{name} {s['median']:.3g}" for name, s in stages.items()) + " ms"
    share = side.get("generation_share_of_ceiling", {})
    return text + (f" (generation {share['median']:.0%} of ceiling)" if share.get("n") else "")


def ceiling_cell(side: dict) -> str:
    """``212 (conv3x3 fwd)``: the ceiling's GFLOP/s and the probe that set it, or that the case raised it."""
    if side.get("ceiling_gflops") is None:
        return "-"
    probe = side["ceiling_probe"]
    return f"{side['ceiling_gflops']:.0f} ({'raised to the case: it beat every probe' if probe == 'the case' else probe})"


def side_cells(side: dict, columns: int = 5) -> list[str]:
    """The measurement cells of one side; an unavailable case says why in its first cell, dashes after."""
    if "unavailable" in side:
        return [f"not measured: {side['unavailable']}"] + ["-"] * (columns - 1)
    gflop = side["gflop_per_image"]
    return [
        _spread(side["images_per_s"], ".2f"),
        "-" if gflop is None else f"{gflop:.3g}",
        _spread(side["share_of_ceiling"], ".0%"),
        ceiling_cell(side),
        _memory(side["memory"]),
    ]


def markdown_table(records: list[dict], labels: list[str]) -> str:
    """Rows of every case; with two code sides, the second side's rate and share and the paired speed-up follow."""
    head = ["case", "setting", "images/s", "GFLOP/image", "share of ceiling", "ceiling GFLOP/s (probe)", "peak RSS MiB"]
    staged = any("stage_ms_per_image" in side for rec in records for side in rec["sides"].values())
    if staged:
        head.append("ms/image by stage")
    if len(labels) == 2:
        head += [f"{labels[1]} images/s", f"{labels[1]} share", f"speed-up {labels[0]}/{labels[1]}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for rec in records:
        first = rec["sides"][labels[0]]
        cells = [f"`{rec['case']}`", first.get("setting", "-"), *side_cells(first)]
        if staged:
            cells.append(stages_cell(first))
        if len(labels) == 2:
            other = rec["sides"][labels[1]]
            if "unavailable" in other:
                cells += [f"not in {labels[1]}: {other['unavailable']}", "-", "-"]
            else:
                cells += [_spread(other["images_per_s"], ".2f"), _spread(other["share_of_ceiling"], ".0%"),
                          _spread(rec["speedup"], ".2f") + "x" if "speedup" in rec else "-"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine_line(facts: dict) -> str:
    """One line of the facts a reader needs to weigh the numbers."""
    gpus = ", ".join(g["name"] for g in facts["gpus"]) or "no GPU"
    load = facts["load_average"]
    return (f"{facts['cpu']} ({facts['cores_usable']} cores usable; {' '.join(facts['cpu_flags'])}), "
            f"torch {facts['torch']} with {facts['torch_threads']} threads, {gpus}, "
            f"load average {load[0] if load else '?'}")  # fmt: skip
