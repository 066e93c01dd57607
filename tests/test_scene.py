"""Scene types: motion evaluation, interpolation, walls and the image method, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmexpert.radar.config import AntennaArray, ChirpProfile, FrameConfig, Pose, RadarConfig
from mmexpert.radar.scene import (
    ConstantVelocityScatterers,
    Scene,
    SceneError,
    StaticReflectors,
    TrajectoryScatterers,
    Wall,
    point_target,
)


def small_radar(pose: Pose | None = None) -> RadarConfig:
    return RadarConfig(
        name="scene-test",
        profile=ChirpProfile(
            start_freq_hz=77e9,
            slope_hz_per_s=70e12,
            idle_time_s=100e-6,
            adc_start_time_s=6e-6,
            ramp_end_time_s=56e-6,
            num_adc_samples=256,
            sample_rate_hz=5.209e6,
        ),
        frame=FrameConfig(chirp_tx=((0,),), num_loops=4, frame_period_s=20e-3),
        antennas=AntennaArray(tx_positions_m=((0.0, 0.0, 0.0),), rx_positions_m=((0.0, 0.0, 0.0),)),
        pose=pose or Pose(),
    )


def test_constant_velocity_points_move_on_straight_lines() -> None:
    group = ConstantVelocityScatterers(
        np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]]),
        np.array([[1.0, 0.0, -1.0], [0.0, 2.0, 0.0]]),
        np.array([0.5, 2.0]),
        reference_time_s=1.0,
    )
    positions, rcs = group.evaluate(np.array([1.0, 3.0]))
    np.testing.assert_allclose(positions[0], [[1, 2, 3], [0, 0, 1]])
    np.testing.assert_allclose(positions[1], [[3, 2, 1], [0, 4, 1]])
    np.testing.assert_allclose(rcs, [[0.5, 2.0], [0.5, 2.0]])


def test_static_reflectors_do_not_move() -> None:
    group = StaticReflectors(np.array([[1.0, 5.0, 0.0]]), 3.0)
    positions, rcs = group.evaluate(np.array([0.0, 10.0]))
    np.testing.assert_array_equal(positions[0], positions[1])
    np.testing.assert_array_equal(rcs, [[3.0], [3.0]])


def test_trajectory_interpolates_smoothly_through_its_samples() -> None:
    times = np.linspace(0.0, 1.0, 11)
    positions = np.stack([np.sin(2 * times), np.cos(3 * times), times**2], axis=-1)[
        :, None, :
    ]  # [T, 1, 3]
    rcs = np.linspace(1.0, 2.0, 11)[:, None]
    group = TrajectoryScatterers(times, positions, rcs)
    at_samples, rcs_at_samples = group.evaluate(times)
    np.testing.assert_allclose(at_samples, positions, atol=1e-12)
    np.testing.assert_allclose(rcs_at_samples, rcs)
    # Between samples the spline follows the smooth curve closely (C2 cubic spline).
    fine = np.linspace(0.0, 1.0, 1001)
    truth = np.stack([np.sin(2 * fine), np.cos(3 * fine), fine**2], axis=-1)
    np.testing.assert_allclose(group.evaluate(fine)[0][:, 0], truth, atol=5e-4)
    # Velocity is continuous across a knot (no Doppler jump): one-sided differences agree.
    knot, h = times[5], 1e-6
    left = (group.evaluate(np.array([knot]))[0] - group.evaluate(np.array([knot - h]))[0]) / h
    right = (group.evaluate(np.array([knot + h]))[0] - group.evaluate(np.array([knot]))[0]) / h
    np.testing.assert_allclose(left, right, atol=1e-4)
    # RCS is linear between samples.
    _, midway = group.evaluate(np.array([0.05]))
    assert midway[0, 0] == pytest.approx(1.05)


def test_trajectory_visibility_and_clamping() -> None:
    times = np.array([0.0, 1.0, 2.0])
    positions = np.zeros((3, 2, 3)) + np.array([0.0, 3.0, 0.0])
    positions[:, 1, 0] = [0.0, 1.0, 2.0]
    visible = np.array([[1, 1], [0, 1], [0, 1]], dtype=bool)
    group = TrajectoryScatterers(times, positions, np.array([1.0, 2.0]), visible)
    _, rcs = group.evaluate(np.array([0.0, 0.5, 1.5]))
    np.testing.assert_allclose(rcs[:, 0], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(rcs[:, 1], [2.0, 2.0, 2.0])
    # Outside the sampled span the points hold their end state.
    early, _ = group.evaluate(np.array([-5.0]))
    late, _ = group.evaluate(np.array([9.0]))
    np.testing.assert_allclose(early[0], positions[0])
    np.testing.assert_allclose(late[0], positions[-1])


def test_single_sample_trajectory_is_static() -> None:
    group = TrajectoryScatterers(np.array([0.0]), np.ones((1, 4, 3)), 1.0)
    positions, rcs = group.evaluate(np.array([0.0, 1.0, 2.0]))
    assert positions.shape == (3, 4, 3) and rcs.shape == (3, 4)
    np.testing.assert_array_equal(positions, 1.0)


def test_point_target_range_angle_and_radial_velocity() -> None:
    pose = Pose((1.0, -2.0, 1.5), yaw_rad=0.4, pitch_rad=-0.2, roll_rad=0.1)
    radar = small_radar(pose)
    azimuth, elevation, range_m, velocity = 0.3, -0.1, 4.0, -1.5
    group = point_target(radar, range_m, velocity, azimuth, elevation, rcs_m2=2.0)
    positions, rcs = group.evaluate(np.array([0.0, 0.5]))
    local = pose.to_local(positions[:, 0])
    distances = np.linalg.norm(local, axis=-1)
    np.testing.assert_allclose(distances, [range_m, range_m + 0.5 * velocity], rtol=1e-12)
    # TI frame: x = r cos(el) sin(az), y = r cos(el) cos(az), z = r sin(el).
    x, y, z = local[0]
    assert math.atan2(x, y) == pytest.approx(azimuth)
    assert math.asin(z / range_m) == pytest.approx(elevation)
    assert rcs[0, 0] == 2.0
    positive = point_target(small_radar(), 3.0, 0.0, 0.2).positions_m[0]
    assert positive[0] > 0  # positive azimuth lies towards +x (right)


def test_wall_mirror_and_sides() -> None:
    wall = Wall(np.array([0.0, 5.0, 0.0]), np.array([0.0, 2.0, 0.0]), -0.5)
    np.testing.assert_allclose(wall.normal_m, [0, 1, 0])
    np.testing.assert_allclose(wall.mirror(np.array([1.0, 4.0, 2.0])), [1.0, 6.0, 2.0])
    assert wall.signed_distance(np.array([0.0, 0.0, 0.0])) == pytest.approx(-5.0)


def test_paths_pair_each_scatterer_with_its_images() -> None:
    scene = Scene().add(StaticReflectors(np.array([[0.0, 3.0, 0.0], [0.0, 9.0, 0.0]])))
    scene.add(Wall(np.array([0.0, 5.0, 0.0]), np.array([0.0, 1.0, 0.0]), 0.5))
    geometry = scene.paths_at(np.array([0.0]), np.zeros(3))
    assert scene.num_paths == geometry.num_paths == 6
    assert geometry.points_m.shape == (1, 4, 3)
    np.testing.assert_allclose(geometry.points_m[0, 2], [0.0, 7.0, 0.0])  # image of point 0
    np.testing.assert_array_equal(geometry.tx_point, [0, 1, 0, 1, 2, 3])
    np.testing.assert_array_equal(geometry.rx_point, [0, 1, 2, 3, 0, 1])
    # The scatterer beyond the wall (y = 9) has no multipath.
    np.testing.assert_allclose(geometry.rcs_m2[0], [1, 1, 1, 0, 1, 0])
    np.testing.assert_allclose(geometry.reflection, [1, 1, 0.5, 0.5, 0.5, 0.5])


def test_scene_validation_errors() -> None:
    with pytest.raises(SceneError, match="NaN"):
        ConstantVelocityScatterers(np.array([[0.0, 1.0, 2.0]]), np.array([[math.inf, 0, 0]]))
    with pytest.raises(SceneError, match="shape"):
        ConstantVelocityScatterers(np.zeros((2, 3)), np.zeros((3, 3)))
    with pytest.raises(SceneError, match=">= 0"):
        StaticReflectors(np.zeros((1, 3)), -1.0)
    with pytest.raises(SceneError, match="broadcast"):
        StaticReflectors(np.zeros((2, 3)), np.ones(3))
    with pytest.raises(SceneError, match="strictly increasing"):
        TrajectoryScatterers(np.array([0.0, 0.0]), np.zeros((2, 1, 3)), 1.0)
    with pytest.raises(SceneError, match=r"\[T=3, P, 3\]"):
        TrajectoryScatterers(np.arange(3.0), np.zeros((2, 1, 3)), 1.0)
    with pytest.raises(SceneError, match="visible must have shape"):
        TrajectoryScatterers(np.arange(2.0), np.zeros((2, 1, 3)), 1.0, np.ones((2, 2)))
    with pytest.raises(SceneError, match="non-zero"):
        Wall(np.zeros(3), np.zeros(3))
    with pytest.raises(SceneError, match=r"\|Gamma\| <= 1"):
        Wall(np.zeros(3), np.array([1.0, 0, 0]), 1.5)
    with pytest.raises(SceneError, match="cannot add"):
        Scene().add("a person")  # type: ignore[arg-type]
    with pytest.raises(SceneError, match="range_m must be > 0"):
        point_target(small_radar(), 0.0, 0.0, 0.0)
