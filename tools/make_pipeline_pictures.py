"""Make the README's "Re-pose your own photo" pictures with a trained checkpoint, and time the pipeline on CPU.

Synthetic people of the demo's held-out identities are pasted into a larger street photo (tests/pipeline_helpers.py),
found, framed and re-posed to library poses, to another photo's pose, and pasted back (timings:
posestylizer bench --cases generate:demo:1 animate:demo:8)::

    PYTHONPATH=src python tools/make_pipeline_pictures.py runs/demo/generator docs/images
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from pipeline_helpers import street_scene

from posestylizer.inference import PoseStylizerPipeline
from posestylizer.keypoints.maps import draw_pose

POSES = ("front", "back", "right_profile", "walking", "arms_out", "arms_raised", "waving", "sitting")
SCALE = 3  # model pixels -> picture pixels (nearest), so a 64x32 result can be seen


def big(image, scale: int = SCALE) -> Image.Image:
    image = Image.fromarray(np.asarray(image))
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)


def row(tiles: list[Image.Image], labels: list[str], gap: int = 4) -> Image.Image:
    """Tiles side by side on dark grey, each labelled below."""
    font = ImageFont.load_default(size=12)
    h = max(t.height for t in tiles)
    out = Image.new("RGB", (sum(t.width for t in tiles) + gap * (len(tiles) + 1), h + 22 + gap), (40, 40, 40))
    draw, x = ImageDraw.Draw(out), gap
    for tile, label in zip(tiles, labels):
        out.paste(tile, (x, gap))
        draw.text((x + tile.width / 2, gap + h + 11), label, fill=(230, 230, 230), font=font, anchor="mm")
        x += tile.width + gap
    return out


def main(checkpoint: str, out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pipe = PoseStylizerPipeline.from_pretrained(checkpoint)
    photo, _ = street_scene([(5, 150, 335, 250), (13, 360, 318, 190)], size=(360, 480), seed=3)
    second = pipe(photo, "arms_out", person=(360, 200), paste_back=True)
    both = Image.fromarray(np.asarray(second.image))
    both = Image.fromarray(np.asarray(pipe(np.asarray(both), "walking", paste_back=True).image))
    half = [Image.fromarray(np.asarray(im)).resize((320, 240), Image.Resampling.LANCZOS) for im in (photo, both)]
    row(half, ["photo", "left: walking; right (person=(360, 200)): arms_out"]).save(
        out / "repose_paste_back.png", optimize=True)

    app = pipe.appearance(photo)
    poses = np.stack([pipe.target_keypoints(n, app) for n in POSES])
    images = pipe.render(app, poses)
    tiles = [big(app.crop)] + [big(np.concatenate([draw_pose(p, pipe.size), np.asarray(im)], axis=1))
                               for p, im in zip(poses, images)]
    row(tiles[:5], ["source crop"] + list(POSES[:4])).save(out / "repose_library_1.png")
    row(tiles[5:], list(POSES[4:])).save(out / "repose_library_2.png")

    target_photo, _ = street_scene([(36, 200, 340, 260, True)], size=(360, 400), seed=11)
    result = pipe(photo, target_photo)
    small = Image.fromarray(target_photo).resize((200, 180), Image.Resampling.LANCZOS)
    row([small, big(draw_pose(result.target_keypoints, pipe.size)), big(app.crop), result.image.resize(
        (pipe.size[1] * SCALE, pipe.size[0] * SCALE), Image.Resampling.NEAREST)],
        ["target photo", "its pose, retargeted", "source", "generated"]).save(out / "repose_from_photo.png")
    print(f"wrote {', '.join(str(p) for p in sorted(out.glob('repose_*.png')))}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
