"""PCKh as the authors' ``calPCKH_*`` scripts define it (reference §7.6); not the standard MPII PCKh.

Head box from the target's present head points {nose, neck, eyes, ears}: per-axis width and height. A keypoint is
correct when target and prediction are both present and ``|dx| < alpha * width`` and ``|dy| < alpha * height`` (strict).
Images with fewer than two head points are skipped; a keypoint missing in the prediction counts as wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posestylizer.keypoints.vocab import HEAD, NECK, present

HEAD_POINTS = (NECK, *HEAD)  # the reference's head box: nose, neck, eyes, ears
ALPHA = 0.5


@dataclass(frozen=True)
class PCKhImage:
    correct: int
    valid: int
    head_width: int
    head_height: int


def pckh_image(target: np.ndarray, prediction: np.ndarray, alpha: float = ALPHA) -> PCKhImage | None:
    """Counts for one image, or ``None`` when the target has fewer than two head points (skipped).

    Args:
        target, prediction: (18, 2) (y, x) keypoints, -1 = missing.
    """
    tgt = np.asarray(target, dtype=np.int64)
    pred = np.asarray(prediction, dtype=np.int64)
    head = [i for i in HEAD_POINTS if tgt[i, 0] != -1 and tgt[i, 1] != -1]
    if len(head) < 2:
        return None
    ys, xs = tgt[head, 0], tgt[head, 1]
    width, height = int(xs.max() - xs.min()), int(ys.max() - ys.min())
    # The denominator counts target points whose y is not -1 (the reference tests y only).
    valid = tgt[:, 0] != -1
    both = valid & present(tgt) & present(pred)
    close = (np.abs(pred[:, 1] - tgt[:, 1]) < alpha * width) & (np.abs(pred[:, 0] - tgt[:, 0]) < alpha * height)
    return PCKhImage(int((both & close).sum()), int(valid.sum()), width, height)


def pckh_score(images: list[PCKhImage | None]) -> tuple[int, int, float]:
    """Micro average over non-skipped images: (total correct, total valid, correct / valid)."""
    kept = [r for r in images if r is not None]
    correct = sum(r.correct for r in kept)
    valid = sum(r.valid for r in kept)
    return correct, valid, (correct / valid if valid else float("nan"))
