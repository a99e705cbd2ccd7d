"""``posestylizer experiments reid``: does APS augmentation help re-identification? A study on synthetic people.

Identity is ground truth on synthetic people, so the question can be asked cleanly::

    <out>/study.json                 the options that decide the results (another run into <out> must match them)
    <out>/data_128x64/, data/        synthetic people at the market size, resized to the demo recipe's 64x32
    <out>/aps/trained/               APS (demo preset) trained on the training people only, ``--aps-steps``
    <out>/aps/untrained/generator/   the same architecture as initialised (the third arm's generator)
    <out>/aug/<generator>/           ``posestylizer augment`` of the training set, K poses per image
    <out>/arms/<arm>/seed<k>/result.json   rank-1, mAP and identity drift of one re-ID model (written last)
    <out>/table.md, table.csv, reid.png     the summary over what is on disk

Arms: ``real`` (the real training images), ``real+aps`` (plus the trained generator's images) and
``real+untrained`` (plus the untrained generator's images: as many extra images, none of them good), each trained
for the same number of iterations with each seed. Every stage is skipped when its output is on disk, so running the
command again resumes (or only redraws the table).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from posestylizer.augment import AugmentOptions, run_augment
from posestylizer.checkpoints.contract import InputContract
from posestylizer.checkpoints.native import is_checkpoint_folder, save_generator
from posestylizer.config import load_config
from posestylizer.data.dataset import PairDataset
from posestylizer.data.layouts import get_layout
from posestylizer.data.resize import resize_dataset
from posestylizer.data.synth import write_dataset
from posestylizer.errors import ConfigError
from posestylizer.experiments.reid_data import ImageSet, drift, query_gallery, read_folder, read_manifest
from posestylizer.experiments.reid_net import retrieval_scores, train_reid
from posestylizer.experiments.reid_report import write_report
from posestylizer.models import Generator, init_generator_weights
from posestylizer.runtime.extras import import_extra
from posestylizer.runtime.files import write_text_atomic
from posestylizer.runtime.progress import QUIET, Progress
from posestylizer.training.run import train

STUDY_ARMS = (
    ("real", None, "real images only"),
    ("real+aps", "trained", "real + trained-APS images"),
    ("real+untrained", "untrained", "real + untrained-APS images"),
)
RESULT_FILE = "result.json"
SYNTH_PRESET = "market"  # rendered at this preset's size, then resized to the demo recipe's


@dataclass
class ReidStudyOptions:
    """What ``posestylizer experiments reid`` was asked for (see :mod:`posestylizer.commands.experiments`)."""

    out: str = "runs/reid-study"
    train_identities: int = 300
    test_identities: int = 100
    poses: int = 6  # real images per person
    aps_steps: int = 500  # APS training iterations (demo preset, batch 8)
    aug_poses: int = 2  # K: generated images per real training image
    reid_steps: int = 800  # re-ID iterations per arm and seed
    reid_batch: int = 64
    reid_width: int = 16
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    data_seed: int = 0
    progress: Progress = QUIET

    def decisive(self) -> dict:
        """The options that decide the results (``progress`` and the seed list do not: more seeds may be added)."""
        d = asdict(self)
        for key in ("out", "progress", "seeds"):
            d.pop(key)
        return d


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _check_out(opts: ReidStudyOptions, out: Path) -> None:
    """Record the options in ``out/study.json`` or refuse a folder made with other ones."""
    record = out / "study.json"
    if record.is_file():
        old = json.loads(record.read_text())
        if old != opts.decisive():
            diff = ", ".join(f"{k}: {old.get(k)} -> {v}" for k, v in opts.decisive().items() if old.get(k) != v)
            raise ConfigError(f"{out}: made with other study options ({diff}); choose a new --out or the same options")
        return
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(record, json.dumps(opts.decisive(), indent=2) + "\n")


def _done(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


# ---------------------------------------------------------------------------------------------------------- stages
def prepare_data(opts: ReidStudyOptions, out: Path, cfg, progress: Progress) -> dict:
    """Render and resize the synthetic people once; returns the stage's record (counts, CPU seconds)."""

    marker = out / "data.json"
    if (record := _done(marker)) is not None:
        return record
    c0 = time.process_time()
    total = opts.train_identities + opts.test_identities
    h, w = get_layout(SYNTH_PRESET).image_size
    full, data = out / f"data_{h}x{w}", out / "data"
    summary = write_dataset(full, SYNTH_PRESET, total, opts.poses, opts.data_seed,
                            test_fraction=opts.test_identities / total, progress=opts.progress)  # fmt: skip
    shutil.rmtree(data, ignore_errors=True)
    resize_dataset(full, data, tuple(cfg.model.image_size), layout=SYNTH_PRESET, progress=progress)
    record = {"identities": summary.identities, "images": summary.images, "cpu_s": time.process_time() - c0}
    write_text_atomic(marker, json.dumps(record, indent=2) + "\n")
    return record


