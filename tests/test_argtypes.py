"""Numbers and devices out of range are argparse's one line and exit 2, before any work."""

from __future__ import annotations

import pytest

from posestylizer.cli import main

CASES = [
    (["data", "synth", "OUT", "--test-fraction", "2"], "--test-fraction", "expected a number in (0, 1)"),
    (["data", "pairs", "ROOT", "--max-pairs", "-5"], "--max-pairs", "expected a whole number >= 1"),
    (["pose", "import", "f.json", "--out", "o.csv", "--threshold", "nan"], "--threshold", "expected a finite"),
    (["generate", "--checkpoint", "C", "--source", "s.png", "--target", "walking", "--out", "o.png", "--device",
      "tpu9"], "--device", "expected cpu, cuda, cuda:N or mps"),
    (["serve", "--checkpoint", "C", "--timeout", "-1"], "--timeout", "expected a number in (0, inf"),
    (["demo", "--minutes", "0"], "--minutes", "expected a number in (0, inf"),
    (["convert", "a.pth", "out", "--image-size", "0", "0"], "--image-size", "expected a whole number from 1"),
]


@pytest.mark.parametrize(("argv", "option", "words"), CASES, ids=[c[1] for c in CASES])
def test_out_of_range_is_one_line(tmp_path, monkeypatch, capsys, argv, option, words):
    monkeypatch.chdir(tmp_path)  # nothing may be written
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    err = lines[0]
    assert f"argument {option}" in err and words in err, err
    assert list(tmp_path.iterdir()) == []


def test_messages_name_flags_that_exist(tmp_path, capsys):
    photo = tmp_path / "p.png"
    from PIL import Image

    Image.new("RGB", (32, 64)).save(photo)
    assert main(["pose", "estimate", str(photo), "--backend", "openpose", "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "--weights FILE with `pose estimate`" in err and "--openpose-weights FILE with `evaluate`" in err, err
    odd = tmp_path / "odd.json"
    odd.write_text('{"something": 1}')
    assert main(["generate", "--checkpoint", str(tmp_path), "--source", str(photo), "--target", str(odd),
                 "--out", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err
    assert "--from" not in err or "posestylizer pose import --from" in err, err


def test_ssim_of_images_smaller_than_its_window_is_an_error_not_nan():
    import numpy as np

    from posestylizer.errors import DataError
    from posestylizer.metrics.ssim import ssim

    with pytest.raises(DataError, match="larger than its 11x11 window, got 10x10"):
        ssim(np.zeros((10, 10, 3), np.uint8), np.ones((10, 10, 3), np.uint8))
    assert np.isfinite(ssim(np.zeros((11, 11, 3), np.uint8), np.full((11, 11, 3), 9, np.uint8), data_range=255))
