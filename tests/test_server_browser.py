"""The pose studio in headless Chromium: upload a person, drag the right wrist above the head, generate, and see the
page's error messages. Debian's chromium through PyPI playwright (never `playwright install`; .ci/run installs it).

Set POSESTYLIZER_SCREENSHOT_DIR to keep the screenshots (they always go to the test's tmp folder).
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from extras_helpers import need
from PIL import Image
from pipeline_helpers import street_scene
from server_helpers import jpeg, person_photo, png, start_server, tiny_checkpoint

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]  # fmt: skip
if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip(f"{CHROMIUM} missing (apt-get install chromium; CI installs it)", allow_module_level=True)
sync_api = need("playwright.sync_api")
httpx = need("httpx2")
need("fastapi")
need("mediapipe")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`posestylizer serve` on a free loopback port with a tiny checkpoint and a 0.2 MB upload limit."""
    ckpt = tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")
    proc, url = start_server(ckpt, "--max-upload-mb", "0.2")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uploads")
    paths = {
        "person": folder / "person.png", "wall": folder / "wall.png", "notes": folder / "notes.txt",
        "big": folder / "big.png",
    }  # fmt: skip
    paths["person"].write_bytes(png(person_photo(0, 0)[0]))
    paths["street"] = folder / "street.jpg"
    paths["street"].write_bytes(jpeg(street_scene([(1, 150, 330, 260), (2, 330, 320, 200)])[0]))
    paths["wall"].write_bytes(png(np.full((128, 64, 3), 140, np.uint8)))
    paths["notes"].write_text("not a photo\n")
    paths["big"].write_bytes(png(np.random.default_rng(0).integers(0, 256, (300, 300, 3), np.uint8)))
    return paths


def _result(page) -> np.ndarray:
    src = page.get_attribute("#result-image", "src")
    assert src.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"))


def _generate(page, before_src: str | None) -> np.ndarray:
    page.click("#generate")
    page.wait_for_function(
        "prev => { const i = document.querySelector('#result-image'); return i.src && i.src !== prev && i.complete; }",
        arg=before_src or "", timeout=60_000,
    )
    return _result(page)


def _error(page, path: Path, words: str) -> str:
    page.set_input_files("#source-file", str(path))
    page.wait_for_function("w => document.querySelector('#error-text').textContent.includes(w)", arg=words,
                           timeout=30_000)
    assert page.is_visible("#error")
    return page.text_content("#error-text")


