"""Maps over time: micro-Doppler, range-time, azimuth-time, range-azimuth, range-Doppler."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmexpert.dsp import (
    MAPS,
    AzimuthTime,
    DspError,
    MicroDoppler,
    RangeAzimuth,
    RangeDopplerProcessor,
    RangeTime,
    azimuth_time_from_range_azimuth,
    normalize_log_minmax,
)
from test_dsp_helpers import small_radar, target_cube


@pytest.fixture(scope="module")
def moving_target():
    """A target at 3.5 m, -2.4 m/s (approaching), +15 deg, over 5 frames at 50 fps."""
    radar = small_radar()
    cube = target_cube(radar, 3.5, -2.4, math.radians(15.0), num_frames=5)
    return radar, cube, RangeDopplerProcessor()(cube)


@pytest.mark.parametrize("name", sorted(MAPS))
def test_every_map_is_finite_non_negative_with_matching_axes(name, moving_target):
    _, cube, rd = moving_target
    result = MAPS[name]()(rd)
    assert np.all(np.isfinite(result.power)) and np.all(result.power >= 0)
    axes = [v for k, v in vars(result).items() if k.endswith(("_m", "_mps", "_rad", "_s"))]
    assert axes and all(np.ndim(a) == 1 for a in axes)
    assert np.array_equal(result.time_axis_s, cube.frame_times_s)


def test_micro_doppler_peaks_at_target_velocity(moving_target):
    radar, _, rd = moving_target
    md = MicroDoppler()(rd)
    assert md.power.shape == (rd.velocity_axis_mps.size, 5)
    peak_velocity = md.velocity_axis_mps[np.argmax(md.power, axis=0)]
    assert np.all(np.abs(peak_velocity - (-2.4)) <= radar.velocity_resolution_mps)
    assert np.allclose(np.diff(md.time_axis_s), radar.frame.frame_period_s)


def test_micro_doppler_range_span_excludes_the_target(moving_target):
    _, _, rd = moving_target
    inside = MicroDoppler(range_span_m=(3.0, 4.0))(rd).power.max()
    outside = MicroDoppler(range_span_m=(6.0, 8.0))(rd).power.max()
    assert 10 * math.log10(inside / outside) > 20.0
    with pytest.raises(DspError, match="no range bin"):
        MicroDoppler(range_span_m=(50.0, 60.0))(rd)


def test_range_time_peaks_at_target_range(moving_target):
    radar, cube, rd = moving_target
    rt = RangeTime()(rd)
    peak_range = rt.range_axis_m[np.argmax(rt.power, axis=0)]
    truth = 3.5 - 2.4 * cube.frame_times_s
    assert np.all(np.abs(peak_range - truth) <= radar.range_resolution_m)


def test_azimuth_time_peaks_at_target_azimuth(moving_target):
    """Capon over 128 angles: the peak is the grid angle nearest +15 deg (step 1.42 deg)."""
    _, _, rd = moving_target
    at = AzimuthTime()(rd)
    assert at.power.shape == (128, 5)
    peak = at.angle_axis_rad[np.argmax(at.power, axis=0)]
    step = at.angle_axis_rad[1] - at.angle_axis_rad[0]
    assert np.all(np.abs(peak - math.radians(15.0)) <= step)


def test_normalize_log_minmax_spans_unit_interval():
    x = np.array([[1.0, 10.0], [100.0, 1000.0]])
    y = normalize_log_minmax(x)
    assert y.min() == 0.0 and y.max() == 1.0
    assert np.allclose(y, [[0, 1 / 3], [2 / 3, 1]])
    assert np.all(normalize_log_minmax(np.ones(4)) == 0)


def test_maps_refuse_raw_arrays():
    with pytest.raises(DspError, match="RangeDopplerCube"):
        RangeTime()(np.zeros((2, 8, 16)))


def test_azimuth_time_from_range_azimuth_equals_direct_map(moving_target):
    _, _, rd = moving_target
    direct = AzimuthTime(range_span_m=(2.0, 5.0))(rd)
    reused = azimuth_time_from_range_azimuth(RangeAzimuth()(rd), range_span_m=(2.0, 5.0))
    assert np.allclose(direct.power, reused.power, rtol=1e-5)
    assert np.array_equal(direct.angle_axis_rad, reused.angle_axis_rad)
