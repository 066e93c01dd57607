"""RadarConfig: derived quantities against closed form, validation, pose, serialization."""

import dataclasses
import math

import numpy as np
import pytest

from mmexpert.constants import SPEED_OF_LIGHT_MPS
from mmexpert.radar import (
    AntennaArray,
    ChirpProfile,
    FrameConfig,
    Pose,
    RadarConfig,
    RadarConfigError,
)

LAMBDA_77 = SPEED_OF_LIGHT_MPS / 77e9


def make_radar(**overrides) -> RadarConfig:
    profile = ChirpProfile(
        start_freq_hz=77e9,
        slope_hz_per_s=60e12,
        idle_time_s=7e-6,
        adc_start_time_s=6e-6,
        ramp_end_time_s=60e-6,
        num_adc_samples=256,
        sample_rate_hz=5e6,
    )
    antennas = AntennaArray(
        tx_positions_m=((0, 0, 0), (LAMBDA_77, 0, LAMBDA_77 / 2), (2 * LAMBDA_77, 0, 0)),
        rx_positions_m=tuple((i * LAMBDA_77 / 2, 0.0, 0.0) for i in range(4)),
    )
    kwargs = dict(
        name="test",
        profile=profile,
        frame=FrameConfig(chirp_tx=((0,), (2,)), num_loops=128, frame_period_s=0.1),
        antennas=antennas,
    )
    for key, value in overrides.items():
        if key in ("profile", "frame"):
            kwargs[key] = dataclasses.replace(kwargs[key], **value)
        else:
            kwargs[key] = value
    return RadarConfig(**kwargs)


def test_derived_quantities_match_closed_form():
    radar = make_radar()
    fs, slope, n = 5e6, 60e12, 256
    t_chirp = 7e-6 + 60e-6
    t_loop = 2 * t_chirp
    f_centre = 77e9 + slope * (6e-6 + n / fs / 2)
    lam = SPEED_OF_LIGHT_MPS / f_centre
    assert radar.range_resolution_m == pytest.approx(SPEED_OF_LIGHT_MPS * fs / (2 * slope * n))
    assert radar.max_range_m == pytest.approx(fs * SPEED_OF_LIGHT_MPS / (2 * slope))
    assert radar.loop_time_s == pytest.approx(t_loop)
    assert radar.max_velocity_mps == pytest.approx(lam / (4 * t_loop))
    assert radar.velocity_resolution_mps == pytest.approx(lam / (2 * 128 * t_loop))
    assert radar.frame_rate_hz == pytest.approx(10.0)
    assert radar.duty_cycle == pytest.approx(128 * t_loop / 0.1)
    # TX1 + TX3 with 4 RX: 8 azimuth elements at lambda/2.
    assert radar.azimuth_aperture[0] == 8
    assert radar.azimuth_resolution_rad == pytest.approx(lam / (8 * LAMBDA_77 / 2))


def test_real_sampling_halves_max_range():
    from mmexpert.radar import ReceiverConfig

    complex_radar = make_radar()
    real_radar = make_radar(receiver=ReceiverConfig(complex_sampling=False))
    assert real_radar.max_range_m == pytest.approx(complex_radar.max_range_m / 2)


def test_chirp_times_are_exact_tdm_and_not_spread_over_the_frame():
    radar = make_radar()
    t = radar.chirp_start_times_s(num_frames=2, first_frame_s=1.0)
    assert t.shape == (2, 128, 2)
    t_chirp = 67e-6
    assert t[0, 0, 1] - t[0, 0, 0] == pytest.approx(t_chirp)
    assert t[0, 5, 0] - t[0, 4, 0] == pytest.approx(2 * t_chirp)
    assert t[1, 0, 0] - t[0, 0, 0] == pytest.approx(0.1)
    # the last chirp ends long before the frame period: chirps are not spread
    assert t[0, -1, -1] + t_chirp - t[0, 0, 0] == pytest.approx(128 * 2 * t_chirp)


