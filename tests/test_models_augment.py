"""Sim-to-real augmentations: every registry entry on a real simulated sample (shape, effect,
no mutation of the input, probability 0 = identity)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmexpert.data.simulation import simulate_person
from mmexpert.dsp.chain import MMEXPERT_VIEWS, ProcessingChain
from mmexpert.models.augment import (
    AUGMENTATIONS,
    Amplitude,
    AugmentationError,
    DopplerScale,
    ElevationNoise,
    MotionSpeed,
    Noise,
    PointDensity,
    PointDropout,
    PointJitter,
    RadarPose,
    TimeWarp,
    build_augmentations,
)
from mmexpert.models.inputs import raw_sample_from_products
from mmexpert.radar.presets import load_radar

FRAMES = 24


@pytest.fixture(scope="module")
def raw():
    products = simulate_person(
        load_radar("iwr1843-udoppler"),
        {"segments": [{"primitive": "jumping_jacks", "duration_s": 2.0}]},
        seed=3,
        num_frames=FRAMES,
        keep_adc=False,
        chain=ProcessingChain(MMEXPERT_VIEWS),
    )
    sample = raw_sample_from_products(products, "jj")
    assert len(sample["points"]) > 20, "the fixture needs a real point cloud"
    return sample


def _copy(sample):
    return {
        key: value.copy() if isinstance(value, np.ndarray) else value
        for key, value in sample.items()
    }


@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
def test_every_augmentation_keeps_shapes_and_leaves_its_input_alone(raw, name):
    before = _copy(raw)
    augmentation = AUGMENTATIONS[name](probability=1.0)
    out = augmentation(raw, np.random.default_rng(0))
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(raw[key], value)  # input untouched
    frames = out["micro_doppler"].shape[1]
    for view in ("micro_doppler", "range_time", "azimuth_time"):
        assert out[view].shape[0] == raw[view].shape[0] and out[view].shape[1] == frames
        assert out[view].dtype == np.float32 and np.isfinite(out[view]).all()
    assert out["points"].shape[1] == 8 and out["points"].dtype == np.float32
    assert out["points_per_frame"].sum() == len(out["points"])
    changed = (
        any(
            not np.array_equal(out[key], raw[key])
            for key in ("micro_doppler", "points", "points_per_frame")
            if out[key].shape == raw[key].shape
        )
        or out["micro_doppler"].shape != raw["micro_doppler"].shape
    )
    assert changed, f"{name} fired but changed nothing"
    never = AUGMENTATIONS[name](probability=0.0)(raw, np.random.default_rng(0))
    assert never is raw


def _doppler_spread(spectrum_db):
    # RMS velocity bin of the body echo: dB excess over the floor, so the flat noise floor
    # (which the stretch leaves flat) does not dominate the moment.
    excess = np.clip(spectrum_db - np.median(spectrum_db) - 6.0, 0.0, None)
    bins = np.arange(spectrum_db.shape[0]) - spectrum_db.shape[0] // 2
    weights = excess.sum(1)
    return math.sqrt(float((weights * bins**2).sum() / weights.sum()))


def test_doppler_scale_stretches_the_velocity_spread(raw):
    stretched = DopplerScale(1.0, 1.25, 1.25)(raw, np.random.default_rng(0))
    squeezed = DopplerScale(1.0, 0.8, 0.8)(raw, np.random.default_rng(0))
    spread = _doppler_spread(raw["micro_doppler"])
    assert _doppler_spread(stretched["micro_doppler"]) > 1.05 * spread
    assert _doppler_spread(squeezed["micro_doppler"]) < 0.95 * spread
    np.testing.assert_allclose(stretched["points"][:, 3], raw["points"][:, 3] * 1.25, rtol=1e-6)


def test_time_warp_changes_the_clip_length_by_the_factor(raw):
    fast = TimeWarp(1.0, 1.2, 1.2)(raw, np.random.default_rng(0))
    assert fast["micro_doppler"].shape[1] == round(FRAMES / 1.2)
    assert len(fast["points_per_frame"]) == round(FRAMES / 1.2)
    slow = TimeWarp(1.0, 0.8, 0.8)(raw, np.random.default_rng(0))
    assert slow["range_time"].shape[1] == round(FRAMES / 0.8)


def test_noise_raises_the_floor_and_amplitude_keeps_the_median(raw):
    noisy = Noise(1.0, sigma_db=1.0, floor_raise_db=6.0)(raw, np.random.default_rng(1))
    floor = np.percentile(raw["micro_doppler"], 5)
    assert np.percentile(noisy["micro_doppler"], 5) > floor
    residual = noisy["micro_doppler"] - raw["micro_doppler"]
    strong = raw["micro_doppler"] > floor + 20  # where the floor does not clip
    assert abs(residual[strong].std() - 1.0) < 0.2
    gained = Amplitude(1.0, drift_db=2.0, contrast=0.0)(raw, np.random.default_rng(1))
    drift = (gained["micro_doppler"] - raw["micro_doppler"]).mean(0)  # per-frame gain [dB]
    assert abs(drift.std() - 2.0) < 1e-3 and abs(drift.mean()) < 1e-3


def test_point_dropout_rate_and_jitter_size(raw):
    dropped = PointDropout(1.0, rate=0.5)(raw, np.random.default_rng(0))
    kept = len(dropped["points"]) / len(raw["points"])
    assert 0.25 < kept < 0.75
    jittered = PointJitter(1.0, position_m=0.05, velocity_mps=0.0)(raw, np.random.default_rng(0))
    moved = jittered["points"][:, :3] - raw["points"][:, :3]
    assert abs(moved.std() - 0.05) < 0.02
    np.testing.assert_allclose(
        jittered["points"][:, 5], np.linalg.norm(jittered["points"][:, :3], axis=1), rtol=1e-5
    )


def test_radar_pose_is_a_rigid_yaw_and_height_change(raw):
    posed = RadarPose(1.0, max_yaw_rad=0.3, max_height_m=0.2)(raw, np.random.default_rng(2))
    before, after = raw["points"], posed["points"]
    np.testing.assert_allclose(
        np.hypot(after[:, 0], after[:, 1]), np.hypot(before[:, 0], before[:, 1]), rtol=1e-5
    )
    height_change = before[:, 2] - after[:, 2]
    assert np.ptp(height_change) < 1e-5 and 0 < abs(height_change[0]) <= 0.2
    yaw = np.arctan2(after[:, 1], after[:, 0]) - np.arctan2(before[:, 1], before[:, 0])
    yaw = (yaw + np.pi) % (2 * np.pi) - np.pi
    assert np.ptp(yaw) < 1e-4 and 0 < abs(yaw[0]) <= 0.3


def test_elevation_noise_turns_the_elevation_only(raw):
    noisy = ElevationNoise(1.0, min_rad=0.1, max_rad=0.1)(raw, np.random.default_rng(3))
    before, after = raw["points"].astype(np.float64), noisy["points"].astype(np.float64)
    ranges = np.linalg.norm(before[:, :3], axis=1)
    np.testing.assert_allclose(np.linalg.norm(after[:, :3], axis=1), ranges, rtol=1e-5)
    np.testing.assert_allclose(after[:, 5], ranges, rtol=1e-5)
    azimuth = np.arctan2(before[:, 0], before[:, 1])
    np.testing.assert_allclose(np.arctan2(after[:, 0], after[:, 1]), azimuth, atol=1e-5)
    error = np.arcsin(after[:, 2] / ranges) - np.arcsin(before[:, 2] / ranges)
    assert abs(error.std() - 0.1) < 0.02 and abs(error.mean()) < 0.02
    np.testing.assert_array_equal(after[:, 3], before[:, 3])  # Doppler untouched


def test_build_augmentations_from_names_and_dicts():
    built = build_augmentations(["noise", {"name": "time_warp", "probability": 0.2}])
    assert isinstance(built[0], Noise) and built[1] == TimeWarp(probability=0.2)
    with pytest.raises(AugmentationError, match="unknown augmentation"):
        build_augmentations(["mixup"])
    with pytest.raises(AugmentationError, match="no parameters"):
        build_augmentations([{"name": "noise", "sigma": 2}])
    with pytest.raises(AugmentationError, match="probability"):
        build_augmentations([{"name": "noise", "probability": 1.5}])


def test_augmentations_with_parameters_parse_from_their_command_line_form():
    from mmexpert.models.augment import PointDropout, parse_augmentation

    assert parse_augmentation("noise") == "noise"
    spec = parse_augmentation("point_dropout:probability=0.7:rate=0.6")
    assert spec == {"name": "point_dropout", "probability": 0.7, "rate": 0.6}
    assert build_augmentations([spec]) == [PointDropout(probability=0.7, rate=0.6)]
    assert build_augmentations(["point_dropout:probability=0.7:rate=0.6"]) == [
        PointDropout(probability=0.7, rate=0.6)
    ]
    for bad in ("point_dropout:rate", "point_dropout:rate=most", "point_dropout:=0.5"):
        with pytest.raises(AugmentationError, match="is not key=number"):
            parse_augmentation(bad)


def test_velocity_jitter_leaves_zero_doppler_points_static(raw):
    points = raw["points"].copy()
    points[::2, 3] = 0.0  # every other point in the zero Doppler bin
    points[1::2, 3] = 0.633
    jittered = PointJitter(1.0, position_m=0.0, velocity_mps=0.05)(
        {**raw, "points": points}, np.random.default_rng(0)
    )["points"]
    assert np.all(jittered[::2, 3] == 0.0), "a static return must not become a mover"
    moving = jittered[1::2, 3] - 0.633
    assert 0.03 < moving.std() < 0.07 and np.all(np.abs(jittered[1::2, 3]) > 0.4)


def test_point_density_adds_range_neighbours_of_moving_points_only(raw):
    points = raw["points"].copy()
    points[::3, 3] = 0.0  # some static points
    sample = {**raw, "points": points}
    dense = PointDensity(1.0, max_rate=3.0)(sample, np.random.default_rng(4))
    out, counts = dense["points"], dense["points_per_frame"]
    assert counts.sum() == len(out) > len(points)
    frame = np.repeat(np.arange(len(counts)), counts)
    np.testing.assert_array_equal(out[:, 7], frame)  # still grouped by frame, in order
    static_before = points[points[:, 3] == 0.0]
    np.testing.assert_array_equal(out[out[:, 3] == 0.0], static_before)  # no static copy
    moving = points[points[:, 3] != 0.0]
    for original in moving[:10]:
        twins = out[(out[:, 7] == original[7]) & (out[:, 3] == original[3])]
        steps = np.abs(twins[:, 5] - original[5]) / 0.044
        near = np.abs(steps - np.round(steps)) < 1e-3
        assert near.all() and set(np.round(steps).astype(int)) <= {0, 1, 2}
    np.testing.assert_allclose(out[:, 5], np.linalg.norm(out[:, :3], axis=1), rtol=1e-5)


def test_motion_speed_slows_tempo_and_velocities_onto_the_doppler_bins(raw):
    step = 0.6147
    points = raw["points"].copy()
    points[:, 3] = np.round(points[:, 3] / step) * step  # a device's binned velocities
    points[: len(points) // 2, 3] = 2 * step
    sample = {**raw, "points": points}
    slow = MotionSpeed(1.0, min_factor=0.5, max_factor=0.5)(sample, np.random.default_rng(0))
    assert len(slow["points_per_frame"]) == 2 * FRAMES  # half the speed: twice the frames
    bins = slow["points"][:, 3] / step
    np.testing.assert_allclose(bins, np.round(bins), atol=1e-4)  # still on the bins
    assert np.abs(bins).max() <= np.abs(points[:, 3] / step).max() / 2 + 0.5
    assert (np.abs(bins) < 0.5).mean() > (np.abs(points[:, 3]) < 1e-6).mean()  # some stop
    same = MotionSpeed(1.0, 1.0, 1.0)(sample, np.random.default_rng(0))
    np.testing.assert_allclose(same["points"][:, 3], points[:, 3], atol=1e-5)
