"""Motion programs: a validated JSON schema, and :func:`synthesize` that turns one into a Motion.

A program is what the planner emits::

    {"subject": {"height_m": 1.7, "build": "average", "age_group": "adult", "sex": "female"},
     "placement": {"start_xy_m": [0.0, 3.0], "heading_rad": null, "path": null},
     "segments": [{"primitive": "walk_forward", "parameters": {}, "duration_s": 3.0},
                  {"primitive": "wave", "parameters": {"hand": "left"}, "duration_s": 2.0}]}

The radar sits at the origin looking along +y; a null heading faces the radar. Segments
run in sequence; each transition cross-fades joint rotations over at least :data:`BLEND_S`
(longer for a large change of posture, :data:`BLEND_RATE_RAD_PER_S`) while the previous
segment keeps running, and blends the root's velocity, so positions and velocities stay
continuous. With a ``path`` the pelvis follows the waypoints (corners
rounded over ~0.5 m) and the person turns to face along it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from mmexpert.motion.kinematics import (
    euler_matrices,
    forward_kinematics,
    ground_clearances_m,
    grounded_height_m,
    heading_matrices,
    nlerp_rotations,
    smoothstep,
)
from mmexpert.motion.motion import Motion
from mmexpert.motion.primitives import AGE_STYLES, PrimitiveContext, PrimitiveError, get_primitive
from mmexpert.motion.skeleton import JOINT_INDEX, rest_offsets_m, subject_dimensions

BLEND_S = 0.3
"""Shortest cross-fade between consecutive segments [s]."""

BLEND_RATE_RAD_PER_S = {"pelvis": 1.5, "other": 5.0}
"""Fastest mean turn of a joint during a cross-fade [rad/s]: a larger change of posture (lying
down -> walking) fades for longer. The pelvis turns the whole body, so its limit is lower."""

STYLE_JITTER_RAD = 0.035
"""Standard deviation of the per-take posture offsets (trunk, head, shoulders) [rad]."""

MAX_SEGMENT_S = 120.0
SUPPORT_WINDOW_S = 0.1
"""Width of the running maximum that smooths the pelvis height [s]."""
"""Longest allowed segment [s]."""


class ProgramError(ValueError):
    """An invalid motion program; the message names the segment, primitive and range."""


class Subject(BaseModel):
    """Who moves: height, build, age group and sex."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    height_m: float = Field(1.75, ge=0.8, le=2.2, description="standing height [m]")
    build: Literal["slim", "average", "heavy"] = "average"
    age_group: Literal["child", "adult", "elder"] = "adult"
    sex: Literal["female", "male"] = "male"


class Placement(BaseModel):
    """Where the person starts relative to the radar (origin, looking along +y)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_xy_m: tuple[float, float] = Field((0.0, 3.0), description="pelvis start [m]")
    heading_rad: float | None = Field(
        None, description="facing direction, ccw from +x [rad]; null faces the radar"
    )
    path: list[tuple[float, float]] | None = Field(
        None, description="waypoints [m] the pelvis walks through after the start"
    )

    def initial_heading_rad(self) -> float:
        """Facing direction at the start [rad] (toward the radar when unset)."""
        if self.heading_rad is not None:
            return float(self.heading_rad)
        x, y = self.start_xy_m
        if math.hypot(x, y) < 1e-9:
            return math.pi / 2
        return math.atan2(-y, -x)


class Segment(BaseModel):
    """One primitive with its parameters and duration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    primitive: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    duration_s: float | None = Field(None, description="[s]; null: the primitive's default")


class MotionProgram(BaseModel):
    """A subject, a placement and a sequence of segments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: Subject = Field(default_factory=Subject)
    placement: Placement = Field(default_factory=Placement)
    segments: list[Segment] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_segments(self) -> MotionProgram:
        for index, segment in enumerate(self.segments):
            try:
                primitive = get_primitive(segment.primitive)
                duration = segment.duration_s or primitive.default_duration_s
                if duration > MAX_SEGMENT_S:
                    raise PrimitiveError(
                        f"duration_s={duration} of primitive {segment.primitive!r} is longer "
                        f"than {MAX_SEGMENT_S} s"
                    )
                primitive.check_duration(segment.parameters, duration)
            except PrimitiveError as error:
                raise ValueError(f"segment {index}: {error}") from None
        return self

    def durations_s(self) -> list[float]:
        """Duration of each segment [s], defaults filled in."""
        return [
            segment.duration_s or get_primitive(segment.primitive).default_duration_s
            for segment in self.segments
        ]


def parse_program(source: str | dict[str, Any] | Path) -> MotionProgram:
    """Validate a program from JSON text, a dict or a ``.json`` file.

    Raises
    ------
    ProgramError
        With pydantic's located messages (e.g. ``segments.2: segment 2: unknown
        parameter(s) ['speed'] for primitive 'wave'; allowed: [...]``).
    """
    try:
        if isinstance(source, Path):
            source = source.read_text()
        if isinstance(source, str):
            return MotionProgram.model_validate_json(source)
        return MotionProgram.model_validate(source)
    except ValidationError as error:
        lines = []
        for item in error.errors():
            location = ".".join(str(part) for part in item["loc"]) or "program"
            message = item["msg"].removeprefix("Value error, ")
            lines.append(f"{location}: {message}")
        raise ProgramError("invalid motion program:\n  " + "\n  ".join(lines)) from None
    except OSError as error:
        raise ProgramError(f"cannot read motion program: {error}") from None


def program_json_schema() -> str:
    """The program's JSON schema (for planners and editors)."""
    return json.dumps(MotionProgram.model_json_schema(), indent=2)


