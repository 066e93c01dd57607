"""Sample a validated motion program for an activity under a strategy.

Everything random comes from the ``rng`` passed in. Parameter values are drawn from the
activity table's natural ranges (or the middle of the primitive's range), pushed to one end
for speed / intensity variants; subjects, distances (1-5 m by default, log-uniform),
azimuths and headings vary; locomotion is placed so that the person never walks through the
radar.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mmexpert.motion import MotionProgram, parse_program, primitive_parameters
from mmexpert.motion.primitives import get_primitive
from mmexpert.plan.activities import Activity, PrimitiveUse
from mmexpert.plan.spec import RoomSpec, SceneSpec
from mmexpert.plan.strategies import (
    INTENSITY_PARAMETERS,
    INVERSE_SPEED_PARAMETERS,
    SIDE_PARAMETERS,
    SPEED_PARAMETERS,
    strategy_primitives,
)

MIN_DISTANCE_M = 1.0  # closest start distance to the radar [m]
MAX_DISTANCE_M = 5.0  # farthest start distance [m]
DISTANCE_SPAN_M = (MIN_DISTANCE_M, MAX_DISTANCE_M)  # default span of the start distance [m]
MAX_AZIMUTH_RAD = math.radians(35.0)  # start bearing off the boresight
CLEARANCE_M = 1.2  # closest the pelvis may come to the radar [m]
# Link-budget offset added to the device's noise figure [dB]. It stands for everything that
# sets a person's SNR and that no datasheet states (body reflectivity at 77 GHz, antenna
# gain off boresight, IF filter and ADC losses). Calibrated on unlabelled RadHAR windows
# (50 programs simulated at +0, +6 and +12 dB): at +12 dB, frames with a moving point
# (27.5 % against 23.3 % real), movers beyond the first Doppler bin (6.1 % against 4.2 %)
# and the SNR of points (median 27.3 dB against 29.6 dB) come close; at 0 dB they are
# 45.8 %, 23.8 % and 33.5 dB. The span covers both the datasheet and that regime.
NOISE_FIGURE_OFFSET_SPAN_DB = (0.0, 16.0)
HEADING_SPREAD_RAD = math.radians(20.0)  # 1-sigma turn of a person "facing" the radar [rad]
WALK_ASPECTS = {"toward": 0.4, "away": 0.4, "across": 0.2}  # walkers without a direction variant


def _round(value: float, digits: int = 2) -> float:
    return float(round(value, digits))


POPULATION_AGE_PROBABILITIES = {
    "any": (0.12, 0.76, 0.12),
    "elder": (0.05, 0.2, 0.75),
    "child": (0.75, 0.2, 0.05),
    "adult": (0.05, 0.9, 0.05),
}
"""P(child, adult, elder) of a subject by the scenario's population."""


def sample_subject(
    rng: np.random.Generator, variety: bool, population: str = "any"
) -> dict[str, Any]:
    """A subject; ``variety`` favours children, elders and extreme builds/heights.

    ``population`` ("any", "elder", "child", "adult") shifts the age groups toward the
    people the scenario is about (ignored under ``variety``).
    """
    age_probs = [0.4, 0.2, 0.4] if variety else list(POPULATION_AGE_PROBABILITIES[population])
    age = str(rng.choice(["child", "adult", "elder"], p=age_probs))
    sex = str(rng.choice(["female", "male"]))
    build_probs = [0.4, 0.2, 0.4] if variety else [0.25, 0.5, 0.25]
    build = str(rng.choice(["slim", "average", "heavy"], p=build_probs))
    if age == "child":
        height = rng.uniform(1.05, 1.5)
    else:
        mean = 1.76 if sex == "male" else 1.63
        mean -= 0.04 if age == "elder" else 0.0
        spread = 0.11 if variety else 0.07
        height = rng.normal(mean, spread)
    return {
        "height_m": _round(float(np.clip(height, 0.9, 2.1))),
        "build": build,
        "age_group": age,
        "sex": sex,
    }


