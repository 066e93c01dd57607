"""Stress test: held-out synthetic accuracy under the ways real point clouds differ.

A user without labelled real data still has to choose between models. The realism report
says how real windows differ from simulated ones (elevations spread further, fewer and
slower movers); this module applies those differences, at fixed strengths, to labelled
synthetic clips and scores the model on each version. The labels stay synthetic, so
nothing real is tuned on, and the mean over the conditions is a label-free way to compare
models for real radar.

Every condition is built from the augmentations of :mod:`mmexpert.models.augment`, fired
with probability 1 at one strength; each clip gets its own generator seeded by
``(seed, repeat, clip index)``, so a report is reproducible and two models see the same
clips. One draw of the perturbations moves a 160-clip accuracy by several points, so each
condition is scored ``repeats`` times with fresh draws and the accuracies averaged. Every
condition changes the point clouds only, so clips without them (the samples of a model
that reads maps alone) are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmexpert.models.augment import ElevationNoise, MotionSpeed, PointDropout
from mmexpert.models.inputs import Augmentation, RawSample


class StressTestError(ValueError):
    """Clips a stress test cannot change (none, or none with a point cloud), or bad
    settings."""


def chain(*steps: Augmentation) -> Augmentation:
    """One augmentation that applies ``steps`` in order with the same generator."""

    def apply(raw: RawSample, rng: np.random.Generator) -> RawSample:
        for step in steps:
            raw = step(raw, rng)
        return raw

    return apply


STRESS_CONDITIONS: dict[str, Augmentation | None] = {
    "as simulated": None,
    "elevation error 0.1 rad": ElevationNoise(1.0, 0.1, 0.1),
    "elevation error 0.2 rad": ElevationNoise(1.0, 0.2, 0.2),
    "elevation error 0.3 rad": ElevationNoise(1.0, 0.3, 0.3),
    "60 % of points dropped": PointDropout(1.0, 0.6),
    "slowed to 0.6x": MotionSpeed(1.0, 0.6, 0.6),
    "all three (0.2 rad, 50 %, 0.7x)": chain(
        ElevationNoise(1.0, 0.2, 0.2), PointDropout(1.0, 0.5), MotionSpeed(1.0, 0.7, 0.7)
    ),
}
"""The conditions of a stress test, by name (None: the clips as stored)."""


@dataclass(frozen=True)
class StressReport:
    """Accuracy and macro-F1 per condition."""

    accuracy: dict[str, float]  # condition -> accuracy (mean over the repeats)
    macro_f1: dict[str, float]  # condition -> macro-F1 (mean over the repeats)
    spread: dict[str, float]  # condition -> std of the accuracy over the repeats
    count: int  # clips scored under each condition
    repeats: int  # draws of each perturbing condition

    @property
    def mean_accuracy(self) -> float:
        """Mean accuracy over the conditions (the figure to compare models by)."""
        return float(np.mean(list(self.accuracy.values())))

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "spread": self.spread,
            "mean_accuracy": self.mean_accuracy,
            "count": self.count,
            "repeats": self.repeats,
        }


def stress_test(
    evaluate: Callable[[Sequence[RawSample]], Mapping[str, Any]],
    raws: Sequence[RawSample],
    conditions: Mapping[str, Augmentation | None] = STRESS_CONDITIONS,
    seed: int = 0,
    repeats: int = 3,
) -> StressReport:
    """Score labelled synthetic clips under every condition.

    Parameters
    ----------
    evaluate
        Labelled raw samples -> a classification report with ``accuracy`` and ``macro_f1``
        (e.g. ``functools.partial(evaluate_model, loaded)``).
    raws
        Labelled raw samples (e.g. a store's held-out split).
    conditions
        Name -> augmentation applied to every clip (None: none).
    seed
        Seeds the per-clip generators.
    repeats
        Draws of each perturbing condition (>= 1); the unperturbed one is scored once.

    Returns
    -------
    StressReport

    Raises
    ------
    StressTestError
        No clip, no clip with a point cloud, or ``repeats`` < 1.
    """
    if not raws:
        raise StressTestError("a stress test needs at least one labelled clip")
    if not any("points" in raw for raw in raws):
        raise StressTestError(
            "a stress test changes point clouds, and these clips hold none (the model reads "
            "maps only)"
        )
    if repeats < 1:
        raise StressTestError(f"repeats must be >= 1, got {repeats}")
    accuracy, macro_f1, spread = {}, {}, {}
    for name, condition in conditions.items():
        reports = []
        for repeat in range(1 if condition is None else repeats):
            changed = list(raws)
            if condition is not None:
                changed = [
                    condition(raw, np.random.default_rng((seed, repeat, index)))
                    for index, raw in enumerate(raws)
                ]
            reports.append(evaluate(changed))
        scores = [float(report["accuracy"]) for report in reports]
        accuracy[name] = float(np.mean(scores))
        macro_f1[name] = float(np.mean([float(report["macro_f1"]) for report in reports]))
        spread[name] = float(np.std(scores))
    return StressReport(
        accuracy=accuracy, macro_f1=macro_f1, spread=spread, count=len(raws), repeats=repeats
    )
