"""A benchmark worker process: builds one case and measures it repetition by repetition, as the parent asks.

``python -m posestylizer.bench.worker`` reads one JSON command per line on stdin and answers one JSON line on
stdout (anything the code under test prints goes to stderr):

- ``{"cmd": "setup", "case": "train:demo:8", "overrides": [...], "device": "cpu", "min_time": 1.0,
  "matmul_size": 2048}`` builds the case, warms it up, counts its FLOPs and picks how many calls make one
  repetition;
- ``{"cmd": "rep"}`` times the ceiling's probes (:mod:`posestylizer.bench.ceiling`), then one repetition;
- ``{"cmd": "profile", "rows": 15}`` runs one repetition under ``torch.profiler`` and returns its operator table;
- ``{"cmd": "finish"}`` reports peak memory and exits.

One process per case and code revision keeps peak-memory figures apart, and lets the parent alternate the
repetitions of two revisions (``--compare``) while each runs its own code.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback

import torch

from posestylizer.bench.case import Case
from posestylizer.bench.cases import CaseSpec, build_case
from posestylizer.bench.ceiling import CeilingProbes
from posestylizer.bench.measure import (
    count_flops,
    peak_memory_mib,
    reset_peak_memory,
    rss_mib,
    time_calls,
)
from posestylizer.bench.pipeline_cases import CaseUnavailable


class Session:
    def __init__(self) -> None:
        self.case: Case | None = None
        self.probe: CeilingProbes | None = None
        self.device = torch.device("cpu")
        self.calls = 1
        self.flops: int | None = None
        self.baseline_rss: float | None = None

    def setup(self, msg: dict) -> dict:
        import posestylizer

        self.device = torch.device(msg.get("device", "cpu"))
        spec = CaseSpec.parse(msg["case"])
        start = time.perf_counter()
        self.baseline_rss = rss_mib()
        reset_peak_memory(self.device)
        try:
            self.case = build_case(spec, list(msg.get("overrides", [])), self.device)
        except CaseUnavailable as err:
            return {"unavailable": str(err)}
        if self.case.dtype is not None:
            self.probe = CeilingProbes(self.device, self.case.dtype, n=int(msg.get("matmul_size", 2048)))
        self.case.call()  # first call: lazy initialisation, allocator warm-up
        one = time_calls(self.case.call, 1, self.device)
        self.calls = max(1, math.ceil(float(msg.get("min_time", 1.0)) / max(one, 1e-9)))
        self.flops = count_flops(self.case.call) if self.case.dtype is not None else None
        return {
            "setting": self.case.setting,
            "items_per_call": self.case.items,
            "flops_per_call": self.flops,
            "calls_per_rep": self.calls,
            "dtype": str(self.case.dtype).removeprefix("torch.") if self.case.dtype is not None else None,
            "setup_s": time.perf_counter() - start,
            "code": os.path.dirname(posestylizer.__file__),
            "torch_threads": torch.get_num_threads(),
        }

    def rep(self, msg: dict) -> dict:
        probes = self.probe() if self.probe is not None else None
        if self.case.stages is not None:
            self.case.stages.reset()
        cpu_start = time.process_time()
        seconds = time_calls(self.case.call, self.calls, self.device)
        cpu_seconds = time.process_time() - cpu_start  # all threads; with one thread, robust to time slicing
        out = {"seconds": seconds, "cpu_seconds": cpu_seconds, "items_per_s": self.calls * self.case.items / seconds,
               "flops_per_s": None if self.flops is None else self.calls * self.flops / seconds,
               "matmul_flops_per_s": None if probes is None else probes["gemm"], "probes": probes}  # fmt: skip
        if self.case.stages is not None:
            out.update(self._stages())
        return out

    def _stages(self) -> dict:
        """Milliseconds per item by stage, and the FLOP/s of the generation stage alone (every counted FLOP is the
        generator's: the pipeline's other stages run numpy, PIL and MediaPipe)."""
        per_item = 1000 / (self.calls * self.case.items)
        stages = self.case.stages.seconds
        gen = stages.get("generation")
        return {"stage_ms": {k: v * per_item for k, v in stages.items()},
                "generation_flops_per_s": None if self.flops is None or not gen else self.calls * self.flops / gen}

    def profile(self, msg: dict) -> dict:
        """The operators of one repetition under ``torch.profiler``, most self time first, per call of the case:
        ``{"calls": n, "ops": [{"name", "self_ms", "share", "count"}, ...]}`` (self time and count per call)."""
        from torch.profiler import ProfilerActivity, profile

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.device.type == "cuda" else [])
        with profile(activities=activities) as prof:
            time_calls(self.case.call, self.calls, self.device)
        events = prof.key_averages()
        key = "self_device_time_total" if self.device.type == "cuda" else "self_cpu_time_total"
        total = sum(getattr(e, key) for e in events) or 1
        top = sorted(events, key=lambda e: -getattr(e, key))[: int(msg.get("rows", 15))]
        ops = [{"name": e.key, "self_ms": getattr(e, key) / 1e3 / self.calls, "share": getattr(e, key) / total,
                "count": e.count / self.calls} for e in top]  # fmt: skip
        return {"calls": self.calls, "total_ms": total / 1e3 / self.calls, "ops": ops}

    def finish(self, msg: dict) -> dict:
        out = {"baseline_rss_mib": self.baseline_rss, **peak_memory_mib(self.device)}
        if self.case is not None:
            self.case.close()
        return out


def serve(lines, reply) -> None:
    """Answer each command line with one JSON reply until ``finish`` (errors are replies, not crashes)."""
    session = Session()
    handlers = {
        "setup": session.setup,
        "rep": session.rep,
        "profile": session.profile,
        "finish": session.finish,
    }
    for line in lines:
        msg = json.loads(line)
        try:
            answer = handlers[msg["cmd"]](msg)
        except Exception as err:  # noqa: BLE001 - any failure is reported to the parent, which stops with it
            answer = {"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
        reply(json.dumps(answer))
        if msg["cmd"] == "finish" or "error" in answer:
            return


def main() -> None:
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # prints of the code under test go to stderr
    sys.stdout = sys.stderr
    threads = os.environ.get("POSESTYLIZER_BENCH_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    serve(sys.stdin, lambda text: protocol.write(text + "\n"))


if __name__ == "__main__":
    main()
