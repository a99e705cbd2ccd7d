"""The server's parts that need no model: the bounded job queue, upload decoding and limits, the serve CLI."""

from __future__ import annotations

import asyncio
import io
import threading

import numpy as np
import pytest
from extras_helpers import need

need("fastapi")

from PIL import Image

from posestylizer.server.jobs import Busy, JobQueue
from posestylizer.server.uploads import UploadRefused, check_size, decode_image, png_bytes


def test_queue_answers_503_when_full_and_frees_the_slot_after():
    async def scenario():
        queue = JobQueue(capacity=1)
        release = threading.Event()
        running = [asyncio.create_task(queue.run(release.wait, 10)) for _ in range(2)]  # one runs, one waits
        await asyncio.sleep(0.05)
        with pytest.raises(Busy) as err:
            await queue.run(lambda: "third")
        release.set()
        assert await asyncio.gather(*running) == [True, True]
        after = await queue.run(lambda: "after")
        queue.close()
        return err.value, after, queue.pending

    err, after, pending = asyncio.run(scenario())
    assert err.status_code == 503 and err.headers["Retry-After"] == "2" and "busy" in err.detail
    assert after == "after" and pending == 0


def test_queue_timeout_answers_503_and_the_job_keeps_its_slot_until_it_ends():
    async def scenario():
        queue = JobQueue(capacity=0, timeout=0.05)
        release = threading.Event()
        with pytest.raises(Busy) as err:
            await queue.run(release.wait, 10)
        busy_while_running = queue.pending
        release.set()
        while queue.pending:
            await asyncio.sleep(0.01)
        queue.close()
        return err.value, busy_while_running

    err, busy = asyncio.run(scenario())
    assert "longer than 0.05 s" in err.detail and busy == 1


def test_queue_passes_exceptions_through():
    async def scenario():
        queue = JobQueue(capacity=1)
        try:
            await queue.run(int, "not a number")
        finally:
            queue.close()

    with pytest.raises(ValueError):
        asyncio.run(scenario())


def _encoded(array: np.ndarray, fmt: str = "PNG", **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt, **options)
    return buf.getvalue()


def test_decode_image_reads_rgb_gray_rgba_16bit_and_applies_exif_orientation():
    rgb = np.random.default_rng(0).integers(0, 256, (20, 10, 3), dtype=np.uint8)
    assert np.array_equal(decode_image(png_bytes(rgb), "image", "a.png", 10_000), rgb)
    gray = decode_image(_encoded(rgb[..., 0]), "image", "g.png", 10_000)
    assert gray.shape == (20, 10, 3) and np.array_equal(gray[..., 2], rgb[..., 0])
    rgba = np.dstack([rgb, np.zeros((20, 10), np.uint8)])  # fully transparent -> white
    assert (decode_image(_encoded(rgba), "image", "t.png", 10_000) == 255).all()
    deep = Image.fromarray((np.arange(200, dtype=np.uint16).reshape(20, 10) * 300).astype(np.uint16))
    buf = io.BytesIO()
    deep.save(buf, format="PNG")
    wide = decode_image(buf.getvalue(), "image", "d.png", 10_000)
    assert wide.dtype == np.uint8 and wide[-1, -1, 0] == round(199 * 300 / 65535 * 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    upright = decode_image(_encoded(rgb, "JPEG", exif=exif, quality=95), "image", "r.jpg", 10_000)
    assert upright.shape == (10, 20, 3)


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"", 400, "is empty"),
        (b"hello, I am a text file\n" * 10, 415, "is not an image"),
        (b"%PDF-1.4\n" + b"0" * 100, 415, "is not an image"),
        (_encoded(np.zeros((200, 100, 3), np.uint8)), 413, "200 = 0.0 megapixels"),
        (_encoded(np.zeros((20, 10, 3), np.uint8), "JPEG")[:200], 400, "damaged or truncated"),
    ],
)
def test_decode_image_refuses_with_a_clear_message(data, status, words):
    with pytest.raises(UploadRefused) as err:
        decode_image(data, "source", "photo.x", max_pixels=10_000)
    assert err.value.status_code == status
    assert err.value.detail.startswith("source: photo.x") and words in err.value.detail.replace("100x", "")


def test_check_size_names_file_and_limit():
    check_size("image", "a.png", 1000, 1000)
    with pytest.raises(UploadRefused) as err:
        check_size("image", "a.png", 2_500_000, 2_000_000)
    assert err.value.status_code == 413 and err.value.detail == (
        "image: a.png is 2.5 MB; the server accepts files up to 2.0 MB")


def test_serve_cli_defaults_to_loopback_and_refuses_a_missing_checkpoint(tmp_path, capsys):
    from posestylizer.cli import build_parser, main
    from posestylizer.commands.serve import _display_name, _is_loopback

    args = build_parser().parse_args(["serve", "--checkpoint", "x"])
    assert args.host == "127.0.0.1" and args.port == 8000
    assert _is_loopback("127.0.0.1") and _is_loopback("::1") and _is_loopback("localhost")
    assert not _is_loopback("0.0.0.0") and not _is_loopback("192.168.1.5")
    assert _display_name(str(tmp_path / "runs" / "demo")) == "runs/demo"
    assert main(["serve", "--checkpoint", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path / "nope") in err[0]
