"""Make the README's pose-studio screenshots: a street photo with two synthetic people, the right arm dragged above
the head, generated with CHECKPOINT; writes docs/images/pose_studio_before.png and pose_studio.png.

Needs the web and test extras and /usr/bin/chromium. Rerun it when a better-trained demo checkpoint exists:

    PYTHONPATH=src python tools/make_studio_pictures.py demo_out/run
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from pipeline_helpers import street_scene
from server_helpers import start_server

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]  # fmt: skip


def drag(page, source: tuple[int, int], goal: tuple[int, int]) -> None:
    """Drag on the pose canvas from one (y, x) model pixel to another."""
    zoom = page.evaluate("studio.zoom()")
    box = page.locator("#pose-canvas").bounding_box()
    screen = lambda yx: (box["x"] + (yx[1] + 0.5) * zoom, box["y"] + (yx[0] + 0.5) * zoom)
    page.mouse.move(*screen(source))
    page.mouse.down()
    page.mouse.move(*screen(goal), steps=10)
    page.mouse.up()


def generate(page) -> None:
    before = page.get_attribute("#result-image", "src") or ""
    page.click("#generate")
    page.wait_for_function("prev => document.querySelector('#result-image').src !== prev", arg=before,
                           timeout=120_000)
    page.wait_for_timeout(300)


def save(path: Path, png: bytes) -> None:
    """256 colours (octree keeps the joint colours exact), about a quarter of the full-colour size."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(path, optimize=True)


def main(checkpoint: str, out: Path = REPO / "docs" / "images") -> None:
    photo = Path(tempfile.mkdtemp()) / "street.jpg"
    Image.fromarray(street_scene([(1, 150, 330, 260), (2, 330, 320, 200)])[0]).save(photo, quality=92)
    proc, url = start_server(checkpoint)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url)
            page.wait_for_selector("body[data-ready=true]")
            page.set_input_files("#source-file", str(photo))
            page.wait_for_function("() => document.querySelector('#source-status').textContent.includes('found')")
            generate(page)
            save(out / "pose_studio_before.png", page.screenshot())
            kp = np.array(page.evaluate("studio.keypoints()"))
            head = min(y for y in kp[[0, 14, 15, 16, 17], 0] if y >= 0)
            wrist = (max(1, head - 6), kp[4, 1] - 2)
            drag(page, tuple(kp[4]), wrist)
            drag(page, tuple(kp[3]), ((kp[2, 0] + wrist[0]) // 2, kp[2, 1] - 3))
            generate(page)
            save(out / "pose_studio.png", page.screenshot())
            browser.close()
    finally:
        proc.terminate()
    print(f"wrote {out / 'pose_studio_before.png'} and {out / 'pose_studio.png'}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
