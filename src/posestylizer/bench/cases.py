"""What the benchmark measures: one call of generator inference, of a full training iteration, of the loader, or of
the inference pipeline (``generate`` and ``animate`` cases: :mod:`posestylizer.bench.pipeline_cases`).

A case is named ``kind:preset:batch``:

- ``infer:market:8``: the generator's forward pass on a batch (eval mode, ``torch.inference_mode``), the config's
  precision (autocast), NCHW memory as the pipeline uses it (``bench.channels_last=true``: channels_last);
- ``train:demo:8``: one reference iteration, ``Trainer.train_step`` (G step, D_PP step, D_PB step, Adam updates,
  image pools) on batches already in memory, so it measures the networks and the objective;
- ``loop:demo:8``: ``posestylizer train`` itself in process (``training.run.train`` for ``bench.steps`` iterations:
  loader, hooks, log, closing checkpoint), so the gap between the loop and its iteration shows;
- ``data:demo:8``: one batch from the training ``DataLoader`` of the config (its workers, pose maps rendered on the
  fly) over a small synthetic market-layout dataset written to a temporary folder.

Every case runs on real data: synthetic people (16 x 6 poses, written first, not timed), their pose maps rendered as
training and the pipeline render them. ``infer-random`` and ``train-random`` keep the old fixed random batch (pose
maps uniform in [0, 1]), named as such: a rate the real data does not reach is a finding, not a result.

Only the package's public pieces are used (``load_config``, ``Generator``, ``Trainer``, ``PairDataset``,
``write_dataset``), so the same cases also drive an older revision's code (``posestylizer bench --compare REV``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from posestylizer.bench.augment_case import augment_case
from posestylizer.bench.case import DTYPES, Case
from posestylizer.bench.pipeline_cases import animate_case, generate_case
from posestylizer.config import ExperimentConfig, load_config

KINDS = ("infer", "train", "loop", "data", "generate", "animate", "augment", "infer-random", "train-random")
DEFAULT_CASES = ("infer:market:8", "train:demo:8", "loop:demo:8", "train:market:4", "data:demo:8")
@dataclass(frozen=True)
class CaseSpec:
    kind: str
    preset: str
    batch: int

    @classmethod
    def parse(cls, text: str) -> CaseSpec:
        """``kind:preset:batch`` -> spec; ValueError with the expected form otherwise."""
        parts = text.split(":")
        if len(parts) != 3 or parts[0] not in KINDS or not parts[2].isdigit() or int(parts[2]) < 1:
            raise ValueError(f"case '{text}': expected KIND:PRESET:BATCH with KIND in {', '.join(KINDS)}, "
                             "e.g. train:demo:8")  # fmt: skip
        return cls(parts[0], parts[1], int(parts[2]))

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.preset}:{self.batch}"


def bench_config(preset: str, batch: int, overrides: list[str]) -> ExperimentConfig:
    """A preset at the case's batch size with the user's overrides; ``demo`` is the recipe of ``posestylizer demo``."""
    return load_config(preset, overrides=[f"train.batch_size={batch}", *overrides])


def describe(cfg: ExperimentConfig, channels_last: bool) -> str:
    m, t = cfg.model, cfg.train
    fmt = ", channels_last" if channels_last else ""
    return f"{m.image_size[0]}x{m.image_size[1]}, {m.n_blocks} blocks, ngf {m.ngf}, ndf {m.ndf}, {t.precision}{fmt}"


def random_inputs(
    cfg: ExperimentConfig, batch: int, device: torch.device, channels_last: bool
) -> dict[str, torch.Tensor]:
    """A fixed random batch of the training keys: images in [-1, 1], pose maps in [0, 1], and a random person mask
    (bool, about a third of the pixels) where the recipe's masked L1 needs one (``loss.lambda_l1_mask`` > 0)."""
    h, w = cfg.model.image_size
    gen = torch.Generator().manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    shapes = {
        "src_img": 3,
        "tgt_img": 3,
        "src_pose": cfg.model.pose_channels,
        "tgt_pose": cfg.model.pose_channels,
    }
    out = {}
    for key, c in shapes.items():
        x = torch.rand(batch, c, h, w, generator=gen)
        out[key] = (x * 2 - 1 if key.endswith("img") else x).to(device).contiguous(memory_format=fmt)
    if cfg.loss.lambda_l1_mask > 0:
        out["tgt_mask"] = (torch.rand(batch, 1, h, w, generator=gen) < 1 / 3).to(device)
    return out


