"""Angle of arrival over the TDM-MIMO virtual array.

Geometry and sign convention
----------------------------
Virtual element ``i`` sits at ``p_i`` (``RadarConfig.virtual_positions_m``, local frame:
x right, y boresight, z up). For a far target in the unit direction
``u = (sin az cos el, cos az cos el, sin el)`` the two-way path to element ``i`` is about
``2R - p_i . u``, so its phase is shifted by ``exp(-j 2 pi p_i . u / lambda)``. The
steering vector used everywhere here is therefore

.. math:: a_i(u) = \\exp(-j 2 \\pi \\, p_i \\cdot u / \\lambda),

and azimuth is positive towards +x, elevation positive towards +z.

* The **azimuth row** is the z-level holding the most virtual elements; its elements are
  put on a uniform grid of spacing ``d`` (the smallest x gap). Duplicated positions are
  averaged, missing ones left at zero.
* The **elevated row** is the next most populated z-level (if any). Elevation comes from
  the TI-style phase difference between an elevated element and the azimuth-row element
  at the same x: ``phi_el - phi_az = -2 pi dz sin(el) / lambda``.

Estimators (registry :data:`ANGLE_ESTIMATORS`)
----------------------------------------------
* ``"fft"``: :class:`FFTBeamformer`, zero-padded FFT over the azimuth row (uniform in
  ``sin az``), peak refined by parabolic interpolation.
* ``"capon"``: :class:`CaponBeamformer`, MVDR ``P = 1 / (a^H R^{-1} a)`` with diagonal
  loading over a grid of angles (J. Capon, "High-resolution frequency-wavenumber spectrum
  analysis", Proc. IEEE 57(8), 1969).

Second source (TI ``multiObjBeamForming``)
------------------------------------------
:meth:`AngleEstimator.estimate_second` looks, as the TI demo does after its azimuth FFT, for
the strongest grid point outside the main lobe of the strongest one (the main lobe: from the
maximum, walk outwards on each side while the power does not increase) and reports it where
its power exceeds ``threshold`` times the maximum's. A grid that covers one whole period of
the array's spatial spectrum (the FFT grid when ``d <= lambda / 2`` leaves no bin out) is
walked circularly, as the device's FFT bins are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft

from mmexpert.dsp.base import DspError, require_ndim
from mmexpert.radar.config import RadarConfig


@dataclass(frozen=True)
class VirtualArrayGeometry:
    """Azimuth and elevation rows of a virtual array, read from positions (never assumed).

    Attributes
    ----------
    positions_m : float64 [elements, 3]
        Virtual element positions, flat index ``chirp * rx + r`` [m].
    wavelength_m : float
        Carrier wavelength [m].
    azimuth_indices : int [n_az]
        Flat indices of the azimuth-row elements, sorted by x.
    azimuth_slots : int [n_az]
        Slot of each azimuth-row element on the uniform grid ``x_min + slot * d``.
    num_azimuth_slots : int
        Length of the uniform grid.
    azimuth_spacing_m : float
        Grid spacing ``d`` [m].
    elevation_pairs : int [n_pairs, 2]
        (elevated element, azimuth-row element at the same x), flat indices.
    elevation_offset_m : float
        ``z_elevated - z_azimuth`` [m]; 0 when there is no elevated row.
    elevated_indices : int [n_el]
        Flat indices of all elevated-row elements (empty when none).
    """

    positions_m: np.ndarray
    wavelength_m: float
    azimuth_indices: np.ndarray
    azimuth_slots: np.ndarray
    num_azimuth_slots: int
    azimuth_spacing_m: float
    elevation_pairs: np.ndarray
    elevation_offset_m: float
    elevated_indices: np.ndarray

    @classmethod
    def from_positions(
        cls, positions_m: np.ndarray, wavelength_m: float, tol_m: float = 1e-6
    ) -> VirtualArrayGeometry:
        """Build from virtual positions float [..., 3] [m] and the wavelength [m]."""
        pos = np.asarray(positions_m, dtype=np.float64).reshape(-1, 3)
        if pos.shape[0] == 0:
            raise DspError("the virtual array has no elements")
        z_levels = _cluster(pos[:, 2], tol_m)
        counts = {z: int(np.sum(np.abs(pos[:, 2] - z) < tol_m)) for z in z_levels}
        ordered = sorted(z_levels, key=lambda z: (-counts[z], z))
        z_az = ordered[0]
        az = np.flatnonzero(np.abs(pos[:, 2] - z_az) < tol_m)
        az = az[np.argsort(pos[az, 0], kind="stable")]
        xs = pos[az, 0]
        distinct = _cluster(xs, tol_m)
        gaps = np.diff(distinct)
        spacing = float(gaps.min()) if gaps.size else wavelength_m / 2
        slots = np.rint((xs - xs[0]) / spacing).astype(np.int64)
        if np.any(np.abs(xs - xs[0] - slots * spacing) > 1e-3 * spacing + tol_m):
            raise DspError(
                "the azimuth row is not on a uniform grid (x positions "
                f"{np.round(xs * 1e3, 3).tolist()} mm, spacing {spacing * 1e3:.3f} mm)"
            )
        pairs: list[tuple[int, int]] = []
        elevated = np.zeros(0, dtype=np.int64)
        dz = 0.0
        if len(ordered) > 1:
            z_el = ordered[1]
            dz = float(z_el - z_az)
            elevated = np.flatnonzero(np.abs(pos[:, 2] - z_el) < tol_m)
            for e in elevated:
                match = az[np.abs(xs - pos[e, 0]) < tol_m]
                if match.size:
                    pairs.append((int(e), int(match[0])))
        return cls(
            positions_m=pos,
            wavelength_m=float(wavelength_m),
            azimuth_indices=az,
            azimuth_slots=slots,
            num_azimuth_slots=int(slots.max()) + 1,
            azimuth_spacing_m=spacing,
            elevation_pairs=np.asarray(pairs, dtype=np.int64).reshape(-1, 2),
            elevation_offset_m=dz,
            elevated_indices=elevated,
        )

    @classmethod
    def from_config(cls, config: RadarConfig) -> VirtualArrayGeometry:
        """Geometry of ``config.virtual_positions_m`` at ``config.wavelength_m``."""
        return cls.from_positions(config.virtual_positions_m, config.wavelength_m)

    @property
    def has_elevation(self) -> bool:
        """Whether an elevated row exists to estimate elevation."""
        return self.elevated_indices.size > 0 and self.elevation_offset_m != 0.0

    @property
    def azimuth_x_m(self) -> np.ndarray:
        """x positions of the azimuth-row elements, float64 [n_az] [m]."""
        return self.positions_m[self.azimuth_indices, 0]

    def steering(
        self, azimuth_rad: np.ndarray | float, elevation_rad: np.ndarray | float = 0.0
    ) -> np.ndarray:
        """Steering vectors of all elements, complex128 [..., elements].

        ``a_i = exp(-j 2 pi p_i . u / lambda)`` for directions given by azimuth and
        elevation [rad] (broadcast together).
        """
        az = np.asarray(azimuth_rad, dtype=np.float64)
        el = np.asarray(elevation_rad, dtype=np.float64)
        u = np.stack(
            np.broadcast_arrays(np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)),
            axis=-1,
        )
        return np.exp(-2j * np.pi * (u @ self.positions_m.T) / self.wavelength_m)


def _cluster(values: np.ndarray, tol: float) -> list[float]:
    """Distinct values of a 1-D array, merging those closer than ``tol``."""
    out: list[float] = []
    for v in np.sort(values):
        if not out or v - out[-1] > tol:
            out.append(float(v))
    return out


@dataclass(frozen=True)
class SecondSource:
    """The second azimuth peak of each detection (see :meth:`AngleEstimator.estimate_second`).

    Attributes
    ----------
    found : bool [...]
        Whether a peak outside the first one's main lobe exceeds the threshold.
    azimuth_rad : float64 [...]
        Its azimuth [rad]; meaningful where ``found``.
    elevation_rad : float64 [...]
        Its elevation [rad] (0 without an elevated row); meaningful where ``found``.
    power_ratio : float64 [...]
        Its grid power over the first peak's grid power (0 where the main lobe fills the
        whole grid); the point's intensity is the first's plus ``10 log10(power_ratio)`` dB.
    """

    found: np.ndarray
    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    power_ratio: np.ndarray


@dataclass(frozen=True)
class AngleSpectrum:
    """Power over a grid of directions.

    Attributes
    ----------
    power : float64 [..., angles]
        Spatial power spectrum (linear).
    sine_axis : float64 [angles]
        ``sin(azimuth) cos(elevation)`` of every grid point, increasing.
    angle_axis_rad : float64 [angles]
        ``arcsin(sine_axis)``: the azimuth at zero elevation [rad].
    """

    power: np.ndarray
    sine_axis: np.ndarray
    angle_axis_rad: np.ndarray


class AngleEstimator:
    """Base class: spatial spectrum over the azimuth row, and point direction estimates.

    Subclasses implement :meth:`_azimuth_power` (the spectrum on their own grid). This
    class checks inputs, refines the peak and estimates elevation.

    Input (both methods)
    --------------------
    snapshots : complex [..., elements, snapshots]
        Virtual-channel samples (all ``chirps_per_loop * rx`` elements, flat index
        ``chirp * rx + r``), after TDM Doppler compensation, with one or more snapshots
        (e.g. neighbouring range-Doppler cells or all Doppler bins of one range bin).
    geometry : VirtualArrayGeometry
    """

    @classmethod
    def with_grid(cls, num_angles: int) -> AngleEstimator:
        """An estimator with default settings and a spectrum grid of ``num_angles`` points
        (FFT length for :class:`FFTBeamformer`, angle grid for :class:`CaponBeamformer`)."""
        raise NotImplementedError

    def azimuth_spectrum(
        self, snapshots: np.ndarray, geometry: VirtualArrayGeometry
    ) -> AngleSpectrum:
        """Azimuth spectrum of the azimuth row; power float64 [..., angles]."""
        return self._spectrum(self._check(snapshots, geometry), geometry, fine=False)

    def _spectrum(self, x: np.ndarray, geometry: VirtualArrayGeometry, fine: bool) -> AngleSpectrum:
        row = x[..., geometry.azimuth_indices, :]
        power, sine = self._azimuth_power(row, geometry, fine)
        return AngleSpectrum(power=power, sine_axis=sine, angle_axis_rad=np.arcsin(sine))

    def estimate(
        self, snapshots: np.ndarray, geometry: VirtualArrayGeometry
    ) -> tuple[np.ndarray, np.ndarray]:
        """Direction of the strongest source.

        Returns
        -------
        azimuth_rad : float64 [...]
            Azimuth [rad], positive towards +x.
        elevation_rad : float64 [...]
            Elevation [rad], positive towards +z; 0 where the array has no elevated row.
        """
        x = self._check(snapshots, geometry)
        spectrum = self._spectrum(x, geometry, fine=True)
        sine_x = _refine_peak(spectrum.power, spectrum.sine_axis)
        elevation = self._elevation(x, geometry, sine_x)
        cos_el = np.maximum(np.cos(elevation), 1e-9)
        azimuth = np.arcsin(np.clip(sine_x / cos_el, -1.0, 1.0))
        return azimuth, elevation

    def estimate_second(
        self, snapshots: np.ndarray, geometry: VirtualArrayGeometry, threshold: float
    ) -> SecondSource:
        """Direction of a second source outside the main lobe of the strongest (TI
        ``multiObjBeamForming``), on the same grid and with the same refinement as
        :meth:`estimate`.

        Parameters
        ----------
        threshold : float
            In (0, 1]: the second peak's power must exceed ``threshold`` times the first's.

        Returns
        -------
        SecondSource
            Arrays shaped like the leading axes of ``snapshots``. Its elevation is read from
            the elevated row beamformed towards the second azimuth, so that the first
            source's phase does not leak into it.
        """
        if not 0.0 < threshold <= 1.0:
            raise DspError(f"threshold must be in (0, 1], got {threshold}")
        x = self._check(snapshots, geometry)
        spectrum = self._spectrum(x, geometry, fine=True)
        power, sine = spectrum.power, spectrum.sine_axis
        first = np.argmax(power, axis=-1)
        period = geometry.wavelength_m / geometry.azimuth_spacing_m
        second, ratio = _second_peak(power, first, sine, period)
        found = ratio > threshold
        sine_x = _refine_peak(power, sine, second)
        elevation = self._beamformed_elevation(x, geometry, sine_x)
        cos_el = np.maximum(np.cos(elevation), 1e-9)
        azimuth = np.arcsin(np.clip(sine_x / cos_el, -1.0, 1.0))
        return SecondSource(found, azimuth, elevation, ratio)

    def _azimuth_power(
        self, row: np.ndarray, geometry: VirtualArrayGeometry, fine: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Power float64 [..., grid] of the azimuth row [..., n_az, snapshots] and the
        increasing ``sin(az)`` grid [grid]; ``fine`` asks for the point-estimation grid."""
        raise NotImplementedError

    @staticmethod
    def _check(snapshots: np.ndarray, geometry: VirtualArrayGeometry) -> np.ndarray:
        x = require_ndim(snapshots, 2, "snapshots", "[..., elements, snapshots]")
        if x.shape[-2] != geometry.positions_m.shape[0]:
            raise DspError(
                f"snapshots have {x.shape[-2]} elements on axis -2 but the virtual array "
                f"has {geometry.positions_m.shape[0]}"
            )
        return x

    @staticmethod
    def _elevation(x: np.ndarray, geometry: VirtualArrayGeometry, sine_x: np.ndarray) -> np.ndarray:
        if not geometry.has_elevation:
            return np.zeros(sine_x.shape)
        lam, dz = geometry.wavelength_m, geometry.elevation_offset_m
        if geometry.elevation_pairs.size:
            e, a = geometry.elevation_pairs[:, 0], geometry.elevation_pairs[:, 1]
            cross = np.sum(x[..., e, :] * np.conj(x[..., a, :]), axis=(-2, -1))
        else:
            # No element shares an x position: remove the x phase with the azimuth estimate.
            pos = geometry.positions_m
            undo = np.exp(2j * np.pi * sine_x[..., None] * pos[:, 0] / lam)[..., None]
            comp = x * undo
            el_mean = comp[..., geometry.elevated_indices, :].mean(axis=-2)
            az_mean = comp[..., geometry.azimuth_indices, :].mean(axis=-2)
            cross = np.sum(el_mean * np.conj(az_mean), axis=-1)
        sin_el = -np.angle(cross) * lam / (2 * np.pi * dz)
        return np.arcsin(np.clip(sin_el, -1.0, 1.0))

    @classmethod
    def _beamformed_elevation(
        cls, x: np.ndarray, geometry: VirtualArrayGeometry, sine_x: np.ndarray
    ) -> np.ndarray:
        """Elevation from the elevation pairs steered to ``sine_x`` (TI: the phase between the
        two rows' azimuth FFTs at the peak bin), so that other azimuths are suppressed."""
        if not geometry.has_elevation or not geometry.elevation_pairs.size:
            return cls._elevation(x, geometry, sine_x)  # that path already steers to sine_x
        lam, dz = geometry.wavelength_m, geometry.elevation_offset_m
        e, a = geometry.elevation_pairs[:, 0], geometry.elevation_pairs[:, 1]
        pair_x = geometry.positions_m[a, 0]
        weights = np.exp(2j * np.pi * sine_x[..., None] * pair_x / lam)[..., None]  # (..., p, 1)
        beam_el = np.sum(x[..., e, :] * weights, axis=-2)  # (..., snapshots)
        beam_az = np.sum(x[..., a, :] * weights, axis=-2)
        cross = np.sum(beam_el * np.conj(beam_az), axis=-1)
        sin_el = -np.angle(cross) * lam / (2 * np.pi * dz)
        return np.arcsin(np.clip(sin_el, -1.0, 1.0))


