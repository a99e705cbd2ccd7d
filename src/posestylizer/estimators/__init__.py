"""Pose estimators that produce COCO-18 keypoints in the project's (y, x) convention, -1 = missing.

``get_estimator("mediapipe")`` (BlazePose, offline, the default) or ``get_estimator("openpose", weights=FILE)`` (the
OpenPose COCO body model the authors' PCKh used, from a user-supplied weights file). An estimator maps one uint8
(H, W, 3) RGB image to an (18, 2) int64 array.
"""

from __future__ import annotations

from posestylizer.estimators.base import BACKENDS, PoseEstimator, estimate_files, get_estimator

__all__ = ["BACKENDS", "PoseEstimator", "estimate_files", "get_estimator"]
