"""TI .cfg reading and writing: units, masks, CFAR forms, errors with file and line, round trip."""

import dataclasses
import math
from pathlib import Path

import pytest

from mmexpert.radar import ChainSettings, RadarConfigError
from mmexpert.radar.devices import DEVICES
from mmexpert.radar.presets import PRESET_DIR, list_presets, load_radar
from mmexpert.radar.ticfg import TiCfgError, parse_ti_cfg, to_ti_cfg

DATA = Path(__file__).resolve().parent / "data" / "cfg"

BASE = """\
% device: iwr1843boost
sensorStop
flushCfg
dfeDataOutputMode 1
channelCfg 15 5 0
adcCfg 2 1
adcbufCfg -1 0 1 1 1
profileCfg 0 77 7 6 60 0 0 60 1 256 5000 0 0 30
chirpCfg 0 0 0 0 0 0 0 1
chirpCfg 1 1 0 0 0 0 0 4
frameCfg 0 1 128 0 100 1 0
cfarCfg -1 0 2 8 4 3 0 15 1
cfarCfg -1 1 0 4 2 3 1 12.5 1
aoaFovCfg -1 -60 60 -20 30
cfarFovCfg -1 0 0.5 9.0
cfarFovCfg -1 1 -3 3
clutterRemoval -1 1
sensorStart
"""


def test_units_are_converted_to_si():
    radar = parse_ti_cfg(BASE, name="base")
    p = radar.profile
    assert p.start_freq_hz == pytest.approx(77e9)
    assert p.idle_time_s == pytest.approx(7e-6)
    assert p.adc_start_time_s == pytest.approx(6e-6)
    assert p.ramp_end_time_s == pytest.approx(60e-6)
    assert p.slope_hz_per_s == pytest.approx(60e12)
    assert p.tx_start_time_s == pytest.approx(1e-6)
    assert p.num_adc_samples == 256
    assert p.sample_rate_hz == pytest.approx(5e6)
    assert p.rx_gain_db == 30
    assert radar.frame.frame_period_s == pytest.approx(0.1)
    assert radar.frame.num_loops == 128 and radar.frame.num_frames == 0
    assert radar.name == "base"


def test_channel_masks_select_antennas_in_order():
    board = DEVICES["iwr1843boost"]
    text = BASE.replace("channelCfg 15 5 0", "channelCfg 10 7 0")  # RX2+RX4, TX1-3
    text = text.replace("chirpCfg 1 1 0 0 0 0 0 4", "chirpCfg 1 1 0 0 0 0 0 6")  # TX2+TX3
    radar = parse_ti_cfg(text)
    assert radar.antennas.rx_positions_m == (board.rx_positions_m[1], board.rx_positions_m[3])
    assert radar.antennas.tx_positions_m == board.tx_positions_m
    assert radar.frame.chirp_tx == ((0,), (1, 2))


def test_chain_settings_from_cfar_fov_and_clutter_commands():
    ch = parse_ti_cfg(BASE).chain
    assert (ch.cfar_range_train, ch.cfar_range_guard) == (8, 4)
    assert ch.cfar_range_threshold_db == 15.0
    assert (ch.cfar_doppler_train, ch.cfar_doppler_guard) == (4, 2)
    assert ch.cfar_doppler_threshold_db == 12.5
    assert ch.cfar_kind == "caso"  # range pass mode 2
    assert ch.azimuth_fov_rad == pytest.approx((math.radians(-60), math.radians(60)))
    assert ch.elevation_fov_rad == pytest.approx((math.radians(-20), math.radians(30)))
    assert ch.range_fov_m == (0.5, 9.0)
    assert ch.doppler_fov_mps == (-3.0, 3.0)
    assert ch.clutter_removal is True
    assert parse_ti_cfg(BASE.replace("clutterRemoval -1 1", "clutterRemoval -1 0")).chain == (
        dataclasses.replace(ch, clutter_removal=False)
    )


