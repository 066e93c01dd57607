"""Point clouds as the TI demo / ROS driver (``ti_mmwave_rospkg``) emits them.

One numpy structured array of :data:`POINT_DTYPE` per frame. Fields follow the ROS
driver's ``RadarScan`` message, but in the radar local frame and SI units:

=============  =======  ==============================================================
field          unit     meaning
=============  =======  ==============================================================
x, y, z        m        local frame: x right, y boresight, z up
range          m        distance to the radar origin
velocity       m/s      radial velocity, positive moving away
doppler_bin    --       Doppler index after fftshift: ``num_doppler_bins // 2`` is zero
bearing        rad      azimuth, positive towards +x
elevation      rad      elevation, positive towards +z
intensity      dB       SNR over the CFAR noise estimate
=============  =======  ==============================================================

The ROS driver itself publishes x forward, y left, and ``bearing = atan2(y, x)`` in degrees
(positive to the left, i.e. the negative of our azimuth; checked on the RadHAR sample,
where ``bearing`` equals ``atan2(y, x)`` of each record). Its ``doppler_bin`` is the same
shifted index (zero velocity at 8 of 16 bins in RadHAR). :func:`to_ros_frame` converts to
that convention for comparison with recorded data.
"""

from __future__ import annotations

import math

import numpy as np

from mmexpert.dsp.base import DspError
from mmexpert.radar.config import ChainSettings

POINT_DTYPE = np.dtype(
    [
        ("x", np.float32),
        ("y", np.float32),
        ("z", np.float32),
        ("range", np.float32),
        ("velocity", np.float32),
        ("doppler_bin", np.int32),
        ("bearing", np.float32),
        ("elevation", np.float32),
        ("intensity", np.float32),
    ]
)
"""Structured dtype of one detected point (see the module docstring for units)."""


def make_points(
    range_m: np.ndarray,
    velocity_mps: np.ndarray,
    doppler_bin: np.ndarray,
    azimuth_rad: np.ndarray,
    elevation_rad: np.ndarray,
    intensity_db: np.ndarray,
) -> np.ndarray:
    """Assemble points from per-detection spherical coordinates.

    Parameters
    ----------
    range_m, velocity_mps, azimuth_rad, elevation_rad, intensity_db : float [points]
        Range [m], radial velocity [m/s], azimuth and elevation [rad], SNR [dB].
    doppler_bin : int [points]
        Doppler index after fftshift (zero velocity at ``num_doppler_bins // 2``).

    Returns
    -------
    POINT_DTYPE [points]
    """
    arrays = [range_m, velocity_mps, doppler_bin, azimuth_rad, elevation_rad, intensity_db]
    n = {np.shape(a) for a in arrays}
    if len(n) != 1 or len(next(iter(n))) != 1:
        raise DspError(f"make_points needs equal 1-D arrays, got shapes {sorted(n)}")
    points = np.zeros(len(range_m), dtype=POINT_DTYPE)
    cos_el = np.cos(elevation_rad)
    points["x"] = range_m * cos_el * np.sin(azimuth_rad)
    points["y"] = range_m * cos_el * np.cos(azimuth_rad)
    points["z"] = range_m * np.sin(elevation_rad)
    points["range"] = range_m
    points["velocity"] = velocity_mps
    points["doppler_bin"] = doppler_bin
    points["bearing"] = azimuth_rad
    points["elevation"] = elevation_rad
    points["intensity"] = intensity_db
    return points


def fov_mask(points: np.ndarray, chain: ChainSettings) -> np.ndarray:
    """Which points lie inside the range, Doppler, azimuth and elevation fields of view.

    Parameters
    ----------
    points : POINT_DTYPE [points]
    chain : ChainSettings
        ``range_fov_m``, ``doppler_fov_mps``, ``azimuth_fov_rad``, ``elevation_fov_rad``
        (inclusive intervals).

    Returns
    -------
    bool [points]
    """
    if points.dtype != POINT_DTYPE:
        raise DspError(f"points must have POINT_DTYPE, got {points.dtype}")

    def inside(values: np.ndarray, span: tuple[float, float]) -> np.ndarray:
        return (values >= span[0]) & (values <= span[1])

    return (
        inside(points["range"], chain.range_fov_m)
        & inside(points["velocity"], chain.doppler_fov_mps)
        & inside(points["bearing"], chain.azimuth_fov_rad)
        & inside(points["elevation"], chain.elevation_fov_rad)
    )


def to_ros_frame(points: np.ndarray) -> np.ndarray:
    """The ROS driver's convention: x forward, y left, z up [m]; bearing in degrees.

    Parameters
    ----------
    points : POINT_DTYPE [points]

    Returns
    -------
    POINT_DTYPE [points] with x = local y, y = -local x, bearing = atan2(y, x) = -azimuth and
    elevation in degrees (the only place degrees appear: this mirrors an external format).
    """
    out = points.copy()
    out["x"] = points["y"]
    out["y"] = -points["x"]
    out["bearing"] = -points["bearing"] * (180.0 / math.pi)
    out["elevation"] = points["elevation"] * (180.0 / math.pi)
    return out
