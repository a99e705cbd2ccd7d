"""The pipeline's benchmark cases: one whole ``generate`` call per image, and ``animate`` frames from one appearance.

- ``generate:market:1``: ``PoseStylizerPipeline.__call__`` on a 360x480 synthetic street photo with two people and
  a library target pose, as ``posestylizer generate`` runs it: pose estimation (MediaPipe, the ``pose`` extra),
  framing (crop, pose maps, retargeting, the panel) and generation (the encoder's appearance code, the decoder).
  ``BATCH`` photos (different scenes) make one call of the case; images/s counts photos.
- ``animate:market:16``: :func:`~posestylizer.inference.animate.render_track` of ``BATCH`` driving poses with the
  appearance computed once beforehand, as ``posestylizer animate`` runs it after estimation: smoothing and
  retargeting (``poses``), decoding (``generation``) and assembling the frames (``compose``); images/s are frames/s.

The generator has random weights of the preset's architecture (what it costs does not depend on its weights), or
is the checkpoint of ``bench.checkpoint=PATH`` (``posestylizer bench --checkpoint``). Every stage is timed inside
the call (the estimator wrapped, the generator's ``appearance_code`` and ``decoder`` hooked), so a repetition also
reports milliseconds per image by stage, and the generation stage's share of the same-run matmul (all the FLOPs
``torch.utils.flop_counter`` sees in the call are the generator's; MediaPipe is not torch).

A case that cannot run with the code or packages at hand raises :class:`CaseUnavailable`, which the bench reports
as one cell instead of numbers (MediaPipe not installed; an older revision without this pipeline).
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from pathlib import Path

import torch

from posestylizer.bench.measure import synchronize


class CaseUnavailable(Exception):
    """This case cannot run here (a missing optional package, code an older revision does not have)."""


class StageClock:
    """Seconds spent per stage since the last :meth:`reset`, summed over calls; CUDA work is synchronised at each
    stage boundary, so the split is the device's too."""

    def __init__(self, device: torch.device, order: tuple[str, ...]) -> None:
        self.device, self.order = device, order
        self.seconds: dict[str, float] = dict.fromkeys(order, 0.0)  # the stages in the order they run
        self._open: dict[str, float] = {}

    def reset(self) -> None:
        self.seconds = dict.fromkeys(self.order, 0.0)

    def start(self, stage: str) -> None:
        synchronize(self.device)
        self._open[stage] = time.perf_counter()

    def stop(self, stage: str) -> None:
        synchronize(self.device)
        self.seconds[stage] += time.perf_counter() - self._open.pop(stage)

    def wrap(self, stage: str, fn):
        """``fn`` with its time added to ``stage``."""

        def timed(*args, **kwargs):
            self.start(stage)
            try:
                return fn(*args, **kwargs)
            finally:
                self.stop(stage)

        return timed

    def time_generator(self, generator: torch.nn.Module, stage: str = "generation") -> None:
        """Count the generator's ``appearance_code`` calls and ``decoder`` forwards as ``stage``."""
        generator.appearance_code = self.wrap(stage, generator.appearance_code)
        generator.decoder.register_forward_pre_hook(lambda *_: self.start(stage))
        generator.decoder.register_forward_hook(lambda *_: self.stop(stage))


def _require(module: str, *names: str):
    """``module`` of the code under test, with ``names``; CaseUnavailable naming what this revision lacks."""
    try:
        mod = importlib.import_module(module)
    except ImportError as err:
        raise CaseUnavailable(f"no {module} in this code ({err})") from None
    missing = [n for n in names if not hasattr(mod, n)]
    if missing:
        raise CaseUnavailable(f"no {module}.{', '.join(missing)} in this code")
    return mod


