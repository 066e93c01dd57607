"""Grouped splits: leaky near-duplicates never straddle train and test."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from mmexpert.data.splits import (
    SplitError,
    grouped_split,
    motion_group_key,
    rounded_key,
)
from mmexpert.data.store import DatasetStore
from mmexpert.data.store_schema import Sample, radar_schema, sample_key


def leaky_metadata(n_programs: int = 40, copies: int = 5, seed: int = 0) -> list[dict]:
    """Samples built as near-duplicates: each program is reused ``copies`` times with its
    parameters jittered by at most 0.004 (well inside the 0.05 rounding half-width), and every
    program with index 0 mod 4 shares a caption cluster with the next (a second leak channel)."""
    rng = np.random.default_rng(seed)
    items = []
    for program_index in range(n_programs):
        base_speed_mps = 0.5 + 0.5 * (program_index % 6)
        base_heading_rad = 0.3 * (program_index // 6)
        linked = program_index % 4 in (0, 1)  # programs 0 and 1, 4 and 5, ... share a cluster
        cluster = f"pair{program_index // 2}" if linked else f"solo{program_index}"
        for copy in range(copies):
            program = {
                "primitive": ["walk", "wave", "sit"][program_index % 3],
                "speed_mps": base_speed_mps + float(rng.uniform(-0.004, 0.004)),
                "heading_rad": base_heading_rad + float(rng.uniform(-0.004, 0.004)),
            }
            items.append(
                {
                    "sample_id": sample_key("leak", program_index, copy),
                    "activity": program["primitive"],
                    "motion_program": program,
                    "caption_cluster": cluster,
                    "program_index": program_index,
                }
            )
    return items


def caption_cluster_key(metadata: dict) -> str:
    return f"caption:{metadata['caption_cluster']}"


def both_keys(metadata: dict) -> list[str]:
    return [motion_group_key(decimals=1)(metadata), caption_cluster_key(metadata)]


def _assert_no_key_straddles(items: list[dict], split, key_function) -> None:
    side = {sample_id: "train" for sample_id in split.train}
    side.update({sample_id: "test" for sample_id in split.test})
    sides_per_key: dict[str, set[str]] = defaultdict(set)
    for item in items:
        keys = key_function(item)
        for key in [keys] if isinstance(keys, str) else keys:
            sides_per_key[key].add(side[item["sample_id"]])
    straddling = [key for key, sides in sides_per_key.items() if len(sides) > 1]
    assert straddling == []


def test_near_duplicates_never_straddle() -> None:
    items = leaky_metadata()
    split = grouped_split(items, group_key=both_keys, test_fraction=0.2, seed=3)
    assert sorted(split.train + split.test) == sorted(item["sample_id"] for item in items)
    assert not set(split.train) & set(split.test)
    _assert_no_key_straddles(items, split, both_keys)
    # Programs 0 and 1 share a caption cluster, so their 10 samples form one component.
    assert split.largest_component == 10
    print(
        f"\nachieved test fraction {split.achieved_test_fraction:.3f} "
        f"(target 0.2, {split.n_components} components)"
    )
    assert abs(split.achieved_test_fraction - 0.2) <= split.largest_component / len(items)


def test_the_leak_is_real_without_grouping() -> None:
    """A plain random split of the same samples does put near-duplicates on both sides."""
    items = leaky_metadata()
    order = random.Random(0).sample(items, len(items))
    test_ids = {item["sample_id"] for item in order[: len(items) // 5]}
    programs_test = {item["program_index"] for item in items if item["sample_id"] in test_ids}
    programs_train = {item["program_index"] for item in items if item["sample_id"] not in test_ids}
    assert programs_test & programs_train


def test_motion_key_alone_merges_jittered_copies() -> None:
    items = leaky_metadata()
    key_function = motion_group_key(decimals=1)
    assert len({key_function(item) for item in items}) == 40
    split = grouped_split(items, group_key=key_function, test_fraction=0.25, seed=1)
    _assert_no_key_straddles(items, split, key_function)
    assert split.n_components == 40 and split.largest_component == 5
    assert split.achieved_test_fraction == pytest.approx(0.25, abs=5 / 200)


def test_split_is_deterministic_and_order_independent() -> None:
    items = leaky_metadata()
    first = grouped_split(items, group_key=both_keys, test_fraction=0.3, seed=11)
    shuffled = random.Random(5).sample(items, len(items))
    again = grouped_split(shuffled, group_key=both_keys, test_fraction=0.3, seed=11)
    assert first == again
    other_seed = grouped_split(items, group_key=both_keys, test_fraction=0.3, seed=12)
    assert other_seed.test != first.test


def test_samples_simulated_again_under_new_ids_keep_their_side() -> None:
    # A changed simulator gives every sample a new id (the id hashes the generator's code);
    # the same programs and captions must still be held out.
    items = leaky_metadata()
    renamed = [{**item, "sample_id": sample_key("new code", item["sample_id"])} for item in items]
    before = grouped_split(
        items, group_key=both_keys, test_fraction=0.3, seed=3, stratify="activity"
    )
    after = grouped_split(
        renamed, group_key=both_keys, test_fraction=0.3, seed=3, stratify="activity"
    )
    held_out_after = set(after.test)
    renamed_back = {
        old["sample_id"]
        for old, new in zip(items, renamed, strict=True)
        if new["sample_id"] in held_out_after
    }
    assert renamed_back == set(before.test)


def test_field_name_keys_and_keyless_samples() -> None:
    items = [
        {"sample_id": "a", "program": "p1"},
        {"sample_id": "b", "program": "p1"},
        {"sample_id": "c", "program": "p2", "cluster": 7},
        {"sample_id": "d", "cluster": 7},
        {"sample_id": "e"},
    ]
    split = grouped_split(items, group_key=["program", "cluster"], test_fraction=0.4, seed=0)
    assert split.n_components == 3  # {a, b}, {c, d}, {e}
    sides = split.assignment()
    assert sides["a"] == sides["b"] and sides["c"] == sides["d"]


def test_rounded_key_merges_within_rounding() -> None:
    assert rounded_key({"v": 1.2001, "w": [-0.0001]}) == rounded_key({"v": 1.1999, "w": [0.0]})
    assert rounded_key({"v": 1.2}) != rounded_key({"v": 1.3})


def test_bad_inputs_are_clear_errors() -> None:
    with pytest.raises(SplitError, match="test_fraction"):
        grouped_split([{"sample_id": "a"}], group_key="x", test_fraction=1.0)
    with pytest.raises(SplitError, match="empty"):
        grouped_split([], group_key="x")
    with pytest.raises(SplitError, match="unique"):
        grouped_split([{"sample_id": "a"}, {"sample_id": "a"}], group_key="x")
    with pytest.raises(SplitError, match="'sample_id'"):
        grouped_split([{"id": "a"}], group_key="x")


def test_split_from_store_and_saved(tmp_path: Path) -> None:
    items = leaky_metadata(n_programs=8, copies=3)
    frames = 10
    with DatasetStore.create(tmp_path / "store", radar_schema()) as store:
        for item in items:
            arrays = {
                "micro_doppler": np.zeros((128, frames), np.float32),
                "range_time": np.zeros((256, frames), np.float32),
                "azimuth_time": np.zeros((128, frames), np.float32),
            }
            metadata = {key: value for key, value in item.items() if key != "sample_id"}
            store.put(Sample(item["sample_id"], arrays, metadata))
        split = grouped_split(store, group_key=both_keys, test_fraction=0.25, seed=0)
        assert split == grouped_split(items, group_key=both_keys, test_fraction=0.25, seed=0)
        store.save_split("default", split.assignment())
        assert sorted(store.split_ids("test")) == split.test
        assert sorted(store.split_ids("train")) == split.train


def test_union_of_keys_is_needed() -> None:
    """Grouping by the motion key alone lets caption-linked programs straddle; both keys don't."""

    def straddles(split) -> bool:
        try:
            _assert_no_key_straddles(items, split, caption_cluster_key)
        except AssertionError:
            return True
        return False

    items = leaky_metadata()
    motion_only = [
        grouped_split(items, group_key=motion_group_key(), test_fraction=0.2, seed=seed)
        for seed in range(5)
    ]
    assert any(straddles(split) for split in motion_only)
    merged = [
        grouped_split(items, group_key=both_keys, test_fraction=0.2, seed=seed) for seed in range(5)
    ]
    assert not any(straddles(split) for split in merged)


