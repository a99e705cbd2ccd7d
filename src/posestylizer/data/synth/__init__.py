"""Synthetic clothed people in the PATN layout: the offline benchmark for the demo, CI and benchmarks.

Each identity is one person (body proportions, skin, hair, top with a colour/pattern/sleeve length, trousers, shorts
or a skirt, shoes, and a background) seen in several poses drawn from a simple prior (standing, walking, arm raises,
forward bends) from the front, back or side, with scale and position jitter. Bodies are posed in 3-D (x = the
person's left, y = up, z = forward), turned by the view angle and projected orthographically, so left/right keypoint
labels are anatomical in every view. Parts are painted back to front as anti-aliased signed-distance shapes (capsules,
ellipses, convex polygons) with numpy. Keypoints hidden behind another part, outside the frame or (rarely) just
missed are written as -1, as real annotations have them.

:func:`write_dataset` writes ``train/``, ``test/`` (split by identity), the annotation and pair CSVs of the chosen
layout, ``masks/<phase>/<stem>.png`` (ground-truth foreground, 0/255; :func:`mask_path`) and
``backgrounds/<phase>/<stem>.png`` (the background plate without the person; :func:`background_path`) and
``parts/<phase>/<stem>.png`` (body parts: 0 background, 1 head, 2 torso, 3 arms, 4 legs; :func:`part_path`); the result
passes ``posestylizer data check`` and is read by :class:`~posestylizer.data.dataset.PairDataset` exactly like the
real datasets.

Modules: :mod:`.identity` (who), :mod:`.pose` (pose prior, 3-D skeleton), :mod:`.canvas` (compositing, SDF shapes),
:mod:`.body` (one shape builder per body region, depth order), :mod:`.render` (projection, painting, keypoint
visibility), :mod:`.backgrounds` (plates), :mod:`.writer` (names, files, contact sheet).
"""

from __future__ import annotations

from posestylizer.data.synth.backgrounds import background
from posestylizer.data.synth.identity import Identity, sample_identity
from posestylizer.data.synth.pose import Pose, sample_pose, skeleton
from posestylizer.data.synth.writer import (
    SYNTH_PRESETS,
    SYNTH_VERSION,
    SynthSummary,
    background_dir,
    background_path,
    contact_sheet,
    mask_dir,
    mask_path,
    part_path,
    render_sample,
    synth_layout,
    write_dataset,
)

__all__ = [
    "SYNTH_PRESETS",
    "SYNTH_VERSION",
    "Identity",
    "Pose",
    "SynthSummary",
    "background",
    "background_dir",
    "background_path",
    "contact_sheet",
    "mask_dir",
    "mask_path",
    "part_path",
    "render_sample",
    "sample_identity",
    "sample_pose",
    "skeleton",
    "synth_layout",
    "write_dataset",
]
