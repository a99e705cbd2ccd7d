"""Response times of the pose-studio API over HTTP: `posestylizer serve` in a subprocess, sequential requests.

Prints p50/p90 per endpoint, asserts nothing. Photos are synthetic people (optionally pasted into a larger street-size
canvas, as a phone photo would be); generation targets the keypoints the page sends (the source pose with the right
wrist raised), a library pose and a second photo.

    python benchmarks/bench_server.py --checkpoint runs/demo/generator [--requests 20] [--photo-size 720x480]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

import httpx2 as httpx
import numpy as np
from PIL import Image

from posestylizer.data.synth import render_sample

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from server_helpers import start_server


def photo(identity: int, pose: int, size: tuple[int, int] | None) -> bytes:
    """A synthetic person as PNG; with ``size`` (H, W), scaled up 3x and pasted on a grey canvas of that size."""
    image = Image.fromarray(render_sample("market", identity, pose)[0])
    if size:
        person = image.resize((image.width * 3, image.height * 3), Image.BICUBIC)
        canvas = Image.new("RGB", (size[1], size[0]), (120, 118, 112))
        canvas.paste(person, ((size[1] - person.width) // 2, (size[0] - person.height) // 2))
        image = canvas
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def timed(n: int, call) -> list[float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        r = call()
        times.append(time.perf_counter() - t)
        r.raise_for_status()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--photo-size", default=None, help="HxW canvas the person is pasted into, e.g. 720x480")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.photo_size.split("x")) if args.photo_size else None
    source, second = photo(2, 0, size), photo(2, 1, size)  # people the estimator finds at both sizes
    proc, url = start_server(args.checkpoint)
    url = url.rstrip("/")
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            est = client.post("/api/estimate", files={"image": ("p.png", source)}).json()
            kp = np.array(est["model_keypoints"])
            kp[4] = (max(1, kp[0, 0] - 4), kp[4, 1])  # right wrist above the nose
            files = {"source": ("p.png", source)}
            runs = {
                "estimate": lambda: client.post("/api/estimate", files={"image": ("p.png", source)}),
                "generate (keypoints)": lambda: client.post(
                    "/api/generate", files=files, data={"target_keypoints": json.dumps(kp.tolist())}),
                "generate (library pose)": lambda: client.post(
                    "/api/generate", files=files, data={"target_pose": "walking"}),
                "generate (second photo)": lambda: client.post(
                    "/api/generate", files={**files, "target_image": ("q.png", second)}),
            }
            contract = client.get("/api/contract").json()
            print(f"checkpoint {contract['checkpoint']} {contract['image_size']}, photo {size or (128, 64)}, "
                  f"{args.requests} sequential requests each")
            for name, call in runs.items():
                call()  # warm-up
                t = sorted(timed(args.requests, call))
                p90 = t[min(len(t) - 1, int(0.9 * len(t)))]
                print(f"  {name:26s} p50 {statistics.median(t) * 1000:7.1f} ms   p90 {p90 * 1000:7.1f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
