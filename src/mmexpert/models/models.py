"""The two model families, built from small dataclass configs.

* :class:`RadarTextModel` (``ClipConfig``): radar encoder + MiniLM text tower, each with a
  linear projection to a shared unit-norm space; ``encode_radar`` / ``encode_text``.
* :class:`RadarClassifier` (``ClassifierConfig``): radar encoder + linear head.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from mmexpert.models.encoders import EncoderConfig, RadarEncoder
from mmexpert.models.losses import CONTRASTIVE_LOSSES, CrossEntropyLoss, same_text_matrix
from mmexpert.models.text import TextConfig, TextEncoder


@dataclass(frozen=True)
class ClipConfig:
    """Radar-text contrastive model."""

    encoder: EncoderConfig = field(default_factory=EncoderConfig)  # radar tower
    text: TextConfig = field(default_factory=TextConfig)  # text tower and its freezing
    embed_dim: int = 128  # shared embedding size
    loss: str = "clip"  # "clip" (InfoNCE) or "siglip"
    init_temperature: float = 0.07  # CLIP's initial temperature (SigLIP starts at 0.1)
    learnable_temperature: bool = True  # learn log(1/T) or keep it fixed
    init_bias: float = -10.0  # SigLIP's initial logit bias (learnable); unused by CLIP
    positives: str = "caption"  # pairs that count as matches: same "caption", or same "activity"

    family = "clip"

    def __post_init__(self) -> None:
        if self.loss not in CONTRASTIVE_LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; known: {list(CONTRASTIVE_LOSSES)}")
        if self.positives not in ("caption", "activity"):
            raise ValueError(f"positives must be 'caption' or 'activity', got {self.positives!r}")
        if self.init_temperature <= 0:
            raise ValueError(f"init_temperature must be > 0, got {self.init_temperature}")

    def to_dict(self) -> dict[str, Any]:
        """JSON form (with ``family``)."""
        data = dataclasses.asdict(self)
        data.update(family=self.family, encoder=self.encoder.to_dict(), text=self.text.to_dict())
        return data


@dataclass(frozen=True)
class ClassifierConfig:
    """Radar classifier."""

    encoder: EncoderConfig = field(default_factory=EncoderConfig)  # radar tower
    num_classes: int = 2  # set from the training data's class list
    dropout: float = 0.1  # before the linear head
    label_smoothing: float = 0.1  # softer targets: synthetic labels are cleaner than reality

    family = "classifier"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (with ``family``)."""
        data = dataclasses.asdict(self)
        data.update(family=self.family, encoder=self.encoder.to_dict())
        return data


ModelConfig = ClipConfig | ClassifierConfig


def config_from_dict(data: dict[str, Any]) -> ModelConfig:
    """Inverse of ``to_dict`` for either family."""
    data = dict(data)
    family = data.pop("family", None)
    encoder = EncoderConfig.from_dict(data.pop("encoder"))
    if family == "clip":
        return ClipConfig(encoder=encoder, text=TextConfig(**data.pop("text")), **data)
    if family == "classifier":
        return ClassifierConfig(encoder=encoder, **data)
    raise ValueError(f"model config family must be 'clip' or 'classifier', got {family!r}")


class RadarTextModel(nn.Module):
    """CLIP-style radar-text model."""

    def __init__(self, config: ClipConfig) -> None:
        super().__init__()
        self.config = config
        self.radar = RadarEncoder(config.encoder)
        self.text = TextEncoder(config.text)
        self.radar_projection = nn.Linear(self.radar.width, config.embed_dim, bias=False)
        self.text_projection = nn.Linear(self.text.width, config.embed_dim, bias=False)
        initial_scale = torch.tensor(math.log(1.0 / config.init_temperature))
        if config.learnable_temperature:
            self.logit_scale = nn.Parameter(initial_scale)
        else:
            self.register_buffer("logit_scale", initial_scale)
        self.logit_bias = nn.Parameter(torch.tensor(float(config.init_bias)))
        self.loss = CONTRASTIVE_LOSSES[config.loss]()

    def encode_radar(self, batch: dict[str, Any]) -> torch.Tensor:
        """Unit-norm radar embeddings float32 [b, embed_dim]."""
        return F.normalize(self.radar_projection(self.radar(batch)), dim=-1)

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit-norm text embeddings float32 [len(texts), embed_dim]."""
        return F.normalize(self.text_projection(self.text(texts)), dim=-1)

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Features and loss terms of a batch with ``"caption"`` texts."""
        radar_features = self.encode_radar(batch)
        text_features = self.encode_text(batch["caption"])
        positives = same_text_matrix(list(batch["caption"]), radar_features.device)
        if self.config.positives == "activity" and "label" in batch:
            # supervised-contrastive variant: captions of the same activity also match
            labels = batch["label"]
            positives = positives | ((labels[:, None] == labels[None, :]) & (labels[:, None] >= 0))
        terms = self.loss(
            radar_features, text_features, self.logit_scale, self.logit_bias, positives
        )
        return {
            "radar_features": radar_features,
            "text_features": text_features,
            "loss": sum(terms.values()),
            **terms,
        }

    def frozen_text_keys(self) -> list[str]:
        """State-dict keys of text weights that never train (reloaded from the package, not
        saved with the model)."""
        if not self.text.frozen:
            return []
        return [key for key in self.state_dict() if key.startswith("text.bert.")]


class RadarClassifier(nn.Module):
    """Radar encoder + dropout + linear head over ``num_classes``."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.radar = RadarEncoder(config.encoder)
        self.head = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(self.radar.width, config.num_classes)
        )
        self.loss = CrossEntropyLoss(config.label_smoothing)

    def encode_radar(self, batch: dict[str, Any]) -> torch.Tensor:
        """Radar embeddings float32 [b, width] (not normalised)."""
        return self.radar(batch)

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Logits and, when the batch has labels, the loss terms."""
        logits = self.head(self.encode_radar(batch))  # (b, classes)
        out: dict[str, torch.Tensor] = {"logits": logits}
        if "label" in batch:
            terms = self.loss(logits, batch["label"])
            out.update(loss=sum(terms.values()), **terms)
        return out

    def frozen_text_keys(self) -> list[str]:
        """No text tower: nothing is left out of saved weights."""
        return []


def build_model(config: ModelConfig) -> RadarTextModel | RadarClassifier:
    """The model of a config's family."""
    if isinstance(config, ClipConfig):
        return RadarTextModel(config)
    if isinstance(config, ClassifierConfig):
        return RadarClassifier(config)
    raise TypeError(f"not a model config: {type(config).__name__}")
