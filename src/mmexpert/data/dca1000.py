"""DCA1000EVM raw ADC captures (TI mmWave Studio / DCA1000 CLI ``adc_data.bin``).

Assumed file format
-------------------
The header-free ADC stream: signed little-endian int16 words, frames back to back, no
packet headers (mmWave Studio's post-processed ``adc_data.bin``, or the DCA1000 CLI's
output with packet headers stripped). A frame holds ``loops * chirps_per_loop`` chirps in
transmission order (loop-major, then the chirp index in the loop; ``RadarCube``'s
``[loops, tx]`` axes). Inside one chirp, following the read scripts of TI's app note
"Mmwave Radar Device ADC Raw Data Capture" (SWRA581):

``layout="xwr16xx"`` (2-lane LVDS: xWR16xx, xWR18xx, xWR68xx; the default)
    RX by RX, ``samples`` each. Complex (``adcCfg`` complex1x/complex2x): the samples of
    one RX come in pairs with I and Q interleaved per pair, ``I0 I1 Q0 Q1 I2 I3 Q2 Q3 ...``
    (so ``samples`` must be even). Real: ``x0 x1 x2 ...``.
``layout="xwr14xx"`` (4-lane LVDS: xWR12xx, xWR14xx)
    Sample by sample, the RX channels side by side. Complex: ``I(rx0..rxN) Q(rx0..rxN)`` for
    sample 0, then sample 1, ...; real: ``x(rx0..rxN)`` per sample.

``iq_swap=True`` exchanges I and Q (``adcbufCfg`` IQSwapSel = 1: Q first).

Counts become volts with the radar's ADC step ``2 * adc_full_scale_v / 2**adc_bits``
(16 bits when ``adc_bits`` is 0), the same scale :func:`mmexpert.radar.synthesis.simulate`
quantizes to, so a simulated cube written with :func:`write_dca1000` reads back
identically. Real captures get ``noise_power_w = nan`` (unknown).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from mmexpert.radar.config import RadarConfig
from mmexpert.radar.cube import RadarCube

DCA1000_LAYOUTS = ("xwr16xx", "xwr14xx")
"""Supported LVDS sample orders (see the module docstring)."""

BYTES_PER_WORD = 2  # one int16 ADC word


class Dca1000Error(ValueError):
    """A capture that cannot be read as the given radar; the message names the problem."""


class Dca1000Warning(UserWarning):
    """A capture that was read, but not entirely (e.g. a partial last frame)."""


def words_per_chirp(radar: RadarConfig) -> int:
    """int16 words of one chirp: ``rx * samples * (2 if complex else 1)``."""
    iq = 2 if radar.receiver.complex_sampling else 1
    return len(radar.antennas.rx_positions_m) * radar.profile.num_adc_samples * iq


def frame_size_bytes(radar: RadarConfig) -> int:
    """Bytes of one frame in the capture file."""
    chirps = radar.frame.num_loops * radar.chirps_per_loop
    return chirps * words_per_chirp(radar) * BYTES_PER_WORD


def adc_step_v(radar: RadarConfig) -> float:
    """Volts per ADC count, ``2 * full_scale / 2**bits`` [V]."""
    bits = radar.receiver.adc_bits if radar.receiver.adc_bits > 0 else 16
    return 2.0 * radar.receiver.adc_full_scale_v / 2**bits


def _check_layout(layout: str, radar: RadarConfig) -> None:
    if layout not in DCA1000_LAYOUTS:
        raise Dca1000Error(f"unknown DCA1000 layout '{layout}'; choose one of {DCA1000_LAYOUTS}")
    if (
        layout == "xwr16xx"
        and radar.receiver.complex_sampling
        and radar.profile.num_adc_samples % 2
    ):
        raise Dca1000Error(
            f"layout 'xwr16xx' interleaves complex samples in pairs; num_adc_samples "
            f"{radar.profile.num_adc_samples} must be even"
        )


def decode_dca1000(
    words: np.ndarray, radar: RadarConfig, layout: str = "xwr16xx", iq_swap: bool = False
) -> np.ndarray:
    """Reorder whole frames of int16 ADC words into a cube.

    Parameters
    ----------
    words : int16 [frames * words_per_frame]
        The capture's words (whole frames only).
    radar : RadarConfig
        Chirp/frame/antenna configuration of the capture.
    layout : {"xwr16xx", "xwr14xx"}
        LVDS sample order (module docstring).
    iq_swap : bool
        Q before I.

    Returns
    -------
    complex64 [frames, loops, chirps_per_loop, rx, samples] [V]

    Raises
    ------
    Dca1000Error
        On a dtype other than int16, or a length that is not whole frames.
    """
    words = np.asarray(words)
    if words.dtype != np.int16:
        hint = (
            " (if it was read as unsigned, use words.view(np.int16))"
            if words.dtype == np.uint16
            else ""
        )
        raise Dca1000Error(f"DCA1000 samples are int16, got dtype {words.dtype}{hint}")
    _check_layout(layout, radar)
    per_frame = frame_size_bytes(radar) // BYTES_PER_WORD
    if words.ndim != 1 or words.size % per_frame:
        raise Dca1000Error(
            f"{words.size} words is not a whole number of frames of {per_frame} words "
            f"({radar.frame.num_loops} loops x {radar.chirps_per_loop} chirps x "
            f"{words_per_chirp(radar)} words)"
        )
    loops, chirps = radar.frame.num_loops, radar.chirps_per_loop
    rx, n = len(radar.antennas.rx_positions_m), radar.profile.num_adc_samples
    chirp_words = words.reshape(-1, loops, chirps, words_per_chirp(radar)).astype(np.float32)
    lead = chirp_words.shape[:3]
    if not radar.receiver.complex_sampling:
        if layout == "xwr16xx":
            real = chirp_words.reshape(*lead, rx, n)
        else:
            real = chirp_words.reshape(*lead, n, rx).swapaxes(-1, -2)
        adc = real.astype(np.complex64)
    else:
        if layout == "xwr16xx":
            pairs = chirp_words.reshape(*lead, rx, n // 2, 2, 2)  # (.., rx, pair, I/Q, 2)
            first, second = pairs[..., 0, :], pairs[..., 1, :]
            first, second = first.reshape(*lead, rx, n), second.reshape(*lead, rx, n)
        else:
            per_sample = chirp_words.reshape(*lead, n, 2, rx)  # (.., sample, I/Q, rx)
            first = per_sample[..., 0, :].swapaxes(-1, -2)
            second = per_sample[..., 1, :].swapaxes(-1, -2)
        i_part, q_part = (second, first) if iq_swap else (first, second)
        adc = (i_part + 1j * q_part).astype(np.complex64)
    return adc * np.float32(adc_step_v(radar))


def encode_dca1000(
    adc_v: np.ndarray, radar: RadarConfig, layout: str = "xwr16xx", iq_swap: bool = False
) -> np.ndarray:
    """Inverse of :func:`decode_dca1000`: a cube [V] to int16 words in capture order.

    Parameters
    ----------
    adc_v : complex [frames, loops, chirps_per_loop, rx, samples]
        Samples [V] (real sampling: the imaginary part is ignored).

    Returns
    -------
    int16 [frames * words_per_frame]

    Raises
    ------
    Dca1000Error
        If a sample exceeds the int16 range after scaling to counts.
    """
    _check_layout(layout, radar)
    adc_v = np.asarray(adc_v)
    expected = (
        radar.frame.num_loops,
        radar.chirps_per_loop,
        len(radar.antennas.rx_positions_m),
        radar.profile.num_adc_samples,
    )
    if adc_v.ndim != 5 or adc_v.shape[1:] != expected:
        raise Dca1000Error(
            f"cube shape {adc_v.shape} does not match the radar [frames, *{expected}]"
        )
    step = adc_step_v(radar)
    i_counts, q_counts = np.rint(adc_v.real / step), np.rint(adc_v.imag / step)
    if max(np.abs(i_counts).max(initial=0), np.abs(q_counts).max(initial=0)) > 32767:
        raise Dca1000Error("samples exceed the int16 range of the ADC; clip or rescale first")
    lead = adc_v.shape[:3]
    rx, n = expected[2], expected[3]
    if not radar.receiver.complex_sampling:
        chirp = i_counts if layout == "xwr16xx" else i_counts.swapaxes(-1, -2)
    else:
        first, second = (q_counts, i_counts) if iq_swap else (i_counts, q_counts)
        if layout == "xwr16xx":
            pairs = np.stack(
                [first.reshape(*lead, rx, n // 2, 2), second.reshape(*lead, rx, n // 2, 2)],
                axis=-2,
            )
            chirp = pairs
        else:
            chirp = np.stack([first.swapaxes(-1, -2), second.swapaxes(-1, -2)], axis=-2)
    return chirp.astype(np.int16).reshape(-1)


def read_dca1000(
    bin_path: str | Path,
    radar: RadarConfig,
    num_frames: int | None = None,
    layout: str = "xwr16xx",
    iq_swap: bool = False,
) -> RadarCube:
    """Read a DCA1000 capture into a :class:`RadarCube`.

    Parameters
    ----------
    bin_path : str or Path
        The header-free ``adc_data.bin``.
    radar : RadarConfig
        The configuration the capture was recorded with (e.g. from ``parse_ti_cfg``).
    num_frames : int, optional
        Frames to read from the start (default: every whole frame in the file).
    layout : {"xwr16xx", "xwr14xx"}
        LVDS sample order (module docstring).
    iq_swap : bool
        Q before I.

    Returns
    -------
    RadarCube
        ``adc`` complex64 [frames, loops, chirps_per_loop, rx, samples] [V];
        ``frame_times_s = arange(frames) * frame_period``; ``noise_power_w`` NaN.

    Raises
    ------
    Dca1000Error
        If the file is missing, holds less than one frame (truncated), or fewer frames
        than ``num_frames``.

    Warns
    -----
    Dca1000Warning
        When a partial frame at the end is dropped (the message gives the byte counts).
    """
    path = Path(bin_path)
    if not path.is_file():
        raise Dca1000Error(f"DCA1000 capture not found: {path}")
    _check_layout(layout, radar)
    size = path.stat().st_size
    frame_bytes = frame_size_bytes(radar)
    available = size // frame_bytes
    if available == 0:
        raise Dca1000Error(
            f"{path} is truncated: {size} bytes, less than one frame of {frame_bytes} bytes "
            f"for radar '{radar.name}'"
        )
    if num_frames is not None:
        if num_frames < 1:
            raise Dca1000Error(f"num_frames must be >= 1, got {num_frames}")
        if num_frames > available:
            raise Dca1000Error(
                f"{path} holds {available} whole frames ({size} bytes, {frame_bytes} per "
                f"frame); {num_frames} were asked for"
            )
    frames = available if num_frames is None else num_frames
    remainder = size - available * frame_bytes
    if num_frames is None and remainder:
        warnings.warn(
            f"{path}: read {available} whole frames ({available * frame_bytes} bytes); dropped "
            f"the last {remainder} bytes, which are not a whole frame of {frame_bytes} bytes",
            Dca1000Warning,
            stacklevel=2,
        )
    words = np.fromfile(path, dtype="<i2", count=frames * frame_bytes // BYTES_PER_WORD)
    adc = decode_dca1000(words.astype(np.int16, copy=False), radar, layout, iq_swap)
    return RadarCube(
        adc=adc,
        config=radar,
        frame_times_s=np.arange(frames) * radar.frame.frame_period_s,
    )


def write_dca1000(
    bin_path: str | Path, cube: RadarCube, layout: str = "xwr16xx", iq_swap: bool = False
) -> int:
    """Write a cube in the DCA1000 capture format (e.g. to feed a simulated capture to
    tools that read real ones).

    Returns
    -------
    int: bytes written.
    """
    words = encode_dca1000(cube.adc, cube.config, layout, iq_swap)
    words.astype("<i2").tofile(Path(bin_path))
    return int(words.size * BYTES_PER_WORD)


def reinterpret_unsigned_int16(values: np.ndarray) -> np.ndarray:
    """Undo an unsigned read of signed 16-bit samples: ``v - 65536`` where ``v > 32767``.

    Some published arrays (e.g. the OpenRadar tutorial frames) hold int16 ADC words that
    were read as uint16 and then converted to float or complex; I and Q are fixed
    separately.

    Parameters
    ----------
    values : real or complex [...]
        Values in [0, 65535] per rail.

    Returns
    -------
    complex64 or float32 [...] with each rail in [-32768, 32767].
    """
    values = np.asarray(values)

    def fix(rail: np.ndarray) -> np.ndarray:
        rail = rail.astype(np.float32)
        if rail.size and (rail.min() < 0 or rail.max() > 65535):
            raise Dca1000Error("values outside [0, 65535] are not unsigned 16-bit words")
        return np.where(rail > 32767, rail - 65536, rail)

    if np.iscomplexobj(values):
        return (fix(values.real) + 1j * fix(values.imag)).astype(np.complex64)
    return fix(values)
