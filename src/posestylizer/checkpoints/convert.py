"""Read the authors' checkpoints and map them onto our networks.

Generator files (``latest_netG.pth``, §3.9, with an optional ``module.`` prefix from DataParallel runs) are translated
to :class:`Generator` names by the table below; the architecture is inferred from tensor shapes, the image size from a
preset. Discriminator files (``latest_netD_PB.pth``, ``latest_netD_PP.pth``, §4) map onto ours for fine-tuning
(``posestylizer train --init-from``). Every mismatch is one :class:`CheckpointError` listing missing, unexpected and
wrongly shaped keys.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import torch

from posestylizer.config import ExperimentConfig, ModelConfig, load_config, model_config_from_dict
from posestylizer.errors import CheckpointError
from posestylizer.runtime.files import read_state_dict_file

# (reference pattern, our name); applied to keys without the "module." / "model." prefixes.
_KEY_RULES: tuple[tuple[str, str], ...] = (
    (r"psf_down\.1\.", "encoder.image_stem.conv."),
    (r"psf_down\.2\.", "encoder.image_stem.norm."),
    (r"bps_down\.1\.", "encoder.pose_stem.conv."),
    (r"bps_down\.2\.", "encoder.pose_stem.norm."),
    (r"down_blocks\.(\d+)\.conv_block_down_stream1\.0\.", r"encoder.blocks.\1.image_down.conv."),
    (r"down_blocks\.(\d+)\.conv_block_down_stream1\.1\.", r"encoder.blocks.\1.image_down.norm."),
    (r"down_blocks\.(\d+)\.conv_block_stream1\.1\.", r"encoder.blocks.\1.image_conv.conv."),
    (r"down_blocks\.(\d+)\.conv_block_stream1\.2\.", r"encoder.blocks.\1.image_conv.norm."),
    (r"down_blocks\.(\d+)\.conv_block_down_stream2\.0\.", r"encoder.blocks.\1.pose_down.conv."),
    (r"down_blocks\.(\d+)\.conv_block_down_stream2\.1\.", r"encoder.blocks.\1.pose_down.norm."),
    (r"down_blocks\.(\d+)\.conv_block_stream2\.1\.", r"encoder.blocks.\1.pose_conv.conv."),
    (r"up_blocks_fg\.(\d+)\.image_up_sample\.", r"decoder.fg_blocks.\1.up."),
    (r"up_blocks_fg\.(\d+)\.patchnorm1\.fc\.", r"decoder.fg_blocks.\1.norm1.style."),
    (r"up_blocks_fg\.(\d+)\.patchnorm2\.fc\.", r"decoder.fg_blocks.\1.norm2.style."),
    (r"up_blocks_fg\.(\d+)\.conv1\.", r"decoder.fg_blocks.\1.conv."),
    (r"up_blocks_fg\.(\d+)\.att\.", r"decoder.fg_blocks.\1.attention."),
    # Full-image blocks: (ConvTranspose, norm) at layer.0/.1, except the last block (pad, conv7, norm) at .1/.2.
    (r"up_blocks_full\.(\d+)\.layer\.0\.", r"decoder.full_blocks.\1.conv."),
    (r"up_blocks_full\.(\d+)\.layer\.1\.", r"decoder.full_blocks.\1.{layer1}."),
    (r"up_blocks_full\.(\d+)\.layer\.2\.", r"decoder.full_blocks.\1.norm."),
    (r"out_node_full\.1\.", "decoder.to_rgb.conv."),
)
_COMPILED = tuple((re.compile(pattern), repl) for pattern, repl in _KEY_RULES)


def strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop DataParallel's ``module.`` and the wrapper's ``model.`` prefixes (quirk 11)."""
    out = {}
    for key, value in state.items():
        for prefix in ("module.", "model."):
            key = key.removeprefix(prefix)
        out[key] = value
    return out


