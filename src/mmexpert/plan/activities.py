"""The activity table: common activity names and synonyms grounded in motion primitives.

Every activity the planner can emit is an entry here. An entry names the primitives that
realise it (with relative weights and optional narrower parameter ranges), the optional
lead-in primitives that may precede it (e.g. walking before a fall), what it is for (the
"intent" QA answer), the body parts that move most, and the activities a classifier
confuses it with. The LLM proposes activity names from a scenario; they are matched to this
table by embedding similarity (and :func:`mmexpert.llm.choose` when two entries are equally
close). Names that match nothing are reported, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmexpert.motion import primitive_parameters


@dataclass(frozen=True)
class PrimitiveUse:
    """One way to realise an activity: a primitive, its weight and narrowed ranges."""

    primitive: str
    weight: float = 1.0
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # natural ranges
    fixed: dict[str, object] = field(default_factory=dict)  # parameters always set


@dataclass(frozen=True)
class Activity:
    """A canonical activity of the table."""

    name: str
    synonyms: tuple[str, ...]
    uses: tuple[PrimitiveUse, ...]
    intent: str  # answer to "what is the purpose of this movement?"
    body_parts: str  # the parts that move most
    confusable: tuple[str, ...] = ()  # canonical names of look-alike activities
    lead_ins: tuple[str, ...] = ()  # primitives that may precede it
    category: str = "daily"  # exercise | locomotion | fall | posture | gesture | daily


def _a(
    name: str,
    synonyms: str,
    uses: list[PrimitiveUse] | str,
    intent: str,
    body_parts: str,
    confusable: str = "",
    lead_ins: str = "",
    category: str = "daily",
) -> Activity:
    if isinstance(uses, str):
        uses = [PrimitiveUse(p) for p in uses.split()]
    return Activity(
        name=name,
        synonyms=tuple(s.strip() for s in synonyms.split(",") if s.strip()),
        uses=tuple(uses),
        intent=intent,
        body_parts=body_parts,
        confusable=tuple(c.strip() for c in confusable.split(",") if c.strip()),
        lead_ins=tuple(lead_ins.split()),
        category=category,
    )


U = PrimitiveUse
ACTIVITY_TABLE: tuple[Activity, ...] = (
    _a(
        "walking",
        "walk, walking, walking around, strolling, pacing, gait, stroll",
        [
            U("walk_forward", 3.0, {"speed_mps": (0.5, 1.6)}),
            U("walk_turn", 1.0),
            U("walk_circle", 1.0, {"radius_m": (0.6, 1.5)}),
        ],
        "moving from one place to another",
        "legs, with arm swing",
        "running, walking backward",
        category="locomotion",
    ),
    _a(
        "walking backward",
        "walk backward, walking backwards, backing up, stepping back",
        "walk_backward",
        "moving away while keeping the eyes forward",
        "legs",
        "walking",
        category="locomotion",
    ),
    _a(
        "side stepping",
        "side step, side-stepping, shuffling sideways, walking sideways",
        "walk_sideways",
        "moving sideways while facing forward",
        "legs",
        "walking",
        category="locomotion",
    ),
    _a(
        "running",
        "run, running, sprinting, jogging forward",
        [U("run", 1.0, {"speed_mps": (2.0, 3.5)})],
        "moving quickly from one place to another",
        "legs and arms",
        "walking, jogging in place",
        category="locomotion",
    ),
    _a(
        "jogging in place",
        "jog in place, jogging in place, running on the spot, high knees",
        "jog_in_place",
        "cardio exercise without travelling",
        "legs, knees lifted",
        "running, jumping",
        category="exercise",
    ),
    _a(
        "jumping",
        "jump, jumping, hopping, jumping up and down, vertical jump, leaping",
        [
            U("hop_in_place", 2.0),
            U("jump_vertical", 2.0),
            U("jump_forward", 1.0, {"distance_m": (0.3, 1.0)}),
        ],
        "explosive leg exercise that lifts the whole body off the ground",
        "legs, whole body leaves the ground",
        "jumping jacks, squats",
        category="exercise",
    ),
    _a(
        "jumping jacks",
        "jumping jack, jumping jacks, star jumps, jacks",
        "jumping_jacks",
        "cardio exercise coordinating arms and legs",
        "arms and legs spreading and closing",
        "jumping",
        category="exercise",
    ),
    _a(
        "squats",
        "squat, squats, squatting, knee bends, deep knee bend",
        [U("squat", 1.0, {"repetitions": (2, 8)})],
        "lower-body strength exercise",
        "hips and knees, trunk moving up and down",
        "jumping, sitting down, lunges",
        category="exercise",
    ),
    _a(
        "lunges",
        "lunge, lunges, lunging, forward lunge",
        [U("lunge", 1.0, {"repetitions": (2, 6)})],
        "lower-body strength and balance exercise",
        "legs stepping forward, knees bending",
        "squats, walking",
        category="exercise",
    ),
    _a(
        "boxing",
        "boxing, shadow boxing, sparring, box, shadowboxing",
        [U("boxing", 2.0), U("punch", 1.0, {"repetitions": (3, 10)}, {"stance": "bouncing"})],
        "combat training and cardio exercise",
        "arms punching, shoulders and trunk",
        "punching, jumping jacks",
        category="exercise",
    ),
    _a(
        "punching",
        "punch, punching, jab, jabbing, hitting, striking",
        [U("punch", 1.0, {"repetitions": (2, 8)})],
        "striking a target with the fist",
        "one or both arms",
        "boxing, pushing",
        category="exercise",
    ),
    _a(
        "kicking",
        "kick, kicking, front kick, side kick",
        [U("kick", 1.0, {"repetitions": (1, 5)})],
        "striking with the leg",
        "one leg",
        "lunges, walking",
        category="exercise",
    ),
    _a(
        "arm circles",
        "arm circle, arm circles, arm rotation, shoulder circles",
        "arm_circles",
        "shoulder warm-up",
        "arms stretched out",
        "waving",
        category="exercise",
    ),
    _a(
        "stretching",
        "stretch, stretching, warming up, toe touch, side bend",
        "stretch",
        "improving flexibility",
        "trunk and arms",
        "bending down",
        category="exercise",
    ),
    _a(
        "falling",
        "fall, falling, falls, fall down, falling down, collapse, collapsing, "
        "tripping, slipping and falling, fall detection, fainting, passing out, stumbling",
        [U("fall_forward", 1.0), U("fall_backward", 1.0), U("fall_sideways", 1.0)],
        "none: an involuntary fall, a safety event that needs help",
        "whole body dropping to the floor",
        "lying down, sitting down, bending down",
        "walk_forward stand",
        category="fall",
    ),
    _a(
        "lying down",
        "lie down, lying down, lie on the floor, resting on the floor",
        "lie_down",
        "resting on the floor on purpose",
        "whole body lowering slowly",
        "falling, sitting down",
        "walk_forward stand",
        category="posture",
    ),
    _a(
        "getting up",
        "get up, getting up, getting up from the floor, rising from the floor, getting out of bed",
        "get_up",
        "recovering from the floor to standing",
        "whole body rising",
        "standing up",
        category="posture",
    ),
    _a(
        "sitting down",
        "sit, sit down, sitting, sitting down, taking a seat",
        "sit_down",
        "taking a seat",
        "hips and knees, trunk lowering",
        "falling, squats, lying down",
        "walk_forward stand",
        category="posture",
    ),
    _a(
        "standing up",
        "stand up, standing up, getting up from a chair, rising from a chair",
        "stand_up",
        "rising from a chair",
        "hips and knees, trunk rising",
        "getting up, squats",
        category="posture",
    ),
    _a(
        "bending down",
        "bend, bending, bending down, bend over, picking up, pick up, picking something up",
        "bend_pick_up",
        "picking an object up from the floor",
        "trunk bending, one arm reaching",
        "falling, squats",
        "walk_forward stand",
        category="posture",
    ),
    _a(
        "standing still",
        "stand, standing, standing still, idle, no movement, standing quietly",
        "stand",
        "resting upright",
        "chest moving with breathing",
        "sitting down",
        category="posture",
    ),
    _a(
        "waving",
        "wave, waving, waving hello, waving goodbye, hand waving",
        "wave",
        "greeting or signalling someone",
        "one or both hands and forearms",
        "arm circles, swiping",
        category="gesture",
    ),
    _a(
        "clapping",
        "clap, clapping, applauding, applause",
        "clap",
        "applauding or keeping a rhythm",
        "both hands meeting in front of the chest",
        "waving",
        category="gesture",
    ),
    _a(
        "drinking",
        "drink, drinking, sipping, drinking water",
        "drink",
        "drinking from a cup",
        "one arm bringing the hand to the mouth",
        "phone call",
        category="daily",
    ),
    _a(
        "phone call",
        "phone call, talking on the phone, answering the phone, phone to ear",
        "phone_to_ear",
        "making a phone call",
        "one arm holding the hand at the ear",
        "drinking",
        category="daily",
    ),
    _a(
        "swiping",
        "swipe, swiping, swipe gesture, hand swipe",
        [U("swipe_left"), U("swipe_right")],
        "a touch-free control gesture",
        "one hand moving across the body",
        "waving, pushing",
        category="gesture",
    ),
    _a(
        "pushing",
        "push, pushing, push gesture",
        "push",
        "a touch-free control gesture",
        "one hand moving toward the radar",
        "pulling, punching",
        category="gesture",
    ),
    _a(
        "pulling",
        "pull, pulling, pull gesture",
        "pull",
        "a touch-free control gesture",
        "one hand moving away from the radar",
        "pushing",
        category="gesture",
    ),
    _a(
        "circling gesture",
        "circle gesture, rotate gesture, drawing a circle",
        "circle_gesture",
        "a touch-free control gesture",
        "one hand drawing a circle",
        "waving",
        category="gesture",
    ),
    _a(
        "knocking",
        "knock, knocking, knocking on a door",
        "knock",
        "knocking on a door",
        "one hand and forearm",
        "punching",
        category="gesture",
    ),
    _a(
        "raising hands",
        "raise hands, raising hands, hands up, raising arms",
        "raise_hands",
        "signalling or stretching upward",
        "arms lifted above the head",
        "stretching, waving",
        category="gesture",
    ),
)

ACTIVITIES: dict[str, Activity] = {activity.name: activity for activity in ACTIVITY_TABLE}
"""The table by canonical name."""


def check_table() -> None:
    """Check that every primitive, parameter and range of the table exists in the library.

    Raises
    ------
    ValueError
        Naming the entry and what is wrong.
    """
    for activity in ACTIVITY_TABLE:
        for other in activity.confusable:
            if other not in ACTIVITIES:
                raise ValueError(f"{activity.name!r}: confusable {other!r} is not in the table")
        for use in (*activity.uses, *(PrimitiveUse(p) for p in activity.lead_ins)):
            specs = {spec["name"]: spec for spec in primitive_parameters(use.primitive)}
            for name, (low, high) in use.ranges.items():
                if name not in specs:
                    raise ValueError(f"{activity.name!r}: {use.primitive} has no {name!r}")
                if not specs[name]["min"] <= low <= high <= specs[name]["max"]:
                    raise ValueError(f"{activity.name!r}: {name} range {low}-{high} out of bounds")
            for name in use.fixed:
                if name not in specs:
                    raise ValueError(f"{activity.name!r}: {use.primitive} has no {name!r}")
