"""Write a synthetic dataset in the PATN layout: file names, images, ground-truth masks and plates, CSVs, a contact
sheet to look at it."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from posestylizer.data.formats import read_annotations, write_annotations, write_pairs
from posestylizer.data.layouts import PHASES, Layout, get_layout
from posestylizer.data.pairs import make_pairs, pairable
from posestylizer.data.synth.backgrounds import background
from posestylizer.data.synth.identity import Identity, sample_identity
from posestylizer.data.synth.pose import Pose, sample_pose
from posestylizer.data.synth.render import Renderer
from posestylizer.errors import DataError
from posestylizer.runtime.imagefiles import read_image
from posestylizer.runtime.progress import QUIET, Progress

SYNTH_VERSION = 1
SYNTH_PRESETS = ("market", "fashion")
MASKS = "masks"  # <root>/masks/<phase>/<image stem>.png: ground-truth foreground, 0/255
BACKGROUNDS = "backgrounds"  # <root>/backgrounds/<phase>/<image stem>.png: the plate without the person
PARTS_DIR = "parts"  # <root>/parts/<phase>/<image stem>.png: body-part map, 0 = background, 1 + index in PART_NAMES


# ------------------------------------------------------------------------------------------------- paths and names


def mask_dir(root: str | Path, phase: str) -> Path:
    """Folder of the ground-truth foreground masks of ``phase`` that :func:`write_dataset` writes."""
    return Path(root) / MASKS / phase


def background_dir(root: str | Path, phase: str) -> Path:
    """Folder of the background plates (without the person) of ``phase`` that :func:`write_dataset` writes."""
    return Path(root) / BACKGROUNDS / phase


def part_path(root: str | Path, phase: str, name: str) -> Path:
    """Body-part map (uint8 PNG: 0 background, 1 head, 2 torso, 3 arms, 4 legs; the parts tile the mask) that
    :func:`write_dataset` wrote for image ``name``."""
    return Path(root) / PARTS_DIR / phase / f"{Path(name).stem}.png"


def mask_path(root: str | Path, phase: str, name: str) -> Path:
    """Ground-truth foreground mask (0/255 PNG) that :func:`write_dataset` wrote for image ``name``."""
    return mask_dir(root, phase) / f"{Path(name).stem}.png"


def background_path(root: str | Path, phase: str, name: str) -> Path:
    """Background plate without the person that :func:`write_dataset` wrote for image ``name``."""
    return background_dir(root, phase) / f"{Path(name).stem}.png"


def _market_name(ident: Identity, k: int, rng: np.random.Generator) -> str:
    # PPPP_cXsY_FFFFFF_NN.jpg (reference §1.4); ids start at 1 (0000 and -1 are Market's junk prefixes)
    cam, seq = int(rng.integers(1, 7)), int(rng.integers(1, 7))
    frame = 1000 * (k + 1) + int(rng.integers(0, 1000))
    return f"{ident.index + 1:04d}_c{cam}s{seq}_{frame:06d}_{int(rng.integers(1, 9)):02d}.jpg"


def _fashion_name(ident: Identity, k: int, pose: Pose) -> str:
    # fashion + gender + category + id + 8-digit item + 2-digit index + _ + pose digit + view (reference §1.4)
    women = (ident.index % 2 == 0) == (ident.bottom == "skirt" or ident.hair_style == "long")
    gender = "WOMEN" if women else "MEN"
    category = {"skirt": "Skirts", "shorts": "Shorts"}.get(
        ident.bottom, "Tees_Tanks" if ident.sleeve != "long" else "Pants"
    )
    facing = math.cos(pose.yaw)
    view = "front" if facing > 0.5 else "back" if facing < -0.5 else "side"
    return f"fashion{gender}{category}id{ident.index + 1:08d}01_{k + 1}{view}.jpg"


# ------------------------------------------------------------------------------------------------------- rendering


def synth_layout(preset: str) -> Layout:
    """The layout a synthetic preset writes (that of the real dataset it imitates)."""
    if preset not in SYNTH_PRESETS:
        raise DataError(f"unknown synthetic preset '{preset}': choose one of {', '.join(SYNTH_PRESETS)}")
    return get_layout(preset)


def _plate_pad(layout: Layout) -> int:
    """How much wider than an image a person's background plate is on each side (room for the shift)."""
    return layout.image_size[1] // 8


