"""Procedural motion primitives: the registry and the contract.

=====================  ==========================================================
family (module)        primitives
=====================  ==========================================================
locomotion             walk_forward, walk_backward, walk_sideways, walk_turn,
                       walk_circle, run, jog_in_place
exercise               jump_vertical, jump_forward, hop_in_place, jumping_jacks,
                       squat, lunge, arm_circles, stretch
combat                 punch, boxing, kick
gestures               wave, raise_hands, clap, swipe_left, swipe_right, push,
                       pull, knock, circle_gesture, drink, phone_to_ear
posture                stand, bend_pick_up, sit_down, stand_up, lie_down,
                       fall_forward, fall_backward, fall_sideways, get_up
=====================  ==========================================================

Every primitive subclasses :class:`~mmexpert.motion.primitives.base.Primitive`, declares
its parameters as :class:`~mmexpert.motion.primitives.base.ParameterSpec` (type, default,
min, max, choices, unit) and turns joint angles into positions by forward kinematics, so
bone lengths never change. :func:`list_primitives` and :func:`primitive_parameters` give
the JSON-able specs a planner enumerates.
"""

from __future__ import annotations

from typing import Any

from mmexpert.motion.primitives import combat, exercise, gestures, locomotion, posture
from mmexpert.motion.primitives.base import (
    AGE_STYLES,
    ParameterSpec,
    Primitive,
    PrimitiveContext,
    PrimitiveError,
    SubjectStyle,
)

_FAMILIES = (locomotion, exercise, combat, gestures, posture)

PRIMITIVES: dict[str, type[Primitive]] = {
    cls.name: cls
    for module in _FAMILIES
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, Primitive) and "name" in vars(cls)
}
"""Registry: primitive name -> primitive class."""


def get_primitive(name: str) -> type[Primitive]:
    """The primitive class registered under ``name``; unknown names list the known ones."""
    try:
        return PRIMITIVES[name]
    except KeyError:
        raise PrimitiveError(
            f"unknown primitive {name!r}; known primitives: {sorted(PRIMITIVES)}"
        ) from None


def list_primitives() -> list[dict[str, Any]]:
    """JSON-able specs of every primitive (name, description, default duration, parameters)."""
    return [PRIMITIVES[name].spec() for name in sorted(PRIMITIVES)]


def primitive_parameters(name: str) -> list[dict[str, Any]]:
    """JSON-able parameter specs of one primitive (type, default, min, max, choices, unit)."""
    return get_primitive(name).spec()["parameters"]


__all__ = [
    "AGE_STYLES",
    "PRIMITIVES",
    "ParameterSpec",
    "Primitive",
    "PrimitiveContext",
    "PrimitiveError",
    "SubjectStyle",
    "get_primitive",
    "list_primitives",
    "primitive_parameters",
]
