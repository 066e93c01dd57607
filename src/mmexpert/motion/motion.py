"""The :class:`Motion` type: joint positions over time, sampled smoothly at any instant."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline

from mmexpert.motion.skeleton import NUM_JOINTS


class MotionError(ValueError):
    """A malformed motion (wrong shape, non-finite values, bad frame rate)."""


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value
class Motion:
    """Joint positions of one person over time.

    World frame: right-handed, z up, metres, floor at z = 0; the radar sits at the origin
    looking along +y. Joints follow :data:`mmexpert.motion.JOINT_NAMES`.
    """

    joints_m: np.ndarray  # float64 [T, 22, 3] joint positions [m]
    fps: float  # frame rate [Hz]
    _spline: CubicSpline = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        joints = np.asarray(self.joints_m, dtype=np.float64)
        if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
            raise MotionError(f"joints_m must have shape [T, {NUM_JOINTS}, 3], got {joints.shape}")
        if joints.shape[0] < 2:
            raise MotionError(f"a motion needs at least 2 frames, got {joints.shape[0]}")
        if not np.all(np.isfinite(joints)):
            raise MotionError("joints_m contains NaN or infinite values")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise MotionError(f"fps must be a positive number [Hz], got {self.fps}")
        joints.setflags(write=False)
        object.__setattr__(self, "joints_m", joints)
        object.__setattr__(self, "fps", float(self.fps))
        frame_times = np.arange(joints.shape[0]) / self.fps
        # Cubic spline over frames: C2 inside the clip, so velocities (hence Doppler) have
        # no steps. Zero end velocities ("clamped") make holding the first / last pose
        # outside the clip C1 as well.
        spline = CubicSpline(frame_times, joints, axis=0, bc_type="clamped")
        object.__setattr__(self, "_spline", spline)

    @property
    def num_frames(self) -> int:
        """Number of frames T."""
        return int(self.joints_m.shape[0])

    @property
    def duration_s(self) -> float:
        """Time from the first to the last frame [s]."""
        return (self.num_frames - 1) / self.fps

    @property
    def times_s(self) -> np.ndarray:
        """float64 [T] time of each frame [s]."""
        return np.arange(self.num_frames) / self.fps

    def _clamped(self, times_s: np.ndarray) -> np.ndarray:
        times = np.asarray(times_s, dtype=np.float64)
        return np.clip(times, 0.0, self.duration_s)

    def positions_at(self, times_s: np.ndarray) -> np.ndarray:
        """Joint positions at arbitrary times (cubic spline, clamped outside the clip).

        Parameters
        ----------
        times_s
            float [N] sample times [s].

        Returns
        -------
        np.ndarray
            float64 [N, 22, 3] joint positions [m].
        """
        return self._spline(self._clamped(times_s))

    def velocities_at(self, times_s: np.ndarray) -> np.ndarray:
        """Joint velocities at arbitrary times (derivative of the spline).

        Outside ``[0, duration]`` the person holds the first / last pose; the spline has
        zero velocity at both ends, so the velocity is continuous everywhere.

        Parameters
        ----------
        times_s
            float [N] sample times [s].

        Returns
        -------
        np.ndarray
            float64 [N, 22, 3] joint velocities [m/s].
        """
        return self._spline(self._clamped(times_s), 1)

    def joint_speeds_mps(self) -> np.ndarray:
        """float64 [T, 22] joint speeds at the frames [m/s] (spline derivative)."""
        return np.linalg.norm(self._spline(self.times_s, 1), axis=-1)
