"""Range and Doppler processing: windows, range FFT, static clutter removal, Doppler FFT,
TDM-MIMO Doppler phase compensation and the non-coherent range-Doppler map.

Axis layout follows :class:`~mmexpert.radar.cube.RadarCube`:
``[frames, loops, tx, rx, samples]`` becomes ``[frames, doppler, tx, rx, range]``.
The Doppler and clutter steps act on axis ``-4`` (loops), so the leading ``frames`` axis
is optional.

Sign conventions (DESIGN.md section 3, complex sampling): a target at range ``R`` peaks
at range bin ``R / dR``; a target moving away (positive radial velocity) has a positive
Doppler frequency and lands above the zero-velocity bin ``num_doppler_bins // 2``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.signal.windows as sw

from mmexpert.dsp.angle import VirtualArrayGeometry
from mmexpert.dsp.base import DspError, require_ndim
from mmexpert.radar.cube import RadarCube

WINDOWS: dict[str, Callable[[int], np.ndarray]] = {
    "rect": lambda n: np.ones(n),
    "hann": lambda n: sw.hann(n, sym=False),
    "hamming": lambda n: sw.hamming(n, sym=False),
    "blackman": lambda n: sw.blackman(n, sym=False),
    "blackmanharris": lambda n: sw.blackmanharris(n, sym=False),
}
"""Window registry: name -> function of the length returning float64 [n] (periodic)."""

LOOPS_AXIS = -4  # loops (slow time) axis of [..., loops, tx, rx, samples]


def window(name: str, length: int) -> np.ndarray:
    """Window taps from :data:`WINDOWS`.

    Parameters
    ----------
    name : str
        A key of :data:`WINDOWS`.
    length : int
        Number of taps.

    Returns
    -------
    float32 [length]: the (unnormalised, peak ~1) window.
    """
    if name not in WINDOWS:
        raise DspError(f"unknown window '{name}'; choose one of {sorted(WINDOWS)}")
    return np.asarray(WINDOWS[name](length), dtype=np.float32)


def _check_fft_settings(window: str, num_bins: int | None) -> None:
    """Refuse an unknown window name or an FFT shorter than 2 bins."""
    if window not in WINDOWS:
        raise DspError(f"unknown window '{window}'; choose one of {sorted(WINDOWS)}")
    if num_bins is not None and num_bins < 2:
        raise DspError(f"num_bins must be >= 2, got {num_bins}")


class RangeFFT:
    """Windowed FFT over fast time (ADC samples).

    Parameters
    ----------
    window : str
        Window name from :data:`WINDOWS` (TI demo: Hann-like). Applied unnormalised,
        so a tone of amplitude ``A`` peaks at ``A * sum(window)``.
    num_bins : int or None
        FFT length; ``None`` uses the number of samples, larger values zero-pad
        (finer bin spacing, same resolution).
    complex_sampling : bool
        True for IQ captures (all bins valid); False for real sampling, where only the
        first ``num_bins // 2`` bins (non-negative beat frequencies) are returned.

    Input
    -----
    adc : complex [..., samples]

    Output
    ------
    complex64 [..., range_bins], ``range_bins = num_bins`` (complex) or ``num_bins // 2``.
    """

    def __init__(
        self, window: str = "hann", num_bins: int | None = None, complex_sampling: bool = True
    ) -> None:
        _check_fft_settings(window, num_bins)
        self.window = window
        self.num_bins = num_bins
        self.complex_sampling = complex_sampling

    def fft_size(self, num_samples: int) -> int:
        """FFT length used for ``num_samples`` ADC samples."""
        return num_samples if self.num_bins is None else max(self.num_bins, 2)

    def num_output_bins(self, num_samples: int) -> int:
        """Number of range bins returned for ``num_samples`` ADC samples."""
        n = self.fft_size(num_samples)
        return n if self.complex_sampling else n // 2

    def __call__(self, adc: np.ndarray) -> np.ndarray:
        adc = require_ndim(adc, 1, "adc", "[..., samples]")
        num_samples = adc.shape[-1]
        taps = window(self.window, num_samples)
        spectrum = scipy.fft.fft(
            (adc * taps).astype(np.complex64, copy=False), n=self.fft_size(num_samples), axis=-1
        )
        return spectrum[..., : self.num_output_bins(num_samples)]

    def range_axis_m(self, range_resolution_m: float, num_samples: int) -> np.ndarray:
        """Range of every output bin, float64 [range_bins] [m].

        Parameters
        ----------
        range_resolution_m : float
            ``c f_s / (2 S N)`` of the radar [m] (with ``N = num_samples``).
        num_samples : int
            ADC samples per chirp.
        """
        spacing = range_resolution_m * num_samples / self.fft_size(num_samples)
        return np.arange(self.num_output_bins(num_samples)) * spacing


def remove_static_clutter(x: np.ndarray, axis: int = LOOPS_AXIS) -> np.ndarray:
    """TI static clutter removal: subtract the mean over loops, per chirp and channel.

    Parameters
    ----------
    x : complex [..., loops, tx, rx, bins]
        Range spectra (or ADC samples: the operation is linear and commutes with the
        range FFT).
    axis : int
        The loops (slow-time) axis.

    Returns
    -------
    complex64, same shape: ``x - mean(x, axis)``. Zero-Doppler energy is removed.
    """
    x = require_ndim(x, 1, "x", "[..., loops, tx, rx, bins]")
    return (x - x.mean(axis=axis, keepdims=True)).astype(np.complex64, copy=False)


class DopplerFFT:
    """Windowed FFT over slow time (loops) with ``fftshift``.

    Parameters
    ----------
    window : str
        Window name from :data:`WINDOWS`.
    num_bins : int or None
        FFT length; ``None`` uses the number of loops. A larger value zero-pads; a smaller
        one keeps only the first ``num_bins`` loops.
    axis : int
        The loops axis of the input (default ``-4`` for ``[..., loops, tx, rx, range]``).

    Input
    -----
    x : complex [..., loops, tx, rx, range]

    Output
    ------
    complex64 [..., doppler, tx, rx, range]; index ``doppler // 2`` is zero velocity and
    increasing index means increasing (receding) radial velocity.
    """

    def __init__(
        self, window: str = "hann", num_bins: int | None = None, axis: int = LOOPS_AXIS
    ) -> None:
        _check_fft_settings(window, num_bins)
        self.window = window
        self.num_bins = num_bins
        self.axis = axis

    def fft_size(self, num_loops: int) -> int:
        """FFT length used for ``num_loops`` loops."""
        return num_loops if self.num_bins is None else self.num_bins

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = require_ndim(x, abs(self.axis), "x", "[..., loops, tx, rx, range]")
        num_loops = x.shape[self.axis]
        n_fft = self.fft_size(num_loops)
        if n_fft < num_loops:
            x = np.take(x, np.arange(n_fft), axis=self.axis)
            num_loops = n_fft
        shape = [1] * x.ndim
        shape[self.axis] = num_loops
        taps = window(self.window, num_loops).reshape(shape)
        spectrum = scipy.fft.fft(
            (x * taps).astype(np.complex64, copy=False), n=n_fft, axis=self.axis
        )
        return scipy.fft.fftshift(spectrum, axes=self.axis)

    def velocity_axis_mps(self, velocity_resolution_mps: float, num_loops: int) -> np.ndarray:
        """Radial velocity of every Doppler bin, float64 [doppler] [m/s].

        Parameters
        ----------
        velocity_resolution_mps : float
            ``lambda / (2 N_loops T_loop)`` of the radar [m/s] (with ``N_loops = num_loops``).
        num_loops : int
            Loops per frame.
        """
        n_fft = self.fft_size(num_loops)
        used = min(num_loops, n_fft)
        spacing = velocity_resolution_mps * used / n_fft
        return (np.arange(n_fft) - n_fft // 2) * spacing


class TdmDopplerCompensation:
    """Undo the Doppler phase that TDM-MIMO adds between the chirps of one loop.

    Chirp ``k`` of a loop is transmitted ``k * T_chirp`` after chirp 0, so a target with
    Doppler frequency ``f_d = 2 v / lambda`` adds the phase ``2 pi f_d k T_chirp`` to the
    virtual elements of chirp ``k``. Before angle estimation each Doppler bin is
    multiplied by

    .. math:: \\exp(-j 2 \\pi f_d k T_{chirp}).

    Velocities beyond the unambiguous interval are not corrected (Doppler aliasing).

    Parameters
    ----------
    chirp_time_s : float
        Chirp repetition time ``T_chirp`` [s].
    wavelength_m : float
        Carrier wavelength [m].

    Input
    -----
    rd : complex [..., doppler, tx, rx, range]
        Range-Doppler spectra per virtual channel (``tx`` = chirp index in the loop).
    velocity_axis_mps : float [doppler]
        Velocity of each Doppler bin [m/s].

    Output
    ------
    complex64, same shape as ``rd``.
    """

    def __init__(self, chirp_time_s: float, wavelength_m: float) -> None:
        if chirp_time_s <= 0 or wavelength_m <= 0:
            raise DspError("chirp_time_s and wavelength_m must be positive")
        self.chirp_time_s = chirp_time_s
        self.wavelength_m = wavelength_m

    def phase(self, velocity_axis_mps: np.ndarray, num_chirps: int) -> np.ndarray:
        """Correction factors, complex64 [doppler, chirps_per_loop]."""
        doppler_hz = 2.0 * np.asarray(velocity_axis_mps, dtype=np.float64) / self.wavelength_m
        k = np.arange(num_chirps)
        return np.exp(-2j * np.pi * np.outer(doppler_hz, k) * self.chirp_time_s).astype(
            np.complex64
        )

    def __call__(self, rd: np.ndarray, velocity_axis_mps: np.ndarray) -> np.ndarray:
        rd = require_ndim(rd, 4, "rd", "[..., doppler, tx, rx, range]")
        velocity_axis_mps = np.asarray(velocity_axis_mps)
        if velocity_axis_mps.shape != (rd.shape[-4],):
            raise DspError(
                f"velocity_axis_mps has shape {velocity_axis_mps.shape}, expected "
                f"({rd.shape[-4]},) to match the Doppler axis of rd {rd.shape}"
            )
        correction = self.phase(velocity_axis_mps, rd.shape[-3])  # (doppler, tx)
        return rd * correction[:, :, None, None]


def noncoherent_power(rd: np.ndarray) -> np.ndarray:
    """Non-coherent sum over virtual channels: ``sum_{tx, rx} |rd|^2``.

    Parameters
    ----------
    rd : complex [..., doppler, tx, rx, range]

    Returns
    -------
    float32 [..., doppler, range]: power (linear, ADC units squared).
    """
    rd = require_ndim(rd, 4, "rd", "[..., doppler, tx, rx, range]")
    power = rd.real**2 + rd.imag**2
    return power.sum(axis=(-3, -2), dtype=np.float32)


@dataclass(frozen=True)
class RangeDopplerCube:
    """Range-Doppler spectra of every virtual channel, ready for detection and angles.

    Attributes
    ----------
    spectra : complex64 [frames, doppler, chirps_per_loop, rx, range]
        After range FFT, optional static clutter removal, Doppler FFT (fftshifted) and
        TDM-MIMO Doppler phase compensation.
    power : float32 [frames, doppler, range]
        Non-coherent sum of ``|spectra|^2`` over the virtual channels.
    range_axis_m : float64 [range]
        Range of each bin [m].
    velocity_axis_mps : float64 [doppler]
        Radial velocity of each bin [m/s]; zero at index ``doppler // 2``.
    time_axis_s : float64 [frames]
        Start time of each frame [s].
    geometry : VirtualArrayGeometry
        Azimuth/elevation rows of the virtual array.
    """

    spectra: np.ndarray
    power: np.ndarray
    range_axis_m: np.ndarray
    velocity_axis_mps: np.ndarray
    time_axis_s: np.ndarray
    geometry: VirtualArrayGeometry

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        return int(self.spectra.shape[0])

    def virtual_snapshots(self) -> np.ndarray:
        """Spectra as ``[frames, range, elements, doppler]`` (elements = chirp * rx + r)."""
        f, d, t, r, n = self.spectra.shape
        return self.spectra.reshape(f, d, t * r, n).transpose(0, 3, 2, 1)


class RangeDopplerProcessor:
    """Range FFT, static clutter removal, Doppler FFT and TDM phase compensation.

    Parameters
    ----------
    range_window, doppler_window : str
        Window names from :data:`WINDOWS`.
    num_range_bins, num_doppler_bins : int or None
        FFT lengths (None: samples and loops of the cube).
    clutter_removal : bool or None
        Subtract the mean over loops; None follows ``cube.config.chain.clutter_removal``.

    Input
    -----
    cube : RadarCube
        ``adc`` complex64 [frames, loops, chirps_per_loop, rx, samples].

    Output
    ------
    :class:`RangeDopplerCube`
    """

    def __init__(
        self,
        range_window: str = "hann",
        doppler_window: str = "hann",
        num_range_bins: int | None = None,
        num_doppler_bins: int | None = None,
        clutter_removal: bool | None = None,
    ) -> None:
        self.range_window = range_window
        self.doppler_window = doppler_window
        self.num_range_bins = num_range_bins
        self.num_doppler_bins = num_doppler_bins
        self.clutter_removal = clutter_removal
        # Validate window names and bin counts now, not at the first cube.
        RangeFFT(range_window, num_range_bins)
        DopplerFFT(doppler_window, num_doppler_bins)

    def __call__(self, cube: RadarCube) -> RangeDopplerCube:
        if not isinstance(cube, RadarCube):
            raise DspError(f"expected a RadarCube, got {type(cube).__name__}")
        cfg = cube.config
        num_loops, num_samples = cube.adc.shape[1], cube.adc.shape[-1]
        range_fft = RangeFFT(self.range_window, self.num_range_bins, cfg.receiver.complex_sampling)
        doppler_fft = DopplerFFT(self.doppler_window, self.num_doppler_bins)
        spectra = range_fft(cube.adc)  # (frames, loops, tx, rx, range)
        remove = cfg.chain.clutter_removal if self.clutter_removal is None else self.clutter_removal
        if remove:
            spectra = remove_static_clutter(spectra)
        spectra = doppler_fft(spectra)  # (frames, doppler, tx, rx, range)
        velocity = doppler_fft.velocity_axis_mps(cfg.velocity_resolution_mps, num_loops)
        spectra = TdmDopplerCompensation(cfg.chirp_time_s, cfg.wavelength_m)(spectra, velocity)
        return RangeDopplerCube(
            spectra=spectra,
            power=noncoherent_power(spectra),
            range_axis_m=range_fft.range_axis_m(cfg.range_resolution_m, num_samples),
            velocity_axis_mps=velocity,
            time_axis_s=np.asarray(cube.frame_times_s, dtype=np.float64),
            geometry=VirtualArrayGeometry.from_config(cfg),
        )
