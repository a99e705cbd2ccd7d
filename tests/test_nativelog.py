"""Third-party native log lines are hidden unless --verbose; everything else written to stderr still shows, in order."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

from posestylizer.runtime.nativelog import VERBOSE_ENV, filtered_native_stderr

NOISY = (b"I0000 00:00:1796289.415663   30728 calc.cc:114] info\n"
         b"W0000 00:00:1796289.415663   30728 feedback.cc:114] warn\n"
         b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
         b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")  # fmt: skip


def test_noise_is_dropped_and_the_rest_kept_in_order(capfd, monkeypatch):
    monkeypatch.delenv(VERBOSE_ENV, raising=False)
    with filtered_native_stderr():
        os.write(2, b"first\n" + NOISY)
        thread = threading.Thread(target=os.write, args=(2, NOISY + b"from a thread\n"))  # as MediaPipe's do
        thread.start()
        thread.join()
        os.write(2, b"progress 50%\rprogress 100%\r")
        os.write(2, b"last line without newline")
    assert capfd.readouterr().err == "first\nfrom a thread\nprogress 50%\rprogress 100%\rlast line without newline"


def test_verbose_lets_everything_through(capfd, monkeypatch):
    monkeypatch.setenv(VERBOSE_ENV, "1")
    with filtered_native_stderr():
        os.write(2, NOISY)
    assert capfd.readouterr().err == NOISY.decode()


def test_pose_estimate_prints_no_mediapipe_lines(tmp_path):
    photo = tmp_path / "astronaut.png"
    Image.fromarray(np.asarray(skimage.data.astronaut())).save(photo)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    env.pop(VERBOSE_ENV, None)
    argv = [sys.executable, "-m", "posestylizer", "pose", "estimate", str(photo), "--out", str(tmp_path / "kp.json")]
    quiet = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    loud = subprocess.run([*argv[:-1], str(tmp_path / "kp2.json"), "--verbose"], env=env, capture_output=True, text=True, timeout=300)
    assert loud.returncode == 0 and ("W0000" in loud.stderr or "INFO:" in loud.stderr), loud.stderr
