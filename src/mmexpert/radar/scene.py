"""Scenes for FMCW synthesis: moving scatterers, static reflectors and planar walls.

The nouns mirror the physical world (pyroomacoustics style): a :class:`Scene` holds
scatterer groups (anything that can say where its points are and how much they reflect at
arbitrary times) and :class:`Wall` s that add one-bounce multipath by the image method.

Scatterer groups
----------------
* :class:`ConstantVelocityScatterers`: points moving on straight lines.
* :class:`TrajectoryScatterers`: sampled trajectories ``positions_m [T, P, 3]`` at
  ``times_s [T]`` (the hand-off format of the body stage), cubic-spline interpolated
  (C2-smooth) in position and linear in RCS; an optional visibility mask ``[T, P]``.
* :class:`StaticReflectors`: fixed points (furniture, wall texture) giving zero-Doppler
  clutter.
* :func:`leakage_reflectors`: TX->RX antenna leakage as static points a few cm from the
  radar, with a stated received power.

A :class:`Wall` also returns the radar's own signal (:meth:`Wall.specular_echo`: the radar's
mirror image, equivalent to a point of RCS ``pi R^2 |Gamma|^2`` at the foot of the
perpendicular).

Multipath (image method)
------------------------
For a wall with unit normal ``n`` through ``w``, the mirror image of a point ``p`` is
``p' = p - 2 ((p - w) . n) n``. A one-bounce path TX -> p -> wall -> RX has length
``|p - tx| + |p' - rx|``; the path TX -> wall -> p -> RX has ``|p' - tx| + |p - rx|``.
Both are scaled by the wall's amplitude reflection coefficient. A path exists only if the
scatterer and the radar lie on the same (front) side of the wall.

All positions are in the world frame [m], times are absolute [s], RCS in [m^2].
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline

from mmexpert.radar.config import RadarConfig


class SceneError(ValueError):
    """A malformed scene (wrong shapes, non-finite values, negative RCS ...)."""


def _as_points(name: str, value: np.ndarray, leading: tuple[int, ...] | None = None) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim < 1 or array.shape[-1] != 3:
        raise SceneError(f"{name} must have a last axis of length 3 (x, y, z), got {array.shape}")
    if leading is not None and array.shape[:-1] != leading:
        raise SceneError(f"{name} must have shape {(*leading, 3)}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise SceneError(f"{name} contains NaN or infinite values")
    return array


def _as_rcs(name: str, value: np.ndarray | float, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    try:
        array = np.broadcast_to(array, shape).copy()
    except ValueError:
        raise SceneError(f"{name} must broadcast to shape {shape}, got {array.shape}") from None
    if not np.all(np.isfinite(array)):
        raise SceneError(f"{name} contains NaN or infinite values")
    if np.any(array < 0):
        raise SceneError(f"{name} must be >= 0 [m^2], got a minimum of {array.min()}")
    return array


class ScattererGroup(ABC):
    """A set of ``P`` point scatterers whose state can be evaluated at any time."""

    @property
    @abstractmethod
    def num_scatterers(self) -> int:
        """Number of points P."""

    @abstractmethod
    def evaluate(self, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions and RCS at the given instants.

        Parameters
        ----------
        times_s : float64 [T]
            Absolute times [s].

        Returns
        -------
        positions_m : float64 [T, P, 3]
            World positions [m].
        rcs_m2 : float64 [T, P]
            Radar cross-sections [m^2] (0 for hidden points).
        """


