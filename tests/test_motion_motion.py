"""The Motion type: spline sampling against closed-form trajectories, clamping, validation."""

from __future__ import annotations

import numpy as np
import pytest

from mmexpert.motion import JOINT_NAMES, PARENTS, Motion, MotionError


def test_contract_constants() -> None:
    assert len(JOINT_NAMES) == 22 and len(PARENTS) == 22
    assert JOINT_NAMES[0] == "pelvis" and PARENTS[0] == -1
    assert all(PARENTS[j] < j for j in range(1, 22))


def test_quadratic_trajectory_is_reproduced_exactly_inside() -> None:
    fps = 30.0
    times = np.arange(61) / fps
    offsets = np.random.default_rng(0).normal(size=(22, 3))
    # x(t) = a t^2 + b t: a cubic spline reproduces it away from the clamped ends
    acceleration, velocity = 0.8, 1.3
    joints = offsets[None] + (acceleration * times**2 + velocity * times)[:, None, None]
    motion = Motion(joints, fps)
    assert motion.duration_s == pytest.approx(2.0)
    probe = np.linspace(0.7, 1.3, 17)
    expected = offsets[None] + (acceleration * probe**2 + velocity * probe)[:, None, None]
    np.testing.assert_allclose(motion.positions_at(probe), expected, atol=2e-4)
    speed = 2 * acceleration * probe + velocity
    np.testing.assert_allclose(
        motion.velocities_at(probe)[..., 0], speed[:, None] + 0 * offsets[:, 0], atol=2e-3
    )


def test_clamped_outside_and_continuous() -> None:
    joints = np.cumsum(np.random.default_rng(1).normal(scale=0.01, size=(40, 22, 3)), axis=0)
    motion = Motion(joints, 20.0)
    np.testing.assert_allclose(motion.positions_at(np.array([-1.0])), joints[:1])
    np.testing.assert_allclose(motion.positions_at(np.array([99.0])), joints[-1:])
    assert np.abs(motion.velocities_at(np.array([-1.0, 99.0]))).max() < 1e-12
    # continuous across the clip's ends (zero end velocity, as the held pose outside)
    ends = np.array([0.0, motion.duration_s])
    assert np.abs(motion.velocities_at(ends)).max() < 1e-9


def test_frames_are_interpolated_exactly() -> None:
    joints = np.random.default_rng(2).normal(size=(10, 22, 3))
    motion = Motion(joints, 10.0)
    np.testing.assert_allclose(motion.positions_at(motion.times_s), joints, atol=1e-12)


@pytest.mark.parametrize(
    ("joints", "fps", "message"),
    [
        (np.zeros((10, 21, 3)), 30.0, "shape"),
        (np.zeros((1, 22, 3)), 30.0, "at least 2"),
        (np.full((5, 22, 3), np.nan), 30.0, "NaN"),
        (np.zeros((5, 22, 3)), 0.0, "fps"),
    ],
)
def test_invalid_motion_is_refused(joints: np.ndarray, fps: float, message: str) -> None:
    with pytest.raises(MotionError, match=message):
        Motion(joints, fps)
