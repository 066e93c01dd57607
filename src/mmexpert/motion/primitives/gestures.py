"""Arm gestures: waving, raising hands, clapping, gestures at the radar (swipe left / right,
push, pull, knock, circle), drinking, phone to the ear.

Hands follow wrist targets through two-bone IK (:meth:`PoseBuilder.reach`); targets are
relative to the shoulder in the chest frame (x right, y forward toward the radar when the
person faces it, z up) and scale with the arm length ``A``. Each gesture eases in from
and out to the relaxed hanging arm over 0.4 s.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mmexpert.motion.kinematics import forward_kinematics, smoothstep
from mmexpert.motion.primitives.base import (
    PoseBuilder,
    Primitive,
    PrimitiveContext,
    breathing,
    choice_param,
    ease_in_out,
    float_param,
    hand_choice,
    hands_of,
    int_param,
    repetition_phase,
)
from mmexpert.motion.skeleton import JOINT_INDEX, SubjectDimensions, rest_offsets_m


def arm_reach_m(dims: SubjectDimensions) -> float:
    """Shoulder-to-wrist length A [m]."""
    return dims.upper_arm_m + dims.forearm_m


def outward(side: str) -> float:
    """+1 for the right side (outward = +x), -1 for the left."""
    return 1.0 if side == "right" else -1.0


def rest_target(dims: SubjectDimensions, side: str) -> np.ndarray:
    """Relaxed hanging wrist relative to its shoulder [m] (elbow slightly bent)."""
    reach = arm_reach_m(dims)
    return np.array([outward(side) * 0.04 * reach, 0.06 * reach, -0.96 * reach])


def rest_pole(side: str) -> np.ndarray:
    """Elbow direction of a relaxed arm: backward and a little outward."""
    return np.array([outward(side) * 0.3, -1.0, -0.2])


def landmark_from_shoulder(dims: SubjectDimensions, side: str, landmark: str) -> np.ndarray:
    """A face landmark ("mouth", "ear") relative to a shoulder in the rest pose [m]."""
    offsets = rest_offsets_m(dims)
    positions, _ = forward_kinematics(offsets, np.tile(np.eye(3), (1, 22, 1, 1)), np.zeros((1, 3)))
    head = positions[0, JOINT_INDEX["head"]]
    shoulder = positions[0, JOINT_INDEX[f"{side}_shoulder"]]
    h = dims.height_m
    if landmark == "mouth":
        point = head + np.array([0.0, 0.055 * h, -0.02 * h])
    else:
        point = head + np.array([outward(side) * 0.045 * h, 0.0, 0.0])
    return point - shoulder


def _slerp(first: np.ndarray, second: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Spherical interpolation of unit vectors [T, 3] with weights [T, 1]."""
    cos = np.clip(np.sum(first * second, axis=-1, keepdims=True), -1.0, 1.0)
    angle = np.arccos(cos)
    small = angle < 1e-6
    sin = np.where(small, 1.0, np.sin(angle))
    a = np.where(small, 1.0 - weight, np.sin((1.0 - weight) * angle) / sin)
    b = np.where(small, weight, np.sin(weight * angle) / sin)
    return a * first + b * second


def arm_path(start: np.ndarray, end: np.ndarray, weight: np.ndarray, side: str) -> np.ndarray:
    """Wrist path from ``start`` to ``end`` (relative to the shoulder, [T, 3] or [3], m).

    A straight blend can pass right by the shoulder (hanging hand to raised hand), where the
    two-bone IK must fold the arm and whip the elbow round at several m/s. Instead the
    direction follows a spherical Bezier through a point in front of and beside the body,
    and the distance from the shoulder changes linearly, as a real arm swings.

    Parameters
    ----------
    weight : float [T] or [T, 1]
        0 at ``start``, 1 at ``end``.
    """
    w = np.asarray(weight, dtype=np.float64).reshape(-1, 1)
    start = np.broadcast_to(np.asarray(start, dtype=np.float64), (len(w), 3))
    end = np.broadcast_to(np.asarray(end, dtype=np.float64), (len(w), 3))
    r0 = np.linalg.norm(start, axis=-1, keepdims=True)
    r1 = np.linalg.norm(end, axis=-1, keepdims=True)
    u0, u1 = start / np.maximum(r0, 1e-9), end / np.maximum(r1, 1e-9)
    front = np.array([outward(side) * 0.4, 1.0, 0.0]) / math.hypot(0.4, 1.0)
    via = u0 + u1 + front
    via /= np.linalg.norm(via, axis=-1, keepdims=True)
    direction = _slerp(_slerp(u0, via, w), _slerp(via, u1, w), w)
    return direction * ((1.0 - w) * r0 + w * r1)


