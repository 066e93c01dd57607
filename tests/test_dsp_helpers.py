"""Shared builders for the dsp tests (imported by the other ``test_dsp_*`` files).

Radars are small (64 samples, 32 loops) so that the exact float64 synthesis stays fast.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from mmexpert.radar.config import ChainSettings, ChirpProfile, FrameConfig, RadarConfig
from mmexpert.radar.cube import RadarCube
from mmexpert.radar.devices import get_device
from mmexpert.radar.scene import Scene, point_target
from mmexpert.radar.synthesis import simulate

SEED = 20261125


def small_radar(
    chirp_tx: tuple[tuple[int, ...], ...] = ((0,), (2,), (1,)),
    num_samples: int = 64,
    num_loops: int = 32,
    complex_sampling: bool = True,
    chain: ChainSettings | None = None,
) -> RadarConfig:
    """IWR1843BOOST antennas, TDM order TX0, TX2, TX1 (the TI demo's), small cube.

    77 GHz, 70 MHz/us, ``num_samples`` at 5 Msps, ramp end 1 us after the last sample,
    idle 7 us (chirp period 26.8 us for 64 samples).
    """
    dev = get_device("iwr1843boost")
    ramp_end = 6e-6 + num_samples / 5e6 + 1e-6
    return RadarConfig(
        name="small-1843",
        profile=ChirpProfile(77e9, 70e12, 7e-6, 6e-6, ramp_end, num_samples, 5e6),
        frame=FrameConfig(chirp_tx, num_loops, 0.02),
        antennas=dev.antenna_array(),
        receiver=dataclasses.replace(dev.receiver(), complex_sampling=complex_sampling),
        device=dev.limits,
        chain=chain if chain is not None else ChainSettings(),
    )


def target_cube(
    radar: RadarConfig,
    range_m: float,
    velocity_mps: float,
    azimuth_rad: float,
    elevation_rad: float = 0.0,
    num_frames: int = 1,
    rcs_m2: float = 1.0,
    noise: bool = True,
    extra: list | None = None,
) -> RadarCube:
    """Exact synthesis of one point target (plus ``extra`` scatterer groups)."""
    scene = Scene([point_target(radar, range_m, velocity_mps, azimuth_rad, elevation_rad, rcs_m2)])
    for group in extra or []:
        scene.add(group)
    return simulate(
        radar, scene, num_frames, np.random.default_rng(SEED), method="exact", noise=noise
    )


def test_small_radar_is_the_1843_virtual_array():
    """The builder gives 8 azimuth + 4 elevated virtual elements at lambda/2 spacing."""
    radar = small_radar()
    half = 299_792_458.0 / 77e9 / 2
    pos = radar.virtual_positions_m.reshape(-1, 3) / half
    assert np.sum(np.isclose(pos[:, 2], 0.0)) == 8
    assert np.sum(np.isclose(pos[:, 2], 1.0)) == 4
    assert math.isclose(radar.chirp_time_s, 26.8e-6, rel_tol=1e-9)
