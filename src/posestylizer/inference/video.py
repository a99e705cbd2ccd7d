"""Clips in and out: frames of a video, a folder of frames or a file of poses; GIF and MP4 writing.

Video files go through imageio with its ffmpeg plugin (the ``video`` extra; imageio-ffmpeg ships an ffmpeg binary in
its wheel). GIFs are read and written with Pillow alone, so ``--out clip.gif`` needs no extra. Every output is
written to a temporary sibling and renamed, never left half-written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

from posestylizer.errors import DataError, InputError
from posestylizer.keypoints.patn import parse_annotations
from posestylizer.runtime.extras import import_extra
from posestylizer.runtime.files import atomic_path
from posestylizer.runtime.imagefiles import image_files

VIDEO_EXTS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".gif")
POSE_FILE_EXTS = (".csv",)
OUTPUT_EXTS = (".gif", ".mp4")
DEFAULT_FPS = 12.0  # frames and pose files carry no frame rate


@dataclass
class DrivingSource:
    """What drives an animation: ``kind`` is ``video``, ``frames`` or ``poses``; ``fps`` None when unknown."""

    path: Path
    kind: str
    fps: float | None


def classify_driving(path: str | Path) -> DrivingSource:
    """Tell a video, a folder of frames and a PATN pose CSV apart; InputError naming the path otherwise."""
    path = Path(path)
    if path.is_dir():
        if not image_files(path):
            raise InputError(f"{path}: no image files in the driving frames folder (.jpg, .png, ...)")
        return DrivingSource(path, "frames", None)
    if not path.is_file():
        raise InputError(f"{path}: driving video, frames folder or pose file not found")
    suffix = path.suffix.lower()
    if suffix in POSE_FILE_EXTS:
        return DrivingSource(path, "poses", None)
    if suffix in VIDEO_EXTS:
        return DrivingSource(path, "video", None)
    raise InputError(f"{path}: unknown driving input; give a video ({', '.join(VIDEO_EXTS)}), a folder of frames "
                     "or a PATN pose CSV (name:keypoints_y:keypoints_x, one row per frame)")


def _natural_key(path: Path) -> list:
    """``frame2.png`` before ``frame10.png``: digit runs compare as numbers."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def frame_files(folder: str | Path) -> list[Path]:
    """The image files of a frames folder in natural name order."""
    return sorted(image_files(folder), key=_natural_key)


def iter_video(path: Path) -> tuple[float | None, Iterator[np.ndarray]]:
    """(frames per second or None, iterator of uint8 (H, W, 3) frames) of a video file; DataError if unreadable."""
    if path.suffix.lower() == ".gif":
        return _iter_gif(path)
    imageio = import_extra("imageio.v2", "video", "reading video files")
    import_extra("imageio_ffmpeg", "video", "reading video files")
    try:
        reader = imageio.get_reader(str(path), format="FFMPEG")
        fps = reader.get_meta_data().get("fps")
    except (OSError, RuntimeError, ValueError) as err:
        raise DataError(f"{path}: cannot read the video ({_first_line(err)})") from None

    def frames() -> Iterator[np.ndarray]:
        try:
            for frame in reader:
                yield np.ascontiguousarray(np.asarray(frame)[..., :3], dtype=np.uint8)
        except (OSError, RuntimeError) as err:
            raise DataError(f"{path}: the video breaks off ({_first_line(err)})") from None
        finally:
            reader.close()

    return (float(fps) if fps else None), frames()


def _iter_gif(path: Path) -> tuple[float | None, Iterator[np.ndarray]]:
    try:
        image = Image.open(path)
        duration = image.info.get("duration")
    except OSError as err:
        raise DataError(f"{path}: cannot read the GIF ({err})") from None

    def frames() -> Iterator[np.ndarray]:
        with image:
            for frame in ImageSequence.Iterator(image):
                yield np.asarray(frame.convert("RGB"), dtype=np.uint8)

    return (1000.0 / duration if duration else None), frames()


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def read_pose_rows(path: Path) -> list[tuple[str, np.ndarray]]:
    """The rows of a PATN annotation CSV in file order: (name, (18, 2) (y, x)); DataError naming the first bad
    file:line (one line; a driving clip with a broken row is not half-used)."""
    rows, problems = parse_annotations(path)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise DataError(f"{problems[0]}{more}")
    if not rows:
        raise DataError(f"{path}: no pose rows (expected name:keypoints_y:keypoints_x, one row per frame)")
    return [(r.name, r.keypoints) for r in rows]


def check_output_path(path: str | Path) -> Path:
    """The output file, if its suffix is one we write (.gif, .mp4); InputError otherwise."""
    path = Path(path)
    if path.suffix.lower() not in OUTPUT_EXTS:
        raise InputError(f"--out {path}: end the file name with .gif or .mp4")
    if path.suffix.lower() == ".mp4":
        import_extra("imageio_ffmpeg", "video", "writing MP4 files")
    return path


def gif_frame_ms(fps: float) -> int:
    """A GIF frame's display time in ms: GIFs store whole centiseconds, and browsers play anything under 20 ms
    slowly, so 20 ms (50 fps) is the fastest."""
    return max(20, 10 * round(100 / fps))


def write_clip(frames: list[np.ndarray], path: str | Path, fps: float) -> Path:
    """Write uint8 (H, W, 3) frames of one size as a looping GIF (Pillow) or an H.264 MP4 (imageio-ffmpeg)."""

    path = check_output_path(path)
    if not frames:
        raise InputError(f"{path}: no frames to write")
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".gif":
            pictures = [Image.fromarray(f) for f in frames]
            pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:], loop=0,
                             duration=gif_frame_ms(fps), disposal=1)
        else:
            _write_mp4(frames, tmp, fps)
    return path


def _write_mp4(frames: list[np.ndarray], path: Path, fps: float) -> None:
    # imageio-ffmpeg's frame writer directly: imageio's own writer picks the format by the file name's suffix, and
    # the temporary name has none.
    ffmpeg = import_extra("imageio_ffmpeg", "video", "writing MP4 files")
    # yuv420p (playable everywhere) needs even sides: pad one black row/column rather than let ffmpeg rescale.
    h, w = frames[0].shape[:2]
    pad = ((0, h % 2), (0, w % 2), (0, 0))
    writer = ffmpeg.write_frames(str(path), (w + w % 2, h + h % 2), fps=fps, codec="libx264", quality=8,
                                 pix_fmt_in="rgb24", pix_fmt_out="yuv420p", macro_block_size=1,
                                 output_params=["-f", "mp4"])
    writer.send(None)  # start ffmpeg
    try:
        for frame in frames:
            writer.send(np.ascontiguousarray(np.pad(frame, pad)))
    finally:
        writer.close()
