"""The whole chain on exactly simulated cubes: points land where the targets are."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmexpert.dsp import (
    ANGLE_ESTIMATORS,
    CFAR_DETECTORS,
    MMEXPERT_VIEWS,
    POINT_DTYPE,
    WINDOWS,
    DspError,
    ProcessingChain,
    ProcessingSettings,
    to_ros_frame,
)
from mmexpert.radar.config import ChainSettings
from mmexpert.radar.presets import load_radar
from mmexpert.radar.scene import Scene, point_target
from mmexpert.radar.synthesis import simulate
from test_dsp_helpers import SEED, small_radar, target_cube


def strongest(points: np.ndarray) -> np.void:
    assert points.dtype == POINT_DTYPE and points.size > 0
    return points[np.argmax(points["intensity"])]


@pytest.mark.parametrize("estimator", sorted(ANGLE_ESTIMATORS))
@pytest.mark.parametrize(
    ("range_m", "velocity_mps", "azimuth_deg", "elevation_deg"),
    [
        (4.0, 1.3, -30.0, 0.0),
        (2.5, -2.2, -8.0, 10.0),
        (5.2, 3.1, 20.0, -10.0),
        (3.3, 0.9, 30.0, 5.0),
    ],
)
def test_point_target_detected_at_truth(
    estimator, range_m, velocity_mps, azimuth_deg, elevation_deg
):
    """Tolerances: one range bin, one Doppler bin, 1 deg azimuth; elevation sign (and 3 deg)."""
    radar = small_radar()
    cube = target_cube(
        radar, range_m, velocity_mps, math.radians(azimuth_deg), math.radians(elevation_deg)
    )
    out = ProcessingChain(ProcessingSettings(point_angle_estimator=estimator))(cube)
    p = strongest(out.points[0])
    assert abs(p["range"] - range_m) <= radar.range_resolution_m
    assert abs(p["velocity"] - velocity_mps) <= radar.velocity_resolution_mps
    assert abs(math.degrees(p["bearing"]) - azimuth_deg) < 1.0
    if elevation_deg:
        assert np.sign(p["elevation"]) == np.sign(elevation_deg)
        assert abs(math.degrees(p["elevation"]) - elevation_deg) < 3.0
    position = range_m * np.array(
        [
            math.cos(math.radians(elevation_deg)) * math.sin(math.radians(azimuth_deg)),
            math.cos(math.radians(elevation_deg)) * math.cos(math.radians(azimuth_deg)),
            math.sin(math.radians(elevation_deg)),
        ]
    )
    found = np.array([p["x"], p["y"], p["z"]], dtype=float)
    assert np.linalg.norm(found - position) < 0.15  # about one range bin and a degree or two
    assert p["doppler_bin"] == np.argmin(np.abs(out.velocity_axis_mps - p["velocity"]))
    assert p["intensity"] > 15.0  # above the CFAR threshold [dB]


def test_two_targets_1p5_range_resolutions_apart_are_two_points():
    """Equal targets 1.5 dR apart (same speed and angle), for 8 sub-bin offsets: rectangular
    window with 4x zero padding resolves them (each within one dR). The Hann window (TI
    default) widens the main lobe and needs about 2 dR."""
    radar = small_radar()
    dr = radar.range_resolution_m
    chain = ProcessingChain(ProcessingSettings(range_window="rect", num_range_bins=256))
    for first in 3.0 + dr * np.arange(8) / 8:
        scene = Scene(
            [point_target(radar, first, 1.0, 0.1), point_target(radar, first + 1.5 * dr, 1.0, 0.1)]
        )
        cube = simulate(radar, scene, 1, np.random.default_rng(SEED), method="exact")
        ranges = np.sort(chain(cube).points[0]["range"])
        assert ranges.size == 2, f"first target at {first:.3f} m: found {ranges}"
        assert abs(ranges[0] - first) < dr and abs(ranges[1] - first - 1.5 * dr) < dr


def test_fov_filters_points():
    radar = small_radar()
    cube = target_cube(radar, 4.0, 1.3, math.radians(25.0))
    inside = ProcessingChain()(cube).points[0]
    narrow = ChainSettings(azimuth_fov_rad=(-math.radians(10), math.radians(10)))
    outside = ProcessingChain(ProcessingSettings(chain=narrow))(cube).points[0]
    assert inside.size >= 1 and outside.size == 0
    slow = ChainSettings(doppler_fov_mps=(-1.0, 1.0))
    assert ProcessingChain(ProcessingSettings(chain=slow))(cube).points[0].size == 0
    near = ChainSettings(range_fov_m=(0.0, 3.0))
    assert ProcessingChain(ProcessingSettings(chain=near))(cube).points[0].size == 0


def test_points_split_per_frame_and_target_moves():
    radar = small_radar()
    cube = target_cube(radar, 3.0, 2.0, 0.0, num_frames=4)
    out = ProcessingChain()(cube)
    assert len(out.points) == 4 and out.time_axis_s.shape == (4,)
    ranges = [strongest(p)["range"] for p in out.points]
    # 2 m/s over 3 frame periods of 20 ms: 0.12 m, within one bin per frame.
    expected = 3.0 + 2.0 * cube.frame_times_s
    assert np.all(np.abs(np.array(ranges) - expected) <= radar.range_resolution_m)


def test_real_sampling_cube_runs_through_the_chain():
    radar = small_radar(complex_sampling=False)
    cube = target_cube(radar, 3.0, 1.5, math.radians(-12.0))
    out = ProcessingChain()(cube)
    assert out.range_axis_m.size == 32  # half of the 64 bins
    p = strongest(out.points[0])
    assert abs(p["range"] - 3.0) <= radar.range_resolution_m
    assert abs(math.degrees(p["bearing"]) + 12.0) < 1.5  # the image at -f is discarded


def test_chain_uses_the_cfg_cfar_settings():
    """The TI demo preset's cfarCfg (CASO, 15 dB) drives detection on its own cube."""
    radar = load_radar("iwr1843-demo")
    assert radar.chain.cfar_kind in ("ca", "caso", "cago", "os")
    cube = target_cube(radar, 3.0, 0.5, math.radians(10.0), rcs_m2=1.0)
    chain = ProcessingChain()
    assert chain.chain_settings(cube) == radar.chain
    p = strongest(chain(cube).points[0])
    assert abs(p["range"] - 3.0) <= radar.range_resolution_m
    assert abs(math.degrees(p["bearing"]) - 10.0) < 1.0


