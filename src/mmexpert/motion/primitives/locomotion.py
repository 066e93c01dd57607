"""Locomotion primitives: walking (forward, backward, sideways, turning, circle), running,
jogging in place.

Gait follows dynamic similarity: the preferred walking speed is ``sqrt(Fr * g * L)`` with
leg length ``L`` and the age group's Froude number (adults ~0.2), and the step rate scales
as ``sqrt(g / L)`` (Alexander, *Principles of Animal Locomotion*, 2003). An adult of
1.75 m walks at ~1.35 m/s and ~1.85 steps/s. Sagittal joint-angle curves are smooth fits
of the classic gait-lab averages (hip +30/-10 deg, knee 15 deg at loading and 60 deg in
swing; Winter 2009, ch. 4). The pelvis path comes from keeping the supporting foot still
(:func:`~mmexpert.motion.kinematics.planted_root_xy`), so the root advance matches the
stride; the hip amplitude is then calibrated so the speed matches the target.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mmexpert.motion.kinematics import PoseTrack, planted_root_xy
from mmexpert.motion.primitives.base import (
    GRAVITY_MPS2,
    PoseBuilder,
    Primitive,
    PrimitiveContext,
    choice_param,
    float_param,
)

ADULT_STEP_RATE_HZ = 1.85
"""Preferred walking step rate of an adult with a 0.93 m leg [steps/s]."""
RUN_HIP_AMPLITUDE_RAD = 0.55
"""Reference hip-flexion amplitude of running [rad] (scaled by the amplitude factor)."""
GAIT_SMOOTHING_S = 0.03
"""Smoothing of the planted pelvis velocity [s]: less slip of the stance foot vs. a
smoother pelvis (0.03 s: adult stance-foot slip ~0.19 m/s median, pelvis <= 1 g)."""
ADULT_LEG_M = 0.93
"""Leg length of the reference adult (1.75 m tall) [m]."""


def bump(phase: np.ndarray, centre: float, width: float) -> np.ndarray:
    """Periodic Gaussian bump (period 1) of unit height centred on ``centre``."""
    distance = (phase - centre + 0.5) % 1.0 - 0.5
    return np.exp(-0.5 * (distance / width) ** 2)


def preferred_walk(
    context: PrimitiveContext, speed_mps: float | None, cadence: float | None
) -> tuple[float, float]:
    """Walking speed [m/s] and step rate [steps/s] for a subject.

    Unspecified values follow the subject: ``v = sqrt(Fr g L)`` and
    ``f = f_adult sqrt(L_adult / L) (v / v_pref)^0.5`` (step rate grows with the square
    root of speed at a given size).
    """
    leg = context.leg_m
    preferred = float(np.sqrt(context.style.froude_walk * GRAVITY_MPS2 * leg))
    speed = preferred if speed_mps is None else speed_mps
    if cadence is None:
        adult_preferred = np.sqrt(0.2 * GRAVITY_MPS2 * leg)
        cadence = (
            context.style.cadence_scale
            * ADULT_STEP_RATE_HZ
            * np.sqrt(ADULT_LEG_M / leg)
            * np.sqrt(speed / adult_preferred)
        )
    return float(speed), float(cadence)


def preferred_run(
    context: PrimitiveContext, speed_mps: float | None, cadence: float | None
) -> tuple[float, float]:
    """Running speed [m/s] (Fr ~1 adult) and step rate [steps/s] (~2.8 adult)."""
    leg = context.leg_m
    froude = 1.0 * context.style.explosiveness
    speed = float(np.sqrt(froude * GRAVITY_MPS2 * leg)) if speed_mps is None else speed_mps
    if cadence is None:
        cadence = 2.8 * np.sqrt(ADULT_LEG_M / leg) * (speed / np.sqrt(GRAVITY_MPS2 * leg)) ** 0.25
    return float(speed), float(cadence)


def gait_angles(
    pose: PoseBuilder,
    context: PrimitiveContext,
    phase: np.ndarray,
    amplitude: float,
    kind: str = "walk",
    arm_swing: float = 1.0,
) -> None:
    """Add one gait's joint angles; ``phase`` in strides (left heel strike at integers).

    Parameters
    ----------
    phase
        float [T] stride phase [cycles]; decreasing phase walks backward.
    amplitude
        Multiplier on the hip swing (1 = the reference stride).
    kind
        "walk" or "run".
    arm_swing
        Multiplier on the arm swing.
    """
    rom = context.style.range_of_motion
    run = kind == "run"
    # reference curves [rad]: hip flexion, knee flexion, ankle dorsiflexion
    hip_mean, hip_amp = (0.30, RUN_HIP_AMPLITUDE_RAD) if run else (0.17, 0.33)
    for side, offset in (("left", 0.0), ("right", 0.5)):
        p = (phase + offset) % 1.0
        hip = hip_mean * rom + amplitude * hip_amp * np.cos(
            2 * np.pi * (p - (0.04 if run else 0.0))
        )
        if run:
            knee = 0.35 + 0.45 * bump(p, 0.15, 0.08) + 1.5 * rom * bump(p, 0.68, 0.13)
            ankle = 0.15 * bump(p, 0.2, 0.1) - 0.35 * bump(p, 0.42, 0.06)
        else:
            knee = (
                0.08
                + 0.22 * bump(p, 0.14, 0.07)
                + (0.9 + 0.2 * amplitude) * rom * bump(p, 0.72, 0.13)
            )
            ankle = 0.12 * bump(p, 0.42, 0.12) - 0.28 * rom * bump(p, 0.63, 0.05)
        pose.leg(side, hip_flex=hip, knee_flex=knee, ankle_dorsi=ankle, hip_abd=0.03)
        # arms swing opposite to the legs: the left arm goes forward with the right leg
        arm = (
            -arm_swing * amplitude * (0.55 if run else 0.45) * rom * np.cos(2 * np.pi * (p - 0.05))
        )
        elbow = (1.4 if run else 0.30) + (0.25 if run else 0.15) * np.cos(2 * np.pi * p)
        pose.arm(side, shoulder_flex=arm, shoulder_abd=0.10, elbow_flex=elbow)
    cycle = 2 * np.pi * phase
    sway = context.style.sway_scale
    pose.pelvis(yaw_left=-0.07 * amplitude * np.cos(cycle), roll_left=0.04 * np.sin(cycle) * sway)
    pose.trunk(
        flex=0.15 if run else 0.03 + 0.02 * (1 - rom), twist=0.07 * amplitude * np.cos(cycle)
    )
    pose.head(flex=0.05)


def run_flight_fraction(speed_mps: float) -> float:
    """Share of each running step spent in the air: ~0.3 at 3 m/s, growing with speed."""
    return float(np.clip(0.3 + 0.1 * (speed_mps - 3.0), 0.15, 0.45))


def run_lift_m(context: PrimitiveContext, step_phase: np.ndarray, speed_mps: float) -> np.ndarray:
    """Pelvis lift of running [m]: a smooth bump once per step, centred between contacts.

    The lift exceeds :data:`~mmexpert.motion.kinematics.FLIGHT_LIFT_M` (feet off the
    floor) for :func:`run_flight_fraction` of the step.
    """
    height = 0.03 * context.style.explosiveness
    window = 1.5 * run_flight_fraction(speed_mps)  # sin^2 > 1/4 over the middle 2/3
    inside = np.clip(((step_phase - 0.85 + 0.5 * window + 0.5) % 1.0 - 0.5) / window, 0.0, 1.0)
    return height * np.sin(np.pi * inside) ** 2


def _gait_builder(
    context: PrimitiveContext,
    times: np.ndarray,
    phase: np.ndarray,
    amplitude: float,
    kind: str,
    speed: float,
    arm_swing: float = 1.0,
) -> PoseBuilder:
    pose = PoseBuilder(times, context.dims)
    gait_angles(pose, context, phase, amplitude, kind, arm_swing)
    if kind == "run":
        pose.lift_m[:] = run_lift_m(context, 2.0 * phase, speed)
    return pose


def _stride_speed(
    context: PrimitiveContext, step_rate: float, amplitude: float, kind: str, speed: float
) -> float:
    """Forward speed [m/s] that planting produces for a gait, over two whole strides."""
    stride_s = 2.0 / step_rate
    times = np.arange(round(2 * stride_s * context.fps) + 1) / context.fps
    probe = _gait_builder(context, times, times / stride_s, amplitude, kind, speed)
    root = planted_root_xy(
        probe.track(), context.dims, smoothing_s=GAIT_SMOOTHING_S, fps=context.fps
    )
    return float(np.linalg.norm(root[-1] - root[0]) / times[-1])


def calibrated_amplitude(
    context: PrimitiveContext, speed: float, step_rate: float, kind: str = "walk"
) -> float:
    """Hip-swing multiplier that makes the planted gait move at ``speed`` [m/s]."""
    amplitude = 1.0
    for _ in range(3):  # speed is close to linear in the amplitude; 3 secant steps suffice
        measured = _stride_speed(context, step_rate, amplitude, kind, speed)
        amplitude = float(np.clip(amplitude * speed / max(measured, 1e-3), 0.05, 2.0))
    return amplitude


def _gait_track(
    pose: PoseBuilder,
    context: PrimitiveContext,
    speed: float,
    step_rate: float,
    kind: str,
    direction: float,
    turn_rad: np.ndarray,
    arm_swing: float,
) -> None:
    if kind == "run":
        # Running: the pelvis moves at the set speed; the hip swing is chosen so the stance
        # foot's backward speed at mid-stance (L * A * omega) equals it, which keeps foot
        # slip small while the flight phases carry the body.
        omega = 2 * np.pi * step_rate / 2.0
        amplitude = float(
            np.clip(speed / (context.leg_m * omega * RUN_HIP_AMPLITUDE_RAD), 0.3, 1.6)
        )
    else:
        amplitude = calibrated_amplitude(context, speed, step_rate, kind)
    phase = direction * step_rate / 2.0 * pose.times_s + 0.1 * context.variation
    gait = _gait_builder(context, pose.times_s, phase, amplitude, kind, speed, arm_swing)
    pose.angles += gait.angles
    pose.lift_m[:] += gait.lift_m
    pose.heading_rad[:] = turn_rad
    if kind == "run":
        pose.root_xy_m[:, 1] = speed * pose.times_s
    else:
        pose.root_xy_m[:] = planted_root_xy(
            pose.track(), context.dims, smoothing_s=GAIT_SMOOTHING_S, fps=context.fps
        )


class WalkForward(Primitive):
    """Walk straight ahead."""

    name = "walk_forward"
    description = "walk forward in the facing direction at a natural or given speed"
    parameters = (
        float_param(
            "speed_mps", None, 0.3, 2.2, "m/s", "walking speed (default: from the subject)"
        ),
        float_param(
            "cadence_steps_per_s", None, 0.8, 3.0, "1/s", "step rate (default: from speed)"
        ),
        float_param("arm_swing", 1.0, 0.0, 2.0, "", "arm swing relative to normal"),
    )
    default_duration_s = 4.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        speed, rate = preferred_walk(
            context, parameters["speed_mps"], parameters["cadence_steps_per_s"]
        )
        _gait_track(
            pose,
            context,
            speed,
            rate,
            "walk",
            1.0,
            np.zeros(pose.num_frames),
            parameters["arm_swing"],
        )


class WalkBackward(Primitive):
    """Walk backward (the gait cycle reversed), slower than forward walking."""

    name = "walk_backward"
    description = "walk backward while facing forward"
    parameters = (
        float_param(
            "speed_mps", None, 0.2, 1.5, "m/s", "speed (default: 60 % of the walking speed)"
        ),
    )
    default_duration_s = 3.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        natural, _ = preferred_walk(context, None, None)
        speed = parameters["speed_mps"] or 0.6 * natural
        _, rate = preferred_walk(context, speed, None)
        _gait_track(pose, context, speed, 0.9 * rate, "walk", -1.0, np.zeros(pose.num_frames), 0.6)


class WalkSideways(Primitive):
    """Side-stepping: the leading leg abducts, the trailing leg closes up."""

    name = "walk_sideways"
    description = "side-step to the left or right while facing forward"
    parameters = (
        choice_param("direction", "left", ("left", "right"), "direction of travel"),
        float_param("step_width_m", 0.35, 0.1, 0.6, "m", "width of each side step"),
        float_param("cadence_steps_per_s", 1.6, 0.6, 2.5, "1/s", "step rate"),
    )
    default_duration_s = 3.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        rate = parameters["cadence_steps_per_s"] * context.style.tempo_scale
        lead, trail = ("left", "right") if parameters["direction"] == "left" else ("right", "left")
        scale = context.dims.height_m / 1.75
        abduction = np.arcsin(np.clip(parameters["step_width_m"] * scale / context.leg_m, 0, 0.6))
        abduction *= context.style.range_of_motion
        phase = rate / 2.0 * pose.times_s  # one cycle = lead step + trail step
        p = phase % 1.0
        # both hips spread while the lead foot swings out, then close while the trail
        # foot swings in; which foot is lifted decides where the pelvis goes
        spread = abduction * np.sin(np.pi * p) ** 2
        lead_abd = trail_abd = spread
        lift_lead = 0.7 * np.sin(np.pi * np.clip(p / 0.4, 0, 1))
        lift_trail = 0.7 * np.sin(np.pi * np.clip((p - 0.5) / 0.4, 0, 1))
        pose.leg(lead, hip_abd=lead_abd, knee_flex=0.1 + lift_lead, hip_flex=0.5 * lift_lead)
        pose.leg(trail, hip_abd=trail_abd, knee_flex=0.1 + lift_trail, hip_flex=0.5 * lift_trail)
        relaxed_swing = 0.15 * np.sin(2 * np.pi * phase)
        for side in ("left", "right"):
            pose.arm(side, shoulder_abd=0.12 + 0.1 * np.abs(relaxed_swing), elbow_flex=0.3)
        pose.root_xy_m[:] = planted_root_xy(
            pose.track(), context.dims, smoothing_s=GAIT_SMOOTHING_S, fps=context.fps
        )


class WalkTurn(Primitive):
    """Walk forward while turning by a given angle."""

    name = "walk_turn"
    description = "walk forward while turning left or right by an angle"
    parameters = (
        float_param("turn_rad", 1.5708, 0.2, 3.1416, "rad", "total turn"),
        choice_param("direction", "left", ("left", "right"), "turn direction"),
        float_param(
            "speed_mps", None, 0.3, 2.0, "m/s", "speed (default: 85 % of the walking speed)"
        ),
    )
    default_duration_s = 3.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        natural, _ = preferred_walk(context, None, None)
        speed, rate = preferred_walk(context, parameters["speed_mps"] or 0.85 * natural, None)
        sign = 1.0 if parameters["direction"] == "left" else -1.0
        from mmexpert.motion.kinematics import smoothstep

        turn = sign * parameters["turn_rad"] * smoothstep(pose.times_s / max(duration_s, 1e-6))
        _gait_track(pose, context, speed, rate, "walk", 1.0, turn, 1.0)


class WalkCircle(Primitive):
    """Walk around a circle of a given radius."""

    name = "walk_circle"
    description = "walk in a circle (clockwise or counter-clockwise)"
    parameters = (
        float_param("radius_m", 1.5, 0.5, 5.0, "m", "circle radius"),
        choice_param("direction", "counterclockwise", ("counterclockwise", "clockwise"), "sense"),
        float_param(
            "speed_mps", None, 0.3, 2.0, "m/s", "speed (default: 90 % of the walking speed)"
        ),
    )
    default_duration_s = 8.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        natural, _ = preferred_walk(context, None, None)
        speed, rate = preferred_walk(context, parameters["speed_mps"] or 0.9 * natural, None)
        sign = 1.0 if parameters["direction"] == "counterclockwise" else -1.0
        turn = sign * speed / parameters["radius_m"] * pose.times_s
        _gait_track(pose, context, speed, rate, "walk", 1.0, turn, 1.0)


class Run(Primitive):
    """Run forward with flight phases."""

    name = "run"
    description = "run forward"
    parameters = (
        float_param(
            "speed_mps", None, 1.8, 4.5, "m/s", "running speed (default: from the subject)"
        ),
        float_param(
            "cadence_steps_per_s", None, 2.0, 3.8, "1/s", "step rate (default: from speed)"
        ),
    )
    default_duration_s = 3.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        speed, rate = preferred_run(
            context, parameters["speed_mps"], parameters["cadence_steps_per_s"]
        )
        _gait_track(pose, context, speed, rate, "run", 1.0, np.zeros(pose.num_frames), 1.0)


class JogInPlace(Primitive):
    """Jog on the spot: knees up, feet land under the hips."""

    name = "jog_in_place"
    description = "jog in place, lifting the knees"
    parameters = (
        float_param("cadence_steps_per_s", 2.6, 1.5, 3.6, "1/s", "step rate"),
        float_param("knee_height", 0.6, 0.2, 1.0, "", "knee lift (1 = thigh horizontal)"),
    )
    default_duration_s = 4.0

    def _generate(
        self,
        pose: PoseBuilder,
        context: PrimitiveContext,
        parameters: dict[str, Any],
        duration_s: float,
    ) -> None:
        rate = parameters["cadence_steps_per_s"] * context.style.tempo_scale
        hip_peak = parameters["knee_height"] * np.pi / 2 * context.style.range_of_motion
        phase = rate / 2.0 * pose.times_s
        for side, offset in (("left", 0.0), ("right", 0.5)):
            raise_ = np.sin(np.pi * np.clip(((phase + offset) % 1.0) / 0.5, 0, 1)) ** 2
            hip = hip_peak * raise_
            # knee = 1.6 x hip keeps the foot roughly under the hip (thigh ~ shank length)
            pose.leg(side, hip_flex=hip, knee_flex=0.1 + 1.6 * hip, ankle_dorsi=-0.3 * raise_)
            swing = 0.5 * hip_peak * np.sin(2 * np.pi * (phase + offset))
            pose.arm(side, shoulder_flex=-swing, shoulder_abd=0.1, elbow_flex=1.4)
        pose.lift_m[:] = (
            0.02 * context.style.explosiveness * np.sin(np.pi * rate * pose.times_s) ** 2
        )
        pose.trunk(flex=0.05)


def track_speed_mps(track: PoseTrack, fps: float) -> float:
    """Mean horizontal pelvis speed of a track [m/s]."""
    return float(
        np.sum(np.linalg.norm(np.diff(track.root_xy_m, axis=0), axis=1))
        * fps
        / max(track.num_frames - 1, 1)
    )