def train_aps(opts: ReidStudyOptions, out: Path, cfg) -> dict:
    """Train APS on the training people (``aps_steps`` iterations) and save the untrained generator beside it."""
    import torch

    untrained = out / "aps" / "untrained" / "generator"
    if not is_checkpoint_folder(untrained):
        torch.manual_seed(cfg.train.seed)  # the network exactly as the trained run starts
        save_generator(init_generator_weights(Generator(cfg.model)), cfg.model, untrained,
                       InputContract.of_experiment(cfg))  # fmt: skip
    marker = out / "aps" / "trained.json"
    if (record := _done(marker)) is not None:
        return record
    run_dir = out / "aps" / "trained"
    shutil.rmtree(run_dir, ignore_errors=True)  # an unfinished run starts over: it is the short part of the study
    c0 = time.process_time()
    result = train(cfg, PairDataset.from_config(cfg, "train"), run_dir, max_steps=opts.aps_steps,
                   progress=opts.progress, perceptual=None)  # fmt: skip
    record = {"steps": result.steps, "cpu_s": time.process_time() - c0}
    write_text_atomic(marker, json.dumps(record, indent=2) + "\n")
    return record


def augment(opts: ReidStudyOptions, out: Path, which: str) -> dict:
    """``posestylizer augment`` of the training set with the ``which`` (trained | untrained) generator."""

    marker = out / "aug" / f"{which}.json"
    if (record := _done(marker)) is not None:
        return record
    c0 = time.process_time()
    summary = run_augment(AugmentOptions(checkpoint=str(out / "aps" / which / "generator"), data=str(out / "data"),
                                         out=str(out / "aug" / which), poses=opts.aug_poses, seed=opts.data_seed,
                                         device="cpu", progress=opts.progress))  # fmt: skip
    record = {"images": summary.images, "sources": summary.sources, "no_pose": summary.no_pose,
              "cpu_s": time.process_time() - c0}  # fmt: skip
    write_text_atomic(marker, json.dumps(record, indent=2) + "\n")
    return record


def run_arm(opts: ReidStudyOptions, out: Path, arm: str, source: str | None, seed: int, sets: dict,
            progress: Progress) -> dict:  # fmt: skip
    """Train and evaluate one re-ID model (skipped when its ``result.json`` exists); returns the result."""

    path = out / "arms" / arm / f"seed{seed}" / RESULT_FILE
    if (record := _done(path)) is not None:
        return record
    c0 = time.process_time()
    train = sets["real"] if source is None else ImageSet.concat([sets["real"], sets[source]])
    net = train_reid(train, steps=opts.reid_steps, seed=seed, batch=opts.reid_batch, width=opts.reid_width,
                     progress=progress)  # fmt: skip
    scores = retrieval_scores(net, sets["test"], sets["query"], sets["gallery"])
    drifts = {g: drift(net.embed, sets["real"], sets[g], sets[f"{g}_pairs"], seed=seed) for g in ("trained", "untrained")}
    record = {"arm": arm, "seed": seed, **scores, "drift": drifts, "train_images": len(train),
              "steps": opts.reid_steps, "cpu_s": time.process_time() - c0}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(record, indent=2) + "\n")
    return record


def _load_sets(out: Path) -> dict:
    lay = get_layout(SYNTH_PRESET)
    sets = {"real": read_folder(lay.image_dir(out / "data", "train")), "test": read_folder(lay.image_dir(out / "data", "test"))}
    sets["query"], sets["gallery"] = query_gallery(sets["test"])
    for g in ("trained", "untrained"):
        pairs = read_manifest(out / "aug" / g)
        sets[g] = read_folder(out / "aug" / g, [p[0] for p in pairs])
        sets[f"{g}_pairs"] = pairs
    return sets


# ------------------------------------------------------------------------------------------------------------ main
def run_study(opts: ReidStudyOptions) -> Path:
    """Run (or resume) the study; returns the path of ``table.md``."""

    if opts.train_identities < 2 or opts.test_identities < 2 or opts.poses < 3 or not opts.seeds:
        raise ConfigError("--train-identities and --test-identities must be >= 2, --poses >= 3, --seeds not empty")

    import_extra("torchmetrics", "study", "posestylizer experiments reid")  # say so before an hour of work
    out = Path(opts.out)
    _check_out(opts, out)
    progress = opts.progress
    half = max(1, (opts.aps_steps + 1) // 2)  # the demo recipe: constant LR for half the steps, then linear to 0
    cfg = load_config("demo", overrides=[f"data.root={out / 'data'}", f"train.seed={opts.data_seed}",
                                         f"train.epoch_length={half * 8}", "train.batch_size=8"])  # fmt: skip
    _log(f"[1/5] synthetic people: {opts.train_identities} + {opts.test_identities} identities x {opts.poses} images")
    stages = {"data": prepare_data(opts, out, cfg, progress)}
    _log(f"[2/5] APS on the training people: {opts.aps_steps} iterations -> {out / 'aps'}")
    stages["aps"] = train_aps(opts, out, cfg)
    for g in ("trained", "untrained"):
        _log(f"[3/5] augment with the {g} generator: {opts.aug_poses} poses per image -> {out / 'aug' / g}")
        stages[f"augment_{g}"] = augment(opts, out, g)
    sets = None
    results = []
    todo = [(a, s, seed) for a, s, _ in STUDY_ARMS for seed in opts.seeds]
    for k, (arm, source, seed) in enumerate(todo):
        if not (out / "arms" / arm / f"seed{seed}" / RESULT_FILE).is_file():
            _log(f"[4/5] re-ID {k + 1}/{len(todo)}: {arm}, seed {seed}, {opts.reid_steps} iterations")
            if sets is None:
                sets = _load_sets(out)
        results.append(run_arm(opts, out, arm, source, seed, sets, progress))
    _log(f"[5/5] table and figure -> {out}")
    return write_report(out, results, stages, STUDY_ARMS)
