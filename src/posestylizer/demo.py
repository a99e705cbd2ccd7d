"""``posestylizer demo``: the whole loop on a fresh machine, offline, within a wall-clock budget.

1. render synthetic people (:mod:`posestylizer.data.synth`), split by identity;
2. train APS at a CPU-sized width for what is left of the budget (the LR schedule is stretched over that time);
3. evaluate held-out identities against two baselines (the source image copied unchanged; the untrained network)
   with SSIM, L1, SSIM/L1 inside the ground-truth person masks, and the foreground IoU against those masks;
4. write ``report.html`` (result grid, loss curves, metrics table, config).

The perceptual term is off: no VGG19 weights can be downloaded offline (the report says so).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from posestylizer.config import ExperimentConfig, load_config

# The demo recipe on top of the `synthetic` preset: a CPU-sized APS at half Market size (64x32, 3 blocks), no
# perceptual term (offline), pool of fakes as Market; lr: constant for the first half of the time, then linear to 0.
# Pose maps keep the market layout's sigma (6 px), so `posestylizer evaluate --checkpoint demo_out/run/generator
# --data demo_out/data` renders the same maps as training did (3 px, the sigma scaled with the image, is no better).
DEMO_SIZE = (64, 32)
DEMO_OVERRIDES = [
    "name=demo",
    f"model.image_size=[{DEMO_SIZE[0]},{DEMO_SIZE[1]}]",
    "model.n_blocks=3",
    "model.ngf=16",
    "model.ndf=8",
    "model.dropout=0.0",
    "loss.perceptual=false",
    "train.batch_size=8",
    "train.lr=1e-3",
    "train.epochs=1",
    "train.epochs_decay=1",
    "train.epoch_length=0",
    "train.log_every=5",
    "train.sample_every=0",
    "train.checkpoint_every=0",
    "train.device=cpu",
    "data.num_workers=0",
]
METRIC_COLUMNS = (
    ("ssim_clean", "SSIM", True),
    ("l1", "L1", False),
    ("mask_ssim_gt", "masked SSIM", True),
    ("mask_l1_gt", "masked L1", False),
    ("fg_iou_gt", "foreground IoU", True),
)
METHODS = (
    ("copy", "source copied (baseline)"),
    ("untrained", "untrained APS (baseline)"),
    ("trained", "trained APS"),
)


@dataclass
class DemoOptions:
    minutes: float = 10.0  # everything: data, training, evaluation, report
    out: str = "demo_out"
    identities: int = 120
    poses: int = 8
    eval_pairs: int = 120
    seed: int = 0
    overrides: list[str] = field(default_factory=list)
    progress: bool = True

    @property
    def reserve_seconds(self) -> float:
        """Time kept back from training for evaluation and the report (about 0.25 s per evaluated pair)."""
        return 15.0 + 0.25 * self.eval_pairs


def demo_config(opts: DemoOptions, data_root: Path) -> ExperimentConfig:
    return load_config(
        "synthetic", overrides=DEMO_OVERRIDES + [f"data.root={data_root}", f"train.seed={opts.seed}"] + opts.overrides
    )


def downscale_dataset(src: Path, dst: Path, size: tuple[int, int], progress: bool = False) -> None:
    """Copy a synthetic market-layout dataset at a smaller ``size`` (H, W): images, masks and background plates
    area-averaged, keypoints scaled (missing stay -1), pair lists unchanged. Same layout, so every command reads it.
    """
    import shutil

    from posestylizer.data.formats import read_annotations, write_annotations
    from posestylizer.data.layouts import PHASES, get_layout
    from posestylizer.pose import present

    layout = get_layout("market")
    h0, w0 = layout.image_size
    fy, fx = size[0] / h0, size[1] / w0
    for phase in PHASES:
        annotations = read_annotations(layout.annotation_path(src, phase))
        for folder in (layout.image_dir(dst, phase), dst / "masks" / phase, dst / "backgrounds" / phase):
            folder.mkdir(parents=True, exist_ok=True)
        names = list(annotations)
        if progress:
            from tqdm import tqdm

            names = tqdm(names, desc=f"resize {phase}", unit="image", file=sys.stderr, dynamic_ncols=True)
        scaled = []
        for name in names:
            stem = Path(name).stem
            for a, b in (
                (layout.image_dir(src, phase) / name, layout.image_dir(dst, phase) / name),
                (src / "masks" / phase / f"{stem}.png", dst / "masks" / phase / f"{stem}.png"),
                (src / "backgrounds" / phase / f"{stem}.png", dst / "backgrounds" / phase / f"{stem}.png"),
            ):
                with Image.open(a) as img:
                    small = img.resize((size[1], size[0]), Image.BOX)
                    if a.parent.parent.name == "masks":
                        small = small.point(lambda v: 255 if v > 127 else 0)
                    small.save(b, quality=95) if b.suffix == ".jpg" else small.save(b)
            kp = annotations[name].copy()
            ok = present(kp)
            kp[ok] = np.floor(kp[ok] * np.array([fy, fx])).astype(np.int64)
            scaled.append((name, kp))
        write_annotations(layout.annotation_path(dst, phase), scaled)
        shutil.copyfile(layout.pairs_path(src, phase), layout.pairs_path(dst, phase))


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------- metrics
def foreground(image: np.ndarray, plate: np.ndarray, threshold: float = 0.12) -> np.ndarray:
    """Pixels that differ from the background plate (mean |difference| over RGB above ``threshold`` of 255).

    The generator sees only the source image, so its background is the source's plate: a generated person's
    foreground is what differs from that plate.
    """
    from scipy.ndimage import binary_opening

    diff = np.abs(image.astype(np.float32) - plate.astype(np.float32)).mean(-1) / 255.0
    return binary_opening(diff > threshold, structure=np.ones((3, 3), bool))


def pair_metrics(target: np.ndarray, generated: np.ndarray, mask: np.ndarray, plate: np.ndarray) -> dict[str, float]:
    """SSIM (data_range 255), L1 in [-1, 1] units, both inside the ground-truth target mask, and foreground IoU."""
    from posestylizer.metrics.pixel import apply_mask, l1
    from posestylizer.metrics.ssim import ssim

    fg = foreground(generated, plate)
    union = np.logical_or(fg, mask).sum()
    return {
        "ssim_clean": ssim(target, generated, data_range=255.0),
        "l1": l1(target, generated),
        "mask_ssim_gt": ssim(apply_mask(target, mask), apply_mask(generated, mask), data_range=255.0),
        "mask_l1_gt": l1(apply_mask(target, mask), apply_mask(generated, mask)),
        "fg_iou_gt": float(np.logical_and(fg, mask).sum() / union) if union else 1.0,
    }


def _read_png(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img)


@torch.no_grad()
def evaluate_methods(
    dataset,
    indices: list[int],
    generators: dict[str, torch.nn.Module],
    data_root: Path,
    progress: bool = True,
    batch_size: int = 16,
) -> tuple[dict[str, dict[str, list[float]]], dict[str, list[np.ndarray]]]:
    """Per-pair metrics of ``copy`` and each generator (eval mode) on ``dataset[indices]`` (test split), and the
    generated images, in ``indices`` order."""
    from torch.utils.data import default_collate

    from posestylizer.data.synth import background_path, mask_path
    from posestylizer.viz import to_uint8

    per = {m: {c: [] for c, _, _ in METRIC_COLUMNS} for m in ["copy", *generators]}
    outputs: dict[str, list[np.ndarray]] = {m: [] for m in per}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(indices), desc="evaluate", unit="pair", file=sys.stderr, dynamic_ncols=True)
    for start in range(0, len(indices), batch_size):
        items = [dataset[i] for i in indices[start : start + batch_size]]
        batch = default_collate(items)
        fakes = {name: g(batch["src_img"], batch["src_pose"], batch["tgt_pose"]) for name, g in generators.items()}
        for j, item in enumerate(items):
            target = to_uint8(item["tgt_img"])
            mask = _read_png(mask_path(data_root, "test", item["tgt_name"])) > 127
            plate = _read_png(background_path(data_root, "test", item["src_name"]))
            results = {"copy": to_uint8(item["src_img"]), **{n: to_uint8(f[j]) for n, f in fakes.items()}}
            for name, gen in results.items():
                for k, v in pair_metrics(target, gen, mask, plate).items():
                    per[name][k].append(v)
                outputs[name].append(gen)
        if bar is not None:
            bar.update(len(items))
    if bar is not None:
        bar.close()
    return per, outputs


def summarize(per: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    return {m: {k: float(np.mean(v)) for k, v in cols.items()} for m, cols in per.items()}


def margins(summary: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Trained minus each baseline, signed so that positive = trained is better."""
    out = {}
    for base in ("copy", "untrained"):
        out[base] = {
            k: (summary["trained"][k] - summary[base][k]) * (1 if higher else -1) for k, _, higher in METRIC_COLUMNS
        }
    return out


