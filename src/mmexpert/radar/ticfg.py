"""Read and write TI mmWave SDK ``.cfg`` files (the CLI command scripts the demos consume).

:func:`parse_ti_cfg` turns a cfg into a validated :class:`RadarConfig`; :func:`to_ti_cfg`
writes one back. Commands and units (TI mmWave SDK 3.x CLI, with the SDK 1.x/2.x forms of
``cfarCfg`` and ``clutterRemoval`` also accepted):

==================  ==========================================================================
``profileCfg``      id, startFreq [GHz], idleTime [us], adcStartTime [us], rampEndTime [us],
                    txOutPower, txPhaseShifter, freqSlopeConst [MHz/us], txStartTime [us],
                    numAdcSamples, digOutSampleRate [ksps], hpfCorner1, hpfCorner2, rxGain [dB]
``chirpCfg``        startIdx, endIdx, profileId, startFreqVar, slopeVar, idleVar, adcStartVar,
                    txEnable (bit i = TX i+1)
``frameCfg``        chirpStartIdx, chirpEndIdx, numLoops, numFrames, framePeriodicity [ms],
                    triggerSelect, frameTriggerDelay [ms]
``channelCfg``      rxEnable mask, txEnable mask, cascading
``adcCfg``          numADCBits (0: 12, 1: 14, 2: 16 bit), adcOutputFmt (0 real, 1 complex1x,
                    2 complex2x)
``cfarCfg``         [subFrameIdx,] procDirection (0 range, 1 Doppler), mode (0 CA, 1 CAGO,
                    2 CASO), winLen, guardLen, divShift, cyclicMode, threshold [, peakGrouping]
``aoaFovCfg``       subFrameIdx, minAz, maxAz, minEl, maxEl [deg]
``cfarFovCfg``      subFrameIdx, procDirection, min, max ([m] for range, [m/s] for Doppler)
``clutterRemoval``  [subFrameIdx,] enabled
==================  ==========================================================================

``multiObjBeamForming [subFrameIdx,] enabled threshold`` (subFrameIdx only in SDK 3.x) sets
``ChainSettings.multi_object_threshold``: a second azimuth peak outside the main lobe of the
first whose power exceeds ``threshold`` times the first's is reported as a second point (None
when disabled).

The ``cfarCfg`` threshold is in dB in the 9-argument SDK 3.x form. The older forms carry a
fixed-point scale of the log2-magnitude detection matrix, converted here as TI's visualizers
wrote it: 7 arguments (SDK 1.x, xWR14xx) ``dB = raw * 6 / 512`` (a visualizer header says
9 dB for 768); 8 arguments (SDK 2.x, xWR16xx/18xx) ``dB = raw * 6 / (256 * N_virtual)``
(9 dB for 3072 with 2 TX x 4 RX). TI's forum answers explain both: the detection matrix
holds log2 magnitudes (Q9, averaged over the virtual antennas on xWR14xx; Q8, summed on
xWR16xx), and one log2 unit of magnitude is 20 log10(2) = 6.02 dB of power (the 6 above).

Not modelled, so not read: the ``txOutPower`` back-off and the phase shifter (the board's TX
power is used), the HPF corners, ``divShift``, cyclic mode and peak grouping (the dsp stage
chooses its own), complex1x vs complex2x (both are complex sampling). Per-chirp variations
in ``chirpCfg``, several profiles in one frame, advanced frames and BPM-MIMO are refused,
since :class:`RadarConfig` holds one profile and plain TDM.

Which board: ``device=``, else a ``% device: NAME`` comment line, else the band of the start
frequency (:func:`mmexpert.radar.devices.device_for_frequency`). ``RadarConfig.device.name``
says which was used.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from mmexpert.radar.config import (
    ChainSettings,
    ChirpProfile,
    FrameConfig,
    RadarConfig,
    RadarConfigError,
)
from mmexpert.radar.devices import (
    DEVICES,
    Device,
    device_for_frequency,
    get_device,
)


class TiCfgError(RadarConfigError):
    """A TI ``.cfg`` file that cannot be read; the message names the file, line and problem."""


# Commands read into the RadarConfig: name -> accepted argument counts.
_READ_COMMANDS: dict[str, tuple[int, ...]] = {
    "profileCfg": (14,),
    "chirpCfg": (8,),
    "frameCfg": (7,),
    "channelCfg": (3,),
    "adcCfg": (2,),
    "cfarCfg": (7, 8, 9),
    "aoaFovCfg": (5,),
    "cfarFovCfg": (4,),
    "clutterRemoval": (1, 2),
    "multiObjBeamForming": (2, 3),
    "dfeDataOutputMode": (1,),
    "bpmCfg": (4,),
}

# Commands a demo accepts that carry nothing the simulation models (any arguments).
_IGNORED_COMMANDS: frozenset[str] = frozenset(
    {
        "sensorStop",
        "sensorStart",
        "flushCfg",
        "adcbufCfg",
        "lowPower",
        "guiMonitor",
        "calibDcRangeSig",
        "extendedMaxVelocity",
        "lvdsStreamCfg",
        "compRangeBiasAndRxChanPhase",
        "measureRangeBiasAndRxChanPhase",
        "CQRxSatMonitor",
        "CQSigImgMonitor",
        "analogMonitor",
        "calibData",
        "peakGrouping",
        "nearFieldCfg",
        "idlePowerCycle",
        "bandwidthCfg",
        # TI people-tracking labs: detection/tracker tuning and board geometry notes.
        "dynamicRACfarCfg",
        "staticRACfarCfg",
        "dynamicRangeAngleCfg",
        "dynamic2DAngleCfg",
        "staticRangeAngleCfg",
        "fineMotionCfg",
        "antGeometry0",
        "antGeometry1",
        "antPhaseRot",
        "fovCfg",
        "boundaryBox",
        "staticBoundaryBox",
        "presenceBoundaryBox",
        "sensorPosition",
        "gatingParam",
        "stateParam",
        "allocationParam",
        "maxAcceleration",
        "trackingCfg",
    }
)

# Commands TI defines that describe something RadarConfig cannot hold.
_UNSUPPORTED_COMMANDS: dict[str, str] = {
    "advFrameCfg": "advanced frame configuration (sub-frames) is not supported",
    "subFrameCfg": "advanced frame configuration (sub-frames) is not supported",
}

_SINGLETONS = ("frameCfg", "channelCfg", "adcCfg", "dfeDataOutputMode")
_REQUIRED = ("profileCfg", "chirpCfg", "frameCfg", "channelCfg")

_ADC_BITS = {0: 12, 1: 14, 2: 16}
_CFAR_MODES = {0: "ca", 1: "cago", 2: "caso"}
_CFAR_MODE_CODES = {v: k for k, v in _CFAR_MODES.items()}

_DEVICE_LINE = re.compile(r"^%\s*device\s*:\s*(\S+)\s*$", re.IGNORECASE)
_NAME_LINE = re.compile(r"^%\s*name\s*:\s*(\S+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class _Command:
    name: str
    args: tuple[float, ...]
    line: int


class _Reader:
    """Line-aware access to the parsed commands, for error messages with locations."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, line: int | None, message: str) -> TiCfgError:
        where = f"{self.source}, line {line}" if line is not None else self.source
        return TiCfgError(f"{where}: {message}")

    def integer(self, cmd: _Command, index: int, what: str) -> int:
        value = cmd.args[index]
        if value != int(value):
            raise self.error(cmd.line, f"{cmd.name} {what} must be an integer, got {value:g}")
        return int(value)


