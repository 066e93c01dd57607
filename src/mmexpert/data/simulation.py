"""Simulated captures end to end: scene -> FMCW synthesis -> device chain -> products.

Two scene recipes:

* :func:`simulate_point_targets`: point targets given by range, radial velocity and angle.
* :func:`simulate_person`: a person (motion program -> joints -> body scatterers with
  visibility) in front of a radar mounted at ``mount_height_m``, optionally with static
  furniture clutter and walls (one-bounce multipath).

The world frame is the motion stage's: right-handed, z up, floor at z = 0, the radar
above the origin looking along +y.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmexpert.body.model import BodyConfig, BodyModel, BodyScatterers
from mmexpert.data.products import SimulationProducts, process
from mmexpert.dsp.chain import ProcessingChain
from mmexpert.motion import Motion, MotionProgram, synthesize
from mmexpert.plan.spec import RoomSpec
from mmexpert.radar.config import RadarConfig
from mmexpert.radar.scene import (
    Scene,
    StaticReflectors,
    TrajectoryScatterers,
    Wall,
    point_target,
)
from mmexpert.radar.synthesis import simulate


@dataclass(frozen=True)
class Room:
    """Static surroundings of a person scene (world frame, metres)."""

    furniture_m: tuple[tuple[float, float, float], ...] = ()  # static reflector positions [m]
    furniture_rcs_m2: float = 0.5  # RCS of each static reflector [m^2]
    walls: tuple[Wall, ...] = ()  # planar walls adding one-bounce multipath


DEMO_ROOM = Room(
    furniture_m=((-1.2, 4.5, 0.4), (1.5, 2.2, 0.7), (0.3, 6.0, 1.0)),
    walls=(Wall(point_m=np.array([2.5, 0.0, 0.0]), normal_m=np.array([-1.0, 0.0, 0.0])),),
)
"""A living-room-like demo: three pieces of furniture and a side wall at x = 2.5 m."""


NAMED_ROOMS: dict[str, Room] = {"empty": Room(), "demo": DEMO_ROOM}
"""Rooms a scene spec can name."""


def room_from_spec(room: str | RoomSpec, seed: int = 0) -> Room:
    """The :class:`Room` of a scene spec: a named room, or a box built from a
    :class:`~mmexpert.plan.spec.RoomSpec` (walls with non-zero reflectivity, furniture
    placed uniformly by ``seed`` at 0.2-1.2 m height, at least 1 m from the radar)."""
    if isinstance(room, str):
        return NAMED_ROOMS[room]
    walls = []
    if room.side_wall_reflectivity > 0:
        walls.append(
            Wall(
                point_m=np.array([room.width_m / 2, 0.0, 0.0]),
                normal_m=np.array([-1.0, 0.0, 0.0]),
                reflection_coefficient=room.side_wall_reflectivity,
            )
        )
    if room.back_wall_reflectivity > 0:
        walls.append(
            Wall(
                point_m=np.array([0.0, room.depth_m, 0.0]),
                normal_m=np.array([0.0, -1.0, 0.0]),
                reflection_coefficient=room.back_wall_reflectivity,
            )
        )
    rng = np.random.default_rng(seed)
    furniture = []
    while len(furniture) < room.furniture:
        point = (
            rng.uniform(-room.width_m / 2 + 0.2, room.width_m / 2 - 0.2),
            rng.uniform(1.0, room.depth_m - 0.2),
            rng.uniform(0.2, 1.2),
        )
        furniture.append(tuple(round(v, 3) for v in point))
    return Room(furniture_m=tuple(furniture), walls=tuple(walls))


def simulate_point_targets(
    radar: RadarConfig,
    targets: Sequence[Any],
    num_frames: int,
    seed: int = 0,
    noise: bool = True,
    method: str = "fast",
) -> SimulationProducts:
    """Simulate point targets and process them with the device chain.

    Parameters
    ----------
    targets
        ``TargetSpec``-like objects with range_m, velocity_mps, azimuth_rad,
        elevation_rad, rcs_m2 (SI units, relative to the radar).
    """
    scene = Scene()
    for t in targets:
        scene.add(
            point_target(radar, t.range_m, t.velocity_mps, t.azimuth_rad, t.elevation_rad, t.rcs_m2)
        )
    cube = simulate(
        radar, scene, num_frames, np.random.default_rng(seed), method=method, noise=noise
    )
    metadata = {
        "kind": "point_targets",
        "targets": [vars(t) for t in targets],
        "seed": seed,
        "noise": noise,
        "method": method,
    }
    return process(cube, metadata)


def mounted(radar: RadarConfig, mount_height_m: float, tilt_rad: float = 0.0) -> RadarConfig:
    """The radar above the world origin at ``mount_height_m``, boresight along +y."""
    return radar.with_pose(
        dataclasses.replace(
            radar.pose,
            position_m=(0.0, 0.0, mount_height_m),
            yaw_rad=0.0,
            pitch_rad=tilt_rad,
        )
    )


def body_scatterers(
    motion: Motion,
    radar: RadarConfig,
    duration_s: float,
    body: BodyConfig | None = None,
    sample_rate_hz: float | None = None,
) -> BodyScatterers:
    """Body scatterers with visibility from ``radar``, sampled over ``[0, duration_s]``.

    Samples at the faster of the motion and radar frame rates; the radar scene
    interpolates them (C2 spline) to every chirp time.
    """
    rate = sample_rate_hz or max(motion.fps, radar.frame_rate_hz)
    count = max(2, math.ceil(duration_s * rate) + 1)
    times = np.linspace(0.0, duration_s, count)
    return BodyModel(body).scatter_motion(motion, times, np.asarray(radar.pose.position_m))


def simulate_person(
    radar: RadarConfig,
    program: MotionProgram | dict[str, Any] | str,
    seed: int = 0,
    num_frames: int | None = None,
    mount_height_m: float = 1.0,
    room: Room | None = None,
    noise: bool = True,
    method: str = "fast",
    body: BodyConfig | None = None,
    keep_adc: bool = True,
    chain: ProcessingChain | None = None,
    tilt_rad: float = 0.0,
    noise_figure_offset_db: float = 0.0,
) -> SimulationProducts:
    """Simulate one person performing a motion program in front of the radar.

    Parameters
    ----------
    radar
        The radar; its pose is replaced by :func:`mounted` at ``mount_height_m`` [m].
    program
        A motion program (see :mod:`mmexpert.motion.program`).
    seed
        Seeds the motion style and the receiver noise.
    num_frames
        Radar frames; default: as many as the motion lasts.
    room
        Furniture and walls; default: an empty, wall-less room.
    keep_adc
        Keep the raw cube (about 1 MB per frame of the 1843 presets).
    tilt_rad
        Radar pitch [rad], positive up.
    noise_figure_offset_db
        Added to the device's receiver noise figure [dB] (domain randomization).
    chain
        The processing chain; default ``ProcessingChain()`` (the dataset engine passes
        ``ProcessingChain(MMEXPERT_VIEWS)`` for fixed map sizes).

    Returns
    -------
    SimulationProducts with, in addition to the radar products, the ``joints`` float32
    [T, 22, 3] [m] at ``joint_times`` [s], and the body scatterers (``scatterer_positions``
    float32 [T, P, 3], ``scatterer_visible`` bool [T, P]).
    """
    rng = np.random.default_rng(seed)
    motion = synthesize(program, fps=30.0, rng=rng)
    radar = mounted(radar, mount_height_m, tilt_rad)
    if noise_figure_offset_db:
        receiver = dataclasses.replace(
            radar.receiver, noise_figure_db=radar.receiver.noise_figure_db + noise_figure_offset_db
        )
        radar = dataclasses.replace(radar, receiver=receiver)
    frames = num_frames or max(1, int(motion.duration_s * radar.frame_rate_hz))
    duration = frames / radar.frame_rate_hz
    scatterers = body_scatterers(motion, radar, duration, body)
    scene = Scene().add(
        TrajectoryScatterers(
            scatterers.times_s,
            scatterers.positions_m,
            scatterers.rcs_m2,
            scatterers.visible,
        )
    )
    room = room or Room()
    if room.furniture_m:
        scene.add(StaticReflectors(np.asarray(room.furniture_m), room.furniture_rcs_m2))
    for wall in room.walls:
        scene.add(wall)
    cube = simulate(radar, scene, frames, rng, method=method, noise=noise)
    metadata = {
        "kind": "person",
        "program": _program_dict(program),
        "seed": seed,
        "noise": noise,
        "method": method,
        "mount_height_m": mount_height_m,
        "num_scatterers": scatterers.num_patches,
        "visible_fraction": scatterers.visible_fraction(),
        "walls": len(room.walls),
        "furniture": len(room.furniture_m),
    }
    products = process(cube, metadata, chain=chain, keep_adc=False)
    extras = {
        "joints": motion.positions_at(scatterers.times_s).astype(np.float32),
        "joint_times": scatterers.times_s,
        "scatterer_positions": scatterers.positions_m.astype(np.float32),
        "scatterer_visible": scatterers.visible,
    }
    return dataclasses.replace(products, adc=cube.adc if keep_adc else None, extras=extras)


def activity_program(activity: str) -> dict[str, Any]:
    """The ``--activity`` shortcut: an adult 3 m in front of the radar, facing it, doing
    one primitive with default parameters (walking and running head toward the radar)."""
    return {"segments": [{"primitive": activity}]}


def _program_dict(program: MotionProgram | dict[str, Any] | str) -> Any:
    if isinstance(program, MotionProgram):
        return program.model_dump(mode="json")
    return program