def _is_circular(sine: np.ndarray, period: float) -> bool:
    """Whether the grid is uniform in ``sin`` and spans one ``period`` of the azimuth row's
    spectrum, so that its last point neighbours its first."""
    if sine.size < 3:
        return False
    step = np.diff(sine)
    if not np.allclose(step, step[0], rtol=1e-9, atol=0.0):
        return False
    return bool(abs(sine.size * step[0] - period) <= 1e-9 * period)


def _second_peak(
    power: np.ndarray, first: np.ndarray, sine: np.ndarray, period: float
) -> tuple[np.ndarray, np.ndarray]:
    """Strongest grid point outside the main lobe of the grid point ``first``.

    The main lobe runs from ``first`` outwards on each side up to and including the first
    local minimum (TI: walk while the power does not increase). A grid spanning one period
    is walked circularly; on a grid spanning more than one (``d > lambda / 2`` over all
    of ``[-90, 90] deg``) the main lobe's grating images one period away are excluded too.

    Parameters
    ----------
    power : float [..., n]
    first : int [...]
        Index of the first peak (its maximum).
    sine : float [n]
        ``sin(az)`` of the grid points, increasing.
    period : float
        ``lambda / d``: the period of the azimuth row's spectrum in ``sin(az)``.

    Returns
    -------
    index : int [...]
        Grid index of the second peak (the first peak's where none exists).
    ratio : float64 [...]
        Its power over the first's; 0 where the main lobe covers the whole grid.
    """
    n = power.shape[-1]
    circular = _is_circular(sine, period)
    if circular:
        # Roll each spectrum so that its maximum sits at 0 and, repeated, at n.
        index = (first[..., None] + np.arange(n + 1)) % n  # (..., n + 1)
        walked = np.take_along_axis(power, index, axis=-1)
        start_right = np.zeros(first.shape, dtype=np.int64)
        start_left = np.full(first.shape, n, dtype=np.int64)
    else:
        index = np.broadcast_to(np.arange(n), power.shape)
        walked = power
        start_right = start_left = first
    m = walked.shape[-1]
    positions = np.arange(m)
    # Right valley: the first j >= start where walked[j + 1] > walked[j] (else the last point).
    rises = np.zeros(walked.shape, dtype=bool)
    rises[..., :-1] = walked[..., 1:] > walked[..., :-1]
    rises &= positions >= start_right[..., None]
    right = np.where(rises.any(axis=-1), np.argmax(rises, axis=-1), m - 1)
    # Left valley: the last j <= start where walked[j - 1] > walked[j] (else the first point).
    falls = np.zeros(walked.shape, dtype=bool)
    falls[..., 1:] = walked[..., :-1] > walked[..., 1:]
    falls &= positions <= start_left[..., None]
    left = np.where(falls.any(axis=-1), m - 1 - np.argmax(falls[..., ::-1], axis=-1), 0)
    if circular:
        outside = (positions > right[..., None]) & (positions < left[..., None])
    else:
        outside = (positions < left[..., None]) | (positions > right[..., None])
        low, high = sine[left][..., None], sine[right][..., None]
        for shift in (-period, period):
            outside &= ~((sine >= low + shift) & (sine <= high + shift))
    candidates = np.where(outside, walked, -np.inf)
    best = np.argmax(candidates, axis=-1)
    exists = outside.any(axis=-1)
    peak = np.take_along_axis(power, first[..., None], -1)[..., 0]
    second_power = np.take_along_axis(walked, best[..., None], -1)[..., 0]
    ratio = np.where(exists, second_power / np.maximum(peak, 1e-300), 0.0)
    second = np.take_along_axis(index, best[..., None], -1)[..., 0]
    return np.where(exists, second, first), ratio


