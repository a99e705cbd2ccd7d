"""Experiment configuration: dataclass defaults in code, YAML presets holding only differences, dotted overrides.

Usage::

    cfg = load_config("market", overrides=["train.batch_size=8", "model.ngf=32"])
    cfg.model.image_size  # (128, 64)

Only top-level networks and the training loop read these objects; blocks take plain integers.

Every field is checked wherever a value comes from (preset, ``--config`` file, override, a checkpoint's
``config.json``): its type, its choices (``Literal`` fields) and its range (a :class:`Range` declared with the field
through ``Annotated``). A bad value is one :class:`~posestylizer.errors.ConfigError` line naming the field and what is
allowed, e.g. ``train.batch_size: 0 is out of range (must be >= 1)``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml

from posestylizer.errors import ConfigError
from posestylizer.runtime.files import write_text_atomic

PresetName = Literal["", "market", "fashion", "synthetic", "demo"]  # "" = built from the dataclass defaults
PRESETS: tuple[str, ...] = tuple(p for p in typing.get_args(PresetName) if p)


@dataclass(frozen=True)
class Range:
    """Allowed interval of a numeric field, declared next to it (``Annotated[int, Range(ge=1)]``); None = open."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def describe(self) -> str:
        parts = [f"{op} {v:g}" for op, v in ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt))
                 if v is not None]  # fmt: skip
        return " and ".join(parts)

    def check(self, value: float, where: str) -> None:
        ok = ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
              and (self.le is None or value <= self.le) and (self.lt is None or value < self.lt))  # fmt: skip
        if not ok:
            raise ConfigError(f"{where}: {value!r} is out of range (must be {self.describe()})")


@dataclass(frozen=True)
class Pattern:
    """Allowed spellings of a free-form text field (the whole value must match ``regex``)."""

    regex: str
    describe: str

    def check(self, value: str, where: str) -> None:
        if not re.fullmatch(self.regex, value):
            raise ConfigError(f"{where}: {value!r} is not one of {self.describe}")


# Field kinds used below; the bounds are part of the type, so load-time checking reads them from the annotations.
Count = Annotated[int, Range(ge=0)]  # 0 = none / off
Positive = Annotated[int, Range(ge=1)]
Width = Annotated[int, Range(ge=1, le=4096)]
Side = Annotated[int, Range(ge=4, le=8192)]  # image height or width in pixels (>= 2**n_blocks, checked across fields)
NonNegative = Annotated[float, Range(ge=0)]  # loss weights, seconds
Beta = Annotated[float, Range(ge=0, lt=1)]  # Adam betas, dropout probability
Device = Annotated[str, Pattern(r"auto|cpu|mps|(cuda|xpu)(:\d+)?", "auto, cpu, cuda, cuda:N, mps, xpu, xpu:N")]


@dataclass
class ModelConfig:
    """Generator and discriminator architecture (reference §3, §4)."""

    image_size: tuple[Side, Side] = (128, 64)  # (H, W) of images and pose maps
    n_blocks: Annotated[int, Range(ge=2, le=8)] = 4  # encoder/decoder blocks (the reference's G_n_downsampling)
    ngf: Width = 64  # generator base width (channels of the first/last layers)
    ndf: Width = 64  # discriminator base width
    max_channels: Width = 512
    pose_channels: Positive = 18
    norm: Literal["batch", "instance"] = "batch"  # generator and both discriminators
    dropout: Beta = 0.5  # generator dropout after every APS block in training (reference: market only); 0 = off
    # "adapn" (per-cell style, whole-map statistics: paper Eq. 8 as the reference runs it), "adain" (one style per
    # map, Eq. 7 ablation) or "adapn_patch" (per-cell style and per-patch statistics, the unused option of §3.6)
    adanorm: Literal["adapn", "adain", "adapn_patch"] = "adapn"
    # Ablation switches (configs/ablations/, paper Table 2); the defaults are the paper's APS model.
    # encoder: "aps" (pose-attention two streams), "conv" (plain strided convs), "patn" (PATN blocks);
    # decoder: "aps" (pose stylizer), "deconv" (plain transposed convs), "stylegan" (constant content)
    encoder: Literal["aps", "conv", "patn"] = "aps"
    decoder: Literal["aps", "deconv", "stylegan"] = "aps"
    attention: bool = True  # False: no pose-attention gates in the encoder or the APS blocks
    decode_foreground: bool = True  # False: the output layer sees only the synthesized stream I_g (not I_f^L)
    d_dropout: bool = True  # dropout(0.5) inside the discriminators' residual blocks (reference)


@dataclass
class DataConfig:
    """Where the PATN-layout dataset lives and how samples are made (reference §1)."""

    root: str = ""
    layout: Literal["market", "fashion"] = "market"  # file-name preset of the annotation/pair CSVs
    annotation_file: str = ""  # annotation CSV name, "{phase}" = train/test; empty = the layout's
    pairs_file: str = ""  # pair CSV name, "{phase}" = train/test; empty = the layout's
    # Gaussian sigma of the pose maps in pixels (market 6, fashion 12)
    heatmap_sigma: Annotated[float, Range(gt=0, le=1000)] = 6.0
    use_precomputed_heatmaps: bool = False  # read <phase>K/<name>.npy instead of rendering
    flip: bool = False  # horizontal flip augmentation (off in both paper presets)
    num_workers: Annotated[int, Range(ge=0, le=256)] = 2


