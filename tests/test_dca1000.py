"""DCA1000 capture reader: documented sample order, round trips, and bad files."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from mmexpert.data import (
    DCA1000_LAYOUTS,
    Dca1000Error,
    Dca1000Warning,
    decode_dca1000,
    frame_size_bytes,
    read_dca1000,
    reinterpret_unsigned_int16,
    write_dca1000,
)
from mmexpert.data.dca1000 import adc_step_v
from mmexpert.radar.config import AntennaArray, ChirpProfile, FrameConfig, RadarConfig
from mmexpert.radar.scene import Scene, point_target
from mmexpert.radar.synthesis import simulate
from test_dsp_helpers import SEED, small_radar


def tiny_radar(num_rx: int, complex_sampling: bool = True) -> RadarConfig:
    """1 TX, ``num_rx`` RX, 1 loop, 4 samples: small enough to write the words by hand."""
    half = 299_792_458.0 / 77e9 / 2
    radar = small_radar()
    return dataclasses.replace(
        radar,
        profile=ChirpProfile(77e9, 70e12, 7e-6, 1e-6, 5e-6, 4, 5e6),
        frame=FrameConfig(((0,),), 1, 1e-3),
        antennas=AntennaArray(
            ((0.0, 0.0, 0.0),), tuple((r * half, 0.0, 0.0) for r in range(num_rx))
        ),
        receiver=dataclasses.replace(radar.receiver, complex_sampling=complex_sampling),
    )


def test_xwr16xx_complex_order_is_i0_i1_q0_q1():
    radar = tiny_radar(num_rx=1)
    words = np.array([1, 2, 10, 20, 3, 4, 30, 40], dtype=np.int16)
    adc = decode_dca1000(words, radar, "xwr16xx") / adc_step_v(radar)
    assert np.allclose(adc.ravel(), [1 + 10j, 2 + 20j, 3 + 30j, 4 + 40j])
    swapped = decode_dca1000(words, radar, "xwr16xx", iq_swap=True) / adc_step_v(radar)
    assert np.allclose(swapped.ravel(), [10 + 1j, 20 + 2j, 30 + 3j, 40 + 4j])


def test_xwr16xx_rx_blocks_follow_each_other():
    radar = tiny_radar(num_rx=2, complex_sampling=False)
    words = np.arange(8, dtype=np.int16)  # rx0: 0..3, rx1: 4..7
    adc = decode_dca1000(words, radar, "xwr16xx") / adc_step_v(radar)
    assert np.allclose(adc[0, 0, 0], [[0, 1, 2, 3], [4, 5, 6, 7]])


def test_xwr14xx_complex_order_is_i_of_all_rx_then_q():
    radar = tiny_radar(num_rx=2)
    # sample 0: I(rx0) I(rx1) Q(rx0) Q(rx1); then sample 1 ...
    words = np.array([1, 5, 10, 50, 2, 6, 20, 60, 3, 7, 30, 70, 4, 8, 40, 80], dtype=np.int16)
    adc = decode_dca1000(words, radar, "xwr14xx") / adc_step_v(radar)
    assert np.allclose(adc[0, 0, 0, 0], [1 + 10j, 2 + 20j, 3 + 30j, 4 + 40j])
    assert np.allclose(adc[0, 0, 0, 1], [5 + 50j, 6 + 60j, 7 + 70j, 8 + 80j])


@pytest.mark.parametrize("layout", DCA1000_LAYOUTS)
@pytest.mark.parametrize("complex_sampling", [True, False])
@pytest.mark.parametrize("iq_swap", [False, True])
def test_simulated_cube_round_trips_exactly(tmp_path, layout, complex_sampling, iq_swap):
    """A quantized simulated cube written as a capture reads back bit for bit."""
    radar = small_radar(num_loops=16, complex_sampling=complex_sampling)
    scene = Scene([point_target(radar, 3.0, 1.0, math.radians(10.0), rcs_m2=10.0)])
    cube = simulate(radar, scene, 3, np.random.default_rng(SEED), method="exact")
    path = tmp_path / "adc_data.bin"
    written = write_dca1000(path, cube, layout, iq_swap)
    assert written == path.stat().st_size == 3 * frame_size_bytes(radar)
    back = read_dca1000(path, radar, layout=layout, iq_swap=iq_swap)
    assert back.adc.shape == cube.adc.shape
    assert np.array_equal(back.adc, cube.adc)
    assert np.allclose(back.frame_times_s, cube.frame_times_s)
    assert np.array_equal(read_dca1000(path, radar, 2, layout, iq_swap).adc, cube.adc[:2])


def test_truncated_file_is_refused(tmp_path):
    radar = small_radar(num_loops=16)
    path = tmp_path / "short.bin"
    np.zeros(frame_size_bytes(radar) // 2 - 10, dtype=np.int16).tofile(path)
    with pytest.raises(Dca1000Error, match="truncated"):
        read_dca1000(path, radar)


def test_partial_last_frame_is_dropped_with_a_warning(tmp_path):
    radar = small_radar(num_loops=16)
    path = tmp_path / "partial.bin"
    frame_words = frame_size_bytes(radar) // 2
    np.arange(2 * frame_words + 333, dtype=np.int64).astype(np.int16).tofile(path)
    with pytest.warns(Dca1000Warning, match="dropped the last 666 bytes"):
        cube = read_dca1000(path, radar)
    assert cube.num_frames == 2
    with pytest.raises(Dca1000Error, match="holds 2 whole frames"):
        read_dca1000(path, radar, num_frames=3)


def test_wrong_dtype_and_layout_are_named(tmp_path):
    radar = small_radar(num_loops=16)
    words = np.zeros(frame_size_bytes(radar) // 2)
    with pytest.raises(Dca1000Error, match="int16"):
        decode_dca1000(words.astype(np.float32), radar)
    with pytest.raises(Dca1000Error, match="view"):
        decode_dca1000(words.astype(np.uint16), radar)
    with pytest.raises(Dca1000Error, match="unknown DCA1000 layout"):
        decode_dca1000(words.astype(np.int16), radar, layout="xwr99xx")
    with pytest.raises(Dca1000Error, match="not found"):
        read_dca1000(tmp_path / "missing.bin", radar)


def test_unsigned_reinterpretation():
    x = np.array([0, 1, 32767, 32768, 65535], dtype=np.float64)
    assert np.array_equal(reinterpret_unsigned_int16(x), [0, 1, 32767, -32768, -1])
    z = reinterpret_unsigned_int16(np.array([65535 + 2j]))
    assert z[0] == -1 + 2j
    with pytest.raises(Dca1000Error, match="unsigned"):
        reinterpret_unsigned_int16(np.array([-5.0]))
