"""Classification and retrieval metrics (numpy only), and a confusion-matrix plot.

* :func:`classification_report`: accuracy, macro-F1, per-class accuracy, confusion matrix.
* :func:`retrieval_metrics`: text-to-radar and radar-to-text R@1/5/10 and MRR from a
  similarity matrix, where several items may match (e.g. captions of the same activity).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


class MetricsError(ValueError):
    """Inputs that metrics cannot be computed from (shape mismatch, empty)."""


def confusion_matrix(
    true_labels: Sequence[int] | np.ndarray, predicted: Sequence[int] | np.ndarray, classes: int
) -> np.ndarray:
    """Counts int64 [classes, classes]: row = true class, column = predicted class."""
    truth = np.asarray(true_labels, dtype=np.int64)
    guess = np.asarray(predicted, dtype=np.int64)
    if truth.shape != guess.shape or truth.ndim != 1:
        raise MetricsError(f"labels {truth.shape} and predictions {guess.shape} must be equal 1-D")
    if len(truth) and (
        min(truth.min(), guess.min()) < 0 or max(truth.max(), guess.max()) >= classes
    ):
        raise MetricsError(f"labels must lie in [0, {classes})")
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (truth, guess), 1)
    return matrix


def classification_report(
    true_labels: Sequence[int] | np.ndarray,
    predicted: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class accuracy (recall) and the confusion matrix.

    Classes absent from ``true_labels`` are left out of macro-F1 and per-class accuracy.

    Returns
    -------
    dict
        ``{"accuracy", "macro_f1", "per_class_accuracy": {name: value}, "confusion":
        [[int]], "classes": [names], "count"}``.
    """
    if len(true_labels) == 0:
        raise MetricsError("no samples to score")
    matrix = confusion_matrix(true_labels, predicted, len(class_names))
    support = matrix.sum(1)
    predicted_count = matrix.sum(0)
    hits = np.diag(matrix)
    present = support > 0
    recall = np.divide(hits, support, out=np.zeros(len(hits)), where=present)
    precision = np.divide(hits, predicted_count, out=np.zeros(len(hits)), where=predicted_count > 0)
    denominator = precision + recall
    f1 = np.divide(
        2 * precision * recall, denominator, out=np.zeros(len(hits)), where=denominator > 0
    )
    return {
        "accuracy": float(hits.sum() / support.sum()),
        "macro_f1": float(f1[present].mean()),
        "per_class_accuracy": {
            str(name): float(recall[index])
            for index, name in enumerate(class_names)
            if present[index]
        },
        "confusion": matrix.tolist(),
        "classes": [str(name) for name in class_names],
        "count": int(support.sum()),
    }


def _ranks(similarity: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """1-based rank of the best-ranked relevant column of every row."""
    order = np.argsort(-similarity, axis=1, kind="stable")
    relevant_sorted = np.take_along_axis(relevant, order, axis=1)
    if not relevant_sorted.any(1).all():
        raise MetricsError("every query needs at least one relevant item")
    return relevant_sorted.argmax(1) + 1


def retrieval_metrics(
    similarity: np.ndarray, relevant: np.ndarray | None = None, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """Recall@k and mean reciprocal rank in both directions.

    Parameters
    ----------
    similarity
        float [radar items, texts]; higher is more similar.
    relevant
        bool [radar items, texts]; True where a text describes a radar item (default: the
        diagonal of a square matrix).
    ks
        The k of Recall@k.

    Returns
    -------
    dict
        ``radar_to_text_R@k``, ``radar_to_text_MRR``, ``text_to_radar_R@k``,
        ``text_to_radar_MRR``.
    """
    similarity = np.asarray(similarity, dtype=np.float64)
    if similarity.ndim != 2 or not similarity.size:
        raise MetricsError(f"similarity must be a non-empty 2-D matrix, got {similarity.shape}")
    if relevant is None:
        if similarity.shape[0] != similarity.shape[1]:
            raise MetricsError("a non-square similarity matrix needs a relevance matrix")
        relevant = np.eye(similarity.shape[0], dtype=bool)
    relevant = np.asarray(relevant, dtype=bool)
    if relevant.shape != similarity.shape:
        raise MetricsError(f"relevance {relevant.shape} != similarity {similarity.shape}")
    out: dict[str, float] = {}
    for direction, sim, rel in (
        ("radar_to_text", similarity, relevant),
        ("text_to_radar", similarity.T, relevant.T),
    ):
        ranks = _ranks(sim, rel)
        for k in ks:
            out[f"{direction}_R@{k}"] = float(np.mean(ranks <= k))
        out[f"{direction}_MRR"] = float(np.mean(1.0 / ranks))
    return out


def plot_confusion_matrix(
    report: dict[str, Any], path: str | os.PathLike[str], title: str = "Confusion matrix"
) -> Path:
    """Save a row-normalised confusion-matrix heat map (PNG) of a
    :func:`classification_report`.

    Returns
    -------
    Path
        The written image.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(report["confusion"], dtype=np.float64)
    rows = matrix.sum(1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    names = report["classes"]
    size = max(4.0, 0.5 * len(names) + 2)
    figure, axes = plt.subplots(figsize=(size, size))
    image = axes.imshow(normalised, vmin=0, vmax=1, cmap="Blues")
    axes.set_xticks(range(len(names)), names, rotation=60, ha="right")
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    # wrapped: a long title (an aligned ensemble's) would run past the figure's edges
    axes.set_title(textwrap.fill(f"{title} (accuracy {report['accuracy']:.2f})", 44))
    for row in range(len(names)):
        for column in range(len(names)):
            if matrix[row, column]:
                axes.text(
                    column,
                    row,
                    int(matrix[row, column]),
                    ha="center",
                    va="center",
                    color="white" if normalised[row, column] > 0.5 else "black",
                    fontsize=8,
                )
    figure.colorbar(image, ax=axes, fraction=0.046)
    figure.tight_layout()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=120)
    plt.close(figure)
    return target