# ------------------------------------------------------------------------------------------------------------ main
def run_demo(opts: DemoOptions) -> Path:
    """Run the demo and return the path of ``report.html``."""
    from posestylizer.checkpoint import load_generator
    from posestylizer.data.dataset import PairDataset
    from posestylizer.data.synth import write_dataset
    from posestylizer.models import Generator, init_generator_weights
    from posestylizer.report import write_report
    from posestylizer.training.run import read_scalars, train

    t0 = time.perf_counter()
    budget = opts.minutes * 60.0
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    data_root, run_dir = out / "data", out / "run"
    torch.set_num_threads(max(1, torch.get_num_threads()))

    _log(f"[1/4] synthetic people: {opts.identities} identities x {opts.poses} poses -> {data_root}")
    full = out / "data_128x64"
    summary = write_dataset(full, "market", opts.identities, opts.poses, opts.seed, progress=opts.progress)
    downscale_dataset(full, data_root, DEMO_SIZE, progress=opts.progress)
    cfg = demo_config(opts, data_root)
    train_set = PairDataset.from_config(cfg, "train", masks=False)
    test_set = PairDataset.from_config(cfg, "test", masks=False)
    t_data = time.perf_counter() - t0

    # The untrained baseline: the network exactly as training starts (same seed, reference initialisation).
    torch.manual_seed(cfg.train.seed)
    untrained = init_generator_weights(Generator(cfg.model)).eval()

    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    train_budget = budget - (time.perf_counter() - t0) - opts.reserve_seconds
    if train_budget < 10:
        from posestylizer.errors import ConfigError

        raise ConfigError(f"--minutes {opts.minutes}: too short; the demo needs at least {opts.reserve_seconds + 30:.0f} s")
    _log(f"[2/4] training APS (ngf {cfg.model.ngf}, batch {cfg.train.batch_size}) for {train_budget / 60:.1f} min on "
         f"{torch.get_num_threads()} CPU threads -> {run_dir}")  # fmt: skip
    t_train0 = time.perf_counter()
    result = train(cfg, train_set, run_dir, sample_data=test_set, time_budget=train_budget, progress=opts.progress,
                   perceptual=None)  # fmt: skip
    t_train = time.perf_counter() - t_train0

    _log(f"[3/4] evaluating {opts.eval_pairs} held-out pairs ({summary.identities['test']} unseen identities)")
    trained = load_generator(run_dir / "generator")  # the exported checkpoint, as evaluate/convert read it
    n = len(test_set)
    indices = sorted({int(i) for i in np.linspace(0, n - 1, min(opts.eval_pairs, n))})
    per, outputs = evaluate_methods(test_set, indices, {"untrained": untrained, "trained": trained}, data_root,
                                    progress=opts.progress)  # fmt: skip
    table = summarize(per)

    _log("[4/4] writing the report")
    picks = list(range(0, len(indices), max(1, len(indices) // 8)))[:8]
    facts = {
        "metrics": table,
        "margins": margins(table),
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
    return write_report(
        out,
        cfg=cfg,
        facts=facts,
        scalars=read_scalars(run_dir),
        examples=[(test_set[indices[j]], {m: outputs[m][j] for m in outputs}) for j in picks],
    )
