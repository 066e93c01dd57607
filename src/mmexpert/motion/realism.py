"""Realism statistics: joint speeds and gait cadence of a motion, and real-clip ranges.

The statistics compared between synthetic and real motion (per clip):

* median and 95th percentile speed [m/s] of the faster wrist, the faster ankle and the
  pelvis in each frame (the faster limb, so a one-handed wave is not diluted by the idle
  hand);
* gait cadence [steps/s] from the dominant frequency of the horizontal distance between
  the ankles, which peaks once per step whatever the walking direction.

A synthetic statistic passes when it lies in ``[LOW_FACTOR * min, HIGH_FACTOR * max]``
of the real clips of the same activity (:func:`within_band`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from mmexpert.motion.motion import Motion
from mmexpert.motion.skeleton import JOINT_INDEX

LOW_FACTOR = 0.6
"""Lower edge of the tolerance band as a fraction of the smallest real value."""
HIGH_FACTOR = 1.6
"""Upper edge of the tolerance band as a multiple of the largest real value."""

SMOOTHING_S = 0.05
"""Gaussian smoothing of positions before differentiation [s] (mocap marker jitter)."""

# Bandai Namco sample clips per activity (file-name content labels).
REAL_CLIPS: dict[str, tuple[str, ...]] = {
    "walk": (
        "dataset-1_walk_normal_001.bvh",
        "dataset-2_walk_normal_001.bvh",
        "dataset-1_walk_old_001.bvh",
    ),
    "run": ("dataset-1_run_normal_001.bvh", "dataset-2_run_normal_001.bvh"),
    "wave": ("dataset-1_byebye_normal_001.bvh", "dataset-2_wave-left-hand_normal_001.bvh"),
    "punch": ("dataset-1_punch_normal_001.bvh",),
    "kick": ("dataset-1_kick_normal_001.bvh",),
}

STAT_NAMES: tuple[str, ...] = (
    "wrist_median_mps",
    "wrist_p95_mps",
    "ankle_median_mps",
    "ankle_p95_mps",
    "pelvis_median_mps",
    "pelvis_p95_mps",
    "cadence_steps_per_s",
)


@dataclass(frozen=True)
class MotionStats:
    """Joint-speed and cadence statistics of one clip."""

    wrist_median_mps: float  # [m/s]
    wrist_p95_mps: float  # [m/s]
    ankle_median_mps: float  # [m/s]
    ankle_p95_mps: float  # [m/s]
    pelvis_median_mps: float  # [m/s]
    pelvis_p95_mps: float  # [m/s]
    cadence_steps_per_s: float  # [steps/s]; meaningful for gait only

    def as_dict(self) -> dict[str, float]:
        """Statistics keyed by :data:`STAT_NAMES`."""
        return {name: float(getattr(self, name)) for name in STAT_NAMES}


def frame_speeds_mps(motion: Motion) -> np.ndarray:
    """Joint speeds by finite differences of lightly smoothed positions.

    Parameters
    ----------
    motion
        Any motion.

    Returns
    -------
    np.ndarray
        float64 [T, 22] speeds [m/s].
    """
    sigma_frames = SMOOTHING_S * motion.fps
    positions = gaussian_filter1d(motion.joints_m, sigma_frames, axis=0, mode="nearest")
    velocity = np.gradient(positions, 1.0 / motion.fps, axis=0)
    return np.linalg.norm(velocity, axis=-1)


def cadence_steps_per_s(motion: Motion) -> float:
    """Step rate from the dominant frequency of the ankle-to-ankle horizontal distance.

    Returns
    -------
    float
        Steps per second [1/s], searched in 0.5-5 steps/s.
    """
    left = motion.joints_m[:, JOINT_INDEX["left_ankle"], :2]
    right = motion.joints_m[:, JOINT_INDEX["right_ankle"], :2]
    separation = np.linalg.norm(left - right, axis=-1)
    separation = separation - separation.mean()
    padded = 8 * max(len(separation), 256)
    spectrum = np.abs(np.fft.rfft(separation * np.hanning(len(separation)), padded))
    frequencies = np.fft.rfftfreq(padded, 1.0 / motion.fps)
    band = (frequencies >= 0.5) & (frequencies <= 5.0)
    return float(frequencies[band][np.argmax(spectrum[band])])


def motion_stats(motion: Motion) -> MotionStats:
    """Joint-speed statistics and cadence of one motion (see the module docstring)."""
    speeds = frame_speeds_mps(motion)
    wrist = speeds[:, [JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"]]].max(axis=1)
    ankle = speeds[:, [JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]].max(axis=1)
    pelvis = speeds[:, JOINT_INDEX["pelvis"]]
    return MotionStats(
        wrist_median_mps=float(np.median(wrist)),
        wrist_p95_mps=float(np.percentile(wrist, 95)),
        ankle_median_mps=float(np.median(ankle)),
        ankle_p95_mps=float(np.percentile(ankle, 95)),
        pelvis_median_mps=float(np.median(pelvis)),
        pelvis_p95_mps=float(np.percentile(pelvis, 95)),
        cadence_steps_per_s=cadence_steps_per_s(motion),
    )


def real_stats(mocap_dir: str | Path) -> dict[str, list[MotionStats]]:
    """Statistics of the real clips in :data:`REAL_CLIPS`, per activity.

    Parameters
    ----------
    mocap_dir
        Folder holding the Bandai Namco sample BVH files.

    Returns
    -------
    dict
        activity -> list of :class:`MotionStats`, one per clip found.
    """
    from mmexpert.motion.importers import load_bvh

    mocap_dir = Path(mocap_dir)
    result: dict[str, list[MotionStats]] = {}
    for activity, names in REAL_CLIPS.items():
        clips = [mocap_dir / name for name in names if (mocap_dir / name).is_file()]
        result[activity] = [motion_stats(load_bvh(path)) for path in clips]
    return result


def within_band(value: float, real_values: list[float]) -> bool:
    """Whether ``value`` lies in ``[LOW_FACTOR * min(real), HIGH_FACTOR * max(real)]``."""
    return LOW_FACTOR * min(real_values) <= value <= HIGH_FACTOR * max(real_values)
