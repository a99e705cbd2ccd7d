"""Temporal smoothing of keypoint tracks: a One-Euro filter per coordinate, with briefly missing joints held.

A pose estimator run frame by frame jitters by a few pixels and now and then misses a joint (a wrist behind the
body, a blurred ankle). Fed straight to the generator, the jitter makes the person shimmer and a missed joint makes
a limb vanish for one frame. The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) is a low-pass filter whose
cut-off rises with the speed of the signal: still joints are smoothed hard, fast ones follow with little lag. It is
a dozen lines of arithmetic, so it is written here rather than taken from a package (the PyPI ones are unmaintained
single-file scripts that work on scalars).

Coordinates are filtered in units of the person's height (``scale`` pixels), so the same settings suit a 128-px
crop and a 1080-px video. A joint that goes missing keeps its last filtered position for up to ``hold`` frames; if
it is still missing then, it is dropped (-1) and its filter restarts when it comes back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from posestylizer.keypoints.vocab import KEYPOINT_DTYPE, MISSING, NUM_KEYPOINTS, present


@dataclass(frozen=True)
class SmoothingOptions:
    """Settings of :class:`KeypointSmoother`.

    Args:
        min_cutoff: cut-off frequency (Hz) of a still joint; lower = smoother and laggier. 0 turns smoothing off
            (missing joints are still held).
        beta: how fast the cut-off rises with speed (per body height per second); higher = less lag on fast moves.
        d_cutoff: cut-off (Hz) of the speed estimate itself.
        hold: frames a missing joint keeps its last position before it is dropped.
    """

    min_cutoff: float = 1.5
    beta: float = 1.5
    d_cutoff: float = 1.0
    hold: int = 4


def _alpha(cutoff: np.ndarray | float, rate: float) -> np.ndarray | float:
    """Smoothing factor of a first-order low-pass filter with ``cutoff`` Hz sampled at ``rate`` Hz."""
    tau = 1.0 / (2 * math.pi * np.maximum(cutoff, 1e-9))
    return 1.0 / (1.0 + tau * rate)


class KeypointSmoother:
    """Filter one person's (18, 2) keypoints frame by frame (module docstring).

    Args:
        fps: frames per second of the track (the filter's sampling rate).
        scale: pixels per unit of the filter (the person's height in pixels), > 0.
        options: filter settings.
    """

    def __init__(self, fps: float, scale: float, options: SmoothingOptions | None = None) -> None:
        if not fps > 0 or not scale > 0:
            raise ValueError(f"fps and scale must be positive, got fps={fps}, scale={scale}")
        self.rate, self.scale, self.options = float(fps), float(scale), options or SmoothingOptions()
        self.value = np.zeros((NUM_KEYPOINTS, 2))  # filtered position, body heights
        self.speed = np.zeros((NUM_KEYPOINTS, 2))  # filtered speed, body heights per second
        self.alive = np.zeros(NUM_KEYPOINTS, dtype=bool)  # has a position to filter from (seen or held)
        self.missed = np.zeros(NUM_KEYPOINTS, dtype=np.int64)  # consecutive frames missing

    def __call__(self, keypoints: np.ndarray) -> np.ndarray:
        """The filtered float32 (18, 2) (y, x) pixels of this frame; -1 for joints missing longer than ``hold``."""
        kp = np.asarray(keypoints, dtype=np.float64)
        seen = present(kp)
        x = kp / self.scale
        fresh = seen & ~self.alive
        self.value[fresh], self.speed[fresh] = x[fresh], 0.0
        tracked = seen & self.alive
        if tracked.any() and self.options.min_cutoff > 0:
            speed = (x[tracked] - self.value[tracked]) * self.rate
            a_d = _alpha(self.options.d_cutoff, self.rate)
            self.speed[tracked] += a_d * (speed - self.speed[tracked])
            cutoff = self.options.min_cutoff + self.options.beta * np.abs(self.speed[tracked])
            self.value[tracked] += _alpha(cutoff, self.rate) * (x[tracked] - self.value[tracked])
        elif tracked.any():
            self.value[tracked] = x[tracked]
        self.missed[seen] = 0
        self.missed[~seen] += 1
        self.alive = seen | (self.alive & (self.missed <= self.options.hold))
        self.speed[~seen] = 0.0  # a held joint stands still
        out = np.full((NUM_KEYPOINTS, 2), float(MISSING))
        out[self.alive] = self.value[self.alive] * self.scale
        return out.astype(KEYPOINT_DTYPE)  # the filter state stays float64; what leaves is a pose


def smooth_track(track: np.ndarray, fps: float, scale: float, options: SmoothingOptions | None = None) -> np.ndarray:
    """:class:`KeypointSmoother` over a whole (T, 18, 2) track; returns float32 (T, 18, 2), -1 = missing."""
    smoother = KeypointSmoother(fps, scale, options)
    if not len(track):
        return np.zeros((0, NUM_KEYPOINTS, 2), KEYPOINT_DTYPE)
    return np.stack([smoother(kp) for kp in np.asarray(track)])
