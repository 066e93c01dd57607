"""Simulated captures end to end: scene -> FMCW synthesis -> device chain -> products.

Two scene recipes:

* :func:`simulate_point_targets`: point targets given by range, radial velocity and angle.
* :func:`simulate_person`: a person (motion program -> joints -> body scatterers with
  visibility) in front of a radar mounted at ``mount_height_m``, optionally with static
  furniture clutter and walls (their own specular echo and one-bounce multipath), and the
  device's TX->RX antenna leakage (:class:`AntennaLeakage`, on by default: real devices
  have it, and a chain without static clutter removal keeps it as near-range points).

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
from mmexpert.dsp.fft import RangeDopplerProcessor
from mmexpert.motion import Motion, MotionProgram, synthesize
from mmexpert.plan.spec import RoomSpec
from mmexpert.radar.config import RadarConfig
from mmexpert.radar.cube import RadarCube
from mmexpert.radar.scene import (
    Scene,
    StaticReflectors,
    TrajectoryScatterers,
    Wall,
    leakage_reflectors,
    point_target,
)
from mmexpert.radar.synthesis import simulate


@dataclass(frozen=True)
class Room:
    """Static surroundings of a person scene (world frame, metres)."""

    furniture_m: tuple[tuple[float, float, float], ...] = ()  # static reflector positions [m]
    furniture_rcs_m2: float | tuple[float, ...] = 0.5  # RCS of each (or every) reflector [m^2]
    walls: tuple[Wall, ...] = ()  # planar walls adding one-bounce multipath
    wall_echoes: bool = True  # walls also return the radar's own signal (specular echo)


@dataclass(frozen=True)
class AntennaLeakage:
    """Randomized TX->RX antenna leakage of a device (see
    :func:`~mmexpert.radar.scene.leakage_reflectors`).

    The coupling of a real board is unknown and differs between boards and mountings, so
    every clip draws its own: ``paths`` static points at ranges uniform in ``range_span_m``,
    received powers log-uniform in ``power_span_w``, directions uniform in the angle spans.

    The defaults come from unlabelled RadHAR statistics (IWR1443BOOST, clutter removal
    off): about a third of its points lie in the first four range bins (4-17 cm) at zero
    Doppler, at azimuths up to +-80 degrees (the near field seen by a 1.5 cm array), with
    intensities like those of the room and the person (median 30 dB against 27-30 dB), not
    tens of dB above them. The power is what reaches the ADC after the IF high-pass filter,
    which attenuates the few-kHz beat of a few-cm path strongly: -95 to -75 dBm puts the
    leakage at the level of a person at 1-3 m (about -90 dBm) to 15 dB above. Stronger
    leakage is detected in the same bins but its window skirt also wraps to the last range
    bins, which the TI demo does not report (its peakGrouping range window).
    """

    paths: tuple[int, int] = (2, 4)  # fewest and most coupling paths (inclusive)
    range_span_m: tuple[float, float] = (0.03, 0.18)  # one-way path length [m]
    power_span_w: tuple[float, float] = (3e-13, 3e-11)  # at the ADC input [W] (-95 to -75 dBm)
    azimuth_span_rad: tuple[float, float] = (-1.4, 1.4)  # radar local frame [rad]
    elevation_span_rad: tuple[float, float] = (-0.35, 0.35)  # radar local frame [rad]

    def __post_init__(self) -> None:
        low, high = self.paths
        if not 0 <= low <= high:
            raise ValueError(f"leakage paths must satisfy 0 <= min <= max, got {self.paths}")
        if not 0 < self.range_span_m[0] <= self.range_span_m[1]:
            raise ValueError(f"leakage range_span_m must be positive, got {self.range_span_m}")
        if not 0 < self.power_span_w[0] <= self.power_span_w[1]:
            raise ValueError(f"leakage power_span_w must be positive, got {self.power_span_w}")

    def reflectors(self, radar: RadarConfig, rng: np.random.Generator) -> StaticReflectors:
        """One draw of the leakage for ``radar`` (placed by its pose)."""
        count = int(rng.integers(self.paths[0], self.paths[1] + 1))
        ranges = rng.uniform(*self.range_span_m, count)
        log_low, log_high = np.log(self.power_span_w)
        powers = np.exp(rng.uniform(log_low, log_high, count))
        azimuths = rng.uniform(*self.azimuth_span_rad, count)
        elevations = rng.uniform(*self.elevation_span_rad, count)
        return leakage_reflectors(radar, ranges, powers, azimuths, elevations)


DEVICE_LEAKAGE = AntennaLeakage()
"""The leakage every simulated person clip gets unless told otherwise."""

LEAKAGE_STREAM = 0x1EA4
"""Second seed word of the leakage's own generator: drawing it leaves motion and noise as
they were."""

FURNITURE_RCS_SPAN_M2 = (0.05, 5.0)
"""Log-uniform RCS of a piece of furniture [m^2]: a chair leg to a metal cabinet."""


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
    placed uniformly by ``seed`` at 0.2-1.2 m height, at least 1 m from the radar, each
    piece with its own RCS, log-uniform over :data:`FURNITURE_RCS_SPAN_M2`)."""
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
    log_low, log_high = np.log(FURNITURE_RCS_SPAN_M2)
    rcs = tuple(round(float(v), 4) for v in np.exp(rng.uniform(log_low, log_high, len(furniture))))
    return Room(furniture_m=tuple(furniture), furniture_rcs_m2=rcs or 0.5, walls=tuple(walls))


