"""Native generator checkpoints: a folder with ``model.safetensors`` and ``config.json``.

No pickled code anywhere: weights are safetensors, the config is JSON. Folders are written to a temporary sibling and
renamed into place, so an interrupted save never leaves a half-written checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from posestylizer.config import ModelConfig, model_config_from_dict
from posestylizer.convert import check_state_dict, infer_model_config, read_checkpoint_file, reference_to_native
from posestylizer.errors import CheckpointError, ConfigError
from posestylizer.models import Generator

FORMAT = "posestylizer-generator"
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def replace_dir_atomically(build, out_dir: str | Path) -> Path:
    """Call ``build(tmp_dir)`` to fill a fresh sibling folder, then swap it in for ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        build(tmp)
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def save_generator(model: Generator, cfg: ModelConfig, out_dir: str | Path, metadata: dict | None = None) -> Path:
    """Write ``out_dir/model.safetensors`` + ``out_dir/config.json`` atomically; returns ``out_dir``."""
    state = {k: v.detach().cpu().contiguous() for k, v in unwrap(model).state_dict().items()}
    info = {"format": FORMAT, "version": 1, "model": dataclasses.asdict(cfg), **(metadata or {})}

    def build(tmp: Path) -> None:
        save_file(state, str(tmp / WEIGHTS), metadata={"format": FORMAT})
        (tmp / CONFIG).write_text(json.dumps(info, indent=2))

    return replace_dir_atomically(build, out_dir)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The bare module inside DDP/DataParallel/torch.compile wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if inner is None:
            return model
        model = inner


def read_native(folder: Path) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    cfg_path, weights_path = folder / CONFIG, folder / WEIGHTS
    for p in (cfg_path, weights_path):
        if not p.is_file():
            raise CheckpointError(f"{p}: missing; a posestylizer checkpoint folder holds {CONFIG} and {WEIGHTS}")
    try:
        info = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{cfg_path}:{err.lineno}: not valid JSON ({err.msg})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT or not isinstance(info.get("model"), dict):
        raise CheckpointError(f"{cfg_path}: not a {FORMAT} config (expected keys 'format' and 'model')")
    try:
        cfg = model_config_from_dict(info["model"], str(cfg_path))
    except ConfigError as err:
        raise CheckpointError(str(err)) from None
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{weights_path}: unreadable safetensors file ({err})") from None
    return cfg, state


def load_generator(
    path: str | Path,
    device: str | torch.device = "cpu",
    preset: str | None = None,
    image_size: tuple[int, int] | None = None,
) -> Generator:
    """Load a generator in eval mode from a native folder or directly from an authors' ``.pth`` file.

    Args:
        path: checkpoint folder (``config.json`` + ``model.safetensors``) or reference state-dict file.
        device: where to put it.
        preset, image_size: only for reference files, whose image size is not stored (default by norm kind).
    Raises:
        CheckpointError: missing/unreadable file or tensors that do not fit (one line naming them).
    """
    path = Path(path)
    if path.is_dir():
        cfg, state = read_native(path)
    else:
        state = reference_to_native(read_checkpoint_file(path))
        cfg = infer_model_config(state, preset=preset, image_size=image_size)
    model = Generator(cfg)
    check_state_dict(model, state, str(path))
    model.load_state_dict(state)
    return model.to(device).eval()


def convert_reference(
    ref_file: str | Path,
    out_dir: str | Path,
    preset: str | None = None,
    image_size: tuple[int, int] | None = None,
) -> tuple[Path, ModelConfig]:
    """Convert an authors' generator checkpoint into a native folder; returns (folder, config)."""
    model = load_generator(ref_file, preset=preset, image_size=image_size)
    meta = {"source": {"file": str(Path(ref_file).name), "kind": "PoseStylizer reference checkpoint"}}
    return save_generator(model, model.config, out_dir, metadata=meta), model.config