GESTURE_RAMP_S = 0.7
"""Time to raise the hand from rest into a gesture and to lower it again [s]."""


def gesture(
    pose: PoseBuilder,
    context: PrimitiveContext,
    side: str,
    target: np.ndarray,
    pole: Any,
    duration_s: float,
    ramp_s: float = GESTURE_RAMP_S,
) -> None:
    """Ease a wrist from rest to a [T, 3] target path (and back at the end)."""
    weight = ease_in_out(pose.times_s, duration_s, ramp_s)[:, None]
    blended = arm_path(rest_target(context.dims, side), target, weight, side)
    pole_path = (1 - weight) * rest_pole(side) + weight * np.asarray(pole, dtype=np.float64)
    pose.reach(side, blended, pole_path)


def idle_other_arms(pose: PoseBuilder, context: PrimitiveContext, active: tuple[str, ...]) -> None:
    """Relaxed hanging pose for the arms that do not gesture, plus quiet breathing."""
    for side in ("left", "right"):
        if side not in active:
            pose.arm(side, shoulder_abd=0.08, elbow_flex=0.25)
    breathing(pose, context)


class Wave(Primitive):
    """Wave a raised hand side to side (one hand or both)."""

    name = "wave"
    description = "wave hello / goodbye with one or both hands"
    parameters = (
        hand_choice("right"),
        float_param("tempo_hz", 2.0, 0.5, 4.0, "Hz", "waves per second"),
        float_param("amplitude_m", 0.12, 0.03, 0.3, "m", "side-to-side hand travel (half)"),
    )
    default_duration_s = 3.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        hands = hands_of(parameters["hand"])
        reach = arm_reach_m(context.dims)
        rate = parameters["tempo_hz"] * context.style.tempo_scale
        rom = context.style.range_of_motion
        swing = parameters["amplitude_m"] * rom * np.sin(2 * np.pi * rate * pose.times_s)
        idle_other_arms(pose, context, hands)
        for side in hands:
            target = np.stack(
                [
                    outward(side) * (0.25 * reach + swing),
                    0.2 * reach + 0.0 * swing,
                    (0.25 + 0.25 * rom) * reach + 0.0 * swing,
                ],
                axis=-1,
            )
            gesture(pose, context, side, target, (outward(side) * 0.6, -0.2, -1.0), duration_s)


class RaiseHands(Primitive):
    """Raise one or both hands overhead and lower them again."""

    seconds_per_repetition = 0.8

    name = "raise_hands"
    description = "raise the hands above the head"
    parameters = (hand_choice("both"), int_param("repetitions", 1, 1, 8, "raises"))
    default_duration_s = 3.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        hands = hands_of(parameters["hand"])
        reach = arm_reach_m(context.dims)
        phase = repetition_phase(pose.times_s, duration_s, parameters["repetitions"])
        up = (0.5 * (1 - np.cos(2 * np.pi * phase)))[:, None]
        idle_other_arms(pose, context, hands)
        for side in hands:
            high = np.array(
                [
                    outward(side) * 0.12 * reach,
                    0.08 * reach,
                    0.97 * reach * context.style.range_of_motion,
                ]
            )
            target = arm_path(rest_target(context.dims, side), high, up, side)
            pole = (1 - up) * rest_pole(side) + up * np.array([outward(side), 0.0, 0.0])
            pose.reach(side, target, pole)