def reference_to_native(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename reference generator keys to ours; keys no rule matches are kept as they are (reported later)."""
    state = strip_prefixes(state)
    # A full-image block with a layer.0 entry is a transposed-conv block (layer.1 = norm); otherwise layer.1 is the conv.
    deconv_blocks = {m.group(1) for k in state if (m := re.match(r"up_blocks_full\.(\d+)\.layer\.0\.", k))}
    out = {}
    for key, value in state.items():
        new = key
        for pattern, repl in _COMPILED:
            match = pattern.match(key)
            if match:
                layer1 = "norm" if match.groups() and match.group(1) in deconv_blocks else "conv"
                new = pattern.sub(repl, key, count=1).replace("{layer1}", layer1)
                break
        out[new] = value
    return out


_D_RULES: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"1\.", "stem.conv."),
        (r"2\.", "stem.norm."),
        (r"4\.", "down.0.conv."),
        (r"5\.", "down.0.norm."),
        (r"7\.", "down.1.conv."),
        (r"8\.", "down.1.norm."),
        (r"1([0-2])\.conv_block\.1\.", r"blocks.\1.block1.conv."),
        (r"1([0-2])\.conv_block\.2\.", r"blocks.\1.block1.norm."),
        (r"1([0-2])\.conv_block\.6\.", r"blocks.\1.block2.conv."),
        (r"1([0-2])\.conv_block\.7\.", r"blocks.\1.block2.norm."),
    )
)


def reference_discriminator_to_native(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename reference ``ResnetDiscriminator`` keys (``model.<index>...``, §4) to ours (for fine-tuning from the
    authors' netD_PB/netD_PP files)."""
    out = {}
    for key, value in strip_prefixes(state).items():
        new = key
        for pattern, repl in _D_RULES:
            if pattern.match(key):
                new = pattern.sub(repl, key, count=1)
                break
        out[new] = value
    return out


# The authors' run folder: checkpoint/<name>/{latest,<epoch>}_{netG,netD_PB,netD_PP}.pth (§5.5).
REFERENCE_NETWORKS = {"G": "netG", "D_PB": "netD_PB", "D_PP": "netD_PP"}


def find_reference_files(paths: list[str | Path]) -> dict[str, Path]:
    """Which of the authors' files holds which network: ``"G"`` / ``"D_PB"`` / ``"D_PP"`` -> file.

    Args:
        paths: one folder (its ``latest_netG.pth``, ``latest_netD_PB.pth``, ``latest_netD_PP.pth``, those present) or
            files named ``<label>_netG.pth``, ``<label>_netD_PB.pth``, ``<label>_netD_PP.pth``.
    Raises:
        CheckpointError: nothing found, a file name that names no network, a network given twice, a missing file.
    """
    found: dict[str, Path] = {}
    for path in map(Path, paths):
        if path.is_dir():
            hits = {k: path / f"latest_{n}.pth" for k, n in REFERENCE_NETWORKS.items()}
            hits = {k: p for k, p in hits.items() if p.is_file()}
            if not hits:
                raise CheckpointError(f"{path}: no latest_netG.pth, latest_netD_PB.pth or latest_netD_PP.pth here")
        else:
            keys = [k for k, n in REFERENCE_NETWORKS.items() if path.name.endswith(f"_{n}.pth")]
            if not keys:
                raise CheckpointError(
                    f"{path}: name says no network; the authors' files end in _netG.pth, _netD_PB.pth or _netD_PP.pth"
                )
            if not path.is_file():
                raise CheckpointError(f"{path}: checkpoint file not found")
            hits = {keys[0]: path}
        for key, p in hits.items():
            if key in found:
                raise CheckpointError(f"{p}: {key} is already given by {found[key]}; give one file per network")
            found[key] = p
    if not found:
        raise CheckpointError("no authors' checkpoint given: pass a folder or files like latest_netG.pth")
    return found


def read_reference_networks(paths: list[str | Path]) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, str]]:
    """Native-named state dicts of the authors' G / D_PB / D_PP files (:func:`find_reference_files`), and the file of
    each (same keys)."""
    files = find_reference_files(paths)
    states = {}
    for key, path in files.items():
        state = read_checkpoint_file(path, f"authors' {REFERENCE_NETWORKS[key]} checkpoint")
        states[key] = reference_to_native(state) if key == "G" else reference_discriminator_to_native(state)
    return states, {k: str(p) for k, p in files.items()}


def read_checkpoint_file(path: str | Path, what: str = "PyTorch checkpoint") -> dict[str, torch.Tensor]:
    """Load a state dict from an authors' ``.pth`` file safely (``weights_only=True``).

    Accepts a bare state dict or a dict holding one under ``state_dict`` (as our fixtures and many trainers do).
    """
    return read_state_dict_file(path, what, CheckpointError)


def infer_model_config(
    state: dict[str, torch.Tensor], preset: str | None = None, image_size: tuple[int, int] | None = None
) -> ModelConfig:
    """Architecture from native-named tensor shapes; image size and dropout from ``preset`` (or by the norm kind:
    BatchNorm -> market, InstanceNorm -> fashion, the only combinations the authors released)."""
    stem = state.get("encoder.image_stem.conv.weight")
    if stem is None or stem.dim() != 4:
        sample = ", ".join(list(state)[:3])
        raise CheckpointError(f"not an APS generator state dict (no psf_down/image stem conv; keys start {sample})")
    n_blocks = len({k.split(".")[2] for k in state if k.startswith("encoder.blocks.")})
    norm = "batch" if "encoder.image_stem.norm.weight" in state else "instance"
    base: ExperimentConfig = load_config(preset or ("market" if norm == "batch" else "fashion"))
    cfg = dataclasses.replace(
        base.model,
        ngf=int(stem.shape[0]),
        n_blocks=n_blocks,
        norm=norm,
        pose_channels=int(state["encoder.pose_stem.conv.weight"].shape[1]),
    )
    bottleneck = state.get(f"encoder.blocks.{n_blocks - 1}.image_down.conv.weight")
    if bottleneck is not None and bottleneck.shape[0] < cfg.ngf * 2**n_blocks:
        cfg.max_channels = int(bottleneck.shape[0])
    if image_size is not None:
        cfg.image_size = tuple(image_size)
    # Checked as a loaded config is (ranges, image size against the blocks): a bad --image-size is one line here, not
    # a checkpoint written that cannot be loaded.
    return model_config_from_dict(dataclasses.asdict(cfg), "--image-size" if image_size is not None else "checkpoint")


def check_state_dict(
    model: torch.nn.Module, state: dict[str, torch.Tensor], source: str, what: str = "the APS generator"
) -> None:
    """Raise one CheckpointError listing missing, unexpected and wrongly shaped keys (first 8 of each)."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shaped = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or shaped:
        parts = []
        for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shaped)):
            if items:
                more = f" (+{len(items) - 8} more)" if len(items) > 8 else ""
                parts.append(f"{label} {len(items)}: " + "; ".join(items[:8]) + more)
        raise CheckpointError(f"{source}: does not match {what}: " + " | ".join(parts))
