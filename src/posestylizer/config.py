"""Experiment configuration: dataclass defaults in code, YAML presets holding only differences, dotted overrides.

Usage::

    cfg = load_config("market", overrides=["train.batch_size=8", "model.ngf=32"])
    cfg.model.image_size  # (128, 64)

Only top-level networks and the training loop read these objects; blocks take plain integers.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from posestylizer.errors import ConfigError
from posestylizer.runtime.files import write_text_atomic

PRESETS = ("market", "fashion", "synthetic")


@dataclass
class ModelConfig:
    """Generator and discriminator architecture (reference §3, §4)."""

    image_size: tuple[int, int] = (128, 64)  # (H, W) of images and pose maps
    n_blocks: int = 4  # encoder/decoder blocks (the reference's G_n_downsampling)
    ngf: int = 64  # generator base width (channels of the first/last layers)
    ndf: int = 64  # discriminator base width
    max_channels: int = 512
    pose_channels: int = 18
    norm: str = "batch"  # "batch" or "instance" (generator and both discriminators)
    dropout: float = 0.5  # generator dropout after every APS block in training (reference: market only); 0 = off
    # "adapn" (per-cell style, whole-map statistics: paper Eq. 8 as the reference runs it), "adain" (one style per
    # map, Eq. 7 ablation) or "adapn_patch" (per-cell style and per-patch statistics, the unused option of §3.6)
    adanorm: str = "adapn"
    # Ablation switches (configs/ablations/, paper Table 2); the defaults are the paper's APS model.
    encoder: str = "aps"  # "aps" (pose-attention two streams), "conv" (plain strided convs), "patn" (PATN blocks)
    decoder: str = "aps"  # "aps" (pose stylizer), "deconv" (plain transposed convs), "stylegan" (constant content)
    attention: bool = True  # False: no pose-attention gates in the encoder or the APS blocks
    decode_foreground: bool = True  # False: the output layer sees only the synthesized stream I_g (not I_f^L)
    d_dropout: bool = True  # dropout(0.5) inside the discriminators' residual blocks (reference)


@dataclass
class DataConfig:
    """Where the PATN-layout dataset lives and how samples are made (reference §1)."""

    root: str = ""
    layout: str = "market"  # file-name preset of the annotation/pair CSVs: "market" or "fashion"
    annotation_file: str = ""  # annotation CSV name, "{phase}" = train/test; empty = the layout's
    pairs_file: str = ""  # pair CSV name, "{phase}" = train/test; empty = the layout's
    heatmap_sigma: float = 6.0  # Gaussian sigma of the pose maps in pixels (market 6, fashion 12)
    use_precomputed_heatmaps: bool = False  # read <phase>K/<name>.npy instead of rendering
    flip: bool = False  # horizontal flip augmentation (off in both paper presets)
    num_workers: int = 2


@dataclass
class LossConfig:
    """Objective of reference §5: GAN + L1 + perceptual L1 on VGG19 relu1_2."""

    gan_mode: str = "bce"  # "bce" (sigmoid D output, market) or "lsgan" (fashion)
    lambda_gan: float = 5.0
    lambda_l1: float = 10.0
    lambda_perceptual: float = 10.0
    perceptual: bool = True  # False drops the VGG term (the offline demo does, and says so)
    vgg_weights: str = ""  # local VGG19 state-dict file; empty = torchvision's ImageNet weights
    pool_size: int = 50  # fake-pair image pool per discriminator (0 = off)
    lambda_fm: float = 0.0  # discriminator feature matching in L_G (not in the paper: 0 there; the demo uses it)


@dataclass
class TrainConfig:
    """Optimisation and run bookkeeping."""

    batch_size: int = 192
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    epochs: int = 400  # epochs at constant lr (reference niter)
    epochs_decay: int = 400  # epochs of linear decay to 0 (reference niter_decay)
    epoch_length: int = 4000  # random pairs per epoch (reference: hard-coded 4000)
    time_budget: float = 0.0  # > 0: seconds of training instead of an epoch count; the LR shape is stretched over it
    steps: int = 0  # > 0: exactly this many iterations instead of an epoch count; the LR shape is stretched over them
    seed: int = 0
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", ...
    precision: str = "fp32"  # "fp32", "bf16" (autocast), "fp16" (autocast + GradScaler, CUDA), "auto" (bf16 if native)
    channels_last: bool = True  # NHWC memory: oneDNN's native CPU layout (CPU iteration 1.07x market, 1.27x demo)
    compile: bool = False
    sync_batchnorm: bool = False
    # > 0: BatchNorm statistics per group of at most this many samples, as nn.DataParallel on
    # ceil(batch_size / bn_group_size) GPUs would compute them (posestylizer.nn.ghost_bn); 0: over the whole batch
    bn_group_size: int = 0
    deterministic: bool = False
    log_every: int = 10  # iterations between scalar logs
    sample_every: int = 1  # epochs between sample grids
    checkpoint_every: int = 1  # epochs between checkpoints
    keep_last: int = 3  # checkpoints kept (latest always kept)


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    preset: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        write_text_atomic(path, yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert a YAML/JSON value to the annotated field type, or raise ConfigError naming ``where``."""
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise ConfigError(f"{where}: expected a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(v, a, where) for v, a in zip(value, args))
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} does not fit {tp}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads "1e-4" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if value is None:
            return ""
        if isinstance(value, bool):  # YAML 1.1 reads yes/no/on/off as booleans: the user meant the word
            raise ConfigError(f"{where}: expected text, got the boolean {value!r}; put the value in quotes")
        if not isinstance(value, (str, int, float)):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return str(value)
    return value


