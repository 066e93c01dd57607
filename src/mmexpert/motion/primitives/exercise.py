"""Exercise primitives: vertical and forward jumps, rebound hops, jumping jacks, squats,
lunges, arm circles, stretching.

Jump height sets the flight time ``2 sqrt(2 h / g)``; the flight is a smooth lift of the
pelvis over a take-off crouch and a landing crouch. Repetitive exercises spread their
repetitions over the segment duration; elders get a smaller range of motion and lower
jumps through the subject style.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mmexpert.motion.kinematics import smoothstep
from mmexpert.motion.primitives.base import (
    GRAVITY_MPS2,
    PoseBuilder,
    Primitive,
    PrimitiveContext,
    apply_channels,
    choice_param,
    float_param,
    int_param,
    keyframes,
    plant,
    repetition_phase,
)
from mmexpert.motion.primitives.posture import STANDING


def _jumps(
    pose: PoseBuilder,
    context: PrimitiveContext,
    height_m: float,
    repetitions: int,
    duration_s: float,
    forward_m: float = 0.0,
) -> None:
    """Countermovement jumps: crouch, take off, fly, land, recover; optional forward travel."""
    slot = duration_s / repetitions
    # flight time 2 sqrt(2 h / g), at most 40 % of each jump's slot
    flight = min(
        2.0 * np.sqrt(2.0 * height_m * context.style.explosiveness / GRAVITY_MPS2), 0.4 * slot
    )
    height = GRAVITY_MPS2 * flight**2 / 8.0
    crouch = {
        "hip_flex": 0.9,
        "knee_flex": 1.2,
        "ankle": 0.4,
        "trunk_flex": 0.45,
        "shoulder_flex": -0.5,
        "elbow_flex": 0.3,
    }
    air = {
        "hip_flex": 0.1,
        "knee_flex": 0.15,
        "ankle": -0.5,
        "shoulder_flex": 1.4,
        "elbow_flex": 0.2,
    }
    land = {
        "hip_flex": 0.7,
        "knee_flex": 0.9,
        "ankle": 0.35,
        "trunk_flex": 0.35,
        "shoulder_flex": 0.6,
        "elbow_flex": 0.4,
    }
    take_off = 0.4 * slot
    key_times, keys = [], []
    for rep in range(repetitions):
        start = rep * slot
        key_times += [
            start,
            start + 0.15 * slot,
            start + take_off,
            start + take_off + 0.5 * flight,
            start + take_off + flight + 0.05 * slot,
            start + 0.95 * slot,
        ]
        keys += [STANDING, crouch, air, air, land, STANDING]
    apply_channels(pose, keyframes(pose.times_s, key_times, keys), context.style.range_of_motion)
    t = pose.times_s
    for rep in range(repetitions):
        airborne = (t - rep * slot - take_off) / flight
        inside = (airborne > 0) & (airborne < 1)
        # ballistic arc 4 h x (1 - x), softened at take-off and landing by the crouches
        pose.lift_m[inside] += 4.0 * height * airborne[inside] * (1 - airborne[inside])
        pose.root_xy_m[:, 1] += forward_m * smoothstep(airborne)


class JumpVertical(Primitive):
    """Jump straight up (countermovement jump), repeated."""

    seconds_per_repetition = 1.1

    name = "jump_vertical"
    description = "jump up in place"
    parameters = (
        float_param("height_m", 0.25, 0.05, 0.6, "m", "pelvis rise during flight"),
        int_param("repetitions", 2, 1, 10, "number of jumps"),
    )
    default_duration_s = 3.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        _jumps(pose, context, parameters["height_m"], parameters["repetitions"], duration_s)


class JumpForward(Primitive):
    """Standing broad jump forward."""

    seconds_per_repetition = 1.2

    name = "jump_forward"
    description = "jump forward with both feet"
    parameters = (
        float_param("distance_m", 0.8, 0.2, 2.0, "m", "horizontal distance per jump"),
        float_param("height_m", 0.2, 0.05, 0.5, "m", "pelvis rise during flight"),
        int_param("repetitions", 1, 1, 6, "number of jumps"),
    )
    default_duration_s = 2.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        distance = parameters["distance_m"] * context.style.explosiveness
        _jumps(
            pose,
            context,
            parameters["height_m"],
            parameters["repetitions"],
            duration_s,
            forward_m=distance,
        )


class HopInPlace(Primitive):
    """Rebound hops in place: continuous low jumps off the balls of the feet, knees soft,
    arms bent at the sides (jump-rope style), unlike the single countermovement jump."""

    name = "hop_in_place"
    description = "hop up and down in place"
    parameters = (
        float_param("tempo_hz", 1.8, 1.0, 3.0, "Hz", "hops per second"),
        float_param("height_m", 0.1, 0.03, 0.3, "m", "pelvis rise during flight"),
    )
    default_duration_s = 4.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        period = 1.0 / (parameters["tempo_hz"] * context.style.tempo_scale)
        # flight 2 sqrt(2 h / g), at most 60 % of a hop: the rest is ground contact
        flight = min(
            2.0
            * np.sqrt(2.0 * parameters["height_m"] * context.style.explosiveness / GRAVITY_MPS2),
            0.6 * period,
        )
        height = GRAVITY_MPS2 * flight**2 / 8.0
        phase = np.mod(pose.times_s, period)
        airborne = phase / flight  # 0..1 in the air, > 1 on the ground
        in_air = airborne < 1.0
        contact = np.clip((phase - flight) / max(period - flight, 1e-9), 0.0, 1.0)
        absorb = np.where(in_air, 0.0, np.sin(np.pi * contact))  # knees give on landing
        rom = context.style.range_of_motion
        knee = rom * (0.1 + 0.45 * absorb)
        for side in ("left", "right"):
            pose.leg(
                side,
                hip_flex=0.6 * knee,
                knee_flex=knee,
                ankle_dorsi=np.where(in_air, -0.35, 0.3 * knee),
            )
            pose.arm(side, shoulder_flex=0.25 + 0.15 * absorb, elbow_flex=1.2, shoulder_abd=0.15)
        pose.trunk(flex=0.1 + 0.15 * absorb)
        pose.lift_m[:] = np.where(in_air, 4.0 * height * airborne * (1 - airborne), 0.0)


class JumpingJacks(Primitive):
    """Jumping jacks: hop the feet apart while the arms swing overhead, and back."""

    name = "jumping_jacks"
    description = "jumping jacks"
    parameters = (
        float_param("tempo_hz", 1.0, 0.4, 2.0, "Hz", "jacks per second"),
        float_param("amplitude", 1.0, 0.3, 1.0, "", "arm and leg spread (1 = full)"),
        float_param("hop_m", 0.06, 0.02, 0.15, "m", "pelvis rise of each hop"),
    )
    default_duration_s = 4.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        rate = parameters["tempo_hz"] * context.style.tempo_scale
        rom = parameters["amplitude"] * context.style.range_of_motion
        open_ = 0.5 * (1 - np.cos(2 * np.pi * rate * pose.times_s))
        for side in ("left", "right"):
            pose.leg(side, hip_abd=0.03 + 0.28 * rom * open_, knee_flex=0.15 + 0.1 * open_)
            pose.arm(side, shoulder_abd=0.15 + 2.75 * rom * open_, elbow_flex=0.2)
        # two hops per jack (feet out, feet in): the body leaves the ground twice a cycle
        hop = parameters["hop_m"] * context.style.explosiveness
        pose.lift_m[:] = hop * np.sin(2 * np.pi * rate * pose.times_s) ** 2


class Squat(Primitive):
    """Body-weight squats, arms forward for balance."""

    seconds_per_repetition = 1.2

    name = "squat"
    description = "squats"
    parameters = (
        int_param("repetitions", 3, 1, 20, "number of squats"),
        float_param("depth", 0.8, 0.2, 1.0, "", "1 = thighs horizontal or deeper"),
    )
    default_duration_s = 6.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        depth = parameters["depth"] * context.style.range_of_motion
        phase = repetition_phase(pose.times_s, duration_s, parameters["repetitions"])
        down = 0.5 * (1 - np.cos(2 * np.pi * phase))
        knee = 2.0 * depth * down
        for side in ("left", "right"):
            pose.leg(
                side, hip_flex=0.85 * knee, knee_flex=knee, ankle_dorsi=0.35 * knee, hip_abd=0.12
            )
            pose.arm(side, shoulder_flex=1.45 * down, elbow_flex=0.2 + 0.1 * down)
        pose.trunk(flex=0.35 * knee)
        plant(pose, context)


class Lunge(Primitive):
    """Forward lunges, alternating or on one leg."""

    seconds_per_repetition = 1.5

    name = "lunge"
    description = "forward lunges"
    parameters = (
        int_param("repetitions", 2, 1, 12, "number of lunges"),
        choice_param("leg", "alternate", ("left", "right", "alternate"), "leading leg"),
        float_param("depth", 0.8, 0.3, 1.0, "", "1 = back knee near the floor"),
    )
    default_duration_s = 6.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        depth = parameters["depth"] * context.style.range_of_motion
        repetitions = parameters["repetitions"]
        slot = duration_s / repetitions
        key_times: list[float] = []
        keys: list[dict[str, float]] = []
        for rep in range(repetitions):
            leg = parameters["leg"]
            if leg == "alternate":
                leg = "right" if rep % 2 == 0 else "left"
            lead, trail = ("r", "l") if leg == "right" else ("l", "r")
            step = {
                f"{lead}_hip_flex": 0.9,
                f"{lead}_knee_flex": 0.9,
                f"{trail}_hip_flex": -0.1,
                "shoulder_abd": 0.1,
                "elbow_flex": 0.3,
            }
            low = {
                f"{lead}_hip_flex": 1.2 * depth,
                f"{lead}_knee_flex": 1.5 * depth,
                f"{lead}_ankle": 0.3 * depth,
                f"{trail}_hip_flex": -0.35 * depth,
                f"{trail}_knee_flex": 1.5 * depth,
                f"{trail}_ankle": -0.6 * depth,
                "shoulder_abd": 0.1,
                "elbow_flex": 0.3,
                "trunk_flex": 0.05,
            }
            start = rep * slot
            key_times += [
                start,
                start + 0.2 * slot,
                start + 0.45 * slot,
                start + 0.6 * slot,
                start + 0.8 * slot,
                start + 0.97 * slot,
            ]
            keys += [STANDING, step, low, low, step, STANDING]
        apply_channels(pose, keyframes(pose.times_s, key_times, keys), 1.0)
        plant(pose, context)


class ArmCircles(Primitive):
    """Arms held out sideways, drawing circles."""

    name = "arm_circles"
    description = "arm circles with arms stretched out to the sides"
    parameters = (
        float_param("tempo_hz", 1.0, 0.3, 2.5, "Hz", "circles per second"),
        float_param("radius_rad", 0.35, 0.1, 1.2, "rad", "angular radius of the circles"),
        choice_param("direction", "forward", ("forward", "backward"), "sense of rotation"),
        choice_param("hand", "both", ("left", "right", "both"), "which arms"),
    )
    default_duration_s = 5.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        from mmexpert.motion.primitives.base import ease_in_out, hands_of

        rate = parameters["tempo_hz"] * context.style.tempo_scale
        radius = parameters["radius_rad"] * context.style.range_of_motion
        sense = 1.0 if parameters["direction"] == "forward" else -1.0
        envelope = ease_in_out(pose.times_s, duration_s)
        angle = 2 * np.pi * rate * pose.times_s
        for side in ("left", "right"):
            if side in hands_of(parameters["hand"]):
                pose.arm(
                    side,
                    shoulder_abd=0.08 + envelope * (1.5 + radius * np.cos(angle)),
                    shoulder_flex=envelope * sense * radius * np.sin(angle),
                    elbow_flex=0.1,
                )
            else:
                pose.arm(side, shoulder_abd=0.08, elbow_flex=0.25)


class Stretch(Primitive):
    """Stretching: reach overhead, bend to the side, or touch the toes."""

    seconds_per_repetition = 1.5

    name = "stretch"
    description = "stretching (overhead reach, side bend or toe touch)"
    parameters = (
        choice_param("style", "overhead", ("overhead", "side_bend", "toe_touch"), "stretch"),
        int_param("repetitions", 1, 1, 6, "number of stretches"),
    )
    default_duration_s = 5.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        style = parameters["style"]
        if style == "overhead":
            held = {
                "shoulder_flex": 2.9,
                "elbow_flex": 0.1,
                "trunk_flex": -0.15,
                "head_flex": -0.3,
                "ankle": -0.3,
            }
            poses = [held]
        elif style == "side_bend":
            poses = [
                {
                    "r_shoulder_abd": 2.8,
                    "trunk_lateral": 0.45,
                    "l_shoulder_abd": 0.2,
                    "elbow_flex": 0.2,
                },
                {
                    "l_shoulder_abd": 2.8,
                    "trunk_lateral": -0.45,
                    "r_shoulder_abd": 0.2,
                    "elbow_flex": 0.2,
                },
            ]
        else:
            poses = [
                {"trunk_flex": 1.35, "hip_flex": 0.35, "shoulder_flex": 1.1, "head_flex": -0.2}
            ]
        repetitions = parameters["repetitions"]
        slot = duration_s / repetitions
        key_times, keys = [], []
        for rep in range(repetitions):
            held = poses[rep % len(poses)]
            start = rep * slot
            key_times += [start, start + 0.35 * slot, start + 0.65 * slot, start + 0.98 * slot]
            keys += [STANDING, held, held, STANDING]
        apply_channels(
            pose, keyframes(pose.times_s, key_times, keys), context.style.range_of_motion
        )
        plant(pose, context)