def build_pipeline(cfg, device: torch.device, options: dict, estimator=None):
    """(pipeline, generator, setting words): the ``bench.checkpoint`` checkpoint, else a random generator of the
    preset's architecture with the preset's input contract; the config's precision (autocast)."""
    inference = _require("posestylizer.inference", "PoseStylizerPipeline")
    checkpoint = options.get("checkpoint")
    precision = cfg.train.precision
    if checkpoint:
        pipe = inference.PoseStylizerPipeline.from_pretrained(checkpoint, device=str(device), precision=precision,
                                                              estimator=estimator)  # fmt: skip
        words = f"checkpoint {Path(checkpoint).name}"
    else:
        from posestylizer.checkpoints.contract import InputContract
        from posestylizer.models import Generator

        torch.manual_seed(0)
        contract = InputContract.of_experiment(cfg)
        pipe = inference.PoseStylizerPipeline(Generator(cfg.model), contract, device=device, precision=precision,
                                              estimator=estimator)  # fmt: skip
        words = f"random ngf {cfg.model.ngf}, {cfg.model.n_blocks} blocks"
    h, w = pipe.size
    return pipe, f"{h}x{w}, {words}, {precision}"


def _photos(count: int, preset: str):
    """``count`` 360x480 street photos with two synthetic people each (one scene per seed) and their keypoints."""
    from posestylizer.bench.scene import street_scene

    layout = "fashion" if preset == "fashion" else "market"
    return [street_scene([(5 + i, 150, 335, 250), (13 + i, 360, 318, 190)], size=(360, 480), seed=3 + i,
                         preset=layout) for i in range(count)]  # fmt: skip


def generate_case(cfg, batch: int, device: torch.device, options: dict):
    """``batch`` whole pipeline calls (one photo each): estimation, framing, generation."""
    from posestylizer.bench.case import Case

    if importlib.util.find_spec("mediapipe") is None:
        raise CaseUnavailable("needs the pose estimator (mediapipe): pip install 'posestylizer[pose]'")
    clock = StageClock(device, ("estimation", "framing", "generation"))
    base, setting = build_pipeline(cfg, device, options)
    pipe = type(base)(base.generator, base.contract, device=base.device, precision=base.precision,
                      estimator=clock.wrap("estimation", base.estimator), framing=base.framing)  # fmt: skip
    clock.time_generator(pipe.generator)
    photos = [photo for photo, _ in _photos(batch, cfg.data.layout)]

    def call() -> None:
        start = time.perf_counter()
        before = dict(clock.seconds)
        for photo in photos:
            pipe(photo, "walking")
        synchronize(device)
        inner = sum(clock.seconds[k] - before[k] for k in ("estimation", "generation"))
        clock.seconds["framing"] += time.perf_counter() - start - inner

    return Case(call, batch, _dtype(cfg), f"{setting}, MediaPipe, 360x480 photos", stages=clock)


def animate_case(cfg, batch: int, device: torch.device, options: dict):
    """``batch`` driving poses (the pose library, cycled) rendered from one appearance computed beforehand."""
    import numpy as np

    from posestylizer.bench.case import Case

    anim = _require("posestylizer.inference.animate", "render_track", "DrivingTrack")
    library = _require("posestylizer.keypoints.library", "library_pose", "pose_names")
    clock = StageClock(device, ("poses", "generation", "compose"))
    pipe, setting = build_pipeline(cfg, device, options)
    photo, truth = _photos(1, cfg.data.layout)[0]
    app = pipe.appearance(photo, source_keypoints=truth[0])  # once, not timed: true keypoints, no estimator needed
    names = library.pose_names()
    poses = np.stack([library.library_pose(names[i % len(names)], pipe.size, pipe.framing) for i in range(batch)])
    track = anim.DrivingTrack(poses, 12.0, kind="poses")
    clock.time_generator(pipe.generator)

    def call() -> None:
        before = clock.seconds["generation"]
        out = anim.render_track(pipe, app, track, batch_size=16)
        clock.seconds["poses"] += out.seconds["poses"]
        clock.seconds["compose"] += out.seconds["render"] - (clock.seconds["generation"] - before)

    return Case(call, batch, _dtype(cfg), f"{setting}, {batch} poses, batches of 16", stages=clock)


def _dtype(cfg) -> torch.dtype:
    from posestylizer.bench.case import DTYPES

    return DTYPES[cfg.train.precision]