def _parameter_value(
    spec: dict[str, Any], use: PrimitiveUse, rng: np.random.Generator, band: str, widen: bool
) -> Any:
    """Draw one parameter: band is "natural", "low" or "high" (of the allowed range)."""
    name = spec["name"]
    if spec["type"] == "choice":
        return str(rng.choice(spec["choices"]))
    low, high = use.ranges.get(name, (spec["min"], spec["max"]))
    if name not in use.ranges and not widen:
        # the middle of a primitive's full range is its typical performance
        span = high - low
        low, high = low + 0.2 * span, high - 0.2 * span
    span = high - low
    if band == "low":
        low, high = low, low + 0.3 * span
    elif band == "high":
        low, high = high - 0.3 * span, high
    if spec["type"] == "int":
        return int(rng.integers(math.ceil(low), math.floor(high) + 1))
    return _round(float(rng.uniform(low, high)), 2)


def sample_parameters(
    use: PrimitiveUse, strategy: str, variant: str, rng: np.random.Generator, widen: bool
) -> dict[str, Any]:
    """Parameters of one segment; ``variant`` is e.g. "slow", "high", "left"."""
    parameters: dict[str, Any] = {}
    specs = primitive_parameters(use.primitive)
    names = [s["name"] for s in specs]
    for spec in specs:
        name = spec["name"]
        if name in use.fixed:
            parameters[name] = use.fixed[name]
            continue
        if name == "cadence_steps_per_s" and "speed_mps" in names:
            continue  # the primitive derives a natural cadence from the speed
        band = "natural"
        if strategy == "speed_variant" and name in SPEED_PARAMETERS + INVERSE_SPEED_PARAMETERS:
            slow_band = "high" if name in INVERSE_SPEED_PARAMETERS else "low"
            fast_band = "low" if name in INVERSE_SPEED_PARAMETERS else "high"
            band = slow_band if variant == "slow" else fast_band
        elif strategy == "intensity_variant" and name in INTENSITY_PARAMETERS:
            band = variant
        if strategy == "body_part_emphasis" and name in SIDE_PARAMETERS:
            choices = [c for c in spec["choices"] if c == variant] or spec["choices"]
            parameters[name] = str(rng.choice(choices))
            continue
        if strategy == "direction_variant" and name == "direction" and variant in spec["choices"]:
            parameters[name] = variant
            continue
        parameters[name] = _parameter_value(spec, use, rng, band, widen)
    return parameters


def _duration_s(primitive: str, parameters: dict[str, Any], rng: np.random.Generator) -> float:
    info = get_primitive(primitive)
    if "repetitions" in parameters and info.seconds_per_repetition > 0:
        needed = info.overhead_s + parameters["repetitions"] * info.seconds_per_repetition
        return _round(max(info.min_duration_s, needed + rng.uniform(0.3, 0.8)), 1)
    return _round(info.default_duration_s * rng.uniform(0.85, 1.2), 1)


def _variant(strategy: str, primitive: str, rng: np.random.Generator) -> str:
    if strategy == "speed_variant":
        return str(rng.choice(["slow", "fast"]))
    if strategy == "intensity_variant":
        return str(rng.choice(["low", "high"]))
    if strategy == "body_part_emphasis":
        sides = next(
            s["choices"] for s in primitive_parameters(primitive) if s["name"] in SIDE_PARAMETERS
        )
        return str(rng.choice(sides))
    if strategy == "direction_variant":
        specs = {s["name"]: s for s in primitive_parameters(primitive)}
        options = ["toward", "away", "across"] if primitive in LOCOMOTION_ASPECTS else []
        if primitive == "run":
            options = ["away", "across"]  # running toward the radar needs more than 5 m
        options = options or ["facing", "back", "side"]
        if "direction" in specs:
            options = list(specs["direction"]["choices"])
        return str(rng.choice(options))
    return ""


LOCOMOTION_ASPECTS = ("walk_forward", "run", "jump_forward", "walk_sideways", "walk_turn")


def _speed_mps(primitive: str, parameters: dict[str, Any]) -> float:
    """Rough travel speed of a segment [m/s] (for placement only)."""
    if primitive in ("walk_forward", "walk_turn", "walk_backward", "walk_circle"):
        return float(parameters.get("speed_mps") or 1.3)
    if primitive == "run":
        return float(parameters.get("speed_mps") or 3.0)
    if primitive == "walk_sideways":
        return float(parameters["step_width_m"] * parameters["cadence_steps_per_s"] / 2)
    return 0.0


