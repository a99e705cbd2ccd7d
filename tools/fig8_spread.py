"""The numbers behind the README's reading of Fig. 8: per adaptive norm, the std over positions of the channel-mean
bias (beta) and scale (gamma) maps, averaged over held-out people of a dataset.

    PYTHONPATH=src python tools/fig8_spread.py CHECKPOINT DATA_ROOT [EVERY]

DATA_ROOT: a PATN-layout dataset (its ``test/`` images and ``market-annotation-test.csv``); every EVERY-th test image
(default 8) is used; people whose pose lacks a shoulder or hip are skipped (the pipeline needs them).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from posestylizer.errors import UserError
from posestylizer.experiments.adapn_maps import adanorm_maps, spread_rows
from posestylizer.inference import PoseStylizerPipeline


def spreads(checkpoint: str, root: Path, every: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(beta std, gamma std) arrays of shape (people, norms) and how many images were tried."""
    images = sorted((root / "test").glob("*.jpg"))[::every]
    pipe = PoseStylizerPipeline.from_pretrained(checkpoint)
    beta, gamma = [], []
    for image in images:
        try:
            maps = adanorm_maps(checkpoint, image, source_pose=root / "market-annotation-test.csv", pipeline=pipe).maps
        except UserError:
            continue
        rows = spread_rows(maps)
        beta.append([r["beta_std"] for r in rows])
        gamma.append([r["gamma_std"] for r in rows])
    return np.array(beta), np.array(gamma), len(images)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    b, g, tried = spreads(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) == 4 else 8)
    print(f"{len(b)} people of {tried}")
    print("beta std, mean per norm: ", np.round(b.mean(0), 3))
    print("gamma std, mean per norm:", np.round(g.mean(0), 3))
    print("gamma / beta:            ", np.round(g.mean(0) / b.mean(0), 2))
    print("share of people gamma > beta:", np.round((g > b).mean(0), 2))
