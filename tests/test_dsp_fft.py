"""Range/Doppler FFTs, clutter removal and TDM compensation against closed-form truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmexpert.dsp import (
    WINDOWS,
    DopplerFFT,
    DspError,
    FFTBeamformer,
    RangeDopplerProcessor,
    RangeFFT,
    TdmDopplerCompensation,
    VirtualArrayGeometry,
    noncoherent_power,
    power_to_db,
    remove_static_clutter,
)
from mmexpert.radar.scene import StaticReflectors
from test_dsp_helpers import small_radar, target_cube


@pytest.mark.parametrize("name", sorted(WINDOWS))
def test_range_fft_tone_lands_in_its_bin_for_every_window(name):
    """A beat tone at k0 + 0 cycles per N samples peaks at bin k0 (complex sampling)."""
    n, k0 = 128, 37
    tone = np.exp(2j * np.pi * k0 * np.arange(n) / n).astype(np.complex64)
    spectrum = RangeFFT(window=name)(tone[None])
    assert spectrum.shape == (1, n)
    assert int(np.argmax(np.abs(spectrum[0]))) == k0


def test_range_fft_real_sampling_keeps_positive_half():
    """Real sampling: N/2 bins returned, the tone at its positive-frequency bin."""
    n, k0 = 128, 21
    tone = np.cos(2 * np.pi * k0 * np.arange(n) / n).astype(np.complex64)
    spectrum = RangeFFT(complex_sampling=False)(tone)
    assert spectrum.shape == (n // 2,)
    assert int(np.argmax(np.abs(spectrum))) == k0


def test_range_axis_with_zero_padding():
    """Bin spacing dR * N / num_bins [m]."""
    axis = RangeFFT(num_bins=256).range_axis_m(0.04, 64)
    assert axis.shape == (256,)
    assert math.isclose(axis[1], 0.01)


def test_point_target_range_and_velocity_bins():
    """Simulated target at R, v: range bin R/dR (within one bin), Doppler bin N/2 + v/dv."""
    radar = small_radar()
    for velocity in (2.1, -3.4):
        rd = RangeDopplerProcessor()(target_cube(radar, 5.0, velocity, 0.0))
        d, r = np.unravel_index(np.argmax(rd.power[0]), rd.power[0].shape)
        assert abs(rd.range_axis_m[r] - 5.0) <= radar.range_resolution_m
        assert abs(rd.velocity_axis_mps[d] - velocity) <= radar.velocity_resolution_mps
        assert np.sign(d - rd.power.shape[1] // 2) == np.sign(velocity)


def test_velocity_axis_is_centred_and_spaced_by_resolution():
    axis = DopplerFFT().velocity_axis_mps(0.1, 32)
    assert axis[16] == 0.0
    assert math.isclose(axis[17] - axis[16], 0.1)
    padded = DopplerFFT(num_bins=128).velocity_axis_mps(0.1, 32)
    assert padded[64] == 0.0 and math.isclose(padded[65], 0.025)


def test_clutter_removal_suppresses_static_reflector_by_40_db():
    """A static reflector (wall corner) at 3 m loses > 40 dB; a mover at 6 m keeps its power."""
    radar = small_radar()
    wall = StaticReflectors(np.array([[0.3, 3.0, 0.0]]), np.array([10.0]))
    cube = target_cube(radar, 6.0, 1.5, 0.2, noise=False, extra=[wall])
    kept = RangeDopplerProcessor(clutter_removal=False)(cube).power[0]
    removed = RangeDopplerProcessor(clutter_removal=True)(cube).power[0]
    static_bin = round(math.hypot(0.3, 3.0) / radar.range_resolution_m)
    mover_bin = round(6.0 / radar.range_resolution_m)
    zero = kept.shape[0] // 2
    window = slice(static_bin - 1, static_bin + 2)
    suppression_db = power_to_db(kept[zero, window].max() / removed[:, window].max())
    assert suppression_db > 40.0
    mover_change_db = power_to_db(
        kept[:, mover_bin - 1 : mover_bin + 2].max()
        / removed[:, mover_bin - 1 : mover_bin + 2].max()
    )
    assert abs(mover_change_db) < 0.5


def test_remove_static_clutter_zero_mean_over_loops():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(2, 8, 3, 4, 16)) + 5).astype(np.complex64)
    out = remove_static_clutter(x)
    assert np.allclose(out.mean(axis=1), 0, atol=1e-5)


def test_tdm_compensation_restores_angles_of_fast_target():
    """At 5 m/s the chirp-to-chirp Doppler phase (0.44 rad) corrupts the angles unless undone.

    TX order 0, 2, 1: the elevated TX1 fires last, so its elements carry twice the phase;
    uncompensated, the elevation even flips sign. Tolerances: 1 deg when compensated.
    """
    radar = small_radar()
    azimuth, elevation = math.radians(15.0), math.radians(5.0)
    cube = target_cube(radar, 4.0, 5.0, azimuth, elevation, noise=False)
    geometry = VirtualArrayGeometry.from_config(radar)
    rd = RangeDopplerProcessor()(cube)
    d, r = np.unravel_index(np.argmax(rd.power[0]), rd.power[0].shape)
    compensated = rd.spectra[0, d, :, :, r].reshape(1, -1, 1)
    undo = TdmDopplerCompensation(radar.chirp_time_s, radar.wavelength_m).phase(
        rd.velocity_axis_mps, radar.chirps_per_loop
    )[d]
    uncompensated = (rd.spectra[0, d, :, :, r] / undo[:, None]).reshape(1, -1, 1)
    est = FFTBeamformer()
    good_az, good_el = est.estimate(compensated, geometry)
    bad_az, bad_el = est.estimate(uncompensated, geometry)
    assert abs(math.degrees(good_az[0] - azimuth)) < 1.0
    assert abs(math.degrees(good_el[0] - elevation)) < 1.0
    assert abs(math.degrees(bad_az[0] - azimuth)) > 1.0
    assert bad_el[0] < 0 < elevation


def test_noncoherent_power_sums_channels():
    x = np.ones((4, 3, 4, 8), dtype=np.complex64) * (1 + 1j)
    assert np.allclose(noncoherent_power(x), 24.0)


def test_bad_inputs_are_named():
    with pytest.raises(DspError, match="unknown window"):
        RangeFFT(window="kaiser-nope")
    with pytest.raises(DspError, match="velocity_axis_mps"):
        TdmDopplerCompensation(1e-5, 4e-3)(np.zeros((8, 3, 4, 16), np.complex64), np.zeros(7))
    with pytest.raises(DspError, match="RadarCube"):
        RangeDopplerProcessor()(np.zeros((1, 2, 3, 4, 5)))