@dataclass(frozen=True)
class ConstantVelocityScatterers(ScattererGroup):
    """Points moving on straight lines: ``p(t) = p0 + v (t - t_ref)``.

    Parameters
    ----------
    positions_m : float [P, 3]
        World positions at ``reference_time_s`` [m].
    velocities_mps : float [P, 3]
        World velocities [m/s].
    rcs_m2 : float [P] or scalar
        Radar cross-sections [m^2].
    reference_time_s : float
        Time at which the points are at ``positions_m`` [s].
    """

    positions_m: np.ndarray
    velocities_mps: np.ndarray
    rcs_m2: np.ndarray | float = 1.0
    reference_time_s: float = 0.0

    def __post_init__(self) -> None:
        positions = _as_points("positions_m", self.positions_m).reshape(-1, 3)
        velocities = _as_points("velocities_mps", self.velocities_mps, positions.shape[:-1])
        object.__setattr__(self, "positions_m", positions)
        object.__setattr__(self, "velocities_mps", velocities)
        object.__setattr__(self, "rcs_m2", _as_rcs("rcs_m2", self.rcs_m2, positions.shape[:-1]))
        if not math.isfinite(self.reference_time_s):
            raise SceneError("reference_time_s must be finite")

    @property
    def num_scatterers(self) -> int:
        return int(self.positions_m.shape[0])

    def evaluate(self, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dt = np.asarray(times_s, dtype=np.float64)[:, None, None] - self.reference_time_s
        positions = self.positions_m[None] + dt * self.velocities_mps[None]
        rcs = np.broadcast_to(self.rcs_m2, (dt.shape[0], self.num_scatterers))
        return positions, rcs


@dataclass(frozen=True)
class StaticReflectors(ScattererGroup):
    """Fixed points (furniture, fixtures) producing zero-Doppler clutter.

    Parameters
    ----------
    positions_m : float [P, 3]
        World positions [m].
    rcs_m2 : float [P] or scalar
        Radar cross-sections [m^2].
    """

    positions_m: np.ndarray
    rcs_m2: np.ndarray | float = 1.0

    def __post_init__(self) -> None:
        positions = _as_points("positions_m", self.positions_m).reshape(-1, 3)
        object.__setattr__(self, "positions_m", positions)
        object.__setattr__(self, "rcs_m2", _as_rcs("rcs_m2", self.rcs_m2, positions.shape[:-1]))

    @property
    def num_scatterers(self) -> int:
        return int(self.positions_m.shape[0])

    def evaluate(self, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        num_times = np.asarray(times_s).shape[0]
        positions = np.broadcast_to(self.positions_m, (num_times, *self.positions_m.shape))
        rcs = np.broadcast_to(self.rcs_m2, (num_times, self.num_scatterers))
        return positions, rcs


@dataclass(frozen=True)
class TrajectoryScatterers(ScattererGroup):
    """Sampled trajectories, e.g. body scatterers from the body stage.

    Positions are interpolated with a cubic spline (C2-smooth, so Doppler is continuous);
    RCS (times visibility) linearly. Outside ``[times_s[0], times_s[-1]]`` the points hold
    their first/last state.

    Parameters
    ----------
    times_s : float [T]
        Strictly increasing sample times [s].
    positions_m : float [T, P, 3]
        World positions [m].
    rcs_m2 : float [T, P] or [P]
        Radar cross-sections [m^2].
    visible : bool or float [T, P], optional
        Visibility from the radar (1 visible, 0 hidden); multiplies the RCS.
    """

    times_s: np.ndarray
    positions_m: np.ndarray
    rcs_m2: np.ndarray | float
    visible: np.ndarray | None = None
    _spline: CubicSpline | None = field(default=None, init=False, repr=False, compare=False)
    _rcs_constant: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        times = np.asarray(self.times_s, dtype=np.float64)
        if times.ndim != 1 or times.size < 1:
            raise SceneError(f"times_s must be a non-empty 1-D array, got shape {times.shape}")
        if not np.all(np.isfinite(times)):
            raise SceneError("times_s contains NaN or infinite values")
        if times.size > 1 and np.any(np.diff(times) <= 0):
            raise SceneError("times_s must be strictly increasing")
        positions = np.asarray(self.positions_m, dtype=np.float64)
        if positions.ndim != 3 or positions.shape[0] != times.size or positions.shape[2] != 3:
            raise SceneError(
                f"positions_m must have shape [T={times.size}, P, 3], got {positions.shape}"
            )
        positions = _as_points("positions_m", positions)
        shape = positions.shape[:2]
        rcs = _as_rcs("rcs_m2", self.rcs_m2, shape)
        if self.visible is not None:
            visible = np.asarray(self.visible, dtype=np.float64)
            if visible.shape != shape:
                raise SceneError(f"visible must have shape {shape}, got {visible.shape}")
            if not np.all((visible >= 0) & (visible <= 1)):
                raise SceneError("visible must lie in [0, 1]")
            rcs = rcs * visible
        object.__setattr__(self, "times_s", times)
        object.__setattr__(self, "positions_m", positions)
        object.__setattr__(self, "rcs_m2", rcs)
        object.__setattr__(self, "_rcs_constant", bool(np.all(rcs == rcs[:1])))
        if times.size > 1:
            spline = CubicSpline(times, positions.reshape(times.size, -1), axis=0)
            object.__setattr__(self, "_spline", spline)

    @property
    def num_scatterers(self) -> int:
        return int(self.positions_m.shape[1])

    def evaluate(self, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.clip(np.asarray(times_s, dtype=np.float64), self.times_s[0], self.times_s[-1])
        if self._spline is None:
            positions = np.broadcast_to(self.positions_m[0], (t.size, *self.positions_m.shape[1:]))
            rcs = np.broadcast_to(self.rcs_m2[0], (t.size, self.num_scatterers))
            return positions, rcs
        lower = np.clip(
            np.searchsorted(self.times_s, t, side="right") - 1, 0, self.times_s.size - 2
        )
        offset = t - self.times_s[lower]  # [T'] time into each sample interval [s]
        intervals = np.unique(lower)
        if intervals.size * 4 > t.size:
            positions = self._spline(t)  # scattered times: scipy's per-time evaluation
        else:
            # Chirp times cluster in one or two sample intervals: Horner per interval.
            coefficients = self._spline.c  # [4, T - 1, P * 3], highest power first
            if intervals.size == 1:
                positions = _horner(coefficients[:, intervals[0]], offset[:, None])
            else:
                positions = np.empty((t.size, coefficients.shape[2]))
                for interval in intervals:
                    rows = lower == interval
                    positions[rows] = _horner(coefficients[:, interval], offset[rows, None])
        positions = positions.reshape(t.size, self.num_scatterers, 3)
        if self._rcs_constant:
            return positions, np.broadcast_to(self.rcs_m2[0], (t.size, self.num_scatterers))
        weight = offset / (self.times_s[lower + 1] - self.times_s[lower])
        rcs = self.rcs_m2[lower] + weight[:, None] * (self.rcs_m2[lower + 1] - self.rcs_m2[lower])
        return positions, rcs


def _horner(coefficients: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Cubic ``((c0 dt + c1) dt + c2) dt + c3`` for coefficients [4, K] and dt [n, 1]."""
    value = coefficients[0] * dt
    value += coefficients[1]
    value *= dt
    value += coefficients[2]
    value *= dt
    value += coefficients[3]
    return value


@dataclass(frozen=True)
class Wall:
    """An infinite planar reflector for one-bounce multipath.

    Parameters
    ----------
    point_m : float [3]
        Any point on the wall, world frame [m].
    normal_m : float [3]
        Wall normal (normalised internally; its sign does not matter).
    reflection_coefficient : complex
        Amplitude reflection coefficient (|Gamma| <= 1; e.g. -0.6 for a plastered wall).
    """

    point_m: np.ndarray
    normal_m: np.ndarray
    reflection_coefficient: complex = 0.5

    def __post_init__(self) -> None:
        point = _as_points("wall point_m", self.point_m, ())
        normal = _as_points("wall normal_m", self.normal_m, ())
        length = float(np.linalg.norm(normal))
        if length < 1e-12:
            raise SceneError("wall normal_m must be a non-zero vector")
        gamma = complex(self.reflection_coefficient)
        if not (math.isfinite(gamma.real) and math.isfinite(gamma.imag)) or abs(gamma) > 1:
            raise SceneError(f"wall reflection_coefficient must satisfy |Gamma| <= 1, got {gamma}")
        object.__setattr__(self, "point_m", point)
        object.__setattr__(self, "normal_m", normal / length)
        object.__setattr__(self, "reflection_coefficient", gamma)

    def mirror(self, points_m: np.ndarray) -> np.ndarray:
        """Mirror images of points [..., 3] across the wall [m]."""
        offset = (points_m - self.point_m) @ self.normal_m
        return points_m - 2.0 * offset[..., None] * self.normal_m

    def signed_distance(self, points_m: np.ndarray) -> np.ndarray:
        """Signed distances [...] of points [..., 3] from the wall plane [m]."""
        return (np.asarray(points_m) - self.point_m) @ self.normal_m

    def specular_echo(self, radar_position_m: np.ndarray) -> StaticReflectors:
        """The wall's own echo back to a radar at ``radar_position_m``: one static point.

        A flat wall facing the radar at distance ``R`` returns the radar's signal as if from
        the radar's mirror image at ``2 R`` (image method), from the foot of the
        perpendicular, in the direction of the wall normal:

        .. math::

            P_r = \\frac{P_t G^2 \\lambda^2 |\\Gamma|^2}{(4\\pi)^2 (2R)^2}
                = \\frac{P_t G^2 \\lambda^2 \\sigma}{(4\\pi)^3 R^4}
            \\quad\\text{with}\\quad \\sigma = \\pi R^2 |\\Gamma|^2

        so a point at the foot with radar cross-section ``pi R^2 |Gamma|^2`` gives the same
        received power through the ordinary radar equation, and the element pattern decides
        how much of it a side wall (seen at 90 degrees) still returns.

        Parameters
        ----------
        radar_position_m : float [3]
            Radar position, world frame [m].

        Returns
        -------
        StaticReflectors with one point at the foot of the perpendicular [m] and RCS
        ``pi R^2 |Gamma|^2`` [m^2].

        Raises
        ------
        SceneError
            If the radar lies on the wall plane.
        """
        radar = _as_points("radar_position_m", radar_position_m, ())
        distance = float(self.signed_distance(radar))
        if abs(distance) < 1e-6:
            raise SceneError("the radar lies on the wall plane; a wall echo needs a distance")
        foot = radar - distance * self.normal_m
        rcs = math.pi * distance**2 * abs(self.reflection_coefficient) ** 2
        return StaticReflectors(foot[None], np.array([rcs]))


@dataclass(frozen=True)
class PathGeometry:
    """All propagation paths at a set of times (what the synthesis consumes).

    A path q goes TX -> ``points_m[:, tx_point[q]]`` ... ``points_m[:, rx_point[q]]`` -> RX;
    its delay is ``(|points[tx_point] - tx| + |points[rx_point] - rx|) / c``. Direct paths
    have ``tx_point == rx_point``; image-method paths pair a scatterer with its mirror image.

    Attributes
    ----------
    points_m : float64 [T, U, 3]
        Scatterers followed by their mirror images, world frame [m].
    tx_point : int64 [Q]
        Index into U of the point seen from the TX side of each path.
    rx_point : int64 [Q]
        Index into U of the point seen from the RX side.
    rcs_m2 : float64 [T, Q]
        RCS of the scatterer of each path [m^2] (0 where the path does not exist).
    reflection : complex128 [Q]
        Product of the wall reflection coefficients along the path (1 for direct paths).
    """

    points_m: np.ndarray
    tx_point: np.ndarray
    rx_point: np.ndarray
    rcs_m2: np.ndarray
    reflection: np.ndarray

    @property
    def num_paths(self) -> int:
        """Number of paths Q."""
        return int(self.tx_point.shape[0])

    def subset(self, paths: np.ndarray) -> PathGeometry:
        """The paths ``paths`` (int [Q']) with only the points they use.

        Points keep their order, so a direct-only geometry stays direct-only with
        ``tx_point == rx_point == arange(U')``.
        """
        paths = np.asarray(paths, dtype=np.int64)
        if paths.size == self.num_paths:
            return self
        used = np.union1d(self.tx_point[paths], self.rx_point[paths])  # sorted
        remap = np.full(self.points_m.shape[1], -1, dtype=np.int64)
        remap[used] = np.arange(used.size)
        return PathGeometry(
            points_m=self.points_m[:, used],
            tx_point=remap[self.tx_point[paths]],
            rx_point=remap[self.rx_point[paths]],
            rcs_m2=self.rcs_m2[:, paths],
            reflection=self.reflection[paths],
        )


@dataclass
class Scene:
    """Everything the radar sees: scatterer groups and walls.

    Parameters
    ----------
    scatterers : list of ScattererGroup
        Moving and static point scatterers.
    walls : list of Wall
        Planar reflectors adding one-bounce multipath for every scatterer.
    """

    scatterers: list[ScattererGroup] = field(default_factory=list)
    walls: list[Wall] = field(default_factory=list)

    def __post_init__(self) -> None:
        for group in self.scatterers:
            if not isinstance(group, ScattererGroup):
                raise SceneError(f"scene scatterers must be ScattererGroup, got {type(group)}")
        for wall in self.walls:
            if not isinstance(wall, Wall):
                raise SceneError(f"scene walls must be Wall, got {type(wall)}")

    def add(self, item: ScattererGroup | Wall) -> Scene:
        """Add a scatterer group or a wall; returns the scene for chaining."""
        if isinstance(item, Wall):
            self.walls.append(item)
        elif isinstance(item, ScattererGroup):
            self.scatterers.append(item)
        else:
            raise SceneError(f"cannot add {type(item).__name__} to a scene")
        return self

    @property
    def num_scatterers(self) -> int:
        """Total number of point scatterers."""
        return sum(group.num_scatterers for group in self.scatterers)

    @property
    def num_paths(self) -> int:
        """Direct paths plus two one-bounce paths per scatterer and wall."""
        return self.num_scatterers * (1 + 2 * len(self.walls))

    def scatterers_at(self, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All scatterers at the given times.

        Returns
        -------
        positions_m : float64 [T, P, 3] (world [m]); rcs_m2 : float64 [T, P] [m^2].
        """
        times = np.asarray(times_s, dtype=np.float64).reshape(-1)
        if not self.scatterers:
            return np.zeros((times.size, 0, 3)), np.zeros((times.size, 0))
        parts = [group.evaluate(times) for group in self.scatterers]
        if len(parts) == 1:
            positions, rcs = parts[0]
        else:
            positions = np.concatenate([p for p, _ in parts], axis=1)
            rcs = np.concatenate([r for _, r in parts], axis=1)
        # Inputs are validated on construction; the synthesis checks the evaluated ranges.
        return positions, rcs

    def paths_at(self, times_s: np.ndarray, radar_position_m: np.ndarray) -> PathGeometry:
        """Direct and image-method paths at the given times.

        Parameters
        ----------
        times_s : float64 [T]
            Absolute times [s].
        radar_position_m : float64 [3]
            Radar position in the world frame [m] (decides which side of a wall is front).

        Returns
        -------
        PathGeometry with U = P (1 + W) points and Q = P (1 + 2 W) paths.
        """
        positions, rcs = self.scatterers_at(times_s)
        num_points = positions.shape[1]
        direct = np.arange(num_points)
        if not self.walls:
            return PathGeometry(positions, direct, direct, rcs, np.ones(num_points, np.complex128))
        points = [positions]
        tx_point, rx_point, path_rcs, reflection = [direct], [direct], [rcs], [np.ones(num_points)]
        radar = np.asarray(radar_position_m, dtype=np.float64)
        for w, wall in enumerate(self.walls):
            image = direct + (w + 1) * num_points
            points.append(wall.mirror(positions))
            radar_side = np.sign(wall.signed_distance(radar))
            same_side = np.sign(wall.signed_distance(positions)) == radar_side
            exists_rcs = np.where(same_side & (radar_side != 0), rcs, 0.0)
            gamma = np.full(num_points, wall.reflection_coefficient)
            # TX -> p -> wall -> RX, then TX -> wall -> p -> RX.
            tx_point += [direct, image]
            rx_point += [image, direct]
            path_rcs += [exists_rcs, exists_rcs]
            reflection += [gamma, gamma]
        return PathGeometry(
            points_m=np.concatenate(points, axis=1),
            tx_point=np.concatenate(tx_point).astype(np.int64),
            rx_point=np.concatenate(rx_point).astype(np.int64),
            rcs_m2=np.concatenate(path_rcs, axis=1),
            reflection=np.concatenate(reflection).astype(np.complex128),
        )


def leakage_reflectors(
    radar: RadarConfig,
    ranges_m: np.ndarray,
    powers_w: np.ndarray,
    azimuths_rad: np.ndarray,
    elevations_rad: np.ndarray,
) -> StaticReflectors:
    """TX->RX antenna leakage (board coupling, radome) as static near-range reflectors.

    On a real device part of every chirp couples from the TX to the RX antennas over a few
    centimetres of board and radome: a strong zero-Doppler return in the first range bins
    that the chain keeps when static clutter removal is off. Modelling it as static points
    close to the radar sends it through the same synthesis and chain as everything else, so
    it picks up the same windows, near-field phases across the array, CFAR and angle
    estimation.

    Each path is a point at ``ranges_m`` from the radar origin in the direction
    (``azimuths_rad``, ``elevations_rad``) of the radar local frame, with the radar cross
    section that makes its power at the RF input of an antenna at the origin exactly
    ``powers_w``:

    .. math::

        \\sigma = \\frac{P_r (4\\pi)^3 R^4}{P_t G(u)^2 \\lambda^2}

    Parameters
    ----------
    radar : RadarConfig
        Its pose places the points; its TX power, element gain and wavelength set the RCS.
    ranges_m : float [K]
        One-way length of each coupling path [m] (> 0).
    powers_w : float [K]
        Received power of each path at the RF input [W] (>= 0).
    azimuths_rad, elevations_rad : float [K]
        Direction of each path in the radar local frame [rad].

    Returns
    -------
    StaticReflectors with K points (world frame [m], RCS [m^2]).

    Raises
    ------
    SceneError
        If the arrays differ in length, a range is not positive or a power is negative.
    """
    ranges = np.atleast_1d(np.asarray(ranges_m, dtype=np.float64))
    powers = np.atleast_1d(np.asarray(powers_w, dtype=np.float64))
    azimuths = np.atleast_1d(np.asarray(azimuths_rad, dtype=np.float64))
    elevations = np.atleast_1d(np.asarray(elevations_rad, dtype=np.float64))
    if not ranges.shape == powers.shape == azimuths.shape == elevations.shape:
        raise SceneError(
            "leakage ranges, powers, azimuths and elevations must have one shape, got "
            f"{ranges.shape}, {powers.shape}, {azimuths.shape}, {elevations.shape}"
        )
    values = np.concatenate([ranges, powers, azimuths, elevations])
    if not np.all(np.isfinite(values)):
        raise SceneError("leakage parameters contain NaN or infinite values")
    if np.any(ranges <= 0):
        raise SceneError(f"leakage ranges_m must be > 0, got a minimum of {ranges.min()}")
    if np.any(powers < 0):
        raise SceneError(f"leakage powers_w must be >= 0, got a minimum of {powers.min()}")
    directions = np.stack(
        [
            np.cos(elevations) * np.sin(azimuths),
            np.cos(elevations) * np.cos(azimuths),
            np.sin(elevations),
        ],
        axis=-1,
    )  # (K, 3) local frame
    gain = radar.antennas.element_gain(directions)  # (K,) linear power gain
    wavelength = radar.wavelength_m
    rcs = (
        powers
        * (4 * math.pi) ** 3
        * ranges**4
        / (radar.receiver.tx_power_w * gain**2 * wavelength**2)
    )
    positions = radar.pose.to_world(ranges[:, None] * directions)
    return StaticReflectors(positions, rcs)


def point_target(
    radar: RadarConfig,
    range_m: float,
    velocity_mps: float,
    azimuth_rad: float,
    elevation_rad: float = 0.0,
    rcs_m2: float = 1.0,
) -> ConstantVelocityScatterers:
    """One point at a given range and angle from the radar, moving radially.

    The position is ``r (cos el sin az, cos el cos az, sin el)`` in the radar local frame
    (x right, y boresight, z up; azimuth positive towards +x) mapped to the world by
    ``radar.pose``; the velocity points along the same line, so the range is exactly
    ``range_m + velocity_mps * t`` (positive velocity: moving away).

    Parameters
    ----------
    radar : RadarConfig
        The radar whose pose defines the local frame.
    range_m : float
        Range from the radar origin at t = 0 [m].
    velocity_mps : float
        Radial velocity [m/s], positive away from the radar.
    azimuth_rad, elevation_rad : float
        Direction in the radar local frame [rad].
    rcs_m2 : float
        Radar cross-section [m^2].

    Returns
    -------
    ConstantVelocityScatterers with one point.
    """
    values = (range_m, velocity_mps, azimuth_rad, elevation_rad, rcs_m2)
    if not all(math.isfinite(v) for v in values):
        raise SceneError(f"point_target arguments must be finite, got {values}")
    if range_m <= 0:
        raise SceneError(f"point_target range_m must be > 0, got {range_m}")
    direction_local = np.array(
        [
            math.cos(elevation_rad) * math.sin(azimuth_rad),
            math.cos(elevation_rad) * math.cos(azimuth_rad),
            math.sin(elevation_rad),
        ]
    )
    position = radar.pose.to_world(range_m * direction_local)
    velocity = radar.pose.rotation @ direction_local * velocity_mps
    return ConstantVelocityScatterers(position[None], velocity[None], np.array([rcs_m2]))
