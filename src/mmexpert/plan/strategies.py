"""Sampling strategies and quota apportionment.

A strategy is one way of varying samples of an activity (mmExpert's "planning strategies").
The set is enumerated here; the LLM only weights them (low / medium / high relevance for the
scenario, by scoring the three options), so a small model cannot invent one. Quotas are
split with the largest-remainder method, so they always sum exactly to the requested count.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmexpert.motion import primitive_parameters
from mmexpert.plan.activities import Activity


@dataclass(frozen=True)
class Strategy:
    """One enumerated strategy."""

    name: str
    description: str  # shown to the LLM
    default_weight: float  # used when the backend cannot score options


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("single_action", "plain, typical performances of each activity", 3.0),
        Strategy(
            "confusable_pair",
            "performances close to a look-alike activity, to teach the difference",
            2.0,
        ),
        Strategy("speed_variant", "the same activity done slowly or quickly", 2.0),
        Strategy("direction_variant", "different directions relative to the radar", 2.0),
        Strategy("intensity_variant", "small versus large, shallow versus deep movements", 1.0),
        Strategy("body_part_emphasis", "which hand or leg does it (left, right, both)", 1.0),
        Strategy("subject_variety", "children, elderly people, tall, short, slim, heavy", 2.0),
    )
}
"""The enumerated strategies, in a fixed order."""

RELEVANCE_WEIGHTS = {"low": 1.0, "medium": 2.0, "high": 3.0}
"""Weight of a strategy by the relevance the LLM picks."""

SPEED_PARAMETERS = ("speed_mps", "tempo_hz", "punch_rate_hz", "cadence_steps_per_s")
INVERSE_SPEED_PARAMETERS = ("fall_time_s", "strike_time_s")  # larger value = slower
INTENSITY_PARAMETERS = (
    "amplitude",
    "amplitude_m",
    "depth",
    "height_m",
    "height",
    "knee_height",
    "radius_rad",
    "footwork_m",
    "distance_m",
    "step_width_m",
)
SIDE_PARAMETERS = ("hand", "leg")
LOCOMOTION_PRIMITIVES = ("walk_forward", "walk_turn", "walk_circle", "run", "jump_forward")


def _has_parameter(primitive: str, names: tuple[str, ...]) -> bool:
    return any(spec["name"] in names for spec in primitive_parameters(primitive))


def strategy_primitives(activity: Activity, strategy: str) -> list[str]:
    """Primitives of ``activity`` that ``strategy`` can vary (empty: not applicable)."""
    primitives = [use.primitive for use in activity.uses]
    if strategy in ("single_action", "subject_variety"):
        return primitives
    if strategy == "confusable_pair":
        return primitives if activity.confusable else []
    if strategy == "speed_variant":
        names = SPEED_PARAMETERS + INVERSE_SPEED_PARAMETERS
        return [p for p in primitives if _has_parameter(p, names)]
    if strategy == "intensity_variant":
        return [p for p in primitives if _has_parameter(p, INTENSITY_PARAMETERS)]
    if strategy == "body_part_emphasis":
        return [p for p in primitives if _has_parameter(p, SIDE_PARAMETERS)]
    if strategy == "direction_variant":
        # every activity can be seen from different aspects; "direction" choices add more
        return primitives
    raise KeyError(f"unknown strategy {strategy!r}; known: {list(STRATEGIES)}")


def apportion(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder).

    Parameters
    ----------
    total : int
        The number to split (>= 0).
    weights : list of float
        Non-negative weights, at least one positive.

    Returns
    -------
    list of int
        Parts that sum exactly to ``total``; ties in the remainders go to the earlier entry.

    Raises
    ------
    ValueError
        On a negative total, an empty or negative weight list, or all-zero weights.
    """
    if total < 0:
        raise ValueError(f"total must be >= 0, got {total}")
    if not weights or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {weights}")
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    parts = [int(e) for e in exact]
    remainders = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for index in remainders[: total - sum(parts)]:
        parts[index] += 1
    return parts
