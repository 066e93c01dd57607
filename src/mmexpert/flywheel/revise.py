"""Analysis of a validation run and the revisions it leads to.

The decisions are made here, by code, from the numbers: the embedded SmolLM2-135M cannot
classify or reason about activities (it answered "walk" for "collapses to the floor"), so
it is not asked which class is weak or which range to widen. The rules:

* quota: each class's share of the next round is proportional to
  ``1 + QUOTA_GAIN * (1 - accuracy)`` (largest remainder, at least one sample per class);
* weak classes (accuracy below the run's mean, or below ``weak_below``) and the true side of
  every confused pair get a wider parameter range (``widen_level`` + 1, at most 2);
* a confused pair (row-normalised confusion at least ``confusion_rate``) gets a separation
  constraint: parameters both activities share (same primitive parameter name, overlapping
  natural ranges) are restricted, for the true activity, to the side away from the
  look-alike; and the "confusable_pair" strategy is boosted for it;
* weak and confused classes get new descriptions from the LLM (see ``loop``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mmexpert.flywheel.sampling import revised_activity, split_range
from mmexpert.flywheel.state import (
    Analysis,
    ClassPlan,
    ConfusedPair,
    Evaluation,
    Misclassified,
    Revision,
)
from mmexpert.motion import primitive_parameters
from mmexpert.plan import ACTIVITIES, apportion
from mmexpert.plan.strategies import INTENSITY_PARAMETERS, SPEED_PARAMETERS, strategy_primitives

QUOTA_GAIN = 3.0  # a class at 0 % accuracy gets (1 + 3) / 1 = 4x the share of a perfect one
CONFUSABLE_BOOST = 3.0  # multiplier of the "confusable_pair" strategy for a confused class
# how fast and how big: what the radar sees (repetition counts only change the duration)
SEPARABLE_PARAMETERS = SPEED_PARAMETERS + INTENSITY_PARAMETERS


def analyse(
    evaluation: Evaluation,
    predictions: Sequence[tuple[str, str, str, str]] = (),
    weak_below: float = 0.8,
    confusion_rate: float = 0.15,
    max_pairs: int = 3,
    max_examples: int = 8,
) -> Analysis:
    """Weak classes, most-confused pairs and misclassified examples of an evaluation.

    Parameters
    ----------
    evaluation
        Accuracy, per-class accuracy and the confusion matrix (rows true, columns predicted).
    predictions
        ``(sample_id, true activity, predicted activity, caption + " | " + program)`` per
        validation sample (only misclassified ones are kept, up to ``max_examples``).
    weak_below
        A class below this accuracy, or below the mean per-class accuracy, is weak.
    confusion_rate
        Smallest row-normalised confusion (true -> predicted) reported as a pair.
    max_pairs
        Most pairs reported, largest rate first.
    max_examples
        Most misclassified samples kept.

    Returns
    -------
    Analysis
    """
    per_class = dict(evaluation.per_class)
    mean = float(np.mean(list(per_class.values()))) if per_class else 0.0
    weak = sorted(
        (name for name, value in per_class.items() if value < weak_below or value < mean),
        key=lambda name: (per_class[name], name),
    )
    matrix = np.asarray(evaluation.confusion, dtype=np.int64)
    support = matrix.sum(1)
    pairs = []
    for i, true in enumerate(evaluation.classes):
        for j, predicted in enumerate(evaluation.classes):
            if i == j or support[i] == 0 or matrix[i, j] == 0:
                continue
            rate = float(matrix[i, j] / support[i])
            if rate >= confusion_rate:
                pairs.append(
                    ConfusedPair(true=true, predicted=predicted, count=int(matrix[i, j]), rate=rate)
                )
    pairs.sort(key=lambda p: (-p.rate, -p.count, p.true, p.predicted))
    wrong = []
    for sample_id, true, predicted, text in predictions:
        if true != predicted and len(wrong) < max_examples:
            caption, _, program = text.partition(" | ")
            wrong.append(
                Misclassified(
                    sample_id=sample_id,
                    activity=true,
                    predicted=predicted,
                    caption=caption,
                    program=program,
                )
            )
    return Analysis(per_class=per_class, weak=weak, confused=pairs[:max_pairs], misclassified=wrong)


def _natural_range(settings: ClassPlan, primitive: str, name: str) -> tuple[float, float] | None:
    for use in revised_activity(settings).uses:
        if use.primitive != primitive:
            continue
        if name in use.ranges:
            return use.ranges[name]
        for spec in primitive_parameters(primitive):
            if spec["name"] == name and spec["type"] != "choice":
                low, high = float(spec["min"]), float(spec["max"])
                if settings.widen_level >= 1:  # widened draws use the primitive's full range
                    return (low, high)
                span = high - low  # else its middle (see plan.programs)
                return (low + 0.2 * span, high - 0.2 * span)
    return None


def separation_ranges(
    own: ClassPlan, other: ClassPlan
) -> dict[str, dict[str, tuple[float, float]]]:
    """Ranges of ``own``'s parameters shared with ``other``, moved away from ``other``.

    Only parameters whose name both activities use (speed, intensity or repetition counts)
    and whose natural ranges overlap are restricted; an empty result means the two share no
    such parameter (their difference is in the primitives themselves).
    """
    own_uses = [u.primitive for u in ACTIVITIES[own.activity].uses]
    other_uses = [u.primitive for u in ACTIVITIES[other.activity].uses]
    result: dict[str, dict[str, tuple[float, float]]] = {}
    for primitive in own_uses:
        specs = {s["name"] for s in primitive_parameters(primitive)}
        names = specs & set(SEPARABLE_PARAMETERS)
        if "speed_mps" in specs:
            names.discard("cadence_steps_per_s")  # derived from the speed when both exist
        for name in sorted(names):
            for other_primitive in other_uses:
                other_names = {s["name"] for s in primitive_parameters(other_primitive)}
                if name not in other_names:
                    continue
                mine = _natural_range(own, primitive, name)
                theirs = _natural_range(other, other_primitive, name)
                if mine is None or theirs is None:
                    continue
                kept = split_range(mine, theirs)
                if kept is not None:
                    result.setdefault(primitive, {})[name] = (
                        round(kept[0], 3),
                        round(kept[1], 3),
                    )
                break
    return result


def revise_settings(
    settings: Sequence[ClassPlan], analysis: Analysis, count: int
) -> tuple[list[ClassPlan], list[Revision]]:
    """The next round's per-class settings, decided by code from ``analysis``.

    Parameters
    ----------
    settings
        This round's settings (one per class; order kept).
    analysis
        From :func:`analyse`.
    count
        Samples of the next round.

    Returns
    -------
    settings : list of ClassPlan
        With new quotas, widen levels, separation ranges, strategy boosts and the classes
        flagged for LLM descriptions.
    revisions : list of Revision
        Every change, ``source="code"``.
    """
    by_name = {entry.activity: entry.model_copy(deep=True) for entry in settings}
    names = list(by_name)
    revisions: list[Revision] = []
    accuracy = {name: analysis.per_class.get(name, 0.0) for name in names}
    weights = [1.0 + QUOTA_GAIN * (1.0 - accuracy[name]) for name in names]
    minimum = 1 if count >= len(names) else 0
    quotas = apportion(count - minimum * len(names), weights)
    for name, quota in zip(names, quotas, strict=True):
        entry = by_name[name]
        new_quota = quota + minimum
        if new_quota != entry.quota:
            revisions.append(
                Revision(
                    source="code",
                    kind="quota",
                    activity=name,
                    detail=f"quota {entry.quota} -> {new_quota} (accuracy {accuracy[name]:.2f})",
                )
            )
        entry.quota = new_quota
        entry.llm_descriptions = False

    widen = set(analysis.weak) | {pair.true for pair in analysis.confused}
    for name in names:
        if name not in widen:
            continue
        entry = by_name[name]
        entry.llm_descriptions = True
        if entry.widen_level < 2:
            entry.widen_level += 1
            why = "weak" if name in analysis.weak else "confused"
            revisions.append(
                Revision(
                    source="code",
                    kind="widen",
                    activity=name,
                    detail=f"widen level {entry.widen_level - 1} -> {entry.widen_level} ({why}"
                    f", accuracy {accuracy[name]:.2f})"
                    + ("; scene randomization widened" if entry.widen_level == 2 else ""),
                )
            )

    for pair in analysis.confused:
        if pair.true not in by_name or pair.predicted not in by_name:
            continue
        entry, other = by_name[pair.true], by_name[pair.predicted]
        if pair.predicted in entry.separate_from:
            continue
        entry.separate_from.append(pair.predicted)
        ranges = separation_ranges(entry, other)
        for primitive, limits in ranges.items():
            entry.ranges.setdefault(primitive, {}).update(limits)
        boosted = bool(strategy_primitives(ACTIVITIES[pair.true], "confusable_pair"))
        if boosted:
            entry.strategy_boost["confusable_pair"] = CONFUSABLE_BOOST
        parts = [
            f"{primitive}.{name} in [{low:g}, {high:g}]"
            for primitive, limits in ranges.items()
            for name, (low, high) in limits.items()
        ]
        detail = (
            f"{pair.rate:.0%} of {pair.true!r} predicted as {pair.predicted!r}: "
            + ("; ".join(parts) if parts else "no shared parameter to separate")
            + ("; confusable_pair strategy x3" if boosted else "")
        )
        revisions.append(
            Revision(source="code", kind="separate", activity=pair.true, detail=detail)
        )
    return [by_name[name] for name in names], revisions
