"""Signal processing: the TI mmWave device chain, run unchanged on simulated and real cubes.

Data flow (DESIGN.md section 5) and shapes::

    RadarCube.adc          complex64 [frames, loops, chirps_per_loop, rx, samples]
      -> RangeFFT          complex64 [frames, loops, chirps_per_loop, rx, range]
      -> remove_static_clutter (mean over loops subtracted, TI "clutterRemoval")
      -> DopplerFFT        complex64 [frames, doppler, chirps_per_loop, rx, range] (fftshift)
      -> TdmDopplerCompensation  exp(-j 2 pi f_d k T_chirp) on chirp k of the loop
      -> noncoherent_power float32 [frames, doppler, range]
      -> TwoPassCFAR (range pass, Doppler confirm) + group_peaks -> Detections
      -> AngleEstimator per detection (azimuth row FFT or Capon; elevation from the
         elevated row) -> points POINT_DTYPE [points] per frame, FoV filtered
      -> maps: RangeDoppler, RangeAzimuth, MicroDoppler, RangeTime, AzimuthTime

Modules
-------
``fft``
    Windows (:data:`WINDOWS`), :class:`RangeFFT`, :func:`remove_static_clutter`,
    :class:`DopplerFFT`, :class:`TdmDopplerCompensation`, :func:`noncoherent_power`,
    :class:`RangeDopplerProcessor` -> :class:`RangeDopplerCube`.
``angle``
    :class:`VirtualArrayGeometry` (read from ``RadarConfig.virtual_positions_m``),
    :data:`ANGLE_ESTIMATORS` = {"fft": :class:`FFTBeamformer`, "capon": :class:`CaponBeamformer`}.
    Capon/MVDR: J. Capon, Proc. IEEE 57(8), 1969. :meth:`AngleEstimator.estimate_second`
    -> :class:`SecondSource`: TI ``multiObjBeamForming`` (a second peak outside the main lobe).
``cfar``
    :data:`CFAR_DETECTORS` = {"ca": :class:`CACFAR`, "caso": :class:`CASOCFAR`,
    "cago": :class:`CAGOCFAR`, "os": :class:`OSCFAR`} (the TI ``cfarCfg`` modes plus OS),
    :class:`TwoPassCFAR`, :func:`group_peaks`. CA-GO/SO: Gandhi & Kassam, IEEE Trans. AES
    24(4), 1988. OS-CFAR: H. Rohling, IEEE Trans. AES 19(4), 1983.
``pointcloud``
    :data:`POINT_DTYPE` (fields of the TI ROS driver ``ti_mmwave_rospkg``, SI units),
    :func:`make_points`, :func:`fov_mask`, :func:`to_ros_frame`.
``maps``
    :data:`MAPS` registry; micro-Doppler [doppler, time], range-time [range, time],
    azimuth-time [angles, time], range-azimuth [frames, range, angles]; mmExpert sizes
    (DESIGN section 6) via :data:`MMEXPERT_VIEWS`; :func:`normalize_log_minmax`.
``chain``
    :class:`ProcessingChain` ``(settings)(cube) -> ChainOutput``; CFAR/FoV from
    ``cube.config.chain``.

Sign conventions: range bin ``R / dR``; positive velocity = moving away = Doppler index
above ``num_doppler_bins // 2``; steering ``exp(-j 2 pi p . u / lambda)`` so azimuth is
positive towards +x and elevation towards +z.
"""

from mmexpert.dsp.angle import (
    ANGLE_ESTIMATORS,
    AngleEstimator,
    AngleSpectrum,
    CaponBeamformer,
    FFTBeamformer,
    SecondSource,
    VirtualArrayGeometry,
)
from mmexpert.dsp.base import DspError, power_to_db
from mmexpert.dsp.cfar import (
    CACFAR,
    CAGOCFAR,
    CASOCFAR,
    CFAR,
    CFAR_DETECTORS,
    OSCFAR,
    CfarResult,
    Detections,
    TwoPassCFAR,
    group_peaks,
)
from mmexpert.dsp.chain import MMEXPERT_VIEWS, ChainOutput, ProcessingChain, ProcessingSettings
from mmexpert.dsp.fft import (
    WINDOWS,
    DopplerFFT,
    RangeDopplerCube,
    RangeDopplerProcessor,
    RangeFFT,
    TdmDopplerCompensation,
    noncoherent_power,
    remove_static_clutter,
)
from mmexpert.dsp.maps import (
    MAPS,
    AzimuthTime,
    AzimuthTimeMap,
    MapProcessor,
    MicroDoppler,
    MicroDopplerMap,
    RangeAzimuth,
    RangeAzimuthMap,
    RangeDoppler,
    RangeDopplerMap,
    RangeTime,
    RangeTimeMap,
    azimuth_time_from_range_azimuth,
    normalize_log_minmax,
)
from mmexpert.dsp.pointcloud import POINT_DTYPE, fov_mask, make_points, to_ros_frame

__all__ = [
    "ANGLE_ESTIMATORS",
    "CACFAR",
    "CAGOCFAR",
    "CASOCFAR",
    "CFAR",
    "CFAR_DETECTORS",
    "MAPS",
    "MMEXPERT_VIEWS",
    "OSCFAR",
    "POINT_DTYPE",
    "WINDOWS",
    "AngleEstimator",
    "AngleSpectrum",
    "AzimuthTime",
    "AzimuthTimeMap",
    "CaponBeamformer",
    "CfarResult",
    "ChainOutput",
    "Detections",
    "DopplerFFT",
    "DspError",
    "FFTBeamformer",
    "MapProcessor",
    "MicroDoppler",
    "MicroDopplerMap",
    "ProcessingChain",
    "ProcessingSettings",
    "RangeAzimuth",
    "RangeAzimuthMap",
    "RangeDoppler",
    "RangeDopplerCube",
    "RangeDopplerMap",
    "RangeDopplerProcessor",
    "RangeFFT",
    "RangeTime",
    "RangeTimeMap",
    "SecondSource",
    "TdmDopplerCompensation",
    "TwoPassCFAR",
    "VirtualArrayGeometry",
    "azimuth_time_from_range_azimuth",
    "fov_mask",
    "group_peaks",
    "make_points",
    "noncoherent_power",
    "normalize_log_minmax",
    "power_to_db",
    "remove_static_clutter",
    "to_ros_frame",
]
