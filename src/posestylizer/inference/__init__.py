"""Generating people with a trained generator: :class:`PoseStylizerPipeline` and its parts.

- :mod:`~posestylizer.inference.pipeline`: the pipeline (``from_pretrained``, ``check_inputs``, ``locate``,
  ``encode``, ``appearance``, ``target_keypoints``, ``render``, ``__call__``);
- :mod:`~posestylizer.inference.targets`: the target types (``LibraryPose``, ``KeypointFile``, ``KeypointArray``,
  ``PoseFromPhoto``) and the one rule that turns a string into one (``resolve_target``);
- :mod:`~posestylizer.inference.people`: finding the people in a photo;
- :mod:`~posestylizer.inference.framing`: cropping a person as the training images frame people, pasting back;
- :mod:`~posestylizer.inference.retarget`: moving a target pose onto the source person's body;
- :mod:`~posestylizer.inference.inputs`: checking what the user gives;
- :mod:`~posestylizer.inference.collect`: the one path from a generator and a dataset's pairs to scored images
  (the demo, the ablation study, ``evaluate --checkpoint``);
- :mod:`~posestylizer.inference.batch`: what was collected, written as result files (``generate --data``,
  ``evaluate --checkpoint``);
- :mod:`~posestylizer.inference.animate`: a person following a driving video's motion;
- :mod:`~posestylizer.inference.export`: ONNX export.
"""

from __future__ import annotations

from posestylizer.inference.pipeline import Appearance, Located, PoseStylizerPipeline, ReposeResult
from posestylizer.inference.targets import (
    KeypointArray,
    KeypointFile,
    LibraryPose,
    PoseFromPhoto,
    PreparedTarget,
    resolve_target,
)

__all__ = [
    "Appearance", "KeypointArray", "KeypointFile", "LibraryPose", "Located", "PoseFromPhoto", "PoseStylizerPipeline",
    "PreparedTarget", "ReposeResult", "resolve_target",
]
