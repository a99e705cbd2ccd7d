"""Run benchmark cases in worker processes, alternating the repetitions of the compared code revisions.

For each case, one worker per code side builds the case; then repetition ``r`` runs side A then B when ``r`` is even
and B then A when odd (ABBA), each repetition right after its own matmul probe. Ratios are taken repetition by
repetition between neighbours in time, so a change of machine load between minutes cancels out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from posestylizer.bench.ceiling import Ceiling, best_of
from posestylizer.bench.measure import summary
from posestylizer.bench.revision import CodeSide
from posestylizer.errors import UserError


class BenchError(UserError):
    """A case could not be built or run (bad preset, override the revision does not know, ...)."""


class Worker:
    """One ``posestylizer.bench.worker`` process running the code of ``side``."""

    def __init__(self, side: CodeSide, threads: int | None) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(side.src), os.environ.get("PYTHONPATH", "")]))
        threads = side.threads or threads
        if threads:
            env["POSESTYLIZER_BENCH_THREADS"] = str(threads)
            env["OMP_NUM_THREADS"] = str(threads)
        self.side = side
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "posestylizer.bench.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=side.src,
        )  # fmt: skip

    def ask(self, **msg) -> dict:
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            raise BenchError(f"{self.side.label}: worker exited (code {self.proc.wait()}) during '{msg['cmd']}'; its "
                             "traceback is above")  # fmt: skip
        reply = json.loads(line)
        if "error" in reply:
            print(reply.get("traceback", ""), file=sys.stderr)
            raise BenchError(f"{self.side.label}, {msg.get('case', msg['cmd'])}: {reply['error']}")
        return reply

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@dataclass
class SideResult:
    """One code side's measurements of one case."""

    setup: dict
    reps: list[dict] = field(default_factory=list)
    memory: dict = field(default_factory=dict)
    profile: dict = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return "unavailable" not in self.setup

    def images_per_s(self) -> list[float]:
        return [r["items_per_s"] for r in self.reps]

    def ceiling(self) -> Ceiling | None:
        """The best probe rate over all repetitions, raised to the case's best rate where that is higher."""
        runs = [r["probes"] for r in self.reps if r.get("probes")]
        if not runs:
            return None
        rates = [r[k] for r in self.reps for k in ("flops_per_s", "generation_flops_per_s") if r.get(k)]
        return best_of(runs, max(rates, default=None))

    def shares(self, key: str = "flops_per_s") -> list[float]:
        """Achieved FLOP/s (``key``) over the ceiling, per repetition: at most 1."""
        ceiling = self.ceiling()
        if ceiling is None:
            return []
        return [r[key] / ceiling.flops_per_s for r in self.reps if r.get(key) is not None]

    def stages(self) -> dict:
        """Per-stage milliseconds per image and the generation stage's share of the ceiling (pipeline cases)."""
        if not any("stage_ms" in r for r in self.reps):
            return {}
        names = dict.fromkeys(k for r in self.reps for k in r["stage_ms"])
        return {"stage_ms_per_image": {k: summary([r["stage_ms"].get(k, 0.0) for r in self.reps]) for k in names},
                "generation_share_of_ceiling": summary(self.shares("generation_flops_per_s"))}  # fmt: skip

    def to_dict(self) -> dict:
        if not self.available:
            return {"unavailable": self.setup["unavailable"]}
        flops, items = self.setup["flops_per_call"], self.setup["items_per_call"]
        per_rep = items * self.setup["calls_per_rep"]
        matmul = [r["matmul_flops_per_s"] / 1e9 for r in self.reps if r["matmul_flops_per_s"] is not None]
        ceiling = self.ceiling()
        return {
            **self.setup,
            "gflop_per_image": None if flops is None else flops / items / 1e9,
            "images_per_s": summary(self.images_per_s()),
            "images_per_cpu_s": summary([per_rep / r["cpu_seconds"] for r in self.reps]),
            "share_of_ceiling": summary(self.shares()),
            "ceiling_gflops": None if ceiling is None else ceiling.flops_per_s / 1e9,
            "ceiling_probe": None if ceiling is None else ceiling.probe,
            "probe_gflops": {} if ceiling is None else {k: v / 1e9 for k, v in ceiling.probes.items()},
            "matmul_gflops": summary(matmul),
            "memory": self.memory,
            "profile": self.profile,
            **self.stages(),
        }


def profile_text(profile: dict) -> str:
    """The profile as aligned text: self time per call of the case, its share, operator calls per case call."""
    lines = [f"operators per call ({profile['total_ms']:.1f} ms of self time; profiled over {profile['calls']} calls):"]
    lines += [f"  {op['name'][:44]:44s} {op['self_ms']:9.2f} ms {op['share']:6.1%} x{op['count']:g}"
              for op in profile["ops"]]  # fmt: skip
    return "\n".join(lines)


def measure_case(case: str, sides: list[CodeSide], settings: dict, log: Callable[[str], None]) -> dict:
    """Build ``case`` once per side and run ``settings['reps']`` alternating repetitions; the case's JSON record."""
    workers = [Worker(side, settings.get("threads")) for side in sides]
    try:
        results = []
        for w in workers:
            log(f"{case} [{w.side.label}]: building")
            overrides = [*settings["overrides"], *w.side.overrides]
            setup = w.ask(cmd="setup", case=case, overrides=overrides, device=settings["device"],
                          min_time=settings["min_time"], matmul_size=settings["matmul_size"])  # fmt: skip
            results.append(SideResult(setup))
        live = [i for i, res in enumerate(results) if res.available]
        for i, res in enumerate(results):
            if not res.available:
                log(f"{case} [{sides[i].label}]: not measured: {res.setup['unavailable']}")
        for rep in range(settings["reps"] if live else 0):
            for i in live if rep % 2 == 0 else reversed(live):
                results[i].reps.append(workers[i].ask(cmd="rep"))
            rates = ", ".join(f"{sides[i].label} {results[i].reps[-1]['items_per_s']:.2f}" for i in live)
            log(f"{case} rep {rep + 1}/{settings['reps']}: images/s {rates}")
        if settings.get("profile"):
            for i in live:
                results[i].profile = workers[i].ask(cmd="profile", rows=settings["profile"])
                log(f"{case} [{sides[i].label}] {profile_text(results[i].profile)}")
        for i in live:
            results[i].memory = workers[i].ask(cmd="finish")
    finally:
        for w in workers:
            w.close()
    record = {"case": case, "sides": {s.label: r.to_dict() for s, r in zip(sides, results, strict=True)}}
    if len(sides) == 2 and len(live) == 2:
        new, old = results
        record["speedup"] = summary([a / b for a, b in zip(new.images_per_s(), old.images_per_s())])
    return record


def run_bench(
    cases: list[str], sides: list[CodeSide], settings: dict, log: Callable[[str], None]
) -> list[dict]:
    """Every case's record, in order."""
    return [measure_case(case, sides, settings, log) for case in cases]


def write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)
