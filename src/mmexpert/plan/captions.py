"""Text generated from a motion program: the canonical caption, its key facts, and QA pairs.

The canonical caption is a template over the program (subject, placement, each segment's
primitive and parameters), so it states only what will be synthesized. LLM paraphrases are
checked against the caption's :class:`KeyFacts` (counts, sides, directions, the activity)
before they are kept; QA answers are read off the program, never generated.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmexpert.motion import MotionProgram, primitive_parameters
from mmexpert.plan.activities import ACTIVITIES, Activity
from mmexpert.plan.spec import QAPair
from mmexpert.plan.strategies import INTENSITY_PARAMETERS, INVERSE_SPEED_PARAMETERS

NUMBER_WORDS = {
    1: "once",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
    11: "eleven",
    12: "twelve",
}
OPPOSITES = {
    "left": "right",
    "right": "left",
    "toward": "away",
    "away": "toward",
    "forward": "backward",
    "backward": "forward",
    "clockwise": "counterclockwise",
    "counterclockwise": "clockwise",
    "slowly": "quickly",
    "quickly": "slowly",
}


@dataclass
class KeyFacts:
    """Facts a paraphrase must not contradict."""

    counts: list[int] = field(default_factory=list)  # repetition counts stated
    words: set[str] = field(default_factory=set)  # sides, directions, speeds stated
    activity: str = ""
    caption: str = ""  # the canonical caption, normalized
    primitives: list[str] = field(default_factory=list)  # the program's primitives


def _level(spec: dict[str, Any], value: float) -> str:
    """ "low", "high" or "" for a value in the lower / upper third of the allowed range."""
    low, high = spec["min"], spec["max"]
    position = (value - low) / (high - low) if high > low else 0.5
    if spec["name"] in INVERSE_SPEED_PARAMETERS:
        position = 1.0 - position
    return "low" if position < 0.34 else "high" if position > 0.66 else ""


def _speed_word(primitive: str, parameters: dict[str, Any]) -> str:
    for spec in primitive_parameters(primitive):
        name = spec["name"]
        if name in ("speed_mps", "tempo_hz", "punch_rate_hz", "fall_time_s", "strike_time_s"):
            if name == "cadence_steps_per_s" or parameters.get(name) is None:
                continue
            level = _level(spec, float(parameters[name]))
            return {"low": "slowly", "high": "quickly"}.get(level, "")
        if name == "cadence_steps_per_s" and primitive == "jog_in_place":
            level = _level(spec, float(parameters[name]))
            return {"low": "slowly", "high": "quickly"}.get(level, "")
    return ""


def _intensity_word(primitive: str, parameters: dict[str, Any]) -> str:
    for spec in primitive_parameters(primitive):
        if spec["name"] in INTENSITY_PARAMETERS and parameters.get(spec["name"]) is not None:
            level = _level(spec, float(parameters[spec["name"]]))
            if not level:
                return ""
            adjectives = {
                "depth": ("shallow", "deep"),
                "height_m": ("low", "high"),
                "height": ("low", "high"),
                "knee_height": ("low-knee", "high-knee"),
            }
            low_word, high_word = adjectives.get(spec["name"], ("small", "wide"))
            return low_word if level == "low" else high_word
    return ""


def _times(count: int) -> str:
    return "once" if count == 1 else f"{NUMBER_WORDS.get(count, str(count))} times"


def _count_noun(count: int, singular: str, plural: str) -> str:
    word = "one" if count == 1 else NUMBER_WORDS.get(count, str(count))
    return f"{word} {singular if count == 1 else plural}"


def _side(value: str, limb: str) -> str:
    if value == "both":
        return f"with both {limb}s"
    if value == "alternate":
        return f"alternating {limb}s"
    return f"with the {value} {limb}"


def relative_motion(program: MotionProgram) -> str:
    """How the person faces the radar at the start: "toward", "away" or "across"."""
    placement = program.placement
    heading = placement.initial_heading_rad()
    x, y = placement.start_xy_m
    to_radar = math.atan2(-y, -x)
    difference = abs(math.atan2(math.sin(heading - to_radar), math.cos(heading - to_radar)))
    if difference < math.radians(45):
        return "toward"
    if difference > math.radians(135):
        return "away"
    return "across"


def segment_phrase(primitive: str, parameters: dict[str, Any], aspect: str) -> str:
    """Verb phrase of one segment, e.g. "does four deep squats"."""
    p = parameters
    speed = _speed_word(primitive, p)
    intensity = _intensity_word(primitive, p)
    toward = {"toward": "toward the radar", "away": "away from the radar", "across": "across"}
    toward_text = toward.get(aspect, "")
    if aspect == "across":
        toward_text = "across in front of the radar"
    reps = int(p.get("repetitions", 1))
    hand = _side(p.get("hand", "right"), "hand")
    style = str(p.get("style", "jab" if primitive == "punch" else "front"))
    squat_word = f"{intensity} squat".strip()
    raised = "both hands" if p.get("hand", "both") == "both" else f"the {p.get('hand')} hand"
    footwork = {"small": " with little footwork", "wide": " with lively footwork"}
    phrases: dict[str, str] = {
        "walk_forward": f"walks {speed} {toward_text}",
        "walk_turn": f"walks {speed} and turns {p.get('direction', '')} "
        f"by about {round(math.degrees(p.get('turn_rad', 1.57)) / 15) * 15} degrees",
        "walk_circle": f"walks {speed} in a {p.get('direction', '')} circle",
        "walk_backward": f"walks backward {speed} away from the radar",
        "walk_sideways": f"side-steps to the {p.get('direction', '')} {speed}",
        "run": f"runs {speed} {toward_text}",
        "jog_in_place": f"jogs in place {speed}",
        "jump_vertical": f"jumps straight up {_times(reps)}",
        "jump_forward": f"jumps forward {_times(reps)} with both feet",
        "hop_in_place": f"does {intensity} hops in place {speed}",
        "jumping_jacks": f"does {intensity} jumping jacks {speed}",
        "squat": f"does {_count_noun(reps, squat_word, squat_word + 's')}",
        "lunge": f"does {_count_noun(reps, 'lunge', 'lunges')} "
        f"{_side(p.get('leg', 'alternate'), 'leg')}",
        "boxing": f"shadow boxes {speed}, throwing mostly {style}s{footwork.get(intensity, '')}",
        "punch": f"throws {_count_noun(reps, style, style + 's')} "
        f"{speed} {_side(p.get('hand', 'alternate'), 'hand')}",
        "kick": f"does {_count_noun(reps, style + ' kick', style + ' kicks')} "
        f"{_side(p.get('leg', 'right'), 'leg')}",
        "arm_circles": f"makes {p.get('direction', 'forward')} arm circles {speed} "
        f"{_side(p.get('hand', 'both'), 'arm')}",
        "stretch": f"stretches ({str(p.get('style', 'overhead')).replace('_', ' ')}) "
        f"{_times(reps)}",
        "fall_forward": f"loses balance and falls forward {speed} to the floor",
        "fall_backward": f"loses balance and falls backward {speed} to the floor",
        "fall_sideways": f"loses balance and falls {speed} sideways to the "
        f"{p.get('direction', 'left')}",
        "lie_down": "lies down on the floor on the back",
        "get_up": "gets up from the floor",
        "sit_down": "sits down on a chair",
        "stand_up": "stands up from a chair",
        "bend_pick_up": f"bends down and picks something up {hand}",
        "stand": "stands still, breathing quietly",
        "wave": f"waves {speed} {hand}",
        "clap": f"claps {speed}",
        "drink": f"drinks {_times(reps)} from a cup {hand}",
        "phone_to_ear": f"holds a phone to the ear {hand}",
        "swipe_left": f"swipes from right to left {_times(reps)} {hand}",
        "swipe_right": f"swipes from left to right {_times(reps)} {hand}",
        "push": f"pushes toward the radar {_times(reps)} {hand}",
        "pull": f"pulls away from the radar {_times(reps)} {hand}",
        "circle_gesture": f"draws {_count_noun(reps, 'circle', 'circles')} "
        f"{p.get('direction', 'clockwise')} {hand}",
        "knock": f"knocks {_times(p.get('repetitions', 1) * 3)} {hand}",
        "raise_hands": f"raises {raised} above the head {_times(reps)}",
    }
    phrase = phrases.get(primitive, primitive.replace("_", " "))
    return re.sub(r"\s+,", ",", " ".join(phrase.split()))


def subject_phrase(program: MotionProgram) -> str:
    """E.g. "a heavy elderly woman", "a tall man", "a girl"."""
    subject = program.subject
    words = []
    if subject.age_group != "child":
        if subject.height_m >= (1.86 if subject.sex == "male" else 1.74):
            words.append("tall")
        elif subject.height_m <= (1.64 if subject.sex == "male" else 1.53):
            words.append("short")
    if subject.build != "average":
        words.append(subject.build)
    if subject.age_group == "elder":
        words.append("elderly")
    noun = {
        ("child", "female"): "girl",
        ("child", "male"): "boy",
    }.get((subject.age_group, subject.sex), "woman" if subject.sex == "female" else "man")
    words.append(noun)
    article = "an" if words[0][0] in "aeiou" else "a"
    return f"{article} {' '.join(words)}"


def placement_phrase(program: MotionProgram) -> str:
    """E.g. "starting about 3.2 m from the radar, to its left"."""
    x, y = program.placement.start_xy_m
    distance = math.hypot(x, y)
    azimuth = math.degrees(math.atan2(x, y))
    moving = program.segments[0].primitive in LOCOMOTION
    text = f"{'starting ' if moving else ''}about {distance:.1f} m from the radar"
    if azimuth > 15:
        text += ", on its right"
    elif azimuth < -15:
        text += ", on its left"
    return text


LOCOMOTION = ("walk_forward", "walk_turn", "walk_circle", "walk_backward", "walk_sideways", "run")


def canonical_caption(program: MotionProgram) -> str:
    """One sentence describing exactly what the program synthesizes."""
    aspect = relative_motion(program)
    phrases = []
    for index, segment in enumerate(program.segments):
        phrases.append(segment_phrase(segment.primitive, segment.parameters, aspect))
        if index == 0:
            aspect = "toward" if aspect == "toward" else ""  # later segments keep going
    body = phrases[0] if len(phrases) == 1 else ", then ".join(phrases)
    stationary = program.segments[0].primitive not in LOCOMOTION
    facing = ""
    if stationary and aspect != "toward":
        facing = {"away": ", facing away from the radar", "across": ", side-on to the radar"}.get(
            relative_motion(program), ""
        )
    subject = subject_phrase(program)
    return f"{subject[0].upper()}{subject[1:]} {body}{facing}, {placement_phrase(program)}."


_WORD = re.compile(r"[a-z]+|\d+")


def _tokens(text: str) -> list[str]:
    text = text.lower().replace("counter-clockwise", "counterclockwise")
    return [_SPELLING.get(t, t) for t in _WORD.findall(text)]


_SPELLING = {"towards": "toward", "backwards": "backward", "forwards": "forward"}


def program_counts(program: MotionProgram) -> list[int]:
    """Repetition counts a caption of ``program`` states (knocks come in threes)."""
    counts = []
    for segment in program.segments:
        if "repetitions" in segment.parameters:
            factor = 3 if segment.primitive == "knock" else 1
            counts.append(int(segment.parameters["repetitions"]) * factor)
    return sorted({c for c in counts if c > 1})


def key_facts(caption: str, activity: str, program: MotionProgram) -> KeyFacts:
    """Counts (from the program) and side/direction/speed words stated by the caption."""
    words = {t for t in _tokens(caption) if t in OPPOSITES}
    return KeyFacts(
        counts=program_counts(program),
        words=words,
        activity=activity,
        caption=" ".join(_tokens(caption)),
        primitives=[segment.primitive for segment in program.segments],
    )


ACTION_STEMS: dict[str, tuple[str, ...]] = {
    "walk_forward": ("walk", "stroll", "step", "approach", "head"),
    "walk_turn": ("turn",),
    "walk_circle": ("circl",),
    "walk_backward": ("backward", "back up", "backs up", "backing"),
    "walk_sideways": ("side", "sideways"),
    "run": ("run", "sprint", "jog", "dash"),
    "jog_in_place": ("jog", "run"),
    "jump_vertical": ("jump", "hop", "leap"),
    "jump_forward": ("jump", "hop", "leap", "bound"),
    "hop_in_place": ("hop", "jump", "bounc"),
    "jumping_jacks": ("jack", "star jump"),
    "squat": ("squat", "knee bend"),
    "lunge": ("lunge",),
    "boxing": ("box", "punch", "jab", "hook", "uppercut", "spar"),
    "punch": ("punch", "jab", "hook", "uppercut", "strike", "hit"),
    "kick": ("kick",),
    "arm_circles": ("circl",),
    "stretch": ("stretch", "reach", "bend", "touch"),
    "fall_forward": ("fall", "fell", "collaps", "topple"),
    "fall_backward": ("fall", "fell", "collaps", "topple"),
    "fall_sideways": ("fall", "fell", "collaps", "topple"),
    "lie_down": ("lie", "lies", "lying", "lay"),
    "get_up": ("get", "gets", "rise", "rises", "stand", "up"),
    "sit_down": ("sit", "sat", "seat"),
    "stand_up": ("stand", "rise", "rises", "get", "gets", "up"),
    "bend_pick_up": ("bend", "pick", "stoop", "lift"),
    "stand": ("stand", "still", "breath", "idle"),
    "wave": ("wave", "waving"),
    "clap": ("clap", "applau"),
    "drink": ("drink", "sip"),
    "phone_to_ear": ("phone",),
    "swipe_left": ("swip", "sweep"),
    "swipe_right": ("swip", "sweep"),
    "push": ("push",),
    "pull": ("pull",),
    "circle_gesture": ("circl",),
    "knock": ("knock",),
    "raise_hands": ("raise", "rais", "lift", "up"),
}
"""Word stems a paraphrase must contain for each primitive of the program (one of)."""

PERSON_NOUNS = ("man", "woman", "boy", "girl", "person", "lady", "guy", "child", "kid", "people")


def contradiction(paraphrase: str, facts: KeyFacts, vocabulary: list[str]) -> str:
    """Why a paraphrase contradicts the facts ("" when it does not).

    Checks: every stated count appears (as digits or a word); no side/direction/speed word
    opposite to a stated one appears unless the caption also states it; no other activity
    of the vocabulary is named; each action of the program is named (a stem of
    :data:`ACTION_STEMS`); one person only.
    """
    tokens = _tokens(paraphrase)
    token_set = set(tokens)
    for count in facts.counts:
        if str(count) not in token_set and NUMBER_WORDS.get(count, "") not in token_set:
            return f"drops the count {count}"
    for word in token_set & set(OPPOSITES):
        if word not in facts.words and OPPOSITES[word] in facts.words:
            return f"says {word!r} where the motion is {OPPOSITES[word]!r}"
    text = " ".join(tokens)
    own = ACTIVITIES.get(facts.activity)
    own_names = {facts.activity, *(own.synonyms if own else ())}
    for other in vocabulary:
        if other == facts.activity or any(other in name for name in own_names):
            continue
        stem = other.split()[0][:4]  # "walking" -> "walk": the caption may say "walks"
        if re.search(rf"\b{re.escape(other)}\b", text) and stem not in facts.caption:
            return f"names another activity ({other!r})"
    joined = text
    for primitive in facts.primitives:
        if not any(stem in joined for stem in ACTION_STEMS.get(primitive, ())):
            return f"drops the action ({primitive})"
    people = sum(token in PERSON_NOUNS for token in tokens)
    if people > 1 or ({"two", "both"} & token_set and {"people", "persons"} & token_set):
        return "mentions more than one person"
    return ""


def _count_of(program: MotionProgram) -> tuple[str, int] | None:
    for segment in program.segments:
        if "repetitions" in segment.parameters:
            return segment.primitive, int(segment.parameters["repetitions"])
    return None


def make_qa(
    program: MotionProgram,
    activity: Activity,
    tags: list[str],
    rng: np.random.Generator,
) -> list[QAPair]:
    """Four QA pairs (category, temporal, intent, detail) with answers read off the program."""
    main = program.segments[-1]
    aspect = relative_motion(program)
    durations = program.durations_s()
    category_q = [
        "What activity is the person doing?",
        "Which activity does the radar observe?",
        "What is the person doing in front of the radar?",
    ]
    qa = [QAPair(kind="category", question=str(rng.choice(category_q)), answer=activity.name)]

    steps = []
    for index, (segment, duration) in enumerate(zip(program.segments, durations, strict=True)):
        phrase = segment_phrase(segment.primitive, segment.parameters, aspect if index == 0 else "")
        steps.append(f"{phrase} ({duration:.1f} s)")
    if len(steps) == 1:
        temporal = f"a single continuous action: the person {steps[0]}"
    else:
        temporal = "first the person " + ", then ".join(steps)
    temporal_q = [
        "How does the motion unfold over time?",
        "What happens first, and what follows?",
        "Describe the sequence of movements in order.",
    ]
    qa.append(QAPair(kind="temporal", question=str(rng.choice(temporal_q)), answer=temporal))

    intent_q = ["What is the purpose of this movement?", "Why does the person move like this?"]
    qa.append(QAPair(kind="intent", question=str(rng.choice(intent_q)), answer=activity.intent))

    confusable = next((t.split(":", 1)[1] for t in tags if t.startswith("confusable:")), None)
    parameters = main.parameters
    counted = _count_of(program)
    if confusable is not None:
        options = sorted([activity.name, confusable], key=lambda _: rng.random())
        detail = QAPair(
            kind="detail",
            question=f"Is the person doing {options[0]} or {options[1]}?",
            answer=f"{activity.name} ({activity.body_parts})",
        )
    elif counted is not None and main.primitive != "knock":
        primitive, count = counted
        noun = {"squat": "squats", "lunge": "lunges", "punch": "punches", "kick": "kicks"}
        thing = noun.get(primitive, "repetitions")
        detail = QAPair(kind="detail", question=f"How many {thing} are there?", answer=str(count))
    elif "hand" in parameters or "leg" in parameters:
        limb = "hand" if "hand" in parameters else "leg"
        value = parameters[limb]
        answer = {"both": f"both {limb}s", "alternate": f"alternating {limb}s"}.get(
            value, f"the {value} {limb}"
        )
        detail = QAPair(kind="detail", question=f"Which {limb} does the person use?", answer=answer)
    elif "direction" in parameters:
        detail = QAPair(
            kind="detail",
            question="In which direction does the movement go?",
            answer=str(parameters["direction"]),
        )
    elif main.primitive in ("fall_forward", "fall_backward"):
        detail = QAPair(
            kind="detail",
            question="In which direction does the person fall?",
            answer=main.primitive.split("_")[1],
        )
    elif main.primitive in ("walk_forward", "run"):
        answer = {"toward": "toward the radar", "away": "away from the radar"}.get(
            aspect, "across the radar's field of view"
        )
        detail = QAPair(
            kind="detail",
            question="Does the person move toward or away from the radar?",
            answer=answer,
        )
    else:
        detail = QAPair(
            kind="detail", question="Which body parts move the most?", answer=activity.body_parts
        )
    qa.append(detail)
    return qa
