"""Inference with a saved model: predictions on a store or a products file, and evaluation.

* :func:`predict`: per-sample class scores. A CLIP model scores the given class names
  (zero-shot, prompt ensembling; default: its training activities); a classifier uses its
  stored class list.
* :func:`class_probabilities`, :func:`ensemble_probabilities`: class probabilities of one
  model, and their mean over several (e.g. the same recipe trained with several seeds).
* :func:`evaluate_classifier`, :func:`evaluate_zero_shot`, :func:`evaluate_ensemble`,
  :func:`evaluate_retrieval`: metrics dicts from :mod:`mmexpert.eval.metrics`;
  :func:`evaluate_features` scores features already computed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from mmexpert.data.store import DatasetStore
from mmexpert.eval.metrics import classification_report, retrieval_metrics
from mmexpert.models.adapt import STATS_FILE, AdaptationError, align_features
from mmexpert.models.inputs import RadarModelDataset, RawSample, collate, load_raw_samples
from mmexpert.models.io import InputSettings, LoadedModel, load_model
from mmexpert.models.models import RadarClassifier, RadarTextModel
from mmexpert.models.zeroshot import PROMPT_TEMPLATES, class_embeddings


class PredictionError(ValueError):
    """Inputs that cannot be predicted on (unknown file kind, no classes for CLIP...)."""


def load_inputs(
    path: str | os.PathLike[str],
    views: Sequence[str],
    split: str | None = None,
    split_name: str = "default",
) -> list[RawSample]:
    """Raw samples from a dataset store folder or one products ``.npz`` file.

    Raises
    ------
    PredictionError
        If ``path`` is neither.
    """
    source = Path(path)
    if source.is_file() and source.suffix == ".npz":
        from mmexpert.data.products import SimulationProducts
        from mmexpert.models.inputs import raw_sample_from_products

        return [raw_sample_from_products(SimulationProducts.load(source), source.stem)]
    if source.is_dir():
        with DatasetStore.open(source) as store:
            ids = None if split is None else store.split_ids(split, split_name=split_name)
            return load_raw_samples(store, ids, views)
    raise PredictionError(f"{source} is neither a dataset store folder nor a products .npz file")


def load_models(
    model_dirs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], device: str = "cpu"
) -> list[LoadedModel]:
    """One saved model folder, or several (an ensemble's members), loaded in the order given."""
    folders = [model_dirs] if isinstance(model_dirs, str | os.PathLike) else list(model_dirs)
    return [load_model(folder, device=device) for folder in folders]


def member_views(members: Sequence[LoadedModel]) -> list[str]:
    """Every view some member reads, in order: what to load once for all of them."""
    return list(dict.fromkeys(view for loaded in members for view in loaded.inputs.views))


def _batches(
    inputs: InputSettings, device: torch.device, raws: Sequence[RawSample], batch_size: int
) -> Any:
    dataset = RadarModelDataset(
        raws,
        inputs.views,
        [],  # no labels: inference
        window_frames=inputs.window_frames,
        dynamic_range_db=inputs.dynamic_range_db,
        max_points=inputs.max_points,
    )
    for start in range(0, len(dataset), batch_size):
        batch = collate(
            [dataset[index] for index in range(start, min(len(dataset), start + batch_size))]
        )
        batch.pop("label")  # inference: no loss (unlabelled files carry label -1)
        yield {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


@torch.no_grad()
def radar_features(
    model: RadarTextModel | RadarClassifier,
    inputs: InputSettings,
    raws: Sequence[RawSample],
    batch_size: int = 32,
) -> torch.Tensor:
    """The radar encoder's output float32 [samples, width], before the head (a classifier's
    linear layer, a CLIP model's projection): what :mod:`mmexpert.models.adapt` aligns."""
    model.eval()
    device = next(model.parameters()).device
    rows = [model.radar(batch) for batch in _batches(inputs, device, raws, batch_size)]
    if not rows:
        return torch.zeros(0, model.radar.width, device=device)
    return torch.cat(rows)


def _aligned_features(
    loaded: LoadedModel, raws: Sequence[RawSample], adapt: str, batch_size: int
) -> torch.Tensor:
    features = radar_features(loaded.model, loaded.inputs, raws, batch_size)
    if adapt == "none":
        return features
    if loaded.feature_stats is None:
        raise AdaptationError(
            f"{loaded.folder} has no training feature statistics ({STATS_FILE}; models "
            "saved before 2026-12-04 lack them): run the same `mmexpert train` command again "
            "(a finished training resumes at once and saves them), or score with --adapt none"
        )
    aligned = align_features(features.cpu().numpy(), loaded.feature_stats, adapt)
    return torch.from_numpy(aligned).to(features.device)


@torch.no_grad()
def scores_of_features(
    loaded: LoadedModel,
    features: torch.Tensor,
    classes: Sequence[str] | None = None,
    templates: Sequence[str] = PROMPT_TEMPLATES,
) -> tuple[list[str], np.ndarray]:
    """The head of :func:`class_scores` on features already computed (those of
    :func:`radar_features`, aligned or not): float32 [samples, classes].

    Raises
    ------
    PredictionError
        A CLIP model without class names, or classes a classifier does not know.
    """
    model = loaded.model.eval()
    if isinstance(model, RadarTextModel):
        names = list(classes) if classes else list(loaded.classes)
        if not names:
            raise PredictionError("a CLIP model needs class names (--classes 'a,b,c')")
        text = class_embeddings(model, names, templates)
        scores = F.normalize(model.radar_projection(features), dim=-1) @ text.T
    else:
        names = list(loaded.classes)
        if classes and list(classes) != names:
            unknown = sorted(set(classes) - set(names))
            if unknown:
                raise PredictionError(
                    f"this classifier knows only {names}; it cannot score {unknown}"
                )
        scores = model.head(features).softmax(-1)
    return names, scores.cpu().numpy().astype(np.float32)


def class_scores(
    loaded: LoadedModel,
    raws: Sequence[RawSample],
    classes: Sequence[str] | None = None,
    batch_size: int = 32,
    templates: Sequence[str] = PROMPT_TEMPLATES,
    adapt: str = "none",
) -> tuple[list[str], np.ndarray]:
    """Scores float32 [samples, classes]: softmax probabilities of a classifier, or cosine
    similarities of a CLIP model to the prompt-ensembled class names.

    ``adapt`` (see :mod:`mmexpert.models.adapt`) aligns the features of all ``raws``
    together to the training statistics before the head; ``"none"`` scores each sample on
    its own.

    Raises
    ------
    PredictionError
        A CLIP model without class names, or classes a classifier does not know.
    AdaptationError
        An alignment that cannot run (no training statistics, too few samples).
    """
    features = _aligned_features(loaded, raws, adapt, batch_size)
    return scores_of_features(loaded, features, classes, templates)


def class_probabilities(
    loaded: LoadedModel,
    raws: Sequence[RawSample],
    classes: Sequence[str] | None = None,
    batch_size: int = 32,
    adapt: str = "none",
) -> tuple[list[str], np.ndarray]:
    """Probabilities float32 [samples, classes] summing to 1 per row: a classifier's softmax,
    or a CLIP model's similarities softmaxed at its learned temperature (the same ranking as
    :func:`class_scores`, with the same ``adapt``)."""
    names, scores = class_scores(loaded, raws, classes, batch_size, adapt=adapt)
    if isinstance(loaded.model, RadarTextModel):
        scale = float(loaded.model.logit_scale.detach().exp().cpu())
        scores = torch.from_numpy(scale * scores).softmax(-1).numpy()
    return names, scores


@dataclass(frozen=True)
class EnsembleScores:
    """Class probabilities of several models on the same samples.

    Attributes
    ----------
    names : list of str
        Class order of every array.
    mean : float32 [samples, classes]
        The members' probabilities averaged: the ensemble's scores.
    members : list of float32 [samples, classes]
        Each member's probabilities, in the order given.
    """

    names: list[str]
    mean: np.ndarray
    members: list[np.ndarray]


def ensemble_probabilities(
    members: Sequence[LoadedModel],
    raws: Sequence[RawSample],
    classes: Sequence[str] | None = None,
    batch_size: int = 32,
    adapt: str = "none",
) -> EnsembleScores:
    """Mean class probabilities of several models (one model: its own probabilities).

    Averaging probabilities, not logits, keeps a CLIP member and a classifier on the same
    scale; members must choose among the same classes (in any order). With ``adapt``, each
    member aligns its own features (see :func:`class_scores`).

    Raises
    ------
    PredictionError
        No member, or members whose classes differ.
    """
    if not members:
        raise PredictionError("an ensemble needs at least one model")
    names: list[str] = []
    rows: list[np.ndarray] = []
    for loaded in members:
        member_names, probabilities = class_probabilities(loaded, raws, classes, batch_size, adapt)
        if not names:
            names = member_names
        elif set(member_names) != set(names):
            raise PredictionError(
                f"the models of an ensemble must choose among the same classes: "
                f"{loaded.folder} knows {sorted(member_names)}, the first {sorted(names)}"
            )
        order = [member_names.index(name) for name in names]
        rows.append(probabilities[:, order])
    return EnsembleScores(names, np.mean(rows, axis=0).astype(np.float32), rows)


def predict(
    model_dir: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    data: str | os.PathLike[str],
    classes: Sequence[str] | None = None,
    device: str = "cpu",
) -> list[dict[str, Any]]:
    """Predict the activity of every sample of a store, or of one products ``.npz``.

    ``model_dir`` is one saved model folder or several (an ensemble: the scores are the
    members' mean class probabilities, see :func:`ensemble_probabilities`).

    Returns
    -------
    list of dict
        ``{"sample_id", "prediction", "scores": {class: score}, "activity"}`` per sample
        (``activity`` is the stored label, None for a products file). One model's scores are
        those of :func:`class_scores`.
    """
    members = load_models(model_dir, device)
    raws = load_inputs(data, member_views(members))
    if len(members) == 1:
        names, scores = class_scores(members[0], raws, classes)
    else:
        ensemble = ensemble_probabilities(members, raws, classes)
        names, scores = ensemble.names, ensemble.mean
    return [
        {
            "sample_id": raw["sample_id"],
            "prediction": names[int(np.argmax(row))],
            "scores": {name: float(value) for name, value in zip(names, row, strict=True)},
            "activity": raw.get("activity"),
        }
        for raw, row in zip(raws, scores, strict=True)
    ]


def _report(raws: Sequence[RawSample], names: list[str], scores: np.ndarray) -> dict[str, Any]:
    index = {name: position for position, name in enumerate(names)}
    keep = [i for i, raw in enumerate(raws) if raw.get("activity") in index]
    if not keep:
        raise PredictionError(f"no sample has an activity among {names}")
    truth = [index[raws[i]["activity"]] for i in keep]
    guess = np.argmax(scores[keep], axis=1)
    return classification_report(truth, guess, names)


def evaluate_classifier(
    loaded: LoadedModel, raws: Sequence[RawSample], adapt: str = "none"
) -> dict[str, Any]:
    """Classification report of a classifier on labelled raw samples."""
    names, scores = class_scores(loaded, raws, adapt=adapt)
    return _report(raws, names, scores)


def evaluate_features(
    loaded: LoadedModel, raws: Sequence[RawSample], features: np.ndarray | torch.Tensor
) -> dict[str, Any]:
    """Classification report of labelled raw samples from their features (those of
    :func:`radar_features` on ``raws``): :func:`evaluate_model` without recomputing them."""
    device = next(loaded.model.parameters()).device
    names, scores = scores_of_features(loaded, torch.as_tensor(features, device=device))
    return _report(raws, names, scores)


def evaluate_zero_shot(
    loaded: LoadedModel,
    raws: Sequence[RawSample],
    class_names: Sequence[str],
    adapt: str = "none",
) -> dict[str, Any]:
    """Zero-shot classification report of a CLIP model over ``class_names`` (samples of other
    activities are left out)."""
    names, scores = class_scores(loaded, raws, class_names, adapt=adapt)
    return _report(raws, names, scores)


def evaluate_model(
    loaded: LoadedModel,
    raws: Sequence[RawSample],
    class_names: Sequence[str] | None = None,
    adapt: str = "none",
) -> dict[str, Any]:
    """Classification report of either family: a classifier over its own activities, a CLIP
    model zero-shot over ``class_names`` (default: the classes it was trained on; a
    classifier ignores them)."""
    if isinstance(loaded.model, RadarTextModel):
        return evaluate_zero_shot(loaded, raws, class_names or loaded.classes, adapt)
    return evaluate_classifier(loaded, raws, adapt)


def evaluate_ensemble(
    members: Sequence[LoadedModel],
    raws: Sequence[RawSample],
    class_names: Sequence[str] | None = None,
    adapt: str = "none",
) -> dict[str, Any]:
    """Classification report of the members' mean class probabilities (one member: that of
    :func:`evaluate_model`). CLIP members score ``class_names`` (default: the first member's
    training classes); classifiers ignore them, as in :func:`evaluate_model`."""
    if len(members) == 1:
        return evaluate_model(members[0], raws, class_names, adapt)
    clip = any(isinstance(loaded.model, RadarTextModel) for loaded in members)
    names = (class_names or members[0].classes) if clip else None  # classifiers: their own
    scores = ensemble_probabilities(members, raws, names, adapt=adapt)
    return _report(raws, scores.names, scores.mean)


@torch.no_grad()
def evaluate_retrieval(loaded: LoadedModel, raws: Sequence[RawSample]) -> dict[str, float]:
    """Radar-to-text and text-to-radar retrieval with each sample's first caption; a caption
    is relevant to every sample that has the same caption text."""
    model = loaded.model.eval()
    if not isinstance(model, RadarTextModel):
        raise PredictionError("retrieval needs a CLIP model")
    captions = [str((raw.get("captions") or [raw.get("activity")])[0]) for raw in raws]
    radar = F.normalize(model.radar_projection(radar_features(model, loaded.inputs, raws)), dim=-1)
    text = model.encode_text(captions)
    codes = {caption: index for index, caption in enumerate(dict.fromkeys(captions))}
    ids = np.array([codes[caption] for caption in captions])
    relevant = ids[:, None] == ids[None, :]
    return retrieval_metrics((radar @ text.T).cpu().numpy(), relevant)
