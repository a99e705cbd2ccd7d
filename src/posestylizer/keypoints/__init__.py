"""Keypoint files in and out: OpenPose JSON, COCO keypoint annotations, BlazePose landmarks and PATN CSVs.

Every reader returns float32 (18, 2) (y, x) pixels in COCO-18 / OpenPose order (:mod:`posestylizer.keypoints.vocab`), -1 for a
missing keypoint, in the coordinates of the image the file describes::

    from posestylizer.keypoints import read_pose_file, scale_pose
    kp = read_pose_file("photo_keypoints.json")              # format detected, largest person
    kp = scale_pose(kp, (1080, 720), (256, 176))             # onto a resized image

A malformed file raises :class:`posestylizer.errors.DataError` with one line naming the file and the entry.
"""

from __future__ import annotations

from posestylizer.keypoints.blazepose import blazepose_landmarks, from_blazepose, to_blazepose_json
from posestylizer.keypoints.coco import coco_people, coco_records, from_coco, to_coco
from posestylizer.keypoints.core import (
    PoseRecord,
    choose_person,
    pose_area,
    round_pose,
    scale_pose,
    shift_pose,
    to_pixels,
)
from posestylizer.keypoints.files import FORMATS, detect_format, read_pose_file, read_pose_records, rescale
from posestylizer.keypoints.openpose import BODY25_TO_COCO18, from_openpose, openpose_people, to_openpose_json
from posestylizer.keypoints.vocab import missing_pose

# The vocabulary (joint names, indices, groups, dtype) is imported from posestylizer.keypoints.vocab itself.
__all__ = [
    "BODY25_TO_COCO18", "FORMATS", "PoseRecord", "blazepose_landmarks", "choose_person", "coco_people",
    "coco_records", "detect_format", "from_blazepose", "from_coco", "from_openpose", "missing_pose",
    "openpose_people", "pose_area", "read_pose_file", "read_pose_records", "rescale", "round_pose", "scale_pose",
    "shift_pose", "to_blazepose_json", "to_coco", "to_openpose_json", "to_pixels",
]