def test_mmexpert_view_sizes():
    radar = small_radar()
    cube = target_cube(radar, 3.0, 1.0, 0.0, num_frames=3)
    out = ProcessingChain(MMEXPERT_VIEWS)(cube)
    assert out.micro_doppler.power.shape == (128, 3)
    assert out.range_time.power.shape == (256, 3)
    assert out.azimuth_time.power.shape == (128, 3)
    assert out.range_azimuth.power.shape == (3, 256, 128)
    assert out.range_doppler.power.shape == (3, 128, 256)
    p = strongest(out.points[0])  # padded FFTs still detect (CFAR windows are scaled)
    assert abs(p["range"] - 3.0) <= radar.range_resolution_m
    assert abs(p["velocity"] - 1.0) <= radar.velocity_resolution_mps
    peak_velocity = out.micro_doppler.velocity_axis_mps[np.argmax(out.micro_doppler.power, 0)]
    assert np.all(np.abs(peak_velocity - 1.0) <= radar.velocity_resolution_mps)


def test_ros_frame_conversion_matches_recorded_convention():
    """RadHAR records bearing = atan2(y, x) in degrees with x forward, y left."""
    radar = small_radar()
    p = strongest(ProcessingChain()(target_cube(radar, 3.0, 1.0, math.radians(20.0))).points[0])
    ros = to_ros_frame(p[None])[0]
    assert ros["x"] == pytest.approx(p["y"]) and ros["y"] == pytest.approx(-p["x"])
    assert ros["bearing"] == pytest.approx(math.degrees(math.atan2(ros["y"], ros["x"])), abs=0.2)


def test_bad_settings_are_named():
    with pytest.raises(DspError, match="point_angle_estimator"):
        ProcessingSettings(point_angle_estimator="music")
    with pytest.raises(DspError, match="cfar_kind"):
        ProcessingSettings(chain=ChainSettings(cfar_kind="nope"))
    with pytest.raises(DspError, match="RadarCube"):
        ProcessingChain()(np.zeros((1, 2, 3, 4, 5)))


