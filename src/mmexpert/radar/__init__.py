"""Radar stage: configuration, TI ``.cfg`` files and presets, scenes and FMCW synthesis.

* :class:`RadarConfig` (``config.py``): chirp profile, frame, antennas, receiver, device
  limits, pose; derived quantities (range/velocity/angle resolution ...) and validation.
* :class:`RadarCube` (``cube.py``): complex64 ADC samples ``[frames, loops, tx, rx, samples]``.
"""

from mmexpert.radar.config import (
    AntennaArray,
    ChainSettings,
    ChirpProfile,
    DeviceLimits,
    FrameConfig,
    Pose,
    RadarConfig,
    RadarConfigError,
    ReceiverConfig,
)
from mmexpert.radar.cube import RadarCube

__all__ = [
    "AntennaArray",
    "ChainSettings",
    "ChirpProfile",
    "DeviceLimits",
    "FrameConfig",
    "Pose",
    "RadarConfig",
    "RadarConfigError",
    "RadarCube",
    "ReceiverConfig",
]
