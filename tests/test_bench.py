"""posestylizer bench: the worker protocol, FLOP counts, the paired comparison with a git revision, errors."""

from __future__ import annotations

import json

import pytest
import torch
from extras_helpers import need

from posestylizer.bench.cases import CaseSpec
from posestylizer.bench.suite import run
from posestylizer.bench.worker import serve
from posestylizer.cli import main

# The demo recipe shrunk to a few milliseconds per call.
TINY = ["model.image_size=[32,16]", "model.n_blocks=2", "model.ngf=4", "model.ndf=4"]


def ask_worker(*commands: dict) -> list[dict]:
    """Run the worker's command loop in this process and collect its replies."""
    replies: list[str] = []
    serve([json.dumps(c) for c in commands], replies.append)
    return [json.loads(r) for r in replies]


def setup_msg(case: str, **extra) -> dict:
    return {"cmd": "setup", "case": case, "overrides": TINY, "min_time": 0.01, "matmul_size": 64, **extra}


def test_case_names():
    assert CaseSpec.parse("train:demo:8") == CaseSpec("train", "demo", 8)
    assert CaseSpec.parse("generate:market:1") == CaseSpec("generate", "market", 1)
    for bad in ("train:demo", "fit:demo:8", "train:demo:0", "train:demo:x"):
        with pytest.raises(ValueError, match="KIND:PRESET:BATCH"):
            CaseSpec.parse(bad)


def test_worker_measures_inference_and_a_training_iteration():
    infer, rep, end = ask_worker(setup_msg("infer:demo:2"), {"cmd": "rep"}, {"cmd": "finish"})
    assert infer["items_per_call"] == 2 and infer["calls_per_rep"] >= 1 and infer["dtype"] == "float32"
    assert rep["items_per_s"] > 0 and rep["matmul_flops_per_s"] > 0
    assert rep["flops_per_s"] == pytest.approx(infer["flops_per_call"] * infer["calls_per_rep"] / rep["seconds"])
    assert end["host_peak_rss_mib"] >= end["baseline_rss_mib"] > 0
    train, _ = ask_worker(setup_msg("train:demo:2"), {"cmd": "finish"})
    # An iteration is G's forward and backward (about 3x its forward) plus three discriminator passes and more.
    assert train["flops_per_call"] > 3 * infer["flops_per_call"] > 0
    assert "ngf 4" in train["setting"]


def test_worker_reports_errors_and_stops():
    replies = ask_worker(setup_msg("train:demo:2", overrides=["model.no_such_field=1"]), {"cmd": "rep"})
    assert len(replies) == 1 and "no_such_field" in replies[0]["error"]


@pytest.mark.slow  # two worker processes and a git archive
def test_compare_with_a_revision_pairs_the_repetitions(tmp_path):
    out = tmp_path / "bench.json"
    result = run(["infer:demo:2"], compare="HEAD", reps=2, min_time=0.01, matmul_size=64, overrides=TINY,
                 json_path=out, log=lambda msg: None)  # fmt: skip
    data = json.loads(out.read_text())
    assert data == json.loads(json.dumps(result.data))
    (record,) = data["cases"]
    sides = record["sides"]
    assert set(sides) == {"this", "HEAD"} and set(data["code"]) == {"this", "HEAD"}
    assert data["code"]["HEAD"]["src"] != data["code"]["this"]["src"]  # the revision ran from its own unpacked tree
    assert sides["HEAD"]["code"].startswith(data["code"]["HEAD"]["src"])
    this, head = (sides[k]["images_per_s"]["values"] for k in ("this", "HEAD"))
    assert record["speedup"]["values"] == pytest.approx([a / b for a, b in zip(this, head)])
    assert all(0 < s <= 1 for s in sides["this"]["share_of_ceiling"]["values"])
    assert sides["this"]["ceiling_probe"] in ("gemm", "conv3x3 fwd", "conv3x3 fwd nchw", "conv3x3 fwd+bwd", "the case")
    assert "speed-up this/HEAD" in result.table and data["machine"]["cores_usable"] >= 1


@pytest.mark.slow  # two worker processes
def test_baseline_settings_run_this_code_twice_with_different_settings():
    result = run(["infer:demo:2"], baseline_overrides=["bench.channels_last=false"], baseline_threads=1, reps=1,
                 min_time=0.01, matmul_size=64, overrides=[*TINY, "bench.channels_last=true"], log=lambda msg: None)  # fmt: skip
    sides = result.data["cases"][0]["sides"]
    assert "channels_last" in sides["this"]["setting"] and "channels_last" not in sides["baseline"]["setting"]
    assert sides["baseline"]["torch_threads"] == 1
    assert result.data["code"]["baseline"]["src"] == result.data["code"]["this"]["src"]
    assert "speed-up this/baseline" in result.table and "with bench.channels_last=false 1 threads" in result.table


