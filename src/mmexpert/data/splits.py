"""Grouped train/test splits: near-identical samples never straddle the boundary.

A test example that is a near-copy of a training example inflates every metric (a RadarLLM
user found exactly that leak). Each sample gets one or more *group keys*, e.g. a hash of its
motion program with parameters rounded (:func:`motion_group_key`) or a caption-embedding
cluster id supplied by the caller. Samples that share any key are merged by union-find into
one component; whole components go to train or test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mmexpert.data.store_schema import StoreError, canonical_json, sample_key

if TYPE_CHECKING:
    from mmexpert.data.store import DatasetStore

GroupKeyFunction = Callable[[Mapping[str, Any]], str | Iterable[str] | None]


class SplitError(StoreError):
    """A split cannot be computed from the given samples or keys."""


def round_floats(value: Any, decimals: int) -> Any:
    """Round every float inside a JSON-like value to ``decimals`` decimal places.

    ``-0.0`` is normalised to ``0.0`` so that it hashes like ``0.0``.
    """
    if isinstance(value, float):
        return round(value, decimals) + 0.0
    if isinstance(value, Mapping):
        return {key: round_floats(item, decimals) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [round_floats(item, decimals) for item in value]
    return value


def rounded_key(value: Any, decimals: int = 1) -> str:
    """Hash of ``value`` with its floats rounded: near-identical values share the key.

    Parameters
    ----------
    value
        JSON-like value (e.g. a motion program dict).
    decimals
        Decimal places kept before hashing. Values on either side of a rounding boundary
        still get different keys; add a second key (e.g. caption clusters) to catch those.

    Returns
    -------
    str
        16-character hex key.
    """
    import json

    return sample_key(round_floats(json.loads(canonical_json(value)), decimals))


def motion_group_key(field: str = "motion_program", decimals: int = 1) -> GroupKeyFunction:
    """Group key function: the rounded hash of one metadata field (the motion program).

    Parameters
    ----------
    field
        Metadata key holding the motion program.
    decimals
        Decimal places kept for float parameters (SI units: 0.1 m/s, 0.1 rad, 0.1 s).

    Returns
    -------
    callable
        ``metadata -> key`` for :func:`grouped_split`.
    """

    def key_of(metadata: Mapping[str, Any]) -> str | None:
        if field not in metadata:
            return None
        return f"{field}:{rounded_key(metadata[field], decimals)}"

    return key_of


@dataclass(frozen=True)
class GroupedSplit:
    """A train/test split computed by :func:`grouped_split`.

    Attributes
    ----------
    train, test
        Sample ids, sorted.
    n_components
        Number of merged groups (union-find components).
    largest_component
        Size of the largest component [samples]; it bounds how close the achieved fraction
        can get to the target.
    target_test_fraction
        The requested test fraction.
    seed
        The seed that ordered the components.
    """

    train: list[str]
    test: list[str]
    n_components: int
    largest_component: int
    target_test_fraction: float
    seed: int

    @property
    def achieved_test_fraction(self) -> float:
        """Fraction of samples in test."""
        total = len(self.train) + len(self.test)
        return len(self.test) / total if total else 0.0

    def assignment(self) -> dict[str, str]:
        """Sample id -> ``"train"`` or ``"test"`` (for :meth:`DatasetStore.save_split`)."""
        return {**{item: "train" for item in self.train}, **{item: "test" for item in self.test}}


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, index: int) -> int:
        root = index
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[index] != root:  # path compression
            self.parent[index], index = root, self.parent[index]
        return root

    def union(self, first: int, second: int) -> None:
        first_root, second_root = self.find(first), self.find(second)
        if first_root != second_root:
            self.parent[max(first_root, second_root)] = min(first_root, second_root)


def _keys_for(
    metadata: Mapping[str, Any], group_key: str | Sequence[str] | GroupKeyFunction
) -> list[str]:
    if callable(group_key):
        produced = group_key(metadata)
        if produced is None:
            return []
        if isinstance(produced, str):
            return [produced]
        return [str(item) for item in produced]
    fields = [group_key] if isinstance(group_key, str) else list(group_key)
    keys = []
    for field in fields:
        if field in metadata and metadata[field] is not None:
            # Namespaced by field, so equal values in different fields do not merge samples.
            keys.append(f"{field}={canonical_json(metadata[field])}")
    return keys


def grouped_split(
    source: DatasetStore | Sequence[Mapping[str, Any]],
    group_key: str | Sequence[str] | GroupKeyFunction,
    test_fraction: float = 0.2,
    seed: int = 0,
    stratify: str | None = None,
) -> GroupedSplit:
    """Split samples into train and test so that no group straddles the two.

    Parameters
    ----------
    source
        A :class:`~mmexpert.data.store.DatasetStore`, or a list of metadata dicts each with a
        ``"sample_id"`` entry.
    group_key
        A metadata field name, a list of field names, or a function ``metadata -> key(s)``
        (e.g. :func:`motion_group_key`, or one returning caption-cluster ids). Samples sharing
        any key end up on the same side; a sample without keys is its own group.
    test_fraction
        Target fraction of samples in test, in (0, 1).
    seed
        Orders the groups; equal inputs and seed give the same split, whatever the input order.
        Groups are ranked by their keys, so samples simulated again under new ids (a changed
        simulator) keep their side.
    stratify
        A metadata field (e.g. ``"activity"``): each of its values gets its own share of test,
        so no class ends up in test alone. A group counts in the stratum of its first sample.

    Returns
    -------
    GroupedSplit
        Train and test ids plus the achieved fraction (whole groups move, so it can differ
        from the target by up to the largest group size / number of samples).

    Raises
    ------
    SplitError
        On an empty source, duplicate or missing sample ids, or a fraction outside (0, 1).
    """
    if not 0.0 < test_fraction < 1.0:
        raise SplitError(f"test_fraction must be within (0, 1), got {test_fraction}")
    if hasattr(source, "records"):
        items = [
            {**record.metadata, "sample_id": record.sample_id, "activity": record.activity}
            for record in source.records()
        ]
    else:
        items = list(source)
    if not items:
        raise SplitError("cannot split an empty set of samples")
    try:
        ids = sorted(str(item["sample_id"]) for item in items)
    except KeyError as error:
        raise SplitError("every metadata dict needs a 'sample_id' entry") from error
    if len(set(ids)) != len(ids):
        raise SplitError("sample ids must be unique to split them")
    metadata_by_id = {str(item["sample_id"]): item for item in items}
    position = {sample_id: index for index, sample_id in enumerate(ids)}
    keys_by_id = {sample_id: _keys_for(metadata_by_id[sample_id], group_key) for sample_id in ids}

    union_find = _UnionFind(len(ids))
    first_owner: dict[str, int] = {}
    for sample_id in ids:
        index = position[sample_id]
        for key in keys_by_id[sample_id]:
            owner = first_owner.setdefault(key, index)
            union_find.union(owner, index)

    # Samples and groups are ordered by their group keys, not their ids: an id hashes the
    # generator's code, so ordering by ids moved the split whenever the simulator changed.
    def order_key(sample_id: str) -> tuple[list[str], str]:
        return sorted(keys_by_id[sample_id]) or [f"\uffff{sample_id}"], sample_id

    components: dict[int, list[str]] = {}
    for sample_id in sorted(ids, key=order_key):
        components.setdefault(union_find.find(position[sample_id]), []).append(sample_id)
    ordered = sorted(components.values(), key=lambda members: order_key(members[0]))
    permutation = np.random.default_rng(seed).permutation(len(ordered))

    strata: dict[str, list[list[str]]] = {}
    for component_index in permutation:
        members = ordered[int(component_index)]
        stratum = "" if stratify is None else str(metadata_by_id[members[0]].get(stratify))
        strata.setdefault(stratum, []).append(members)
    test: list[str] = []
    train: list[str] = []
    for groups in strata.values():
        target = test_fraction * sum(len(members) for members in groups)
        taken = 0
        for members in groups:
            # Take a group into test only if that brings the test size closer to the target.
            if abs(taken + len(members) - target) < abs(taken - target):
                test.extend(members)
                taken += len(members)
            else:
                train.extend(members)
    return GroupedSplit(
        train=sorted(train),
        test=sorted(test),
        n_components=len(ordered),
        largest_component=max(len(members) for members in ordered),
        target_test_fraction=test_fraction,
        seed=seed,
    )
