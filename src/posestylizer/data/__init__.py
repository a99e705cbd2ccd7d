"""PATN-layout datasets (Market-1501, DeepFashion, synthetic people): reading, validation, pair lists, synthesis.

Public names (imported lazily, so that ``posestylizer data check`` and ``data synth`` do not load torch)::

    PairDataset, read_image, image_to_tensor, flip_keypoints, write_heatmaps   # dataset.py
    check_dataset, CheckReport, image_problem                                   # check.py
    make_pairs, pairable                                                        # pairs.py
    write_dataset, render_sample, contact_sheet, mask_path, background_path     # synth.py
    Layout, LAYOUTS, get_layout, PHASES                                         # layouts.py
    Problem, read_annotations, write_annotations, read_pairs, write_pairs, ...  # formats.py
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "dataset": ("PairDataset", "read_image", "image_to_tensor", "flip_keypoints", "write_heatmaps"),
    "check": ("check_dataset", "CheckReport", "image_problem"),
    "pairs": ("make_pairs", "pairable", "PAIR_REQUIRED_KEYPOINTS"),
    "synth": ("write_dataset", "render_sample", "contact_sheet", "mask_path", "background_path", "SynthSummary"),
    "layouts": ("Layout", "LAYOUTS", "get_layout", "PHASES"),
    "formats": (
        "Problem", "parse_annotations", "read_annotations", "write_annotations", "parse_pairs", "read_pairs",
        "write_pairs", "validate_keypoints",
    ),
}  # fmt: skip
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'posestylizer.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"posestylizer.data.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