def sample_scene(
    start_xy_m: tuple[float, float],
    rng: np.random.Generator,
    noise_figure_span_db: tuple[float, float] = NOISE_FIGURE_OFFSET_SPAN_DB,
) -> SceneSpec:
    """Domain randomization of the surroundings: radar height and tilt, receiver noise
    figure (uniform over ``noise_figure_span_db`` [dB]), room size, an optional reflecting side
    wall (half the rooms), an optional reflecting back wall (a third of the rooms) and 0-8
    pieces of static furniture. The room always contains the person's start with 1.5 m to spare.

    Real captures without static clutter removal (RadHAR: 93 % zero-velocity points, most
    of them room clutter at 1-5 m, nothing beyond 5.3 m) show more static reflectors than a
    bare room, hence up to 8 pieces, back walls, and rooms from 3.5 m deep."""
    width = _round(rng.uniform(3.5, 8.0), 1)
    width = max(width, _round(2 * abs(start_xy_m[0]) + 1.5, 1))
    depth = _round(max(start_xy_m[1] + 1.5, rng.uniform(3.5, 10.0)), 1)  # bedroom to hall
    wall_draw = rng.random()
    side_wall = _round(rng.uniform(0.1, 0.5), 2) if wall_draw < 0.5 else 0.0
    # The back wall reuses the side-wall draw (its bits below the first are uniform and
    # independent of ``wall_draw < 0.5``), so every later draw of a plan stays as it was.
    back_draw = (2.0 * wall_draw) % 1.0
    back_wall = _round(0.1 + 0.9 * back_draw, 2) if back_draw < 1 / 3 else 0.0
    room = RoomSpec(
        width_m=width,
        depth_m=depth,
        side_wall_reflectivity=side_wall,
        back_wall_reflectivity=back_wall,
        furniture=int(rng.integers(0, 9)),
    )
    return SceneSpec(
        mount_height_m=_round(rng.uniform(0.8, 1.5), 2),
        tilt_rad=_round(rng.uniform(-0.2, 0.05), 3),
        noise_figure_offset_db=_round(rng.uniform(*noise_figure_span_db), 1),
        room=room,
    )