def _read_source(text_or_path: str | Path) -> tuple[str, str, str | None]:
    """Return (text, source label for messages, file stem or None)."""
    if isinstance(text_or_path, Path) or (
        "\n" not in text_or_path and text_or_path.strip().lower().endswith(".cfg")
    ):
        path = Path(text_or_path)
        if not path.is_file():
            raise TiCfgError(f"TI cfg file not found: {path}")
        return path.read_text(encoding="utf-8", errors="replace"), path.name, path.stem
    return text_or_path, "<cfg text>", None


def _tokenize(
    text: str, reader: _Reader
) -> tuple[list[_Command], tuple[str, int] | None, str | None]:
    """Split into commands; returns (commands, ('% device:' value, line), '% name:' value)."""
    commands: list[_Command] = []
    device_name: tuple[str, int] | None = None
    cfg_name: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if match := _DEVICE_LINE.match(stripped):
            device_name = (match.group(1), number)
        elif match := _NAME_LINE.match(stripped):
            cfg_name = match.group(1)
        body = stripped.split("%", 1)[0].strip()
        if not body:
            continue
        name, *tokens = body.split()
        if name in _UNSUPPORTED_COMMANDS:
            raise reader.error(number, f"{name}: {_UNSUPPORTED_COMMANDS[name]}")
        if name in _IGNORED_COMMANDS:
            continue
        if name not in _READ_COMMANDS:
            raise reader.error(number, f"unknown command '{name}'")
        counts = _READ_COMMANDS[name]
        if len(tokens) not in counts:
            expected = " or ".join(str(c) for c in counts)
            raise reader.error(
                number,
                f"wrong number of arguments for {name}: expected {expected}, got {len(tokens)}",
            )
        values = []
        for position, token in enumerate(tokens, start=1):
            try:
                value = float(token)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise reader.error(number, f"non-numeric argument {position} of {name}: '{token}'")
            values.append(value)
        commands.append(_Command(name, tuple(values), number))
    return commands, device_name, cfg_name