def _fade_frames(before: np.ndarray, after: np.ndarray, fps: float) -> int:
    """Frames a cross-fade from local rotations ``before`` to ``after`` (float [22, 3, 3])
    needs so that no joint turns faster than :data:`BLEND_RATE_RAD_PER_S` on average."""
    relative = np.einsum("jki,jkl->jil", before, after)  # before^T @ after
    cosine = np.clip((np.trace(relative, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
    angles = np.arccos(cosine)  # [22] rad
    pelvis = JOINT_INDEX["pelvis"]
    seconds = max(
        angles[pelvis] / BLEND_RATE_RAD_PER_S["pelvis"],
        np.delete(angles, pelvis).max() / BLEND_RATE_RAD_PER_S["other"],
    )
    return max(1, math.ceil(seconds * fps))


def synthesize(
    program: MotionProgram | dict[str, Any] | str,
    fps: float = 30.0,
    rng: np.random.Generator | int | None = None,
) -> Motion:
    """Evaluate a motion program into joint positions in the world frame.

    Parameters
    ----------
    program
        A :class:`MotionProgram` (or anything :func:`parse_program` accepts).
    fps
        Output frame rate [Hz].
    rng
        Generator or seed for the style variation; ``None`` uses seed 0, so a program
        always gives the same motion unless a seed is chosen.

    Returns
    -------
    Motion
        joints float64 [T, 22, 3] [m] with ``T = round(sum(durations) * fps) + 1``.
    """
    if not isinstance(program, MotionProgram):
        program = parse_program(program)
    if not (math.isfinite(fps) and 5.0 <= fps <= 1000.0):
        raise ProgramError(f"fps={fps} outside [5, 1000] Hz")
    generator = (
        rng
        if isinstance(rng, np.random.Generator)
        else np.random.default_rng(0 if rng is None else rng)
    )
    dims = subject_dimensions(program.subject)
    style = AGE_STYLES[program.subject.age_group]
    durations = program.durations_s()
    blend_frames = max(1, round(BLEND_S * fps))
    frame_counts = [max(1, round(duration * fps)) for duration in durations]
    starts = np.concatenate([[0], np.cumsum(frame_counts)])
    total = int(starts[-1]) + 1

    rotations = np.zeros((total, 22, 3, 3))
    heading_step = np.zeros(total)  # heading change from frame g-1 to g [rad]
    root_step = np.zeros((total, 2))  # world pelvis displacement from frame g-1 to g [m]
    lift = np.zeros(total)
    previous_tail = np.zeros((0, 22, 3, 3))
    heading = program.placement.initial_heading_rad() - math.pi / 2  # body +y -> world
    for index, segment in enumerate(program.segments):
        last = index == len(program.segments) - 1
        extension = 0.0 if last else BLEND_S
        context = PrimitiveContext(
            dims,
            style,
            fps,
            float(generator.normal()),
            np.random.default_rng(generator.integers(2**63)),
        )
        primitive = get_primitive(segment.primitive)()
        track = primitive(context, segment.parameters, frame_counts[index] / fps + extension)
        start = int(starts[index])
        length = min(track.num_frames, total - start)
        frames = slice(start, start + length)
        base = heading + float(np.sum(heading_step[: start + 1]))
        local_steps = np.diff(track.root_xy_m[:length], axis=0, prepend=track.root_xy_m[:1])
        world_steps = np.einsum(
            "ij,tj->ti", heading_matrices(np.array([base]))[0, :2, :2], local_steps
        )
        turn_steps = np.diff(track.heading_rad[:length], prepend=track.heading_rad[0])
        weight = np.ones(length)
        fade = blend_frames
        if index:
            fade = max(fade, _fade_frames(previous_tail[0], track.local_rotations[0], fps))
        overlap = 0 if index == 0 else min(fade, length)
        weight[:overlap] = smoothstep(np.arange(overlap) / fade)
        rotations[frames] = track.local_rotations[:length]
        if overlap:
            # the previous segment runs on for BLEND_S, then holds its last pose
            held = np.arange(overlap).clip(max=len(previous_tail) - 1)
            blended = slice(start, start + overlap)
            rotations[blended] = nlerp_rotations(
                previous_tail[held], track.local_rotations[:overlap], weight[:overlap]
            )
        w = weight[:, None]
        root_step[frames] = (1 - w) * root_step[frames] + w * world_steps
        heading_step[frames] = (1 - weight) * heading_step[frames] + weight * turn_steps
        lift[frames] = (1 - weight) * lift[frames] + weight * track.lift_m[:length]
        # the part of this segment that runs on under the next segment's fade-in
        tail_start = frame_counts[index]
        previous_tail = track.local_rotations[tail_start : tail_start + blend_frames]

    rotations = _style_offsets(rotations, generator)
    headings = heading + np.cumsum(heading_step)
    offsets = rest_offsets_m(dims)
    joints, _ = forward_kinematics(
        offsets, rotations, np.zeros((total, 3)), heading_matrices(headings)
    )
    height = smooth_support_height_m(
        grounded_height_m(joints, ground_clearances_m(dims)), lift, fps
    )
    root_xy = np.asarray(program.placement.start_xy_m) + np.cumsum(root_step, axis=0)
    joints[..., :2] += root_xy[:, None, :]
    joints[..., 2] += height[:, None]
    if program.placement.path:
        joints = _follow_path(joints, program.placement.start_xy_m, program.placement.path)
    return Motion(joints, fps)


def smooth_support_height_m(grounded_m: np.ndarray, lift_m: np.ndarray, fps: float) -> np.ndarray:
    """Pelvis height: a smooth upper envelope of the grounded height plus the lift.

    The grounded height has kinks where the supporting joint changes (heel to toe, one
    foot to the other), which would mean accelerations of several g. A running maximum over
    :data:`SUPPORT_WINDOW_S` followed by Gaussian smoothing removes them; the final maximum
    with the grounded height keeps every joint at or above the floor.

    Returns
    -------
    np.ndarray
        float64 [T] pelvis height [m].
    """
    target = grounded_m + lift_m
    window = max(1, round(SUPPORT_WINDOW_S * fps)) | 1
    envelope = maximum_filter1d(target, window, mode="nearest")
    smooth = gaussian_filter1d(envelope, SUPPORT_WINDOW_S * fps / 3.0, mode="nearest")
    return np.maximum(smooth, grounded_m)


def _style_offsets(rotations: np.ndarray, generator: np.random.Generator) -> np.ndarray:
    """Apply small constant posture offsets (one take's style) to trunk, head and shoulders."""
    styled = rotations.copy()
    for joint in ("spine2", "neck", "left_collar", "right_collar"):
        angles = generator.normal(0.0, STYLE_JITTER_RAD, 3)
        offset = euler_matrices(
            np.array([angles[0]]), np.array([angles[1]]), np.array([angles[2]])
        )[0]
        styled[:, JOINT_INDEX[joint]] = offset @ styled[:, JOINT_INDEX[joint]]
    return styled


def _follow_path(
    joints: np.ndarray,
    start_xy: tuple[float, float],
    waypoints: list[tuple[float, float]],
    resolution_m: float = 0.01,
    corner_m: float = 0.25,
) -> np.ndarray:
    """Bend the pelvis trajectory onto a waypoint polyline, turning the body with it.

    The distance the pelvis travels is mapped to arc length along the polyline, whose
    direction is smoothed over ``corner_m`` (Gaussian sigma) so corners are rounded.
    """
    pelvis = joints[:, JOINT_INDEX["pelvis"], :2]
    steps = np.diff(pelvis, axis=0)
    step_length = np.linalg.norm(steps, axis=1)
    travelled = np.concatenate([[0.0], np.cumsum(step_length)])
    points = np.vstack([start_xy, np.asarray(waypoints, dtype=np.float64)])
    legs = np.diff(points, axis=0)
    leg_length = np.linalg.norm(legs, axis=1)
    if np.any(leg_length < 1e-6):
        raise ProgramError("placement.path has repeated consecutive waypoints")
    arc = np.arange(0.0, max(travelled[-1], leg_length.sum()) + resolution_m, resolution_m)
    leg_of_arc = np.minimum(
        np.searchsorted(np.cumsum(leg_length), arc, side="right"), len(legs) - 1
    )
    angle = np.unwrap(np.arctan2(legs[leg_of_arc, 1], legs[leg_of_arc, 0]))
    angle = gaussian_filter1d(angle, corner_m / resolution_m, mode="nearest")
    curve = np.asarray(start_xy) + np.concatenate(
        [
            [[0.0, 0.0]],
            np.cumsum(resolution_m * np.stack([np.cos(angle), np.sin(angle)], 1), 0)[:-1],
        ]
    )
    target_xy = np.stack([np.interp(travelled, arc, curve[:, i]) for i in (0, 1)], axis=1)
    target_angle = np.interp(travelled, arc, angle)
    # direction the motion itself travels, held through pauses
    own = np.arctan2(steps[:, 1], steps[:, 0])
    moving = step_length > 1e-4
    if not np.any(moving):
        return joints
    own_full = np.interp(
        np.arange(len(travelled)), np.flatnonzero(moving) + 0.5, np.unwrap(own[moving])
    )
    turn = target_angle - own_full
    rotation = heading_matrices(turn)[:, :2, :2]
    relative = joints[..., :2] - pelvis[:, None, :]
    moved = joints.copy()
    moved[..., :2] = np.einsum("tij,tkj->tki", rotation, relative) + target_xy[:, None, :]
    return moved