def test_cli_errors_are_one_line(capsys, tmp_path):
    assert main(["bench", "--cases", "train:demo", "--json", str(tmp_path / "b.json")]) == 2
    assert "KIND:PRESET:BATCH" in capsys.readouterr().err
    assert main(["bench", "--cases", "infer:demo:2", "--baseline", "bench.layout=nhwc"]) == 2
    assert "bench.channels_last=true|false, bench.checkpoint=PATH, bench.steps=N" in capsys.readouterr().err
    assert main(["bench", "--cases", "infer:demo:2", "--compare", "no-such-rev-123", "--json", str(tmp_path / "b.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "no such commit" in err[-1] and not (tmp_path / "b.json").exists()


def _stage_sum_and_call_ms(setup: dict, rep: dict) -> tuple[float, float]:
    return sum(rep["stage_ms"].values()), 1000 * rep["seconds"] / (setup["calls_per_rep"] * setup["items_per_call"])


def test_generate_case_times_estimation_framing_and_generation():
    need("mediapipe")
    setup, rep, _ = ask_worker(setup_msg("generate:demo:2"), {"cmd": "rep"}, {"cmd": "finish"})
    assert setup["items_per_call"] == 2 and "MediaPipe" in setup["setting"] and "32x16" in setup["setting"]
    assert list(rep["stage_ms"]) == ["estimation", "framing", "generation"]
    assert all(v > 0 for v in rep["stage_ms"].values())
    stages, call = _stage_sum_and_call_ms(setup, rep)
    assert stages <= call  # the stages split the calls, inside the repetition's timer
    assert setup["flops_per_call"] > 0  # the generator's convolutions; MediaPipe is not counted
    assert rep["generation_flops_per_s"] > rep["flops_per_s"]  # the same FLOPs in a part of the time


def test_animate_case_renders_poses_from_one_appearance():
    setup, rep, _ = ask_worker(setup_msg("animate:demo:3"), {"cmd": "rep"}, {"cmd": "finish"})
    assert setup["items_per_call"] == 3 and "3 poses" in setup["setting"]
    assert list(rep["stage_ms"]) == ["poses", "generation", "compose"] and rep["stage_ms"]["generation"] > 0
    stages, call = _stage_sum_and_call_ms(setup, rep)
    assert stages <= call
    infer, _ = ask_worker(setup_msg("infer:demo:3"), {"cmd": "finish"})
    assert 0 < setup["flops_per_call"] < infer["flops_per_call"]  # the decoder only: no encoder per frame


def test_a_case_without_its_estimator_is_one_cell_not_a_crash(monkeypatch):
    from posestylizer.bench import pipeline_cases
    from posestylizer.bench.report import markdown_table

    real = pipeline_cases.importlib.util.find_spec
    monkeypatch.setattr(pipeline_cases.importlib.util, "find_spec", lambda n, *a: None if n == "mediapipe" else real(n, *a))
    (reply,) = ask_worker(setup_msg("generate:demo:1"), {"cmd": "finish"})[:1]
    assert "posestylizer[pose]" in reply["unavailable"] and "error" not in reply
    done = {"setting": "s", "gflop_per_image": 1.0, "memory": {}, **{k: {"n": 0} for k in
            ("images_per_s", "share_of_ceiling", "matmul_gflops")}}  # fmt: skip
    records = [{"case": "generate:demo:1", "sides": {"this": done, "old": {"unavailable": "no render_track"}}},
               {"case": "generate:demo:2", "sides": {"this": {"unavailable": reply["unavailable"]}, "old": done}}]
    table = markdown_table(records, ["this", "old"]).splitlines()
    assert "| not in old: no render_track | - | - |" in table[2]
    assert f"not measured: {reply['unavailable']}" in table[3] and table[3].count("|") == table[0].count("|")


def test_bench_checkpoint_option(tmp_path, capsys):
    from pipeline_helpers import small_checkpoint

    from posestylizer.bench.cases import split_overrides

    ckpt = small_checkpoint(tmp_path / "g", size=(32, 16))
    assert split_overrides([f"bench.checkpoint={ckpt}", "model.ngf=4"]) == (["model.ngf=4"], {"checkpoint": str(ckpt)})
    setup, _ = ask_worker(setup_msg("animate:market:2", overrides=[f"bench.checkpoint={ckpt}"]), {"cmd": "finish"})
    assert "checkpoint g" in setup["setting"] and "32x16" in setup["setting"]
    assert main(["bench", "--cases", "animate:demo:2", "--checkpoint", str(tmp_path / "none")]) == 2
    assert "--checkpoint" in capsys.readouterr().err


def test_train_and_infer_cases_run_on_rendered_pose_maps():
    from posestylizer.bench.cases import bench_config, random_inputs, real_inputs

    cfg = bench_config("demo", 2, TINY)
    batches, cleanup = real_inputs(cfg, 2, torch.device("cpu"), channels_last=False, count=2)
    cleanup()
    for maps in (b[key] for b in batches for key in ("src_pose", "tgt_pose")):
        assert maps.shape == (2, 18, 32, 16)
        assert maps.amax().item() == 1.0  # a Gaussian peak at an integer keypoint
        assert (maps < 1e-3).float().mean() > 0.5  # far from the joints: not uniform noise
        assert not ((maps > 0) & (maps < torch.finfo(torch.float32).tiny)).any()  # no subnormal tails
    noise = random_inputs(cfg, 2, torch.device("cpu"), channels_last=False)["src_pose"]
    assert (noise < 1e-3).float().mean() < 0.01  # the random variant's maps, for contrast
    for case in ("train:demo:2", "infer:demo:2", "train-random:demo:2"):
        (setup,) = ask_worker(setup_msg(case), {"cmd": "finish"})[:1]
        assert setup["setting"].endswith("random batch (pose maps uniform)" if "random" in case else
                                         "synthetic people, pose maps rendered")  # fmt: skip


def test_loop_case_runs_the_training_command():
    setup, rep, _ = ask_worker(setup_msg("loop:demo:2", overrides=[*TINY, "bench.steps=2"]), {"cmd": "rep"},
                               {"cmd": "finish"})  # fmt: skip
    assert setup["items_per_call"] == 4 and "train() 2 steps" in setup["setting"]
    train, _ = ask_worker(setup_msg("train:demo:2"), {"cmd": "finish"})
    assert setup["flops_per_call"] >= 2 * train["flops_per_call"]  # two iterations (and the sample grid's batch)
    assert rep["items_per_s"] > 0 and set(rep["probes"]) == {"gemm", "conv3x3 fwd", "conv3x3 fwd nchw", "conv3x3 fwd+bwd"}


def test_no_share_above_100_percent_when_a_case_beats_the_probes():
    from posestylizer.bench.ceiling import best_of
    from posestylizer.bench.report import markdown_table
    from posestylizer.bench.runner import SideResult

    probes = [{"gemm": 10e9, "conv3x3 fwd": 30e9}, {"gemm": 12e9, "conv3x3 fwd": 25e9}]
    assert best_of(probes).probe == "conv3x3 fwd" and best_of(probes).flops_per_s == 30e9
    setup = {"setting": "fake", "items_per_call": 1, "flops_per_call": 1e9, "calls_per_rep": 1}
    fast = SideResult(setup, reps=[{"items_per_s": 40.0, "cpu_seconds": 1.0, "flops_per_s": 40e9,
                                    "matmul_flops_per_s": p["gemm"], "probes": p} for p in probes])  # fmt: skip
    side = fast.to_dict()
    assert side["share_of_ceiling"]["values"] == [1.0, 1.0] and side["ceiling_probe"] == "the case"
    assert side["ceiling_gflops"] == 40.0 and side["probe_gflops"] == {"gemm": 12.0, "conv3x3 fwd": 30.0}
    slow = SideResult(setup, reps=[{**r, "flops_per_s": 15e9} for r in fast.reps]).to_dict()
    assert slow["share_of_ceiling"]["values"] == [0.5, 0.5] and slow["ceiling_probe"] == "conv3x3 fwd"
    table = markdown_table([{"case": "train:demo:1", "sides": {"this": side}}], ["this"])
    assert "40 (raised to the case: it beat every probe)" in table and "100%" in table


def test_machine_ceiling_is_importable_and_measures_every_probe():
    from posestylizer.bench.ceiling import machine_ceiling

    best = machine_ceiling("cpu", torch.float32, n=64, runs=1)
    assert best.flops_per_s == max(best.probes.values()) > 0 and best.probe in best.probes