def _refine_peak(power: np.ndarray, axis: np.ndarray, k: np.ndarray | None = None) -> np.ndarray:
    """Peak position on ``axis`` with parabolic interpolation of the dB spectrum.

    power float [..., n], axis float [n] (uniform or smoothly varying) -> float [...];
    ``k`` int [...]: the grid index of the peak to refine (default: the maximum).
    """
    n = power.shape[-1]
    if k is None:
        k = np.argmax(power, axis=-1)
    km, kp = np.clip(k - 1, 0, n - 1), np.clip(k + 1, 0, n - 1)
    db = 10 * np.log10(np.maximum(power, 1e-300))
    y0 = np.take_along_axis(db, km[..., None], -1)[..., 0]
    y1 = np.take_along_axis(db, k[..., None], -1)[..., 0]
    y2 = np.take_along_axis(db, kp[..., None], -1)[..., 0]
    denom = y0 - 2 * y1 + y2
    interior = (k > 0) & (k < n - 1) & (denom < 0)
    offset = np.where(interior, 0.5 * (y0 - y2) / np.where(interior, denom, 1.0), 0.0)
    return np.interp(k + np.clip(offset, -0.5, 0.5), np.arange(n), axis)


class FFTBeamformer(AngleEstimator):
    """Zero-padded FFT over the uniform azimuth row (TI demo style).

    Parameters
    ----------
    num_bins : int
        FFT length (zero padding); the grid is uniform in ``sin(az)`` with step
        ``lambda / (d * num_bins)``, restricted to ``|sin| <= 1``.

    Output
    ------
    Spectrum power: mean over snapshots of ``|sum_m x_m exp(+j 2 pi m k / num_bins)|^2``.
    """

    def __init__(self, num_bins: int = 256) -> None:
        if num_bins < 2:
            raise DspError(f"num_bins must be >= 2, got {num_bins}")
        self.num_bins = num_bins

    @classmethod
    def with_grid(cls, num_angles: int) -> FFTBeamformer:
        return cls(num_bins=num_angles)

    def _azimuth_power(
        self, row: np.ndarray, geometry: VirtualArrayGeometry, fine: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        n_slots = geometry.num_azimuth_slots
        if self.num_bins < n_slots:
            raise DspError(f"num_bins {self.num_bins} < {n_slots} azimuth slots")
        # Averaging matrix [n_slots, n_az]: duplicated positions are averaged, gaps stay 0.
        placement = np.zeros((n_slots, row.shape[-2]))
        placement[geometry.azimuth_slots, np.arange(row.shape[-2])] = 1.0
        placement /= np.maximum(placement.sum(axis=1, keepdims=True), 1.0)
        slots = np.einsum("sa,...at->...st", placement, row)
        # The +j kernel (inverse FFT, unscaled) turns exp(-j 2 pi m d s / lambda) into a
        # peak at k / N = d s / lambda, i.e. positive bins for positive azimuth.
        spec = scipy.fft.ifft(slots, n=self.num_bins, axis=-2, norm="forward")
        spec = scipy.fft.fftshift(spec, axes=-2)
        power = np.mean(spec.real**2 + spec.imag**2, axis=-1)
        k = np.arange(self.num_bins) - self.num_bins // 2
        sine = k * geometry.wavelength_m / (geometry.azimuth_spacing_m * self.num_bins)
        valid = np.abs(sine) <= 1.0
        return power[..., valid], sine[valid]


class CaponBeamformer(AngleEstimator):
    """Capon / MVDR beamformer over a uniform grid of azimuths.

    Parameters
    ----------
    num_angles : int
        Grid size over ``angle_span_rad`` (DESIGN section 6: 128 over [-90 deg, 90 deg]).
    angle_span_rad : tuple[float, float]
        First and last grid azimuth [rad].
    diagonal_loading : float
        Loading added to the covariance diagonal, relative to its mean eigenvalue
        ``trace(R) / M``; keeps ``R`` invertible with few snapshots.
    refine_num_angles : int
        Grid size used by :meth:`estimate` (a finer grid for point directions).

    Output
    ------
    Spectrum power ``1 / Re(a^H R^{-1} a)`` with ``R = X X^H / snapshots + loading``.
    """

    def __init__(
        self,
        num_angles: int = 128,
        angle_span_rad: tuple[float, float] = (-math.pi / 2, math.pi / 2),
        diagonal_loading: float = 1e-2,
        refine_num_angles: int = 721,
    ) -> None:
        if num_angles < 2 or refine_num_angles < 2:
            raise DspError("num_angles and refine_num_angles must be >= 2")
        if not -math.pi / 2 <= angle_span_rad[0] < angle_span_rad[1] <= math.pi / 2:
            raise DspError(f"angle_span_rad {angle_span_rad} must be increasing in [-pi/2, pi/2]")
        if diagonal_loading <= 0:
            raise DspError(f"diagonal_loading must be > 0, got {diagonal_loading}")
        self.num_angles = num_angles
        self.angle_span_rad = angle_span_rad
        self.diagonal_loading = diagonal_loading
        self.refine_num_angles = refine_num_angles

    @classmethod
    def with_grid(cls, num_angles: int) -> CaponBeamformer:
        return cls(num_angles=num_angles, refine_num_angles=num_angles)

    @property
    def angle_axis_rad(self) -> np.ndarray:
        """The map grid, float64 [num_angles] [rad]."""
        return np.linspace(*self.angle_span_rad, self.num_angles)

    def _azimuth_power(
        self, row: np.ndarray, geometry: VirtualArrayGeometry, fine: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        m, s = row.shape[-2], row.shape[-1]
        cov = (row @ np.conj(np.swapaxes(row, -1, -2))) / s  # (..., m, m)
        load = self.diagonal_loading * np.trace(cov, axis1=-2, axis2=-1).real / m
        cov = cov + (np.maximum(load, 1e-30))[..., None, None] * np.eye(m)
        inv = np.linalg.inv(cov)
        angles = np.linspace(
            *self.angle_span_rad, self.refine_num_angles if fine else self.num_angles
        )
        sine = np.sin(angles)
        steer = np.exp(-2j * np.pi * np.outer(sine, geometry.azimuth_x_m) / geometry.wavelength_m)
        # a^H R^-1 a for every grid angle, as one batched matmul: (..., m, angles).
        inv_steer = inv @ steer.T
        quad = np.sum(np.conj(steer.T) * inv_steer, axis=-2).real
        return 1.0 / np.maximum(quad, 1e-300), sine


ANGLE_ESTIMATORS: dict[str, type[AngleEstimator]] = {
    "fft": FFTBeamformer,
    "capon": CaponBeamformer,
}
"""Angle estimator registry: name -> class (construct with its settings)."""
