"""A tiny checkpoint and synthetic photos for the server tests (API and browser)."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image


def tiny_checkpoint(folder: Path) -> Path:
    """An untrained APS generator at the market size (128x64, the synthetic photos' size), base width 8."""
    from posestylizer.checkpoints.contract import InputContract
    from posestylizer.checkpoints.native import save_generator
    from posestylizer.config import load_config
    from posestylizer.models import Generator

    cfg = load_config("market", overrides=["model.ngf=8", "model.n_blocks=2"])
    return save_generator(Generator(cfg.model).eval(), cfg.model, folder, InputContract.of_experiment(cfg))


def person_photo(identity: int = 0, pose: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic person (uint8 (128, 64, 3)) and its true keypoints ((18, 2) (y, x), -1 missing)."""
    from posestylizer.data.synth import render_sample

    image, kp, _mask, _bg = render_sample("market", identity, pose)
    return image, kp


def png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def start_server(checkpoint: str | Path, *args: str, wait: float = 120.0) -> tuple[subprocess.Popen, str]:
    """``posestylizer serve`` in a subprocess on a free loopback port; returns (process, base URL ending in /) once
    /api/contract answers. The caller terminates the process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "posestylizer", "serve", "--checkpoint", str(checkpoint), "--port", str(port), *args]
    # Output goes to a file, not a pipe: nobody reads a pipe while the server runs, and a full one would block it.
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (lives as long as the server)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + wait
    while True:
        try:
            urllib.request.urlopen(url + "api/contract", timeout=2).read()
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                log.seek(0)
                raise RuntimeError(f"posestylizer serve did not start: {log.read()[-2000:]}") from None
            time.sleep(0.5)
