"""``posestylizer augment``: Market-named images of every usable training person in K poses, with a manifest; equal
bytes on one process and over 2 torchrun ranks; a run killed with SIGKILL resumes to the same bytes."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from pipeline_helpers import small_checkpoint

from posestylizer.augment.plan import (
    dataset_poses,
    generated_name,
    make_chunks,
    plan_jobs,
    rank_chunks,
    usable,
)
from posestylizer.augment.render import JPEG_QUALITY
from posestylizer.augment.run import MANIFEST
from posestylizer.checkpoints.native import load_generator
from posestylizer.cli import main
from posestylizer.data.formats import read_annotations, write_annotations
from posestylizer.data.layouts import get_layout
from posestylizer.keypoints.maps import heatmaps
from posestylizer.results.protocol import image_to_tensor, to_uint8
from posestylizer.runtime.imagefiles import read_image

SRC = Path(__file__).resolve().parents[1] / "src"
MARKET_RE = re.compile(r"([-\d]+)_c(\d)")  # how Market-1501 loaders (e.g. torchreid) read person id and camera
ARGS = ["--poses", "3", "--batch", "4", "--device", "cpu", "--quiet"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One thread, as the subprocesses run: on a shared 2-core machine it is also the faster choice."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A synthetic Market-layout set (one image's pose made unusable) and a small random 128x64 checkpoint."""
    root = tmp_path_factory.mktemp("augment")
    assert main(["data", "synth", str(root / "data"), "--identities", "6", "--poses", "4", "--seed", "1",
                 "--quiet"]) == 0  # fmt: skip
    ann_path = get_layout("market").annotation_path(root / "data", "train")
    ann = read_annotations(ann_path)
    first = sorted(ann)[0]
    ann[first] = ann[first].copy()
    ann[first][[8, 11]] = -1  # no hips: skipped, never a crash
    write_annotations(ann_path, ann)
    small_checkpoint(root / "ckpt", size=(128, 64))
    return root


def _augment(root: Path, out: Path, *extra: str) -> list[str]:
    return ["augment", "--checkpoint", str(root / "ckpt"), "--data", str(root / "data"), "--out", str(out), *extra]