@dataclass
class LossConfig:
    """Objective of reference §5: GAN + L1 + perceptual L1 on VGG19 relu1_2."""

    gan_mode: Literal["bce", "lsgan"] = "bce"  # bce: sigmoid D output (market); lsgan: least squares (fashion)
    lambda_gan: NonNegative = 5.0
    lambda_l1: NonNegative = 10.0
    lambda_perceptual: NonNegative = 10.0
    perceptual: bool = True  # False drops the VGG term (the offline demo does, and says so)
    vgg_weights: str = ""  # local VGG19 state-dict file; empty = torchvision's ImageNet weights
    pool_size: Count = 50  # fake-pair image pool per discriminator (0 = off)
    lambda_fm: NonNegative = 0.0  # discriminator feature matching in L_G (not in the paper: 0 there)
    lambda_l1_mask: NonNegative = 0.0  # extra L1 inside the target's pose mask (not in the paper: 0 there)


@dataclass
class TrainConfig:
    """Optimisation and run bookkeeping."""

    batch_size: Positive = 192
    lr: Annotated[float, Range(ge=0, le=10)] = 2e-4  # 0 keeps the weights (a check of --init-from)
    beta1: Beta = 0.5
    beta2: Beta = 0.999
    epochs: Count = 400  # epochs at constant lr (reference niter)
    epochs_decay: Count = 400  # epochs of linear decay to 0 (reference niter_decay)
    epoch_length: Count = 4000  # random pairs per epoch (reference: hard-coded 4000); 0 = the dataset size
    time_budget: NonNegative = 0.0  # > 0: seconds of training instead of epochs; the LR shape is stretched over it
    steps: Count = 0  # > 0: exactly this many iterations instead of an epoch count; the LR shape is stretched over them
    seed: Annotated[int, Range(ge=0, le=2**31 - 1)] = 0
    device: Device = "auto"  # "auto", "cpu", "cuda", "cuda:1", ...
    # bf16: autocast; fp16: autocast + GradScaler (CUDA); auto: bf16 where the device computes it natively
    precision: Literal["fp32", "bf16", "fp16", "auto"] = "fp32"
    channels_last: bool = True  # NHWC memory: oneDNN's native CPU layout (CPU iteration 1.07x market, 1.27x demo)
    compile: bool = False
    sync_batchnorm: bool = False
    # > 0: BatchNorm statistics per group of at most this many samples, as nn.DataParallel on
    # ceil(batch_size / bn_group_size) GPUs would compute them (posestylizer.nn.ghost_bn); 0: over the whole batch
    bn_group_size: Count = 0
    deterministic: bool = False
    log_every: Positive = 10  # iterations between scalar logs
    sample_every: Count = 1  # epochs between sample grids
    checkpoint_every: Count = 1  # epochs between checkpoints
    keep_last: Positive = 3  # checkpoints kept (latest always kept)


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    preset: PresetName = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        write_text_atomic(path, yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert a YAML/JSON value to the annotated field type and check its choices and range, or raise ConfigError
    naming ``where``."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        base, *checks = typing.get_args(tp)
        value = _coerce(value, base, where)
        for check in checks:
            check.check(value, where)
        return value
    if origin is Literal:
        choices = typing.get_args(tp)
        if not isinstance(value, str) or value not in choices:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(c or repr(c) for c in choices)}")
        return value
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
        return _coerce_float(value, where)
    if tp is str:
        if value is None:
            return ""
        if isinstance(value, bool):  # YAML 1.1 reads yes/no/on/off as booleans: the user meant the word
            raise ConfigError(f"{where}: expected text, got the boolean {value!r}; put the value in quotes")
        if not isinstance(value, (str, int, float)):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return str(value)
    return value


def _coerce_float(value: Any, where: str) -> float:
    if isinstance(value, str):  # YAML 1.1 reads "1e-4" (no dot) as a string
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    try:
        value = float(value)
    except OverflowError:  # an integer with hundreds of digits
        raise ConfigError(f"{where}: {value:.3g} is too large") from None
    if not math.isfinite(value):  # nan passes no range comparison: refuse it (and inf) by name
        raise ConfigError(f"{where}: expected a finite number, got {value!r}")
    return value


def _hints(obj: Any) -> dict[str, Any]:  # field types with their Annotated checks kept
    return typing.get_type_hints(type(obj), include_extras=True)


def _bare(tp: Any) -> Any:  # the type under Annotated checks
    return typing.get_args(tp)[0] if typing.get_origin(tp) is Annotated else tp


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
    return obj, leaf, _hints(obj)[leaf]


