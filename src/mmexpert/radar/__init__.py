"""Radar stage: configuration, TI ``.cfg`` files and presets, scenes and FMCW synthesis.

* ``config``: :class:`RadarConfig` (chirp profile, frame, antennas, receiver, device limits,
  chain settings, pose), derived quantities (range/velocity/angle resolution, duty cycle,
  noise power, radar-equation SNR) and validation (:class:`RadarConfigError`).
* ``ticfg``: TI mmWave SDK ``.cfg`` reader/writer (``parse_ti_cfg``, ``to_ti_cfg``).
* ``devices`` / ``presets``: boards (iwr1843boost, iwr1443boost, iwr6843isk) and presets
  (``list_presets``, ``load_radar``).
* ``scene``: :class:`Scene` of scatterer groups (constant velocity, sampled trajectories,
  static reflectors) and :class:`Wall` s (one-bounce multipath, image method).
* ``synthesis``: ``cube = simulate(radar, scene, num_frames, rng)`` -> :class:`RadarCube`
  (complex64 ``[frames, loops, tx, rx, samples]``); exact reference, fast NUFFT path
  (``synthesis_fast``), torch path (``synthesis_torch``).
* ``benchmark``: fast versus exact synthesis side by side.

References: TI SWRA553 (*Introduction to mmWave sensing: FMCW radars*); M. A. Richards,
*Fundamentals of Radar Signal Processing* (radar equation, noise); A. H. Barnett et al.,
*A parallel non-uniform fast Fourier transform library based on an "exponential of
semicircle" kernel*, SIAM J. Sci. Comput. 41(5), 2019 (finufft).
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
from mmexpert.radar.presets import list_presets, load_radar
from mmexpert.radar.scene import (
    ConstantVelocityScatterers,
    Scene,
    SceneError,
    StaticReflectors,
    TrajectoryScatterers,
    Wall,
    point_target,
)
from mmexpert.radar.synthesis import SynthesisError, simulate

__all__ = [
    "AntennaArray",
    "ChainSettings",
    "ChirpProfile",
    "ConstantVelocityScatterers",
    "DeviceLimits",
    "FrameConfig",
    "Pose",
    "RadarConfig",
    "RadarConfigError",
    "RadarCube",
    "ReceiverConfig",
    "Scene",
    "SceneError",
    "StaticReflectors",
    "SynthesisError",
    "TrajectoryScatterers",
    "Wall",
    "list_presets",
    "load_radar",
    "point_target",
    "simulate",
]
