"""A corpus of hostile files through the commands that read them: one clear line or the correct result, never a
traceback, a partial output file or a file written outside the output folder.

Images (truncated, empty, not an image, a decompression bomb; grayscale, RGBA, 16-bit, CMYK, EXIF-rotated read
correctly), CSVs with path-traversal names, driving videos (truncated, zero frames, no person).
"""

from __future__ import annotations

import io
import struct
import subprocess
import warnings
import zlib

import numpy as np
import pytest
from cli_helpers import failing_run
from extras_helpers import need
from PIL import Image
from pipeline_helpers import street_scene
from server_helpers import person_photo, tiny_checkpoint

from posestylizer.cli import main
from posestylizer.data.formats import write_pairs
from posestylizer.errors import ImageFileError
from posestylizer.runtime.imagefiles import MAX_PIXELS, read_photo


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getvalue()


def bomb_png(width: int = 40_000, height: int = 40_000) -> bytes:
    """A PNG whose header claims width x height pixels (1.6 gigapixels) and whose data is a few bytes: what a
    decompression bomb looks like to a reader that trusts the header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def refused_images(person: np.ndarray) -> dict[str, tuple[bytes, str, str]]:
    """name -> (bytes, ImageFileError.kind, words of the message)."""
    png, jpeg = _encode(Image.fromarray(person), "PNG"), _encode(Image.fromarray(person), "JPEG", quality=90)
    return {
        "truncated.png": (png[: len(png) // 2], "damaged", "damaged or truncated"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], "damaged", "damaged or truncated"),
        "empty.jpg": (b"", "empty", "is empty"),
        "notes.jpg": (b"shopping list: milk, eggs\n" * 20, "not_image", "is not an image"),
        "document.png": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 200, "not_image", "is not an image"),
        "bomb.png": (bomb_png(), "too_large", "could be decompression bomb DOS attack; at most"),
        "big.png": (bomb_png(10_000, 9_000), "too_large", "is 10000x9000 = 90.0 megapixels; at most 89.5"),
    }


def accepted_images(person: np.ndarray) -> dict[str, tuple[bytes, np.ndarray, int]]:
    """name -> (bytes, the uint8 (H, W, 3) picture a correct reader returns, tolerance in grey levels)."""
    im = Image.fromarray(person)
    gray = np.asarray(im.convert("L"))
    rgba = np.dstack([person, np.full(person.shape[:2], 255, np.uint8)])
    rgba[:8, :, 3] = 0  # a transparent band at the top reads as white
    over_white = person.copy()
    over_white[:8] = 255
    deep = Image.fromarray(gray.astype(np.uint16) * 257)  # 16-bit grey, full range
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned a quarter to the left: "rotate 90 degrees clockwise to display"
    turned = Image.fromarray(np.ascontiguousarray(np.rot90(person, 1)))
    return {
        "gray.png": (_encode(im.convert("L"), "PNG"), np.repeat(gray[..., None], 3, 2), 0),
        "rgba.png": (_encode(Image.fromarray(rgba), "PNG"), over_white, 0),
        "deep16.png": (_encode(deep, "PNG"), np.repeat(gray[..., None], 3, 2), 1),
        "cmyk.jpg": (_encode(im.convert("CMYK"), "JPEG", quality=95), person, 40),
        "exif6.jpg": (_encode(turned, "JPEG", quality=95, exif=exif), person, 40),
    }


@pytest.fixture(scope="module")
def person():
    return person_photo(0, 0)[0]


@pytest.fixture(scope="module")
def scene():
    """A person in a 360x300 street photo (large enough for MediaPipe in grey as well as in colour)."""
    return street_scene([(1, 150, 330, 260)], size=(360, 300))[0]


def test_hostile_images_are_refused_in_one_line_and_odd_ones_read_correctly(person):
    for name, (data, kind, words) in refused_images(person).items():
        with pytest.raises(ImageFileError) as err:
            read_photo(data, name)
        assert err.value.kind == kind and words in str(err.value) and "\n" not in str(err.value), (name, err.value)
        assert str(err.value).startswith(name)
    for name, (data, expected, tolerance) in accepted_images(person).items():
        got = read_photo(data, name)
        assert got.shape == expected.shape and got.dtype == np.uint8, name
        diff = np.abs(got.astype(int) - expected).mean()
        assert diff <= max(tolerance / 4, 0.5), (name, diff)  # JPEG: a few grey levels on average
    assert MAX_PIXELS >= 80_000_000  # a 50-megapixel camera photo is read


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    need("mediapipe")
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")


def test_generate_refuses_each_hostile_image_in_one_line_and_writes_nothing(model, person, tmp_path, capsys):
    out = tmp_path / "out"
    for name, (data, _, words) in refused_images(person).items():
        (tmp_path / name).write_bytes(data)
        err = failing_run("generate", {"--checkpoint": str(model), "--source": str(tmp_path / name), "--target":
                                       "walking", "--out": str(out / "x.png")}, [], capsys)
        assert "\n" not in err and words in err and name in err, err
    assert not out.exists()


def test_generate_reads_odd_photos_upright_and_finds_the_person(model, scene, tmp_path):
    from posestylizer.inference import PoseStylizerPipeline

    pipe = PoseStylizerPipeline.from_pretrained(model)
    plain = pipe.appearance(scene).crop_box.as_tuple()
    # Colour variants only: the pipeline's person detector misses this synthetic person once it is grey (a limit of
    # the detector, not of reading; the grey files' pixels are checked above).
    for name, (data, _, _) in accepted_images(scene).items():
        if name in ("gray.png", "deep16.png"):
            continue
        (tmp_path / name).write_bytes(data)
        box = pipe.appearance(tmp_path / name).crop_box.as_tuple()
        # the same person at the same place (an EXIF-rotated photo read sideways would put them elsewhere)
        assert np.abs(np.subtract(box, plain)).max() < 8, (name, box, plain)
    rc = main(["generate", "--checkpoint", str(model), "--source", str(tmp_path / "exif6.jpg"), "--target", "walking",
               "--out", str(tmp_path / "out" / "x.png")])
    assert rc == 0 and Image.open(tmp_path / "out" / "x.png").size == (64, 128)


def test_pipeline_takes_a_read_only_array_without_warnings(model, person):
    from posestylizer.inference import PoseStylizerPipeline

    pipe = PoseStylizerPipeline.from_pretrained(model)
    frozen = person.copy()
    frozen.setflags(write=False)  # as np.asarray(PIL image) gives
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pipe(frozen, "walking").image.size == (64, 128)


def test_pose_estimate_lists_unreadable_images_and_reads_the_rest(model, person, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, (data, *_rest) in {**refused_images(person), **accepted_images(person)}.items():
        (photos / name).write_bytes(data)
    assert main(["pose", "estimate", str(photos), "--out", str(tmp_path / "poses.csv"), "--quiet"]) == 0
    out = capsys.readouterr().out
    unreadable = [line for line in out.splitlines() if line.startswith("  unreadable: ")]
    assert len(unreadable) == 7 and "Traceback" not in out
    rows = (tmp_path / "poses.csv").read_text().splitlines()[1:]
    assert sorted(r.split(":")[0] for r in rows) == sorted(accepted_images(person))


# ------------------------------------------------------------------------------------------------ CSVs and names
@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from posestylizer.data.synth import write_dataset

    root = tmp_path_factory.mktemp("data") / "d"
    write_dataset(root, "market", identities=4, poses=2, seed=0)
    return root


@pytest.mark.parametrize("name", ["../x.jpg", "../../outside.jpg", "/etc/hosts", "..\\x.jpg", "sub/x.jpg"])
def test_traversal_names_in_pairs_never_read_or_write_outside(model, dataset, tmp_path, capsys, name):
    outside = tmp_path / "outside.jpg"
    Image.fromarray(np.zeros((128, 64, 3), np.uint8)).save(outside)  # a real image the name would reach
    (tmp_path / "x.jpg").write_bytes(outside.read_bytes())
    pairs = tmp_path / "run" / "pairs.csv"
    pairs.parent.mkdir()
    first = next(p.name for p in sorted((dataset / "test").iterdir()))
    write_pairs(pairs, [(first, name)])
    before = sorted(p for p in tmp_path.rglob("*"))
    err = failing_run("generate", {"--checkpoint": str(model), "--data": str(dataset), "--pairs": str(pairs),
                                   "--out": str(tmp_path / "run" / "out")}, [], capsys, flags=("--quiet",))
    assert "\n" not in err and f"{pairs}:2: image name {name!r} must be a file name" in err, err
    assert "`posestylizer data check" in err
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing written anywhere


def test_data_check_reports_hostile_annotation_rows_one_per_line(dataset, tmp_path, capsys):
    import shutil

    root = tmp_path / "d"
    shutil.copytree(dataset, root)
    ann = root / "market-annotation-test.csv"
    good = ann.read_text().splitlines()
    ones = "[" + ", ".join(["1"] * 18) + "]"
    hostile = [
        f"../x.jpg: {ones}: {ones}",
        f"ünïcødé.jpg: {ones}: {ones}",
        f"big.jpg: [{', '.join(['1' + '0' * 30] * 18)}]: {ones}",
        f"nan.jpg: [{', '.join(['NaN'] * 18)}]: {ones}",
        f"short.jpg: [1, 2, 3]: {ones}",
        "comma.jpg," + ones + "," + ones,
    ]
    ann.write_text("\n".join(good + hostile) + "\n", encoding="utf-8")
    assert main(["data", "check", str(root), "--quiet"]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = [line for line in out.splitlines() if line.startswith(str(ann))]
    n = len(good)
    for i, words in enumerate(["'../x.jpg' must be a file name", "ünïcødé.jpg: image not found",
                               "not a pixel of any image", "keypoints_y[0] is nan", "has 3 values, expected 18",
                               "row has 1 ':'-separated fields"]):
        assert any(line.startswith(f"{ann}:{n + 1 + i}:") and words in line for line in lines), (words, lines)


# ------------------------------------------------------------------------------------------------ driving videos
@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    need("imageio_ffmpeg")
    import imageio_ffmpeg

    from posestylizer.inference.video import write_clip

    root = tmp_path_factory.mktemp("videos")
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (128, 96, 3), np.uint8) for _ in range(24)]  # noise: an MP4 of many kB
    write_clip(frames, root / "noise.mp4", 12)
    data = (root / "noise.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(data[: len(data) // 3])
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    "color=c=gray:s=64x128:r=10", "-frames:v", "0", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(root / "zero.mp4")], check=True)
    write_clip([np.full((128, 96, 3), 120, np.uint8)] * 6, root / "wall.mp4", 12)
    return root


@pytest.mark.parametrize(("video", "words"), [
    ("truncated.mp4", "cannot read the video"),
    ("zero.mp4", "cannot read the video"),
    ("wall.mp4", "no person found in any frame"),
    ("noise.mp4", "no person found in any frame"),
])
def test_animate_refuses_hostile_videos_in_one_line(model, person, videos, tmp_path, capsys, video, words):
    Image.fromarray(person).save(tmp_path / "me.png")
    err = failing_run("animate", {"--checkpoint": str(model), "--source": str(tmp_path / "me.png"), "--driving":
                                  str(videos / video), "--out": str(tmp_path / "o" / "a.gif")}, [], capsys,
                      flags=("--quiet",))
    assert "\n" not in err and words in err, err
    assert not (tmp_path / "o").exists()
