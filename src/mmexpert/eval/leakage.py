"""Leakage guard: what a train/test split shares, and a refusal when it shares too much.

A test sample *leaks* when any of these holds against the training samples:

* the same sample id;
* the same motion program, exactly (canonical-JSON hash) or after rounding every float to
  ``program_decimals`` places (0.1 m/s, 0.1 rad, 0.1 s by default; what
  :func:`~mmexpert.data.splits.motion_group_key` groups on);
* a caption with the same normalised text (lower case, no punctuation, single spaces);
* a caption whose sentence embedding (all-MiniLM-L6-v2; hashed trigrams as a fallback) has
  cosine similarity >= ``near_duplicate_threshold`` (0.95 by default) with a training caption.

:func:`check_split` raises :class:`LeakageError` for a leaking split unless
``allow_leakage=True``. A split made by :func:`leak_free_split` (grouped on the rounded
motion program and on every caption) has no exact overlap by construction.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmexpert.data.splits import GroupedSplit, grouped_split, rounded_key
from mmexpert.data.store_schema import StoreError, canonical_json

NEAR_DUPLICATE_THRESHOLD = 0.95
"""MiniLM cosine similarity at or above which two captions count as near-duplicates.
Measured with all-MiniLM-L6-v2: a rewording of a template caption ("A man does small jumping
jacks, about 3.4 m ..." vs "A man is doing small jumping jacks about 3.4 m ...") scores
0.978, the same template with another distance and side 0.987 (MiniLM barely sees numbers),
another subject 0.78; captions of different simulated samples of one activity from
:mod:`mmexpert.models.synthetic` scored 0.75 (median) to 0.85 (max) on 12 samples."""


class LeakageError(StoreError):
    """A train/test split whose test samples overlap the training samples."""


@dataclass
class LeakageReport:
    """What a split shares between train and test."""

    train_count: int
    test_count: int
    shared_sample_ids: list[str] = field(default_factory=list)
    shared_programs: list[str] = field(default_factory=list)  # exact program hashes
    shared_rounded_programs: list[str] = field(default_factory=list)  # rounded program keys
    shared_captions: list[str] = field(default_factory=list)  # normalised caption texts
    near_duplicate_captions: list[tuple[str, str, float]] = field(default_factory=list)
    leaking_test_ids: list[str] = field(default_factory=list)
    encoder: str | None = None  # sentence encoder used for near-duplicates (None: skipped)
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD

    @property
    def leaks(self) -> bool:
        """True when any test sample leaks."""
        return bool(self.leaking_test_ids)

    @property
    def leaking_fraction(self) -> float:
        """Fraction of test samples that leak."""
        return len(self.leaking_test_ids) / self.test_count if self.test_count else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form (lists truncated to 20 entries, with full counts)."""

        def head(items: list[Any]) -> list[Any]:
            return [list(item) if isinstance(item, tuple) else item for item in items[:20]]

        return {
            "train_count": self.train_count,
            "test_count": self.test_count,
            "leaks": self.leaks,
            "leaking_fraction": self.leaking_fraction,
            "counts": {
                "shared_sample_ids": len(self.shared_sample_ids),
                "shared_programs": len(self.shared_programs),
                "shared_rounded_programs": len(self.shared_rounded_programs),
                "shared_captions": len(self.shared_captions),
                "near_duplicate_captions": len(self.near_duplicate_captions),
                "leaking_test_samples": len(self.leaking_test_ids),
            },
            "shared_captions": head(self.shared_captions),
            "near_duplicate_captions": head(self.near_duplicate_captions),
            "encoder": self.encoder,
            "near_duplicate_threshold": self.near_duplicate_threshold,
        }

    def summary(self) -> str:
        """One paragraph for people."""
        counts = self.to_dict()["counts"]
        verdict = "LEAKS" if self.leaks else "clean"
        details = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in counts.items())
        return (
            f"split {verdict}: {len(self.leaking_test_ids)}/{self.test_count} test samples "
            f"overlap training ({details}; near-duplicate threshold "
            f"{self.near_duplicate_threshold} with {self.encoder or 'no encoder'})"
        )


