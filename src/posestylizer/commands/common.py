"""Helpers shared by the CLI subcommands: the model options, ``--precision``, image outputs.

Every ``commands/*`` module that needs one imports it from here; no subcommand imports another. ``--person`` is read
by :func:`posestylizer.inference.inputs.parse_person`, the one reader that the Python API and the server use too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from posestylizer.commands.argtypes import device
from posestylizer.errors import ConfigError
from posestylizer.runtime.imagefiles import save_image as write_image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def add_model_options(p: argparse.ArgumentParser) -> None:
    """``--checkpoint``, ``--preset``, ``--device`` and ``--precision`` of the commands that load a generator."""
    model = p.add_argument_group("model")
    model.add_argument("--checkpoint", required=True, help="native checkpoint folder, training run folder, or an "
                       "authors' latest_netG.pth (with --preset)")
    model.add_argument("--preset", choices=("market", "fashion"), help="for an authors' .pth: which paper model "
                       "it is (default: market for BatchNorm weights)")
    model.add_argument("--device", type=device, default="cpu", help="cpu, cuda, cuda:1, ...")
    add_precision_option(model)


def add_force_option(p) -> None:
    """``--force``: the one switch, on every command, that lets an output replace an existing file."""
    p.add_argument("--force", action="store_true", help="replace the output if it exists (never an input)")


def add_precision_option(p) -> None:
    """``--precision`` of the inference commands (generate, animate, serve)."""
    # fp32 by default: the same outputs on every machine; auto is opt-in because it changes them where bf16 is native.
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16", "auto"), default="fp32",
                   help="compute precision (default fp32): bf16/fp16 = autocast (fp16 on CUDA only); auto = bf16 "
                   "where the device computes it natively (CUDA compute capability >= 8, CPUs with AMX or "
                   "AVX512-BF16), else fp32, and it prints its choice")


def check_image_path(path: str | Path, what: str = "--out") -> Path:
    """``path`` as a Path when it ends with an image suffix; ConfigError naming ``what`` otherwise."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ConfigError(f"{what} {path}: end the file name with one of {', '.join(IMAGE_SUFFIXES)}")
    return path


def save_image(image, path: str | Path) -> Path:
    """Write an image (PIL or uint8 array) atomically: a temporary sibling renamed into place."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ConfigError(f"{path}: unknown image type; end the file name with {', '.join(IMAGE_SUFFIXES)}")
    return write_image(image, path)