def test_absent_chain_commands_keep_defaults():
    text = "\n".join(
        line
        for line in BASE.splitlines()
        if not line.startswith(("cfarCfg", "aoaFovCfg", "cfarFovCfg", "clutterRemoval"))
    )
    assert parse_ti_cfg(text).chain == ChainSettings()


def test_sdk2_fixed_point_cfar_threshold():
    """8-argument cfarCfg: dB = raw * 6 / (256 * N_virtual); 3072 with 2 TX x 4 RX = 9 dB."""
    radar = parse_ti_cfg(DATA / "valid" / "sdk2_cfar_fixed_point.cfg")
    assert radar.chirps_per_loop * len(radar.antennas.rx_positions_m) == 8
    assert radar.chain.cfar_range_threshold_db == pytest.approx(9.0)
    assert radar.chain.cfar_doppler_threshold_db == pytest.approx(9.0)
    assert radar.chain.cfar_kind == "ca"
    assert radar.device.name == "iwr1843boost"  # no device line: inferred from 77 GHz


def test_sdk1_cfar_threshold_and_clutter_forms():
    """7-argument cfarCfg (xWR14xx SDK 1.x): 768 = 9 dB; 1-argument clutterRemoval."""
    radar = load_radar("iwr1443-radhar")
    assert radar.chain.cfar_range_threshold_db == pytest.approx(9.0)
    assert radar.chain.cfar_kind == "caso"
    assert radar.chain.clutter_removal is False


def test_real_adc_14_bits_and_68xx_rx_gain_code():
    radar = parse_ti_cfg(DATA / "valid" / "xwr68xx_rxgain_real_adc.cfg")
    assert radar.device.name == "iwr6843isk"  # no device line: inferred from 60 GHz
    assert radar.receiver.complex_sampling is False
    assert radar.receiver.adc_bits == 14
    assert radar.profile.rx_gain_db == 30  # 158 = 0b10_011110: gain target bits + 30 dB
    assert radar.max_range_m == pytest.approx(
        radar.profile.sample_rate_hz * 299792458.0 / (2 * radar.profile.slope_hz_per_s) / 2
    )
    assert radar.chain.cfar_kind == "cago"


def test_device_choice_precedence():
    assert parse_ti_cfg(BASE).device.name == "iwr1843boost"
    assert parse_ti_cfg(BASE, device="iwr1443boost").device.name == "iwr1443boost"
    no_line = BASE.replace("% device: iwr1843boost\n", "")
    assert parse_ti_cfg(no_line).device.name == "iwr1843boost"
    with pytest.raises(TiCfgError, match="unknown radar device 'nope'"):
        parse_ti_cfg(BASE, device="nope")


def test_path_given_as_string_or_path_and_missing_file():
    path = PRESET_DIR / "iwr1843-demo.cfg"
    assert parse_ti_cfg(str(path)) == parse_ti_cfg(path)
    assert parse_ti_cfg(path).name == "iwr1843-demo"
    with pytest.raises(TiCfgError, match="not found"):
        parse_ti_cfg("/nonexistent/radar.cfg")