def normalise_caption(text: str) -> str:
    """Lower case, punctuation other than decimal points removed, single spaces."""
    words = re.sub(r"[^\w\s.]|\.(?!\d)", " ", str(text).lower())
    return " ".join(words.split())


def _hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()[:16]


def _captions(metadata: Mapping[str, Any]) -> list[str]:
    return [normalise_caption(text) for text in metadata.get("captions") or []]


def _items(source: Any) -> dict[str, dict[str, Any]]:
    if hasattr(source, "records"):
        return {record.sample_id: dict(record.metadata) for record in source.records()}
    return {str(item["sample_id"]): dict(item) for item in source}


def leakage_report(
    source: Any,
    train_ids: Iterable[str],
    test_ids: Iterable[str],
    encoder: str | None = "minilm",
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
    program_decimals: int = 1,
) -> LeakageReport:
    """Measure what test shares with train (see the module docstring).

    Parameters
    ----------
    source
        A :class:`~mmexpert.data.store.DatasetStore`, or metadata dicts with ``sample_id``,
        ``captions`` and ``motion_program``.
    train_ids, test_ids
        The split.
    encoder
        ``"minilm"``, ``"ngram"`` or None (skip the embedding check). MiniLM falls back to
        ``"ngram"`` only if it is not installed (the report names the encoder used).
    near_duplicate_threshold
        Cosine similarity for near-duplicate captions.
    program_decimals
        Decimal places kept when comparing rounded programs.

    Returns
    -------
    LeakageReport
    """
    items = _items(source)
    train, test = list(dict.fromkeys(train_ids)), list(dict.fromkeys(test_ids))
    missing = [sid for sid in [*train, *test] if sid not in items]
    if missing:
        raise LeakageError(f"split names {len(missing)} unknown sample ids, e.g. {missing[:3]}")
    report = LeakageReport(len(train), len(test), near_duplicate_threshold=near_duplicate_threshold)
    leaking: set[str] = set()
    report.shared_sample_ids = sorted(set(train) & set(test))
    leaking.update(report.shared_sample_ids)

    def program_keys(ids: list[str]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        exact: dict[str, set[str]] = {}
        rounded: dict[str, set[str]] = {}
        for sid in ids:
            program = items[sid].get("motion_program")
            if program is None:
                continue
            exact.setdefault(_hash(program), set()).add(sid)
            rounded.setdefault(rounded_key(program, program_decimals), set()).add(sid)
        return exact, rounded

    train_exact, train_rounded = program_keys(train)
    test_exact, test_rounded = program_keys(test)
    report.shared_programs = sorted(set(train_exact) & set(test_exact))
    report.shared_rounded_programs = sorted(set(train_rounded) & set(test_rounded))
    for key in report.shared_programs:
        leaking.update(test_exact[key])
    for key in report.shared_rounded_programs:
        leaking.update(test_rounded[key])

    train_captions = {text for sid in train for text in _captions(items[sid])}
    test_captions: dict[str, set[str]] = {}
    for sid in test:
        for text in _captions(items[sid]):
            test_captions.setdefault(text, set()).add(sid)
    report.shared_captions = sorted(train_captions & set(test_captions))
    for text in report.shared_captions:
        leaking.update(test_captions[text])

    if encoder is not None and train_captions and test_captions:
        report.encoder, pairs = _near_duplicates(
            sorted(train_captions),
            sorted(set(test_captions) - train_captions),
            encoder,
            near_duplicate_threshold,
        )
        report.near_duplicate_captions = pairs
        for _train_text, test_text, _score in pairs:
            leaking.update(test_captions[test_text])
    report.leaking_test_ids = sorted(leaking & set(test))
    return report


def _near_duplicates(
    train_texts: Sequence[str], test_texts: Sequence[str], encoder: str, threshold: float
) -> tuple[str, list[tuple[str, str, float]]]:
    from mmexpert.plan.encoder import EncoderUnavailableError, make_encoder

    try:
        model = make_encoder(encoder)
        train_vectors = model.encode(list(train_texts)) if train_texts else None
    except EncoderUnavailableError:
        model = make_encoder("ngram")
        train_vectors = model.encode(list(train_texts))
    if not test_texts or train_vectors is None:
        return model.name, []
    test_vectors = model.encode(list(test_texts))
    similarity = test_vectors @ train_vectors.T  # (test, train), unit-norm rows
    best = similarity.argmax(1)
    pairs = [
        (train_texts[int(best[row])], test_texts[row], float(similarity[row, best[row]]))
        for row in np.flatnonzero(similarity.max(1) >= threshold)
    ]
    return model.name, pairs


def check_split(
    source: Any,
    train_ids: Iterable[str],
    test_ids: Iterable[str],
    allow_leakage: bool = False,
    **options: Any,
) -> LeakageReport:
    """:func:`leakage_report`, raising when the split leaks.

    Raises
    ------
    LeakageError
        If any test sample leaks and ``allow_leakage`` is False; the message summarises the
        overlap and how to fix it.
    """
    report = leakage_report(source, train_ids, test_ids, **options)
    if report.leaks and not allow_leakage:
        raise LeakageError(
            report.summary()
            + ". Make a grouped split (mmexpert.eval.leakage.leak_free_split) or pass "
            "allow_leakage=True to evaluate anyway."
        )
    return report


def caption_clusters(
    captions: Sequence[str],
    encoder: str = "minilm",
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
) -> dict[str, int]:
    """Cluster normalised captions: two captions whose embeddings reach the threshold share a
    cluster (transitively, union-find).

    Returns
    -------
    dict
        Normalised caption -> cluster id.
    """
    from mmexpert.plan.encoder import EncoderUnavailableError, make_encoder

    texts = sorted({normalise_caption(text) for text in captions})
    if not texts:
        return {}
    try:
        vectors = make_encoder(encoder).encode(texts)
    except EncoderUnavailableError:
        vectors = make_encoder("ngram").encode(texts)
    parent = list(range(len(texts)))

    def find(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    rows, columns = np.nonzero(np.triu(vectors @ vectors.T, 1) >= near_duplicate_threshold)
    for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
        parent[find(row)] = find(column)
    return {text: find(index) for index, text in enumerate(texts)}


def leak_free_group_key(
    program_decimals: int = 1, clusters: Mapping[str, int] | None = None
) -> Any:
    """Group-key function for :func:`~mmexpert.data.splits.grouped_split`: the rounded motion
    program and every caption (or its near-duplicate cluster), so samples sharing either stay
    on one side."""

    def keys(metadata: Mapping[str, Any]) -> list[str]:
        found = [
            f"caption:{clusters[text]}" if clusters and text in clusters else f"caption:{text}"
            for text in _captions(metadata)
        ]
        if metadata.get("motion_program") is not None:
            found.append(f"program:{rounded_key(metadata['motion_program'], program_decimals)}")
        return found

    return keys


def leak_free_split(
    source: Any,
    test_fraction: float = 0.2,
    seed: int = 0,
    encoder: str | None = None,
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
) -> GroupedSplit:
    """A grouped split with no shared program (rounded) and no shared caption; with an
    ``encoder`` (``"minilm"`` or ``"ngram"``) near-duplicate captions are grouped too, so the
    split also passes the embedding check of :func:`check_split`."""
    items = _items(source)
    clusters = None
    if encoder is not None:
        every = [text for item in items.values() for text in item.get("captions") or []]
        clusters = caption_clusters(every, encoder, near_duplicate_threshold)
    metadata = [{**item, "sample_id": sample_id} for sample_id, item in items.items()]
    return grouped_split(
        metadata, leak_free_group_key(clusters=clusters), test_fraction=test_fraction, seed=seed
    )
