"""Radar presets and boards: every preset parses, validates and matches closed-form physics.

The closed forms are computed here from the raw numbers of each cfg file, read with a few
lines of string splitting (not with mmexpert's parser). Wavelength convention: like
RadarConfig, lambda is taken at the RF frequency at the centre of the ADC window,
``f0 + S * (adc_start + N / (2 fs))``. The RadHAR check below shows that TI's own chain
uses the same convention.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from mmexpert.constants import SPEED_OF_LIGHT_MPS as C
from mmexpert.radar import RadarConfigError
from mmexpert.radar.devices import (
    DEVICES,
    DEVICES_FILE,
    device_for_frequency,
    get_device,
    list_devices,
    load_ti_ant_geometry,
)
from mmexpert.radar.presets import PRESET_DIR, UnknownPresetError, list_presets, load_radar
from mmexpert.radar.ticfg import parse_ti_cfg, to_ti_cfg

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
RADHAR = SHARED / "data" / "radhar-sample"
EXPECTED_PRESETS = {
    "iwr1843-udoppler",
    "iwr1843-demo",
    "iwr1443-30fps",
    "iwr1443-radhar",
    "iwr6843isk",
}


def raw_commands(path: Path) -> dict[str, list[list[str]]]:
    """command -> list of argument lists, plus the '% device:' value under 'device'."""
    out: dict[str, list[list[str]]] = {}
    for line in path.read_text().splitlines():
        if line.lower().startswith("% device:"):
            out["device"] = [[line.split(":", 1)[1].strip()]]
        body = line.split("%", 1)[0].split()
        if body:
            out.setdefault(body[0], []).append(body[1:])
    return out


def closed_form(path: Path) -> dict[str, float]:
    cmds = raw_commands(path)
    p = [float(v) for v in cmds["profileCfg"][0]]
    f0, idle, adc_start, ramp = p[1] * 1e9, p[2] * 1e-6, p[3] * 1e-6, p[4] * 1e-6
    slope, n, fs = p[7] * 1e12, int(p[9]), p[10] * 1e3
    fr = [float(v) for v in cmds["frameCfg"][0]]
    first, last, loops, period = int(fr[0]), int(fr[1]), int(fr[2]), fr[4] * 1e-3
    chirps = last - first + 1
    complex_adc = int(cmds["adcCfg"][0][1]) != 0
    lam = C / (f0 + slope * (adc_start + n / (2 * fs)))
    t_loop = chirps * (idle + ramp)

    # virtual azimuth row from the board's layout file (units of lambda/2 at the design freq)
    board = json.loads(DEVICES_FILE.read_text())[cmds["device"][0][0]]
    rx_mask = int(cmds["channelCfg"][0][0])
    tx_masks = {int(a[0]): int(a[7]) for a in cmds["chirpCfg"]}
    tx_pos = np.array(board["tx_positions_half_wavelengths"], float)
    rx_pos = np.array(board["rx_positions_half_wavelengths"], float)
    rx_pos = rx_pos[[i for i in range(len(rx_pos)) if rx_mask >> i & 1]]
    virtual = np.array(
        [
            tx_pos[[i for i in range(len(tx_pos)) if tx_masks[k] >> i & 1]].mean(axis=0) + r
            for k in range(first, last + 1)
            for r in rx_pos
        ]
    )
    row = virtual[np.isclose(virtual[:, 2], virtual[:, 2].min())]
    xs = np.unique(row[:, 0])
    d = np.min(np.diff(xs)) * C / board["design_freq_ghz"] / 1e9 / 2
    return {
        "range_resolution_m": C * fs / (2 * slope * n),
        "max_range_m": fs * C / (2 * slope) * (1 if complex_adc else 0.5),
        "max_velocity_mps": lam / (4 * t_loop),
        "velocity_resolution_mps": lam / (2 * loops * t_loop),
        "frame_rate_hz": 1 / period,
        "duty_cycle": loops * t_loop / period,
        "azimuth_resolution_rad": lam / (len(xs) * d),
        "chirps_per_loop": chirps,
        "num_loops": loops,
    }


def test_list_presets_is_the_shipped_cfgs():
    assert set(list_presets()) == EXPECTED_PRESETS
    assert list_presets() == sorted(p.stem for p in PRESET_DIR.glob("*.cfg"))


@pytest.mark.parametrize("preset", sorted(EXPECTED_PRESETS))
def test_preset_derived_quantities_match_closed_form(preset):
    radar = load_radar(preset)
    assert radar.name == preset
    truth = closed_form(PRESET_DIR / f"{preset}.cfg")
    assert radar.chirps_per_loop == truth["chirps_per_loop"]
    assert radar.frame.num_loops == truth["num_loops"]
    for key in (
        "range_resolution_m",
        "max_range_m",
        "max_velocity_mps",
        "velocity_resolution_mps",
        "frame_rate_hz",
        "duty_cycle",
    ):
        assert getattr(radar, key) == pytest.approx(truth[key], rel=1e-9), key
    # RadarConfig.azimuth_aperture rounds element x to 1 nm before taking the spacing
    # (d ~ 2 mm), hence 1e-6 here
    assert radar.azimuth_resolution_rad == pytest.approx(truth["azimuth_resolution_rad"], rel=1e-6)


@pytest.mark.parametrize("preset", sorted(EXPECTED_PRESETS))
def test_preset_names_its_device(preset):
    radar = load_radar(preset)
    assert radar.device.name == raw_commands(PRESET_DIR / f"{preset}.cfg")["device"][0][0]
    assert radar.device == DEVICES[radar.device.name].limits


def test_udoppler_preset_meets_its_design_targets():
    radar = load_radar("iwr1843-udoppler")
    lam_77 = C / 77e9
    assert radar.chirp_time_s == pytest.approx(156e-6)
    # v_max ~ +-6.2 m/s with lambda at 77 GHz (TI's quoted convention), 6.07 at the centre
    assert lam_77 / (4 * radar.loop_time_s) == pytest.approx(6.24, abs=0.01)
    assert radar.max_velocity_mps == pytest.approx(6.07, abs=0.01)
    assert radar.ramp_bandwidth_hz == pytest.approx(3.92e9)
    assert radar.range_resolution_m == pytest.approx(0.0436, abs=1e-4)
    assert radar.frame_rate_hz == pytest.approx(50.0)
    assert radar.chirps_per_loop == 1 and len(radar.antennas.rx_positions_m) == 4


def test_demo_preset_has_the_out_of_box_velocity_range():
    radar = load_radar("iwr1843-demo")
    assert radar.chirps_per_loop == 3 and radar.frame.num_loops == 16
    assert C / 77e9 / (4 * radar.loop_time_s) == pytest.approx(1.0, abs=0.01)
    assert radar.frame.frame_period_s == pytest.approx(0.25)
    assert radar.azimuth_aperture[0] == 8  # TX1 + TX3 x 4 RX in azimuth, TX2 elevated


def test_radhar_preset_matches_the_radhar_recordings():
    """The real RadHAR points sit on this preset's range and Doppler grids (float32 exact)."""
    if not RADHAR.is_dir():
        pytest.skip(f"RadHAR sample absent: {RADHAR}")
    ranges, velocities, doppler_bins = [], [], set()
    for path in sorted(RADHAR.glob("*/*.txt")):
        for line in path.read_text().splitlines():
            key, _, value = line.partition(":")
            if key == "range":
                ranges.append(float(value))
            elif key == "velocity":
                velocities.append(float(value))
            elif key == "doppler_bin":
                doppler_bins.add(int(value))
    radar = load_radar("iwr1443-radhar")
    r = np.array(ranges) / radar.range_resolution_m
    v = np.array(velocities) / radar.velocity_resolution_mps
    assert len(r) > 1000
    np.testing.assert_allclose(r, np.round(r), atol=1e-4)
    # the step is lambda at the ADC-window centre / (2 N_loops T_loop): 1e-4 would already
    # reject lambda at 77 GHz (2.9 % off), so this pins the convention too
    np.testing.assert_allclose(v, np.round(v), atol=1e-4)
    assert np.abs(np.round(v)).max() > 5
    assert max(doppler_bins) - min(doppler_bins) < radar.frame.num_loops
    assert radar.frame_rate_hz == pytest.approx(30.0, rel=1e-3)


