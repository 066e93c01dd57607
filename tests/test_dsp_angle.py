"""Angle estimation over the virtual array: geometry from the config, signs, accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmexpert.constants import SPEED_OF_LIGHT_MPS
from mmexpert.dsp import ANGLE_ESTIMATORS, CaponBeamformer, DspError, VirtualArrayGeometry
from test_dsp_helpers import SEED, small_radar

AZIMUTHS_DEG = (-30.0, -20.0, -7.5, 0.0, 12.0, 20.0, 30.0)


def far_field_snapshots(
    geometry: VirtualArrayGeometry,
    azimuth_rad: float,
    elevation_rad: float,
    num_snapshots: int = 4,
    snr_db: float = 30.0,
) -> np.ndarray:
    """Closed-form two-way phases of a far target: path 2R - p.u, so exp(-j 2 pi p.u / lambda).

    Returns complex [1, elements, snapshots] with random source phases and complex noise.
    """
    rng = np.random.default_rng(SEED)
    u = np.array(
        [
            math.sin(azimuth_rad) * math.cos(elevation_rad),
            math.cos(azimuth_rad) * math.cos(elevation_rad),
            math.sin(elevation_rad),
        ]
    )
    path_m = 2 * 3.0 - geometry.positions_m @ u  # two-way path to each virtual element
    steering = np.exp(2j * np.pi * path_m / geometry.wavelength_m)
    source = np.exp(2j * np.pi * rng.random(num_snapshots))
    sigma = 10 ** (-snr_db / 20) / math.sqrt(2)
    noise = sigma * (
        rng.normal(size=(steering.size, num_snapshots))
        + 1j * rng.normal(size=(steering.size, num_snapshots))
    )
    return (steering[:, None] * source[None, :] + noise)[None]


def test_geometry_is_read_from_the_config():
    """1843 BOOST: 8 azimuth slots at lambda/2, 4 elevated elements paired at equal x."""
    radar = small_radar()
    geometry = VirtualArrayGeometry.from_config(radar)
    half_design = SPEED_OF_LIGHT_MPS / 77e9 / 2
    assert geometry.num_azimuth_slots == 8
    assert math.isclose(geometry.azimuth_spacing_m, half_design, rel_tol=1e-9)
    assert geometry.elevation_pairs.shape == (4, 2)
    assert math.isclose(geometry.elevation_offset_m, half_design, rel_tol=1e-9)
    pos = geometry.positions_m
    e, a = geometry.elevation_pairs.T
    assert np.allclose(pos[e, 0], pos[a, 0])


def test_single_tx_array_has_no_elevation():
    geometry = VirtualArrayGeometry.from_config(small_radar(chirp_tx=((0,),)))
    assert not geometry.has_elevation
    assert geometry.num_azimuth_slots == 4


@pytest.mark.parametrize("name", sorted(ANGLE_ESTIMATORS))
@pytest.mark.parametrize("azimuth_deg", AZIMUTHS_DEG)
def test_estimators_recover_azimuth_within_1_deg(name, azimuth_deg):
    geometry = VirtualArrayGeometry.from_config(small_radar())
    x = far_field_snapshots(geometry, math.radians(azimuth_deg), 0.0)
    azimuth, elevation = ANGLE_ESTIMATORS[name]().estimate(x, geometry)
    assert abs(math.degrees(azimuth[0]) - azimuth_deg) < 1.0
    assert abs(math.degrees(elevation[0])) < 1.5


@pytest.mark.parametrize("name", sorted(ANGLE_ESTIMATORS))
def test_plus_20_deg_reads_plus_20_deg(name):
    """The sign test of the brief: a target at +20 deg (towards +x) gives +20 deg."""
    geometry = VirtualArrayGeometry.from_config(small_radar())
    azimuth, _ = ANGLE_ESTIMATORS[name]().estimate(
        far_field_snapshots(geometry, math.radians(20.0), 0.0), geometry
    )
    assert math.degrees(azimuth[0]) == pytest.approx(20.0, abs=1.0)


@pytest.mark.parametrize("name", sorted(ANGLE_ESTIMATORS))
@pytest.mark.parametrize("elevation_deg", (-12.0, 8.0))
def test_elevation_sign_and_value(name, elevation_deg):
    """Elevation from the elevated row: right sign, within 2 deg at 30 dB SNR."""
    geometry = VirtualArrayGeometry.from_config(small_radar())
    x = far_field_snapshots(geometry, math.radians(10.0), math.radians(elevation_deg))
    azimuth, elevation = ANGLE_ESTIMATORS[name]().estimate(x, geometry)
    assert np.sign(elevation[0]) == np.sign(elevation_deg)
    assert abs(math.degrees(elevation[0]) - elevation_deg) < 2.0
    assert abs(math.degrees(azimuth[0]) - 10.0) < 1.0


@pytest.mark.parametrize("name", sorted(ANGLE_ESTIMATORS))
def test_spectrum_peaks_at_source_and_axis_is_increasing(name):
    geometry = VirtualArrayGeometry.from_config(small_radar())
    spectrum = ANGLE_ESTIMATORS[name]().azimuth_spectrum(
        far_field_snapshots(geometry, math.radians(-25.0), 0.0), geometry
    )
    assert spectrum.power.shape[-1] == spectrum.angle_axis_rad.size
    assert np.all(np.diff(spectrum.angle_axis_rad) > 0)
    peak = spectrum.angle_axis_rad[np.argmax(spectrum.power[0])]
    step = np.max(np.diff(spectrum.angle_axis_rad[np.abs(spectrum.angle_axis_rad) < 0.6]))
    assert abs(peak - math.radians(-25.0)) <= step


def test_capon_map_grid_is_128_angles_over_plus_minus_90():
    axis = CaponBeamformer().angle_axis_rad
    assert axis.size == 128
    assert math.isclose(axis[0], -math.pi / 2) and math.isclose(axis[-1], math.pi / 2)


def _two_strongest_peaks_deg(spectrum) -> np.ndarray:
    p = spectrum.power[0]
    peaks = np.flatnonzero((p[1:-1] > p[:-2]) & (p[1:-1] > p[2:])) + 1
    top = peaks[np.argsort(p[peaks])[-2:]]
    return np.sort(np.degrees(spectrum.angle_axis_rad[top]))


def test_capon_places_two_close_sources_better_than_fft():
    """Two uncorrelated sources at -6 and +6 deg (12 deg apart, below the 14.3 deg
    resolution of 8 elements): Capon puts both peaks within 2 deg; the FFT peaks are pulled
    towards each other by more than 2 deg (measured: +-3.5 deg)."""
    geometry = VirtualArrayGeometry.from_config(small_radar())
    a = far_field_snapshots(geometry, math.radians(-6.0), 0.0, num_snapshots=64, snr_db=40)
    rng = np.random.default_rng(1)
    b = far_field_snapshots(geometry, math.radians(6.0), 0.0, num_snapshots=64, snr_db=40)
    x = a + b * np.exp(2j * np.pi * rng.random(64))  # independent source phases
    capon = CaponBeamformer(num_angles=721, diagonal_loading=1e-3)
    assert np.allclose(
        _two_strongest_peaks_deg(capon.azimuth_spectrum(x, geometry)), [-6, 6], atol=2
    )
    fft_peaks = _two_strongest_peaks_deg(ANGLE_ESTIMATORS["fft"]().azimuth_spectrum(x, geometry))
    assert np.all(np.abs(np.abs(fft_peaks) - 6.0) > 2.0)


def test_wrong_element_count_is_refused():
    geometry = VirtualArrayGeometry.from_config(small_radar())
    with pytest.raises(DspError, match="elements"):
        ANGLE_ESTIMATORS["fft"]().estimate(np.ones((1, 5, 1), complex), geometry)


def test_non_uniform_azimuth_row_is_refused():
    positions = np.array([[0.0, 0, 0], [1.0e-3, 0, 0], [2.5e-3, 0, 0]])
    with pytest.raises(DspError, match="uniform"):
        VirtualArrayGeometry.from_positions(positions, 4e-3)


@pytest.mark.parametrize("name", sorted(ANGLE_ESTIMATORS))
def test_with_grid_sets_the_spectrum_size(name):
    """FFT: 128 bins, minus those with |sin| > 1 (d is slightly above lambda/2 at the
    79 GHz centre frequency); Capon: exactly 128 angles."""
    geometry = VirtualArrayGeometry.from_config(small_radar())
    spectrum = (
        ANGLE_ESTIMATORS[name]
        .with_grid(128)
        .azimuth_spectrum(far_field_snapshots(geometry, 0.3, 0.0), geometry)
    )
    assert 120 <= spectrum.power.shape[-1] <= 128
    if name == "capon":
        assert spectrum.power.shape[-1] == 128