def _env(**extra: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", **extra}  # fmt: skip
    if "POSESTYLIZER_TEST_WRITE_PAUSE" not in extra:
        env.pop("POSESTYLIZER_TEST_WRITE_PAUSE", None)
    return env


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def reference(setup):
    """One process, one thread: the bytes every other way of running must reproduce."""
    out = setup / "single"
    subprocess.run([sys.executable, "-m", "posestylizer", *_augment(setup, out, *ARGS)], env=_env(), check=True,
                   capture_output=True)  # fmt: skip
    return _files(out)


def test_names_keep_the_person_id_and_camera():
    market, fashion = get_layout("market"), get_layout("fashion")
    name = generated_name(market, "0002_c1s1_000451_03.jpg", 7)
    assert name == "0002_c1s1_000451_03_aps07.jpg"
    assert MARKET_RE.search(name).groups() == ("0002", "1")
    deep = "fashionWOMENTees_Tanksid0000062904_3back.jpg"
    assert fashion.identity(generated_name(fashion, deep, 0)) == fashion.identity(deep)


def test_the_plan_depends_on_the_image_and_seed_not_on_rank_or_order(setup):
    layout = get_layout("market")
    ann = {n: kp for n, kp in read_annotations(layout.annotation_path(setup / "data", "train")).items() if usable(kp)}
    poses = dataset_poses(ann)
    chunks = make_chunks(ann, poses, k=3, seed=5, batch=4, layout=layout, size=(128, 64))
    jobs = [(j.name, j.pose.label) for c in chunks for j in c.jobs]
    assert len(jobs) == 3 * len(ann) and all(j.pose.label != j.source for c in chunks for j in c.jobs)
    shards = [rank_chunks(chunks, r, 3) for r in range(3)]
    assert sorted(c.index for s in shards for c in s) == list(range(len(chunks)))
    # One image's draw is the same whatever other images the dataset has and whatever order they come in.
    name = sorted(ann)[3]
    alone = plan_jobs(name, ann[name], poses, 3, 5, layout, (128, 64), exclude=sorted(ann).index(name))
    assert [(j.name, j.pose.label) for j in alone] == [x for x in jobs if x[0].startswith(Path(name).stem)]
    other_seed = make_chunks(ann, poses, k=3, seed=6, batch=4, layout=layout, size=(128, 64))
    assert [(j.name, j.pose.label) for c in other_seed for j in c.jobs] != jobs


def test_augment_writes_market_named_images_and_the_manifest(setup, tmp_path, capsys):
    out = tmp_path / "aug"
    assert main(_augment(setup, out, *ARGS)) == 0
    line = capsys.readouterr().out
    ann = read_annotations(get_layout("market").annotation_path(setup / "data", "train"))
    n_usable = sum(usable(kp) for kp in ann.values())
    assert f"{n_usable} source images x 3 poses -> {3 * n_usable} images" in line
    assert n_usable < len(ann) and f"skipped {len(ann) - n_usable} without a usable pose" in line
    images = sorted(p.name for p in out.glob("*.jpg"))
    assert len(images) == 3 * n_usable
    rows = list(csv.DictReader((out / MANIFEST).open()))
    assert [r["image"] for r in rows] == images
    for row in rows:
        pid, _cam = MARKET_RE.search(row["image"]).groups()
        assert pid == row["person_id"] == row["source"].split("_")[0]
        assert row["pose"] in ann and row["pose"] != row["source"] and row["seed"] == "0"

    # An output is the generator's full forward pass on (source, its pose, the retargeted target), as JPEG 95: the
    # appearance code computed once per source and the batched decoder change nothing.
    from posestylizer.inference.retarget import retarget

    row = rows[4]
    g = load_generator(setup / "ckpt")
    src_kp = ann[row["source"]]
    tgt_kp = retarget(ann[row["pose"]], src_kp, (128, 64))
    src = image_to_tensor(read_image(setup / "data" / "train" / row["source"]))[None]
    maps = [torch.from_numpy(heatmaps(kp, (128, 64), g.contract.heatmap_sigma))[None] for kp in (src_kp, tgt_kp)]
    with torch.no_grad():
        fake = to_uint8(g(src, *maps)[0])
    got = np.asarray(Image.open(out / row["image"]))
    expected = np.asarray(_jpeg_roundtrip(fake))
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 2  # batch composition: float rounding only

    # Run again: nothing to do, same files; other options into the same folder are refused.
    before = _files(out)
    assert main(_augment(setup, out, *ARGS)) == 0
    assert "(0 new," in capsys.readouterr().out and _files(out) == before
    assert main(_augment(setup, out, *ARGS, "--seed", "3")) == 2
    assert "seed" in capsys.readouterr().err


def _jpeg_roundtrip(image: np.ndarray) -> Image.Image:
    import io

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=JPEG_QUALITY)
    return Image.open(io.BytesIO(buf.getvalue()))


def test_library_and_keypoint_file_pose_sources(setup, tmp_path, capsys):
    out = tmp_path / "lib"
    assert main(_augment(setup, out, "--pose-source", "library", "--poses", "2", "--quiet", "--device", "cpu")) == 0
    rows = list(csv.DictReader((out / MANIFEST).open()))
    from posestylizer.keypoints.library import pose_names

    assert rows and {r["pose_kind"] for r in rows} == {"library"} and {r["pose"] for r in rows} <= set(pose_names())
    ann = read_annotations(get_layout("market").annotation_path(setup / "data", "test"))
    pose_file = tmp_path / "poses.csv"
    write_annotations(pose_file, list(ann.items())[:3])
    out = tmp_path / "file"
    assert main(_augment(setup, out, "--pose-source", str(pose_file), "--poses", "2", "--quiet")) == 0
    rows = list(csv.DictReader((out / MANIFEST).open()))
    assert rows and {r["pose"].split("#")[0] for r in rows} == {"poses.csv"}


@pytest.mark.parametrize("extra, message", [
    (["--poses", "0"], "--poses 0"),
    (["--batch", "0"], "--batch 0"),
    (["--pose-source", "nowhere.json"], "--pose-source nowhere.json"),
])  # fmt: skip
def test_mistakes_are_one_line(setup, tmp_path, capsys, extra, message):
    assert main(_augment(setup, tmp_path / "x", *extra)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_checkpoint_of_another_size_is_refused(setup, tmp_path, capsys):
    small_checkpoint(tmp_path / "ck64", size=(64, 32))
    args = ["augment", "--checkpoint", str(tmp_path / "ck64"), "--data", str(setup / "data"), "--out",
            str(tmp_path / "x"), "--quiet"]  # fmt: skip
    assert main(args) == 2
    assert "128x64" in capsys.readouterr().err


def test_two_torchrun_ranks_write_the_bytes_of_one_process(setup, reference):
    out = setup / "ranks"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "posestylizer",
           *_augment(setup, out, *ARGS)]  # fmt: skip
    subprocess.run(cmd, env=_env(), check=True, capture_output=True, timeout=600)
    assert _files(out) == reference


