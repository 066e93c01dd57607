"""Leakage guard: a leaky split is refused, a grouped split passes, near-duplicate captions
are caught with a stated threshold."""

from __future__ import annotations

import pytest

from mmexpert.eval.leakage import (
    NEAR_DUPLICATE_THRESHOLD,
    LeakageError,
    check_split,
    leak_free_split,
    leakage_report,
    normalise_caption,
)
from mmexpert.models.synthetic import synthetic_specs


@pytest.fixture(scope="module")
def metadata() -> list[dict]:
    """Metadata of 24 planned samples (real programs and template captions), plus 4 re-seeded
    copies: the same motion program and captions with a new noise seed, which is what a
    careless random split puts on both sides."""
    specs = synthetic_specs(["jumping jacks", "walking", "squats", "waving"], 6, seed=0)
    items = [
        {
            "sample_id": f"s{index:02d}",
            "activity": spec.activity,
            "captions": spec.captions,
            "motion_program": spec.program.model_dump(mode="json"),
        }
        for index, spec in enumerate(specs)
    ]
    copies = [{**items[index], "sample_id": f"copy{index:02d}"} for index in (0, 6, 12, 18)]
    return items + copies


def test_a_random_split_with_reseeded_copies_is_refused(metadata):
    ids = [item["sample_id"] for item in metadata]
    train = [sid for sid in ids if not sid.startswith("copy")]
    test = [sid for sid in ids if sid.startswith("copy")] + ["s01"]
    report = leakage_report(metadata, train, test, encoder=None)
    assert report.leaks and report.leaking_test_ids == [
        "copy00",
        "copy06",
        "copy12",
        "copy18",
        "s01",
    ]
    assert len(report.shared_programs) == 5 and len(report.shared_captions) == 10
    assert report.shared_sample_ids == ["s01"]
    with pytest.raises(LeakageError, match=r"split LEAKS: 5/5 test samples.*leak_free_split"):
        check_split(metadata, train, test, encoder=None)
    allowed = check_split(metadata, train, test, allow_leakage=True, encoder=None)
    assert allowed.leaking_fraction == 1.0


def test_a_rounded_program_match_counts_as_leakage(metadata):
    nudged = {**metadata[1], "sample_id": "nudged"}
    program = {**nudged["motion_program"]}
    placement = {**program["placement"]}
    placement["start_xy_m"] = [value + 0.01 for value in placement["start_xy_m"]]
    program["placement"] = placement
    nudged = {**nudged, "motion_program": program, "captions": ["A new caption entirely."]}
    report = leakage_report([*metadata, nudged], ["s01"], ["nudged"], encoder=None)
    assert not report.shared_programs and len(report.shared_rounded_programs) == 1
    assert report.leaking_test_ids == ["nudged"]


def test_the_grouped_split_is_clean(metadata):
    split = leak_free_split(metadata, test_fraction=0.25, seed=0)
    assert split.test and split.train
    for copy, original in (("copy00", "s00"), ("copy06", "s06")):
        assert (copy in split.test) == (original in split.test), "copies stay together"
    report = check_split(
        metadata, split.train, split.test, encoder="ngram", near_duplicate_threshold=0.999
    )
    assert not report.leaks and report.to_dict()["counts"]["shared_captions"] == 0


def test_near_duplicate_captions_are_caught_by_embedding_similarity():
    train = [
        {
            "sample_id": "a",
            "captions": [
                "A man does small jumping jacks, about 3.4 m from the radar, on its right."
            ],
        }
    ]
    test = [
        {
            "sample_id": "b",
            "captions": ["A man does small jumping jacks about 3.4 m from the radar on its right!"],
        },  # exact after normalising
        {
            "sample_id": "c",
            "captions": [
                "a man does small jumping jack, about 3.4 m from the radar, on its right side."
            ],
        },  # near-duplicate
        {"sample_id": "d", "captions": ["A girl waves with both hands while sitting."]},
    ]
    assert normalise_caption("A  B, c 3.4 m.!") == "a b c 3.4 m"
    report = leakage_report(
        train + test, ["a"], ["b", "c", "d"], encoder="ngram", near_duplicate_threshold=0.9
    )
    assert report.encoder == "char-trigram-hash"
    assert [pair[1] for pair in report.near_duplicate_captions] == [
        "a man does small jumping jack about 3.4 m from the radar on its right side"
    ]
    assert report.leaking_test_ids == ["b", "c"]
    assert 0.9 < NEAR_DUPLICATE_THRESHOLD < 1.0


def test_the_grouped_split_with_caption_clusters_passes_the_embedding_check(metadata):
    near = {
        **metadata[2],
        "sample_id": "near",
        "motion_program": None,
        "captions": [metadata[2]["captions"][0].replace(",", " and")],
    }
    items = [*metadata, near]
    split = leak_free_split(
        items, test_fraction=0.25, seed=3, encoder="ngram", near_duplicate_threshold=0.9
    )
    assert ("near" in split.test) == ("s02" in split.test)
    report = check_split(
        items, split.train, split.test, encoder="ngram", near_duplicate_threshold=0.9
    )
    assert not report.leaks


@pytest.mark.slow
def test_minilm_flags_a_rewording_at_the_stated_threshold():
    train = [
        {
            "sample_id": "a",
            "captions": [
                "A man does small jumping jacks, about 3.4 m from the radar, on its right."
            ],
        }
    ]
    test = [
        {
            "sample_id": "b",
            "captions": [
                "A man is doing small jumping jacks about 3.4 m from the radar, to its right."
            ],
        },
        {
            "sample_id": "c",
            "captions": [
                "A woman does small jumping jacks, about 3.4 m from the radar, on its right."
            ],
        },
    ]
    report = leakage_report(train + test, ["a"], ["b", "c"], encoder="minilm")
    assert report.encoder == "all-MiniLM-L6-v2"
    assert report.leaking_test_ids == ["b"]


def test_unknown_ids_are_named(metadata):
    with pytest.raises(LeakageError, match="unknown sample ids"):
        leakage_report(metadata, ["s00"], ["nope"], encoder=None)