def test_load_radar_by_path_and_device_override():
    path = PRESET_DIR / "iwr1843-demo.cfg"
    by_path = load_radar(str(path))
    assert by_path == load_radar("iwr1843-demo")
    other = load_radar("iwr1843-demo", device="iwr1443boost")
    assert other.device.name == "iwr1443boost"
    assert other.receiver.noise_figure_db == DEVICES["iwr1443boost"].noise_figure_db


def test_load_radar_unknown_lists_presets():
    with pytest.raises(UnknownPresetError) as info:
        load_radar("iwr9999-nothing")
    message = str(info.value)
    assert "iwr9999-nothing" in message
    for name in EXPECTED_PRESETS:
        assert name in message
    assert isinstance(info.value, RadarConfigError)


def test_shared_tools_cfg_parses_as_documented():
    path = SHARED / "tools" / "iwr1843_tdm.cfg"
    if not path.is_file():
        pytest.skip(f"shared tools cfg absent: {path}")
    radar = load_radar(str(path))
    board = DEVICES["iwr1843boost"]
    assert radar.device.name == "iwr1843boost"  # inferred from 77 GHz
    assert radar.chirps_per_loop == 2
    assert radar.frame.chirp_tx == ((0,), (1,))
    # enabled TX are TX1 and TX3: x = 0 and 2 lambda, both at z = 0
    assert radar.antennas.tx_positions_m == (board.tx_positions_m[0], board.tx_positions_m[2])
    assert radar.frame.num_loops == 128
    assert radar.frame.frame_period_s == pytest.approx(0.1)
    assert radar.azimuth_aperture[0] == 8
    assert radar.azimuth_aperture[1] == pytest.approx(board.design_wavelength_m / 2)
    assert parse_ti_cfg(to_ti_cfg(radar), name=radar.name) == radar


