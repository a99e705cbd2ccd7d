"""ONNX export of a generator, with its input contract written into the file.

The graph is ``fake_img = G(src_img, src_pose, tgt_pose)`` with a dynamic batch axis; the inputs are what the
checkpoint's input contract says they must be, and the file carries that contract in its ``metadata_props``
(``posestylizer.checkpoints.contract``: image size, heatmap sigma, keypoint convention, layout), so a runtime without
posestylizer can still render matching pose maps::

    import onnx, json
    meta = {p.key: p.value for p in onnx.load("aps.onnx").metadata_props}
    json.loads(meta["posestylizer.checkpoints.contract"])["heatmap_sigma"]  # 6.0

Export uses PyTorch's ``torch.export``-based exporter (``torch.onnx.export(dynamo=True)``, which needs onnxscript);
the older TorchScript exporter is deprecated. After writing, the file is run once in onnxruntime against PyTorch on
a random batch of another size than the traced one, and the largest difference is reported.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from posestylizer.checkpoints.contract import InputContract
from posestylizer.runtime.extras import import_extra
from posestylizer.runtime.files import atomic_path

INPUTS = ("src_img", "src_pose", "tgt_pose")
OUTPUT = "fake_img"
OPSET = 18
TRACE_BATCH = 2  # torch.export specialises a batch of 1 to a constant; 2 keeps the axis symbolic
META_PREFIX = "posestylizer."


@dataclass
class ExportResult:
    """Where the file went, how long export took and the onnxruntime-vs-PyTorch check (None when skipped)."""

    path: Path
    seconds: float
    max_abs_diff: float | None


def describe_io(contract: InputContract) -> dict[str, str]:
    """One line per graph input/output: dtype, shape and value range."""
    h, w = contract.image_size
    return {
        "src_img": f"float32 (batch, 3, {h}, {w}) RGB in [-1, 1] (uint8 / 127.5 - 1)",
        "src_pose": f"float32 (batch, 18, {h}, {w}) Gaussian pose maps in [0, 1], sigma {contract.heatmap_sigma} px, "
        f"{contract.keypoints} keypoint order",
        "tgt_pose": "float32, like src_pose, for the target pose",
        "fake_img": f"float32 (batch, 3, {h}, {w}) RGB in [-1, 1]",
    }


def metadata(model: torch.nn.Module, contract: InputContract) -> dict[str, str]:
    """The ``metadata_props`` written into the file (all values are strings; JSON where structured)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        producer = version("posestylizer")
    except PackageNotFoundError:  # running from a source tree that is not installed
        producer = "unknown"
    return {
        f"{META_PREFIX}format": "posestylizer-generator-onnx",
        f"{META_PREFIX}version": producer,
        f"{META_PREFIX}contract": json.dumps(contract.to_dict()),
        f"{META_PREFIX}model": json.dumps(dataclasses.asdict(model.config)),
        f"{META_PREFIX}io": json.dumps(describe_io(contract)),
    }


def random_inputs(contract: InputContract, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Inputs in the contract's ranges: images uniform in [-1, 1], pose maps uniform in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    h, w = contract.image_size
    return (
        torch.rand(batch, 3, h, w, generator=g) * 2 - 1,
        torch.rand(batch, 18, h, w, generator=g),
        torch.rand(batch, 18, h, w, generator=g),
    )


def export_onnx(model: torch.nn.Module, contract: InputContract, out: str | Path, *, verify: bool = True,
                opset: int = OPSET) -> ExportResult:
    """Write ``model`` (an APS Generator) to ``out`` as ONNX with a dynamic batch axis and the contract as metadata.

    Args:
        model: the generator; exported in eval mode on CPU (BatchNorm uses its running statistics).
        contract: its input contract (``model.contract`` of a loaded checkpoint).
        out: the ``.onnx`` file; written to a temporary sibling and renamed, never left half-written.
        verify: run onnxruntime and PyTorch on a random batch of 3 and report the max abs difference.
    """
    onnx = import_extra("onnx", "onnx", "ONNX export")
    import_extra("onnxscript", "onnx", "ONNX export")
    model = model.to("cpu").eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    batch = torch.export.Dim("batch", min=1, max=4096)
    with warnings.catch_warnings():
        # One Dim shared by the three inputs is how torch.export says "same batch"; the exporter then warns that
        # the name is used once only.
        warnings.filterwarnings("ignore", message=".*axis name.*will not be used", category=UserWarning)
        # optimize=False: onnxscript's graph optimizer (0.7) rewrites `x + c` to `x` for any |c| <= 1e-8 (its
        # constant matcher's abs_tol), which deletes the reference's instance-norm eps of 1e-8 (nn/norms.py) and
        # moved outputs by 3e-4 on the authors' market fixture; onnxruntime optimises the graph when it loads it.
        program = torch.onnx.export(
            model, random_inputs(contract, TRACE_BATCH), dynamo=True, optimize=False, opset_version=opset,
            verbose=False,
            input_names=list(INPUTS), output_names=[OUTPUT], dynamic_shapes=tuple({0: batch} for _ in INPUTS),
        )
    proto = program.model_proto
    for key, value in metadata(model, contract).items():
        proto.metadata_props.add(key=key, value=value)
    proto.doc_string = "APS generator (Huang et al., IJCAI 2020) exported by posestylizer: " + json.dumps(
        describe_io(contract))
    with atomic_path(out) as tmp:
        onnx.save_model(proto, str(tmp))
    seconds = time.perf_counter() - start
    diff = compare_with_onnxruntime(out, model, contract) if verify else None
    return ExportResult(path=out, seconds=seconds, max_abs_diff=diff)


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``posestylizer.*`` metadata of an exported file, keys without the prefix."""
    onnx = import_extra("onnx", "onnx", "reading ONNX files")
    proto = onnx.load(str(path), load_external_data=False)
    return {p.key.removeprefix(META_PREFIX): p.value for p in proto.metadata_props if p.key.startswith(META_PREFIX)}


def compare_with_onnxruntime(path: str | Path, model: torch.nn.Module, contract: InputContract, *,
                             batch: int = 3, seed: int = 0) -> float:
    """Max abs difference between onnxruntime (CPU) on ``path`` and ``model`` (eval, CPU) on the same random batch."""
    ort = import_extra("onnxruntime", "onnx", "running ONNX files")
    inputs = random_inputs(contract, batch, seed)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run([OUTPUT], {name: x.numpy() for name, x in zip(INPUTS, inputs)})
    with torch.no_grad():
        want = model.to("cpu").eval()(*inputs).numpy()
    return float(np.abs(got - want).max())
