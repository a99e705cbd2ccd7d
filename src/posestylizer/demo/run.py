"""``posestylizer demo``: the whole loop on a fresh machine, offline, within a wall-clock budget.

A recipe of the package's own parts:

1. render synthetic people (:mod:`posestylizer.data.synth`) and resize them to the recipe's size
   (:mod:`posestylizer.data.resize`);
2. train APS with the ``demo`` preset (``configs/demo.yaml``) for what is left of the budget (the LR schedule is
   stretched over that time);
3. evaluate held-out identities against two baselines (the source image copied unchanged; the untrained network)
   and a ceiling (the target person on the source's background) through
   :func:`posestylizer.metrics.evaluate.evaluate`, with the registry's SSIM, L1 and ground-truth metrics;
4. write ``report.html`` (result grid, loss curves, metrics table, config).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from posestylizer.checkpoints.native import load_generator
from posestylizer.config import ExperimentConfig, load_config
from posestylizer.data.dataset import PairDataset
from posestylizer.data.layouts import get_layout
from posestylizer.data.pairs import evenly_spaced
from posestylizer.data.resize import resize_dataset
from posestylizer.data.synth import background_path, mask_path, write_dataset
from posestylizer.demo.report import CEILING, Column, write_report
from posestylizer.errors import ConfigError, DataError
from posestylizer.inference.collect import collect
from posestylizer.metrics.collect import Collection, ResultItem
from posestylizer.metrics.evaluate import evaluate
from posestylizer.metrics.inputs import EvalOptions, read_ground_truth
from posestylizer.metrics.registry import METRICS, Metric
from posestylizer.metrics.write import write_reports
from posestylizer.models import Generator, init_generator_weights
from posestylizer.runtime.progress import QUIET, Progress
from posestylizer.runtime.threads import fastest_threads, thread_candidates
from posestylizer.training.distributed import DistInfo
from posestylizer.training.loop import Trainer
from posestylizer.training.run import read_scalars, train

# Columns of the demo's table, all computed by the metric registry against the synthetic ground truth.
DEMO_METRICS = ("ssim_clean", "l1", "mask_ssim_gt", "mask_l1_gt", "fg_iou_gt", "fg_iou_arms_gt", "fg_iou_head_gt",
                "fg_iou_torso_gt", "fg_iou_legs_gt")  # fmt: skip
METHODS = (
    ("copy", "source copied (baseline)"),
    ("untrained", "untrained APS (baseline)"),
    ("trained", "trained APS"),
    (CEILING, "target person on the source's background (ceiling)"),
)
SYNTH_PRESET = "market"  # the synthetic people are rendered at this preset's (and layout's) size, then resized
# The train/test split is that of the first 120 people (24 held out) whatever --identities is: more people train more.
SPLIT_AMONG = 120


@dataclass
class DemoOptions:
    minutes: float = 10.0  # everything: data, training, evaluation, report
    out: str = "demo_out"
    identities: int = 600  # 576 train: at 96 the model fits its training people (configs/demo.yaml's comment)
    poses: int = 8
    eval_pairs: int = 120
    seed: int = 0
    threads: int = 0  # CPU threads for training; 0 = time a few training steps with each count and keep the fastest
    overrides: list[str] = field(default_factory=list)
    progress: Progress = QUIET

    @property
    def reserve_seconds(self) -> float:
        """Time kept back from training for evaluation and the report (about 0.25 s per evaluated pair)."""
        return 15.0 + 0.25 * self.eval_pairs


def demo_config(opts: DemoOptions, data_root: Path) -> ExperimentConfig:
    """The ``demo`` preset on ``data_root`` with the demo's seed and the user's overrides."""
    return load_config("demo", overrides=[f"data.root={data_root}", f"train.seed={opts.seed}"] + opts.overrides)


def demo_metrics() -> list[Metric]:
    """The registry entries of the demo's table, in column order."""
    return [METRICS[name] for name in DEMO_METRICS]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------------- evaluate
