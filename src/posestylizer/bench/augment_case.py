"""The ``augment`` benchmark case: ``posestylizer augment``'s own work loop, chunk by chunk.

``augment:market:4`` renders K = 4 poses per source image exactly as the command does (:mod:`posestylizer.augment`):
the plan of a synthetic market-layout training set (16 people x 6 poses, written to a temporary folder first, not
timed) with poses drawn from the dataset and retargeted, then per call one chunk of it (16 // K source images, the
command's default ``--batch 16``): read the source images (``read``), render pose maps (``maps``), one appearance code
per source and the decoder over the K poses of each (``generation``), JPEG files written through a temporary name and a
rename (``write``). images/s count generated images; the share of the matmul is the generator's FLOPs (the only
torch FLOPs of the call) over the same-run matmul rate.

The generator has random weights of the preset's architecture (its cost does not depend on its weights), or is
``bench.checkpoint=PATH``'s.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from posestylizer.bench.case import DTYPES, Case
from posestylizer.bench.pipeline_cases import CaseUnavailable, StageClock, _require

RENDER_BATCH = 16  # posestylizer augment's default --batch


def _generator(cfg, device: torch.device, options: dict):
    """(generator in eval mode, its input contract, words for the table)."""
    from posestylizer.checkpoints.contract import InputContract

    if options.get("checkpoint"):
        from posestylizer.checkpoints.native import load_generator, require_contract

        g = load_generator(options["checkpoint"], device=device)
        return g, require_contract(g, options["checkpoint"]), f"checkpoint {Path(options['checkpoint']).name}"
    from posestylizer.models import Generator

    torch.manual_seed(0)
    g = Generator(cfg.model).to(device).eval()
    return g, InputContract.of_experiment(cfg), f"random ngf {cfg.model.ngf}, {cfg.model.n_blocks} blocks"


def augment_case(cfg, batch: int, device: torch.device, options: dict) -> Case:
    """One chunk of ``posestylizer augment`` per call, K = ``batch`` poses per source image (module docstring)."""
    from posestylizer.bench.cases import _synthetic_people

    plan = _require("posestylizer.augment.plan", "make_chunks", "dataset_poses")
    render = _require("posestylizer.augment.render", "Renderer", "write_outputs")
    run = _require("posestylizer.augment.run", "read_sources")
    from posestylizer.data.layouts import get_layout
    from posestylizer.runtime.precision import choose_precision

    generator, contract, words = _generator(cfg, device, options)
    size = tuple(contract.image_size)
    tmp = tempfile.TemporaryDirectory(prefix="posestylizer-bench-augment-")
    root = _synthetic_people(Path(tmp.name), size)
    layout = get_layout("market", image_size=size)
    image_dir, out = layout.image_dir(root, "train"), Path(tmp.name) / "out"
    sources, _, _ = run.read_sources(image_dir, layout.annotation_path(root, "train"), layout)
    chunks = plan.make_chunks(sources, plan.dataset_poses(sources), k=batch, seed=0, batch=RENDER_BATCH,
                              layout=layout, size=size)  # fmt: skip
    full = [c for c in chunks if len(c.jobs) == len(chunks[0].jobs)]
    if not full:
        raise CaseUnavailable("no usable source image in the synthetic set")
    precision = choose_precision(cfg.train.precision, device)
    renderer = render.Renderer(generator=generator, size=size, sigma=contract.heatmap_sigma, device=device,
                               precision=precision, batch=RENDER_BATCH)  # fmt: skip
    clock = StageClock(device, ("read", "maps", "generation", "write"))
    clock.time_generator(generator)
    state = {"next": 0}

    def call() -> None:
        chunk = full[state["next"] % len(full)]
        state["next"] += 1
        for job in chunk.jobs:  # the command skips finished images: make every one of them new work
            (out / job.name).unlink(missing_ok=True)
        clock.start("read")
        names, images = renderer.read_sources(image_dir, chunk.sources)
        clock.stop("read")
        start, generation = time.perf_counter(), clock.seconds["generation"]
        rendered = renderer.render(chunk, images, names, sources)
        # render() = pose maps + generation (timed by the hooks) + uint8 conversion: the rest is "maps"
        clock.seconds["maps"] += time.perf_counter() - start - (clock.seconds["generation"] - generation)
        clock.start("write")
        render.write_outputs(out, rendered)
        clock.stop("write")

    per_call = len(full[0].jobs)
    setting = (f"{size[0]}x{size[1]}, {words}, {precision.name}, K={batch}, {len(full[0].sources)} sources x K per "
               f"chunk, decoder batches of {RENDER_BATCH}, JPEG files")  # fmt: skip
    return Case(call, per_call, DTYPES[precision.name], setting, cleanup=[tmp.cleanup], stages=clock)