def parse_ti_cfg(
    text_or_path: str | Path, device: str | None = None, name: str | None = None
) -> RadarConfig:
    """Read a TI mmWave SDK ``.cfg`` into a validated :class:`RadarConfig`.

    Parameters
    ----------
    text_or_path : str or Path
        A path to a ``.cfg`` file (a ``Path``, or a one-line string ending in ``.cfg``) or
        the cfg text itself.
    device : str, optional
        Board name from :data:`mmexpert.radar.devices.DEVICES`; overrides a
        ``% device: NAME`` line in the file. Without either, the band of the start
        frequency decides (60-64 GHz: iwr6843isk, 76-81 GHz: iwr1843boost).
    name : str, optional
        Name of the radar; default: a ``% name: NAME`` line, else the file stem.

    Returns
    -------
    RadarConfig
        SI units; antennas are the board's enabled TX/RX (``channelCfg``) in mask order,
        ``frame.chirp_tx`` indexes into those enabled TX.

    Raises
    ------
    TiCfgError
        (a :class:`RadarConfigError`) naming the file, the line and the problem: unknown
        command, wrong argument count, non-numeric argument, missing required command,
        undefined profile or chirp, TX not enabled, or any RadarConfig constraint (ramp too
        short for the ADC samples, frame shorter than its chirps, sample rate, slope or
        bandwidth beyond the device, band edge).
    """
    text, source, stem = _read_source(text_or_path)
    reader = _Reader(source)
    commands, device_in_file, name_in_file = _tokenize(text, reader)

    by_name: dict[str, list[_Command]] = {}
    for cmd in commands:
        by_name.setdefault(cmd.name, []).append(cmd)
    for required in _REQUIRED:
        if required not in by_name:
            raise reader.error(None, f"missing required command {required}")
    for single in _SINGLETONS:
        cmds = by_name.get(single, [])
        if len(cmds) > 1:
            raise reader.error(cmds[1].line, f"{single} given twice (first at line {cmds[0].line})")

    for cmd in by_name.get("dfeDataOutputMode", []):
        if reader.integer(cmd, 0, "mode") != 1:
            raise reader.error(
                cmd.line,
                "dfeDataOutputMode must be 1 (frame-based chirps); other modes "
                "(advanced frames) are not supported",
            )
    for cmd in by_name.get("bpmCfg", []):
        if cmd.args[1] != 0:
            raise reader.error(cmd.line, "bpmCfg enables BPM-MIMO, which is not supported")

    profiles: dict[int, tuple[ChirpProfile, _Command]] = {}
    for cmd in by_name["profileCfg"]:
        pid = reader.integer(cmd, 0, "profileId")
        if pid in profiles:
            raise reader.error(
                cmd.line, f"profileCfg {pid} given twice (first at line {profiles[pid][1].line})"
            )
        profiles[pid] = (_profile_from(cmd, reader), cmd)

    chirps: dict[int, tuple[int, int, _Command]] = {}  # index -> (profile id, tx mask, cmd)
    for cmd in by_name["chirpCfg"]:
        start = reader.integer(cmd, 0, "startIdx")
        end = reader.integer(cmd, 1, "endIdx")
        pid = reader.integer(cmd, 2, "profileId")
        tx_mask = reader.integer(cmd, 7, "txEnable")
        if start < 0 or end < start:
            raise reader.error(cmd.line, f"chirpCfg indices {start}..{end} are not a range")
        if pid not in profiles:
            raise reader.error(
                cmd.line,
                f"chirpCfg references undefined profile {pid} (defined: {sorted(profiles)})",
            )
        if any(cmd.args[3:7]):
            raise reader.error(
                cmd.line,
                "chirpCfg per-chirp variations (startFreqVar, slopeVar, idleVar, "
                "adcStartVar) must be 0: one profile per frame is supported",
            )
        if tx_mask <= 0:
            raise reader.error(cmd.line, "chirpCfg txEnable enables no TX antenna")
        for index in range(start, end + 1):
            if index in chirps:
                raise reader.error(
                    cmd.line,
                    f"chirp index {index} defined twice (first at line {chirps[index][2].line})",
                )
            chirps[index] = (pid, tx_mask, cmd)

    (frame_cmd,) = by_name["frameCfg"]
    first = reader.integer(frame_cmd, 0, "chirpStartIdx")
    last = reader.integer(frame_cmd, 1, "chirpEndIdx")
    num_loops = reader.integer(frame_cmd, 2, "numLoops")
    num_frames = reader.integer(frame_cmd, 3, "numFrames")
    if last < first:
        raise reader.error(
            frame_cmd.line, f"frameCfg chirpEndIdx {last} is before chirpStartIdx {first}"
        )
    for index in range(first, last + 1):
        if index not in chirps:
            raise reader.error(
                frame_cmd.line,
                f"frameCfg chirp index {index} out of range: no chirpCfg defines it "
                f"(defined chirp indices: {sorted(chirps)})",
            )
    used_profiles = {chirps[i][0] for i in range(first, last + 1)}
    if len(used_profiles) > 1:
        raise reader.error(
            frame_cmd.line,
            f"the frame's chirps use profiles {sorted(used_profiles)}; one profile per frame "
            "is supported",
        )
    profile, profile_cmd = profiles[used_profiles.pop()]

    board = _choose_device(device, device_in_file, profile.start_freq_hz, reader, profile_cmd)

    (channel_cmd,) = by_name["channelCfg"]
    rx_mask = reader.integer(channel_cmd, 0, "rxEnable")
    tx_mask = reader.integer(channel_cmd, 1, "txEnable")
    rx_enabled = _mask_bits(rx_mask)
    tx_enabled = _mask_bits(tx_mask)
    for kind, bits, count in (
        ("rxEnable", rx_enabled, board.limits.num_rx),
        ("txEnable", tx_enabled, board.limits.num_tx),
    ):
        if not bits:
            raise reader.error(channel_cmd.line, f"channelCfg {kind} enables no antenna")
        if bits[-1] >= count:
            raise reader.error(
                channel_cmd.line,
                f"channelCfg {kind} enables antenna {bits[-1] + 1}, but {board.name} has {count}",
            )

    chirp_tx = []
    for index in range(first, last + 1):
        _, chirp_mask, chirp_cmd = chirps[index]
        bits = _mask_bits(chirp_mask)
        missing = [b for b in bits if b not in tx_enabled]
        if missing:
            raise reader.error(
                chirp_cmd.line,
                f"chirpCfg: chirp {index} uses TX{missing[0] + 1}, which is not enabled by "
                f"channelCfg "
                f"(line {channel_cmd.line}, txEnable={tx_mask})",
            )
        chirp_tx.append(tuple(tx_enabled.index(b) for b in bits))

    complex_sampling, adc_bits = True, 16
    if "adcCfg" in by_name:
        (adc_cmd,) = by_name["adcCfg"]
        bits_code = reader.integer(adc_cmd, 0, "numADCBits")
        fmt = reader.integer(adc_cmd, 1, "adcOutputFmt")
        if bits_code not in _ADC_BITS:
            raise reader.error(
                adc_cmd.line, f"adcCfg numADCBits must be 0, 1 or 2, got {bits_code}"
            )
        if fmt not in (0, 1, 2):
            raise reader.error(adc_cmd.line, f"adcCfg adcOutputFmt must be 0, 1 or 2, got {fmt}")
        adc_bits, complex_sampling = _ADC_BITS[bits_code], fmt != 0

    frame = FrameConfig(
        chirp_tx=tuple(chirp_tx),
        num_loops=num_loops,
        frame_period_s=frame_cmd.args[4] * 1e-3,
        num_frames=num_frames,
    )
    num_virtual = len(chirp_tx) * len(rx_enabled)
    chain = _chain_from(by_name, reader, num_virtual)
    radar_name = name or name_in_file or stem or "ti-cfg"
    try:
        return RadarConfig(
            name=radar_name,
            profile=profile,
            frame=frame,
            antennas=board.antenna_array(tuple(tx_enabled), tuple(rx_enabled)),
            receiver=board.receiver(complex_sampling=complex_sampling, adc_bits=adc_bits),
            device=board.limits,
            chain=chain,
        )
    except RadarConfigError as exc:
        raise TiCfgError(
            f"{source} (profileCfg line {profile_cmd.line}, frameCfg line {frame_cmd.line}, "
            f"device {board.name}): {exc}"
        ) from exc


