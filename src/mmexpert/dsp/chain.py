"""The processing chain of a TI mmWave device, from a raw ADC cube to points and maps.

``ProcessingChain(settings)(cube) -> ChainOutput`` runs, for every frame (DESIGN.md
section 5): range FFT, static clutter removal, Doppler FFT, TDM-MIMO Doppler phase
compensation, non-coherent sum over virtual channels, two-pass CFAR (range, then Doppler)
with peak grouping, azimuth/elevation estimation per detection, field-of-view filtering,
and the maps (range-Doppler, range-azimuth, micro-Doppler, range-time, azimuth-time).
CFAR parameters, clutter removal and fields of view come from ``cube.config.chain``
(the TI ``.cfg``) unless ``settings.chain`` overrides them, so simulated and real cubes
go through the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from mmexpert.dsp.angle import ANGLE_ESTIMATORS
from mmexpert.dsp.base import DspError
from mmexpert.dsp.cfar import CFAR_DETECTORS, OSCFAR, Detections, TwoPassCFAR
from mmexpert.dsp.fft import RangeDopplerCube, RangeDopplerProcessor
from mmexpert.dsp.maps import (
    AzimuthTimeMap,
    MicroDoppler,
    MicroDopplerMap,
    RangeAzimuth,
    RangeAzimuthMap,
    RangeDopplerMap,
    RangeTime,
    RangeTimeMap,
    azimuth_time_from_range_azimuth,
)
from mmexpert.dsp.pointcloud import POINT_DTYPE, fov_mask, make_points
from mmexpert.radar.config import ChainSettings
from mmexpert.radar.cube import RadarCube


@dataclass(frozen=True)
class ProcessingSettings:
    """Settings of :class:`ProcessingChain` that a TI ``.cfg`` does not carry."""

    range_window: str = "hann"  # fast-time window (dsp.fft.WINDOWS)
    doppler_window: str = "hann"  # slow-time window
    num_range_bins: int | None = None  # range FFT length; None: ADC samples
    num_doppler_bins: int | None = None  # Doppler FFT length; None: loops
    point_angle_estimator: str = "fft"  # angle of each detection (dsp.angle.ANGLE_ESTIMATORS)
    point_angle_bins: int = 256  # point estimator grid: FFT length (fft) or angles (capon)
    point_snapshot_radius: int = 1  # detection cell +- this many range/Doppler bins as snapshots
    map_angle_estimator: str = "capon"  # spectrum of range-azimuth and azimuth-time maps
    num_map_angles: int = 128  # map angle grid over [-90, 90] deg (DESIGN section 6)
    map_range_span_m: tuple[float, float] = (0.0, math.inf)  # range bins for µD / azimuth-time
    os_rank_fraction: float = 0.75  # k / N of OS-CFAR (Rohling)
    peak_grouping: bool = True  # keep 3x3 local maxima only (TI peakGrouping)
    chain: ChainSettings | None = None  # CFAR / clutter / FoV; None: cube.config.chain
    frames_per_chunk: int = 2  # frames processed together (bounds memory; 2 was fastest here)

    def __post_init__(self) -> None:
        for name, registry_value in (
            ("point_angle_estimator", self.point_angle_estimator),
            ("map_angle_estimator", self.map_angle_estimator),
        ):
            if registry_value not in ANGLE_ESTIMATORS:
                raise DspError(
                    f"{name} '{registry_value}' is unknown; choose one of "
                    f"{sorted(ANGLE_ESTIMATORS)}"
                )
        if self.frames_per_chunk < 1:
            raise DspError(f"frames_per_chunk must be >= 1, got {self.frames_per_chunk}")
        if self.point_snapshot_radius < 0:
            raise DspError(f"point_snapshot_radius must be >= 0, got {self.point_snapshot_radius}")
        if self.chain is not None and self.chain.cfar_kind not in CFAR_DETECTORS:
            raise DspError(
                f"cfar_kind '{self.chain.cfar_kind}' is unknown; choose one of "
                f"{sorted(CFAR_DETECTORS)}"
            )


MMEXPERT_VIEWS = ProcessingSettings(num_range_bins=256, num_doppler_bins=128, num_map_angles=128)
"""DESIGN section 6 map sizes: 256 range bins, 128 Doppler bins, 128 Capon angles."""


@dataclass(frozen=True)
class ChainOutput:
    """Everything the chain produces for a cube.

    Attributes
    ----------
    points : tuple of POINT_DTYPE [points_f], one per frame
        Detected points inside the fields of view.
    range_doppler : RangeDopplerMap
        power float32 [frames, doppler, range].
    range_azimuth : RangeAzimuthMap
        power float32 [frames, range, angles].
    micro_doppler : MicroDopplerMap
        power float32 [doppler, frames].
    range_time : RangeTimeMap
        power float32 [range, frames].
    azimuth_time : AzimuthTimeMap
        power float32 [angles, frames].
    noise_power : float32 [frames, doppler, range]
        CFAR noise estimate (range pass), linear power.
    """

    points: tuple[np.ndarray, ...]
    range_doppler: RangeDopplerMap
    range_azimuth: RangeAzimuthMap
    micro_doppler: MicroDopplerMap
    range_time: RangeTimeMap
    azimuth_time: AzimuthTimeMap
    noise_power: np.ndarray

    @property
    def range_axis_m(self) -> np.ndarray:
        """Range of every range bin, float64 [range] [m]."""
        return self.range_doppler.range_axis_m

    @property
    def velocity_axis_mps(self) -> np.ndarray:
        """Radial velocity of every Doppler bin, float64 [doppler] [m/s]."""
        return self.range_doppler.velocity_axis_mps

    @property
    def angle_axis_rad(self) -> np.ndarray:
        """Azimuth of every map angle bin, float64 [angles] [rad]."""
        return self.azimuth_time.angle_axis_rad

    @property
    def time_axis_s(self) -> np.ndarray:
        """Start time of every frame, float64 [frames] [s]."""
        return self.range_doppler.time_axis_s


class ProcessingChain:
    """The device chain as one callable.

    Parameters
    ----------
    settings : ProcessingSettings, optional
        Windows, FFT sizes, estimators, map sizes; CFAR/FoV from the cube unless
        ``settings.chain`` is given.

    Input
    -----
    cube : RadarCube
        ``adc`` complex64 [frames, loops, chirps_per_loop, rx, samples].

    Output
    ------
    :class:`ChainOutput`
    """

    def __init__(self, settings: ProcessingSettings | None = None) -> None:
        self.settings = settings if settings is not None else ProcessingSettings()
        s = self.settings
        # Validates window names and FFT sizes at construction.
        RangeDopplerProcessor(
            s.range_window, s.doppler_window, s.num_range_bins, s.num_doppler_bins
        )
        self.point_estimator = ANGLE_ESTIMATORS[s.point_angle_estimator].with_grid(
            s.point_angle_bins
        )
        self.map_estimator = ANGLE_ESTIMATORS[s.map_angle_estimator].with_grid(s.num_map_angles)

    def chain_settings(self, cube: RadarCube) -> ChainSettings:
        """The CFAR / clutter / FoV settings used for ``cube``."""
        chain = self.settings.chain if self.settings.chain is not None else cube.config.chain
        if chain.cfar_kind not in CFAR_DETECTORS:
            raise DspError(
                f"cfar_kind '{chain.cfar_kind}' is unknown; choose one of {sorted(CFAR_DETECTORS)}"
            )
        return chain

    def detector(
        self,
        chain: ChainSettings,
        range_oversampling: float = 1.0,
        doppler_oversampling: float = 1.0,
    ) -> TwoPassCFAR:
        """The two-pass CFAR built from ``chain`` (range pass mirrored, Doppler pass circular).

        Guard and training lengths in a TI cfg count FFT bins without zero padding; with
        padded FFTs (``oversampling`` = FFT length / samples or loops, > 1) they are scaled
        so that the windows still span the same resolution cells.
        """
        cls = CFAR_DETECTORS[chain.cfar_kind]
        extra = {"rank_fraction": self.settings.os_rank_fraction} if cls is OSCFAR else {}

        def scaled(cells: int, factor: float) -> int:
            return max(cells, math.ceil(cells * factor))

        along_range = cls(
            scaled(chain.cfar_range_guard, range_oversampling),
            scaled(chain.cfar_range_train, range_oversampling),
            chain.cfar_range_threshold_db,
            wrap=False,
            **extra,
        )
        along_doppler = cls(
            scaled(chain.cfar_doppler_guard, doppler_oversampling),
            scaled(chain.cfar_doppler_train, doppler_oversampling),
            chain.cfar_doppler_threshold_db,
            wrap=True,
            **extra,
        )
        return TwoPassCFAR(along_range, along_doppler, self.settings.peak_grouping)

    def __call__(self, cube: RadarCube) -> ChainOutput:
        if not isinstance(cube, RadarCube):
            raise DspError(f"expected a RadarCube, got {type(cube).__name__}")
        step = self.settings.frames_per_chunk
        if cube.num_frames <= step:
            return self._process(cube)
        # Frames are independent: bounded memory for long recordings, same result.
        parts = [
            self._process(
                replace(
                    cube, adc=cube.adc[a : a + step], frame_times_s=cube.frame_times_s[a : a + step]
                )
            )
            for a in range(0, cube.num_frames, step)
        ]
        return _concatenate(parts)

    def _process(self, cube: RadarCube) -> ChainOutput:
        chain = self.chain_settings(cube)
        s = self.settings
        rd = RangeDopplerProcessor(
            s.range_window,
            s.doppler_window,
            s.num_range_bins,
            s.num_doppler_bins,
            clutter_removal=chain.clutter_removal,
        )(cube)
        num_loops, num_samples = cube.adc.shape[1], cube.adc.shape[-1]
        range_fft_size = rd.range_axis_m.size * (1 if cube.config.receiver.complex_sampling else 2)
        detections = self.detector(
            chain,
            range_oversampling=range_fft_size / num_samples,
            doppler_oversampling=rd.velocity_axis_mps.size / num_loops,
        )(rd.power)
        points = self.point_cloud(rd, detections, chain)
        span = self.settings.map_range_span_m
        range_azimuth = RangeAzimuth(self.map_estimator)(rd)
        return ChainOutput(
            points=points,
            range_doppler=RangeDopplerMap(
                rd.power, rd.velocity_axis_mps, rd.range_axis_m, rd.time_axis_s
            ),
            range_azimuth=range_azimuth,
            micro_doppler=MicroDoppler(span)(rd),
            range_time=RangeTime()(rd),
            azimuth_time=azimuth_time_from_range_azimuth(range_azimuth, span),
            noise_power=detections.noise.astype(np.float32),
        )

    def point_cloud(
        self, rd: RangeDopplerCube, detections: Detections, chain: ChainSettings
    ) -> tuple[np.ndarray, ...]:
        """Points of every frame from the detected cells.

        Parameters
        ----------
        rd : RangeDopplerCube
        detections : Detections
            mask / noise [frames, doppler, range].
        chain : ChainSettings
            Fields of view; ``multi_object_threshold`` adds, after a detection's point, a
            second point at the same range and Doppler for a second azimuth peak
            (:meth:`~mmexpert.dsp.angle.AngleEstimator.estimate_second`) with intensity
            ``SNR + 10 log10(p2 / p1)`` [dB].

        Returns
        -------
        tuple of POINT_DTYPE [points_f], one per frame.
        """
        frame, doppler, rbin = np.nonzero(detections.mask)
        num_frames = rd.num_frames
        if frame.size == 0:
            return tuple(np.zeros(0, dtype=POINT_DTYPE) for _ in range(num_frames))
        snapshots = self._snapshots(rd, frame, doppler, rbin)
        azimuth, elevation = self.point_estimator.estimate(snapshots, rd.geometry)
        power = rd.power[frame, doppler, rbin]
        noise = detections.noise[frame, doppler, rbin]
        snr_db = 10 * np.log10(np.maximum(power, 1e-30) / np.maximum(noise, 1e-30))
        if chain.multi_object_threshold is not None:
            second = self.point_estimator.estimate_second(
                snapshots, rd.geometry, chain.multi_object_threshold
            )
            (extra,) = np.nonzero(second.found)
            # Each second point follows its first, as the device lists them.
            order = np.argsort(np.concatenate([2 * np.arange(frame.size), 2 * extra + 1]))
            frame, doppler, rbin = (
                np.concatenate([a, a[extra]])[order] for a in (frame, doppler, rbin)
            )
            azimuth = np.concatenate([azimuth, second.azimuth_rad[extra]])[order]
            elevation = np.concatenate([elevation, second.elevation_rad[extra]])[order]
            snr_db = np.concatenate(
                [snr_db, snr_db[extra] + 10 * np.log10(second.power_ratio[extra])]
            )[order]
        points = make_points(
            rd.range_axis_m[rbin],
            rd.velocity_axis_mps[doppler],
            doppler,
            azimuth,
            elevation,
            snr_db,
        )
        keep = fov_mask(points, chain)
        points, frame = points[keep], frame[keep]
        bounds = np.searchsorted(frame, np.arange(num_frames + 1))
        return tuple(points[bounds[i] : bounds[i + 1]] for i in range(num_frames))

    def _snapshots(
        self, rd: RangeDopplerCube, frame: np.ndarray, doppler: np.ndarray, rbin: np.ndarray
    ) -> np.ndarray:
        """Virtual vectors of each detection and its neighbours, complex [points, elements, s]."""
        radius = self.settings.point_snapshot_radius
        offsets = np.arange(-radius, radius + 1)
        num_doppler, num_range = rd.spectra.shape[1], rd.spectra.shape[-1]
        dd = (doppler[:, None, None] + offsets[None, :, None]) % num_doppler  # Doppler wraps
        rr = np.clip(rbin[:, None, None] + offsets[None, None, :], 0, num_range - 1)
        dd, rr = np.broadcast_arrays(dd, rr)
        n = dd.shape[0]
        cells = rd.spectra[frame[:, None], dd.reshape(n, -1), :, :, rr.reshape(n, -1)]
        return cells.reshape(n, cells.shape[1], -1).transpose(0, 2, 1)  # (points, elements, s)


def _concatenate(parts: list[ChainOutput]) -> ChainOutput:
    """Join chain outputs of consecutive frame chunks along their time axes."""
    first = parts[0]

    def cat(get, axis: int) -> np.ndarray:
        return np.concatenate([get(p) for p in parts], axis=axis)

    time = cat(lambda p: p.time_axis_s, 0)
    return ChainOutput(
        points=tuple(points for p in parts for points in p.points),
        range_doppler=replace(
            first.range_doppler, power=cat(lambda p: p.range_doppler.power, 0), time_axis_s=time
        ),
        range_azimuth=replace(
            first.range_azimuth, power=cat(lambda p: p.range_azimuth.power, 0), time_axis_s=time
        ),
        micro_doppler=replace(
            first.micro_doppler, power=cat(lambda p: p.micro_doppler.power, 1), time_axis_s=time
        ),
        range_time=replace(
            first.range_time, power=cat(lambda p: p.range_time.power, 1), time_axis_s=time
        ),
        azimuth_time=replace(
            first.azimuth_time, power=cat(lambda p: p.azimuth_time.power, 1), time_axis_s=time
        ),
        noise_power=cat(lambda p: p.noise_power, 0),
    )