def sample_program(
    activity: Activity,
    strategy: str,
    rng: np.random.Generator,
    widen: bool = False,
    population: str = "any",
    noise_figure_span_db: tuple[float, float] = NOISE_FIGURE_OFFSET_SPAN_DB,
    distance_span_m: tuple[float, float] = DISTANCE_SPAN_M,
) -> tuple[MotionProgram, list[str], SceneSpec]:
    """Sample one program of ``activity`` under ``strategy``.

    Parameters
    ----------
    activity : Activity
        The table entry.
    strategy : str
        A key of :data:`~mmexpert.plan.strategies.STRATEGIES` applicable to the activity.
    rng : numpy.random.Generator
        The only source of randomness.
    widen : bool
        Draw parameters from the primitive's full range (used by repair to escape
        near-duplicates).
    population : {"any", "elder", "child", "adult"}
        Who the scenario is about (shifts the subjects' age groups).
    noise_figure_span_db : (float, float)
        Span of the scene's noise-figure offset [dB] (see :func:`sample_scene`).
    distance_span_m : (float, float)
        Span of the person's start distance from the radar [m], log-uniform. A walker
        heading for the radar starts farther when its path needs the room (up to 1 m beyond
        the span's far end; the walk is shortened past that).

    Returns
    -------
    program : MotionProgram
        Validated by :func:`mmexpert.motion.parse_program`.
    tags : list of str
        Strategy and variant tags, e.g. ``["speed_variant", "speed:slow"]``.
    scene : SceneSpec
        Radar mounting height [m] and room.
    """
    allowed = strategy_primitives(activity, strategy)
    if not allowed:
        raise ValueError(f"strategy {strategy!r} does not apply to {activity.name!r}")
    uses = [u for u in activity.uses if u.primitive in allowed]
    weights = np.array([u.weight for u in uses], dtype=float)
    use = uses[int(rng.choice(len(uses), p=weights / weights.sum()))]
    variant = _variant(strategy, use.primitive, rng)
    parameters = sample_parameters(use, strategy, variant, rng, widen)
    duration = _duration_s(use.primitive, parameters, rng)
    tags = [strategy]
    if variant:
        tags.append(f"{strategy.split('_')[0]}:{variant}")
    if strategy == "confusable_pair":
        tags.append(f"confusable:{rng.choice(activity.confusable)}")

    subject = sample_subject(rng, variety=strategy == "subject_variety", population=population)
    if strategy == "subject_variety":
        tags.append(f"subject:{subject['age_group']}")

    segments: list[dict[str, Any]] = []
    lead_speed = 0.0
    if activity.lead_ins and rng.random() < 0.5:
        lead = str(rng.choice(activity.lead_ins))
        lead_parameters: dict[str, Any] = {}
        lead_duration = _round(rng.uniform(1.5, 2.5), 1)
        if lead == "walk_forward":
            lead_speed = _round(rng.uniform(0.5, 1.1), 2)
            lead_parameters = {"speed_mps": lead_speed}
        segments.append(
            {"primitive": lead, "parameters": lead_parameters, "duration_s": lead_duration}
        )
        tags.append("sequence")
    segments.append({"primitive": use.primitive, "parameters": parameters, "duration_s": duration})

    # placement: how the person travels relative to the radar decides the start distance
    aspect = variant if variant in ("toward", "away", "across", "facing", "back", "side") else ""
    travel_speed = _speed_mps(use.primitive, parameters)
    if use.primitive in ("run",) and aspect not in ("away", "across"):
        aspect = str(rng.choice(["away", "across"]))
    if not aspect and travel_speed > 0:
        # people walk to and from a sensor as often as toward it
        aspect = str(rng.choice(list(WALK_ASPECTS), p=list(WALK_ASPECTS.values())))
    aspect = aspect or "facing"
    travel_toward_m = 0.0
    if aspect in ("toward", "facing"):
        travel_toward_m = lead_speed * (segments[0]["duration_s"] if lead_speed else 0.0)
        if use.primitive in ("walk_forward", "walk_turn", "walk_circle"):
            travel_toward_m += travel_speed * duration
        if use.primitive == "jump_forward":
            travel_toward_m += parameters["distance_m"] * parameters["repetitions"]
        if use.primitive == "fall_forward":
            travel_toward_m += 0.8 * subject["height_m"]
    if use.primitive == "walk_circle":
        travel_toward_m = max(travel_toward_m, 2 * parameters["radius_m"])
    nearest_m, farthest_m = distance_span_m
    min_distance = max(nearest_m, CLEARANCE_M + travel_toward_m)
    if min_distance > farthest_m + 1.0:
        # too far to travel at this speed: shorten the main segment instead
        excess = min_distance - (farthest_m + 1.0)
        speed = max(travel_speed, 0.3)
        info = get_primitive(use.primitive)
        duration = _round(max(info.min_duration_s, duration - excess / speed - 0.1), 1)
        segments[-1]["duration_s"] = duration
        min_distance = farthest_m + 1.0
    # log-uniform: indoor sensing puts people 1-2.5 m away as often as 2.5-5 m
    far = max(min_distance, farthest_m)
    distance = _round(math.exp(rng.uniform(math.log(min_distance), math.log(far))), 2)
    azimuth = float(rng.uniform(-MAX_AZIMUTH_RAD, MAX_AZIMUTH_RAD))
    start = (_round(distance * math.sin(azimuth)), _round(distance * math.cos(azimuth)))
    to_radar = math.atan2(-start[1], -start[0])
    # nobody faces a sensor exactly: without this turn, motion in the body's frontal plane
    # (jumping jacks, side steps) would never show a radial velocity
    turn = float(
        np.clip(
            rng.normal(0.0, HEADING_SPREAD_RAD), -2.5 * HEADING_SPREAD_RAD, 2.5 * HEADING_SPREAD_RAD
        )
    )
    heading = to_radar + turn
    if aspect in ("away", "back"):
        heading += math.pi
    elif aspect in ("across", "side"):
        heading += float(rng.choice([-1.0, 1.0])) * math.pi / 2
    if use.primitive == "walk_backward":
        heading = to_radar + turn  # walks backward facing the radar: moves away from it
    heading = _round(math.atan2(math.sin(heading), math.cos(heading)), 3)
    if aspect in ("away", "across") and use.primitive == "run":
        segments[-1]["duration_s"] = _round(min(duration, 2.5), 1)

    program = parse_program(
        {
            "subject": subject,
            "placement": {"start_xy_m": list(start), "heading_rad": heading, "path": None},
            "segments": segments,
        }
    )
    scene = sample_scene(start, rng, noise_figure_span_db)
    return program, tags, scene
