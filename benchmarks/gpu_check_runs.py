"""The measured checks of ``benchmarks/gpu_check.py``: inference variants, training iterations, the largest batch
and torchrun DDP. Each takes the :class:`~gpu_check_parts.Ctx` and returns table rows."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from gpu_check_parts import (
    DTYPES,
    TINY,
    Ctx,
    config,
    first_line,
    largest_batch,
    make_trainer,
    peak_mib,
    pose_batch,
    rate,
    release,
    reset_peak,
    share,
    train_fits,
)

from posestylizer.bench.measure import count_flops

PRESETS = ("market", "fashion")
# Variants per (preset, dtype): (layout, mode). torch.compile rows run last: each costs a compilation, and the check
# skips those its budget cannot hold.
VARIANTS = (("nchw", "eager"), ("channels_last", "eager"), ("channels_last", "cuda graph"))
COMPILE_ROWS = (("market", "bf16"), ("market", "fp16"), ("market", "fp32"), ("fashion", "bf16"))
COMPILE_RESERVE_S = 60.0  # a generator compilation on a GPU machine takes tens of seconds


def _infer_batch(preset: str, tiny: bool) -> int:
    return 2 if tiny else {"market": 64, "fashion": 32}[preset]


def _caller(model, args, device: torch.device, dtype: torch.dtype):
    def call() -> torch.Tensor:
        with torch.no_grad(), torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32,
                                             cache_enabled=False):  # fmt: skip
            return model(*args)

    return call


def _graphed(call, device: torch.device):
    """The call captured as a CUDA graph and replayed (static inputs: the batch never changes here). The warm-up
    on a side stream runs on every device; the capture needs CUDA."""
    if device.type != "cuda":
        for _ in range(2):
            call()
        return None
    stream = torch.cuda.Stream(device)
    stream.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(stream):
        for _ in range(3):
            call()
    torch.cuda.current_stream(device).wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        call()
    return graph.replay


def _infer_row(ctx: Ctx, g, batch: dict, dtype_name: str, layout: str, mode: str, flops: int) -> dict:
    row = {"preset": batch["preset"], "batch": batch["n"], "dtype": dtype_name, "layout": layout, "mode": mode}
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    g = g.to(memory_format=fmt)
    args = [batch[k].contiguous(memory_format=fmt) for k in ("src_img", "src_pose", "tgt_pose")]
    release(ctx.device)
    reset_peak(ctx.device)
    start = time.perf_counter()
    if mode == "compile":
        call = _caller(torch.compile(g, backend=ctx.compile_backend), args, ctx.device, DTYPES[dtype_name])
        call()  # compilation, timed apart
        row["compile_s"] = time.perf_counter() - start
    else:
        call = _caller(g, args, ctx.device, DTYPES[dtype_name])
    if mode == "cuda graph":
        call = _graphed(call, ctx.device)
        if call is None:
            row["note"] = "skipped: needs CUDA (warm-up ran; capture not possible)"
            return row
    per_s = rate(call, ctx.device, ctx.tiny)
    row.update(images_s=per_s * batch["n"], ms_batch=1000 / per_s, gflops=flops * per_s / 1e9)
    row["share_pct"], note = share(ctx, dtype_name, flops * per_s)
    row["peak_mib"] = peak_mib(ctx.device)
    if note:
        row["note"] = note
    return row


def inference_rows(ctx: Ctx) -> list[dict]:
    """Generator forward (eval, no grad) at the market and fashion presets, random init, real pose maps."""
    from posestylizer.models import Generator

    rows, nets = [], {}
    for preset in PRESETS:
        n = _infer_batch(preset, ctx.tiny)
        cfg = config(preset, n, ctx.tiny)
        torch.manual_seed(0)
        g = Generator(cfg.model).to(ctx.device).eval()
        batch = {**pose_batch(cfg, n, ctx.device, channels_last=False), "preset": preset, "n": n}
        with torch.no_grad():
            flops = count_flops(lambda: g(batch["src_img"], batch["src_pose"], batch["tgt_pose"]))
        nets[preset] = (g, batch, flops)
    plan = [(p, d, lay, mode) for p in PRESETS for d in DTYPES for lay, mode in VARIANTS]
    plan += [(p, d, "channels_last", "compile") for p, d in COMPILE_ROWS]
    compiled = False
    for preset, dtype_name, layout, mode in plan:
        g, batch, flops = nets[preset]
        base = {"preset": preset, "batch": batch["n"], "dtype": dtype_name, "layout": layout, "mode": mode}
        if mode == "compile" and ctx.tiny and compiled:
            rows.append({**base, "note": "skipped: --tiny compiles one row (two shared CPU cores)"})
            continue
        if ctx.left() < (COMPILE_RESERVE_S if mode == "compile" and not ctx.tiny else 1.0):
            rows.append({**base, "note": "skipped: check budget spent"})
            continue
        try:
            rows.append(_infer_row(ctx, g, batch, dtype_name, layout, mode, flops))
            compiled = compiled or mode == "compile"
        except Exception as err:  # one failing variant is a row; the others still run
            rows.append({**base, "note": first_line(err)})
    return rows


def _train_batch(preset: str, tiny: bool) -> int:
    return 2 if tiny else {"market": 48, "fashion": 16}[preset]


def _train_row(ctx: Ctx, preset: str, n: int, precision: str) -> dict:
    cfg = config(preset, n, ctx.tiny, [f"train.precision={precision}"])
    release(ctx.device)
    reset_peak(ctx.device)
    trainer = make_trainer(cfg, ctx.device)
    batch = pose_batch(cfg, n, ctx.device, cfg.train.channels_last)
    flops = count_flops(lambda: trainer.train_step(batch))
    per_s = rate(lambda: trainer.train_step(batch), ctx.device, ctx.tiny)
    row = {"images_s": per_s * n, "ms_iter": 1000 / per_s, "gflops": flops * per_s / 1e9}
    row["share_pct"], note = share(ctx, precision, flops * per_s)
    row["peak_mib"] = peak_mib(ctx.device)
    return {**row, "note": note} if note else row


def train_rows(ctx: Ctx) -> list[dict]:
    """One ``Trainer.train_step`` (G, D_PP, D_PB steps with Adam, pools, perceptual term) per precision: fp32, AMP
    bf16 and AMP fp16 with GradScaler, channels_last as the trainer defaults, real pose maps."""
    rows = []
    for preset in PRESETS:
        n = _train_batch(preset, ctx.tiny)
        for precision in DTYPES:
            row = {"preset": preset, "batch": n, "precision": precision}
            if ctx.left() < 1.0:
                rows.append({**row, "note": "skipped: check budget spent"})
                continue
            try:
                row.update(_train_row(ctx, preset, n, precision))
            except Exception as err:  # e.g. fp16 training on a CPU (no GradScaler there): a row, not a stop
                row["note"] = first_line(err)
            rows.append(row)
    return rows


def memory_rows(ctx: Ctx) -> list[dict]:
    """Largest fp32 training batch per preset: doubling then bisection, torch.OutOfMemoryError caught, with a cap and
    half the remaining budget each. In --tiny mode an artificial limit of 3 samples stands in for the memory."""
    rows = []
    caps = {"market": 8, "fashion": 8} if ctx.tiny else {"market": 4096, "fashion": 1024}
    start = {"market": 1, "fashion": 1} if ctx.tiny else {"market": 64, "fashion": 16}
    for i, preset in enumerate(PRESETS):
        row = {"preset": preset, "what": "train fp32", "start": start[preset], "cap": caps[preset]}
        try:
            cfg = config(preset, start[preset], ctx.tiny)
            release(ctx.device)
            trainer = make_trainer(cfg, ctx.device)
            fits = train_fits(trainer, cfg, ctx.device, limit=3 if ctx.tiny else None)
            deadline = time.perf_counter() + ctx.left() / (len(PRESETS) - i)
            best, how = largest_batch(fits, start[preset], caps[preset], deadline)
            reset_peak(ctx.device)
            if best:
                fits(best)
            row.update(largest_batch=best, ended=how, peak_mib_at_largest=peak_mib(ctx.device))
            del trainer
        except Exception as err:
            row["note"] = first_line(err)
        rows.append(row)
        release(ctx.device)
    return rows


def _dataset(work: Path, tiny: bool) -> Path:
    from posestylizer.data import write_dataset
    from posestylizer.data.resize import resize_dataset

    root = work / "ddp-data"
    write_dataset(root, "market", identities=4, poses=3, seed=0)
    if not tiny:
        return root
    resize_dataset(root, work / "ddp-data-tiny", (32, 16))
    return work / "ddp-data-tiny"


def ddp_command(ctx: Ctx, nproc: int | str, data: str, out: str, steps: int) -> list[str]:
    """``torchrun -m posestylizer train`` on the synthetic preset (no perceptual term: no VGG weights offline);
    a global batch of 4 per process. ``nproc`` may be a placeholder word (the dry run)."""
    batch = 4 * nproc if isinstance(nproc, int) else f"4*{nproc}"
    device = "cuda" if ctx.cuda else "cpu"
    tiny = [o for o in TINY["market"] if not o.startswith("data.")] if ctx.tiny else []
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
            "-m", "posestylizer", "train", "--preset", "synthetic", "--data", data, "--out", out,
            "--max-steps", str(steps), "--quiet", f"train.device={device}", f"train.batch_size={batch}",
            "loss.perceptual=false", "data.num_workers=0", *tiny]  # fmt: skip


def ddp_rows(ctx: Ctx) -> list[dict]:
    """The real command under torchrun: NCCL with every GPU present (one GPU: a single process), gloo with 2 CPU
    processes. Timed from launch to exit (start-up, data check and checkpoint included)."""
    import posestylizer

    nproc = torch.cuda.device_count() if ctx.cuda else 2
    steps = 3 if ctx.tiny else 20
    work = Path(tempfile.mkdtemp(dir=ctx.work, prefix="ddp-"))
    data = _dataset(work, ctx.tiny)
    cmd = ddp_command(ctx, nproc, str(data), str(work / "run"), steps)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(posestylizer.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]))  # fmt: skip
    backend = "nccl" if ctx.cuda and nproc > 1 else ("gloo" if nproc > 1 else "none (1 process)")
    row = {"processes": nproc, "backend": backend, "steps": steps}
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=min(max(ctx.left(), 5.0), 600))
    except subprocess.TimeoutExpired:
        return [{**row, "wall_s": time.perf_counter() - start, "note": "timed out: check budget spent"}]
    row.update(wall_s=time.perf_counter() - start, exit=proc.returncode,
               checkpoint=int(any((work / "run").rglob("state-*.pt"))))  # fmt: skip
    if proc.returncode:
        lines = [line for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
        row["note"] = lines[-1][:200] if lines else "no output"
    elif nproc == 1:
        row["note"] = "one GPU: NCCL needs two or more; the launcher and the CUDA run were exercised"
    return [row]
