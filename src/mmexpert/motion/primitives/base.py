"""The primitive contract: declared parameters, subject style, and a pose builder.

A primitive is a class with a ``name``, a ``description``, a tuple of
:class:`ParameterSpec` and a ``_generate`` method that fills a :class:`PoseBuilder`.
Calling a primitive validates the parameters, then returns a
:class:`~mmexpert.motion.kinematics.PoseTrack`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from mmexpert.motion.kinematics import (
    PoseTrack,
    euler_matrices,
    forward_kinematics,
    two_bone_ik,
)
from mmexpert.motion.skeleton import (
    JOINT_INDEX,
    NUM_JOINTS,
    SubjectDimensions,
    rest_offsets_m,
)

GRAVITY_MPS2 = 9.81
"""Standard gravity [m/s^2] (ballistic flight of jumps and runs)."""


class PrimitiveError(ValueError):
    """Unknown primitive, or a parameter that is unknown, of the wrong type or out of range."""


@dataclass(frozen=True)
class ParameterSpec:
    """One primitive parameter: type, default and allowed range (JSON-able)."""

    name: str
    kind: Literal["float", "int", "choice", "bool"]
    default: float | int | str | bool | None  # None: derived from the subject
    minimum: float | None = None  # inclusive lower bound (float / int)
    maximum: float | None = None  # inclusive upper bound (float / int)
    choices: tuple[str, ...] | None = None  # allowed values (choice)
    unit: str = ""  # SI unit of the value, e.g. "m/s", "rad", "Hz"
    description: str = ""

    def allowed(self) -> str:
        """Human-readable allowed range, used in error messages."""
        if self.kind == "choice":
            return f"one of {list(self.choices or ())}"
        if self.kind == "bool":
            return "true or false"
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.kind} in [{self.minimum}, {self.maximum}]{unit}"

    def to_json(self) -> dict[str, Any]:
        """The spec as a JSON-able dict (what a planner enumerates)."""
        return {
            "name": self.name,
            "type": self.kind,
            "default": self.default,
            "min": self.minimum,
            "max": self.maximum,
            "choices": list(self.choices) if self.choices else None,
            "unit": self.unit,
            "description": self.description,
        }

    def check(self, value: Any) -> Any:
        """Return the validated value or raise :class:`PrimitiveError` (without context)."""
        if value is None and self.default is None:
            return None
        if self.kind == "choice":
            if value not in (self.choices or ()):
                raise PrimitiveError(f"got {value!r}, allowed {self.allowed()}")
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise PrimitiveError(f"got {value!r}, allowed {self.allowed()}")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PrimitiveError(f"got {value!r}, allowed {self.allowed()}")
        if self.kind == "int" and not float(value).is_integer():
            raise PrimitiveError(f"got {value!r}, allowed {self.allowed()}")
        if not math.isfinite(float(value)) or not (
            (self.minimum is None or value >= self.minimum)
            and (self.maximum is None or value <= self.maximum)
        ):
            raise PrimitiveError(f"got {value!r}, allowed {self.allowed()}")
        return int(value) if self.kind == "int" else float(value)


def float_param(
    name: str,
    default: float | None,
    minimum: float,
    maximum: float,
    unit: str = "",
    description: str = "",
) -> ParameterSpec:
    """Shorthand for a float :class:`ParameterSpec`."""
    return ParameterSpec(name, "float", default, minimum, maximum, None, unit, description)


def choice_param(
    name: str, default: str, choices: tuple[str, ...], description: str = ""
) -> ParameterSpec:
    """Shorthand for a choice :class:`ParameterSpec`."""
    return ParameterSpec(name, "choice", default, None, None, choices, "", description)


def int_param(
    name: str, default: int, minimum: int, maximum: int, description: str = ""
) -> ParameterSpec:
    """Shorthand for an int :class:`ParameterSpec`."""
    return ParameterSpec(name, "int", default, minimum, maximum, None, "", description)


@dataclass(frozen=True)
class SubjectStyle:
    """How age changes kinematics (multipliers relative to an adult of the same height).

    Walking speed and cadence also follow dynamic similarity (Froude number, leg length):
    see :func:`mmexpert.motion.primitives.locomotion.preferred_walk`.
    """

    froude_walk: float  # preferred walking Froude number v^2 / (g L)
    cadence_scale: float  # step-rate multiplier at a given Froude number
    range_of_motion: float  # multiplier on joint-angle amplitudes
    sway_scale: float  # multiplier on postural sway / breathing amplitude
    tempo_scale: float  # multiplier on the rate of repetitive movements
    explosiveness: float  # multiplier on jump height and strike speed


AGE_STYLES: dict[str, SubjectStyle] = {
    # Adults walk at Fr ~0.2 (1.35 m/s for a 0.93 m leg).
    "adult": SubjectStyle(0.20, 1.0, 1.0, 1.0, 1.0, 1.0),
    # Children: similar Froude number, slightly quicker steps, more sway, livelier tempo.
    "child": SubjectStyle(0.19, 1.05, 1.05, 1.3, 1.15, 0.85),
    # Elders: slower (Fr ~0.13, ~1.05 m/s), shorter strides at a similar step rate,
    # reduced range of motion, more sway.
    "elder": SubjectStyle(0.13, 1.0, 0.70, 1.8, 0.75, 0.55),
}


@dataclass(frozen=True)
class PrimitiveContext:
    """Everything a primitive needs besides its parameters."""

    dims: SubjectDimensions  # segment lengths and widths [m]
    style: SubjectStyle  # age-dependent kinematic style
    fps: float  # frame rate [Hz]
    variation: float  # per-take style variation, ~N(0, 1) scaled by the caller
    rng: np.random.Generator  # for further per-primitive randomness

    @property
    def leg_m(self) -> float:
        """Leg length, hip joint to the floor [m]."""
        return self.dims.thigh_m + self.dims.shank_m + self.dims.ankle_height_m


class PoseBuilder:
    """Accumulates joint angles (and arm IK) over time, then builds a :class:`PoseTrack`.

    Angles add up, so a primitive can layer a base posture, a rhythm and sway. Call
    :meth:`reach` after the trunk posture is final (the IK uses the trunk's frame).
    """

    def __init__(self, times_s: np.ndarray, dims: SubjectDimensions) -> None:
        self.times_s = np.asarray(times_s, dtype=np.float64)
        self.dims = dims
        num_frames = len(self.times_s)
        self.angles = np.zeros((num_frames, NUM_JOINTS, 3))  # XYZ Euler [rad]
        self.root_xy_m = np.zeros((num_frames, 2))
        self.heading_rad = np.zeros(num_frames)
        self.lift_m = np.zeros(num_frames)
        self._overrides: dict[int, np.ndarray] = {}

    @property
    def num_frames(self) -> int:
        """Number of frames T."""
        return len(self.times_s)

    def rotate(self, joint: str, rx: Any = 0.0, ry: Any = 0.0, rz: Any = 0.0) -> PoseBuilder:
        """Add Euler angles [rad] (scalars or [T]) to one joint."""
        index = JOINT_INDEX[joint]
        self.angles[:, index, 0] += rx
        self.angles[:, index, 1] += ry
        self.angles[:, index, 2] += rz
        return self

    def leg(
        self,
        side: str,
        hip_flex: Any = 0.0,
        hip_abd: Any = 0.0,
        knee_flex: Any = 0.0,
        ankle_dorsi: Any = 0.0,
        hip_twist: Any = 0.0,
    ) -> PoseBuilder:
        """Add leg angles [rad]: hip flexion (+ forward), abduction (+ outward), knee flexion
        (+ bent), ankle dorsiflexion (+ toes up), hip twist (+ toes outward)."""
        sign = 1.0 if side == "left" else -1.0
        self.rotate(f"{side}_hip", hip_flex, sign * hip_abd, -sign * hip_twist)
        self.rotate(f"{side}_knee", -np.asarray(knee_flex))
        self.rotate(f"{side}_ankle", ankle_dorsi)
        return self

    def arm(
        self,
        side: str,
        shoulder_flex: Any = 0.0,
        shoulder_abd: Any = 0.0,
        elbow_flex: Any = 0.0,
        twist: Any = 0.0,
    ) -> PoseBuilder:
        """Add arm angles [rad]: shoulder flexion (+ forward), abduction (+ outward),
        elbow flexion (+ bent), upper-arm twist (+ external rotation)."""
        sign = 1.0 if side == "left" else -1.0
        self.rotate(
            f"{side}_shoulder", shoulder_flex, sign * shoulder_abd, -sign * np.asarray(twist)
        )
        self.rotate(f"{side}_elbow", elbow_flex)
        return self

    def trunk(self, flex: Any = 0.0, lateral: Any = 0.0, twist: Any = 0.0) -> PoseBuilder:
        """Add trunk angles [rad] spread over the three spine joints: flexion (+ bend
        forward), lateral bend (+ to the left), twist (+ turn to the left)."""
        for joint, share in (("spine1", 0.4), ("spine2", 0.35), ("spine3", 0.25)):
            self.rotate(
                joint,
                -share * np.asarray(flex),
                -share * np.asarray(lateral),
                share * np.asarray(twist),
            )
        return self

    def head(self, flex: Any = 0.0, turn: Any = 0.0, tilt: Any = 0.0) -> PoseBuilder:
        """Add head angles [rad]: flexion (+ nod down), turn (+ left), tilt (+ left)."""
        self.rotate(
            "neck", -0.5 * np.asarray(flex), -0.5 * np.asarray(tilt), 0.5 * np.asarray(turn)
        )
        self.rotate(
            "head", -0.5 * np.asarray(flex), -0.5 * np.asarray(tilt), 0.5 * np.asarray(turn)
        )
        return self

    def pelvis(
        self, pitch_back: Any = 0.0, roll_left: Any = 0.0, yaw_left: Any = 0.0
    ) -> PoseBuilder:
        """Rotate the whole body about the pelvis [rad]: pitch (+ lean back, pi/2 = lying on
        the back), roll (+ lean to the left), yaw (+ turn left)."""
        self.rotate("pelvis", pitch_back, -np.asarray(roll_left), yaw_left)
        return self

    def local_rotations(self) -> np.ndarray:
        """float64 [T, 22, 3, 3] local rotations from the angles and the IK overrides."""
        matrices = euler_matrices(
            self.angles[..., 0].ravel(), self.angles[..., 1].ravel(), self.angles[..., 2].ravel()
        ).reshape(self.num_frames, NUM_JOINTS, 3, 3)
        for joint, override in self._overrides.items():
            matrices[:, joint] = override
        return matrices

    def reach(self, side: str, target_m: np.ndarray, pole: Any = (0.0, -0.3, -1.0)) -> PoseBuilder:
        """Place a wrist at a target with two-bone IK.

        Parameters
        ----------
        side
            "left" or "right".
        target_m
            float [T, 3] or [3]: wrist position relative to that shoulder, in the chest
            frame (x right, y forward, z up when the trunk is upright) [m]. Out-of-reach
            targets are pulled in along the shoulder-target line.
        pole
            [3] or [T, 3]: where the elbow points, in the chest frame (default down and
            slightly back, as a relaxed elbow).
        """
        offsets = rest_offsets_m(self.dims)
        positions, world = forward_kinematics(
            offsets, self.local_rotations(), np.zeros((self.num_frames, 3))
        )
        chest = world[:, JOINT_INDEX["spine3"]]
        shoulder = positions[:, JOINT_INDEX[f"{side}_shoulder"]]
        target = np.broadcast_to(np.asarray(target_m, dtype=np.float64), (self.num_frames, 3))
        pole_body = np.broadcast_to(np.asarray(pole, dtype=np.float64), (self.num_frames, 3))
        target_body = shoulder + np.einsum("tij,tj->ti", chest, target)
        pole_world = np.einsum("tij,tj->ti", chest, pole_body)
        frames, elbow = two_bone_ik(
            shoulder, target_body, pole_world, self.dims.upper_arm_m, self.dims.forearm_m
        )
        collar = world[:, JOINT_INDEX[f"{side}_collar"]]
        self._overrides[JOINT_INDEX[f"{side}_shoulder"]] = np.swapaxes(collar, 1, 2) @ frames
        self._overrides[JOINT_INDEX[f"{side}_elbow"]] = euler_matrices(elbow, 0.0, 0.0)
        return self

    def track(self) -> PoseTrack:
        """The finished :class:`PoseTrack`."""
        return PoseTrack(
            self.local_rotations(),
            self.root_xy_m.copy(),
            self.heading_rad.copy(),
            self.lift_m.copy(),
        )


class Primitive:
    """Base class of every motion primitive (see the registry in ``primitives/__init__``)."""

    name: ClassVar[str]
    description: ClassVar[str]
    parameters: ClassVar[tuple[ParameterSpec, ...]] = ()
    default_duration_s: ClassVar[float] = 3.0  # [s]
    min_duration_s: ClassVar[float] = 0.3  # [s]
    seconds_per_repetition: ClassVar[float] = 0.0  # shortest repetition a person manages [s]
    overhead_s: ClassVar[float] = 0.0  # lead-in + lead-out around the repetitions [s]

    @classmethod
    def minimum_duration_s(cls, parameters: dict[str, Any]) -> float:
        """Shortest duration [s] for these (resolved) parameters, e.g. 4 kicks need 3.6 s."""
        repetitions = parameters.get("repetitions", 1) or 1
        return max(cls.min_duration_s, cls.overhead_s + repetitions * cls.seconds_per_repetition)

    @classmethod
    def check_duration(cls, parameters: dict[str, Any], duration_s: float) -> None:
        """Raise :class:`PrimitiveError` when ``duration_s`` is too short for the parameters."""
        shortest = cls.minimum_duration_s(cls.resolve(parameters))
        if not duration_s >= shortest - 1e-9:
            raise PrimitiveError(
                f"duration_s={duration_s} is too short for primitive {cls.name!r} with these "
                f"parameters; it needs at least {shortest:.2f} s"
            )

    @classmethod
    def spec(cls) -> dict[str, Any]:
        """JSON-able description: name, description, default duration and parameters."""
        return {
            "name": cls.name,
            "description": cls.description,
            "default_duration_s": cls.default_duration_s,
            "min_duration_s": cls.min_duration_s,
            "seconds_per_repetition": cls.seconds_per_repetition,
            "overhead_s": cls.overhead_s,
            "parameters": [parameter.to_json() for parameter in cls.parameters],
        }

    @classmethod
    def resolve(cls, parameters: dict[str, Any]) -> dict[str, Any]:
        """Fill defaults and validate; errors name the parameter and the allowed range."""
        known = {parameter.name: parameter for parameter in cls.parameters}
        unknown = sorted(set(parameters) - set(known))
        if unknown:
            raise PrimitiveError(
                f"unknown parameter(s) {unknown} for primitive {cls.name!r}; "
                f"allowed: {sorted(known) or 'none'}"
            )
        resolved = {}
        for name, parameter in known.items():
            value = parameters.get(name, parameter.default)
            try:
                resolved[name] = parameter.check(value)
            except PrimitiveError as error:
                raise PrimitiveError(
                    f"parameter {name!r} of primitive {cls.name!r}: {error}"
                ) from None
        return resolved

    def __call__(
        self, context: PrimitiveContext, parameters: dict[str, Any], duration_s: float
    ) -> PoseTrack:
        """Validate the parameters and generate ``duration_s`` of motion at ``context.fps``.

        Returns
        -------
        PoseTrack
            ``round(duration_s * fps) + 1`` frames.
        """
        resolved = self.resolve(parameters)
        self.check_duration(resolved, duration_s)
        num_frames = round(duration_s * context.fps) + 1
        times = np.arange(num_frames) / context.fps
        builder = PoseBuilder(times, context.dims)
        self._generate(builder, context, resolved, float(duration_s))
        return builder.track()

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        raise NotImplementedError


def hand_choice(default: str = "right") -> ParameterSpec:
    """The usual ``hand`` parameter: left, right or both."""
    return choice_param("hand", default, ("left", "right", "both"), "which hand performs it")


def hands_of(choice: str) -> tuple[str, ...]:
    """("left",), ("right",) or ("left", "right") for a ``hand`` parameter value."""
    return ("left", "right") if choice == "both" else (choice,)


def relaxed_arms(pose: PoseBuilder, swing: Any = 0.0) -> None:
    """Arms hanging with a slight elbow bend, optionally swinging (+ left arm forward) [rad]."""
    for side, sign in (("left", 1.0), ("right", -1.0)):
        pose.arm(side, shoulder_flex=sign * np.asarray(swing), shoulder_abd=0.08, elbow_flex=0.25)


def breathing(pose: PoseBuilder, context: PrimitiveContext, rate_hz: float = 0.25) -> None:
    """Quiet breathing and postural sway: the chest moves a few mm at ``rate_hz`` [Hz]."""
    t = pose.times_s
    phase = context.rng.uniform(0, 2 * np.pi)
    sway = context.style.sway_scale
    # ~1.1 deg of spine extension per breath moves the upper chest ~4 mm (quiet breathing
    # moves the chest wall 4-12 mm peak to peak in the radar vital-sign literature)
    pose.trunk(flex=-0.020 * np.sin(2 * np.pi * rate_hz * t + phase))
    # postural sway of the upper body over the hips (~5 mm at the head for an adult); the
    # hips counter-rotate so the legs, hence the feet, stay where they are
    pitch = 0.005 * sway * np.sin(2 * np.pi * 0.07 * t + phase)
    roll = 0.006 * sway * np.sin(2 * np.pi * 0.11 * t + 2 * phase)
    pose.rotate("pelvis", pitch, roll)
    pose.rotate("left_hip", -pitch, -roll)
    pose.rotate("right_hip", -pitch, -roll)


CHANNELS: tuple[str, ...] = (
    "pelvis_pitch_back", "pelvis_roll_left", "pelvis_yaw_left",
    "trunk_flex", "trunk_lateral", "trunk_twist", "head_flex",
    "l_hip_flex", "l_hip_abd", "l_knee_flex", "l_ankle",
    "r_hip_flex", "r_hip_abd", "r_knee_flex", "r_ankle",
    "l_shoulder_flex", "l_shoulder_abd", "l_elbow_flex", "l_arm_twist",
    "r_shoulder_flex", "r_shoulder_abd", "r_elbow_flex", "r_arm_twist",
)  # fmt: skip
"""Named angle channels [rad] for keyframed primitives (l_/r_ = left/right side)."""


def keyframes(
    times_s: np.ndarray, key_times_s: list[float], keys: list[dict[str, float]]
) -> dict[str, np.ndarray]:
    """Interpolate keyframed channel values over time (shape-preserving PCHIP, C1).

    A key may set channels without a side prefix (``"hip_flex"``): both sides get it.
    Channels a key omits are 0 at that key.

    Parameters
    ----------
    times_s
        float [T] times [s].
    key_times_s
        Increasing key times [s]; times outside are held at the first / last key.
    keys
        One dict per key time, channel name -> angle [rad].

    Returns
    -------
    dict
        channel name -> float64 [T] angle [rad].
    """
    from scipy.interpolate import PchipInterpolator

    expanded = []
    for key in keys:
        full = {}
        for channel, value in key.items():
            if channel in CHANNELS:
                full[channel] = value
            elif f"l_{channel}" in CHANNELS:
                full[f"l_{channel}"] = full[f"r_{channel}"] = value
            else:
                raise PrimitiveError(f"unknown keyframe channel {channel!r}")
        expanded.append(full)
    if np.any(np.diff(key_times_s) <= 0):
        raise PrimitiveError(f"keyframe times must increase, got {np.round(key_times_s, 3)}")
    clamped = np.clip(times_s, key_times_s[0], key_times_s[-1])
    result = {}
    for channel in CHANNELS:
        values = [key.get(channel, 0.0) for key in expanded]
        result[channel] = PchipInterpolator(key_times_s, values)(clamped)
    return result


def apply_channels(pose: PoseBuilder, channels: dict[str, np.ndarray], rom: float = 1.0) -> None:
    """Add keyframed channels to a pose; ``rom`` scales every angle (range of motion)."""
    c = {name: rom * value for name, value in channels.items()}
    pose.pelvis(c["pelvis_pitch_back"], c["pelvis_roll_left"], c["pelvis_yaw_left"])
    pose.trunk(c["trunk_flex"], c["trunk_lateral"], c["trunk_twist"])
    pose.head(c["head_flex"])
    for side, prefix in (("left", "l_"), ("right", "r_")):
        pose.leg(
            side,
            c[prefix + "hip_flex"],
            c[prefix + "hip_abd"],
            c[prefix + "knee_flex"],
            c[prefix + "ankle"],
        )
        pose.arm(
            side,
            c[prefix + "shoulder_flex"],
            c[prefix + "shoulder_abd"],
            c[prefix + "elbow_flex"],
            c[prefix + "arm_twist"],
        )


def repetition_phase(times_s: np.ndarray, duration_s: float, repetitions: int) -> np.ndarray:
    """Phase in repetitions [0, repetitions] spread evenly over the duration."""
    return np.clip(times_s / max(duration_s, 1e-9), 0.0, 1.0) * repetitions


def ease_in_out(times_s: np.ndarray, duration_s: float, ramp_s: float = 0.4) -> np.ndarray:
    """Envelope rising from 0 to 1 over ``ramp_s`` and falling back over the last ``ramp_s``."""
    from mmexpert.motion.kinematics import smoothstep

    ramp = min(ramp_s, 0.5 * duration_s)
    return smoothstep(times_s / ramp) * smoothstep((duration_s - times_s) / ramp)


def plant(pose: PoseBuilder, context: PrimitiveContext) -> None:
    """Set the pelvis path so the supporting foot stays still (standing primitives)."""
    from mmexpert.motion.kinematics import planted_root_xy

    pose.root_xy_m[:] = planted_root_xy(
        pose.track(), context.dims, smoothing_s=0.0, fps=context.fps
    )