def render_sample(preset: str, identity: int, pose_index: int, seed: int = 0):
    """One synthetic image, exactly as :func:`write_dataset` writes it for person ``identity``, image
    ``pose_index`` of dataset ``seed``: (uint8 image (H, W, 3), (18, 2) keypoints, bool mask (H, W), uint8
    background (H, W, 3))."""
    layout = synth_layout(preset)
    ident = sample_identity(identity, seed, preset)
    plate = background(preset, layout.image_size, ident.background_seed, pad=_plate_pad(layout))
    return _render_one(Renderer(layout.image_size), ident, preset, plate, seed, pose_index)[:4]


def _render_one(renderer: Renderer, ident: Identity, preset: str, plate: np.ndarray, seed: int, k: int):
    # The first two images of a person are drawn again (deterministically) until they can be paired, so that every
    # person, however few poses it has, gives at least two pairs.
    for attempt in range(20 if k < 2 else 1):
        rng = np.random.default_rng([seed, ident.index, 2, k, attempt])
        pose = sample_pose(rng, preset)
        w = renderer.size[1]
        pad = (plate.shape[1] - w) // 2
        x0 = round(pose.shift * 2 * pad)
        bg = plate[:, x0 : x0 + w]
        image, kp, mask, parts = renderer.render_parts(ident, pose, bg, rng)
        if pairable(kp):
            break
    return _to_uint8(image), kp, mask, _to_uint8(np.clip(bg * pose.light, 0, 1)), pose, rng, parts


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return (image * 255 + 0.5).astype(np.uint8)


