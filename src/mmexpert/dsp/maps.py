"""Radar maps: range-Doppler, range-azimuth, and mmExpert's three views over time.

All processors take a :class:`~mmexpert.dsp.fft.RangeDopplerCube` and return a typed map
with its axes (linear power; use :func:`power_to_db` or :func:`normalize_log_minmax` at
the edges). DESIGN.md section 6: micro-Doppler with 128 Doppler bins, range-time with 256
range bins (set ``num_doppler_bins`` / ``num_range_bins`` of the range-Doppler step, e.g.
with :data:`mmexpert.dsp.chain.MMEXPERT_VIEWS`), azimuth-time from Capon over 128 angles
in [-90 deg, 90 deg]. Time runs at the frame rate (one column per frame).

Registry: :data:`MAPS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mmexpert.dsp.angle import AngleEstimator, CaponBeamformer
from mmexpert.dsp.base import DspError
from mmexpert.dsp.fft import RangeDopplerCube


@dataclass(frozen=True)
class RangeDopplerMap:
    """power: float32 [frames, doppler, range] (non-coherent over virtual channels)."""

    power: np.ndarray
    velocity_axis_mps: np.ndarray  # [doppler] [m/s]
    range_axis_m: np.ndarray  # [range] [m]
    time_axis_s: np.ndarray  # [frames] [s]


@dataclass(frozen=True)
class RangeAzimuthMap:
    """power: float32 [frames, range, angles] (spatial spectrum per range bin)."""

    power: np.ndarray
    range_axis_m: np.ndarray  # [range] [m]
    angle_axis_rad: np.ndarray  # [angles] [rad], azimuth positive towards +x
    time_axis_s: np.ndarray  # [frames] [s]


@dataclass(frozen=True)
class MicroDopplerMap:
    """power: float32 [doppler, time] (Doppler spectrum summed over the range span)."""

    power: np.ndarray
    velocity_axis_mps: np.ndarray  # [doppler] [m/s]
    time_axis_s: np.ndarray  # [time] [s]


@dataclass(frozen=True)
class RangeTimeMap:
    """power: float32 [range, time] (range profile summed over Doppler and channels)."""

    power: np.ndarray
    range_axis_m: np.ndarray  # [range] [m]
    time_axis_s: np.ndarray  # [time] [s]


@dataclass(frozen=True)
class AzimuthTimeMap:
    """power: float32 [angles, time] (spatial spectrum summed over the range span)."""

    power: np.ndarray
    angle_axis_rad: np.ndarray  # [angles] [rad]
    time_axis_s: np.ndarray  # [time] [s]


def _range_selection(axis_m: np.ndarray, span_m: tuple[float, float]) -> np.ndarray:
    keep = (axis_m >= span_m[0]) & (axis_m <= span_m[1])
    if not keep.any():
        raise DspError(
            f"range span {span_m} m holds no range bin (bins cover "
            f"{axis_m[0]:.3f}..{axis_m[-1]:.3f} m)"
        )
    return keep


class MapProcessor:
    """Base class: checks the input is a :class:`RangeDopplerCube`, then ``_process``."""

    def __call__(self, rd: RangeDopplerCube) -> object:
        if not isinstance(rd, RangeDopplerCube):
            raise DspError(f"expected a RangeDopplerCube, got {type(rd).__name__}")
        return self._process(rd)

    def _process(self, rd: RangeDopplerCube) -> object:
        raise NotImplementedError


class RangeDoppler(MapProcessor):
    """Per-frame non-coherent range-Doppler map. Output: :class:`RangeDopplerMap`."""

    def _process(self, rd: RangeDopplerCube) -> RangeDopplerMap:
        return RangeDopplerMap(rd.power, rd.velocity_axis_mps, rd.range_axis_m, rd.time_axis_s)


class MicroDoppler(MapProcessor):
    """Micro-Doppler signature: per frame, the Doppler spectrum summed over range bins.

    Parameters
    ----------
    range_span_m : tuple[float, float]
        Range bins of interest [m] (inclusive).

    Output
    ------
    :class:`MicroDopplerMap` with power float32 [doppler, frames].
    """

    def __init__(self, range_span_m: tuple[float, float] = (0.0, math.inf)) -> None:
        self.range_span_m = range_span_m

    def _process(self, rd: RangeDopplerCube) -> MicroDopplerMap:
        keep = _range_selection(rd.range_axis_m, self.range_span_m)
        power = rd.power[:, :, keep].sum(axis=-1).T  # (doppler, frames)
        return MicroDopplerMap(power.astype(np.float32), rd.velocity_axis_mps, rd.time_axis_s)


class RangeTime(MapProcessor):
    """Range-time map: per frame, the power summed over Doppler bins and channels.

    Output: :class:`RangeTimeMap` with power float32 [range, frames].
    """

    def _process(self, rd: RangeDopplerCube) -> RangeTimeMap:
        power = rd.power.sum(axis=1).T  # (range, frames)
        return RangeTimeMap(power.astype(np.float32), rd.range_axis_m, rd.time_axis_s)


class RangeAzimuth(MapProcessor):
    """Range-azimuth map from the azimuth row, snapshots = the Doppler bins of a range bin.

    Parameters
    ----------
    estimator : AngleEstimator
        Spatial spectrum (default: Capon over 128 angles in [-90 deg, 90 deg]).

    Output
    ------
    :class:`RangeAzimuthMap` with power float32 [frames, range, angles].
    """

    def __init__(self, estimator: AngleEstimator | None = None) -> None:
        self.estimator = estimator if estimator is not None else CaponBeamformer()

    def _process(self, rd: RangeDopplerCube) -> RangeAzimuthMap:
        spectrum = self.estimator.azimuth_spectrum(rd.virtual_snapshots(), rd.geometry)
        return RangeAzimuthMap(
            spectrum.power.astype(np.float32),
            rd.range_axis_m,
            spectrum.angle_axis_rad,
            rd.time_axis_s,
        )


class AzimuthTime(MapProcessor):
    """Azimuth-time map: the range-azimuth spectrum summed over the range span per frame.

    Parameters
    ----------
    estimator : AngleEstimator
        Spatial spectrum (default: Capon over 128 angles in [-90 deg, 90 deg]).
    range_span_m : tuple[float, float]
        Range bins of interest [m] (inclusive).

    Output
    ------
    :class:`AzimuthTimeMap` with power float32 [angles, frames].
    """

    def __init__(
        self,
        estimator: AngleEstimator | None = None,
        range_span_m: tuple[float, float] = (0.0, math.inf),
    ) -> None:
        self.estimator = estimator if estimator is not None else CaponBeamformer()
        self.range_span_m = range_span_m

    def _process(self, rd: RangeDopplerCube) -> AzimuthTimeMap:
        keep = _range_selection(rd.range_axis_m, self.range_span_m)
        snapshots = rd.virtual_snapshots()[:, keep]  # (frames, kept range, elements, doppler)
        spectrum = self.estimator.azimuth_spectrum(snapshots, rd.geometry)
        power = spectrum.power.sum(axis=1).T  # (angles, frames)
        return AzimuthTimeMap(power.astype(np.float32), spectrum.angle_axis_rad, rd.time_axis_s)


def azimuth_time_from_range_azimuth(
    range_azimuth: RangeAzimuthMap, range_span_m: tuple[float, float] = (0.0, math.inf)
) -> AzimuthTimeMap:
    """Azimuth-time map from an existing range-azimuth map (saves a second beamforming).

    Parameters
    ----------
    range_azimuth : RangeAzimuthMap
        power [frames, range, angles].
    range_span_m : tuple[float, float]
        Range bins of interest [m] (inclusive).

    Returns
    -------
    AzimuthTimeMap with power float32 [angles, frames], identical to :class:`AzimuthTime`
    with the same estimator.
    """
    keep = _range_selection(range_azimuth.range_axis_m, range_span_m)
    power = range_azimuth.power[:, keep].sum(axis=1, dtype=np.float64).T
    return AzimuthTimeMap(
        power.astype(np.float32), range_azimuth.angle_axis_rad, range_azimuth.time_axis_s
    )


MAPS: dict[str, type[MapProcessor]] = {
    "range_doppler": RangeDoppler,
    "range_azimuth": RangeAzimuth,
    "micro_doppler": MicroDoppler,
    "range_time": RangeTime,
    "azimuth_time": AzimuthTime,
}
"""Map registry: name -> processor class (all constructible without arguments)."""


def normalize_log_minmax(power: np.ndarray, floor_db: float = -300.0) -> np.ndarray:
    """DESIGN section 6 normalisation: ``10 log10(power)``, then min-max to [0, 1].

    Parameters
    ----------
    power : float [...]
        Linear power map.
    floor_db : float
        Values below this [dB] are clipped before scaling.

    Returns
    -------
    float32 [...] in [0, 1] (all zeros for a constant map).
    """
    db = np.maximum(10 * np.log10(np.maximum(power, 1e-300)), floor_db)
    lo, hi = float(db.min()), float(db.max())
    if hi <= lo:
        return np.zeros(db.shape, dtype=np.float32)
    return ((db - lo) / (hi - lo)).astype(np.float32)
