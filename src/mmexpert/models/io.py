"""Saving and loading trained models and training checkpoints, atomically.

A saved model folder holds:

* ``config.json``: ``{"model": <model config>, "inputs": <views, window, normalisation>,
  "format": 1}``;
* ``model.safetensors`` (or ``model.pt`` when ``safetensors`` is not installed): the state
  dict, without the frozen MiniLM weights (they are reloaded from the installed package);
* ``classes.json``: the class list (a classifier's label order; a CLIP model's training
  activities);
* ``feature_stats.json`` (optional): the training features' statistics, for label-free
  test-time alignment (:mod:`mmexpert.models.adapt`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mmexpert.models.adapt import STATS_FILE, FeatureStats
from mmexpert.models.models import (
    ModelConfig,
    RadarClassifier,
    RadarTextModel,
    build_model,
    config_from_dict,
)

FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model folder or checkpoint that cannot be read."""


@dataclass(frozen=True)
class InputSettings:
    """How raw samples become model inputs (saved with the model)."""

    views: tuple[str, ...]  # the encoder's views
    window_frames: int  # time window [frames]
    dynamic_range_db: float  # normalisation floor below the peak [dB]
    max_points: int  # points kept per frame
    frame_rate_hz: float | None = None  # radar frame rate of the training data [Hz]


@dataclass
class LoadedModel:
    """A model read back by :func:`load_model`."""

    model: RadarTextModel | RadarClassifier
    config: ModelConfig
    classes: list[str]
    inputs: InputSettings
    folder: Path
    feature_stats: FeatureStats | None = None  # training features (older models: none)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` through a temporary file renamed into place (a kill mid-write leaves the
    previous file intact)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _savable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    skip = set(model.frozen_text_keys())
    return {
        key: value.detach().cpu().contiguous()
        for key, value in model.state_dict().items()
        if key not in skip
    }


def save_model(
    model: RadarTextModel | RadarClassifier,
    classes: Sequence[str],
    inputs: InputSettings,
    folder: str | os.PathLike[str],
    feature_stats: FeatureStats | None = None,
) -> Path:
    """Write a model folder (see the module docstring); without ``feature_stats``, a stale
    statistics file of an earlier model in the folder is removed.

    Returns
    -------
    Path
        The folder.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    state = _savable_state(model)
    try:
        from safetensors.torch import save as safetensors_bytes

        atomic_write_bytes(target / "model.safetensors", safetensors_bytes(state))
    except ImportError:
        atomic_torch_save(state, target / "model.pt")
    atomic_write_bytes(target / "classes.json", json.dumps(list(classes), indent=1).encode())
    config = {
        "format": FORMAT_VERSION,
        "model": model.config.to_dict(),
        "inputs": {**inputs.__dict__, "views": list(inputs.views)},
    }
    atomic_write_bytes(target / "config.json", json.dumps(config, indent=1).encode())
    if feature_stats is not None:
        feature_stats.save(target)
    else:
        (target / STATS_FILE).unlink(missing_ok=True)
    return target


def load_model(folder: str | os.PathLike[str], device: str = "cpu") -> LoadedModel:
    """Read a model folder written by :func:`save_model` (eval mode, on ``device``).

    Raises
    ------
    ModelFileError
        For a missing file, a malformed config or weights that do not fit the config.
    AdaptationError
        For a feature statistics file that cannot be read.
    """
    source = Path(folder)
    try:
        config_data = json.loads((source / "config.json").read_text())
        classes = [str(name) for name in json.loads((source / "classes.json").read_text())]
    except (OSError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{source} is not a saved mmexpert model: {error}") from None
    try:
        config = config_from_dict(config_data["model"])
        inputs_data = dict(config_data["inputs"])
        inputs = InputSettings(
            views=tuple(inputs_data["views"]),
            window_frames=int(inputs_data["window_frames"]),
            dynamic_range_db=float(inputs_data["dynamic_range_db"]),
            max_points=int(inputs_data["max_points"]),
            frame_rate_hz=(
                None
                if inputs_data.get("frame_rate_hz") is None
                else float(inputs_data["frame_rate_hz"])
            ),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"{source}/config.json is malformed: {error!r}") from None
    if (source / "model.safetensors").is_file():
        from safetensors.torch import load_file

        state = load_file(str(source / "model.safetensors"))
    elif (source / "model.pt").is_file():
        state = torch.load(source / "model.pt", map_location="cpu", weights_only=True)
    else:
        raise ModelFileError(f"{source} holds no weights (model.safetensors or model.pt)")
    model = build_model(config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    allowed_missing = set(model.frozen_text_keys())
    bad_missing = [key for key in missing if key not in allowed_missing]
    if bad_missing or unexpected:
        raise ModelFileError(
            f"{source}: weights do not fit the config (missing {bad_missing[:5]}, "
            f"unexpected {list(unexpected)[:5]})"
        )
    model.to(device).eval()
    return LoadedModel(model, config, classes, inputs, source, FeatureStats.load(source))