def generate_pairs(dataset, indices: list[int], generators: dict[str, torch.nn.Module], progress: Progress,
                   batch_size: int = 16) -> dict[str, Collection]:  # fmt: skip
    """Each generator's pairs ``dataset[indices]`` through the one collector
    (:func:`posestylizer.inference.collect.collect`), as lossless images in ``indices`` order; one collection per
    method, ``copy`` (the source image as the answer) first."""

    labels = dict(METHODS)
    out: dict[str, Collection] = {}
    for method, g in generators.items():
        collected = collect(g, dataset, indices, batch_size=batch_size, progress=progress)
        if not out:
            out["copy"] = collected.lossless(answer="source", description=f"demo: {labels['copy']} on held-out pairs")
        out[method] = collected.lossless(description=f"demo: {labels.get(method, method)} on held-out pairs")
    return out


def ideal_answers(collection: Collection, data_root: str | Path) -> Collection:
    """The demo's ceiling: for each pair of ``collection``, the target person (inside the renderer's ground-truth
    mask) pasted on the source's background plate, which is all of the background a generator that sees only the
    source can know. No generator can score better on the ground-truth metrics; the foreground IoUs stay below 1
    even here, since the metric does not count pixels within 12 % of the background's colour, nor limbs thinner
    than its 3x3 opening (a 64x32 arm is 2-3 pixels wide)."""

    items = []
    for it in collection.items:
        found = {}
        for what, path in (("person mask", mask_path(data_root, "test", it.tgt_name)),
                           ("background plate", background_path(data_root, "test", it.src_name))):  # fmt: skip
            found[what] = read_ground_truth(path, it, what)  # the evaluation's own reader and rules
            if found[what] is None:
                raise DataError(f"{path}: {what} not found; the demo's data folder is incomplete (delete it and rerun)")
        ideal = np.where(found["person mask"][..., None], it.target, found["background plate"])
        items.append(ResultItem(it.name, it.src_name, it.tgt_name, it.target, ideal))
    return Collection(items, "demo: the target person on the source's background plate", images=collection.images)


def evaluate_methods(collections: dict[str, Collection], data_root: str | Path, out: Path,
                     progress: Progress) -> tuple[dict[str, dict[str, float]], list[Column]]:  # fmt: skip
    """The demo's metrics of every method through the evaluation of ``posestylizer evaluate`` (ground truth from the
    synthetic dataset's test phase); writes ``<out>/<method>/metrics.json|csv``.

    Returns {method: {metric: mean over pairs}} and the table's columns (registry label, direction and settings).
    """

    options = EvalOptions(protocol="clean", metrics=list(DEMO_METRICS), ground_truth=str(data_root),
                          ground_truth_phase="test")  # fmt: skip
    table, settings = {}, {}
    for method, collection in progress(list(collections.items()), "evaluate", unit="method"):
        report = evaluate(collection, options)
        write_reports(report, out / method)
        table[method] = {name: report.value(name) for name in DEMO_METRICS}
        settings = report.settings
    columns = [Column(m.name, m.label, m.higher_is_better, settings[m.name]) for m in demo_metrics()]
    return table, columns


def margins(table: dict[str, dict[str, float]], columns: list[Column]) -> dict[str, dict[str, float]]:
    """Trained minus each baseline, signed so that positive = trained is better."""
    return {
        base: {c.key: (table["trained"][c.key] - table[base][c.key]) * (1 if c.higher_is_better else -1)
               for c in columns}
        for base in ("copy", "untrained")
    }  # fmt: skip


# ----------------------------------------------------------------------------------------------------------- main
def _prepare_data(opts: DemoOptions, out: Path, progress: Progress):
    """Render the synthetic people at full size into ``out/data_HxW``, resize them into ``out/data`` at the recipe's
    size; return (config, synth summary)."""
    import shutil

    data_root = out / "data"
    cfg = demo_config(opts, data_root)
    h, w = get_layout(SYNTH_PRESET).image_size
    full = out / f"data_{h}x{w}"
    summary = write_dataset(full, SYNTH_PRESET, opts.identities, opts.poses, opts.seed, split_among=SPLIT_AMONG,
                            progress=opts.progress)  # fmt: skip
    shutil.rmtree(data_root, ignore_errors=True)  # the demo's own folder, remade every run (as run/)
    resize_dataset(full, data_root, tuple(cfg.model.image_size), layout=SYNTH_PRESET, progress=progress)
    return cfg, summary


