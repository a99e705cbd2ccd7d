"""Write ``docs/images/fig8_adapn.png`` (the paper's Fig. 8) and print its spread table: a README picture.

    PYTHONPATH=src python tools/make_fig8.py CHECKPOINT IMAGE POSE [OUT]

CHECKPOINT: a native checkpoint folder or training run folder; IMAGE: a photo of one person; POSE: its keypoint file
(OpenPose/COCO/BlazePose JSON or PATN CSV; a dataset's annotation CSV gives the row of IMAGE's file name). It runs
``posestylizer viz adapn`` with a title that names the norm and, when the checkpoint says it, its training steps.
OUT: the picture (default ``docs/images/fig8_adapn.png``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from posestylizer.checkpoints.native import CONFIG
from posestylizer.cli import main
from posestylizer.experiments.fig8 import NORM_NAMES

OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "fig8_adapn.png"


def title(checkpoint: str) -> str:
    """``AdaPN statistics per decoder block (checkpoint after 288 training steps)`` from the checkpoint's config."""
    folder = Path(checkpoint)
    config = folder / CONFIG if (folder / CONFIG).is_file() else folder / "generator" / CONFIG
    info = json.loads(config.read_text()) if config.is_file() else {}
    norm = NORM_NAMES.get(info.get("model", {}).get("adanorm"), "Adaptive-norm")
    step = info.get("trained", {}).get("step")
    trained = f" (checkpoint after {step} training steps)" if step is not None else ""
    return f"{norm} statistics per decoder block{trained}"


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    checkpoint, image, pose = sys.argv[1:4]
    out = sys.argv[4] if len(sys.argv) == 5 else str(OUT)
    sys.exit(main(["viz", "adapn", "--checkpoint", checkpoint, "--source", image, "--source-pose", pose,
                   "--out", out, "--title", title(checkpoint)]))