def test_a_run_killed_with_sigkill_resumes_to_the_same_bytes(setup, reference):
    out = setup / "killed"
    cmd = [sys.executable, "-m", "posestylizer", *_augment(setup, out, *ARGS)]
    proc = subprocess.Popen(cmd, env=_env(POSESTYLIZER_TEST_WRITE_PAUSE="0.2"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 300
    while len(list(out.glob("*.jpg"))) < 5:  # in the middle of the run: some images written, most not
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended or stalled before the kill"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _files(out)
    finished = {n: b for n, b in partial.items() if n.endswith(".jpg") and not n.startswith(".")}
    assert 5 <= len(finished) < sum(n.endswith(".jpg") for n in reference)
    assert all(reference[n] == b for n, b in finished.items())  # no partial image under a final name
    assert MANIFEST not in partial
    subprocess.run(cmd, env=_env(), check=True, capture_output=True, timeout=600)
    assert _files(out) == reference


def test_bench_case_runs_the_commands_chunks_with_one_code_per_source():
    import json

    from posestylizer.bench.worker import serve

    tiny = ["model.image_size=[32,16]", "model.n_blocks=2", "model.ngf=4", "model.ndf=4"]
    msg = {"cmd": "setup", "overrides": tiny, "min_time": 0.01, "matmul_size": 64}

    def ask(*commands: dict) -> list[dict]:
        replies: list[str] = []
        serve([json.dumps(c) for c in commands], replies.append)
        return [json.loads(r) for r in replies]

    setup, rep, _ = ask({**msg, "case": "augment:demo:2"}, {"cmd": "rep"}, {"cmd": "finish"})
    infer, _ = ask({**msg, "case": "infer:demo:1"}, {"cmd": "finish"})
    assert setup["items_per_call"] == 16 and "K=2" in setup["setting"]  # 8 sources x 2 poses per chunk
    assert list(rep["stage_ms"]) == ["read", "maps", "generation", "write"] and rep["stage_ms"]["generation"] > 0
    # the encoder runs once per source, not once per image: fewer FLOPs per image than a full forward pass
    assert 0 < setup["flops_per_call"] / 16 < infer["flops_per_call"]


def test_a_deepfashion_layout_set_keeps_its_ids(tmp_path, capsys):
    data = tmp_path / "fashion"
    assert main(["data", "synth", str(data), "--preset", "fashion", "--identities", "3", "--poses", "2", "--seed", "1",
                 "--quiet"]) == 0  # fmt: skip
    small_checkpoint(tmp_path / "ckpt", size=(256, 176), norm="instance", layout="fashion")
    out = tmp_path / "out"
    assert main(["augment", "--checkpoint", str(tmp_path / "ckpt"), "--data", str(data), "--out", str(out),
                 "--poses", "1", "--quiet", "--device", "cpu"]) == 0  # fmt: skip
    fashion = get_layout("fashion")
    rows = list(csv.DictReader((out / MANIFEST).open()))
    assert rows and all(fashion.identity(r["image"]) == fashion.identity(r["source"]) == r["person_id"] for r in rows)
    assert sorted(p.name for p in out.glob("*.jpg")) == sorted(r["image"] for r in rows)


def test_an_unreadable_image_is_skipped_and_counted(setup, tmp_path, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(setup / "data", data)
    layout = get_layout("market")
    ann = read_annotations(layout.annotation_path(data, "train"))
    victim = sorted(n for n, kp in ann.items() if usable(kp))[2]
    path = data / "train" / victim
    path.write_bytes(path.read_bytes()[:100])  # truncated JPEG
    out = tmp_path / "out"
    args = ["augment", "--checkpoint", str(setup / "ckpt"), "--data", str(data), "--out", str(out), *ARGS]
    assert main(args) == 0
    assert "and 1 unreadable" in capsys.readouterr().out
    rows = list(csv.DictReader((out / MANIFEST).open()))
    assert victim not in {r["source"] for r in rows} and len(rows) == len(list(out.glob("*.jpg")))
