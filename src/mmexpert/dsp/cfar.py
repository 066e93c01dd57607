"""Constant false-alarm rate (CFAR) detection and TI-style peak grouping.

* :class:`CACFAR` (``"ca"``): cell averaging. Noise = mean of ``2 * train`` training cells
  around a ``2 * guard + 1`` guard window. For exponential (square-law, one look) noise
  the false-alarm rate is

  .. math:: P_{fa} = (1 + \\alpha / N)^{-N}, \\quad \\alpha = 10^{thr_{dB}/10}, N = 2 \\cdot train.

* :class:`CASOCFAR` (``"caso"``, TI mode 2) and :class:`CAGOCFAR` (``"cago"``, TI mode 1):
  the smaller / larger of the leading and lagging means (closed-form ``P_fa`` from
  P. P. Gandhi and S. A. Kassam, IEEE Trans. AES 24(4), 1988).
* :class:`OSCFAR` (``"os"``): ordered statistic. Noise = the k-th smallest training cell,
  ``k = round(rank_fraction * N)``; robust next to strong targets
  (H. Rohling, "Radar CFAR thresholding in clutter and multiple target situations",
  IEEE Trans. AES 19(4), 1983):

  .. math:: P_{fa} = \\prod_{i=0}^{k-1} \\frac{N - i}{N - i + \\alpha}.

Both run as 1-D sliding windows with :mod:`scipy.ndimage` along one axis of any array,
with wrap-around (Doppler) or mirrored edges (range). :class:`TwoPassCFAR` is the TI demo
detector on the non-coherent range-Doppler map: a range pass, confirmed by a Doppler pass.
:func:`group_peaks` keeps detections that are local maxima of their 3x3 neighbourhood.

Registry: :data:`CFAR_DETECTORS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.ndimage as ndi

from mmexpert.dsp.base import DspError, require_ndim


@dataclass(frozen=True)
class CfarResult:
    """Output of a CFAR pass.

    Attributes
    ----------
    detected : bool [...]
        Cells above ``threshold * noise``; same shape as the input map.
    noise : float64 [...]
        Noise estimate of every cell (linear power, the input's unit).
    """

    detected: np.ndarray
    noise: np.ndarray

    def cell_snr_db(self, power: np.ndarray) -> np.ndarray:
        """SNR of every cell over its noise estimate, float64 [...] [dB]."""
        return 10 * np.log10(np.maximum(power, 1e-300) / np.maximum(self.noise, 1e-300))


class CFAR:
    """Base class of 1-D CFAR detectors.

    Parameters
    ----------
    guard : int
        Guard cells on each side of the cell under test.
    train : int
        Training cells on each side (``N = 2 * train`` in all).
    threshold_db : float
        Detection threshold over the noise estimate [dB].
    wrap : bool
        Circular edges (Doppler axis) if True, mirrored edges (range axis) otherwise.

    Input
    -----
    power : float [...]
        Linear power map (e.g. non-coherent range-Doppler map).
    axis : int
        Axis along which the window slides.

    Output
    ------
    :class:`CfarResult`
    """

    def __init__(
        self, guard: int = 2, train: int = 8, threshold_db: float = 15.0, wrap: bool = False
    ) -> None:
        if guard < 0 or train < 1:
            raise DspError(
                f"CFAR needs guard >= 0 and train >= 1, got guard={guard}, train={train}"
            )
        self.guard = int(guard)
        self.train = int(train)
        self.threshold_db = float(threshold_db)
        self.wrap = bool(wrap)

    @property
    def threshold(self) -> float:
        """Linear threshold factor ``10^(threshold_db / 10)``."""
        return 10 ** (self.threshold_db / 10)

    @property
    def mode(self) -> str:
        """Edge handling passed to :mod:`scipy.ndimage`."""
        return "wrap" if self.wrap else "mirror"

    def design_false_alarm_rate(self) -> float:
        """False-alarm probability for i.i.d. exponential noise (closed form)."""
        raise NotImplementedError

    def __call__(self, power: np.ndarray, axis: int = -1) -> CfarResult:
        power = require_ndim(power, 1, "power", "[...]")
        if np.iscomplexobj(power):
            raise DspError("CFAR needs a real power map; pass |x|^2, not complex samples")
        window = 2 * (self.guard + self.train) + 1
        if power.shape[axis] < window:
            raise DspError(
                f"axis {axis} has {power.shape[axis]} cells, fewer than the CFAR window "
                f"{window} (2 * (guard {self.guard} + train {self.train}) + 1)"
            )
        noise = self._noise(np.asarray(power, dtype=np.float64), axis)
        return CfarResult(detected=power > self.threshold * noise, noise=noise)

    def _noise(self, power: np.ndarray, axis: int) -> np.ndarray:
        raise NotImplementedError


def _side_means(
    power: np.ndarray, guard: int, train: int, axis: int, wrap: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Means of the ``train`` cells before and after each cell, beyond ``guard`` cells.

    Returns (leading, lagging), float64 with the shape of ``power``; edges wrap around or
    are mirrored (numpy ``reflect`` = scipy ``mirror``).
    """
    axis = axis % power.ndim
    reach = guard + train
    pad = [(0, 0)] * power.ndim
    pad[axis] = (reach + 1, reach)
    padded = np.pad(power, pad, mode="wrap" if wrap else "reflect")
    csum = np.cumsum(padded, axis=axis)
    n = power.shape[axis]

    def window_sum(first: int) -> np.ndarray:
        # Sum of cells i+first .. i+first+train-1 for every i, from the cumulative sum.
        hi = np.take(csum, np.arange(n) + reach + 1 + first + train - 1, axis=axis)
        lo = np.take(csum, np.arange(n) + reach + first, axis=axis)
        return hi - lo

    leading = window_sum(-reach) / train
    lagging = window_sum(guard + 1) / train
    return leading, lagging


class CACFAR(CFAR):
    """Cell-averaging CFAR (see module docstring)."""

    def design_false_alarm_rate(self) -> float:
        n = 2 * self.train
        return float((1 + self.threshold / n) ** (-n))

    def _noise(self, power: np.ndarray, axis: int) -> np.ndarray:
        leading, lagging = _side_means(power, self.guard, self.train, axis, self.wrap)
        return 0.5 * (leading + lagging)


def _smallest_of_false_alarm_rate(train: int, threshold: float) -> float:
    """P_fa of SO-CFAR for exponential noise (Gandhi & Kassam, IEEE Trans. AES 24(4), 1988).

    With ``t = threshold / train`` applied to the smaller side mean:
    ``P_SO = 2 sum_{k=0}^{n-1} C(n-1+k, k) (2 + t)^-(n+k)``, ``n = train``.
    """
    t = threshold / train
    return float(
        2 * sum(math.comb(train - 1 + k, k) * (2 + t) ** (-(train + k)) for k in range(train))
    )


class CASOCFAR(CFAR):
    """Smallest-of CA-CFAR (TI ``cfarCfg`` mode 2): noise = the smaller side mean."""

    def design_false_alarm_rate(self) -> float:
        return _smallest_of_false_alarm_rate(self.train, self.threshold)

    def _noise(self, power: np.ndarray, axis: int) -> np.ndarray:
        return np.minimum(*_side_means(power, self.guard, self.train, axis, self.wrap))


class CAGOCFAR(CFAR):
    """Greatest-of CA-CFAR (TI ``cfarCfg`` mode 1): noise = the larger side mean."""

    def design_false_alarm_rate(self) -> float:
        # E[exp(-t min)] + E[exp(-t max)] = 2 (1 + t)^-n, t = threshold / train.
        one_side = (1 + self.threshold / self.train) ** (-self.train)
        return float(2 * one_side - _smallest_of_false_alarm_rate(self.train, self.threshold))

    def _noise(self, power: np.ndarray, axis: int) -> np.ndarray:
        return np.maximum(*_side_means(power, self.guard, self.train, axis, self.wrap))


class OSCFAR(CFAR):
    """Ordered-statistic CFAR (see module docstring).

    Parameters
    ----------
    rank_fraction : float
        ``k / N``; 0.75 is Rohling's recommendation.
    """

    def __init__(
        self,
        guard: int = 2,
        train: int = 8,
        threshold_db: float = 15.0,
        wrap: bool = False,
        rank_fraction: float = 0.75,
    ) -> None:
        super().__init__(guard, train, threshold_db, wrap)
        if not 0 < rank_fraction <= 1:
            raise DspError(f"rank_fraction must be in (0, 1], got {rank_fraction}")
        self.rank_fraction = float(rank_fraction)

    @property
    def rank(self) -> int:
        """1-based order ``k`` of the statistic used as the noise estimate."""
        return max(1, min(2 * self.train, round(self.rank_fraction * 2 * self.train)))

    def design_false_alarm_rate(self) -> float:
        n, k, a = 2 * self.train, self.rank, self.threshold
        i = np.arange(k)
        return float(np.prod((n - i) / (n - i + a)))

    def _noise(self, power: np.ndarray, axis: int) -> np.ndarray:
        taps = np.r_[np.ones(self.train), np.zeros(2 * self.guard + 1), np.ones(self.train)]
        shape = [1] * power.ndim
        shape[axis] = taps.size
        footprint = taps.astype(bool).reshape(shape)
        return ndi.rank_filter(power, self.rank - 1, footprint=footprint, mode=self.mode)


CFAR_DETECTORS: dict[str, type[CFAR]] = {
    "ca": CACFAR,
    "caso": CASOCFAR,
    "cago": CAGOCFAR,
    "os": OSCFAR,
}
"""CFAR registry: kind -> class (``ChainSettings.cfar_kind`` picks one)."""


@dataclass(frozen=True)
class Detections:
    """Cells detected on a range-Doppler map.

    Attributes
    ----------
    mask : bool [..., doppler, range]
        Detected cells after peak grouping.
    noise : float64 [..., doppler, range]
        Noise estimate of the range pass (linear power).
    """

    mask: np.ndarray
    noise: np.ndarray


class TwoPassCFAR:
    """TI demo detection on a non-coherent range-Doppler map.

    A cell is detected if the range pass (CFAR along range, mirrored edges) fires and the
    Doppler pass (CFAR along Doppler, circular) confirms it; :func:`group_peaks` then keeps
    the 3x3 local maxima.

    Parameters
    ----------
    range_cfar : CFAR
        Detector along range (its ``wrap`` should be False).
    doppler_cfar : CFAR
        Detector along Doppler (its ``wrap`` should be True).
    peak_grouping : bool
        Keep only local maxima (TI ``peakGrouping``).

    Input
    -----
    power : float [..., doppler, range]

    Output
    ------
    :class:`Detections`
    """

    def __init__(self, range_cfar: CFAR, doppler_cfar: CFAR, peak_grouping: bool = True) -> None:
        self.range_cfar = range_cfar
        self.doppler_cfar = doppler_cfar
        self.peak_grouping = peak_grouping

    def __call__(self, power: np.ndarray) -> Detections:
        power = require_ndim(power, 2, "power", "[..., doppler, range]")
        along_range = self.range_cfar(power, axis=-1)
        along_doppler = self.doppler_cfar(power, axis=-2)
        mask = along_range.detected & along_doppler.detected
        if self.peak_grouping:
            mask = group_peaks(power, mask)
        return Detections(mask=mask, noise=along_range.noise)


def group_peaks(power: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """Keep detected cells that are the maximum of their 3x3 range-Doppler neighbourhood.

    Parameters
    ----------
    power : float [..., doppler, range]
        Linear power map.
    detected : bool [..., doppler, range]
        CFAR detections.

    Returns
    -------
    bool [..., doppler, range]: detections that are local maxima (Doppler wraps around).
    """
    power = require_ndim(power, 2, "power", "[..., doppler, range]")
    if detected.shape != power.shape:
        raise DspError(f"detected {detected.shape} and power {power.shape} differ in shape")
    size = [1] * (power.ndim - 2) + [3, 3]
    modes = ["nearest"] * (power.ndim - 2) + ["wrap", "nearest"]
    local_max = ndi.maximum_filter(power, size=size, mode=modes)
    return detected & (power >= local_max)