def test_stratified_split_gives_every_class_its_share_of_test() -> None:
    # 2 classes x 2 singleton groups at fraction 0.5: unstratified, some seeds put one class
    # wholly in test (and train a one-class model); stratified, each class keeps one of each
    items = [
        {"sample_id": f"{activity}{k}", "activity": activity, "program": f"{activity}{k}"}
        for activity in ("jacks", "squats")
        for k in range(2)
    ]
    unstratified = [
        grouped_split(items, "program", test_fraction=0.5, seed=seed) for seed in range(20)
    ]
    assert any(
        {i[:-1] for i in split.train} == {"jacks"} or {i[:-1] for i in split.train} == {"squats"}
        for split in unstratified
    ), "the failure this guards against"
    for seed in range(20):
        split = grouped_split(items, "program", test_fraction=0.5, seed=seed, stratify="activity")
        assert sorted(i[:-1] for i in split.train) == ["jacks", "squats"]
        assert sorted(i[:-1] for i in split.test) == ["jacks", "squats"]
    # a class with a single sample stays in training at a small fraction
    lone = [*items, {"sample_id": "box0", "activity": "box", "program": "box0"}]
    split = grouped_split(lone, "program", test_fraction=0.2, seed=0, stratify="activity")
    assert "box0" in split.train