# ------------------------------------------------------------------------------ boards
def test_device_registry_and_lookup():
    assert set(list_devices()) >= {"iwr1843boost", "iwr1443boost", "iwr6843isk"}
    assert get_device("IWR1843BOOST") is DEVICES["iwr1843boost"]
    with pytest.raises(RadarConfigError, match="supported devices: iwr1443boost"):
        get_device("awr9999")
    assert device_for_frequency(60.25e9) == "iwr6843isk"
    assert device_for_frequency(77e9) == "iwr1843boost"
    with pytest.raises(RadarConfigError, match="lies in no supported band"):
        device_for_frequency(24e9)


@pytest.mark.parametrize("name", ["iwr1843boost", "iwr1443boost"])
def test_boost_layout_gives_8_azimuth_plus_4_elevated(name):
    board = DEVICES[name]
    lam = board.design_wavelength_m
    tx, rx = np.array(board.tx_positions_m), np.array(board.rx_positions_m)
    np.testing.assert_allclose(tx, [[0, 0, 0], [lam, 0, lam / 2], [2 * lam, 0, 0]], atol=1e-15)
    np.testing.assert_allclose(rx[:, 0], np.arange(4) * lam / 2, atol=1e-15)
    virtual = (tx[:, None, :] + rx[None, :, :]).reshape(-1, 3)
    low = virtual[np.isclose(virtual[:, 2], 0)]
    high = virtual[np.isclose(virtual[:, 2], lam / 2)]
    assert len(np.unique(np.round(low[:, 0] / (lam / 2), 9))) == 8
    assert len(high) == 4
    assert board.limits.min_freq_hz == 76e9 and board.limits.max_freq_hz == 81e9


def test_isk_layout_matches_ti_ant_geometry():
    """Our ISK positions, mirrored in x, give TI's antGeometry0/1 virtual offsets."""
    board = DEVICES["iwr6843isk"]
    geometry = load_ti_ant_geometry("iwr6843isk")
    assert geometry is not None
    tx = np.array(board.tx_positions_half_wavelengths)
    rx = np.array(board.rx_positions_half_wavelengths)
    virtual = (tx[:, None, :] + rx[None, :, :]).reshape(-1, 3)  # TX1 RX1-4, TX2 ..., TX3 ...
    az = np.array(geometry["antGeometry0"], float)
    el = np.array(geometry["antGeometry1"], float)
    np.testing.assert_array_equal(-virtual[:, 0], az)
    np.testing.assert_array_equal(virtual[:, 2] - virtual[:, 2].min(), el - el.min())
    assert board.design_freq_hz == pytest.approx(60.5e9)
    assert board.limits.min_freq_hz == 60e9 and board.limits.max_freq_hz == 64e9
    assert math.isclose(board.noise_figure_db, 12.0)
