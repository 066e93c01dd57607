"""Sample specs of a flywheel round from per-class settings (quota, widening, separation).

Round 0 is planned by the ordinary planner (:func:`mmexpert.plan.make_plan`); the validation
set and every later round are drawn here from the round-0 vocabulary, with the motion,
caption and QA machinery of :mod:`mmexpert.plan` and the changes the revisions asked for:

* quotas per class, split over the applicable strategies by the round-0 strategy weights
  times a per-class boost (largest remainder, exact sums);
* wider parameter ranges (natural ranges stretched toward the primitive's full range);
* separation constraints: parameter ranges of an activity restricted away from a confused
  look-alike;
* at the widest level, wider scene randomization (radar height and tilt, noise figure,
  furniture).

Everything random derives from ``(seed, namespace, round, class, slot, attempt)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

import numpy as np

from mmexpert.flywheel.state import ClassPlan, FlywheelError
from mmexpert.motion import ProgramError, primitive_parameters
from mmexpert.plan import ACTIVITIES, STRATEGIES, SampleSpec, apportion, canonical_caption, make_qa
from mmexpert.plan.activities import Activity
from mmexpert.plan.programs import sample_program
from mmexpert.plan.spec import RoomSpec, SceneSpec
from mmexpert.plan.strategies import strategy_primitives

WIDEN_FRACTION = {0: 0.0, 1: 0.5, 2: 1.0}
"""How far natural ranges are stretched toward the primitive's full range, by widen level."""


def _round(value: float, digits: int = 2) -> float:
    return float(round(value, digits))


def _seed(*keys: int) -> int:
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0] & 0x7FFFFFFF)


def revised_activity(settings: ClassPlan) -> Activity:
    """The activity-table entry of ``settings.activity`` with its ranges revised.

    Natural ranges are stretched by :data:`WIDEN_FRACTION` toward the primitive's full range,
    then separation ranges (``settings.ranges``) replace them where given.

    Raises
    ------
    FlywheelError
        For an activity outside the table.
    """
    if settings.activity not in ACTIVITIES:
        raise FlywheelError(f"unknown activity {settings.activity!r}; see the activity table")
    activity = ACTIVITIES[settings.activity]
    fraction = WIDEN_FRACTION[settings.widen_level]
    uses = []
    for use in activity.uses:
        full = {
            spec["name"]: (float(spec["min"]), float(spec["max"]))
            for spec in primitive_parameters(use.primitive)
            if spec["type"] != "choice"
        }
        ranges = dict(use.ranges)
        if fraction > 0:
            for name, (low, high) in use.ranges.items():
                full_low, full_high = full[name]
                ranges[name] = (
                    low - fraction * (low - full_low),
                    high + fraction * (full_high - high),
                )
        for name, (low, high) in settings.ranges.get(use.primitive, {}).items():
            ranges[name] = (float(low), float(high))
        uses.append(dataclasses.replace(use, ranges=ranges))
    return dataclasses.replace(activity, uses=tuple(uses))


def wider_scene(start_xy_m: tuple[float, float], rng: np.random.Generator) -> SceneSpec:
    """Scene randomization beyond the planner's: radar 0.6-2.0 m high, tilted -0.35 to
    +0.15 rad, noise figure -2 to +20 dB, 0-8 pieces of furniture, a side or back wall."""
    width = max(_round(rng.uniform(3.0, 9.0), 1), _round(2 * abs(start_xy_m[0]) + 1.5, 1))
    depth = _round(max(start_xy_m[1] + 1.5, rng.uniform(4.5, 12.0)), 1)
    room = RoomSpec(
        width_m=width,
        depth_m=depth,
        side_wall_reflectivity=_round(rng.uniform(0.1, 0.6), 2) if rng.random() < 0.6 else 0.0,
        back_wall_reflectivity=_round(rng.uniform(0.1, 0.5), 2) if rng.random() < 0.3 else 0.0,
        furniture=int(rng.integers(0, 9)),
    )
    return SceneSpec(
        mount_height_m=_round(rng.uniform(0.6, 2.0), 2),
        tilt_rad=_round(rng.uniform(-0.35, 0.15), 3),
        noise_figure_offset_db=_round(rng.uniform(-2.0, 20.0), 1),
        room=room,
    )


