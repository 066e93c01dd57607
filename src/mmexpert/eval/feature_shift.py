"""Where unlabelled real windows sit in a model's feature space, and what moves simulated
clips there.

The realism report compares point clouds; this compares what a trained model makes of
them. Let ``f`` be the model's features before its head (``models.predict.radar_features``),
in units of the held-out synthetic features' standard deviation per dimension. The *real
shift* is the mean of ``f`` over the real windows minus its mean over the held-out
synthetic clips. Each candidate gap of the simulator (:data:`SHIFT_CONDITIONS`, built
from the augmentations) is applied to the same held-out clips, and its shift is measured
the same way. A condition explains the real shift when it points the same way (cosine
near 1) and goes as far (``share``, the projection of its shift on the real one divided
by the real shift's length, near 1). No label is read: the real windows are pooled, and the
held-out clips are used as they come. A model whose real shift is small sees the real
windows closer to what it was trained on.

Given an ``accuracy_of`` scorer, each condition also gets the model's held-out accuracy
under it (labels synthetic). To compare models for one device, read the same row for all
of them: the condition that explains a reference model's real shift best. Across twelve
classifiers of one store, the accuracy under the seed-0 default model's closest gap
(elevation 0.3 rad + 60 % dropped) ranked their accuracy on the RadHAR sample with a
Spearman correlation of 0.89; over nine of them the stress test's mean gave -0.61 and the
shift's length 0.56. Each model's own closest gap differs between models, and the
accuracies under those do not rank them (README).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmexpert.eval.stress import chain
from mmexpert.models.augment import (
    ElevationNoise,
    MotionSpeed,
    PointDensity,
    PointDropout,
    PointJitter,
    RadarPose,
)
from mmexpert.models.inputs import Augmentation, RawSample

if TYPE_CHECKING:
    from mmexpert.models.io import LoadedModel


class FeatureShiftError(ValueError):
    """Inputs a feature shift cannot be measured on (no clips, no real windows)."""


SHIFT_CONDITIONS: dict[str, Augmentation] = {
    "elevation error 0.1 rad": ElevationNoise(1.0, 0.1, 0.1),
    "elevation error 0.3 rad": ElevationNoise(1.0, 0.3, 0.3),
    "elevation error 0.5 rad": ElevationNoise(1.0, 0.5, 0.5),
    "60 % of points dropped": PointDropout(1.0, 0.6),
    "90 % of points dropped": PointDropout(1.0, 0.9),
    "slowed to 0.6x": MotionSpeed(1.0, 0.6, 0.6),
    "sped up to 1.3x": MotionSpeed(1.0, 1.3, 1.3),
    "up to 4 copies per mover": PointDensity(1.0, 4.0),
    "jitter 0.1 m, 0.2 m/s": PointJitter(1.0, 0.1, 0.2),
    "radar pose (20 deg, 0.3 m)": RadarPose(1.0),
    "elevation 0.3 rad + 60 % dropped": chain(
        ElevationNoise(1.0, 0.3, 0.3), PointDropout(1.0, 0.6)
    ),
}
"""Candidate simulator gaps, by name: augmentations fired with probability 1."""


@dataclass(frozen=True)
class ShiftRow:
    """One condition's shift of the held-out features, against the real shift."""

    name: str
    size: float  # length of its shift [held-out standard deviations]
    cosine: float  # cosine between its shift and the real shift
    share: float  # projection on the real shift / the real shift's length
    accuracy: float | None = None  # held-out accuracy under the condition (mean of draws)


