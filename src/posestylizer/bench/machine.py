"""The facts of the machine a benchmark ran on: CPU model and vector/matrix flags, threads, load, GPU, library versions.

Throughput on a shared CPU depends on what else runs there, so the load average at the start and the end of a run is
part of the record, as is the OpenMP wait policy (spinning threads collapse under oversubscription).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

from posestylizer.runtime.precision import NATIVE_BF16_CPU_FLAGS, read_cpu_flags
from posestylizer.runtime.threads import usable_cores

# Flags that decide which kernels run: vector width, FMA, bf16/fp16/int8 dot products, AMX tiles.
RELEVANT_FLAGS = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni",
    *NATIVE_BF16_CPU_FLAGS, "avx512_fp16", "amx_tile", "amx_int8", "asimd", "sve", "bf16",
)  # fmt: skip


def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    try:
        for line in Path(cpuinfo).read_text().splitlines():
            if line.split(":")[0].strip() in ("model name", "Model"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def gpu_facts() -> list[dict]:
    """Name, memory and compute capability of each visible CUDA device (empty without CUDA)."""
    if not torch.cuda.is_available():
        return []
    out = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        out.append({"name": p.name, "memory_gib": round(p.total_memory / 2**30, 1),
                    "capability": f"{p.major}.{p.minor}"})  # fmt: skip
    return out


def machine_facts() -> dict:
    """Everything about this machine and process that a throughput figure depends on (JSON-serialisable)."""
    flags = read_cpu_flags()
    return {
        "cpu": cpu_model(),
        "cpu_flags": [f for f in RELEVANT_FLAGS if f in flags],
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cores_usable": usable_cores(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", ""),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "load_average": load_average(),
        "gpus": gpu_facts(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "mkldnn": torch.backends.mkldnn.is_available(),
    }