def choose_threads(cfg: ExperimentConfig, train_set, threads: int, max_seconds: float = float("inf")) -> str:
    """Set the CPU thread count of training: ``threads`` when > 0, else the fastest of 1, half and all cores over a
    few real training steps on a throwaway trainer (it seeds itself, so the real run starts as it would), timed for
    about ``max_seconds`` at most. Returns what was chosen, in words."""
    if threads > 0:
        torch.set_num_threads(threads)
        return f"{threads} CPU thread{'s' if threads > 1 else ''} (--threads)"

    candidates = thread_candidates()
    if len(candidates) == 1:
        return "1 CPU thread (one usable core)"
    probe = Trainer(cfg, train_set, DistInfo(device=torch.device(cfg.train.device)), perceptual=None)
    batch = next(iter(probe.loader()))
    return fastest_threads(lambda: probe.train_step(batch), candidates, max_seconds=max_seconds).describe()


def _train(cfg: ExperimentConfig, opts: DemoOptions, run_dir: Path, budget: float, train_set, test_set):
    too_short = f"--minutes {opts.minutes}: too short; the demo needs at least {opts.reserve_seconds + 30:.0f} s"
    if budget < 10:
        raise ConfigError(too_short)
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    t0 = time.perf_counter()
    threads = choose_threads(cfg, train_set, opts.threads, max_seconds=0.03 * budget)  # at most ~3 % of training
    budget -= time.perf_counter() - t0
    if budget < 5:
        raise ConfigError(too_short)
    length = f"{cfg.train.steps} iterations (train.steps)" if cfg.train.steps else f"{budget / 60:.1f} min"
    _log(f"[2/4] training APS (ngf {cfg.model.ngf}, batch {cfg.train.batch_size}) for {length} on {threads} -> "
         f"{run_dir}")  # fmt: skip
    # train.steps=N (an override) trains exactly N iterations instead: recipes compared at equal work
    return train(cfg, train_set, run_dir, sample_data=test_set, time_budget=None if cfg.train.steps else budget,
                 progress=opts.progress, perceptual=None)  # fmt: skip


def run_demo(opts: DemoOptions) -> Path:
    """Run the demo and return the path of ``report.html``."""

    t0 = time.perf_counter()
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    progress = opts.progress
    run_dir = out / "run"
    _log(f"[1/4] synthetic people: {opts.identities} identities x {opts.poses} poses -> {out / 'data'}")
    cfg, summary = _prepare_data(opts, out, progress)
    train_set = PairDataset.from_config(cfg, "train")
    test_set = PairDataset.from_config(cfg, "test", masks=False)
    t_data = time.perf_counter() - t0

    # The untrained baseline: the network exactly as training starts (same seed, reference initialisation).
    torch.manual_seed(cfg.train.seed)
    untrained = init_generator_weights(Generator(cfg.model)).eval()
    t_train0 = time.perf_counter()
    budget = opts.minutes * 60.0 - (t_train0 - t0) - opts.reserve_seconds
    result = _train(cfg, opts, run_dir, budget, train_set, test_set)
    t_train = time.perf_counter() - t_train0

    _log(f"[3/4] evaluating {opts.eval_pairs} held-out pairs ({summary.identities['test']} unseen identities)")
    trained = load_generator(run_dir / "generator")  # the exported checkpoint, as evaluate/convert read it
    indices = evenly_spaced(len(test_set), opts.eval_pairs)
    collections = generate_pairs(test_set, indices, {"untrained": untrained, "trained": trained}, progress)
    collections[CEILING] = ideal_answers(collections["trained"], cfg.data.root)
    table, columns = evaluate_methods(collections, cfg.data.root, out / "eval", progress)

    _log("[4/4] writing the report")
    facts = {
        "metrics": table,
        "margins": margins(table, columns),
        "pairs": len(indices),
        "identities": summary.identities,
        "images": summary.images,
        "threads": torch.get_num_threads(),
        "timings": {
            "data_s": t_data,
            "train_s": t_train,
            "iterations": result.steps,
            "images_per_s": result.images_per_second,
            "total_s": time.perf_counter() - t0,  # up to the report, which takes well under a second
        },
    }
    (out / "metrics.json").write_text(json.dumps(facts, indent=2))
    picks = list(range(0, len(indices), max(1, len(indices) // 8)))[:8]
    examples = [(test_set[indices[j]], {m: collections[m].items[j].generated for m in collections}) for j in picks]
    return write_report(out, cfg=cfg, facts=facts, scalars=read_scalars(run_dir), examples=examples,
                        columns=columns, methods=METHODS)  # fmt: skip
