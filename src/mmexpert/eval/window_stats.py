"""Window statistics in the person frame: what a point model sees, synthetic against real.

Pooled point statistics (:mod:`mmexpert.eval.realism`) are dominated by the room: in the
RadHAR sample 93 % of the points are static, most of them furniture and walls. A point model
(:func:`mmexpert.models.encoders.person_frame`) sees something else: the *moving* points of
one window, near the person. This module cuts every clip or recording into the same windows
the models use (``window_s`` long, every ``hop_s``), anchors each window on the mean position
of its moving points, keeps the points within ``gate_m`` horizontally of it, and measures per
window:

=========================  ====================================================================
``movers_per_frame``       moving points per frame
``frames_with_movers``     share of frames holding at least one moving point
``fast_mover_fraction``    share of the moving points beyond the first Doppler bin
``receding_fraction``      share of the moving points moving away from the radar
``mover_range``            mean horizontal distance of the movers from the radar [m]: where
                           the person is, which the scenes' placement must cover
``mover_range_drift``      |mean range of the movers, second half - first half| [m]
``mover_spread_x/y/z``     standard deviation of the movers' positions [m]
``static_per_frame``       static points per frame inside the gate (clutter near the person)
``mover_intensity``        median intensity of the movers [dB]: how far above the detector's
                           noise estimate they stand, which separates a stricter CFAR threshold
                           (fewer, stronger points) from a weaker link budget (fewer, weaker)
=========================  ====================================================================

Windows without a moving point count in ``movers_per_frame`` and ``frames_with_movers``
(as 0) and are left out of the statistics of movers (the drift also needs movers in both
halves). Nothing here reads a label.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

WINDOW_STATISTICS: dict[str, str] = {
    "movers_per_frame": "points",
    "frames_with_movers": "fraction",
    "fast_mover_fraction": "fraction",
    "receding_fraction": "fraction",
    "mover_range": "m",
    "mover_range_drift": "m",
    "mover_spread_x": "m",
    "mover_spread_y": "m",
    "mover_spread_z": "m",
    "static_per_frame": "points",
    "mover_intensity": "dB",
}
"""Statistic name -> unit, in report order."""


class WindowPoints(Protocol):
    """One side's points with the frame and clip structure needed to cut windows (a
    :class:`~mmexpert.eval.realism.PooledPoints` whose clips are known is one).

    Attributes
    ----------
    x_m, y_m, z_m, velocity_mps, intensity_db : float64 [N]
        Radar local frame (x right, y boresight, z up) [m], radial velocity [m/s] and
        intensity [dB], grouped by frame in time order, clip after clip.
    points_per_frame : int64 [F]
        Points of every frame.
    frames_per_clip : int64 [C]
        Frames of every clip or recording (sums to F).
    frame_rate_hz : float
        Frame rate [Hz].
    """

    x_m: np.ndarray
    y_m: np.ndarray
    z_m: np.ndarray
    velocity_mps: np.ndarray
    intensity_db: np.ndarray
    points_per_frame: np.ndarray
    frames_per_clip: np.ndarray
    frame_rate_hz: float


def window_statistics(
    side: WindowPoints,
    zero_velocity_tolerance_mps: float,
    window_s: float = 2.0,
    hop_s: float = 1.0 / 3.0,
    gate_m: float = 1.2,
) -> dict[str, np.ndarray]:
    """Per-window statistics of one side (see the module docstring).

    Parameters
    ----------
    side
        The points with their frame and clip structure.
    zero_velocity_tolerance_mps
        |v| [m/s] at or below which a point is static; a mover is "fast" beyond three times
        this (half a Doppler bin by default, so beyond 1.5 bins).
    window_s, hop_s
        Window length and hop [s] (the models' 2 s and RadHAR's 10 frames at 30 fps).
    gate_m
        Horizontal gate around the window's movers [m].

    Returns
    -------
    dict
        Statistic name -> float64 [windows] (NaN where a window has no mover and the
        statistic is about movers). Clips shorter than one window give none.
    """
    rate = side.frame_rate_hz
    window = max(1, round(window_s * rate)) if math.isfinite(rate) else 0
    hop = max(1, round(hop_s * rate)) if math.isfinite(rate) else 0
    values: dict[str, list[float]] = {name: [] for name in WINDOW_STATISTICS}
    if window == 0:
        return {name: np.zeros(0) for name in WINDOW_STATISTICS}
    point_offsets = np.concatenate([[0], np.cumsum(side.points_per_frame)])
    frame_offsets = np.concatenate([[0], np.cumsum(side.frames_per_clip)])
    fast = 3.0 * zero_velocity_tolerance_mps
    for clip in range(len(side.frames_per_clip)):
        first, last = int(frame_offsets[clip]), int(frame_offsets[clip + 1])
        for start in range(first, last - window + 1, hop):
            lo, hi = point_offsets[start], point_offsets[start + window]
            frame = np.repeat(np.arange(window), side.points_per_frame[start : start + window])
            xyz = np.stack([side.x_m[lo:hi], side.y_m[lo:hi], side.z_m[lo:hi]], axis=1)
            velocity = side.velocity_mps[lo:hi]
            moving = np.abs(velocity) > zero_velocity_tolerance_mps
            anchor = xyz[moving].mean(0) if moving.any() else xyz.mean(0) if len(xyz) else None
            near = (
                np.hypot(xyz[:, 0] - anchor[0], xyz[:, 1] - anchor[1]) <= gate_m
                if anchor is not None
                else np.zeros(0, dtype=bool)
            )
            movers = moving & near
            values["movers_per_frame"].append(movers.sum() / window)
            values["frames_with_movers"].append(len(np.unique(frame[movers])) / window)
            values["static_per_frame"].append((near & ~moving).sum() / window)
            intensity = side.intensity_db[lo:hi]
            _mover_statistics(
                values,
                xyz[movers],
                velocity[movers],
                intensity[movers],
                frame[movers],
                window,
                fast,
            )
    return {name: np.asarray(v, dtype=np.float64) for name, v in values.items()}


def _mover_statistics(
    values: dict[str, list[float]],
    xyz: np.ndarray,
    velocity: np.ndarray,
    intensity: np.ndarray,
    frame: np.ndarray,
    window: int,
    fast_mps: float,
) -> None:
    if len(velocity) == 0:
        for name in (
            "fast_mover_fraction",
            "receding_fraction",
            "mover_range",
            "mover_range_drift",
            "mover_intensity",
        ):
            values[name].append(math.nan)
        for axis in "xyz":
            values[f"mover_spread_{axis}"].append(math.nan)
        return
    values["fast_mover_fraction"].append(float(np.mean(np.abs(velocity) > fast_mps)))
    values["receding_fraction"].append(float(np.mean(velocity > 0)))
    values["mover_intensity"].append(float(np.median(intensity)))
    values["mover_range"].append(float(np.hypot(xyz[:, 0], xyz[:, 1]).mean()))
    ranges = np.linalg.norm(xyz, axis=1)
    early, late = frame < window / 2, frame >= window / 2
    both_halves = early.any() and late.any()
    drift = abs(ranges[late].mean() - ranges[early].mean()) if both_halves else math.nan
    values["mover_range_drift"].append(float(drift))
    for axis, column in zip("xyz", xyz.T, strict=True):
        values[f"mover_spread_{axis}"].append(float(column.std()))