def _profile_from(cmd: _Command, reader: _Reader) -> ChirpProfile:
    a = cmd.args
    rx_gain = a[13]
    if rx_gain > 63 and rx_gain == int(rx_gain):
        # xWR68xx cfgs put the RF gain-target selection in bits 6-7; bits 0-5 are the dB.
        rx_gain = float(int(rx_gain) & 0x3F)
    return ChirpProfile(
        start_freq_hz=a[1] * 1e9,
        slope_hz_per_s=a[7] * 1e12,
        idle_time_s=a[2] * 1e-6,
        adc_start_time_s=a[3] * 1e-6,
        ramp_end_time_s=a[4] * 1e-6,
        num_adc_samples=reader.integer(cmd, 9, "numAdcSamples"),
        sample_rate_hz=a[10] * 1e3,
        rx_gain_db=rx_gain,
        tx_start_time_s=a[8] * 1e-6,
    )


def _choose_device(
    explicit: str | None,
    in_file: tuple[str, int] | None,
    start_freq_hz: float,
    reader: _Reader,
    profile_cmd: _Command,
) -> Device:
    try:
        if explicit is not None:
            return get_device(explicit)
        if in_file is not None:
            return get_device(in_file[0])
        return get_device(device_for_frequency(start_freq_hz))
    except RadarConfigError as exc:
        if explicit is not None:
            raise reader.error(None, f"device={explicit!r}: {exc}") from exc
        line = in_file[1] if in_file is not None else profile_cmd.line
        raise reader.error(line, str(exc)) from exc


