"""Native generator checkpoints: a folder with ``model.safetensors`` and ``config.json``.

No pickled code anywhere: weights are safetensors, the config is JSON. Folders are written to a temporary sibling and
renamed into place, so an interrupted save never leaves a half-written checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from posestylizer.checkpoints.contract import InputContract
from posestylizer.checkpoints.convert import (
    check_state_dict,
    infer_model_config,
    read_checkpoint_file,
    reference_to_native,
)
from posestylizer.config import ModelConfig, load_config, model_config_from_dict
from posestylizer.errors import CheckpointError, ConfigError
from posestylizer.models import Generator
from posestylizer.runtime.files import replace_dir_atomically

FORMAT = "posestylizer-generator"
VERSION = 1  # of config.json; folders written before versions existed have none and read as 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def save_generator(
    model: Generator, cfg: ModelConfig, out_dir: str | Path, contract: InputContract, metadata: dict | None = None
) -> Path:
    """Write ``out_dir/model.safetensors`` + ``out_dir/config.json`` (architecture and input contract) atomically;
    returns ``out_dir``."""
    if tuple(contract.image_size) != tuple(cfg.image_size):
        raise ValueError(f"contract image size {contract.image_size} differs from the model's {cfg.image_size}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not is_checkpoint_folder(out_dir) and (not out_dir.is_dir() or any(out_dir.iterdir())):
        # the folder is swapped whole: never do that to a folder (or file) this package did not write
        raise CheckpointError(f"{out_dir}: exists and is not a {FORMAT} folder; choose a new or empty folder")
    state = {k: v.detach().cpu().contiguous() for k, v in unwrap(model).state_dict().items()}
    info = {
        "format": FORMAT, "version": VERSION, "model": dataclasses.asdict(cfg), "contract": contract.to_dict(),
        **(metadata or {}),
    }

    def build(tmp: Path) -> None:
        save_file(state, str(tmp / WEIGHTS), metadata={"format": FORMAT})
        (tmp / CONFIG).write_text(json.dumps(info, indent=2))

    return replace_dir_atomically(build, out_dir)


def is_checkpoint_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding exactly what :func:`save_generator` writes (safe to replace)."""
    path = Path(path)
    if not path.is_dir() or {p.name for p in path.iterdir()} != {WEIGHTS, CONFIG}:
        return False
    try:
        return json.loads((path / CONFIG).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The bare module inside DDP/DataParallel/torch.compile wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if inner is None:
            return model
        model = inner


def read_native(folder: Path) -> tuple[ModelConfig, InputContract | None, dict[str, torch.Tensor]]:
    """Architecture, input contract (None for folders written before contracts existed) and tensors of a folder."""
    cfg_path, weights_path = folder / CONFIG, folder / WEIGHTS
    for p in (cfg_path, weights_path):
        if not p.is_file():
            raise CheckpointError(f"{p}: missing; a posestylizer checkpoint folder holds {CONFIG} and {WEIGHTS}")
    try:
        info = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{cfg_path}:{err.lineno}: not valid JSON ({err.msg})") from None
    except UnicodeDecodeError:
        raise CheckpointError(f"{cfg_path}: not a text file (not UTF-8 JSON)") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT or not isinstance(info.get("model"), dict):
        raise CheckpointError(f"{cfg_path}: not a {FORMAT} config (expected keys 'format' and 'model')")
    version = info.get("version", VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= VERSION:
        raise CheckpointError(f"{cfg_path}: version {version!r} is not supported (this posestylizer reads version "
                              f"{VERSION}; a newer release wrote it?)")
    try:
        cfg = model_config_from_dict(info["model"], str(cfg_path))
    except ConfigError as err:
        raise CheckpointError(str(err)) from None
    contract = _read_contract(info, cfg, str(cfg_path))
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{weights_path}: unreadable safetensors file ({err})") from None
    return cfg, contract, state


def _read_contract(info: dict, cfg: ModelConfig, where: str) -> InputContract | None:
    if "contract" in info:
        contract = InputContract.from_dict(info["contract"], where)
    elif isinstance(info.get("data"), dict) and "heatmap_sigma" in info["data"]:
        # Training runs before version 0.2 stored the data side of the contract under "data".
        data = info["data"]
        contract = InputContract.from_dict(
            {"image_size": cfg.image_size, "heatmap_sigma": data["heatmap_sigma"], "layout": data.get("layout", "market")},
            where,
        )
    else:
        return None
    if tuple(contract.image_size) != tuple(cfg.image_size):
        raise CheckpointError(
            f"{where}: contract image_size {list(contract.image_size)} differs from model.image_size {list(cfg.image_size)}"
        )
    return contract


def load_generator(
    path: str | Path,
    device: str | torch.device = "cpu",
    preset: str | None = None,
    image_size: tuple[int, int] | None = None,
) -> Generator:
    """Load a generator in eval mode from a native folder or directly from an authors' ``.pth`` file.

    Args:
        path: checkpoint folder (``config.json`` + ``model.safetensors``), a training run folder (its
            ``generator/``) or reference state-dict file.
        device: where to put it.
        preset, image_size: only for reference files, whose image size is not stored (default by norm kind).
    Returns:
        the Generator, with ``.contract`` (:class:`~posestylizer.checkpoints.contract.InputContract`, or None for a native folder
        written before contracts existed): the image size and pose-map sigma its inputs must have.
    Raises:
        CheckpointError: missing/unreadable file or tensors that do not fit (one line naming them).
    """
    path = Path(path)
    if path.is_dir() and not (path / CONFIG).is_file() and (path / "generator" / CONFIG).is_file():
        path = path / "generator"  # a training run folder
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint (give a folder with {CONFIG} and model.safetensors, a "
                              "training run folder, or an authors' .pth file)")
    if path.is_dir():
        cfg, contract, state = read_native(path)
    else:
        state = reference_to_native(read_checkpoint_file(path))
        cfg = infer_model_config(state, preset=preset, image_size=image_size)
        # An authors' file stores no contract: the preset's data supplies it (by default market for BatchNorm, fashion
        # for InstanceNorm, the only combinations the authors released).
        base = load_config(preset or ("market" if cfg.norm == "batch" else "fashion"))
        contract = InputContract.of_experiment(base, image_size=cfg.image_size)
    model = Generator(cfg)
    check_state_dict(model, state, str(path))
    model.load_state_dict(state)
    model.contract = contract
    return model.to(device).eval()


def require_contract(model: Generator, source: str | Path) -> InputContract:
    """The model's input contract, or one CheckpointError saying how to give the checkpoint one."""
    contract = getattr(model, "contract", None)
    if contract is None:
        raise CheckpointError(
            f"{source}: checkpoint has no input contract (image size, heatmap sigma; written before posestylizer "
            "0.2): convert the authors' .pth again with `posestylizer convert`, or add a 'contract' entry to config.json"
        )
    return contract


def convert_reference(
    ref_file: str | Path,
    out_dir: str | Path,
    preset: str | None = None,
    image_size: tuple[int, int] | None = None,
) -> tuple[Path, ModelConfig]:
    """Convert an authors' generator checkpoint into a native folder; returns (folder, config)."""
    model = load_generator(ref_file, preset=preset, image_size=image_size)
    meta = {"source": {"file": str(Path(ref_file).name), "kind": "PoseStylizer reference checkpoint"}}
    return save_generator(model, model.config, out_dir, model.contract, metadata=meta), model.config