class Clap(Primitive):
    """Clap the hands in front of the chest."""

    name = "clap"
    description = "clap hands"
    parameters = (float_param("tempo_hz", 2.5, 0.5, 5.0, "Hz", "claps per second"),)
    default_duration_s = 3.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        reach = arm_reach_m(context.dims)
        half_span = context.dims.collar_lateral_m + context.dims.shoulder_lateral_m
        rate = parameters["tempo_hz"] * context.style.tempo_scale
        # wrists 6 cm apart at contact (palms touch), 35 cm apart when open
        gap = 0.06 + 0.29 * 0.5 * (1 - np.cos(2 * np.pi * rate * pose.times_s + np.pi))
        breathing(pose, context)
        for side in ("left", "right"):
            target = np.stack(
                [
                    outward(side) * (-half_span + 0.5 * gap),
                    0.45 * reach + 0.0 * gap,
                    -0.3 * reach + 0.0 * gap,
                ],
                axis=-1,
            )
            gesture(pose, context, side, target, (outward(side), -0.3, -1.0), duration_s)


class _HandPath(Primitive):
    """A one-handed gesture whose wrist path repeats ``repetitions`` times."""

    seconds_per_repetition = 0.5
    overhead_s = 1.12  # 1.6 x the 0.7 s ramp

    default_duration_s = 3.0
    parameters = (
        choice_param("hand", "right", ("left", "right"), "gesturing hand"),
        int_param("repetitions", 2, 1, 10, "number of gestures"),
    )

    def _path(self, cycle: np.ndarray, side: str, reach: float, rom: float) -> np.ndarray:
        raise NotImplementedError

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        side = parameters["hand"]
        reach = arm_reach_m(context.dims)
        # the hand rises during the ease-in, gestures in between, lowers in the ease-out
        ramp = min(GESTURE_RAMP_S, 0.5 * duration_s)
        active = np.clip((pose.times_s - 0.8 * ramp) / max(duration_s - 1.6 * ramp, 1e-6), 0, 1)
        cycle = active * parameters["repetitions"]
        target = self._path(
            cycle % 1.0 + (cycle >= parameters["repetitions"]),
            side,
            reach,
            context.style.range_of_motion,
        )
        idle_other_arms(pose, context, (side,))
        gesture(pose, context, side, target, (outward(side) * 0.8, -0.3, -1.0), duration_s)


def _stroke(cycle: np.ndarray, fast_fraction: float) -> np.ndarray:
    """0 -> 1 quickly over ``fast_fraction`` of a cycle, then back to 0 slowly (C1)."""
    cycle = np.clip(cycle, 0.0, 1.0)
    out = smoothstep(cycle / fast_fraction)
    back = smoothstep((cycle - fast_fraction) / (1 - fast_fraction))
    return out * (1 - back)


class SwipeLeft(_HandPath):
    """Swipe the hand from right to left in front of the body, toward the radar."""

    name = "swipe_left"
    description = "hand swipe from right to left in front of the radar"
    _sign = -1.0

    def _path(self, cycle: np.ndarray, side: str, reach: float, rom: float) -> np.ndarray:
        stroke = _stroke(cycle, 0.4)
        returning = (cycle % 1.0) > 0.4
        centre = -outward(side) * 0.3 * reach  # in front of the body's midline
        x = centre - self._sign * 0.45 * reach * rom * (0.5 - stroke)
        y = 0.6 * reach - 0.12 * reach * returning * np.sin(np.pi * stroke)
        z = -0.12 * reach + 0.0 * x
        return np.stack([x, y, z], axis=-1)


class SwipeRight(SwipeLeft):
    """Swipe the hand from left to right in front of the body."""

    name = "swipe_right"
    description = "hand swipe from left to right in front of the radar"
    _sign = 1.0


class Push(_HandPath):
    """Push the open hand toward the radar and bring it back."""

    name = "push"
    description = "push gesture toward the radar"

    def _path(self, cycle: np.ndarray, side: str, reach: float, rom: float) -> np.ndarray:
        stroke = _stroke(cycle, 0.35)
        y = (0.3 + 0.55 * rom * stroke) * reach
        return np.stack([-outward(side) * 0.15 * reach + 0 * y, y, -0.1 * reach + 0 * y], axis=-1)


class Pull(_HandPath):
    """Reach toward the radar and pull the hand back quickly."""

    name = "pull"
    description = "pull gesture away from the radar"

    def _path(self, cycle: np.ndarray, side: str, reach: float, rom: float) -> np.ndarray:
        y = (0.3 + 0.55 * rom * _stroke(cycle, 0.6)) * reach  # slow reach out, quick pull in
        return np.stack([-outward(side) * 0.15 * reach + 0 * y, y, -0.1 * reach + 0 * y], axis=-1)


