"""Our generator against the authors' APS network, in one process, with the same weights.

    python benchmarks/bench_authors.py --authors-repo PATH [--preset market] [--batch 8] [--threads N] [--reps 7]

PATH is a checkout of https://github.com/siyuhuang/PoseStylizer (their code is imported from there at run time; none
of it is copied here). The script

1. builds their generator as their ``define_G`` does (``stylegenerator`` from ``models/APS.py``, batch norm for
   market / instance norm for fashion, normal init), on CPU: their ``define_G`` calls ``.cuda()`` and their ``tile``
   builds its index on the GPU, so the network is built without ``define_G``'s ``.cuda()`` and ``tile`` is replaced
   by the same index on the tensor's device (the same values);
2. builds ours (``posestylizer.models.Generator``, the preset's model config) and loads their weights with
   ``posestylizer.checkpoints.convert.reference_to_native`` (the mapping of ``posestylizer convert``);
3. checks the outputs are identical (fp32, eval mode) on pose maps rendered from synthetic people exactly as training
   renders them (``posestylizer.keypoints.maps.heatmaps``); for the training step, the L1 loss in train mode from the
   same random seed (the same dropout masks) and every parameter's gradient;
4. times fp32 inference (``torch.no_grad``) and one generator step (forward, L1 loss backward, Adam step of G only),
   ours and theirs taking turns every repetition (ABBA order), and prints a markdown table: images/s (best and
   median), the median and range of the paired ratios ours/theirs, the largest output difference, CPU and threads.

``--profile`` adds the top operators of one call of each side (``torch.profiler``).
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _device_tile(a: torch.Tensor, dim: int, n_tile: int) -> torch.Tensor:
    """The authors' ``model_utils.tile`` with its index built on ``a``'s device instead of always on CUDA."""
    init_dim = a.size(dim)
    repeat_idx = [1] * a.dim()
    repeat_idx[dim] = n_tile
    a = a.repeat(*repeat_idx)
    order = np.concatenate([init_dim * np.arange(n_tile) + i for i in range(init_dim)])
    return torch.index_select(a, dim, torch.as_tensor(order, dtype=torch.long, device=a.device))


def authors_generator(repo: Path, preset: str, ngf: int, n_blocks: int, norm: str) -> torch.nn.Module:
    """Their APS generator as ``networks.define_G([3, 18, 18], 3, ngf, 'APS', norm, ...)`` builds it, on CPU."""
    if not (repo / "models" / "APS.py").is_file():
        sys.exit(f"--authors-repo {repo}: no models/APS.py there; give a checkout of siyuhuang/PoseStylizer")
    sys.path.insert(0, str(repo))
    from models import APS, model_utils, networks  # their package, from --authors-repo

    model_utils.tile = APS.tile = _device_tile  # APS.py star-imports tile; patch both names
    opt = types.SimpleNamespace(dataset=preset)
    net = APS.stylegenerator([3, 18, 18], 3, ngf, norm_layer=networks.get_norm_layer(norm), use_dropout=False,
                             n_blocks=9, gpu_ids=[], n_downsampling=n_blocks, opt=opt)  # fmt: skip
    networks.init_weights(net, init_type="normal")
    return net


def both_networks(repo: Path, preset: str) -> tuple[torch.nn.Module, torch.nn.Module, object]:
    """(ours, theirs, config) with identical weights: theirs initialised their way, ours loaded through convert."""
    from posestylizer.checkpoints.convert import check_state_dict, reference_to_native
    from posestylizer.config import load_config
    from posestylizer.models import Generator

    cfg = load_config(preset)
    m = cfg.model
    torch.manual_seed(0)
    theirs = authors_generator(repo, preset, m.ngf, m.n_blocks, m.norm)
    state = reference_to_native(theirs.state_dict())
    ours = Generator(m)
    check_state_dict(ours, state, "the authors' generator")
    ours.load_state_dict(state)
    return ours, theirs, cfg


def real_batch(cfg, batch: int) -> dict[str, torch.Tensor]:
    """One training batch over synthetic people: images in [-1, 1], pose maps rendered by ``keypoints.maps``."""
    from posestylizer.bench.cases import real_inputs

    batches, cleanup = real_inputs(cfg, batch, torch.device("cpu"), False, count=1)
    cleanup()
    return batches[0]


def _run(net: torch.nn.Module, ours: bool, b: dict[str, torch.Tensor]) -> torch.Tensor:
    if ours:
        return net(b["src_img"], b["src_pose"], b["tgt_pose"])
    return net([b["src_img"], b["src_pose"], b["tgt_pose"]])


def infer_call(net: torch.nn.Module, ours: bool, b: dict[str, torch.Tensor]):
    net.eval()

    def call() -> torch.Tensor:
        with torch.no_grad():
            return _run(net, ours, b)

    return call


def step_call(net: torch.nn.Module, ours: bool, b: dict[str, torch.Tensor]):
    """Forward in train mode, L1 to the target image, backward, Adam step of G (the authors' lr and betas)."""
    opt = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def call() -> torch.Tensor:
        net.train()
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.l1_loss(_run(net, ours, b), b["tgt_img"])
        loss.backward()
        opt.step()
        return loss.detach()

    return call


def check_identical(ours, theirs, b) -> tuple[float, float, float]:
    """(max |ours - theirs| of eval outputs; of the training losses (same seed, so the same dropout masks); of the
    gradients, by parameter name through the convert mapping) from the same weights."""
    from posestylizer.checkpoints.convert import reference_to_native

    diff_infer = (infer_call(ours, True, b)() - infer_call(theirs, False, b)()).abs().max().item()
    o, t = copy.deepcopy(ours), copy.deepcopy(theirs)
    losses = []
    for net, is_ours in ((o, True), (t, False)):
        torch.manual_seed(1)
        net.train()
        loss = torch.nn.functional.l1_loss(_run(net, is_ours, b), b["tgt_img"])
        loss.backward()
        losses.append(loss.item())
    theirs_grads = reference_to_native({k: p.grad for k, p in t.named_parameters()})
    diff_grad = max((p.grad - theirs_grads[k]).abs().max().item() for k, p in o.named_parameters())
    return diff_infer, abs(losses[0] - losses[1]), diff_grad


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_pair(ours_fn, theirs_fn, reps: int) -> tuple[list[float], list[float]]:
    """Seconds per call, ours and theirs alternating (ABBA) after one warm-up call each."""
    ours_fn(), theirs_fn()
    ours_s, theirs_s = [], []
    for r in range(reps):
        if r % 2 == 0:
            ours_s.append(_timed(ours_fn))
            theirs_s.append(_timed(theirs_fn))
        else:
            theirs_s.append(_timed(theirs_fn))
            ours_s.append(_timed(ours_fn))
        print(f"  rep {r + 1}/{reps}: ours {ours_s[-1]:.3f} s, theirs {theirs_s[-1]:.3f} s", file=sys.stderr)
    return ours_s, theirs_s


def row(name: str, batch: int, ours_s: list[float], theirs_s: list[float], diff: float) -> str:
    ratios = sorted(t / o for o, t in zip(ours_s, theirs_s))  # ours/theirs in images/s = their time / ours

    def rate(s: list[float]) -> str:
        return f"{batch / min(s):.2f} / {batch / statistics.median(s):.2f}"

    return (f"| {name} | {rate(ours_s)} | {rate(theirs_s)} | **{statistics.median(ratios):.2f}×** "
            f"({ratios[0]:.2f}–{ratios[-1]:.2f}) | {diff:.1e} |")  # fmt: skip


def profile(name: str, fn) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    print(f"\n### {name}: top operators (one call)\n")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--authors-repo", type=Path, required=True, help="checkout of siyuhuang/PoseStylizer")
    p.add_argument("--preset", default="market", choices=("market", "fashion"))
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--profile", action="store_true", help="print the top operators of one call of each side")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    ours, theirs, cfg = both_networks(args.authors_repo.resolve(), args.preset)
    b = real_batch(cfg, args.batch)
    diff_infer, diff_loss, diff_grad = check_identical(ours, theirs, b)
    print(f"max |ours - theirs|: eval outputs {diff_infer:.3g}, training loss {diff_loss:.3g}, "
          f"gradients {diff_grad:.3g}", file=sys.stderr)  # fmt: skip
    rows = []
    for name, make, diff in (("fp32 inference (no_grad)", infer_call, diff_infer),
                             ("generator step (L1 + Adam)", step_call, diff_loss)):  # fmt: skip
        ours_fn, theirs_fn = make(ours, True, b), make(theirs, False, b)
        print(f"{name}:", file=sys.stderr)
        rows.append(row(name, args.batch, *time_pair(ours_fn, theirs_fn, args.reps), diff))
        if args.profile:
            profile(f"{name}, ours", ours_fn)
            profile(f"{name}, theirs", theirs_fn)
    h, w = cfg.model.image_size
    print(f"\n{_cpu_name()}, {args.threads} thread(s), torch {torch.__version__}, {args.preset} preset {h}×{w}, "
          f"batch {args.batch}, {args.reps} alternating repetitions\n")  # fmt: skip
    print("| case | ours images/s (best / median) | authors' images/s (best / median) | ours / authors "
          "(median of paired ratios, range) | max difference (outputs; loss) |")  # fmt: skip
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nGradients of the generator step: max |ours - theirs| = {diff_grad:.1e}.")


if __name__ == "__main__":
    main()
