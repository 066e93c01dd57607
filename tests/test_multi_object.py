"""TI ``multiObjBeamForming``: a second point for a second azimuth peak outside the main lobe.

Array facts used for the tolerances (the 1843 virtual array of ``small_radar``): the azimuth
row has N = 8 elements at d = 0.506 lambda, so the Rayleigh resolution is
``lambda / (N d) = 0.247`` in ``sin(az)``, about 14 deg near broadside, and the first
sidelobe of the unwindowed 8-element FFT is -12.8 dB (power ratio 0.052), far below any
threshold a TI cfg uses (0.5). Two sources bias each other's peak through their sidelobes,
by an amount that depends on their relative phase; a fifth of the resolution (3 deg) bounds
it for sources 45 deg apart.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from mmexpert.dsp import ANGLE_ESTIMATORS, DspError, ProcessingChain
from mmexpert.dsp.angle import FFTBeamformer, VirtualArrayGeometry
from mmexpert.radar.config import ChainSettings, RadarConfig, RadarConfigError
from mmexpert.radar.presets import load_radar
from mmexpert.radar.scene import Scene, point_target
from mmexpert.radar.synthesis import simulate
from mmexpert.radar.ticfg import TiCfgError, parse_ti_cfg, to_ti_cfg
from test_dsp_helpers import SEED, small_radar
from test_ticfg import BASE

TWO_SOURCE_TOLERANCE_DEG = 3.0  # a fifth of the 14 deg Rayleigh resolution (module docstring)
LEFT_DEG, RIGHT_DEG = -25.0, 20.0


# ------------------------------------------------------------------ the estimator alone
def _snapshots(
    geometry: VirtualArrayGeometry,
    azimuths_rad: list[float],
    amplitudes: list[float],
    num_snapshots: int = 9,
    seed: int = SEED,
) -> np.ndarray:
    """Noise-free sources with independent random phases: complex [elements, snapshots]."""
    rng = np.random.default_rng(seed)
    x = np.zeros((geometry.positions_m.shape[0], num_snapshots), dtype=np.complex128)
    for azimuth, amplitude in zip(azimuths_rad, amplitudes, strict=True):
        phases = np.exp(2j * np.pi * rng.random(num_snapshots))
        x += amplitude * geometry.steering(azimuth)[:, None] * phases[None, :]
    return x


def test_estimator_finds_two_equal_sources():
    geometry = VirtualArrayGeometry.from_config(small_radar())
    x = _snapshots(geometry, [math.radians(LEFT_DEG), math.radians(RIGHT_DEG)], [1.0, 1.0])
    estimator = FFTBeamformer(256)
    first_az, _ = estimator.estimate(x, geometry)
    second = estimator.estimate_second(x, geometry, 0.5)
    assert bool(second.found)
    found = sorted([math.degrees(first_az), math.degrees(second.azimuth_rad)])
    assert found == pytest.approx([LEFT_DEG, RIGHT_DEG], abs=TWO_SOURCE_TOLERANCE_DEG)
    assert 0.5 < float(second.power_ratio) <= 1.0
    assert abs(math.degrees(second.elevation_rad)) < 3.0


@pytest.mark.parametrize("estimator_name", sorted(ANGLE_ESTIMATORS))
def test_a_single_source_never_gets_a_second_peak(estimator_name):
    """From -80 to 80 deg, including the ends where the FFT main lobe wraps around the grid
    and where Capon's [-90, 90] deg grid holds a grating image of it, no second peak is
    found; for the FFT the strongest point outside the main lobe stays below the -12.8 dB
    first sidelobe (+0.5 dB margin)."""
    geometry = VirtualArrayGeometry.from_config(small_radar())
    azimuths = np.radians(np.arange(-80.0, 81.0, 5.0))
    x = np.stack([_snapshots(geometry, [az], [1.0]) for az in azimuths])
    estimator = ANGLE_ESTIMATORS[estimator_name].with_grid(256)
    second = estimator.estimate_second(x, geometry, 0.5)
    assert second.found.shape == azimuths.shape
    assert not second.found.any()
    if estimator_name == "fft":
        assert np.all(second.power_ratio < 10 ** (-12.3 / 10))


def test_second_source_must_clear_the_threshold():
    """Sources 6 dB apart: power ratio 0.25 (within the sidelobe bias), found at 0.2, not at 0.3."""
    geometry = VirtualArrayGeometry.from_config(small_radar())
    x = _snapshots(geometry, [math.radians(LEFT_DEG), math.radians(RIGHT_DEG)], [1.0, 0.5])
    estimator = FFTBeamformer(256)
    low = estimator.estimate_second(x, geometry, 0.2)
    assert bool(low.found)
    assert float(low.power_ratio) == pytest.approx(0.25, abs=0.05)
    assert math.degrees(low.azimuth_rad) == pytest.approx(RIGHT_DEG, abs=TWO_SOURCE_TOLERANCE_DEG)
    assert not bool(estimator.estimate_second(x, geometry, 0.3).found)


def test_threshold_outside_unit_interval_is_refused():
    geometry = VirtualArrayGeometry.from_config(small_radar())
    x = _snapshots(geometry, [0.0], [1.0])
    with pytest.raises(DspError, match="threshold"):
        FFTBeamformer().estimate_second(x, geometry, 0.0)


# ------------------------------------------------------------------------ the whole chain
def _two_target_points(
    threshold: float | None, second_rcs_m2: float = 1.0, range_offset_m: float = 0.0
) -> tuple[np.ndarray, ...]:
    radar = small_radar(chain=ChainSettings(multi_object_threshold=threshold))
    scene = Scene(
        [
            point_target(radar, 3.0, 1.0, math.radians(RIGHT_DEG), 0.0, 1.0),
            point_target(
                radar, 3.0 + range_offset_m, 1.0, math.radians(LEFT_DEG), 0.0, second_rcs_m2
            ),
        ]
    )
    cube = simulate(radar, scene, 2, np.random.default_rng(SEED), method="exact")
    return ProcessingChain()(cube).points


@pytest.mark.parametrize("range_offset_m", [0.0, 0.0005, 0.001, 0.0015])
def test_two_equal_targets_same_cell_give_two_points(range_offset_m):
    """Same range and speed, -25 and +20 deg; sub-millimetre range offsets turn the targets'
    relative phase through about 1.6 rad each (both stay in the same range bin)."""
    for points in _two_target_points(0.5, range_offset_m=range_offset_m):
        assert points.size == 2
        assert points[0]["range"] == points[1]["range"]
        assert points[0]["velocity"] == points[1]["velocity"]
        assert points[0]["doppler_bin"] == points[1]["doppler_bin"]
        bearings = sorted(np.degrees(points["bearing"]).tolist())
        assert bearings == pytest.approx([LEFT_DEG, RIGHT_DEG], abs=TWO_SOURCE_TOLERANCE_DEG)
        assert np.all(np.abs(np.degrees(points["elevation"])) < 3.0)
        # Equal RCS: the two intensities differ only by the element pattern (< 3 dB here)
        # and the sidelobe bias, and the second lists after the first.
        assert points[0]["intensity"] >= points[1]["intensity"] > points[0]["intensity"] - 3.0


def test_disabled_setting_gives_one_point():
    for points in _two_target_points(None):
        assert points.size == 1


def test_second_target_10_db_weaker_is_not_reported():
    for points in _two_target_points(0.5, second_rcs_m2=0.1):
        assert points.size == 1
        assert math.degrees(points[0]["bearing"]) == pytest.approx(RIGHT_DEG, abs=2.0)


@pytest.mark.parametrize("azimuth_deg", [-60.0, -5.0, 35.0, 65.0])
def test_single_target_gets_no_extra_point(azimuth_deg):
    radar = small_radar()
    scene = Scene([point_target(radar, 2.5, -1.5, math.radians(azimuth_deg), 0.0, 1.0)])
    cube = simulate(radar, scene, 2, np.random.default_rng(SEED), method="exact")
    off = ProcessingChain()(cube).points
    cube_on = dataclasses.replace(
        cube, config=dataclasses.replace(radar, chain=ChainSettings(multi_object_threshold=0.5))
    )
    on = ProcessingChain()(cube_on).points
    assert [p.size for p in on] == [p.size for p in off]
    assert all(p.size >= 1 for p in on)


# ------------------------------------------------------------------- settings and cfg text
@pytest.mark.parametrize("bad", [0.0, -0.5, 1.5, math.nan, True, "0.5"])
def test_chain_setting_is_validated(bad):
    with pytest.raises(RadarConfigError, match="multi_object_threshold"):
        ChainSettings(multi_object_threshold=bad)


def test_saved_config_without_the_field_still_loads():
    radar = load_radar("iwr1443-radhar")
    data = radar.to_dict()
    assert data["chain"]["multi_object_threshold"] == 0.5
    del data["chain"]["multi_object_threshold"]
    assert RadarConfig.from_dict(data).chain.multi_object_threshold is None
    assert RadarConfig.from_dict(radar.to_dict()) == radar


def test_sdk3_form_with_sub_frame_index():
    text = BASE.replace("clutterRemoval -1 1", "clutterRemoval -1 1\nmultiObjBeamForming -1 1 0.4")
    assert parse_ti_cfg(text).chain.multi_object_threshold == pytest.approx(0.4)


def test_sdk1_form_without_sub_frame_index():
    text = BASE.replace("clutterRemoval -1 1", "clutterRemoval -1 1\nmultiObjBeamForming 1 0.5")
    assert parse_ti_cfg(text).chain.multi_object_threshold == pytest.approx(0.5)
    assert load_radar("iwr1443-radhar").chain.multi_object_threshold == pytest.approx(0.5)


def test_disabled_in_cfg_is_none():
    for line in ("multiObjBeamForming -1 0 0.5", "multiObjBeamForming 0 0.5"):
        text = BASE.replace("clutterRemoval -1 1", f"clutterRemoval -1 1\n{line}")
        assert parse_ti_cfg(text).chain.multi_object_threshold is None
    assert parse_ti_cfg(BASE).chain.multi_object_threshold is None  # absent: disabled


@pytest.mark.parametrize(
    ("line", "phrase"),
    [
        ("multiObjBeamForming -1 2 0.5", "enabled must be 0 or 1"),
        ("multiObjBeamForming -1 1 1.5", "threshold must be in"),
        ("multiObjBeamForming 1 0", "threshold must be in"),
        ("multiObjBeamForming 1", "wrong number of arguments"),
        ("multiObjBeamForming -1 1 half", "non-numeric"),
    ],
)
def test_malformed_line_names_the_line(line, phrase):
    text = BASE.replace("clutterRemoval -1 1", f"clutterRemoval -1 1\n{line}")
    line_number = text.splitlines().index(line) + 1
    with pytest.raises(TiCfgError, match=phrase) as info:
        parse_ti_cfg(text)
    assert f"line {line_number}" in str(info.value)


@pytest.mark.parametrize("threshold", [None, 0.3, 1.0])
def test_cfg_round_trip(threshold):
    radar = load_radar("iwr1843-demo")
    radar = dataclasses.replace(
        radar, chain=dataclasses.replace(radar.chain, multi_object_threshold=threshold)
    )
    assert parse_ti_cfg(to_ti_cfg(radar)).chain.multi_object_threshold == threshold
