"""Realism statistics: joint speeds and gait cadence of a motion, and real-clip ranges.

The statistics compared between synthetic and real motion (per clip):

* median and 95th percentile speed [m/s] of the faster wrist, the faster ankle and the
  pelvis in each frame (the faster limb, so a one-handed wave is not diluted by the idle
  hand);
* gait cadence [steps/s] from the dominant frequency of the horizontal distance between
  the ankles, which peaks once per step whatever the walking direction.

A synthetic statistic passes when it lies in
``[LOW_FACTOR * min - NOISE_FLOOR_MPS, HIGH_FACTOR * max + NOISE_FLOOR_MPS]`` of the real
clips of the same activity (:func:`within_band`). The relative band allows for the few real
takes per activity (1-3 clips: the true spread across people is wider); the absolute
term matters only for joints that barely move (feet while waving), where 0.6 x 0.004 m/s
would test mocap jitter rather than motion. Cadence is compared for walk and run only.

The synthetic motions mirror the real clips' content (:data:`SYNTHETIC_PROGRAMS`): the
same activity, duration and number of repetitions, default parameters otherwise.
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

NOISE_FLOOR_MPS = 0.05
"""Absolute widening of the band [m/s], about one Doppler bin of a typical TI preset."""

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


def band(real_values: list[float], stat_name: str = "") -> tuple[float, float]:
    """Accepted range ``(low, high)`` for a statistic given the real clips' values."""
    floor = 0.0 if stat_name == "cadence_steps_per_s" else NOISE_FLOOR_MPS
    return LOW_FACTOR * min(real_values) - floor, HIGH_FACTOR * max(real_values) + floor


def within_band(value: float, real_values: list[float], stat_name: str = "") -> bool:
    """Whether ``value`` lies in :func:`band` of the real values."""
    low, high = band(real_values, stat_name)
    return low <= value <= high


# Synthetic counterparts of the real clips: same activity, duration and repetitions.
SYNTHETIC_PROGRAMS: dict[str, dict] = {
    "walk": {"segments": [{"primitive": "walk_forward", "duration_s": 8.0}]},
    "run": {"segments": [{"primitive": "run", "duration_s": 2.0}]},
    "wave": {
        "segments": [{"primitive": "wave", "parameters": {"hand": "left"}, "duration_s": 5.0}]
    },
    "punch": {
        "segments": [{"primitive": "punch", "parameters": {"repetitions": 7}, "duration_s": 7.4}]
    },
    "kick": {
        "segments": [{"primitive": "kick", "parameters": {"repetitions": 4}, "duration_s": 12.0}]
    },
}

GAIT_ACTIVITIES = ("walk", "run")


@dataclass(frozen=True)
class ComparisonRow:
    """One statistic of one activity: synthetic value against the real clips."""

    activity: str
    stat: str
    synthetic: float
    real: tuple[float, ...]
    low: float
    high: float

    @property
    def passed(self) -> bool:
        """Whether the synthetic value lies in ``[low, high]``."""
        return self.low <= self.synthetic <= self.high


def compare_with_real(mocap_dir: str | Path, seed: int = 0) -> list[ComparisonRow]:
    """Synthesize each activity of :data:`SYNTHETIC_PROGRAMS` and compare with real clips.

    Returns
    -------
    list of ComparisonRow
        One row per activity and statistic (cadence only for walk and run).
    """
    from mmexpert.motion.program import synthesize

    real = real_stats(mocap_dir)
    rows = []
    for activity, program in SYNTHETIC_PROGRAMS.items():
        if not real.get(activity):
            continue
        synthetic = motion_stats(synthesize(program, fps=30.0, rng=seed)).as_dict()
        for stat in STAT_NAMES:
            if stat == "cadence_steps_per_s" and activity not in GAIT_ACTIVITIES:
                continue
            values = tuple(clip.as_dict()[stat] for clip in real[activity])
            low, high = band(list(values), stat)
            rows.append(ComparisonRow(activity, stat, synthetic[stat], values, low, high))
    return rows


def format_table(rows: list[ComparisonRow]) -> str:
    """Plain-text table of a comparison (what the realism script prints)."""
    lines = [
        f"{'activity':8} {'statistic':22} {'synthetic':>9}  {'real clips':24} {'band':>15}  ok"
    ]
    for row in rows:
        real = ", ".join(f"{value:.2f}" for value in row.real)
        lines.append(
            f"{row.activity:8} {row.stat:22} {row.synthetic:9.2f}  {real:24} "
            f"[{row.low:5.2f}, {row.high:5.2f}]  {'yes' if row.passed else 'NO'}"
        )
    return "\n".join(lines)
