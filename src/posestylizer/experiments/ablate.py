"""``posestylizer ablate``: the paper's ablation study (Table 2) and its AdaIN vs AdaPN curves (Fig. 7).

Every (variant, seed) is trained with the same data, base recipe and budget (a wall-clock budget or an iteration
count), evaluated on the same held-out pairs, and summarised in a table and a figure::

    <out>/<variant>/seed<k>/     a training run folder (posestylizer.training.run), plus
        curve.jsonl              held-out L1 and SSIM every --eval-every iterations (experiments.curves)
        eval/metrics.json|csv    the final evaluation (posestylizer.metrics.write)
        timing.json              wall and CPU seconds of training and evaluation, summed over resumed segments
        result.json              written last: the run is finished (metrics, steps, seconds, parameters)
    <out>/table.md, table.csv    Table 2 over what is on disk (experiments.table)
    <out>/fig7.png               L1 and SSIM against iterations, AdaIN vs AdaPN (experiments.figure)

A run with ``result.json`` is never trained again; one with a checkpoint continues from it exactly.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from posestylizer.checkpoints.native import load_generator
from posestylizer.checkpoints.pretrained import STANDARD_NAMES, resolve_weights
from posestylizer.config import ExperimentConfig, load_config, set_value
from posestylizer.data.dataset import PairDataset
from posestylizer.data.pairs import evenly_spaced
from posestylizer.data.synth import mask_dir
from posestylizer.errors import ConfigError, DataError
from posestylizer.experiments.curves import HeldOutCurve
from posestylizer.experiments.figure import write_fig7
from posestylizer.experiments.params import count_parameters, parameter_table
from posestylizer.experiments.recipe import check_same_recipe, data_identity, recipe_hash, run_recipe
from posestylizer.experiments.table import TABLE_METRICS, collect_study, write_table
from posestylizer.experiments.variants import Variant, load_variants
from posestylizer.inference.collect import collect
from posestylizer.metrics.collect import LOSSLESS
from posestylizer.metrics.evaluate import evaluate
from posestylizer.metrics.inputs import EvalOptions
from posestylizer.metrics.write import write_reports
from posestylizer.runtime.files import write_text_atomic
from posestylizer.runtime.progress import QUIET, Progress
from posestylizer.training.run import train
from posestylizer.training.state import CheckpointDir

INCEPTION_METRICS = ("is_paper", "mask_is_paper")
EVAL_BATCH = 16  # pairs per generator call of the final evaluation (fixed: it can change an output's last bit)
EVAL_IMAGES = LOSSLESS  # the final evaluation scores in-memory images, not the paper's JPEG grids
RESULT_FILE = "result.json"
TIMING_FILE = "timing.json"


@dataclass
class AblateOptions:
    """What ``posestylizer ablate`` was asked for (see :mod:`posestylizer.commands.ablate`)."""

    data: str = ""
    out: str = "runs/ablate"
    variants: list[str] = field(default_factory=list)  # empty = every shipped variant
    seeds: list[int] = field(default_factory=lambda: [0])
    budget_minutes: float = 0.0  # wall-clock minutes of training per run ...
    steps: int = 0  # ... or iterations per run (exactly one of the two)
    base: str = "demo"
    overrides: list[str] = field(default_factory=list)
    eval_every: int = 0  # iterations between held-out curve points; 0 = steps / 20 (or 100 with a budget)
    eval_pairs: int = 120  # held-out pairs of the final evaluation
    curve_pairs: int = 48  # held-out pairs of every curve point
    weights_dir: str | None = None  # Inception weights for IS / mask-IS (never downloaded)
    progress: Progress = QUIET

    def check(self) -> None:
        """One-line ConfigErrors for contradictory or missing settings."""
        if self.budget_minutes and self.steps:
            raise ConfigError("give --budget MIN or --steps N, not both")
        if self.budget_minutes < 0 or self.steps < 0:
            raise ConfigError("--budget and --steps must be positive")
        if not self.budget_minutes and not self.steps:
            raise ConfigError("give the training length of every run: --budget MIN (wall minutes) or --steps N")
        if not self.seeds:
            raise ConfigError("--seeds: give at least one seed, e.g. --seeds 0,1")
        if self.eval_every < 0 or self.eval_pairs < 1 or self.curve_pairs < 1:
            raise ConfigError("--eval-every must be >= 0, --eval-pairs and the curve pairs >= 1")
        if not self.data:
            raise ConfigError("no dataset given: pass --data ROOT (a dataset with train and test splits)")

    @property
    def curve_every(self) -> int:
        return self.eval_every or (max(1, self.steps // 20) if self.steps else 100)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ configuration
def base_config(opts: AblateOptions) -> ExperimentConfig:
    """The base recipe (a preset and the user's overrides) on ``opts.data`` with the run length of the study."""
    cfg = load_config(opts.base, overrides=opts.overrides)
    if opts.data:
        set_value(cfg, "data.root", str(Path(opts.data).resolve()), "--data")
    set_value(cfg, "train.time_budget", float(opts.budget_minutes * 60.0), "--budget")
    set_value(cfg, "train.steps", int(opts.steps), "--steps")
    return cfg


def run_config(opts: AblateOptions, variant: Variant, seed: int) -> ExperimentConfig:
    """The resolved config of one run: the base recipe, the variant's delta, the seed."""
    cfg = variant.apply(base_config(opts))
    set_value(cfg, "train.seed", int(seed), "--seeds")
    return cfg


def run_folder(out: str | Path, variant: str, seed: int) -> Path:
    return Path(out) / variant / f"seed{seed}"


def _check_same_recipe(cfg: ExperimentConfig, run_dir: Path) -> None:
    """A run folder started with another recipe (another --steps, --base, override) cannot be continued or
    tabulated with this one: ConfigError naming the first differing key."""
    saved = run_dir / "config.yaml"
    if not saved.is_file():
        return
    old = load_config(path=saved).to_dict()
    for section, values in cfg.to_dict().items():
        items = values.items() if isinstance(values, dict) else [("", values)]
        for key, value in items:
            before = old[section][key] if key else old[section]
            if _plain(before) != _plain(value):
                name = f"{section}.{key}" if key else section
                raise ConfigError(f"{saved}: was run with {name}={before!r}, this study asks {value!r}; use another "
                                  "--out or the same settings")  # fmt: skip


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


# ------------------------------------------------------------------------------------------------------ datasets
@dataclass
class StudyData:
    """The training pairs, the held-out pairs and which of them are evaluated (the same for every run)."""

    train: object
    test: object
    eval_indices: list[int]
    curve_indices: list[int]
    ground_truth: str | None  # the dataset root when it carries synthetic ground truth (masks/), else None
    identity: str = ""  # digest of the dataset's files (experiments.recipe.data_identity), part of every recipe


def load_study_data(cfg: ExperimentConfig, opts: AblateOptions) -> StudyData:
    """Both splits of ``cfg.data.root`` (DataError naming what is missing) and the evenly spaced held-out pairs."""

    root = Path(cfg.data.root)
    if not root.is_dir():
        raise DataError(f"--data {opts.data}: no such folder")
    train_set = PairDataset.from_config(cfg, "train")
    try:
        test_set = PairDataset.from_config(cfg, "test", masks=False)
    except DataError as err:
        raise DataError(f"--data {opts.data}: the study needs a test split for its held-out pairs ({err})") from None
    n = len(test_set)
    gt = str(root) if mask_dir(root, "test").is_dir() else None
    return StudyData(train_set, test_set, evenly_spaced(n, opts.eval_pairs), evenly_spaced(n, opts.curve_pairs), gt,
                     data_identity(root, test_set.layout))


# --------------------------------------------------------------------------------------------------- evaluation
def inception_available(weights_dir: str | None) -> bool:
    """True when the TF-Inception weights are on disk (``weights_dir`` or torch's hub cache); nothing is
    downloaded. A ``weights_dir`` without the file is a WeightsError (the user asked for it)."""
    import torch

    if weights_dir:
        resolve_weights("inception", weights_dir)  # raises the one-line error when the file is not there
        return True
    return (Path(torch.hub.get_dir()) / "checkpoints" / STANDARD_NAMES["inception"]).is_file()


def table_metrics(data: StudyData, opts: AblateOptions) -> list[str]:
    """The metrics of this study: IS and mask-IS only with Inception weights, fg IoU only with ground truth."""
    names = [m for m in TABLE_METRICS if m not in INCEPTION_METRICS or inception_available(opts.weights_dir)]
    return [m for m in names if m != "fg_iou_gt" or data.ground_truth]


def evaluate_run(run_dir: Path, data: StudyData, metrics: list[str], opts: AblateOptions) -> dict[str, float]:
    """The final held-out evaluation of a run's exported generator; writes ``<run_dir>/eval/metrics.json|csv``."""

    progress = opts.progress
    generator = load_generator(run_dir / "generator")
    collected = collect(generator, data.test, data.eval_indices, batch_size=EVAL_BATCH, progress=progress)
    # Lossless in-memory images (EVAL_IMAGES), not the paper's JPEG grids: the report and result.json say so.
    collection = collected.lossless(description=f"posestylizer ablate: {run_dir} on {len(data.eval_indices)} "
                                    "held-out pairs")  # fmt: skip
    options = EvalOptions(protocol="paper", metrics=metrics, annotation=data.test.annotations,
                          ground_truth=data.ground_truth, ground_truth_phase="test", weights_dir=opts.weights_dir)
    report = evaluate(collection, options, progress)
    write_reports(report, run_dir / "eval")
    return {name: report.value(name) for name in report.metrics}


# -------------------------------------------------------------------------------------------------------- runs
@dataclass
class RunSpec:
    variant: Variant
    seed: int
    run_dir: Path
    cfg: ExperimentConfig


def plan_runs(opts: AblateOptions) -> list[RunSpec]:
    """Every (variant, seed) of the study in Table 2's order (or the order given), seeds inner."""
    variants = load_variants(opts.variants or None)
    return [RunSpec(v, s, run_folder(opts.out, v.name, s), run_config(opts, v, s)) for v in variants for s in opts.seeds]


def _add_timing(run_dir: Path, **seconds: float) -> dict[str, float]:
    """Add seconds to ``timing.json`` (train_s, eval_s, cpu_s: summed over the segments of a resumed run)."""
    path = run_dir / TIMING_FILE
    timing = json.loads(path.read_text()) if path.is_file() else {}
    for key, value in seconds.items():
        timing[key] = timing.get(key, 0.0) + value
    write_text_atomic(path, json.dumps(timing, indent=2))
    return timing


def train_run(spec: RunSpec, data: StudyData, opts: AblateOptions):
    """Train (or continue) one run with the held-out curve hook; returns the RunResult."""

    latest = CheckpointDir(spec.run_dir / "checkpoints").latest()
    curve = HeldOutCurve(spec.run_dir, data.test, data.curve_indices, opts.curve_every)
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        result = train(spec.cfg, data.train, spec.run_dir, resume_from=latest, sample_data=data.test,
                       progress=opts.progress, extra_hooks=[curve])  # fmt: skip
    finally:
        _add_timing(spec.run_dir, train_s=time.perf_counter() - wall, cpu_s=time.process_time() - cpu)
    if result.interrupted:
        _log(f"interrupted at step {result.steps}; run the same command again to continue {spec.run_dir}")
        raise KeyboardInterrupt
    return result


def study_recipe(spec: RunSpec, data: StudyData, opts: AblateOptions) -> dict[str, object]:
    """The recipe items of a run (:mod:`posestylizer.experiments.recipe`): what must match for seeds to average."""
    return run_recipe(spec.cfg.to_dict(), eval_pairs=len(data.eval_indices), curve_pairs=len(data.curve_indices),
                      curve_every=opts.curve_every, images=EVAL_IMAGES, data=data.identity)  # fmt: skip


def finish_run(spec: RunSpec, data: StudyData, metrics: list[str], opts: AblateOptions, steps: int) -> dict:
    """Evaluate a trained run and write its ``result.json`` (last: its presence means finished)."""
    wall, cpu = time.perf_counter(), time.process_time()
    values = evaluate_run(spec.run_dir, data, metrics, opts)
    timing = _add_timing(spec.run_dir, eval_s=time.perf_counter() - wall, cpu_s=time.process_time() - cpu)
    recipe = study_recipe(spec, data, opts)
    result = {
        "variant": spec.variant.name,
        "paper_row": spec.variant.paper_row,
        "seed": spec.seed,
        "recipe": recipe_hash(recipe),
        "images": EVAL_IMAGES,
        "metrics": values,
        "steps": steps,
        "pairs": len(data.eval_indices),
        "params": count_parameters(spec.cfg),
        "train_s": timing.get("train_s", 0.0),
        "eval_s": timing["eval_s"],
        "cpu_s": timing["cpu_s"],
        "recipe_items": recipe,
    }
    write_text_atomic(spec.run_dir / RESULT_FILE, json.dumps(result, indent=2))
    return result


def check_seed_recipes(todo: list[RunSpec], data: StudyData, opts: AblateOptions) -> None:
    """Before any training: ConfigError when a run to do would join finished seeds of its variant that ran another
    recipe (another -o, --steps, --eval-pairs or dataset), which the table would refuse to average."""
    for spec in todo:
        mine = study_recipe(spec, data, opts)
        planned = (spec.run_dir, {"recipe": recipe_hash(mine), "recipe_items": mine})
        for done in sorted(spec.run_dir.parent.glob("seed*/" + RESULT_FILE)):
            check_same_recipe((done.parent, json.loads(done.read_text())), planned)


def run_study(opts: AblateOptions) -> list[Path]:
    """Train and evaluate every missing run, then write the table and the figure; returns their paths."""
    opts.check()
    runs = plan_runs(opts)
    for spec in runs:
        _check_same_recipe(spec.cfg, spec.run_dir)
    todo = [s for s in runs if not (s.run_dir / RESULT_FILE).is_file()]
    done = {s.run_dir for s in runs} - {s.run_dir for s in todo}
    data = load_study_data(base_config(opts), opts) if todo else None
    metrics = table_metrics(data, opts) if data else []
    if data:
        check_seed_recipes(todo, data, opts)
    length = f"{opts.steps} steps" if opts.steps else f"{opts.budget_minutes:g} min"
    spent: list[float] = []
    for i, spec in enumerate(runs, 1):
        head = f"[{i}/{len(runs)}] {spec.variant.name} seed {spec.seed}"
        if spec.run_dir in done:
            _log(f"{head}: finished earlier ({spec.run_dir / RESULT_FILE}), not retrained")
            continue
        left = len(todo) - len(spent)
        eta = f"; about {sum(spent) / len(spent) * left / 60:.1f} min left" if spent else ""
        _log(f"{head}: training {length} -> {spec.run_dir}{eta}")
        started = time.perf_counter()
        result = train_run(spec, data, opts)
        _log(f"{head}: evaluating {len(data.eval_indices)} held-out pairs ({', '.join(metrics)})")
        finish_run(spec, data, metrics, opts, result.steps)
        spent.append(time.perf_counter() - started)
    return write_study_report(opts.out)


def write_study_report(out: str | Path) -> list[Path]:
    """Table 2 (markdown, CSV) and Fig. 7 from what is on disk under ``out``; returns the files written.

    ConfigError (one line naming both runs) when a variant's seeds ran different recipes; finished runs of a variant
    that no longer exists are reported on stderr and under the table."""

    study = collect_study(out)
    for line in study.unknown:
        _log(f"not in the table: {line}")
    written = list(write_table(out, study) or ())
    fig = write_fig7(out)
    return written + ([fig] if fig else [])


def list_variants(opts: AblateOptions) -> str:
    """One line per variant: name, Table 2 row, generator parameters at the base recipe, description."""
    base = base_config(opts)
    lines = [f"{'variant':<16}{'Table 2 row':<24}{'G params':>10}  description"]
    variants = load_variants(opts.variants or None)
    for v, (_, _, params) in zip(variants, parameter_table(base, variants)):
        row = v.paper_row or "(not in the paper)"
        lines.append(f"{v.name:<16}{row:<24}{params:>10,}  {v.description}")
    return "\n".join(lines)
