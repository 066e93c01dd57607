"""Posture primitives: standing with breathing, bending to pick up, sitting down, standing up,
lying down, falling (forward, backward, sideways), getting up from the floor.

Transitions are keyframed joint-angle channels interpolated with PCHIP (C1, no
overshoot). The pelvis height comes from grounding (the lowest body point touches the
floor), the pelvis path from keeping the supporting foot still, so a fall pivots about
the feet. Falls accelerate like a toppling body (angle ~ t^2) and stop at the impact,
which lasts 0.6-1.0 s for an adult (fall studies report 0.5-1.5 s).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mmexpert.motion.primitives.base import (
    PoseBuilder,
    Primitive,
    PrimitiveContext,
    apply_channels,
    breathing,
    choice_param,
    float_param,
    keyframes,
    plant,
    relaxed_arms,
)

HALF_PI = 0.5 * np.pi


def _keyed(
    pose: PoseBuilder,
    context: PrimitiveContext,
    fractions: list[float],
    keys: list[dict[str, float]],
    duration_s: float,
    rom: float | None = None,
) -> None:
    """Apply keyframes given at fractions of the duration, then plant the feet."""
    times = [f * duration_s for f in fractions]
    scale = context.style.range_of_motion if rom is None else rom
    apply_channels(pose, keyframes(pose.times_s, times, keys), scale)
    plant(pose, context)


STANDING: dict[str, float] = {"shoulder_abd": 0.08, "elbow_flex": 0.25}
SEATED: dict[str, float] = {
    "hip_flex": 1.5,
    "knee_flex": 1.55,
    "ankle": 0.05,
    "shoulder_flex": 0.3,
    "elbow_flex": 0.9,
    "shoulder_abd": 0.08,
}
LYING_BACK: dict[str, float] = {
    "pelvis_pitch_back": HALF_PI,
    "shoulder_abd": 0.2,
    "elbow_flex": 0.2,
    "head_flex": 0.15,
    "ankle": -0.4,
}
SITTING_FLOOR: dict[str, float] = {
    "hip_flex": 1.45,
    "knee_flex": 0.5,
    "trunk_flex": 0.1,
    "shoulder_flex": -0.35,
    "shoulder_abd": 0.25,
    "elbow_flex": 0.1,
}
CROUCH: dict[str, float] = {
    "hip_flex": 1.9,
    "knee_flex": 2.2,
    "ankle": 0.5,
    "trunk_flex": 0.5,
    "shoulder_flex": 0.6,
    "elbow_flex": 0.5,
}


class StandStill(Primitive):
    """Quiet standing: breathing moves the chest a few millimetres, slight postural sway."""

    name = "stand"
    description = "stand still, breathing quietly"
    parameters = (float_param("breathing_rate_hz", 0.25, 0.1, 0.6, "Hz", "breaths per second"),)
    default_duration_s = 4.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        relaxed_arms(pose)
        breathing(pose, context, parameters["breathing_rate_hz"])


class BendPickUp(Primitive):
    """Bend down, reach to the floor with one hand and straighten up."""

    name = "bend_pick_up"
    description = "bend down to pick something up from the floor and stand up again"
    parameters = (
        choice_param("hand", "right", ("left", "right", "both"), "hand that picks up"),
        choice_param("style", "stoop", ("stoop", "squat"), "bend the back or the knees"),
    )
    default_duration_s = 3.5

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        if parameters["style"] == "stoop":
            low = {"trunk_flex": 1.25, "hip_flex": 0.45, "knee_flex": 0.35, "head_flex": -0.3}
        else:
            low = {"trunk_flex": 0.6, "hip_flex": 1.6, "knee_flex": 2.0, "ankle": 0.5}
        reach = {"shoulder_flex": 0.45, "elbow_flex": 0.15}
        low = dict(low)
        for side in ("l", "r"):
            if parameters["hand"] in ("both", "left" if side == "l" else "right"):
                low.update({f"{side}_{k}": v for k, v in reach.items()})
            else:
                low.update({f"{side}_shoulder_flex": 0.2, f"{side}_elbow_flex": 0.6})
        _keyed(pose, context, [0.0, 0.4, 0.6, 1.0], [STANDING, low, low, STANDING], duration_s)


class SitDown(Primitive):
    """Sit down on a chair (seat at knee height) and stay seated."""

    name = "sit_down"
    description = "sit down on a chair"
    parameters = (float_param("lean", 0.6, 0.2, 1.0, "rad", "forward trunk lean while lowering"),)
    default_duration_s = 2.5

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        mid = {
            "hip_flex": 1.0,
            "knee_flex": 1.1,
            "ankle": 0.25,
            "trunk_flex": parameters["lean"],
            "shoulder_flex": 0.4,
            "elbow_flex": 0.5,
        }
        _keyed(
            pose,
            context,
            [0.0, 0.15, 0.55, 0.85],
            [STANDING, STANDING, mid, SEATED],
            duration_s,
            rom=1.0,
        )


class StandUp(Primitive):
    """Stand up from a chair."""

    name = "stand_up"
    description = "stand up from a seated position"
    parameters = (float_param("lean", 0.7, 0.2, 1.0, "rad", "forward trunk lean to rise"),)
    default_duration_s = 2.5

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        mid = {
            "hip_flex": 1.2,
            "knee_flex": 1.3,
            "ankle": 0.3,
            "trunk_flex": parameters["lean"],
            "shoulder_flex": 0.5,
            "elbow_flex": 0.5,
        }
        _keyed(
            pose,
            context,
            [0.0, 0.15, 0.45, 0.9],
            [SEATED, SEATED, mid, STANDING],
            duration_s,
            rom=1.0,
        )


class LieDown(Primitive):
    """Lie down on the back: crouch, sit on the floor, roll back."""

    name = "lie_down"
    description = "lie down on the floor on the back"
    parameters = ()
    default_duration_s = 4.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        _keyed(
            pose,
            context,
            [0.0, 0.3, 0.6, 0.95],
            [STANDING, CROUCH, SITTING_FLOOR, LYING_BACK],
            duration_s,
            rom=1.0,
        )


class GetUp(Primitive):
    """Get up from lying on the back: sit up, crouch, stand."""

    name = "get_up"
    description = "get up from the floor"
    parameters = ()
    default_duration_s = 4.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        _keyed(
            pose,
            context,
            [0.0, 0.3, 0.65, 0.95],
            [LYING_BACK, SITTING_FLOOR, CROUCH, STANDING],
            duration_s,
            rom=1.0,
        )


class _Fall(Primitive):
    """Shared timing of the falls: a stumble, a toppling phase (angle ~ t^2), impact, rest."""

    default_duration_s = 3.0
    parameters = (
        float_param("fall_time_s", 0.8, 0.5, 1.5, "s", "from losing balance to the impact"),
        float_param("onset_s", 0.4, 0.0, 2.0, "s", "standing time before losing balance"),
    )
    min_duration_s = 1.0

    def _final(self, parameters: dict[str, Any]) -> dict[str, float]:
        raise NotImplementedError

    def _buckle(self, parameters: dict[str, Any]) -> dict[str, float]:
        return {"knee_flex": 0.4, "hip_flex": 0.3}

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        onset = min(parameters["onset_s"], 0.4 * duration_s)
        fall = min(parameters["fall_time_s"], duration_s - onset)
        t = pose.times_s
        progress = np.clip((t - onset) / fall, 0.0, 1.0)
        topple = progress**2  # gravity: angle grows ~ t^2 until the impact
        final = self._final(parameters)
        buckle = self._buckle(parameters)
        bend = np.sin(np.pi * progress)  # limbs buckle mid-fall then settle
        channels = {name: 0.0 * t for name in _CHANNEL_ZERO}
        for name, value in STANDING.items():
            for side in ("l_", "r_"):
                channels[side + name] = value + 0.0 * t
        for name, value in final.items():
            key = name if name in channels else None
            targets = [key] if key else [f"l_{name}", f"r_{name}"]
            for target in targets:
                channels[target] = channels[target] * (1 - topple) + value * topple
        for name, value in buckle.items():
            for target in [name] if name in channels else [f"l_{name}", f"r_{name}"]:
                channels[target] = channels[target] + value * bend
        apply_channels(pose, channels, 1.0)
        plant(pose, context)


_CHANNEL_ZERO = (
    "pelvis_pitch_back", "pelvis_roll_left", "pelvis_yaw_left", "trunk_flex", "trunk_lateral",
    "trunk_twist", "head_flex", "l_hip_flex", "l_hip_abd", "l_knee_flex", "l_ankle", "r_hip_flex",
    "r_hip_abd", "r_knee_flex", "r_ankle", "l_shoulder_flex", "l_shoulder_abd", "l_elbow_flex",
    "l_arm_twist", "r_shoulder_flex", "r_shoulder_abd", "r_elbow_flex", "r_arm_twist",
)  # fmt: skip


class FallForward(_Fall):
    """Fall forward onto the front, arms reaching out to break the fall."""

    name = "fall_forward"
    description = "fall forward to the floor"

    def _final(self, parameters: dict[str, Any]) -> dict[str, float]:
        return {
            "pelvis_pitch_back": -HALF_PI,
            "shoulder_flex": 2.6,
            "elbow_flex": 0.4,
            "head_flex": -0.4,
            "ankle": -0.9,
        }


class FallBackward(_Fall):
    """Fall backward: the knees give way, the body lands on the back."""

    name = "fall_backward"
    description = "fall backward to the floor"

    def _buckle(self, parameters: dict[str, Any]) -> dict[str, float]:
        return {"knee_flex": 0.9, "hip_flex": 0.8, "shoulder_flex": 0.6}

    def _final(self, parameters: dict[str, Any]) -> dict[str, float]:
        return {
            "pelvis_pitch_back": HALF_PI,
            "shoulder_abd": 0.6,
            "elbow_flex": 0.3,
            "head_flex": 0.3,
            "hip_flex": 0.2,
            "knee_flex": 0.3,
        }


class FallSideways(_Fall):
    """Fall to one side and land on the hip and shoulder."""

    name = "fall_sideways"
    description = "fall sideways to the floor"
    parameters = (
        *_Fall.parameters,
        choice_param("direction", "left", ("left", "right"), "side the person falls to"),
    )

    def _final(self, parameters: dict[str, Any]) -> dict[str, float]:
        sign = 1.0 if parameters["direction"] == "left" else -1.0
        near = "l" if sign > 0 else "r"
        return {
            "pelvis_roll_left": sign * HALF_PI,
            "hip_flex": 0.3,
            "knee_flex": 0.4,
            f"{near}_shoulder_flex": 1.2,
            "trunk_lateral": -0.2 * sign,
        }
