"""JSON repair, schema validation with retries, and constrained choices (no model needed)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from mmexpert.llm import (
    ChoiceError,
    GenerationParams,
    JSONExtractionError,
    Message,
    ScriptedBackend,
    StructuredOutputError,
    choose,
    complete_structured,
    extract_json,
    match_option,
)
from mmexpert.llm.structured import schema_hint


class Activity(BaseModel):
    name: str
    speed_mps: float = Field(gt=0)
    tags: list[str] = []


EXPECTED = {"name": "walk", "speed_mps": 1.2, "tags": ["slow", "indoor"]}

# Replies in the shapes small models actually produce, each with the same intended value.
GARBAGE_REPLIES = [
    '{"name": "walk", "speed_mps": 1.2, "tags": ["slow", "indoor"]}',
    'Sure! Here is the JSON:\n```json\n{"name": "walk", "speed_mps": 1.2, '
    '"tags": ["slow", "indoor"]}\n```\nLet me know if you need more.',
    "```\n{'name': 'walk', 'speed_mps': 1.2, 'tags': ['slow', 'indoor'],}\n```",
    'The activity is {"name": "walk", "speed_mps": 1.2, "tags": ["slow", "indoor",],} as asked.',
    '{name: "walk", speed_mps: 1.2, tags: ["slow", "indoor"]}',
    '{\n  // the activity\n  "name": "walk",\n  "speed_mps": 1.2,\n'
    '  "tags": ["slow", "indoor"]  # two tags\n}',
    "{\u201cname\u201d: \u201cwalk\u201d, \u201cspeed_mps\u201d: 1.2, "
    "\u201ctags\u201d: [\u201cslow\u201d, \u201cindoor\u201d]}",
    '{"name": "walk", "speed_mps": 1.2, "tags": ["slow", "indoor"',  # truncated
    "Here you go: {'name': 'walk', 'speed_mps': 1.2, 'tags': ['slow', 'indoor']} Hope it helps, "
    "it's simple.",
]


@pytest.mark.parametrize("reply", GARBAGE_REPLIES)
def test_extract_json_recovers_realistic_garbage(reply: str) -> None:
    assert extract_json(reply) == EXPECTED


def test_extract_json_keeps_string_content_and_literals() -> None:
    value = extract_json(
        "{'note': \"it's 5 o'clock, \\\"ok\\\"\", 'ok': True, 'x': None, 'e': 1e-3}"
    )
    assert value == {"note": "it's 5 o'clock, \"ok\"", "ok": True, "x": None, "e": 1e-3}


@pytest.mark.parametrize("reply", ["", "I cannot help with that.", "name = walk"])
def test_extract_json_without_json_raises(reply: str) -> None:
    with pytest.raises(JSONExtractionError, match="no JSON"):
        extract_json(reply)


def test_complete_structured_retries_with_feedback() -> None:
    backend = ScriptedBackend(
        [
            "I think the person walks.",  # no JSON
            '{"name": "walk", "speed_mps": -1}',  # violates speed_mps > 0
            "```json\n{'name': 'walk', 'speed_mps': 1.2, 'tags': ['slow', 'indoor'],}\n```",
        ]
    )
    result = complete_structured(
        backend, [Message.user("Describe the activity.")], Activity, stage="plan.vocabulary"
    )
    assert result == Activity(**EXPECTED)
    assert len(backend.calls) == 3
    # The first request names the expected fields; the retry shows the validation error.
    assert '"speed_mps": "<number>"' in backend.calls[0][-1].content
    retry = backend.calls[2]
    assert retry[-2].role == "assistant" and retry[-2].content.startswith('{"name"')
    assert "greater than 0" in retry[-1].content


def test_structured_output_error_names_stage_reply_and_error() -> None:
    bad = "Of course! The answer is: walking slowly " + "blah " * 300
    backend = ScriptedBackend(['{"name": "walk"}', bad])
    with pytest.raises(StructuredOutputError) as caught:
        complete_structured(
            backend, [Message.user("Describe.")], Activity, max_attempts=2, stage="plan.split"
        )
    error = caught.value
    message = str(error)
    assert "stage 'plan.split'" in message
    assert "no valid Activity after 2 attempt(s)" in message
    assert "Of course! The answer is: walking slowly" in message  # the raw reply ...
    assert "[truncated]" in message and len(message) < 1200  # ... cut to a readable size
    assert "no JSON object or array" in message
    assert error.raw_reply == bad and error.attempts == 2 and error.stage == "plan.split"
    assert len(backend.calls) == 2


def test_structured_output_error_shows_the_validation_error() -> None:
    backend = ScriptedBackend(['{"name": "walk"}'] * 3)
    with pytest.raises(StructuredOutputError, match=r"(?s)speed_mps.*Field required"):
        complete_structured(backend, [Message.user("Describe.")], Activity, stage="plan.qa")
    assert len(backend.calls) == 3


def test_placeholder_copies_are_rejected_and_retries_sample() -> None:
    backend = ScriptedBackend(
        ['{"name": "string", "speed_mps": 1.0}', '{"name": "walk", "speed_mps": 1.0}']
    )
    result = complete_structured(backend, [Message.user("Describe.")], Activity, stage="s")
    assert result.name == "walk"
    assert "field 'name' holds the placeholder 'string'" in backend.calls[1][-1].content


def test_prefill_opens_the_object_for_the_model() -> None:
    backend = ScriptedBackend([' "walk", "speed_mps": 1.2, "tags": ["slow", "indoor"]}'])
    result = complete_structured(
        backend, [Message.user("Describe.")], Activity, stage="s", prefill=True
    )
    assert result == Activity(**EXPECTED)
    assert backend.calls[0][-1] == Message.assistant('{"name":')


def test_schema_hint_uses_field_descriptions() -> None:
    class Plan(BaseModel):
        activities: list[str] = Field(description="activity names, e.g. walking")
        count: int

    assert schema_hint(Plan) == (
        '{"activities": ["<activity names, e.g. walking>"], "count": "<integer>"}'
    )


def test_match_option_fuzzy() -> None:
    options = ["walk", "run", "sit_down", "wave_hand"]
    assert match_option("Run.", options) == "run"
    assert match_option("The answer is: sit down", options) == "sit_down"
    assert match_option("wave hands", options) == "wave_hand"
    assert match_option("I would say walkk", options) == "walk"
    assert match_option("banana", options) is None


def test_choose_falls_back_to_asking_and_matching() -> None:
    backend = ScriptedBackend(["Answer: Sit down", "pizza"])
    options = ["walk", "sit_down"]
    question = [Message.user("Which activity lowers the body?")]
    assert choose(backend, question, options) == "sit_down"
    assert "Answer with exactly one of: walk, sit_down." in backend.calls[0][-1].content
    with pytest.raises(ChoiceError, match="pizza"):
        choose(backend, question, options, GenerationParams(max_tokens=8))


def test_choose_uses_scores_when_available() -> None:
    def scorer(messages: list[Message], choices: list[str]) -> list[float]:
        return [-float(len(choice)) for choice in choices]  # shortest wins

    backend = ScriptedBackend([], scorer=scorer)
    assert choose(backend, [Message.user("Pick.")], ["jumping", "run", "walking"]) == "run"
    assert backend.calls == []  # no generation was needed


def test_choose_rejects_bad_options() -> None:
    backend = ScriptedBackend(["walk"])
    with pytest.raises(ValueError, match="distinct"):
        choose(backend, [Message.user("Pick.")], ["walk", "walk"])
    with pytest.raises(ValueError, match="non-empty"):
        choose(backend, [Message.user("Pick.")], [])