def real_inputs(cfg: ExperimentConfig, batch: int, device: torch.device, channels_last: bool,
                count: int = 4) -> tuple[list[dict[str, torch.Tensor]], Callable[[], object]]:  # fmt: skip
    """``count`` batches of the config's training loader over synthetic people (images, pose maps rendered as
    training and the pipeline render them), on ``device``; and the cleanup of their temporary folder."""
    from posestylizer.data import PairDataset

    tmp = tempfile.TemporaryDirectory(prefix="posestylizer-bench-")
    cfg = _on_synthetic_people(cfg, Path(tmp.name))
    dataset = PairDataset.from_config(cfg, "train", check=False)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(0))  # fmt: skip
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    batches = []
    for b, _ in zip(loader, range(count)):
        batches.append({k: v.to(device).contiguous(memory_format=fmt) for k, v in b.items()
                        if k in ("src_img", "tgt_img", "src_pose", "tgt_pose", "tgt_mask")})  # fmt: skip
    return batches, tmp.cleanup


def _inputs(kind: str, cfg: ExperimentConfig, batch: int, device: torch.device, channels_last: bool):
    """(batches, cleanups, words): rendered pose maps from synthetic people, or one random batch for ``*-random``."""
    if kind.endswith("-random"):
        return [random_inputs(cfg, batch, device, channels_last)], [], "random batch (pose maps uniform)"
    batches, cleanup = real_inputs(cfg, batch, device, channels_last)
    return batches, [cleanup], "synthetic people, pose maps rendered"


def _cycle(batches: list) -> Callable[[], dict]:
    state = {"i": -1}

    def next_batch() -> dict:
        state["i"] = (state["i"] + 1) % len(batches)
        return batches[state["i"]]

    return next_batch


def infer_case(cfg: ExperimentConfig, batch: int, device: torch.device, options: dict) -> Case:
    """Inference as the package's pipeline and ``evaluate`` run it: NCHW tensors unless ``bench.channels_last=true``
    (``train.channels_last`` is a training setting and does not apply here)."""
    from posestylizer.models import Generator

    torch.manual_seed(0)
    channels_last = options.get("channels_last", False)
    fmt = torch.channels_last if channels_last else torch.preserve_format
    g = Generator(cfg.model).to(device=device, memory_format=fmt).eval()
    batches, cleanup, words = _inputs(options["kind"], cfg, batch, device, channels_last)
    next_batch = _cycle(batches)
    dtype = DTYPES[cfg.train.precision]

    def call() -> torch.Tensor:
        x = next_batch()
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            return g(x["src_img"], x["src_pose"], x["tgt_pose"])

    return Case(call, batch, dtype, f"{describe(cfg, channels_last)}, {words}", cleanup=cleanup)


class _Length(torch.utils.data.Dataset):
    """The Trainer only asks the dataset for its length here (batches are given directly)."""

    def __len__(self) -> int:
        return 1024


def _perceptual(cfg: ExperimentConfig):
    from posestylizer.training.losses import VGGRelu12

    # Random VGG weights cost what the real ones do; none can be downloaded here.
    return VGGRelu12() if cfg.loss.perceptual and cfg.loss.lambda_perceptual else None


def train_case(cfg: ExperimentConfig, batch: int, device: torch.device, options: dict) -> Case:
    """One iteration, ``Trainer.train_step``, on batches already in memory (rendered, or random for
    ``train-random``): the networks and the objective without the loader and the loop's hooks."""
    from posestylizer.training.distributed import DistInfo
    from posestylizer.training.loop import Trainer

    vgg = _perceptual(cfg)
    trainer = Trainer(cfg, _Length(), DistInfo(device=device), perceptual=vgg)
    batches, cleanup, words = _inputs(options["kind"], cfg, batch, device, cfg.train.channels_last)
    next_batch = _cycle(batches)
    perceptual = ", perceptual" if vgg is not None else ""
    setting = f"{describe(cfg, cfg.train.channels_last)}{perceptual}, {words}"
    return Case(lambda: trainer.train_step(next_batch()), batch, DTYPES[cfg.train.precision], setting,
                cleanup=cleanup)  # fmt: skip


def loop_case(cfg: ExperimentConfig, batch: int, device: torch.device, options: dict) -> Case:
    """``posestylizer train`` in process: ``training.run.train`` for ``bench.steps`` iterations (default 20) on
    synthetic people, with its loader, hooks, scalar log and closing checkpoint, from building the networks on; a
    fresh run folder per call. Its gap to ``train:`` is what the loop costs beyond the iteration."""
    import dataclasses
    import shutil

    from posestylizer.data import PairDataset
    from posestylizer.training.run import train

    steps = int(options.get("steps", 20))
    tmp = tempfile.TemporaryDirectory(prefix="posestylizer-bench-")
    cfg = _on_synthetic_people(cfg, Path(tmp.name))
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, device=device.type))
    dataset = PairDataset.from_config(cfg, "train", check=False)
    vgg, runs = _perceptual(cfg), {"n": 0}

    def call() -> None:
        runs["n"] += 1
        run_dir = Path(tmp.name) / f"run{runs['n']}"
        train(cfg, dataset, run_dir, max_steps=steps, progress=_quiet(), perceptual=vgg)
        shutil.rmtree(run_dir, ignore_errors=True)

    setting = f"{describe(cfg, cfg.train.channels_last)}, train() {steps} steps, {cfg.data.num_workers} workers"
    return Case(call, batch * steps, DTYPES[cfg.train.precision], setting, cleanup=[tmp.cleanup])


