"""The chain on real TI ADC frames (OpenRadar tutorial assets, ../shared/data/ti-adc-sample).

The arrays hold int16 ADC words that were read as unsigned and converted to complex, so
each rail is reinterpreted first. The scene is unlabelled: the checks are physical
plausibility, not truth. Skipped when the folder is absent.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mmexpert.data import read_dca1000, reinterpret_unsigned_int16, write_dca1000
from mmexpert.data.dca1000 import adc_step_v
from mmexpert.dsp import (
    POINT_DTYPE,
    DopplerFFT,
    ProcessingChain,
    RangeDopplerProcessor,
    RangeFFT,
    noncoherent_power,
    remove_static_clutter,
)
from mmexpert.radar.config import ChirpProfile, FrameConfig, RadarConfig
from mmexpert.radar.cube import RadarCube
from mmexpert.radar.devices import get_device

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "ti-adc-sample"
FILES = ("simple_frame_1.npy", "doppler_example.npy", "doppler_example_1.npy")


def load(name: str) -> np.ndarray:
    path = SAMPLE_DIR / name
    if not path.is_file():
        pytest.skip(f"real TI ADC sample absent: {path}")
    return reinterpret_unsigned_int16(np.load(path))


def sample_radar() -> RadarConfig:
    """doppler_example_1: 2 TX (TDM) x 4 RX, 128 loops, 128 samples at 2.5 Msps, 60 MHz/us.

    The README states start 77.4201 GHz, idle 30 us, ramp end 62 us; that ramp would end at
    81.14 GHz, beyond the 81 GHz band, so the ramp end is taken as 58 us and the idle as
    34 us (same 92 us chirp period; ADC start 6 us is assumed, the README gives none).
    Antennas: TX1 and TX3 of an xWR18xx BOOST (2 lambda apart), 8 azimuth virtual elements.
    """
    dev = get_device("iwr1843boost")
    return RadarConfig(
        name="openradar-doppler-example-1",
        profile=ChirpProfile(77.4201e9, 60e12, 34e-6, 6e-6, 58e-6, 128, 2.5e6),
        frame=FrameConfig(((0,), (1,)), 128, 0.05),
        antennas=dev.antenna_array(tx_indices=(0, 2)),
        receiver=dev.receiver(),
        device=dev.limits,
    )


def sample_cube() -> RadarCube:
    words = load("doppler_example_1.npy")  # (128 chirp loops, 8 virtual = tx * 4 + rx, 128)
    radar = sample_radar()
    adc = words.reshape(1, 128, 2, 4, 128).astype(np.complex64) * np.float32(adc_step_v(radar))
    return RadarCube(adc=adc, config=radar, frame_times_s=np.zeros(1))  # [V]


@pytest.mark.parametrize("name", FILES)
def test_raw_words_are_plausible_adc_samples(name):
    """After reinterpretation: no clipping, I/Q balanced within 15 %, DC below half the std."""
    x = load(name)
    assert np.abs(x.real).max() < 32767 and np.abs(x.imag).max() < 32767
    assert 0.85 < x.real.std() / x.imag.std() < 1.15
    assert abs(x.mean()) < 0.5 * x.real.std()


@pytest.mark.parametrize("name", FILES)
def test_range_doppler_peak_stands_out(name):
    """Clutter-removed range-Doppler map: the strongest cell is > 30 dB over the median."""
    x = load(name)
    x = x.reshape(x.shape[0], 1, -1, x.shape[-1])  # (loops, tx=1, channels, samples)
    power = noncoherent_power(DopplerFFT()(remove_static_clutter(RangeFFT()(x))))
    assert 10 * math.log10(power.max() / np.median(power)) > 30.0


def test_sample_cube_matches_its_config():
    cube = sample_cube()
    radar = cube.config
    assert cube.adc.shape == (1, 128, 2, 4, 128)
    assert radar.range_resolution_m == pytest.approx(0.0488, abs=1e-4)
    assert radar.azimuth_aperture[0] == 8


def test_chain_on_real_frame_gives_finite_points_on_a_mover():
    """The chain finds the moving reflector (about 2.9 m, +0.56 m/s) as a finite point; the
    static clutter at the first range bins (> 45 dB before removal) is gone."""
    cube = sample_cube()
    out = ProcessingChain()(cube)
    points = out.points[0]
    assert points.dtype == POINT_DTYPE and 1 <= points.size <= 50
    for field in POINT_DTYPE.names:
        assert np.all(np.isfinite(points[field]))
    assert np.all(points["intensity"] > cube.config.chain.cfar_range_threshold_db)
    assert np.all(points["velocity"] != 0.0)
    strongest = points[np.argmax(points["intensity"])]
    assert 0.5 < strongest["range"] < cube.config.max_range_m
    # Non-coherent map: the noise floor (median) sits far below the detections.
    power = out.range_doppler.power[0]
    assert 10 * math.log10(power.max() / np.median(power)) > 30.0
    without_removal = RangeDopplerProcessor(clutter_removal=False)(cube).power[0]
    zero = without_removal.shape[0] // 2
    assert 10 * math.log10(without_removal[zero, :4].max() / np.median(without_removal)) > 40.0
    assert np.all(np.isfinite(out.azimuth_time.power)) and out.azimuth_time.power.shape == (128, 1)


@pytest.mark.parametrize("layout", ["xwr16xx", "xwr14xx"])
def test_real_frame_through_a_dca1000_file_gives_the_same_points(tmp_path, layout):
    """The real words written as a DCA1000 capture and read back: same cube, same points."""
    cube = sample_cube()
    path = tmp_path / "adc_data.bin"
    write_dca1000(path, cube, layout)
    back = read_dca1000(path, cube.config, layout=layout)
    assert np.array_equal(back.adc, cube.adc)
    a, b = ProcessingChain()(cube).points[0], ProcessingChain()(back).points[0]
    assert np.array_equal(a, b)