@dataclass(frozen=True)
class FeatureShiftReport:
    """The real shift and each condition's, best-aligned condition first."""

    real_shift: float  # length of the real shift [held-out standard deviations]
    real_windows: int
    synthetic_clips: int
    rows: list[ShiftRow]
    synthetic_accuracy: float | None = None  # held-out accuracy as simulated
    repeats: int = 1  # draws of each condition

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: ``real_shift``, counts, accuracies, ``rows`` (name, size,
        cosine, share, accuracy)."""
        return asdict(self)


def feature_shift(
    features_of: Callable[[Sequence[RawSample]], np.ndarray],
    synthetic: Sequence[RawSample],
    real: Sequence[RawSample],
    conditions: Mapping[str, Augmentation] = SHIFT_CONDITIONS,
    seed: int = 0,
    accuracy_of: Callable[[Sequence[RawSample], np.ndarray], float] | None = None,
    repeats: int = 3,
) -> FeatureShiftReport:
    """Measure the real shift and each condition's (see the module docstring).

    Parameters
    ----------
    features_of
        Raw samples -> float features [samples, width] (e.g. a partial of
        :func:`mmexpert.models.predict.radar_features`).
    synthetic
        Held-out synthetic clips with point clouds.
    real
        Real windows (their labels, if any, are not read).
    conditions
        Name -> augmentation applied to every synthetic clip.
    seed
        Seeds each clip's generator, ``(seed, draw, clip index)``.
    accuracy_of
        Labelled raw samples and their ``features_of`` features -> accuracy (e.g. a
        classification report's ``accuracy``); None: no accuracy column.
    repeats
        Draws of each condition; shifts and accuracies are averaged over them.

    Returns
    -------
    FeatureShiftReport

    Raises
    ------
    FeatureShiftError
        Fewer than 2 synthetic clips, no real window, or ``repeats`` < 1.
    """
    if repeats < 1:
        raise FeatureShiftError(f"repeats must be >= 1, got {repeats}")
    if len(synthetic) < 2:
        raise FeatureShiftError(f"need at least 2 synthetic clips, got {len(synthetic)}")
    if not real:
        raise FeatureShiftError("no real window to measure")
    reference_features = features_of(synthetic)
    reference = np.asarray(reference_features, dtype=np.float64)
    scale = np.maximum(reference.std(0), 1e-6)
    centre = reference.mean(0)

    def shift(features: np.ndarray) -> np.ndarray:
        return (np.asarray(features, dtype=np.float64).mean(0) - centre) / scale

    real_shift = shift(features_of(real))
    length = float(np.linalg.norm(real_shift))
    rows = []
    for name, condition in conditions.items():
        shifts, accuracies = [], []
        for repeat in range(repeats):
            changed = [
                condition(raw, np.random.default_rng((seed, repeat, index)))
                for index, raw in enumerate(synthetic)
            ]
            features = features_of(changed)  # once per draw: for the shift and the accuracy
            shifts.append(shift(features))
            if accuracy_of is not None:
                accuracies.append(accuracy_of(changed, features))
        moved = np.mean(shifts, axis=0)
        size = float(np.linalg.norm(moved))
        dot = float(moved @ real_shift)
        cosine = dot / (size * length) if size > 0 and length > 0 else 0.0
        share = dot / length**2 if length > 0 else 0.0
        accuracy = float(np.mean(accuracies)) if accuracy_of is not None else None
        rows.append(ShiftRow(name, size, cosine, share, accuracy))
    rows.sort(key=lambda row: -row.cosine)
    return FeatureShiftReport(
        length,
        len(real),
        len(synthetic),
        rows,
        float(accuracy_of(synthetic, reference_features)) if accuracy_of is not None else None,
        repeats,
    )


def model_feature_shift(
    loaded: LoadedModel,
    synthetic: Sequence[RawSample],
    real: Sequence[RawSample],
    repeats: int = 3,
) -> FeatureShiftReport:
    """:func:`feature_shift` of a saved model: its encoder's features, and its held-out
    accuracy read off the same features (:func:`mmexpert.models.predict.evaluate_features`).
    """
    from mmexpert.models.predict import evaluate_features, radar_features

    return feature_shift(
        lambda raws: radar_features(loaded.model, loaded.inputs, raws).cpu().numpy(),
        synthetic,
        real,
        accuracy_of=lambda raws, features: float(
            evaluate_features(loaded, raws, features)["accuracy"]
        ),
        repeats=repeats,
    )


TABLE_COLUMNS = ("condition on the held-out clips", "shift", "cosine", "share", "accuracy")
"""Column titles of :func:`table_rows`."""


def table_rows(report: FeatureShiftReport) -> list[list[str]]:
    """The report's rows as text, one per condition (accuracy "-" where not measured)."""
    return [
        [
            row.name,
            f"{row.size:.2f}",
            f"{row.cosine:+.2f}",
            f"{row.share:+.2f}",
            "-" if row.accuracy is None else f"{row.accuracy:.3f}",
        ]
        for row in report.rows
    ]


def plot_feature_shift(report: FeatureShiftReport, path: str | os.PathLike[str]) -> Path:
    """Bars of each condition's cosine and share against the real shift, its held-out
    accuracy in brackets when measured; returns the PNG."""
    import matplotlib.pyplot as plt

    from mmexpert.eval.plots import save_png

    names = [
        row.name if row.accuracy is None else f"{row.name} ({row.accuracy:.2f})"
        for row in report.rows
    ][::-1]
    positions = np.arange(len(names))
    figure, axes = plt.subplots(figsize=(7.5, 0.4 * len(names) + 1.6))
    axes.barh(positions + 0.2, [row.cosine for row in report.rows][::-1], 0.4, label="cosine")
    axes.barh(positions - 0.2, [row.share for row in report.rows][::-1], 0.4, label="share")
    axes.axvline(0.0, color="black", linewidth=0.8)
    axes.axvline(1.0, color="grey", linewidth=0.8, linestyle="--")
    axes.set_yticks(positions, names)
    axes.set_xlabel("against the real shift (1 = explains it)")
    title = f"real windows: {report.real_shift:.2f} held-out std from the synthetic clips"
    if report.synthetic_accuracy is not None:
        title += f"\n(in brackets: held-out accuracy; {report.synthetic_accuracy:.2f} as simulated)"
    axes.set_title(title, fontsize=10)
    axes.legend(loc="lower right")
    return save_png(figure, Path(path))
