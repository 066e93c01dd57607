"""Label-free test-time feature alignment: new data's features moved onto the training ones.

A model trained on simulated radar sees real radar through a shifted lens: the same
activity lands elsewhere in its feature space (``RadarEncoder`` output, before the head).
Aligning the features of a whole evaluation set to the statistics of the training
features, then applying the unchanged head, removes the shift that every sample shares.
It uses no label, and no weight changes; it assumes the evaluation set mixes the
activities roughly as training did (it removes a shared shift, and a set of one activity
is all shared shift). Methods (:data:`ADAPT_METHODS`):

* ``mean``: subtract the set's mean feature, add the training mean;
* ``standardize``: the same per feature, dividing by the set's and multiplying by the
  training standard deviation;
* ``coral``: whiten with the set's covariance and colour with the training one (CORAL,
  Sun et al. 2016), both shrunk towards their mean variance by :data:`SHRINKAGE`.

The training statistics (:class:`FeatureStats`) are written with the model, from the
centre window of every training clip, unaugmented (:data:`STATS_FILE`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ADAPT_METHODS: tuple[str, ...] = ("none", "mean", "standardize", "coral")
"""Names accepted by :func:`align_features` (``none``: features unchanged)."""

STATS_FILE = "feature_stats.json"
"""Training feature statistics in a saved model folder."""

MIN_SAMPLES = 20
"""Fewest samples whose statistics are trusted to align [samples]."""

SHRINKAGE = 0.1
"""Weight of the scaled identity in a shrunk covariance (``coral``)."""


class AdaptationError(ValueError):
    """Alignment that cannot run: unknown method, too few samples, no training statistics."""


@dataclass(frozen=True)
class FeatureStats:
    """Mean and covariance of a model's features over its training clips.

    Attributes
    ----------
    mean : float64 [width]
    covariance : float64 [width, width]
    count : int
        Samples they were estimated from.
    """

    mean: np.ndarray
    covariance: np.ndarray
    count: int

    @classmethod
    def of(cls, features: np.ndarray) -> FeatureStats:
        """Statistics of float [samples, width] features (at least 2 samples)."""
        values = np.asarray(features, dtype=np.float64)
        if values.ndim != 2 or len(values) < 2:
            raise AdaptationError(f"need at least 2 feature rows, got shape {values.shape}")
        return cls(values.mean(0), np.cov(values, rowvar=False), len(values))

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write :data:`STATS_FILE` into a model folder."""
        from mmexpert.models.io import atomic_write_bytes

        path = Path(folder) / STATS_FILE
        data = {
            "count": self.count,
            "mean": self.mean.tolist(),
            "covariance": self.covariance.tolist(),
        }
        atomic_write_bytes(path, json.dumps(data).encode())
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> FeatureStats | None:
        """The statistics of a model folder; None when it has none (older models).

        Raises
        ------
        AdaptationError
            For a file that is not valid statistics.
        """
        path = Path(folder) / STATS_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            mean = np.asarray(data["mean"], dtype=np.float64)
            covariance = np.asarray(data["covariance"], dtype=np.float64)
            count = int(data["count"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise AdaptationError(f"{path} is not valid feature statistics: {error!r}") from None
        if mean.ndim != 1 or covariance.shape != (len(mean), len(mean)):
            raise AdaptationError(
                f"{path}: mean of shape {mean.shape} and covariance {covariance.shape} disagree"
            )
        return cls(mean, covariance, count)


def _shrunk(covariance: np.ndarray) -> np.ndarray:
    scale = np.trace(covariance) / len(covariance)
    return (1 - SHRINKAGE) * covariance + SHRINKAGE * scale * np.eye(len(covariance))


def _matrix_power(symmetric: np.ndarray, power: float) -> np.ndarray:
    values, vectors = np.linalg.eigh(symmetric)
    return (vectors * np.clip(values, 1e-12, None) ** power) @ vectors.T


def align_features(features: np.ndarray, source: FeatureStats, method: str) -> np.ndarray:
    """Move a set's features onto the training statistics (see the module docstring).

    Parameters
    ----------
    features
        float [samples, width]: the whole evaluation set's features.
    source
        The training statistics.
    method
        One of :data:`ADAPT_METHODS`.

    Returns
    -------
    np.ndarray
        float32 [samples, width].

    Raises
    ------
    AdaptationError
        Unknown method, fewer than :data:`MIN_SAMPLES` samples, or another width.
    """
    if method not in ADAPT_METHODS:
        raise AdaptationError(f"unknown alignment {method!r}; choose one of {ADAPT_METHODS}")
    values = np.asarray(features, dtype=np.float64)
    if method == "none":
        return values.astype(np.float32)
    if values.ndim != 2 or values.shape[1] != len(source.mean):
        raise AdaptationError(
            f"features of shape {values.shape} do not match training statistics of width "
            f"{len(source.mean)}"
        )
    if len(values) < MIN_SAMPLES:
        raise AdaptationError(
            f"test-time alignment needs at least {MIN_SAMPLES} samples to estimate their "
            f"statistics, got {len(values)}; score without it"
        )
    centred = values - values.mean(0)
    if method == "standardize":
        target_std = np.maximum(centred.std(0), 1e-6)
        centred = centred / target_std * np.sqrt(np.diag(source.covariance))
    elif method == "coral":
        whiten = _matrix_power(_shrunk(np.cov(values, rowvar=False)), -0.5)
        colour = _matrix_power(_shrunk(source.covariance), 0.5)
        centred = centred @ whiten @ colour
    return (centred + source.mean).astype(np.float32)
