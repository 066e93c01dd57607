"""Planner tests: quotas, programs, captions, QA, paraphrase filter, dedup, repair,
determinism, garbage LLM output, plan files and the CLI.

Fast tests use :class:`ScriptedBackend` (realistic replies and realistic garbage) and the
lexical :class:`NgramEncoder`; tests of the real MiniLM encoder are marked slow.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from mmexpert.llm import CachedBackend, LLMError, ScriptedBackend, StructuredOutputError
from mmexpert.motion import parse_program, synthesize
from mmexpert.plan import (
    ACTIVITIES,
    ACTIVITY_TABLE,
    STRATEGIES,
    NgramEncoder,
    PlanError,
    apportion,
    canonical_caption,
    load_plan,
    make_plan,
    make_qa,
    sample_program,
    save_plan,
    scenario_mentions,
)
from mmexpert.plan.activities import check_table
from mmexpert.plan.captions import NUMBER_WORDS, contradiction, key_facts
from mmexpert.plan.encoder import NGRAM_THRESHOLDS
from mmexpert.plan.planner import _split_lines
from mmexpert.plan.strategies import strategy_primitives

RADHAR = "five fitness exercises: boxing, jumping jacks, jumping, squats, walking"
FALLS = "fall detection for elderly people living alone, radar on the living-room wall"


def good_reply(vocabulary: str = '["boxing", "jumping jacks", "jumping", "squats", "walking"]'):
    """A scripted LLM that answers like a competent model (JSON list, faithful rewrites)."""

    def reply(messages, params):
        last = messages[-1].content
        if "List the distinct" in last:
            return f'{{"activities": {vocabulary}}}'
        sentence = last.split("Sentence: ", 1)[1]
        return (
            "Here are the rewrites:\n"
            f"1. {sentence.replace('the radar', 'the sensor')}\n"
            f"2. {sentence.replace('A ', 'One ', 1).replace('An ', 'One ', 1)}"
        )

    return reply


@pytest.fixture(scope="module")
def encoder():
    return NgramEncoder()


@pytest.fixture(scope="module")
def radhar_plan(encoder):
    return make_plan(RADHAR, 23, ScriptedBackend(good_reply()), encoder=encoder, progress=False)


# ---------------------------------------------------------------- quotas


@pytest.mark.parametrize("total", [0, 1, 6, 20, 97, 1000])
def test_apportion_sums_exactly_and_stays_within_one_of_the_exact_share(total):
    rng = np.random.default_rng(total)
    for _ in range(50):
        weights = list(rng.uniform(0.0, 3.0, size=int(rng.integers(1, 9))))
        weights[0] += 0.1
        parts = apportion(total, weights)
        assert sum(parts) == total
        exact = [w * total / sum(weights) for w in weights]
        assert all(abs(p - e) < 1.0 for p, e in zip(parts, exact, strict=True))


def test_apportion_ties_go_to_earlier_entries_and_bad_input_is_named():
    assert apportion(5, [1, 1, 1]) == [2, 2, 1]
    assert apportion(7, [3, 2, 2]) == [3, 2, 2]
    with pytest.raises(ValueError, match="positive sum"):
        apportion(3, [0, 0])
    with pytest.raises(ValueError, match=">= 0"):
        apportion(-1, [1])


def test_plan_quotas_sum_to_count_and_activities_are_balanced(radhar_plan):
    assert sum(s.quota for s in radhar_plan.subtasks) == 23
    assert len(radhar_plan.samples) == 23
    counts = radhar_plan.report.counts_by_activity
    assert sorted(counts) == sorted(["boxing", "jumping jacks", "jumping", "squats", "walking"])
    assert max(counts.values()) - min(counts.values()) <= 1
    for subtask in radhar_plan.subtasks:
        tagged = [
            s
            for s in radhar_plan.samples
            if s.activity == subtask.activity and s.tags[0] == subtask.strategy
        ]
        assert len(tagged) == subtask.quota


# ---------------------------------------------------------------- vocabulary


def test_activity_table_is_grounded_in_the_motion_library():
    check_table()
    names = [a.name for a in ACTIVITY_TABLE]
    assert len(names) == len(set(names))


def test_scenario_mentions_prefers_the_longer_phrase():
    assert scenario_mentions(RADHAR) == ["boxing", "jumping jacks", "jumping", "squats", "walking"]
    assert scenario_mentions("kids doing jumping jacks") == ["jumping jacks"]
    assert scenario_mentions(FALLS) == ["falling"]


def test_fall_scenario_gets_contrast_activities_and_off_topic_names_are_reported(encoder):
    backend = ScriptedBackend(
        good_reply('["falls", "walking", "elderly people", "watching television"]')
    )
    plan = make_plan(FALLS, 8, backend, encoder=encoder, progress=False, paraphrases=1)
    names = [entry.name for entry in plan.vocabulary.activities]
    assert names[0] == "falling" and "walking" in names
    # one named activity: its look-alikes join as negatives, even with an LLM extra
    assert set(ACTIVITIES["falling"].confusable) <= set(names)
    assert {u.name for u in plan.vocabulary.unmatched} == {"elderly people", "watching television"}
    assert "falls" in plan.vocabulary.activities[0].proposed_as
    falls = [s for s in plan.samples if s.activity == "falling"]
    assert falls and all("falls" in s.description for s in falls)


def test_explicit_scenario_keeps_its_classes_and_lists_llm_extras_as_suggestions(encoder):
    backend = ScriptedBackend(good_reply('["boxing", "running", "squats"]'))
    plan = make_plan(RADHAR, 5, backend, encoder=encoder, progress=False, paraphrases=0)
    assert [e.name for e in plan.vocabulary.activities] == [
        "boxing",
        "jumping jacks",
        "jumping",
        "squats",
        "walking",
    ]
    assert plan.vocabulary.suggested == ["running"]


# ---------------------------------------------------------------- programs and captions


def _all_draws(per_pair: int = 6):
    rng = np.random.default_rng(7)
    for activity in ACTIVITY_TABLE:
        for strategy in STRATEGIES:
            if strategy_primitives(activity, strategy):
                for _ in range(per_pair):
                    yield activity, strategy, *sample_program(activity, strategy, rng)


def test_every_sampled_program_validates_and_stays_in_the_placement_bounds():
    count = 0
    for activity, strategy, program, tags, scene in _all_draws():
        again = parse_program(program.model_dump(mode="json"))
        assert again == program
        assert tags[0] == strategy
        x, y = program.placement.start_xy_m
        assert 1.0 - 0.01 <= math.hypot(x, y) <= 6.0 + 0.01, (activity.name, x, y)  # 1 cm rounding
        # rounding x and y to 1 cm turns the bearing by up to 0.005 * sqrt(2) rad at 1 m
        assert abs(math.atan2(x, y)) <= math.radians(35.0) + 0.0075
        assert 0.8 <= scene.mount_height_m <= 1.5
        primitives = {s.primitive for s in program.segments}
        assert primitives & {u.primitive for u in activity.uses}
        count += 1
    assert count > 700


def _turn_from_facing_rad(program) -> float:
    """Heading minus the direction to the radar, wrapped to (-pi, pi] [rad]."""
    x, y = program.placement.start_xy_m
    turn = program.placement.heading_rad - math.atan2(-y, -x)
    return math.atan2(math.sin(turn), math.cos(turn))


def test_people_facing_the_radar_stand_turned_by_the_stated_spread():
    from mmexpert.plan.programs import HEADING_SPREAD_RAD

    rng = np.random.default_rng(11)
    turns = [
        _turn_from_facing_rad(sample_program(ACTIVITIES["squats"], "single_action", rng)[0])
        for _ in range(400)
    ]
    # a clipped normal of sigma 20 deg: the sample std lies within 15 % of sigma (400 draws)
    assert abs(np.std(turns) / HEADING_SPREAD_RAD - 1.0) < 0.15
    assert abs(np.mean(turns)) < 0.25 * HEADING_SPREAD_RAD
    assert np.max(np.abs(turns)) <= 2.5 * HEADING_SPREAD_RAD + 1e-3


def test_walkers_without_a_direction_variant_go_toward_away_and_across():
    rng = np.random.default_rng(12)
    aspects = {"toward": 0, "away": 0, "across": 0}
    for _ in range(150):
        program, _, _ = sample_program(ACTIVITIES["walking"], "single_action", rng)
        turn = abs(_turn_from_facing_rad(program))
        aspects[
            "toward" if turn < math.pi / 4 else "away" if turn > 3 * math.pi / 4 else "across"
        ] += 1
    # expected 60 / 60 / 30 of 150 (WALK_ASPECTS); each within about 3 standard deviations
    assert 35 <= aspects["toward"] <= 85 and 35 <= aspects["away"] <= 85, aspects
    assert 12 <= aspects["across"] <= 50, aspects


def test_walking_toward_the_radar_never_passes_through_it():
    rng = np.random.default_rng(3)
    for name in ("walking", "falling", "jumping"):
        for _ in range(6):
            program, _, _ = sample_program(ACTIVITIES[name], "single_action", rng)
            joints = synthesize(program, fps=10.0).joints_m
            pelvis_range = np.hypot(joints[:, 0, 0], joints[:, 0, 1])
            assert pelvis_range.min() > 0.8, (name, program.model_dump_json())


def test_captions_state_the_programs_key_facts():
    for activity, _, program, _, _ in _all_draws(per_pair=3):
        caption = canonical_caption(program)
        words = set(re.findall(r"[a-z]+|\d+", caption.lower()))
        for segment in program.segments:
            p = segment.parameters
            if "repetitions" in p and p["repetitions"] > 1:
                count = p["repetitions"] * (3 if segment.primitive == "knock" else 1)
                assert {str(count), NUMBER_WORDS.get(count, "")} & words, caption
            for limb in ("hand", "leg"):
                word = "arm" if segment.primitive == "arm_circles" else limb
                if p.get(limb) in ("left", "right"):
                    assert f"the {p[limb]} {word}" in caption, caption
                if p.get(limb) == "both":
                    assert "with both " in caption or "both hands" in caption, caption
            if segment.primitive in ("fall_forward", "fall_backward"):
                assert segment.primitive.split("_")[1] in caption
            if p.get("direction") in ("clockwise", "counterclockwise"):
                assert p["direction"] in caption
        if activity.name == "falling":
            assert "falls" in caption
        subject = program.subject
        if subject.age_group == "elder":
            assert "elderly" in caption
        if subject.age_group == "child":
            assert ("girl" if subject.sex == "female" else "boy") in caption


def test_direction_relative_to_the_radar_is_stated_from_the_placement():
    program = parse_program(
        {
            "placement": {"start_xy_m": [0.0, 4.0]},
            "segments": [{"primitive": "walk_forward", "parameters": {"speed_mps": 1.0}}],
        }
    )
    assert "toward the radar" in canonical_caption(program)
    away = parse_program(
        {
            "placement": {"start_xy_m": [0.0, 2.0], "heading_rad": math.pi / 2},
            "segments": [{"primitive": "walk_forward", "parameters": {"speed_mps": 1.0}}],
        }
    )
    assert "away from the radar" in canonical_caption(away)


def test_qa_answers_come_from_the_program():
    rng = np.random.default_rng(0)
    for activity, _, program, tags, _ in _all_draws(per_pair=2):
        qa = make_qa(program, activity, tags, rng)
        assert [pair.kind for pair in qa] == ["category", "temporal", "intent", "detail"]
        assert qa[0].answer == activity.name
        assert qa[2].answer == activity.intent
        durations = program.durations_s()
        for duration in durations:
            assert f"({duration:.1f} s)" in qa[1].answer
        if len(program.segments) > 1:
            assert qa[1].answer.startswith("first the person") and ", then " in qa[1].answer
        detail = qa[3]
        main = program.segments[-1].parameters
        if detail.question.startswith("How many"):
            reps = next(
                s.parameters["repetitions"]
                for s in program.segments
                if "repetitions" in s.parameters
            )
            assert detail.answer == str(reps)
        if detail.question.startswith("Which hand"):
            assert main["hand"] in detail.answer
        if detail.question.startswith("Is the person doing"):
            other = next(t.split(":", 1)[1] for t in tags if t.startswith("confusable:"))
            assert other in detail.question and activity.name in detail.question
            assert detail.answer.startswith(activity.name)


# ---------------------------------------------------------------- paraphrase filter


def test_contradiction_check_catches_sides_counts_directions_and_other_activities():
    program = parse_program(
        {"segments": [{"primitive": "punch", "parameters": {"hand": "left", "repetitions": 4}}]}
    )
    caption = canonical_caption(program)
    facts = key_facts(caption, "punching", program)
    vocabulary = ["punching", "boxing", "jumping jacks"]
    assert contradiction("A man punches four times using his left fist.", facts, vocabulary) == ""
    assert "count 4" in contradiction("A man punches with his left fist.", facts, vocabulary)
    assert "'right'" in contradiction(
        "A man punches 4 times with his right hand.", facts, vocabulary
    )
    assert "jumping jacks" in contradiction(
        "A man jabs four times with his left hand between jumping jacks.", facts, vocabulary
    )
    assert "drops the action" in contradiction(
        "A man leans four times to the left.", facts, vocabulary
    )
    assert "more than one person" in contradiction(
        "A man and a woman jab four times with the left hand.", facts, vocabulary
    )
    fall = parse_program({"segments": [{"primitive": "fall_forward"}]})
    fall_facts = key_facts(canonical_caption(fall), "falling", fall)
    assert "backward" in contradiction("The man falls backward.", fall_facts, ["falling"])


def test_paraphrase_reply_parsing_strips_bullets_and_chatter():
    raw = (
        "Sure! Here are 3 rewrites:\n1. A man walks to the radar slowly.\n"
        '- "A person slowly approaches the radar."\n\n{"json": 1}\nok\n'
        "2) A man walks to the radar slowly."
    )
    assert _split_lines(raw) == [
        "A man walks to the radar slowly.",
        "A person slowly approaches the radar.",
    ]


def test_faithful_paraphrases_are_kept_and_the_canonical_caption_is_always_first(radhar_plan):
    report = radhar_plan.report
    assert report.paraphrases_kept > 0
    for sample in radhar_plan.samples:
        assert sample.captions[0] == sample.description
        assert len(sample.captions) == len(set(sample.captions))
        facts = key_facts(sample.description, sample.activity, sample.program)
        names = [e.name for e in radhar_plan.vocabulary.activities]
        for text in sample.captions[1:]:
            assert contradiction(text, facts, names) == ""


def test_garbage_paraphrases_are_rejected_with_reasons_and_samples_keep_their_caption(encoder):
    garbage = iter(
        [
            "",  # empty
            "1.\n2.\n",  # empty items
            "Sure! Here is a recipe for pancakes: mix flour, eggs and milk in a large bowl.",
            '{"paraphrases": []}',
        ]
    )

    def reply(messages, params):
        last = messages[-1].content
        if "List the distinct" in last:
            return '{"activities": ["squats"]}'
        sentence = last.split("Sentence: ", 1)[1]
        flipped = (
            sentence.replace("squats", "@")
            .replace("jumping jacks", "squats")
            .replace("@", "jumping jacks")
        )
        try:
            return next(garbage)
        except StopIteration:
            return (
                f"{flipped}\nA person sits on the sofa watching the evening news.\n"
                "Jacks and squat racks fill the old kitchen where bread and coffee smell."
            )

    plan = make_plan(
        "squats and jumping jacks",
        4,
        ScriptedBackend(reply),
        encoder=encoder,
        progress=False,
        paraphrases=2,
    )
    rejected = plan.report.paraphrases_rejected
    assert rejected.get("empty or unparseable reply", 0) >= 3
    assert any(reason.startswith("names another activity") for reason in rejected)
    assert any(reason.startswith("drops the action") for reason in rejected)
    assert rejected.get("meaning drifted (cosine below threshold)", 0) >= 1
    assert plan.report.paraphrases_kept == 0
    assert all(s.captions == [s.description] for s in plan.samples)


# ---------------------------------------------------------------- garbage at the vocabulary stage


def test_unparseable_vocabulary_replies_raise_a_structured_error_naming_the_stage(encoder):
    garbage = [
        "I think the activities are walking and stuff like that!!",
        "```\nactivities = walking; sitting\n```",
        "The radar is a device that uses radio waves.",
    ]
    with pytest.raises(StructuredOutputError) as caught:
        make_plan(
            "keep an eye on grandma", 5, ScriptedBackend(garbage), encoder=encoder, progress=False
        )
    message = str(caught.value)
    assert "plan.vocabulary" in message and "radio waves" in message
    assert caught.value.attempts == 3


def test_wrong_schema_is_retried_then_accepted(encoder):
    replies = [
        '{"activity_names": "walking"}',  # wrong field
        '{"activities": []}',  # empty list
        "Sure: {'activities': ['walking', 'sitting down',]}",  # single quotes, trailing comma
    ]

    def reply(messages, params):
        if "List the distinct" in messages[1].content and replies:
            return replies.pop(0)
        return "A person moves around the room in front of the radar."

    backend = ScriptedBackend(reply)
    plan = make_plan("keep an eye on grandma", 4, backend, encoder=encoder, progress=False)
    assert [e.name for e in plan.vocabulary.activities] == ["walking", "sitting down"]
    assert plan.vocabulary.llm_names == ["walking", "sitting down"]


def test_off_topic_activities_only_give_a_plan_error_listing_them(encoder):
    backend = ScriptedBackend(['{"activities": ["cooking pasta", "reading a newspaper"]}'])
    with pytest.raises(PlanError, match="cooking pasta"):
        make_plan("a cosy evening at home", 4, backend, encoder=encoder, progress=False)


def test_garbage_vocabulary_with_a_scenario_that_names_activities_falls_back(encoder):
    def reply(messages, params):
        if "List the distinct" in messages[1].content:
            return "no"
        return ""

    plan = make_plan(RADHAR, 5, ScriptedBackend(reply), encoder=encoder, progress=False)
    assert len(plan.vocabulary.activities) == 5
    assert plan.report.llm_failures and "plan.vocabulary" in plan.report.llm_failures[0]


def test_strategy_weights_come_from_calibrated_scoring_and_default_when_scoring_fails(encoder):
    def scorer(messages, choices):
        # a model biased toward "low" whatever the question (+5 nats), with a real signal
        # for speed variants on top; calibration must remove the bias
        question = messages[-1].content
        signal = [3.0 if c == "high" and "slowly or quickly" in question else 0.0 for c in choices]
        return [s + (5.0 if c == "low" else 0.0) for s, c in zip(signal, choices, strict=True)]

    backend = ScriptedBackend(good_reply(), scorer=scorer)
    plan = make_plan(RADHAR, 10, backend, encoder=encoder, progress=False, paraphrases=0)
    relevance = {s.name: s.relevance for s in plan.strategies}
    assert relevance["speed_variant"] == "high"
    assert relevance["single_action"] in ("low", "medium")

    def broken_scorer(messages, choices):
        return [0.0]  # wrong length: the backend raises LLMError

    backend = ScriptedBackend(good_reply(), scorer=broken_scorer)
    plan = make_plan(RADHAR, 10, backend, encoder=encoder, progress=False, paraphrases=0)
    assert all(s.relevance == "default" for s in plan.strategies)
    # the calibration question and each strategy question failed
    assert sum("plan.strategies" in f for f in plan.report.llm_failures) == len(STRATEGIES) + 1


# ---------------------------------------------------------------- dedup and repair


STRICT = NgramEncoder(dataclasses.replace(NGRAM_THRESHOLDS, duplicate=0.93))
"""Calls captions that differ in one or two words near-duplicates (a small motion space)."""


def test_small_motion_spaces_are_deduplicated_and_repaired_to_the_quota():
    encoder = STRICT
    plan = make_plan(
        "standing still",
        40,
        ScriptedBackend(good_reply('["standing still"]')),
        encoder=encoder,
        progress=False,
        paraphrases=0,
    )
    assert len(plan.samples) == 40
    report = plan.report
    assert report.duplicates_resampled > 0
    keys = [" ".join(re.findall(r"\w+", s.description.lower())) for s in plan.samples]
    assert len(set(keys)) == len(keys)
    vectors = encoder.encode([s.description for s in plan.samples])
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, 0.0)
    assert similarity.max() < encoder.thresholds.duplicate
    assert report.repairs > 0


def test_an_impossible_quota_is_a_clear_plan_error():
    with pytest.raises(PlanError, match="cannot fill the quota"):
        make_plan(
            "getting up",
            200,
            ScriptedBackend(good_reply('["getting up"]')),
            encoder=STRICT,
            progress=False,
            paraphrases=0,
        )


# ---------------------------------------------------------------- determinism, files, CLI


def test_same_seed_and_replies_give_identical_plans_and_other_seeds_differ(encoder, tmp_path):
    first = make_plan(RADHAR, 12, ScriptedBackend(good_reply()), encoder=encoder, progress=False)
    second = make_plan(RADHAR, 12, ScriptedBackend(good_reply()), encoder=encoder, progress=False)
    save_plan(first, tmp_path / "a.json")
    save_plan(second, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    other = make_plan(
        RADHAR, 12, ScriptedBackend(good_reply()), seed=1, encoder=encoder, progress=False
    )
    assert other.samples != first.samples


def test_cache_replay_reproduces_a_plan_byte_for_byte(encoder, tmp_path):
    cache = tmp_path / "llm.sqlite"

    def scorer(messages, choices):
        return [float(len(c)) for c in choices]

    live = CachedBackend(ScriptedBackend(good_reply(), scorer=scorer), cache, mode="readwrite")
    plan = make_plan(RADHAR, 10, live, encoder=encoder, progress=False)
    save_plan(plan, tmp_path / "live.json")

    def refuse(messages, params):
        raise AssertionError("replay must not call the model")

    replay = CachedBackend(ScriptedBackend(refuse, scorer=lambda m, c: 1 / 0), cache, mode="replay")
    again = make_plan(RADHAR, 10, replay, encoder=encoder, progress=False)
    save_plan(again, tmp_path / "replay.json")
    assert (tmp_path / "live.json").read_bytes() == (tmp_path / "replay.json").read_bytes()
    with pytest.raises(LLMError):
        make_plan(RADHAR, 10, replay, seed=5, encoder=encoder, progress=False)


def test_plan_file_round_trips_and_the_engine_reads_it(radhar_plan, tmp_path):
    path = save_plan(radhar_plan, tmp_path / "plan.json")
    assert load_plan(path).model_dump() == radhar_plan.model_dump()
    data = json.loads(path.read_text())
    assert {"scenario", "vocabulary", "strategies", "samples"} <= set(data)
    from mmexpert.data.engine import load_specs

    specs = load_specs(path)
    assert specs == radhar_plan.samples
    (tmp_path / "bad.json").write_text('{"scenario": 1}')
    with pytest.raises(PlanError, match="not a valid plan"):
        load_plan(tmp_path / "bad.json")


def test_bad_arguments_are_named(encoder):
    backend = ScriptedBackend(good_reply())
    with pytest.raises(PlanError, match="count"):
        make_plan(RADHAR, 0, backend, encoder=encoder)
    with pytest.raises(PlanError, match="empty"):
        make_plan("  ", 3, backend, encoder=encoder)


def _plan_app():
    """``mmexpert plan`` alone, as a typer app."""
    import typer

    from mmexpert.cli_plan import plan_command

    app = typer.Typer()
    app.command()(plan_command)
    return app


def test_cli_writes_a_plan_and_prints_the_summary(tmp_path):
    app = _plan_app()
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(
        app,
        [
            "--scenario",
            RADHAR,
            "--count",
            "7",
            "--out",
            str(out),
            "--backend",
            "echo",
            "--encoder",
            "ngram",
            "--paraphrases",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "jumping jacks" in result.output and "strategies" in result.output
    assert len(load_plan(out).samples) == 7
    replay = CliRunner().invoke(
        app, ["--scenario", RADHAR, "--count", "7", "--out", str(out), "--replay"]
    )
    assert replay.exit_code == 2 and "--cache" in replay.output


def test_subjects_follow_the_population_the_scenario_names(encoder):
    from mmexpert.plan.planner import scenario_population

    assert scenario_population(FALLS) == "elder"
    assert scenario_population("kids playing in a school gym") == "child"
    assert scenario_population(RADHAR) == "any"
    backend = ScriptedBackend(good_reply('["falls"]'))
    plan = make_plan(FALLS, 40, backend, encoder=encoder, progress=False, paraphrases=0)
    assert plan.population == "elder"
    plain = [s for s in plan.samples if "subject_variety" not in s.tags]
    elders = sum(s.program.subject.age_group == "elder" for s in plain)
    # P(elder) = 0.75 per sample: 14 or more of ~30 fails with probability < 1e-4
    assert elders >= 0.5 * len(plain), (elders, len(plain))
    assert all("elderly" in s.description for s in plain if s.program.subject.age_group == "elder")


def test_every_primitive_has_its_own_caption_phrase_and_action_stems():
    from mmexpert.motion import PRIMITIVES
    from mmexpert.plan.captions import ACTION_STEMS, segment_phrase

    for name in PRIMITIVES:
        phrase = segment_phrase(name, PRIMITIVES[name].resolve({}), "toward")
        # the fallback is the bare primitive name ("A girl hop in place"), never a sentence
        assert phrase != name.replace("_", " "), name
        assert ACTION_STEMS.get(name), name
        assert any(stem in phrase for stem in ACTION_STEMS[name]), (name, phrase)


def test_distance_span_places_every_person_and_bad_spans_are_refused(encoder, tmp_path):
    backend = ScriptedBackend(good_reply())
    plan = make_plan(
        RADHAR, 30, backend, encoder=encoder, progress=False, distance_span_m=(1.3, 2.0)
    )
    assert plan.distance_span_m == (1.3, 2.0)
    for sample in plan.samples:
        distance = math.hypot(*sample.program.placement.start_xy_m)
        # a walker heading for the radar may start up to 1 m beyond the far end
        assert 1.3 - 0.01 <= distance <= 3.0 + 0.01, (sample.tags, distance)
        if "sequence" not in sample.tags and sample.activity in ("squats", "boxing"):
            assert distance <= 2.0 + 0.01, (sample.activity, distance)
    with pytest.raises(PlanError, match="low end exceeds"):
        make_plan(RADHAR, 3, backend, encoder=encoder, distance_span_m=(3.0, 2.0))
    with pytest.raises(PlanError, match=r"0\.5-15 m"):
        make_plan(RADHAR, 3, backend, encoder=encoder, distance_span_m=(0.2, 2.0))
    with pytest.raises(PlanError, match=r"0\.5-15 m"):
        make_plan(RADHAR, 3, backend, encoder=encoder, distance_span_m=(1.0, float("nan")))

    args = ["--scenario", RADHAR, "--count", "5", "--llm", "echo", "--encoder", "ngram"]
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(_plan_app(), [*args, "--out", str(out), "--distance-m", "1,x"])
    assert result.exit_code == 2 and "--distance-m takes LOW,HIGH in m" in result.output


def test_noise_figure_span_sets_every_scene_and_bad_spans_are_refused(encoder, tmp_path):
    backend = ScriptedBackend(good_reply())
    plan = make_plan(
        RADHAR, 6, backend, encoder=encoder, progress=False, noise_figure_span_db=(9.0, 9.0)
    )
    assert {s.scene.noise_figure_offset_db for s in plan.samples} == {9.0}
    with pytest.raises(PlanError, match="low end exceeds"):
        make_plan(RADHAR, 3, backend, encoder=encoder, noise_figure_span_db=(8.0, 2.0))
    with pytest.raises(PlanError, match="less than or equal to 24"):
        make_plan(RADHAR, 3, backend, encoder=encoder, noise_figure_span_db=(0.0, 30.0))

    app = _plan_app()
    args = ["--scenario", RADHAR, "--count", "5", "--backend", "echo", "--encoder", "ngram"]
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--noise-figure-db", "3,5"])
    assert result.exit_code == 0, result.output
    assert all(3.0 <= s.scene.noise_figure_offset_db <= 5.0 for s in load_plan(out).samples)
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--noise-figure-db", "3"])
    assert result.exit_code == 2 and "LOW,HIGH" in result.output
