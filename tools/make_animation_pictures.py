"""Make the README's motion-transfer pictures with a trained checkpoint, and time the animation on CPU.

A synthetic person pasted into a street photo (tests/pipeline_helpers.py) follows a synthetic driver walking across
another street (tests/animation_helpers.py, written as an MP4 first so the whole video path runs)::

    PYTHONPATH=src python tools/make_animation_pictures.py runs/demo/generator docs/images [walk.gif]

Writes ``animate_frame_<i>.png`` (a few side-by-side frames: driving frame | target pose | generated) and
``animate_strip.png`` (driving frames over generated frames) into the folder, the whole animation as a GIF when a
third argument names one, and prints the time per frame.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from animation_helpers import walking_clip
from pipeline_helpers import street_scene

from posestylizer.inference import PoseStylizerPipeline
from posestylizer.inference.animate import animate
from posestylizer.inference.video import write_clip
from posestylizer.results.panels import panel_row, stack_rows

FRAMES = 16
PICKED = (0, 5, 10)


def main(checkpoint: str, out_dir: str, gif: str | None = None, identity: int = 101, driver: int = 3) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pipe = PoseStylizerPipeline.from_pretrained(checkpoint)
    photo, _ = street_scene([(identity, 160, 300, 230)], size=(330, 320), seed=5)
    frames, _ = walking_clip(FRAMES, identity=driver)
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "walk.mp4"
        write_clip(frames, video, fps=8)
        start = time.process_time()
        anim = animate(pipe, photo, video, side_by_side=True)
        cpu = time.process_time() - start
    if gif:
        write_clip(anim.frames, gif, anim.fps)
    for i in PICKED:
        Image.fromarray(anim.frames[i]).save(out / f"animate_frame_{i}.png")
    # strip: the source crop, then the driver's frames over the generated person, all at the generated size
    k = anim.frames[0].shape[0] // pipe.size[0]
    gen = [f[:, -pipe.size[1] * k :] for f in anim.frames[:: FRAMES // 8]]
    drv = [np.asarray(Image.fromarray(f).resize((g.shape[1], g.shape[0]))) for f, g in zip(frames[:: FRAMES // 8], gen)]
    crop = pipe.appearance(photo).crop.repeat(k, 0).repeat(k, 1)
    blank = np.full_like(crop, 255)
    rows = [panel_row([crop, *drv], gap=4), panel_row([blank, *gen], gap=4)]
    Image.fromarray(stack_rows(rows, gap=4)).save(out / "animate_strip.png")
    t = anim.seconds
    n = len(anim.frames)
    print(f"{n} frames; wall time {sum(t.values()) / n * 1000:.0f} ms/frame; appearance once {1000 * t['appearance']:.0f} ms (with person search); poses (estimation + "
          f"smoothing + retargeting) {1000 * t['poses'] / n:.0f} ms/frame; rendering {1000 * t['render'] / n:.1f} "
          f"ms/frame; whole animate() {cpu / n * 1000:.0f} ms CPU time/frame over all threads")


if __name__ == "__main__":
    main(*sys.argv[1:4])
