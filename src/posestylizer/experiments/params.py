"""Generator parameter counts of the ablation variants (paper Table 2), for ``posestylizer ablate --list``.

The networks are built on the ``meta`` device: no memory is allocated and nothing is initialised, so the table of
every variant at the paper's widths costs well under a second. Only the generator differs between variants (the
discriminators are the same for all), so only its parameters are counted.
"""

from __future__ import annotations

import torch

from posestylizer.config import ExperimentConfig, ModelConfig
from posestylizer.experiments.variants import Variant, load_variants
from posestylizer.models import Generator


def count_parameters(cfg: ModelConfig | ExperimentConfig) -> int:
    """Trainable parameters of the generator ``cfg`` describes (buffers such as BatchNorm statistics excluded).

    Raises ConfigError (from the generator) for a size or variant that cannot be built.
    """
    model_cfg = cfg.model if isinstance(cfg, ExperimentConfig) else cfg
    with torch.device("meta"):
        generator = Generator(model_cfg)
    return sum(p.numel() for p in generator.parameters() if p.requires_grad)


def parameter_table(base: ExperimentConfig, variants: list[Variant] | None = None) -> list[tuple[str, str, int]]:
    """``(name, paper_row, parameters)`` of each variant applied to ``base`` (all shipped ones, in Table 2's order,
    when ``variants`` is None). ``paper_row`` is empty for a variant the paper has no row for."""
    variants = load_variants() if variants is None else variants
    return [(v.name, v.paper_row, count_parameters(v.apply(base))) for v in variants]