def test_noise_floor_matches_closed_form():
    """Noise only: mean RD power = channels * sigma^2 * sum(w_r^2) * sum(w_d^2) * (1 - 1/L).

    sigma^2 [V^2] is the simulated noise per complex ADC sample; the factor 1 - 1/L is what
    subtracting the mean over L loops removes (Parseval). Tolerance 2 % (8,192 cells of a
    12-channel sum: statistical spread 0.3 %).
    """
    radar = small_radar()
    cube = simulate(radar, Scene(), 4, np.random.default_rng(SEED), method="exact", quantize=False)
    sigma2 = cube.noise_power_w * radar.volts_per_sqrt_watt**2
    w_range = WINDOWS["hann"](radar.profile.num_adc_samples)
    w_doppler = WINDOWS["hann"](radar.frame.num_loops)
    loops = radar.frame.num_loops
    expected = 12 * sigma2 * np.sum(w_range**2) * np.sum(w_doppler**2) * (1 - 1 / loops)
    measured = ProcessingChain()(cube).range_doppler.power.mean()
    assert measured == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize("kind", sorted(CFAR_DETECTORS))
def test_every_cfar_kind_runs_in_the_chain(kind):
    radar = small_radar(chain=ChainSettings(cfar_kind=kind))
    cube = target_cube(radar, 3.7, -1.6, math.radians(-18.0))
    p = strongest(ProcessingChain()(cube).points[0])
    assert abs(p["range"] - 3.7) <= radar.range_resolution_m
    assert abs(math.degrees(p["bearing"]) + 18.0) < 1.0


@pytest.mark.parametrize("chirp_tx", [((0,), (1,), (2,)), ((1,), (0,), (2,))])
def test_tdm_order_does_not_matter(chirp_tx):
    """Any TX order (elevated TX first, middle or last) at 6 m/s: angles within tolerance."""
    radar = small_radar(chirp_tx=chirp_tx)
    cube = target_cube(radar, 4.5, 6.0, math.radians(22.0), math.radians(-8.0))
    p = strongest(ProcessingChain()(cube).points[0])
    assert abs(math.degrees(p["bearing"]) - 22.0) < 1.0
    assert abs(math.degrees(p["elevation"]) + 8.0) < 3.0


def test_several_targets_each_found():
    """Five targets at distinct range/velocity/angle: each has a point within tolerance."""
    radar = small_radar()
    truth = [
        (1.5, -3.0, -35.0),
        (2.6, 2.2, -10.0),
        (3.9, 0.9, 5.0),
        (5.1, -1.4, 25.0),
        (6.5, 4.0, 40.0),
    ]
    scene = Scene([point_target(radar, r, v, math.radians(a), rcs_m2=3.0) for r, v, a in truth])
    cube = simulate(radar, scene, 1, np.random.default_rng(SEED), method="exact")
    points = ProcessingChain()(cube).points[0]
    for r, v, a in truth:
        near = points[
            (np.abs(points["range"] - r) <= radar.range_resolution_m)
            & (np.abs(points["velocity"] - v) <= radar.velocity_resolution_mps)
        ]
        assert near.size >= 1, f"target at {r} m, {v} m/s not found"
        best = near[np.argmax(near["intensity"])]
        assert abs(math.degrees(best["bearing"]) - a) < 1.5


def test_chunked_processing_equals_one_pass():
    radar = small_radar()
    cube = target_cube(radar, 3.0, 2.0, math.radians(12.0), num_frames=5)
    whole = ProcessingChain(ProcessingSettings(frames_per_chunk=5))(cube)
    chunked = ProcessingChain(ProcessingSettings(frames_per_chunk=2))(cube)
    assert len(chunked.points) == 5
    for a, b in zip(whole.points, chunked.points, strict=True):
        assert a.size == b.size  # FFT batch sizes change results only at rounding level
        for field in POINT_DTYPE.names:
            assert np.allclose(a[field], b[field], rtol=1e-5, atol=1e-6)
    for name in ("range_doppler", "range_azimuth", "micro_doppler", "range_time", "azimuth_time"):
        x, y = getattr(whole, name), getattr(chunked, name)
        assert x.power.shape == y.power.shape
        assert np.allclose(x.power, y.power, rtol=1e-5)
        assert np.array_equal(x.time_axis_s, y.time_axis_s)
    assert np.allclose(whole.noise_power, chunked.noise_power, rtol=1e-5)
