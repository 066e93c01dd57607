"""Combat primitives: punches (jab, hook, uppercut), boxing with footwork, kicks.

A strike extends in ``strike_time_s`` (0.15-0.3 s; boxers' straight punches take
~0.1-0.2 s) and recoils more slowly back to the guard. The trunk twists into the punch;
the boxing stance bounces on the balls of the feet.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mmexpert.motion.kinematics import smoothstep
from mmexpert.motion.primitives.base import (
    PoseBuilder,
    Primitive,
    PrimitiveContext,
    apply_channels,
    choice_param,
    ease_in_out,
    float_param,
    int_param,
    keyframes,
    plant,
)
from mmexpert.motion.primitives.gestures import (
    arm_path,
    arm_reach_m,
    outward,
    rest_pole,
    rest_target,
)
from mmexpert.motion.primitives.posture import STANDING


def guard_target(dims: Any, side: str) -> np.ndarray:
    """Wrist at the chin in a boxing guard, relative to the shoulder [m]."""
    reach = arm_reach_m(dims)
    return np.array([-outward(side) * 0.15 * reach, 0.3 * reach, 0.02 * reach])


def punch_target(dims: Any, side: str, style: str, rom: float) -> np.ndarray:
    """Wrist at full extension of a punch, relative to the shoulder [m]."""
    reach = arm_reach_m(dims)
    if style == "jab":
        return np.array([-outward(side) * 0.15 * reach, 0.92 * reach * rom, 0.05 * reach])
    if style == "hook":
        return np.array([-outward(side) * 0.55 * reach * rom, 0.55 * reach, 0.05 * reach])
    return np.array([-outward(side) * 0.2 * reach, 0.55 * reach, 0.35 * reach * rom])


def _strikes(
    times: np.ndarray, starts: list[float], strike_s: float, recoil_s: float
) -> np.ndarray:
    """Sum of strike profiles: 0 -> 1 in ``strike_s``, back to 0 in ``recoil_s`` (C1)."""
    profile = np.zeros_like(times)
    for start in starts:
        out = smoothstep((times - start) / strike_s)
        back = smoothstep((times - start - strike_s - 0.05) / recoil_s)
        profile += out * (1 - back)
    return np.clip(profile, 0.0, 1.0)


def _stance(
    pose: PoseBuilder,
    context: PrimitiveContext,
    bounce_hz: float,
    duration_s: float,
    shift: np.ndarray | float = 0.0,
) -> None:
    """Orthodox boxing stance (left foot forward, knees soft) with a bounce.

    ``shift`` in [0, 1] moves the weight forward over the front foot (hips extend, front
    knee bends), which carries the pelvis ~15 cm toward the target with the feet planted.
    """
    shift = np.asarray(shift) * context.style.range_of_motion
    pose.leg(
        "left",
        hip_flex=0.3 - 0.2 * shift,
        knee_flex=0.35 + 0.25 * shift,
        hip_abd=0.1,
        ankle_dorsi=0.2 * shift,
    )
    pose.leg(
        "right",
        hip_flex=-0.1 - 0.2 * shift,
        knee_flex=0.3 - 0.1 * shift,
        hip_abd=0.1,
        ankle_dorsi=-0.2,
    )
    pose.pelvis(yaw_left=-0.25)
    pose.trunk(twist=0.2, flex=0.1)
    if bounce_hz > 0:
        bounce = 0.5 * (1 - np.cos(2 * np.pi * bounce_hz * pose.times_s))
        pose.lift_m[:] += (
            0.025 * context.style.explosiveness * bounce * ease_in_out(pose.times_s, duration_s)
        )


def _punch_arms(
    pose: PoseBuilder,
    context: PrimitiveContext,
    plan: dict[str, list[float]],
    style: str,
    strike_s: float,
    duration_s: float,
) -> None:
    rom = context.style.range_of_motion
    envelope = ease_in_out(pose.times_s, duration_s)[:, None]
    twist = np.zeros(pose.num_frames)
    profiles = {}
    for side in ("left", "right"):
        profiles[side] = _strikes(pose.times_s, plan[side], strike_s, 1.2 * strike_s)[:, None]
        twist += -outward(side) * 0.35 * profiles[side][:, 0]
    pose.trunk(twist=twist * rom)
    for side in ("left", "right"):
        guard = guard_target(context.dims, side)
        hit = punch_target(context.dims, side, style, rom)
        target = (1 - profiles[side]) * guard + profiles[side] * hit
        target = arm_path(rest_target(context.dims, side), target, envelope, side)
        pole = (1 - envelope) * rest_pole(side) + envelope * np.array(
            [outward(side) * 0.5, -0.2, -1.0]
        )
        pose.reach(side, target, pole)


class Punch(Primitive):
    """Punches from a boxing guard: jab, hook or uppercut, one hand or alternating."""

    seconds_per_repetition = 0.3
    overhead_s = 0.8

    name = "punch"
    description = "punching (jab, hook or uppercut)"
    parameters = (
        choice_param("hand", "alternate", ("left", "right", "alternate"), "punching hand"),
        choice_param("style", "jab", ("jab", "hook", "uppercut"), "kind of punch"),
        int_param("repetitions", 4, 1, 20, "number of punches"),
        float_param("strike_time_s", 0.22, 0.1, 0.5, "s", "time to full extension"),
        float_param("weight_shift", 1.0, 0.0, 1.0, "", "shift of the weight into each punch"),
        choice_param("stance", "still", ("still", "bouncing"), "bounce on the feet or not"),
    )
    default_duration_s = 4.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        strike = parameters["strike_time_s"] / context.style.explosiveness**0.5
        count = parameters["repetitions"]
        usable = max(duration_s - 0.8, 0.1)
        starts = 0.4 + usable * (np.arange(count) + 0.2) / count
        plan: dict[str, list[float]] = {"left": [], "right": []}
        for index, start in enumerate(starts):
            hand = parameters["hand"]
            if hand == "alternate":
                hand = "left" if index % 2 == 0 else "right"
            plan[hand].append(float(start))
        shift = _strikes(pose.times_s, [float(x) - 0.1 for x in starts], strike + 0.1, 0.5)
        bounce_hz = 1.5 if parameters["stance"] == "bouncing" else 0.0
        _stance(pose, context, bounce_hz, duration_s, parameters["weight_shift"] * shift)
        _punch_arms(pose, context, plan, parameters["style"], strike, duration_s)
        plant(pose, context)


class Boxing(Primitive):
    """Shadow boxing: bouncing footwork with random combinations of punches."""

    name = "boxing"
    description = "shadow boxing with footwork and punch combinations"
    parameters = (
        float_param("punch_rate_hz", 1.5, 0.5, 4.0, "Hz", "punches per second"),
        choice_param("style", "jab", ("jab", "hook", "uppercut"), "main kind of punch"),
        float_param("footwork_m", 0.15, 0.0, 0.4, "m", "back-and-forth footwork travel"),
    )
    default_duration_s = 5.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        rate = parameters["punch_rate_hz"] * context.style.tempo_scale
        count = max(1, int(rate * max(duration_s - 0.8, 0.1)))
        gaps = context.rng.uniform(0.6, 1.4, count)
        starts = (
            0.4
            + np.cumsum(gaps) / np.sum(gaps) * max(duration_s - 0.9, 0.1)
            - gaps[0] / np.sum(gaps) * 0.5
        )
        plan: dict[str, list[float]] = {"left": [], "right": []}
        for start in starts:
            plan["left" if context.rng.random() < 0.55 else "right"].append(float(start))
        _stance(pose, context, 2.0, duration_s)
        _punch_arms(pose, context, plan, parameters["style"], 0.18, duration_s)
        plant(pose, context)
        # footwork: shuffle forward and back on top of the planted stance
        drift = parameters["footwork_m"] * np.sin(2 * np.pi * 0.4 * pose.times_s)
        pose.root_xy_m[:, 1] += drift * ease_in_out(pose.times_s, duration_s)


KICK_S = 1.0
"""Duration of one kick from lifting the knee to putting the foot down [s]."""


class Kick(Primitive):
    """A chambered kick: knee up, snap the leg out, re-chamber, put the foot down."""

    seconds_per_repetition = 0.9

    name = "kick"
    description = "kick (front or side) with one leg"
    parameters = (
        choice_param("leg", "right", ("left", "right", "alternate"), "kicking leg"),
        choice_param("style", "front", ("front", "side"), "kind of kick"),
        int_param("repetitions", 2, 1, 10, "number of kicks"),
        float_param("height", 0.8, 0.3, 1.2, "", "kick height (1 = hip height)"),
        choice_param("stance", "bouncing", ("bouncing", "still"), "between kicks"),
    )
    default_duration_s = 4.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        rom = context.style.range_of_motion
        height = parameters["height"] * rom
        count = parameters["repetitions"]
        slot = duration_s / count
        snap = 0.14 / context.style.explosiveness**0.5
        key_times: list[float] = []
        keys: list[dict[str, float]] = []
        guard = {"shoulder_flex": 0.6, "elbow_flex": 1.9, "shoulder_abd": 0.2}
        kicking: list[tuple[float, float]] = []
        for rep in range(count):
            leg = parameters["leg"]
            if leg == "alternate":
                leg = "right" if rep % 2 == 0 else "left"
            k, s = ("r", "l") if leg == "right" else ("l", "r")
            # the pelvis travels over the support foot into the kick (support hip extends)
            support = {f"{s}_knee_flex": 0.25, f"{s}_hip_flex": -0.2}
            if parameters["style"] == "front":
                chamber = {f"{k}_hip_flex": 1.3 * height, f"{k}_knee_flex": 1.9, "trunk_flex": -0.1}
                extend = {
                    f"{k}_hip_flex": 1.45 * height,
                    f"{k}_knee_flex": 0.1,
                    f"{k}_ankle": -0.6,
                    "trunk_flex": -0.25,
                }
            else:
                sign = 1.0 if k == "l" else -1.0
                chamber = {
                    f"{k}_hip_flex": 1.1 * height,
                    f"{k}_knee_flex": 1.9,
                    "trunk_lateral": -sign * 0.2,
                }
                extend = {
                    f"{k}_hip_abd": 1.2 * height,
                    f"{k}_hip_flex": 0.2,
                    f"{k}_knee_flex": 0.1,
                    "trunk_lateral": -sign * 0.6,
                }
            # arms counter-swing for balance: kicking-side arm back, the other one out
            counter = {
                f"{k}_shoulder_flex": -0.5,
                f"{k}_shoulder_abd": 0.5,
                f"{k}_elbow_flex": 0.6,
                f"{s}_shoulder_flex": 0.5,
                f"{s}_shoulder_abd": 0.9,
                f"{s}_elbow_flex": 0.8,
            }
            chamber.update(support)
            chamber.update(guard)
            extend.update(support)
            extend.update(counter)
            ready = {**STANDING, **guard, "knee_flex": 0.2}
            # one kick takes KICK_S (chamber, snap, hold, re-chamber, foot down), centred
            # in its share of the segment; the fighter waits in the guard in between
            start = rep * slot
            kick = min(KICK_S, 0.9 * slot)
            begin = start + 0.5 * (slot - kick)
            chambered = begin + 0.3 * kick
            extended = chambered + min(snap, 0.1 * kick)
            held = extended + min(0.08, 0.05 * kick)
            key_times += [start, begin, chambered, extended, held, held + 0.2 * kick, begin + kick]
            keys += [
                STANDING if rep == 0 else ready,
                ready,
                chamber,
                extend,
                extend,
                chamber,
                ready,
            ]
            kicking.append((begin, begin + kick))
        channels = keyframes(pose.times_s, key_times, keys)
        envelope = smoothstep(pose.times_s / 0.3) * smoothstep((duration_s - pose.times_s) / 0.3)
        for name in ("l_shoulder_flex", "r_shoulder_flex", "l_elbow_flex", "r_elbow_flex"):
            channels[name] = channels[name] * np.maximum(envelope, 0.3)
        apply_channels(pose, channels, 1.0)
        plant(pose, context)
        if parameters["stance"] == "bouncing":
            # fighting stance: bounce on both feet between kicks, never on one leg
            on_two_feet = np.ones(pose.num_frames)
            for begin, end in kicking:
                inside = smoothstep((pose.times_s - begin + 0.2) / 0.2) * smoothstep(
                    (end + 0.2 - pose.times_s) / 0.2
                )
                on_two_feet *= 1.0 - inside
            bounce = 0.5 * (1 - np.cos(2 * np.pi * 1.8 * pose.times_s))
            envelope = ease_in_out(pose.times_s, duration_s)
            pose.lift_m[:] += 0.025 * context.style.explosiveness * bounce * on_two_feet * envelope