def _field(obj: Any, dotted: str, where: str, prefix: str = "") -> tuple[Any, str, Any]:
    """(dataclass holding the field, field name, annotated type) of a dotted key; ConfigError for unknown keys.

    ``prefix`` is the section path of ``obj`` inside the whole config (for messages)."""
    *parents, leaf = dotted.split(".")
    for part in parents:
        if not dataclasses.is_dataclass(obj) or part not in {f.name for f in dataclasses.fields(obj)}:
            raise ConfigError(f"{where}: unknown config key '{prefix}{dotted}'")
        obj = getattr(obj, part)
    fields = {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else set()
    if leaf not in fields:
        known = ", ".join(sorted(fields))
        raise ConfigError(f"{where}: unknown config key '{prefix}{dotted}' (known here: {known})")
    return obj, leaf, typing.get_type_hints(type(obj))[leaf]


def _set(obj: Any, dotted: str, value: Any, where: str, prefix: str = "") -> None:
    owner, leaf, hint = _field(obj, dotted, where, prefix)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: '{prefix}{dotted}' is a section; give a mapping")
        for k, v in value.items():
            _set(getattr(owner, leaf), str(k), v, where, f"{prefix}{dotted}.")
        return
    setattr(owner, leaf, _coerce(value, hint, f"{where}: {prefix}{dotted}"))


def set_value(cfg: ExperimentConfig, dotted: str, value: Any, where: str) -> ExperimentConfig:
    """Set one typed value (e.g. a path from a CLI option) by its dotted key, type-checked; no text parsing."""
    _set(cfg, dotted, value, where)
    return cfg


def merge_dict(cfg: ExperimentConfig, values: dict[str, Any], where: str) -> ExperimentConfig:
    """Apply a nested mapping (as read from YAML) onto ``cfg`` in place, type-checking every value."""
    for key, value in values.items():
        _set(cfg, key, value, where)
    return cfg


def apply_overrides(cfg: ExperimentConfig, overrides: list[str]) -> ExperimentConfig:
    """Apply ``key.sub=value`` strings, type-checked.

    The value of a text field (paths, names) is taken verbatim: ``data.root=runs/a #1`` is that path, ``yes`` is the
    word. Other fields parse the value as a YAML scalar or list (``train.lr=1e-4``, ``model.image_size=[64,32]``).
    """
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}': expected key=value, e.g. train.batch_size=8")
        key, raw = item.split("=", 1)
        key, where = key.strip(), f"override '{item}'"
        _, _, hint = _field(cfg, key, where)
        if hint is str:
            value = raw
        else:
            try:
                value = yaml.safe_load(raw) if raw.strip() else ""
            except yaml.YAMLError as err:
                raise ConfigError(f"{where}: cannot parse value ({err.problem})") from None
        _set(cfg, key, value, where)
    return cfg


def _preset_text(name: str) -> str:
    try:
        return resources.files("posestylizer.configs").joinpath(f"{name}.yaml").read_text()
    except FileNotFoundError:
        raise ConfigError(f"unknown preset '{name}': choose one of {', '.join(PRESETS)}") from None


def load_config(
    preset: str | None = None, path: str | Path | None = None, overrides: list[str] | None = None
) -> ExperimentConfig:
    """Defaults ← preset YAML ← user YAML file ← dotted overrides."""
    cfg = ExperimentConfig()
    if preset:
        data = yaml.safe_load(_preset_text(preset)) or {}
        merge_dict(cfg, data, f"preset {preset}")
        cfg.preset = preset
        if cfg.name == "experiment":
            cfg.name = preset
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{p}: not valid YAML ({err})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: expected a mapping of config sections")
        merge_dict(cfg, data, str(p))
    apply_overrides(cfg, overrides or [])
    return cfg


def model_config_from_dict(values: dict[str, Any], where: str = "config") -> ModelConfig:
    """Build a ModelConfig from a JSON/YAML mapping (e.g. a checkpoint's config.json), type-checked."""
    cfg = ExperimentConfig()
    merge_dict(cfg, {"model": values}, where)
    return cfg.model