class Knock(_HandPath):
    """Knock three times on an imaginary door in front of the radar."""

    name = "knock"
    description = "knocking gesture"
    parameters = (
        choice_param("hand", "right", ("left", "right"), "knocking hand"),
        int_param("repetitions", 1, 1, 6, "series of three knocks"),
    )

    def _path(self, cycle: np.ndarray, side: str, reach: float, rom: float) -> np.ndarray:
        # three taps of 5 cm in the middle 60 % of each series
        inner = np.clip((cycle - 0.2) / 0.6, 0, 1)
        taps = 0.5 * (1 - np.cos(2 * np.pi * 3 * inner))
        y = (0.6 + 0.09 * taps) * reach
        return np.stack([-outward(side) * 0.1 * reach + 0 * y, y, 0.05 * reach + 0 * y], axis=-1)


class CircleGesture(_HandPath):
    """Draw a circle in the air in front of the radar (rotate gesture)."""

    name = "circle_gesture"
    description = "draw a circle with the hand (rotate gesture)"
    parameters = (
        choice_param("hand", "right", ("left", "right"), "drawing hand"),
        int_param("repetitions", 2, 1, 10, "circles"),
        choice_param(
            "direction", "clockwise", ("clockwise", "counterclockwise"), "as the radar sees it"
        ),
    )

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        self._sense = 1.0 if parameters["direction"] == "clockwise" else -1.0
        super()._generate(
            pose, context, {k: parameters[k] for k in ("hand", "repetitions")}, duration_s
        )

    def _path(self, cycle: np.ndarray, side: str, reach: float, rom: float) -> np.ndarray:
        angle = 2 * np.pi * cycle
        radius = 0.22 * reach * rom
        # the radar faces the person, so its clockwise is the person's counter-clockwise
        x = -outward(side) * 0.15 * reach - self._sense * radius * np.sin(angle)
        z = -0.05 * reach + radius * np.cos(angle) - radius
        return np.stack([x, 0.6 * reach + 0 * x, z], axis=-1)


class Drink(Primitive):
    """Bring a cup to the mouth, sip with the head tilted back, lower it."""

    seconds_per_repetition = 1.5

    name = "drink"
    description = "drink from a cup or bottle"
    parameters = (
        choice_param("hand", "right", ("left", "right"), "hand holding the cup"),
        int_param("repetitions", 1, 1, 4, "sips"),
    )
    default_duration_s = 4.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        side = parameters["hand"]
        reach = arm_reach_m(context.dims)
        mouth = landmark_from_shoulder(context.dims, side, "mouth")
        low = np.array([-outward(side) * 0.1 * reach, 0.4 * reach, -0.55 * reach])
        cup = mouth + np.array([0.0, 0.05, -0.07])
        phase = repetition_phase(pose.times_s, duration_s, parameters["repetitions"])
        up = smoothstep(np.sin(np.pi * (phase % 1.0)) * 1.6 - 0.3)[:, None]
        pose.head(flex=-0.35 * up[:, 0])
        idle_other_arms(pose, context, (side,))
        target = (1 - up) * low + up * cup
        gesture(pose, context, side, target, (outward(side) * 0.5, 0.1, -1.0), duration_s, 1.0)


class PhoneToEar(Primitive):
    """Raise a phone to the ear and hold it there (a call)."""

    name = "phone_to_ear"
    description = "hold a phone to the ear"
    parameters = (choice_param("hand", "right", ("left", "right"), "hand holding the phone"),)
    default_duration_s = 4.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        side = parameters["hand"]
        ear = landmark_from_shoulder(context.dims, side, "ear")
        target = ear + np.array([outward(side) * 0.03, 0.04, -0.10])
        target = np.broadcast_to(target, (pose.num_frames, 3))
        pose.head(tilt=-outward(side) * 0.1 * ease_in_out(pose.times_s, duration_s, 0.8))
        idle_other_arms(pose, context, (side,))
        gesture(pose, context, side, target, (outward(side) * 0.6, 0.4, -1.0), duration_s, 1.0)