# (fixture, substring of the message, line the message must name or None)
INVALID = [
    ("ramp_too_short", "ramp too short for the ADC samples", 9),
    ("frame_shorter_than_chirps", "frame shorter than its chirps", 12),
    ("sample_rate_beyond_device", "ADC sample rate 15.000 Msps exceeds the iwr1843boost limit", 9),
    ("slope_beyond_device", "slope 120.000 MHz/us exceeds the iwr1843boost limit", 9),
    ("bandwidth_beyond_device", "bandwidth 4.800 GHz (slope x ramp end) exceeds", 9),
    ("band_edge", "above the iwr1843boost band edge 81.0 GHz", 9),
    ("start_outside_band", "start frequency 70.000 GHz is outside the iwr1843boost band", 9),
    ("unknown_command", "unknown command 'frobnicateCfg'", 13),
    ("wrong_arg_count", "wrong number of arguments for profileCfg: expected 14, got 13", 9),
    ("non_numeric", "non-numeric argument 8 of profileCfg: 'sixty'", 9),
    ("missing_profilecfg", "missing required command profileCfg", None),
    ("tx_not_enabled", "chirpCfg: chirp 1 uses TX3, which is not enabled by channelCfg", 11),
    ("chirp_index_out_of_range", "frameCfg chirp index 2 out of range", 12),
    ("undefined_profile", "chirpCfg references undefined profile 1", 11),
    ("unknown_device", "unknown radar device 'awr9999'", 2),
    ("chirp_variation", "per-chirp variations", 11),
    ("bpm_enabled", "BPM-MIMO", 13),
    ("rx_beyond_device", "rxEnable enables antenna 5, but iwr1843boost has 4", 6),
]


def test_every_invalid_fixture_is_covered():
    assert {p.stem for p in (DATA / "invalid").glob("*.cfg")} == {name for name, _, _ in INVALID}


@pytest.mark.parametrize(("fixture", "phrase", "line"), INVALID)
def test_invalid_cfg_names_the_violated_constraint(fixture, phrase, line):
    path = DATA / "invalid" / f"{fixture}.cfg"
    with pytest.raises(TiCfgError) as info:
        parse_ti_cfg(path)
    message = str(info.value)
    assert isinstance(info.value, RadarConfigError)
    assert phrase in message
    assert path.name in message
    if line is not None:
        assert f"line {line}" in message
        # the named line really is the offending command
        named = path.read_text().splitlines()[line - 1].split()[0]
        if named != "%":  # a '% device:' line has no command name to quote
            assert named in message


def test_integer_arguments_must_be_integers():
    with pytest.raises(TiCfgError, match="numAdcSamples must be an integer"):
        parse_ti_cfg(BASE.replace("60 1 256 5000", "60 1 256.5 5000"))


def test_duplicate_singleton_command_is_refused():
    with pytest.raises(TiCfgError, match=r"frameCfg given twice \(first at line 11\)"):
        parse_ti_cfg(BASE + "frameCfg 0 1 64 0 100 1 0\n")


# --------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("preset", list_presets())
def test_round_trip_presets(preset):
    radar = load_radar(preset)
    text = to_ti_cfg(radar)
    assert parse_ti_cfg(text) == radar  # the name travels in the '% name:' line


def test_round_trip_non_default_fields():
    radar = parse_ti_cfg(BASE, name="custom")
    radar = dataclasses.replace(
        radar,
        receiver=dataclasses.replace(radar.receiver, complex_sampling=False, adc_bits=12),
        chain=dataclasses.replace(
            radar.chain, cfar_kind="cago", cfar_range_train=16, cfar_range_threshold_db=11.25
        ),
        profile=dataclasses.replace(radar.profile, rx_gain_db=36.0, tx_start_time_s=2e-6),
        frame=dataclasses.replace(radar.frame, num_frames=500, frame_period_s=0.05),
    )
    back = parse_ti_cfg(to_ti_cfg(radar))
    assert back == radar


def test_to_ti_cfg_refuses_what_a_cfg_cannot_carry():
    radar = load_radar("iwr1843-demo")
    foreign = dataclasses.replace(
        radar,
        antennas=dataclasses.replace(
            radar.antennas, rx_positions_m=((0.0, 0.0, 0.0), (0.001, 0.0, 0.0))
        ),
    )
    with pytest.raises(TiCfgError, match="not an antenna of iwr1843boost"):
        to_ti_cfg(foreign)
    generic = dataclasses.replace(radar, device=dataclasses.replace(radar.device, name="generic"))
    with pytest.raises(TiCfgError, match="not a supported board"):
        to_ti_cfg(generic)
