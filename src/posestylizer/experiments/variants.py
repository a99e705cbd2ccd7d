"""Ablation variants (paper Table 2) as config deltas: ``configs/ablations/<name>.yaml``.

Each file holds ``order`` (row order), ``paper_row`` (the row of Table 2 it stands for, empty when the paper has none),
``description`` (one line) and config sections (``model:``, ...) that are merged onto a base recipe::

    variant = load_variant("adain")
    cfg = variant.apply(load_config("demo"))  # the demo recipe with AdaIN instead of AdaPN
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from posestylizer.config import ExperimentConfig, merge_dict
from posestylizer.errors import ConfigError

_META = ("order", "paper_row", "description")


@dataclass(frozen=True)
class Variant:
    """One ablation variant: its name, where it sits in Table 2, and the config delta it applies."""

    name: str
    order: int
    paper_row: str
    description: str
    delta: dict[str, Any] = field(default_factory=dict)

    def apply(self, base: ExperimentConfig) -> ExperimentConfig:
        """A copy of ``base`` with the delta merged on (type-checked); the name gets the variant's as a suffix."""
        cfg = merge_dict(copy.deepcopy(base), copy.deepcopy(self.delta), f"ablation {self.name}")
        cfg.name = f"{base.name}-{self.name}"
        return cfg


def _folder():
    return resources.files("posestylizer.configs").joinpath("ablations")


def variant_names() -> list[str]:
    """Every shipped variant, in Table 2's row order (the full model last among the paper's rows)."""
    return [v.name for v in sorted((load_variant(n) for n in _file_names()), key=lambda v: v.order)]


def _file_names() -> list[str]:
    return [p.name[: -len(".yaml")] for p in _folder().iterdir() if p.name.endswith(".yaml")]


def load_variant(name: str) -> Variant:
    """The variant ``name``; ConfigError naming the known ones when there is no such file."""
    path = _folder().joinpath(f"{name}.yaml")
    if not path.is_file():
        raise ConfigError(f"unknown ablation variant '{name}': choose from {', '.join(sorted(_file_names()))}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing = [k for k in _META if k not in data]
    if missing:
        raise ConfigError(f"configs/ablations/{name}.yaml: missing {', '.join(missing)}")
    delta = {k: v for k, v in data.items() if k not in _META}
    return Variant(name, int(data["order"]), str(data["paper_row"] or ""), str(data["description"]), delta)


def load_variants(names: list[str] | None = None) -> list[Variant]:
    """The named variants (all when ``names`` is empty or None), in the order given or Table 2's order."""
    return [load_variant(n) for n in (names or variant_names())]
