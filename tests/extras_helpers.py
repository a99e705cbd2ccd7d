"""Optional dependencies of the tests: import one, or skip saying which extra brings it.

CI installs every extra and `.ci/run` imports each of these modules before the tests run, so there a missing one fails
the build instead of skipping: these skips can only hide a feature on a machine without the extras.
"""

from __future__ import annotations

import pytest

# module -> the pyproject extra that installs it
EXTRA_OF = {
    "mediapipe": "pose",
    "fastapi": "web",
    "onnxruntime": "onnx",
    "onnxscript": "onnx",
    "imageio.v2": "video",
    "imageio_ffmpeg": "video",
    "playwright.sync_api": "test",
    "httpx2": "test",
    "psutil": "test",
    "schemathesis": "test",
}


def need(module: str):
    """The imported module, or a skip whose reason names the extra to install."""
    extra = EXTRA_OF[module]
    return pytest.importorskip(module, reason=f"{module} missing: pip install -e '.[{extra}]' (CI installs every extra)")