def chain_pads_ffts(chain: ProcessingChain, cube: RadarCube) -> bool:
    """Whether ``chain`` zero-pads the range or Doppler FFT of ``cube`` beyond its native
    lengths (ADC samples, loops), e.g. :data:`~mmexpert.dsp.chain.MMEXPERT_VIEWS` on a
    16-loop preset."""
    settings = chain.settings
    loops, samples = cube.adc.shape[1], cube.adc.shape[-1]
    return settings.num_range_bins not in (None, samples) or settings.num_doppler_bins not in (
        None,
        loops,
    )


def device_point_cloud(
    cube: RadarCube, chain: ProcessingChain, frames_per_chunk: int = 8
) -> tuple[np.ndarray, ...]:
    """Points as a TI device computes them: range and Doppler FFTs of the native lengths.

    The device runs its CFAR on an FFT as long as its ADC samples and chirp loops. A chain
    that zero-pads them for fixed map sizes (16 loops padded to 128 Doppler bins) resolves
    the window's sidelobes, and a strong static return (leakage, furniture) then yields
    false "moving" points at the sidelobe velocities (Hann: about +-2.5 native bins). This
    runs the same windows, clutter removal, CFAR, peak grouping, angle estimator and
    fields of view as ``chain`` at the native lengths.

    Parameters
    ----------
    cube : RadarCube
        ``adc`` complex64 [frames, loops, chirps_per_loop, rx, samples].
    chain : ProcessingChain
        Supplies everything but the FFT lengths.
    frames_per_chunk : int
        Frames processed together (bounds memory).

    Returns
    -------
    tuple of POINT_DTYPE [points_f], one per frame.
    """
    settings = dataclasses.replace(chain.settings, num_range_bins=None, num_doppler_bins=None)
    native = ProcessingChain(settings)
    chain_settings = native.chain_settings(cube)
    range_doppler = RangeDopplerProcessor(
        settings.range_window,
        settings.doppler_window,
        clutter_removal=chain_settings.clutter_removal,
    )
    detector = native.detector(chain_settings)
    points: list[np.ndarray] = []
    for start in range(0, cube.num_frames, max(1, frames_per_chunk)):
        stop = start + frames_per_chunk
        part = dataclasses.replace(
            cube, adc=cube.adc[start:stop], frame_times_s=cube.frame_times_s[start:stop]
        )
        rd = range_doppler(part)
        points.extend(native.point_cloud(rd, detector(rd.power), chain_settings))
    return tuple(points)


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
    leakage: AntennaLeakage | None = DEVICE_LEAKAGE,
    device_points: bool = True,
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
    leakage
        The device's TX->RX antenna leakage, drawn from its own generator seeded by
        ``(seed, LEAKAGE_STREAM)``; None for an ideal radar without it.
    keep_adc
        Keep the raw cube (about 1 MB per frame of the 1843 presets).
    tilt_rad
        Radar pitch [rad], positive up.
    noise_figure_offset_db
        Added to the device's receiver noise figure [dB] (domain randomization).
    chain
        The processing chain; default ``ProcessingChain()`` (the dataset engine passes
        ``ProcessingChain(MMEXPERT_VIEWS)`` for fixed map sizes).
    device_points
        Detect points at the native FFT lengths, as the device does
        (:func:`device_point_cloud`), when ``chain`` pads them for its maps; False keeps
        the padded chain's points.

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
        scene.add(StaticReflectors(np.asarray(room.furniture_m), np.asarray(room.furniture_rcs_m2)))
    radar_position = np.asarray(radar.pose.position_m)
    for wall in room.walls:
        scene.add(wall)
        if room.wall_echoes and abs(float(wall.signed_distance(radar_position))) > 1e-6:
            scene.add(wall.specular_echo(radar_position))
    leakage_paths = 0
    if leakage is not None:
        coupling = leakage.reflectors(radar, np.random.default_rng([seed, LEAKAGE_STREAM]))
        leakage_paths = coupling.num_scatterers
        if leakage_paths:
            scene.add(coupling)
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
        "leakage_paths": leakage_paths,
    }
    chain = chain if chain is not None else ProcessingChain()
    output = chain(cube)
    native_points = device_points or not chain_pads_ffts(chain, cube)
    if device_points and chain_pads_ffts(chain, cube):
        output = dataclasses.replace(output, points=device_point_cloud(cube, chain))
    metadata["points_fft"] = "native" if native_points else "padded"
    products = SimulationProducts.from_chain(cube, output, metadata, keep_adc=False)
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