def _mask_bits(mask: int) -> list[int]:
    return [bit for bit in range(mask.bit_length()) if mask >> bit & 1]


def _chain_from(
    by_name: dict[str, list[_Command]], reader: _Reader, num_virtual: int
) -> ChainSettings:
    settings: dict[str, object] = {}
    for cmd in by_name.get("cfarCfg", []):
        # SDK 1.x has no subFrameIdx: align every form as [subFrame, direction, mode, ...].
        a = [-1.0, *cmd.args] if len(cmd.args) == 7 else list(cmd.args)
        direction = int(a[1]) if a[1] == int(a[1]) else -1
        mode = int(a[2])
        if a[2] != mode or mode not in _CFAR_MODES:
            raise reader.error(
                cmd.line, f"cfarCfg mode must be 0 (CA), 1 (CAGO) or 2 (CASO), got {a[2]:g}"
            )
        if direction not in (0, 1):
            raise reader.error(
                cmd.line, f"cfarCfg procDirection must be 0 (range) or 1 (Doppler), got {direction}"
            )
        train, guard = int(a[3]), int(a[4])
        if a[3] != train or a[4] != guard or train < 1 or guard < 0:
            raise reader.error(
                cmd.line, "cfarCfg winLen must be an integer >= 1 and guardLen an integer >= 0"
            )
        if len(cmd.args) == 9:
            threshold_db = a[7]
        elif len(cmd.args) == 8:
            threshold_db = a[7] * 6.0 / (256.0 * num_virtual)
        else:
            threshold_db = a[7] * 6.0 / 512.0
        axis = "range" if direction == 0 else "doppler"
        settings[f"cfar_{axis}_train"] = train
        settings[f"cfar_{axis}_guard"] = guard
        settings[f"cfar_{axis}_threshold_db"] = threshold_db
        if direction == 0:
            # ChainSettings holds one CFAR kind; the range pass is the one that detects.
            settings["cfar_kind"] = _CFAR_MODES[mode]
    for cmd in by_name.get("aoaFovCfg", []):
        a = cmd.args
        settings["azimuth_fov_rad"] = (math.radians(a[1]), math.radians(a[2]))
        settings["elevation_fov_rad"] = (math.radians(a[3]), math.radians(a[4]))
    for cmd in by_name.get("cfarFovCfg", []):
        a = cmd.args
        direction = reader.integer(cmd, 1, "procDirection")
        if direction == 0:
            settings["range_fov_m"] = (a[2], a[3])
        elif direction == 1:
            settings["doppler_fov_mps"] = (a[2], a[3])
        else:
            raise reader.error(
                cmd.line, f"cfarFovCfg procDirection must be 0 or 1, got {direction}"
            )
    for cmd in by_name.get("clutterRemoval", []):
        settings["clutter_removal"] = cmd.args[-1] != 0
    for cmd in by_name.get("multiObjBeamForming", []):
        # SDK 3.x puts subFrameIdx first; both forms end in (enabled, threshold).
        enabled, threshold = cmd.args[-2], cmd.args[-1]
        if enabled not in (0, 1):
            raise reader.error(
                cmd.line, f"multiObjBeamForming enabled must be 0 or 1, got {enabled:g}"
            )
        if enabled and not 0.0 < threshold <= 1.0:
            raise reader.error(
                cmd.line,
                "multiObjBeamForming threshold must be in (0, 1] (second peak power over the "
                f"first's), got {threshold:g}",
            )
        settings["multi_object_threshold"] = threshold if enabled else None
    return ChainSettings(**settings)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- writing
