"""The pose vocabulary: the 18 joints, their indices and groups, left/right mirroring, limbs and the keypoint dtype.

Every layer names joints through this module. A pose is a float32 (18, 2) array of (y, x) = (row, column) pixels in
OpenPose COCO-18 order (:data:`KEYPOINT_NAMES`), -1 in both coordinates for a missing joint (reference §1.5, §1.6).
Pixel centres sit at integer coordinates. The PATN annotation files hold integers; :mod:`posestylizer.keypoints.patn`
is the one place that converts between them and this dtype.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

KEYPOINT_DTYPE = np.float32  # every in-memory pose, in every layer
MISSING = -1
NUM_KEYPOINTS = 18
KEYPOINT_NAMES = (
    "nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist",
    "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear",
)  # fmt: skip
(NOSE, NECK, R_SHOULDER, R_ELBOW, R_WRIST, L_SHOULDER, L_ELBOW, L_WRIST, R_HIP, R_KNEE, R_ANKLE, L_HIP, L_KNEE,
 L_ANKLE, R_EYE, L_EYE, R_EAR, L_EAR) = range(NUM_KEYPOINTS)  # fmt: skip

# Groups of joint indices. HEAD, TORSO, ARMS and LEGS partition the 18 joints (see PARTS); the others are the
# smaller sets the framing and the pair rules read.
HEAD = (NOSE, R_EYE, L_EYE, R_EAR, L_EAR)
SHOULDERS = (R_SHOULDER, L_SHOULDER)
HIPS = (R_HIP, L_HIP)
TORSO_CORNERS = SHOULDERS + HIPS  # what a training pair needs in both images (reference §1.3)
TORSO = (NECK, *TORSO_CORNERS)
ARMS = (R_ELBOW, R_WRIST, L_ELBOW, L_WRIST)
LEGS = (R_KNEE, R_ANKLE, L_KNEE, L_ANKLE)
ANKLES = (R_ANKLE, L_ANKLE)
# Body parts for per-part scores: every joint belongs to exactly one part.
PARTS = MappingProxyType({"head": HEAD, "torso": TORSO, "arms": ARMS, "legs": LEGS})

# Mirror image of each index (left <-> right), for flipping keypoints.
FLIP_INDEX = (0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16)

# Limbs drawn in pose panels (reference §1.5).
SKELETON = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
    (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17),
)  # fmt: skip
# Limbs whose thickened segments make the evaluation mask (reference §2); differs from SKELETON in the last five.
MASK_LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
    (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (1, 16), (1, 17), (8, 11), (11, 5), (8, 2), (16, 17),
)  # fmt: skip
# Joint colours of the pose panels: red -> yellow -> green -> cyan -> blue -> magenta in steps of 85.
JOINT_COLORS = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
    (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
    (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)  # fmt: skip


def present(keypoints: np.ndarray) -> np.ndarray:
    """Boolean (18,) mask of keypoints that are not missing (neither coordinate is -1)."""
    kp = np.asarray(keypoints)
    return (kp[:, 0] != MISSING) & (kp[:, 1] != MISSING)


def missing_pose() -> np.ndarray:
    """float32 (18, 2) of -1: no joint found."""
    return np.full((NUM_KEYPOINTS, 2), MISSING, dtype=KEYPOINT_DTYPE)


def missing_names(keypoints: np.ndarray, indices: tuple[int, ...] | list[int]) -> list[str]:
    """Names of the joints among ``indices`` that ``keypoints`` (18, 2) lacks, in the order given."""
    ok = present(keypoints)
    return [KEYPOINT_NAMES[i] for i in indices if not ok[i]]
