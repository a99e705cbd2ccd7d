"""PATN-layout datasets (Market-1501, DeepFashion, synthetic people): reading, validation, pair lists, synthesis."""

from __future__ import annotations

from posestylizer.data.check import CheckReport, check_dataset, image_problem
from posestylizer.data.dataset import PairDataset, flip_keypoints, write_heatmaps
from posestylizer.data.formats import (
    Problem,
    parse_annotations,
    parse_pairs,
    read_annotations,
    read_pairs,
    validate_keypoints,
    write_annotations,
    write_pairs,
)
from posestylizer.data.layouts import LAYOUTS, PHASES, Layout, get_layout
from posestylizer.data.pairs import PAIR_REQUIRED_KEYPOINTS, make_pairs, pairable
from posestylizer.data.synth import (
    SynthSummary,
    background_path,
    contact_sheet,
    mask_path,
    render_sample,
    write_dataset,
)

__all__ = [
    "LAYOUTS",
    "PAIR_REQUIRED_KEYPOINTS",
    "PHASES",
    "CheckReport",
    "Layout",
    "PairDataset",
    "Problem",
    "SynthSummary",
    "background_path",
    "check_dataset",
    "contact_sheet",
    "flip_keypoints",
    "get_layout",
    "image_problem",
    "make_pairs",
    "mask_path",
    "pairable",
    "parse_annotations",
    "parse_pairs",
    "read_annotations",
    "read_pairs",
    "render_sample",
    "validate_keypoints",
    "write_annotations",
    "write_dataset",
    "write_heatmaps",
    "write_pairs",
]
