"""Building blocks of ``benchmarks/gpu_check.py``: sizes, real pose-map batches, timing, the FLOP/s ceiling probes
and the checks that run inside this process (equivalence, inference, training, largest batch).

Every check returns a list of row dicts; a row that could not run carries ``note`` (``skipped: ...`` or the error's
first line) instead of numbers, so one failing configuration never hides the others.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from posestylizer.bench.ceiling import machine_ceiling
from posestylizer.bench.measure import synchronize
from posestylizer.config import ExperimentConfig, load_config

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# --tiny: every code path at a size two shared CPU cores run in seconds (the real presets' norms and losses kept).
TINY = {
    "market": ["model.image_size=[32,16]", "model.n_blocks=2", "model.ngf=8", "model.ndf=8", "data.heatmap_sigma=2"],
    "fashion": ["model.image_size=[48,44]", "model.n_blocks=3", "model.ngf=8", "model.ndf=8", "data.heatmap_sigma=3"],
}


@dataclass
class Ctx:
    """What every check sees: the device, the size mode, where to write, and the check's own deadline."""

    device: torch.device
    tiny: bool
    work: Path
    fixtures: Path
    deadline: float = field(default=float("inf"))
    compile_backend: str = "inductor"
    ceilings: dict = field(default_factory=dict)  # dtype name -> {"flops": FLOP/s, "by": probe name}

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"


def config(preset: str, batch: int, tiny: bool, extra: list[str] = ()) -> ExperimentConfig:
    """The paper preset at ``batch`` (tiny sizes with ``tiny``); extra are dotted overrides."""
    over = [f"train.batch_size={batch}", *(TINY[preset] if tiny else []), *extra]
    return load_config(preset, overrides=over)


def pose_batch(cfg: ExperimentConfig, batch: int, device: torch.device, channels_last: bool) -> dict:
    """A batch of the training keys with REAL pose maps: the pose library's poses, placed as in the preset's images
    and rendered with the package's heatmap function (so the maps have the real zeros and Gaussian tails); the
    images are fixed random values in [-1, 1] (their content does not change the work)."""
    from posestylizer.inference.framing import framing_for
    from posestylizer.keypoints.library import library_pose, pose_names
    from posestylizer.keypoints.maps import heatmaps

    size, sigma = tuple(cfg.model.image_size), cfg.data.heatmap_sigma
    framing = framing_for(cfg.data.layout)
    names = pose_names()
    maps = {n: torch.from_numpy(heatmaps(library_pose(n, size, framing), size, sigma)) for n in names}
    gen = torch.Generator().manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    out = {
        "src_pose": torch.stack([maps[names[i % len(names)]] for i in range(batch)]),
        "tgt_pose": torch.stack([maps[names[(i + 3) % len(names)]] for i in range(batch)]),
        "src_img": torch.rand(batch, 3, *size, generator=gen) * 2 - 1,
        "tgt_img": torch.rand(batch, 3, *size, generator=gen) * 2 - 1,
    }
    return {k: v.to(device).contiguous(memory_format=fmt) for k, v in out.items()}


def rate(fn: Callable[[], object], device: torch.device, tiny: bool, warmup: int = 2) -> float:
    """Calls per second of ``fn``: warm-up, then the median of 3 timed repetitions of ~0.3 s each. ``tiny`` (code
    paths only): one warm-up call and one timed call."""
    for _ in range(1 if tiny else warmup):
        fn()
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    once = max(time.perf_counter() - start, 1e-6)
    if tiny:
        return 1.0 / once
    calls, times = max(1, min(200, int(0.3 / once))), []
    for _ in range(3):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        synchronize(device)
        times.append((time.perf_counter() - start) / calls)
    return 1.0 / sorted(times)[1]


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200] if text else ''}"