def _num(value: float) -> str:
    """Shortest decimal text for a cfg number (12 significant digits, no exponent noise)."""
    text = f"{value:.12g}"
    return "0" if text == "-0" else text


def _antenna_indices(
    positions: tuple[tuple[float, float, float], ...],
    board_positions: tuple[tuple[float, float, float], ...],
    kind: str,
    board: str,
) -> list[int]:
    indices = []
    for pos in positions:
        match = [
            i
            for i, ref in enumerate(board_positions)
            if all(abs(p - r) <= 1e-9 for p, r in zip(pos, ref, strict=True))
        ]
        if not match:
            raise TiCfgError(
                f"{kind} antenna at {pos} m is not an antenna of {board}: a TI cfg can only "
                "enable the board's own antennas"
            )
        indices.append(match[0])
    if indices != sorted(indices) or len(set(indices)) != len(indices):
        raise TiCfgError(
            f"{kind} antennas are not in the board's order ({indices}); a TI cfg enables "
            "antennas by mask, in board order"
        )
    return indices


def to_ti_cfg(radar: RadarConfig) -> str:
    """Write ``radar`` as a TI mmWave SDK 3.x ``.cfg`` text that :func:`parse_ti_cfg` reads back.

    Everything a cfg carries round-trips: profile, frame, enabled antennas, ADC mode and
    bits, CFAR, fields of view, clutter removal, multi-object beamforming. The board's TX
    power, noise figure and element pattern come back from the ``% device:`` line. Not
    carried: the pose. A one-sided infinite field of view is written as the radar's
    unambiguous limit; an ``"os"`` CFAR kind (no TI equivalent) is written as CA.

    Parameters
    ----------
    radar : RadarConfig
        Its ``device.name`` must be a board in :data:`DEVICES` and its antennas a subset of
        that board's, in board order.

    Returns
    -------
    str: the cfg text, one command per line.

    Raises
    ------
    TiCfgError
        If the radar cannot be expressed as a cfg (unknown board, foreign antennas,
        ADC bits other than 12/14/16).
    """
    if radar.device.name not in DEVICES:
        raise TiCfgError(
            f"radar '{radar.name}' uses device '{radar.device.name}', which is not a supported "
            f"board ({', '.join(sorted(DEVICES))}); a cfg cannot carry its antennas"
        )
    board = DEVICES[radar.device.name]
    tx_idx = _antenna_indices(radar.antennas.tx_positions_m, board.tx_positions_m, "TX", board.name)
    rx_idx = _antenna_indices(radar.antennas.rx_positions_m, board.rx_positions_m, "RX", board.name)
    bits_code = {bits: code for code, bits in _ADC_BITS.items()}.get(radar.receiver.adc_bits)
    if bits_code is None:
        raise TiCfgError(
            f"radar '{radar.name}': a cfg can only state 12, 14 or 16 ADC bits, "
            f"got {radar.receiver.adc_bits}"
        )
    p, fr, ch = radar.profile, radar.frame, radar.chain
    lines = [
        f"% {radar.name}: written by mmexpert.radar.ticfg.to_ti_cfg",
        f"% device: {board.name}",
        f"% name: {radar.name}",
        "sensorStop",
        "flushCfg",
        "dfeDataOutputMode 1",
        f"channelCfg {sum(1 << i for i in rx_idx)} {sum(1 << i for i in tx_idx)} 0",
        f"adcCfg {bits_code} {1 if radar.receiver.complex_sampling else 0}",
        f"adcbufCfg -1 {0 if radar.receiver.complex_sampling else 1} 1 1 1",
        "profileCfg 0 "
        + " ".join(
            _num(v)
            for v in (
                p.start_freq_hz / 1e9,
                p.idle_time_s * 1e6,
                p.adc_start_time_s * 1e6,
                p.ramp_end_time_s * 1e6,
                0,
                0,
                p.slope_hz_per_s / 1e12,
                p.tx_start_time_s * 1e6,
                p.num_adc_samples,
                p.sample_rate_hz / 1e3,
                0,
                0,
                p.rx_gain_db,
            )
        ),
    ]
    for k, ids in enumerate(fr.chirp_tx):
        mask = sum(1 << tx_idx[i] for i in ids)
        lines.append(f"chirpCfg {k} {k} 0 0 0 0 0 {mask}")
    lines.append(
        f"frameCfg 0 {len(fr.chirp_tx) - 1} {fr.num_loops} {fr.num_frames} "
        f"{_num(fr.frame_period_s * 1e3)} 1 0"
    )
    lines.append("lowPower 0 0")
    mode = _CFAR_MODE_CODES.get(ch.cfar_kind, 0)
    for direction, train, guard, thr, cyclic in (
        (0, ch.cfar_range_train, ch.cfar_range_guard, ch.cfar_range_threshold_db, 0),
        (1, ch.cfar_doppler_train, ch.cfar_doppler_guard, ch.cfar_doppler_threshold_db, 1),
    ):
        # TI divides the noise sum by 2**divShift: one side's window for CAGO/CASO, both for CA.
        averaged = train if mode else 2 * train
        div_shift = max(0, math.ceil(math.log2(averaged)))
        lines.append(
            f"cfarCfg -1 {direction} {mode} {train} {guard} {div_shift} {cyclic} {_num(thr)} 1"
        )
    az, el = ch.azimuth_fov_rad, ch.elevation_fov_rad
    lines.append(
        "aoaFovCfg -1 " + " ".join(_num(math.degrees(v)) for v in (az[0], az[1], el[0], el[1]))
    )
    defaults = ChainSettings()
    for direction, fov, default, limit in (
        (0, ch.range_fov_m, defaults.range_fov_m, radar.max_range_m),
        (1, ch.doppler_fov_mps, defaults.doppler_fov_mps, radar.max_velocity_mps),
    ):
        if fov == default:
            continue  # the whole axis: TI's default, nothing to write
        low = -limit if math.isinf(fov[0]) else fov[0]
        high = limit if math.isinf(fov[1]) else fov[1]
        lines.append(f"cfarFovCfg -1 {direction} {_num(low)} {_num(high)}")
    lines.append(f"clutterRemoval -1 {1 if ch.clutter_removal else 0}")
    if ch.multi_object_threshold is None:
        lines.append("multiObjBeamForming -1 0 0.5")
    else:
        lines.append(f"multiObjBeamForming -1 1 {_num(ch.multi_object_threshold)}")
    lines.append("sensorStart")
    return "\n".join(lines) + "\n"