def test_pose_studio_in_chromium(server, files, tmp_path):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
        crashes: list[str] = []
        page.on("pageerror", lambda err: crashes.append(str(err)))
        page.goto(server)
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        assert "tiny" in page.text_content("#model-info")

        # upload a person and wait for the detected skeleton
        page.set_input_files("#source-file", str(files["person"]))
        page.wait_for_selector("#source-canvas[data-keypoints]", timeout=60_000)
        assert int(page.get_attribute("#source-canvas", "data-keypoints")) >= 14
        before = _generate(page, None)
        page.screenshot(path=str(shots / "studio_before_drag.png"))

        # drag the right wrist (joint 4) above the head
        kp = np.array(page.evaluate("studio.keypoints()"))
        zoom = page.evaluate("studio.zoom()")
        box = page.locator("#pose-canvas").bounding_box()
        wrist = kp[4]
        head_top = min(y for y in kp[[0, 14, 15, 16, 17], 0] if y >= 0)
        goal = (max(2, head_top - 12), min(63, wrist[1] + 4))
        screen = lambda yx: (box["x"] + (yx[1] + 0.5) * zoom, box["y"] + (yx[0] + 0.5) * zoom)
        page.mouse.move(*screen(wrist))
        page.mouse.down()
        page.mouse.move(*screen(goal), steps=12)
        page.mouse.up()
        moved = np.array(page.evaluate("studio.keypoints()"))
        assert tuple(moved[4]) == goal and moved[4, 0] < head_top
        assert np.array_equal(np.delete(moved, 4, 0), np.delete(kp, 4, 0))
        before_src = page.get_attribute("#result-image", "src")
        after = _generate(page, before_src)
        assert after.shape == before.shape == (128, 64, 3)
        assert np.abs(after.astype(int) - before.astype(int)).sum() > 0
        page.screenshot(path=str(shots / "studio_after_drag.png"))

        # undo brings the wrist back; the OpenPose JSON round-trips through save, mirror and load
        page.keyboard.press("Control+z")
        assert np.array_equal(page.evaluate("studio.keypoints()"), kp)
        with page.expect_download() as saved:
            page.click("#save-json")
        pose_file = tmp_path / "pose.json"
        saved.value.save_as(pose_file)
        data = json.loads(pose_file.read_text())
        assert (data["canvas_width"], data["canvas_height"]) == (64, 128)
        assert len(data["people"][0]["pose_keypoints_2d"]) == 54
        page.click("#mirror")
        assert not np.array_equal(page.evaluate("studio.keypoints()"), kp)
        page.set_input_files("#json-file", str(pose_file))
        page.wait_for_function(f"JSON.stringify(studio.keypoints()) === '{json.dumps(kp.tolist(), separators=(',', ':'))}'")

        # a BODY_25 file from a 10x larger canvas loads scaled to the model (MidHip and the feet are dropped)
        body25 = [0.0] * 75
        for coco, b25 in ((0, 0), (4, 4), (8, 9)):
            body25[3 * b25 : 3 * b25 + 3] = [10.0 * kp[coco, 1], 10.0 * kp[coco, 0], 0.9]
        body25[3 * 8 : 3 * 8 + 3] = [300.0, 600.0, 0.9]  # MidHip: no COCO-18 joint
        other = tmp_path / "body25.json"
        other.write_text(json.dumps({"people": [{"pose_keypoints_2d": body25}], "canvas_width": 640,
                                     "canvas_height": 1280}))
        page.set_input_files("#json-file", str(other))
        page.wait_for_function("studio.keypoints()[1][0] === -1")
        loaded = np.array(page.evaluate("studio.keypoints()"))
        assert np.array_equal(loaded[[0, 4, 8]], kp[[0, 4, 8]]) and (loaded[[1, 2, 3, 5, 6, 7]] == -1).all()
        page.keyboard.press("Control+z")
        assert np.array_equal(page.evaluate("studio.keypoints()"), kp)

        # keyboard: pick the next joint (the left shoulder) and nudge it left; a library pose is fitted to the person
        page.focus("#pose-canvas")
        page.keyboard.press("]")
        page.keyboard.press("ArrowLeft")
        nudged = np.array(page.evaluate("studio.keypoints()"))
        assert tuple(nudged[5]) == (kp[5, 0], kp[5, 1] - 1)
        page.uncheck("#joint-list input[data-joint=l_shoulder]")
        assert page.evaluate("studio.keypoints()")[5] == [-1, -1]
        page.check("#joint-list input[data-joint=l_shoulder]")
        assert tuple(page.evaluate("studio.keypoints()")[5]) == tuple(nudged[5])
        width = page.locator("#pose-canvas").bounding_box()["width"]
        page.click("#zoom-in")
        assert page.locator("#pose-canvas").bounding_box()["width"] > width
        page.select_option("#library-select", "walking")
        walking = httpx.post(server + "api/target-pose", data={"target_pose": "walking"}, timeout=60,
                             files={"source": ("person.png", files["person"].read_bytes())}).json()["target_keypoints"]
        page.wait_for_function(f"JSON.stringify(studio.keypoints()) === '{json.dumps(walking, separators=(',', ':'))}'")

        # a click on the second person of a street photo picks them
        page.set_input_files("#source-file", str(files["street"]))
        page.wait_for_function("() => document.querySelector('#source-status').textContent.startsWith('street.jpg')",
                               timeout=60_000)
        assert page.evaluate("studio.sourceKeypoints()")[1][1] < 240  # the taller person, on the left
        shown = page.locator("#source-canvas").bounding_box()
        page.mouse.click(shown["x"] + 330 / 480 * shown["width"], shown["y"] + 220 / 360 * shown["height"])
        page.wait_for_function("() => studio.sourceKeypoints()[1][1] > 240", timeout=60_000)

        # every failure shows a message
        assert "is not an image" in _error(page, files["notes"], "not an image")
        page.screenshot(path=str(shots / "studio_error_not_image.png"))
        assert "no person" in _error(page, files["wall"], "person").lower()
        assert "accepts photos up to 0.2 MB" in _error(page, files["big"], "MB")
        errors = page.evaluate("window.studioErrors")
        browser.close()
    print("\npage errors shown:", *errors, sep="\n  ")
    assert len(errors) == 3 and not crashes
    keep = os.environ.get("POSESTYLIZER_SCREENSHOT_DIR")
    if keep:
        for shot in shots.iterdir():
            shutil.copy(shot, Path(keep) / shot.name)