def _set(obj: Any, dotted: str, value: Any, where: str, prefix: str = "") -> None:
    owner, leaf, hint = _field(obj, dotted, where, prefix)
    if dataclasses.is_dataclass(_bare(hint)):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: '{prefix}{dotted}' is a section; give a mapping")
        for k, v in value.items():
            _set(getattr(owner, leaf), str(k), v, where, f"{prefix}{dotted}.")
        return
    setattr(owner, leaf, _coerce(value, hint, f"{where}: {prefix}{dotted}"))


def set_value(cfg: ExperimentConfig, dotted: str, value: Any, where: str) -> ExperimentConfig:
    """Set one typed value (e.g. a path from a CLI option) by its dotted key, checked; no text parsing."""
    _set(cfg, dotted, value, where)
    return check_config(cfg, where)


def merge_dict(cfg: ExperimentConfig, values: dict[str, Any], where: str) -> ExperimentConfig:
    """Apply a nested mapping (as read from YAML) onto ``cfg`` in place, checking every value."""
    return check_config(_merge(cfg, values, where), where)


def apply_overrides(cfg: ExperimentConfig, overrides: list[str]) -> ExperimentConfig:
    """Apply ``key.sub=value`` strings, checked.

    The value of a text field (paths, names, choices) is taken verbatim: ``data.root=runs/a #1`` is that path,
    ``yes`` is the word. Other fields parse the value as a YAML scalar or list (``train.lr=1e-4``,
    ``model.image_size=[64,32]``).
    """
    return check_config(_overrides(cfg, overrides), "overrides")


def check_config(cfg: ExperimentConfig, where: str) -> ExperimentConfig:
    """Check every field of ``cfg`` (type, choices, range) and the rules across fields; ConfigError naming the first
    bad one. Values set through this module are checked as they are set; this also covers objects built in code."""
    _check_fields(cfg, where, "")
    sides, n = cfg.model.image_size, cfg.model.n_blocks
    if min(sides) < 2**n:  # each block halves the feature map: the bottleneck must keep at least one pixel
        raise ConfigError(
            f"{where}: model.image_size {list(sides)} is too small for model.n_blocks={n} (each side must be >= {2**n})"
        )
    return cfg


def _check_fields(obj: Any, where: str, prefix: str) -> None:
    for name, hint in _hints(obj).items():
        value = getattr(obj, name)
        if dataclasses.is_dataclass(_bare(hint)):
            _check_fields(value, where, f"{prefix}{name}.")
        else:
            _coerce(value, hint, f"{where}: {prefix}{name}")


def _merge(cfg: ExperimentConfig, values: dict[str, Any], where: str) -> ExperimentConfig:
    for key, value in values.items():
        _set(cfg, str(key), value, where)
    return cfg


def _overrides(cfg: ExperimentConfig, overrides: list[str]) -> ExperimentConfig:
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}': expected key=value, e.g. train.batch_size=8")
        key, raw = item.split("=", 1)
        key, where = key.strip(), f"override '{item}'"
        _, _, hint = _field(cfg, key, where)
        bare = _bare(hint)
        if bare is str or typing.get_origin(bare) is Literal:
            value = raw
        else:
            try:
                value = yaml.safe_load(raw) if raw.strip() else ""
            except yaml.YAMLError as err:
                raise ConfigError(f"{where}: cannot parse value ({_yaml_problem(err)})") from None
        _set(cfg, key, value, where)
    return cfg


def _yaml_problem(err: yaml.YAMLError) -> str:
    """One line out of a PyYAML error (whose text spans several lines with a caret)."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).strip().splitlines()[0]
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark is not None else problem


def _read_yaml(p: Path) -> dict[str, Any]:
    """The mapping in a user's YAML file; one ConfigError line for a missing, unreadable, binary or invalid file."""
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except (IsADirectoryError, PermissionError) as err:  # a folder given, or mode 000
        raise ConfigError(f"{p}: cannot read the config file ({err.strerror.lower()})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a text file (not UTF-8); give a YAML file") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{p}: not valid YAML ({_yaml_problem(err)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping of config sections")
    return data


def _preset_text(name: str) -> str:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}': choose one of {', '.join(PRESETS)}")
    return resources.files("posestylizer.configs").joinpath(f"{name}.yaml").read_text()


def load_config(
    preset: str | None = None, path: str | Path | None = None, overrides: list[str] | None = None
) -> ExperimentConfig:
    """Defaults ← preset YAML ← user YAML file ← dotted overrides; every value checked (one ConfigError line)."""
    cfg = ExperimentConfig()
    if preset:
        data = yaml.safe_load(_preset_text(preset)) or {}
        _merge(cfg, data, f"preset {preset}")
        cfg.preset = preset
        if cfg.name == "experiment":
            cfg.name = preset
    if path:
        _merge(cfg, _read_yaml(Path(path)), str(path))
    _overrides(cfg, overrides or [])
    # Cross-field rules hold for the result, not for each layer (a file may change the size an override fits).
    return check_config(cfg, "config")


def model_config_from_dict(values: dict[str, Any], where: str = "config") -> ModelConfig:
    """Build a ModelConfig from a JSON/YAML mapping (e.g. a checkpoint's config.json), checked."""
    return merge_dict(ExperimentConfig(), {"model": values}, where).model