def _quiet():
    """No progress bars, in the form this revision's ``train`` takes (a Progress now; a bool before it existed)."""
    try:
        from posestylizer.runtime.progress import QUIET
    except ImportError:
        return False
    return QUIET


def _synthetic_people(tmp: Path, size: tuple[int, int]) -> Path:
    """16 synthetic people x 6 poses in the market layout at ``size`` (rendered at 128x64, then resized)."""
    from posestylizer.data import write_dataset

    write_dataset(tmp / "full", "market", identities=16, poses=6, seed=0)
    if size == (128, 64):
        return tmp / "full"
    from posestylizer.data.resize import resize_dataset

    resize_dataset(tmp / "full", tmp / "resized", size)
    return tmp / "resized"


def _on_synthetic_people(cfg: ExperimentConfig, tmp: Path) -> ExperimentConfig:
    """``cfg`` reading 16 synthetic people x 6 poses written under ``tmp`` at its image size (market layout)."""
    import dataclasses

    root = _synthetic_people(tmp, tuple(cfg.model.image_size))
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, root=str(root), layout="market"))


def data_case(cfg: ExperimentConfig, batch: int, device: torch.device, options: dict) -> Case:
    """Batches of the config's training loader over 16 synthetic people x 6 poses (written first, not timed)."""

    from posestylizer.data import PairDataset

    tmp = tempfile.TemporaryDirectory(prefix="posestylizer-bench-")
    cfg = _on_synthetic_people(cfg, Path(tmp.name))
    dataset = PairDataset.from_config(cfg, "train", check=False)
    workers = cfg.data.num_workers
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch, shuffle=True, num_workers=workers, persistent_workers=workers > 0,
        pin_memory=device.type == "cuda", generator=torch.Generator().manual_seed(0), drop_last=True,
    )  # fmt: skip
    state = {"it": iter(loader)}

    def call() -> object:
        try:
            return next(state["it"])
        except StopIteration:
            state["it"] = iter(loader)
            return next(state["it"])

    h, w = cfg.model.image_size
    setting = f"{h}x{w}, {workers} workers, pose maps rendered, {len(dataset)} pairs"
    return Case(call, batch, None, setting, cleanup=[lambda: state.clear(), tmp.cleanup])


BUILDERS = {"infer": infer_case, "train": train_case, "loop": loop_case, "data": data_case,
            "generate": generate_case, "animate": animate_case, "augment": augment_case, "infer-random": infer_case,
            "train-random": train_case}  # fmt: skip


# ``bench.KEY=VALUE`` options of the cases themselves: channels_last (infer), checkpoint (generate, animate), steps
# (loop), flush_denormal (every case: flush-to-zero forced from outside, before the case is built)
BENCH_OPTIONS = {"channels_last": bool, "checkpoint": str, "steps": int, "flush_denormal": bool}


def split_overrides(overrides: list[str]) -> tuple[list[str], dict]:
    """(config overrides, case options from ``bench.KEY=VALUE`` items); ValueError for an unknown option."""
    config, options = [], {}
    for item in overrides:
        key, _, value = item.partition("=")
        if not key.startswith("bench."):
            config.append(item)
            continue
        name = key.removeprefix("bench.")
        kind = BENCH_OPTIONS.get(name)
        if kind is None or (kind is bool and value.lower() not in ("true", "false")) or not value or (
            kind is int and not value.isdigit()
        ):
            raise ValueError(f"'{item}': the bench's own options are bench.channels_last=true|false, "
                             "bench.checkpoint=PATH, bench.steps=N and bench.flush_denormal=true|false")  # fmt: skip
        options[name] = value.lower() == "true" if kind is bool else int(value) if kind is int else value
    return config, options


def build_case(spec: CaseSpec, overrides: list[str], device: torch.device) -> Case:
    """The case of ``spec`` with config ``overrides`` (precision among them; ``bench.channels_last=true`` runs the
    inference cases in channels_last memory) on ``device``."""
    config, options = split_overrides(overrides)
    if options.get("flush_denormal"):
        torch.set_flush_denormal(True)  # before any parallel work, so that the thread pool inherits it
    cfg = bench_config(spec.preset, spec.batch, config)
    return BUILDERS[spec.kind](cfg, spec.batch, device, {**options, "kind": spec.kind})