@pytest.mark.parametrize(
    ("overrides", "phrase"),
    [
        ({"profile": {"ramp_end_time_s": 40e-6}}, "ramp too short for the ADC samples"),
        ({"frame": {"frame_period_s": 0.01}}, "frame shorter than its chirps"),
        ({"profile": {"sample_rate_hz": 30e6, "num_adc_samples": 64}}, "ADC sample rate"),
        ({"profile": {"ramp_end_time_s": 80e-6}}, "bandwidth"),
        ({"profile": {"start_freq_hz": 60e9}}, "outside the"),
        ({"profile": {"slope_hz_per_s": 250e12}}, "slope"),
        ({"frame": {"chirp_tx": ((0,), (5,))}}, "uses TX [5]"),
        ({"frame": {"num_loops": 0}}, "num_loops"),
    ],
)
def test_impossible_configs_are_refused_with_the_constraint_named(overrides, phrase):
    with pytest.raises(RadarConfigError) as info:
        make_radar(**overrides)
    assert phrase in str(info.value)


def test_json_round_trip_is_lossless():
    radar = make_radar(pose=Pose(position_m=(1.0, -2.0, 1.2), yaw_rad=0.3, pitch_rad=-0.1))
    assert RadarConfig.from_json(radar.to_json()) == radar


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("{not json", "malformed"),
        ('{"name": "x"}', "missing field"),
    ],
)
def test_bad_json_gives_clear_errors(text, phrase):
    with pytest.raises(RadarConfigError) as info:
        RadarConfig.from_json(text)
    assert phrase in str(info.value)


def test_unknown_field_is_refused():
    data = make_radar().to_dict()
    data["profile"]["slope_mhz_per_us"] = 70
    with pytest.raises(RadarConfigError, match="unknown field"):
        RadarConfig.from_dict(data)


def test_pose_rotation_is_proper_and_invertible():
    pose = Pose(position_m=(0.5, 1.0, 1.5), yaw_rad=0.7, pitch_rad=-0.2, roll_rad=0.1)
    rot = pose.rotation
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    pts = np.random.default_rng(0).normal(size=(10, 3))
    np.testing.assert_allclose(pose.to_local(pose.to_world(pts)), pts, atol=1e-12)


def test_yaw_turns_boresight_about_world_z():
    # yaw +90 deg turns the boresight (+y local) to world -x (right-handed, z up)
    pose = Pose(yaw_rad=math.pi / 2)
    np.testing.assert_allclose(pose.to_world(np.array([0.0, 1.0, 0.0])), [-1, 0, 0], atol=1e-12)
    # pitch down by 10 deg makes a boresight point lose height
    down = Pose(pitch_rad=-math.radians(10)).to_world(np.array([0.0, 1.0, 0.0]))
    assert down[2] == pytest.approx(-math.sin(math.radians(10)))


def test_element_gain_peaks_at_boresight_and_halves_at_beam_edge():
    ant = make_radar().antennas
    peak = ant.element_gain(np.array([0.0, 1.0, 0.0]))
    half_az = ant.half_power_beamwidth_az_rad / 2
    edge = ant.element_gain(np.array([math.sin(half_az), math.cos(half_az), 0.0]))
    assert 10 * math.log10(peak) == pytest.approx(ant.element_gain_dbi)
    assert edge / peak == pytest.approx(0.5, rel=1e-6)
    behind = ant.element_gain(np.array([0.0, -1.0, 0.0]))
    assert 10 * math.log10(behind / peak) == pytest.approx(ant.back_lobe_db)


def test_snr_follows_radar_equation():
    radar = make_radar()
    # SNR falls 12.04 dB per doubling of range (R^-4) and rises 10 dB per 10x RCS.
    assert radar.snr_db(2.0, 1.0) - radar.snr_db(4.0, 1.0) == pytest.approx(40 * math.log10(2))
    assert radar.snr_db(5.0, 10.0) - radar.snr_db(5.0, 1.0) == pytest.approx(10.0)
    gain = radar.snr_db(5.0, 1.0, integrated=True) - radar.snr_db(5.0, 1.0)
    assert gain == pytest.approx(10 * math.log10(256 * 128))