def release(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_mib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


# ---------------------------------------------------------------------------------------------- the ceiling
def measure_ceiling(device: torch.device, dtype_name: str, tiny: bool) -> dict:
    """The bench's ceiling (:func:`posestylizer.bench.ceiling.machine_ceiling`: a GEMM and 3x3 convolutions, NCHW
    and channels_last, forward and forward + backward, warmed up, best of 3) in this dtype, under this process's TF32
    settings (the cases' settings). GEMM side 8192 on a GPU (probes big enough to fill it), 256 when tiny."""
    n = 8192 if device.type == "cuda" and not tiny else 256
    best = machine_ceiling(device, DTYPES[dtype_name], n=n)
    return {"flops": best.flops_per_s, "by": f"{best.probe} (n={n})", "probes": best.probes}


def share(ctx: Ctx, dtype_name: str, flops: float) -> tuple[float | None, str]:
    """(share of the dtype's ceiling in %, note); a case above the ceiling raises it and says so."""
    ceiling = ctx.ceilings.get(dtype_name)
    if not ceiling:
        return None, ""
    if flops > ceiling["flops"]:
        ceiling.update(flops=flops, by="a case (above the probes)")
        return 100.0, "raised the ceiling"
    return 100.0 * flops / ceiling["flops"], ""


# ---------------------------------------------------------------------------------------------- equivalence
def equivalence_rows(ctx: Ctx) -> list[dict]:
    """The authors' generator fixtures (market ngf 8 with BatchNorm statistics, fashion ngf 4) run on the device:
    strict fp32 (TF32 off) must match the reference output to 1e-5, as tests/test_convert.py asserts on CPU; the
    default cuDNN TF32 and channels_last runs are reported beside it."""
    from posestylizer import load_generator
    from posestylizer.keypoints.maps import heatmaps

    rows = []
    for name in ("aps_market_ngf8_bnstats.pt", "aps_fashion_ngf4.pt"):
        path = ctx.fixtures / name
        if not path.is_file():
            raise FileNotFoundError(f"{path}: reference fixture missing; pass --fixtures DIR "
                                    "(a copy of shared/fixtures/reference)")  # fmt: skip
        fixture = torch.load(path, weights_only=True)
        pth = ctx.work / f"{name}.pth"
        torch.save(fixture["state_dict"], pth)
        g = load_generator(pth, device=ctx.device)
        inputs, cfg = fixture["inputs"], fixture["config"]
        if "BP1" in inputs:
            args = [inputs["P1"], inputs["BP1"], inputs["BP2"]]
        else:  # the fashion fixture stores keypoints: its maps are rebuilt with our function (as the tests do)
            size = tuple(cfg["image_size"])
            args = [inputs["P1"]] + [torch.stack([torch.from_numpy(heatmaps(np.asarray(kp), size, cfg["heatmap_sigma"]))
                                                   for kp in cfg[key]]) for key in ("keypoints_BP1_yx", "keypoints_BP2_yx")]  # fmt: skip
        expected = fixture["output"]
        for setting, tf32, cl in (("fp32 strict (TF32 off)", False, False), ("fp32 strict, channels_last", False, True),
                                  ("fp32, cuDNN TF32 on (default)", True, False)):  # fmt: skip
            if not ctx.cuda and tf32:
                rows.append({"fixture": name, "setting": setting, "note": "skipped: TF32 is CUDA-only"})
                continue
            fmt = torch.channels_last if cl else torch.contiguous_format
            with _tf32(tf32), torch.no_grad():
                g = g.to(memory_format=fmt)
                out = g(*(a.to(ctx.device).contiguous(memory_format=fmt) for a in args)).float().cpu()
            diff = (out - expected).abs().max().item()
            bar = None if tf32 else 1e-5
            verdict = "info" if bar is None else ("PASS" if diff <= bar else "FAIL")
            rows.append({"fixture": name, "setting": setting, "max_abs_diff": diff, "bar": bar, "verdict": verdict})
    return rows


@contextlib.contextmanager
def _tf32(cudnn_tf32: bool):
    """cuDNN TF32 on/off for the block (matmul TF32 stays off, PyTorch's default); restores the previous flags."""
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = cudnn_tf32, False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


# ---------------------------------------------------------------------------------------------- training
class _Length(torch.utils.data.Dataset):
    """The Trainer only asks its dataset for a length here: the batch is handed to ``train_step`` directly."""

    def __len__(self) -> int:
        return 1024


def make_trainer(cfg: ExperimentConfig, device: torch.device):
    """The package's own Trainer (G, D_PB, D_PP, Adam, pools, GradScaler for fp16) with random VGG weights for the
    perceptual term (they cost what the real ones do; none can be downloaded here)."""
    from posestylizer.training.distributed import DistInfo
    from posestylizer.training.loop import Trainer
    from posestylizer.training.losses import VGGRelu12

    vgg = VGGRelu12() if cfg.loss.perceptual and cfg.loss.lambda_perceptual else None
    return Trainer(cfg, _Length(), DistInfo(device=device), perceptual=vgg)


def largest_batch(fits: Callable[[int], bool], start: int, cap: int, deadline: float) -> tuple[int, str]:
    """Largest batch b <= cap with ``fits(b)``: doubling from ``start``, then bisection to within 1/16 of it.
    Returns (batch, how it ended: "cap", "bisected", "time limit" or "start does not fit")."""
    if not fits(start):
        return 0, "start does not fit"
    lo, hi = start, None
    while hi is None:
        if lo >= cap:
            return lo, "cap"
        if time.perf_counter() > deadline:
            return lo, "time limit"
        trial = min(lo * 2, cap)
        if fits(trial):
            lo = trial
        else:
            hi = trial
    while hi - lo > max(1, lo // 16):
        if time.perf_counter() > deadline:
            return lo, "time limit"
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo, "bisected"


def train_fits(trainer, cfg: ExperimentConfig, device: torch.device, limit: int | None) -> Callable[[int], bool]:
    """``fits(b)``: does one training iteration at batch b run without torch.OutOfMemoryError. ``limit`` (tiny
    mode only) stands in for the device's memory so that the bisection and the OOM handling run on a CPU."""

    def fits(b: int) -> bool:
        batch = None
        try:
            if limit is not None and b > limit:
                raise torch.OutOfMemoryError(f"artificial limit {limit} (tiny mode)")
            batch = pose_batch(cfg, b, device, cfg.train.channels_last)
            trainer.train_step(batch)
            synchronize(device)
            return True
        except torch.OutOfMemoryError:
            return False
        finally:
            del batch
            for opt in trainer.optimizers.values():
                opt.zero_grad(set_to_none=True)
            release(device)

    return fits