# ------------------------------------------------------------------------------------------------- dataset writer


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`write_dataset` wrote: counts per phase (``train``, ``test``)."""

    root: Path
    layout: Layout
    images: dict[str, int]
    pairs: dict[str, int]
    identities: dict[str, int]


def _prepare_output(out: Path, layout: Layout) -> None:
    """Make ``out`` ready: new or empty, or an earlier synthetic dataset whose files are removed first (so that no
    image of a larger earlier run is left behind); anything else is refused rather than mixed with."""
    if not out.exists() or not any(out.iterdir()):
        return
    if not (out / "synth.json").is_file():
        raise DataError(f"{out}: folder exists and is not a synthetic dataset; choose a new or empty folder")
    for phase in PHASES:
        for path in (layout.image_dir(out, phase), layout.annotation_path(out, phase), layout.pairs_path(out, phase),
                     layout.heatmap_path(out, phase, "x").parent):  # fmt: skip
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    for folder in (MASKS, BACKGROUNDS, PARTS_DIR):
        shutil.rmtree(out / folder, ignore_errors=True)


def _split(identities: int, seed: int, test_fraction: float, split_among: int = 0) -> dict[int, str]:
    """The phase of every person: a seeded ``test_fraction`` of them (at least one, never all) is ``test``; with
    ``split_among`` > 0, that of the first ``split_among`` people (as a set of that many has it) and everyone after
    them trains, so more training people leave the test people unchanged."""
    among = min(split_among, identities) if split_among > 0 else identities
    n_test = min(max(1, round(among * test_fraction)), among - 1)
    order = np.random.default_rng([seed, 0]).permutation(among)
    phases = {int(i): ("test" if j < n_test else "train") for j, i in enumerate(order)}
    return {**phases, **{i: "train" for i in range(among, identities)}}


def _write_person(out: Path, layout: Layout, renderer: Renderer, ident: Identity, phase: str, preset: str,
                  poses: int, seed: int) -> list[tuple[str, np.ndarray]]:  # fmt: skip
    """Write the ``poses`` images of one person with their masks and plates; returns (name, keypoints) of each."""
    plate = background(preset, layout.image_size, ident.background_seed, _plate_pad(layout))
    written = []
    for k in range(poses):
        image, kp, mask, bg, pose, rng, parts = _render_one(renderer, ident, preset, plate, seed, k)
        name = _market_name(ident, k, rng) if preset == "market" else _fashion_name(ident, k, pose)
        Image.fromarray(image).save(layout.image_dir(out, phase) / name, quality=95)
        Image.fromarray(mask.astype(np.uint8) * 255).save(mask_path(out, phase, name), compress_level=1)
        Image.fromarray(parts).save(part_path(out, phase, name), compress_level=1)
        Image.fromarray(bg).save(background_path(out, phase, name), compress_level=1)
        written.append((name, kp))
    return written


def _write_meta(summary: SynthSummary, preset: str, poses: int, seed: int, test_fraction: float,
                split_among: int = 0) -> None:  # fmt: skip
    meta = {
        "generator": "posestylizer.data.synth",
        "version": SYNTH_VERSION,
        "preset": preset,
        "identities": sum(summary.identities.values()),
        "poses": poses,
        "seed": seed,
        "test_fraction": test_fraction,
        "split_among": split_among,
        "images": summary.images,
        "pairs": summary.pairs,
        "layout": dict(asdict(summary.layout)),
    }
    (summary.root / "synth.json").write_text(json.dumps(meta, indent=2) + "\n")


def write_dataset(out: str | Path, preset: str = "market", identities: int = 50, poses: int = 10, seed: int = 0, *,
                  test_fraction: float = 0.2, split_among: int = 0,
                  progress: Progress = QUIET) -> SynthSummary:  # fmt: skip
    """Render a synthetic PATN-layout dataset into ``out`` (deterministic for a seed) and return what was written.

    Person ``i`` of a seed looks and moves the same whatever ``identities`` is; only the split depends on it.

    Args:
        out: output folder: new, empty, or an earlier synthetic dataset (replaced).
        preset: ``market`` (128x64, street backgrounds, Market-1501 names) or ``fashion`` (256x176, plain light
            backgrounds, DeepFashion names).
        identities: number of people; at least 2 (one per phase).
        poses: images per person; at least 2 (a pair needs two).
        seed: everything is a function of it.
        test_fraction: share of the people in the test split (at least one person each side).
        split_among: > 0: the split is that of a set of the first ``split_among`` people, and the people after
            them all train (more training people, the same test people).
        progress: the progress bars of the command.
    """
    layout = synth_layout(preset)
    if identities < 2:
        raise DataError(f"--identities {identities}: need at least 2 (one for train, one for test)")
    if poses < 2:
        raise DataError(f"--poses {poses}: need at least 2 images per person to make pairs")
    out = Path(out)
    _prepare_output(out, layout)
    phase_of = _split(identities, seed, test_fraction, split_among)
    for phase in PHASES:
        for folder in (layout.image_dir(out, phase), mask_dir(out, phase), background_dir(out, phase),
                       part_path(out, phase, "x").parent):  # fmt: skip
            folder.mkdir(parents=True, exist_ok=True)
    renderer = Renderer(layout.image_size)
    annotations: dict[str, list] = {phase: [] for phase in PHASES}
    for idx in progress(range(identities), f"synth {preset}", unit="person"):
        ident, phase = sample_identity(idx, seed, preset), phase_of[idx]
        annotations[phase] += _write_person(out, layout, renderer, ident, phase, preset, poses, seed)
    pairs = {}
    for phase in PHASES:
        write_annotations(layout.annotation_path(out, phase), annotations[phase])
        phase_pairs = make_pairs(annotations[phase], layout)
        write_pairs(layout.pairs_path(out, phase), phase_pairs)
        pairs[phase] = len(phase_pairs)
    n_test = sum(phase == "test" for phase in phase_of.values())
    summary = SynthSummary(root=out, layout=layout, images={p: len(a) for p, a in annotations.items()}, pairs=pairs,
                           identities={"train": identities - n_test, "test": n_test})  # fmt: skip
    _write_meta(summary, preset, poses, seed, test_fraction, split_among)
    return summary


# -------------------------------------------------------------------------------------------------- contact sheet


def contact_sheet(root: str | Path, layout: str | Layout = "market", phase: str = "train", people: int = 6,
                  per_person: int = 10, scale: int | None = None) -> np.ndarray:  # fmt: skip
    """A grid image (uint8 (rows, cols, 3)) of a dataset: one row per person (first ``people`` ids),
    ``per_person`` images each with 1-px white borders, enlarged ``scale`` times (default: 2 for images up to
    128 px high, else 1)."""

    layout = get_layout(layout)
    by_id: dict[str, list[str]] = {}
    for name in read_annotations(layout.annotation_path(root, phase)):
        by_id.setdefault(layout.identity(name), []).append(name)
    h, w = layout.image_size
    chosen = list(by_id.values())[:people]
    per_person = min(per_person, max(len(names) for names in chosen))
    rows = []
    for names in chosen:
        tiles = [read_image(layout.image_dir(root, phase) / n) for n in names[:per_person]]
        tiles += [np.full((h, w, 3), 255, np.uint8)] * (per_person - len(tiles))
        rows.append(
            np.concatenate([np.pad(t, ((1, 1), (1, 1), (0, 0)), constant_values=255) for t in tiles], 1)
        )
    grid = np.concatenate(rows, 0)
    scale = scale or (2 if h <= 128 else 1)
    return grid.repeat(scale, 0).repeat(scale, 1) if scale > 1 else grid