def strategy_quotas(settings: ClassPlan, base_weights: dict[str, float]) -> list[tuple[str, int]]:
    """``settings.quota`` split over the strategies applicable to the activity."""
    activity = ACTIVITIES[settings.activity]
    applicable = [s for s in STRATEGIES if strategy_primitives(activity, s)]
    weights = [
        base_weights.get(s, STRATEGIES[s].default_weight) * settings.strategy_boost.get(s, 1.0)
        for s in applicable
    ]
    if settings.widen_level >= 2 and "subject_variety" in applicable:
        weights[applicable.index("subject_variety")] *= 2.0
    parts = apportion(settings.quota, weights) if settings.quota else [0] * len(applicable)
    return [(s, q) for s, q in zip(applicable, parts, strict=True) if q > 0]


def draw_specs(
    settings: Iterable[ClassPlan],
    base_weights: dict[str, float],
    seed: int,
    namespace: int,
    population: str = "any",
    avoid_captions: Iterable[str] = (),
    attempts: int = 6,
) -> list[SampleSpec]:
    """Draw the specs of one round (or of the validation set).

    Parameters
    ----------
    settings
        One :class:`ClassPlan` per activity (quota, widening, separation ranges).
    base_weights
        Strategy name -> weight (the round-0 plan's).
    seed
        The run's seed.
    namespace
        Separates draws of different rounds / the validation set.
    population
        "any", "elder", "child" or "adult" (the scenario's subjects).
    avoid_captions
        Canonical captions already used (validation and earlier rounds): a draw that
        repeats one is redrawn, so no training sample copies a validation sample.
    attempts
        Draws tried per slot before the slot is given up (reported by the count).

    Returns
    -------
    list of SampleSpec
        Canonical captions only (the loop adds LLM descriptions); QA from the program.
    """
    taken = {" ".join(c.lower().split()) for c in avoid_captions}
    specs: list[SampleSpec] = []
    for class_index, entry in enumerate(settings):
        activity = revised_activity(entry)
        widen = entry.widen_level >= 1
        slot = 0
        for strategy, quota in strategy_quotas(entry, base_weights):
            for _ in range(quota):
                slot += 1
                for attempt in range(attempts):
                    sample_seed = _seed(seed, namespace, class_index, slot, attempt)
                    rng = np.random.default_rng(sample_seed)
                    try:
                        program, tags, scene = sample_program(
                            activity, strategy, rng, widen=widen, population=population
                        )
                    except (ProgramError, ValueError):
                        continue
                    if entry.widen_level >= 2:
                        start = program.placement.start_xy_m
                        scene = wider_scene((float(start[0]), float(start[1])), rng)
                        tags = [*tags, "scene:wide"]
                    if entry.widen_level >= 1:
                        tags = [*tags, f"widen:{entry.widen_level}"]
                    if entry.separate_from:
                        tags = [*tags, *(f"separate:{other}" for other in entry.separate_from)]
                    caption = canonical_caption(program)
                    key = " ".join(caption.lower().split())
                    if key in taken:
                        continue
                    taken.add(key)
                    specs.append(
                        SampleSpec(
                            activity=entry.activity,
                            description=caption,
                            program=program,
                            captions=[caption],
                            qa=make_qa(
                                program,
                                ACTIVITIES[entry.activity],
                                tags,
                                np.random.default_rng(sample_seed + 1),
                            ),
                            tags=tags,
                            scene=scene,
                            seed=sample_seed,
                        )
                    )
                    break
    return specs


def uniform_settings(classes: list[str], count: int) -> list[ClassPlan]:
    """Equal quotas (largest remainder) at the natural ranges."""
    quotas = apportion(count, [1.0] * len(classes))
    return [ClassPlan(activity=name, quota=q) for name, q in zip(classes, quotas, strict=True)]


def split_range(own: tuple[float, float], other: tuple[float, float]) -> tuple[float, float] | None:
    """The part of ``own`` on the far side from ``other``'s middle (None: no overlap).

    The kept part is at least 40 % of ``own`` so that the activity keeps its variety.
    """
    low, high = own
    other_low, other_high = other
    if high <= other_low or low >= other_high or high <= low:
        return None
    middle_own, middle_other = (low + high) / 2, (other_low + other_high) / 2
    span = high - low
    if math.isclose(middle_own, middle_other):
        return None
    if middle_own < middle_other:
        cut = max(low + 0.4 * span, min(high, other_low))
        return (low, cut) if cut < high else (low, low + 0.6 * span)
    cut = min(high - 0.4 * span, max(low, other_high))
    return (cut, high) if cut > low else (high - 0.6 * span, high)
