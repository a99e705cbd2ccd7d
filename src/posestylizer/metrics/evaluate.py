"""Compute the chosen metrics on a collection of pairs: the middle step of collect -> compute -> write.

``evaluate`` resolves the metric names in the registry, leaves out (with a note) the metrics whose inputs were not
given, builds every network first, then runs each entry's own ``compute`` and gathers the results in an
:class:`~posestylizer.metrics.results.EvalReport`::

    collection = collect_folders("targets/", "generated/")                      # posestylizer.metrics.collect
    report = evaluate(collection, EvalOptions(protocol="clean", metrics=["ssim_clean", "l1"]))
    report.value("ssim_clean")
    write_reports(report, "eval/")                                              # posestylizer.metrics.write
"""

from __future__ import annotations

from posestylizer.errors import ConfigError
from posestylizer.metrics.collect import IMAGE_KINDS, Collection
from posestylizer.metrics.inputs import EvalInputs, EvalOptions
from posestylizer.metrics.registry import NEEDS, Metric, resolve_metrics
from posestylizer.metrics.results import EvalReport, PairName
from posestylizer.metrics.ssim import WINDOWS
from posestylizer.runtime.progress import QUIET, Progress

FASHION_BANDS = 40  # DeepFashion: 176 -> 256 wide (reference §7.2, addBounding)


def evaluate(collection: Collection, options: EvalOptions, progress: Progress = QUIET) -> EvalReport:
    """Compute the metrics of ``options`` on ``collection`` and return the report.

    Raises ConfigError for an unknown protocol, metric or SSIM window; WeightsError (before any long loop) for a
    missing weights file.
    """
    if options.ssim_window not in WINDOWS:
        raise ConfigError(f"unknown SSIM window '{options.ssim_window}': choose one of {', '.join(WINDOWS)}")
    requested = resolve_metrics(options.protocol, options.metrics)
    inputs = EvalInputs(collection, options, progress)
    metrics, notes = _available(requested, inputs)
    for m in metrics:  # networks first: a missing weights file stops the run before any long loop
        if m.setup is not None:
            m.setup(inputs)
    results = {m.name: m.compute(inputs, m.name) for m in metrics}
    return EvalReport(
        protocol=options.protocol,
        source=collection.source,
        settings=_settings(metrics, inputs, collection.images),
        requested=[m.name for m in requested],
        results=results,
        pairs=[PairName(it.name, it.src_name, it.tgt_name) for it in collection.items],
        problems={
            "unreadable": list(collection.unreadable),
            "missing": list(collection.missing),
            "extra": list(collection.extra),
        },
        notes=notes + inputs.notes,  # what the inputs lacked for some pairs, noted as they were read
        images=collection.images,
    )


def _given(need: str, options: EvalOptions) -> bool:
    return {
        "keypoints": options.annotation is not None,
        "ground_truth": options.ground_truth is not None,
        "fid_reference": bool(options.fid_reference),
    }[need]


def _available(metrics: list[Metric], inputs: EvalInputs) -> tuple[list[Metric], list[str]]:
    """The metrics whose inputs were given, and one note per missing input naming the metrics left out."""
    notes = []
    for need, what in NEEDS.items():
        if _given(need, inputs.options):
            continue
        left_out = [m.name for m in metrics if need in m.needs]
        if left_out:
            verb = "it needs" if len(left_out) == 1 else "they need"
            notes.append(f"{', '.join(left_out)}: skipped, {verb} {what}")
    return [m for m in metrics if all(_given(n, inputs.options) for n in m.needs)], notes


def _settings(metrics: list[Metric], inputs: EvalInputs, images: str) -> dict[str, object]:
    """The shared settings (how the images were stored among them: the paper's JPEG grids and lossless images give
    different numbers), then each computed metric's own settings text (from its registry entry)."""
    o = inputs.options
    stored = IMAGE_KINDS.get(images, images)
    settings: dict[str, object] = {"protocol": o.protocol, "images": stored, "device": o.device,
                                   "white_bands": inputs.bands}  # fmt: skip
    if any(m.weights for m in metrics):
        settings["weights_dir"] = o.weights_dir or "torch hub cache"
    if any("ground_truth" in m.needs for m in metrics):
        settings["ground_truth"] = f"{o.ground_truth} (phase {o.ground_truth_phase})"
    return {**settings, **{m.name: m.settings_text(o) for m in metrics}}
