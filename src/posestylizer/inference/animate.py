"""Motion transfer: the person of a photo follows the motion of a driving clip.

Steps of :func:`animate`:

1. the appearance of the source person is computed once (:meth:`PoseStylizerPipeline.appearance`);
2. the driving clip gives one pose per frame: estimated on each frame of a video or a frames folder
   (:meth:`PoseStylizerPipeline.estimate`), or read from a PATN pose CSV (one row per frame, file order);
3. the track is smoothed in time (:mod:`~posestylizer.inference.smoothing`: One-Euro filter, briefly missing joints
   held);
4. every pose is retargeted to the source person (:func:`~posestylizer.inference.retarget.retarget`) with one body
   scale for the whole clip (the median over its frames), so the person neither shrinks when the driver bends nor
   jumps in size when a hip is missed; each frame is placed on the source person's hips and ground line, the way
   the model's training crops centre people;
5. the decoder renders the poses in batches (:meth:`PoseStylizerPipeline.render`), and the frames are assembled,
   optionally side by side with the driving frame and the retargeted pose.

A frame with no person at all (after holding) repeats the previous pose; the count is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from posestylizer.errors import InputError, NoPersonError
from posestylizer.inference.framing import ankle_bottom, face_top
from posestylizer.inference.retarget import pose_scale, retarget
from posestylizer.inference.smoothing import SmoothingOptions, smooth_track
from posestylizer.inference.video import (
    DEFAULT_FPS,
    classify_driving,
    frame_files,
    iter_video,
    read_pose_rows,
)
from posestylizer.keypoints.maps import draw_pose
from posestylizer.keypoints.vocab import KEYPOINT_DTYPE, present
from posestylizer.results.panels import panel_row
from posestylizer.runtime.imagefiles import read_image
from posestylizer.runtime.progress import QUIET, Progress

MIN_OUTPUT_HEIGHT = 256  # frames are enlarged (nearest) to at least this height, like the pipeline's panels


@dataclass
class DrivingTrack:
    """One pose per frame of a driving clip.

    Attributes:
        keypoints: float32 (T, 18, 2) (y, x) in the clip's pixels, -1 = missing.
        fps: frames per second (the clip's own, else the caller's or 12).
        frames: the clip's frames scaled to the output height (only when kept for a side-by-side video).
        kind: ``video``, ``frames`` or ``poses``.
    """

    keypoints: np.ndarray
    fps: float
    frames: list[np.ndarray] = field(default_factory=list)
    kind: str = "video"


@dataclass
class Animation:
    """Frames of the animation and what it took.

    Attributes:
        frames: uint8 (H, W, 3) output frames, all one size.
        poses: float32 (T, 18, 2) (y, x) model-pixel target poses, -1 = missing.
        fps: frame rate to play them at.
        held: frames with no person in the driving clip, which repeat the previous pose.
        seconds: wall time of ``appearance``, ``poses`` (reading / estimation) and ``render``.
    """

    frames: list[np.ndarray]
    poses: np.ndarray
    fps: float
    held: int
    seconds: dict[str, float]


def read_track(driving, estimate: Callable[[np.ndarray], np.ndarray], *, fps: float | None = None,
               max_frames: int | None = None, keep_height: int = 0, progress: Progress = QUIET
               ) -> DrivingTrack:
    """The pose track of a driving video, frames folder or pose CSV (``driving`` is a path).

    Args:
        estimate: uint8 (H, W, 3) frame -> (18, 2) (y, x) keypoints (the pipeline's estimator).
        fps: frame rate to use instead of the clip's (needed for frames and pose files; default 12).
        max_frames: read at most this many frames.
        keep_height: when > 0, keep each frame scaled to this height (for side-by-side output).
    """
    source = classify_driving(driving)
    if source.kind == "poses":
        rows = read_pose_rows(source.path)[:max_frames]
        track = np.stack([kp for _, kp in rows]).astype(KEYPOINT_DTYPE)
        return DrivingTrack(track, fps or DEFAULT_FPS, kind="poses")
    if source.kind == "frames":
        files = frame_files(source.path)[:max_frames]
        clip_fps, frames, total = None, (read_image(p) for p in files), len(files)
    else:
        clip_fps, frames = iter_video(source.path)
        total = max_frames
    poses, kept = [], []
    for i, frame in enumerate(progress(frames, "estimating poses", total=total, unit="frame")):
        if max_frames is not None and i >= max_frames:
            break
        poses.append(np.asarray(estimate(frame), dtype=KEYPOINT_DTYPE))
        if keep_height:
            kept.append(_fit(frame, keep_height, kept[0].shape[1] if kept else None))
    if not poses:
        raise InputError(f"{source.path}: the driving clip has no frames")
    return DrivingTrack(np.stack(poses), fps or clip_fps or DEFAULT_FPS, kept, source.kind)


def _fit(image: np.ndarray, height: int, width: int | None) -> np.ndarray:
    """``image`` resized to ``height`` rows and ``width`` columns (default: keeping its aspect ratio); the first
    frame fixes the width, so that a folder of mixed sizes still gives frames of one size."""
    h, w = image.shape[:2]
    width = width or max(1, round(w * height / h))
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR))


def body_height(track: np.ndarray) -> float:
    """The person's height in the clip's pixels: the median face-to-ankle height over the frames that show both,
    else the median vertical extent of the keypoints, else 1."""
    spans, extents = [], []
    for kp in track:
        top, bottom = face_top(kp), ankle_bottom(kp)
        if top is not None and bottom is not None and bottom > top:
            spans.append(bottom - top)
        ys = kp[present(kp), 0]
        if len(ys) >= 2 and np.ptp(ys) > 0:
            extents.append(float(np.ptp(ys)))
    return float(np.median(spans or extents or [1.0]))


def retarget_track(track: np.ndarray, source: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, int]:
    """Each pose of ``track`` (T, 18, 2) on the source person's body with one clip-wide scale.

    Returns:
        float32 (T, 18, 2) model-pixel poses (a frame with no keypoints repeats the previous pose, or the first
        posed frame at the start) and how many frames were such repeats.
    """
    usable = [kp for kp in track if present(kp).sum() >= 4]
    if not usable:
        raise NoPersonError("no person found in any frame of the driving clip")
    scale = float(np.median([pose_scale(kp, source) for kp in usable]))
    out, last, held = [], None, 0
    for kp in track:
        if present(kp).sum() >= 4:
            last = retarget(kp, source, size, scale=scale)
        else:
            held += 1
        out.append(last)
    first = next(p for p in out if p is not None)
    return np.stack([first if p is None else p for p in out]), held


def compose_frames(generated: list[Image.Image], poses: np.ndarray, size: tuple[int, int], *,
                   driving: list[np.ndarray] | None = None, side_by_side: bool = False) -> list[np.ndarray]:
    """Output frames: the generated image, or [driving frame | target pose | generated], enlarged (nearest) to at
    least :data:`MIN_OUTPUT_HEIGHT` pixels high."""
    k = max(1, -(-MIN_OUTPUT_HEIGHT // size[0]))
    frames = []
    for i, image in enumerate(generated):
        panels = [np.asarray(image)]
        if side_by_side:
            panels = [draw_pose(poses[i], size), panels[0]]
        row = panel_row(panels, gap=1 if side_by_side else 0)
        row = row.repeat(k, 0).repeat(k, 1)
        if side_by_side and driving:
            row = panel_row([driving[i], row], gap=k)
        frames.append(row)
    return frames


def animate(pipe, source, driving: str | Path, *, person=None, source_keypoints=None, side_by_side: bool = False,
            fps: float | None = None, max_frames: int | None = None,
            smoothing: SmoothingOptions | None = None, batch_size: int = 16,
            progress: Progress = QUIET) -> Animation:
    """Make the person of ``source`` follow the motion of ``driving`` (module docstring).

    Args:
        pipe: a :class:`~posestylizer.inference.pipeline.PoseStylizerPipeline`.
        source: the photo (path, PIL image or uint8 array); ``person`` / ``source_keypoints`` as for the pipeline.
        driving: a video file, a folder of frames or a PATN pose CSV.
        side_by_side: frames show [driving frame | target pose | generated].
        fps, max_frames: see :func:`read_track`.
        smoothing: the temporal filter's settings (``min_cutoff=0``: no smoothing, joints still held).
        batch_size: poses per decoder forward.
    """
    times = {}
    start = time.perf_counter()
    app = pipe.appearance(source, person=person, source_keypoints=source_keypoints)
    times["appearance"] = time.perf_counter() - start

    start = time.perf_counter()
    out_height = max(1, -(-MIN_OUTPUT_HEIGHT // pipe.size[0])) * pipe.size[0]
    track = read_track(driving, pipe.estimate, fps=fps, max_frames=max_frames,
                       keep_height=out_height if side_by_side else 0, progress=progress)
    times["poses"] = time.perf_counter() - start
    anim = render_track(pipe, app, track, side_by_side=side_by_side, smoothing=smoothing, batch_size=batch_size,
                        progress=progress)
    anim.seconds = {**times, "poses": times["poses"] + anim.seconds["poses"], "render": anim.seconds["render"]}
    return anim


def render_track(pipe, app, track: DrivingTrack, *, side_by_side: bool = False,
                 smoothing: SmoothingOptions | None = None, batch_size: int = 16,
                 progress: Progress = QUIET) -> Animation:
    """Steps 3-5 of :func:`animate` for an appearance computed once (``app``, from ``pipe.appearance``): smooth and
    retarget ``track``, render every pose and assemble the frames. ``seconds`` holds ``poses`` (smoothing and
    retargeting) and ``render`` (decoding and assembling)."""
    start = time.perf_counter()
    smoothed = smooth_track(track.keypoints, track.fps, body_height(track.keypoints), smoothing or SmoothingOptions())
    poses, held = retarget_track(smoothed, app.keypoints, pipe.size)
    times = {"poses": time.perf_counter() - start}

    start = time.perf_counter()
    generated = []
    chunks = range(0, len(poses), batch_size)
    for i in progress(chunks, "rendering", total=len(chunks), unit="batch"):
        generated += pipe.render(app, poses[i : i + batch_size], batch_size=batch_size)
    frames = compose_frames(generated, poses, pipe.size, driving=track.frames, side_by_side=side_by_side)
    times["render"] = time.perf_counter() - start
    return Animation(frames=frames, poses=poses, fps=track.fps, held=held, seconds=times)
