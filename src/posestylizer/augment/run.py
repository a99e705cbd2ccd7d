"""``posestylizer augment``: every training person of a re-ID dataset in K new poses, on one process or many.

    run_augment(AugmentOptions(checkpoint="runs/market", data="data/market", out="data/market/bounding_box_train_aps"))

Steps: load the generator and its input contract; read the train annotation and keep the images with a usable pose
(:mod:`.plan`); draw and retarget K target poses per image and cut the work into chunks; take this process's chunks
(``torchrun``: every WORLD_SIZE-th chunk from RANK); render each chunk whose outputs are not all on disk yet
(:mod:`.render`); wait for every process; the first process writes the manifest and prints the summary.

Resuming is running the same command again: finished chunks are skipped, an unfinished one is rendered again whole
(so its images come from the same batches as before) and only its missing files are written. ``OUT/augment.json``
records what decides the bytes (checkpoint digest, K, pose source, seed, precision, batch, device type); a run with
other values refuses to add to that folder.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch

from posestylizer.augment.plan import (
    POSE_SOURCES,
    Chunk,
    dataset_poses,
    file_poses,
    library_poses,
    make_chunks,
    rank_chunks,
    usable,
)
from posestylizer.augment.render import Renderer, remove_stale_temporaries, write_outputs
from posestylizer.checkpoints.native import CONFIG, WEIGHTS, load_generator, require_contract
from posestylizer.data.formats import read_annotations
from posestylizer.data.layouts import get_layout
from posestylizer.errors import ConfigError, DataError
from posestylizer.inference.framing import framing_for
from posestylizer.runtime.files import write_text_atomic
from posestylizer.runtime.imagefiles import IMAGE_EXTS
from posestylizer.runtime.precision import inference_precision
from posestylizer.runtime.progress import QUIET, Progress
from posestylizer.training.distributed import init_distributed, resolve_device, shutdown_distributed

MANIFEST = "augment-manifest.csv"
RECORD = "augment.json"
MANIFEST_COLUMNS = ("image", "source", "person_id", "k", "pose", "pose_kind", "checkpoint", "checkpoint_sha256",
                    "seed")  # fmt: skip


@dataclass(frozen=True)
class AugmentOptions:
    """What ``posestylizer augment`` is given (see its ``--help``); ``poses`` is K."""

    checkpoint: str
    data: str
    out: str
    poses: int = 4
    pose_source: str = "dataset"
    seed: int = 0
    precision: str = "fp32"
    batch: int = 16
    device: str = "auto"
    layout: str | None = None
    progress: Progress = QUIET


@dataclass
class AugmentSummary:
    """What a run ended with (the numbers of the whole run, all processes together)."""

    out: Path
    sources: int
    images: int
    written: int
    no_pose: int
    unreadable: int
    seconds: float
    processes: int
    skipped_names: list[str] = field(default_factory=list)

    @property
    def manifest(self) -> Path:
        return self.out / MANIFEST

    def line(self, k: int) -> str:
        rate = self.written / self.seconds if self.seconds > 0 else 0.0
        return (f"augment: {self.sources} source images x {k} poses -> {self.images} images in {self.out} "
                f"({self.written} new, {self.images - self.written} already there); skipped {self.no_pose} without "
                f"a usable pose and {self.unreadable} unreadable; manifest {self.manifest}; {self.seconds:.1f} s, "
                f"{rate:.1f} new images/s on {self.processes} process(es)")  # fmt: skip


def check_options(opts: AugmentOptions) -> None:
    """ConfigError naming the option for values no run can use."""
    if opts.poses < 1:
        raise ConfigError(f"--poses {opts.poses}: give at least 1 pose per image")
    if opts.batch < 1:
        raise ConfigError(f"--batch {opts.batch}: give a positive number of poses per generator call")
    if opts.seed < 0:
        raise ConfigError(f"--seed {opts.seed}: give a non-negative integer")
    if opts.pose_source not in POSE_SOURCES and not Path(opts.pose_source).is_file():
        raise ConfigError(f"--pose-source {opts.pose_source}: choose dataset, library or an existing keypoint file "
                          "(.json OpenPose/COCO, PATN .csv)")
    out = Path(opts.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file; give a folder (e.g. beside bounding_box_train/)")


def join_torchrun(device_name: str):
    """(this process's DistInfo, whether this call made the process group): a single process, or a torchrun rank in
    its process group (gloo on CPU, NCCL on GPUs). The group waits up to 12 h at the final gather: ranks finish at
    different times after a resume. A group the caller already made is used as it is."""
    import torch.distributed as dist

    if device_name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device_name}: CUDA is not available here; use --device cpu")
    made = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized()
    if made:
        device = resolve_device(device_name, int(os.environ.get("LOCAL_RANK", "0")))
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=timedelta(hours=12))
    return init_distributed(device_name), made


def file_digest(path: Path) -> str:
    """sha256 hex of the checkpoint's weights (the folder's model.safetensors, or the file itself)."""

    if path.is_dir():
        path = path / "generator" if not (path / CONFIG).is_file() and (path / "generator").is_dir() else path
        path = path / WEIGHTS
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_sources(image_dir: Path, annotation: Path, layout) -> tuple[dict[str, np.ndarray], int, int]:
    """(usable sources {name: (18, 2) keypoints}, how many have no usable pose, how many annotated images are
    missing). Images in the folder without an annotation row count as having no pose; distractors (Market's
    ``-1``/``0000`` ids) are not people and are left out."""

    if not image_dir.is_dir():
        raise DataError(f"{image_dir}: training image folder not found (a PATN-layout dataset holds train/ and its "
                        "annotation CSV; `posestylizer data prepare` makes one from Market-1501)")
    annotations = read_annotations(annotation)
    on_disk = {e.name for e in os.scandir(image_dir) if Path(e.name).suffix.lower() in IMAGE_EXTS}
    sources, no_pose, missing = {}, 0, 0
    for name in sorted(on_disk | set(annotations)):
        if layout.is_junk(name):
            continue
        kp = annotations.get(name)
        if kp is None or not usable(kp):
            no_pose += 1
        elif name not in on_disk:
            missing += 1
        else:
            sources[name] = kp
    return sources, no_pose, missing


def check_image_size(image_dir: Path, name: str, size: tuple[int, int]) -> None:
    """DataError when the dataset's images are not the checkpoint's size (read from one file's header)."""
    from PIL import Image

    with Image.open(image_dir / name) as im:
        got = (im.height, im.width)
    if got != tuple(size):
        raise DataError(f"{image_dir / name}: images are {got[0]}x{got[1]}, the checkpoint takes {size[0]}x{size[1]} "
                        f"(H x W); resize the dataset with `posestylizer data resize` or use a checkpoint of that size")


def check_record(out: Path, record: dict, is_main: bool) -> None:
    """Refuse to add to a folder made with other byte-deciding options; the first process writes the record."""
    path = out / RECORD
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            old = {}
        changed = [k for k in record if old.get(k) != record[k]]
        if changed:
            raise ConfigError(f"--out {out}: holds images made with other {', '.join(changed)} ({path}); resume "
                              "with the same options or give a new --out")
    elif is_main:
        write_text_atomic(path, json.dumps(record, indent=2) + "\n")


def _work(chunks: list[Chunk], renderer: Renderer, image_dir: Path, out: Path, kps: dict, progress: Progress):
    """Render this process's unfinished chunks; returns (images written, names of sources that could not be read).
    The bar counts the images still to make, so its rate is the rendering rate on a resumed run too."""
    todo = [c for c in chunks if not all((out / j.name).exists() for j in c.jobs)]
    bar = progress.bar("augment", total=sum(len(c.jobs) for c in todo), unit="image")
    written, unreadable = 0, []
    for chunk in todo:
        remove_stale_temporaries(out, [j.name for j in chunk.jobs])
        kept, images = renderer.read_sources(image_dir, chunk.sources)
        unreadable += [s for s in chunk.sources if s not in kept]
        written += write_outputs(out, renderer.render(chunk, images, kept, kps))
        bar.update(len(chunk.jobs))
    bar.close()
    return written, unreadable


def _gather(value, info) -> list:
    if not info.distributed:
        return [value]
    import torch.distributed as dist

    box = [None] * info.world_size
    dist.all_gather_object(box, value)
    return box


def run_augment(opts: AugmentOptions) -> AugmentSummary | None:
    """Run (or resume) an augmentation; the summary on the first process, None on the others (module docstring)."""

    check_options(opts)
    start = time.perf_counter()
    info, made_group = join_torchrun(opts.device)
    try:
        model = load_generator(opts.checkpoint, device=info.device)
        contract = require_contract(model, opts.checkpoint)
        size = tuple(contract.image_size)
        layout = get_layout(opts.layout or contract.layout)
        image_dir = layout.image_dir(opts.data, "train")
        sources, no_pose, missing = read_sources(image_dir, layout.annotation_path(opts.data, "train"), layout)
        if sources:
            check_image_size(image_dir, next(iter(sources)), size)
        if opts.pose_source == "dataset":
            poses = dataset_poses(sources)
        elif opts.pose_source == "library":
            poses = library_poses(size, framing_for(contract.layout))
        else:
            poses = file_poses(Path(opts.pose_source), size, framing_for(contract.layout))
        chunks = make_chunks(sources, poses, k=opts.poses, seed=opts.seed, batch=opts.batch, layout=layout, size=size)
        precision = inference_precision(opts.precision, info.device)
        digest = file_digest(Path(opts.checkpoint))
        out = Path(opts.out)
        out.mkdir(parents=True, exist_ok=True)
        check_record(out, _record(opts, digest, precision.name, info.device.type), info.is_main)
        renderer = Renderer(generator=model, size=size, sigma=contract.heatmap_sigma, device=info.device,
                            precision=precision, batch=opts.batch)  # fmt: skip
        mine = rank_chunks(chunks, info.rank, info.world_size)
        progress = opts.progress if info.is_main else QUIET  # one bar, on the first process
        written, unreadable = _work(mine, renderer, image_dir, out, sources, progress)
        gathered = _gather((written, unreadable), info)
        if not info.is_main:
            return None
        bad = sorted({n for _, names in gathered for n in names})
        count = write_manifest(out, chunks, set(bad), layout, opts, digest)
        return AugmentSummary(out=out, sources=len(sources) - len(bad), images=count,
                              written=sum(w for w, _ in gathered), no_pose=no_pose, unreadable=missing + len(bad),
                              seconds=time.perf_counter() - start, processes=info.world_size, skipped_names=bad)
    finally:
        if made_group:
            shutdown_distributed()


def _record(opts: AugmentOptions, digest: str, precision: str, device_type: str) -> dict:
    pose_source = opts.pose_source
    if pose_source not in POSE_SOURCES:
        pose_source = f"{Path(pose_source).name} sha256:{file_digest(Path(pose_source))[:16]}"
    return {"checkpoint_sha256": digest, "poses": opts.poses, "pose_source": pose_source, "seed": opts.seed,
            "precision": precision, "batch": opts.batch, "device": device_type, "format": "posestylizer-augment"}


def write_manifest(out: Path, chunks: list[Chunk], unreadable: set[str], layout, opts: AugmentOptions,
                   digest: str) -> int:  # fmt: skip
    """Remove what killed runs left behind, check every expected image is there and write ``OUT/augment-manifest.csv``
    (one row per image, sorted by image name); returns the number of images."""
    for tmp in out.glob(".*.tmp-*"):  # every process has finished: nobody is writing any more
        tmp.unlink(missing_ok=True)
    jobs = sorted((j for c in chunks for j in c.jobs if j.source not in unreadable), key=lambda j: j.name)
    absent = [j.name for j in jobs if not (out / j.name).is_file()]
    if absent:
        raise DataError(f"{out}: {len(absent)} image(s) missing after every process finished, e.g. {absent[0]}: with "
                        "several machines, --out must be on a filesystem all of them see")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for j in jobs:
        writer.writerow((j.name, j.source, layout.identity(j.source), j.k, j.pose.label, j.pose.kind,
                         opts.checkpoint, digest, opts.seed))  # fmt: skip
    write_text_atomic(out / MANIFEST, buf.getvalue())
    return len(jobs)
