"""Named model configs (``list_models()``), like open_clip's model-config registry.

Names read ``<family>-<encoder>-<size>``. Change a config with ``dataclasses.replace`` (e.g.
other views: ``with_views(config, ["micro_doppler", "points"])``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from mmexpert.models.encoders import EncoderConfig
from mmexpert.models.models import ClassifierConfig, ClipConfig, ModelConfig
from mmexpert.models.text import TextConfig

_TINY_VIT = EncoderConfig(kind="vit", width=128, depth=2, heads=4)  # ~0.4 M parameters
_TINY_CNN = EncoderConfig(kind="cnn", width=128, cnn_channels=16)  # ~33 k parameters
# Point models see moving points in the person-centred frame: invariant to mounting, room
# clutter and whether the device removes static returns. One token per 6 frames (0.2 s at
# 30 fps): a TI device gives about one moving point per frame, too few for a set per frame.
_TINY_POINTS = EncoderConfig(
    kind="vit",
    views=("points",),
    width=128,
    depth=2,
    heads=4,
    point_frame="person",
    drop_static_points=True,
    frames_per_token=6,
)  # ~0.48 M
_SMALL_VIT = EncoderConfig(kind="vit", width=256, depth=4, heads=8)  # GPU-sized

MODEL_CONFIGS: dict[str, ModelConfig] = {
    "clip-vit-tiny": ClipConfig(encoder=_TINY_VIT),
    "clip-cnn-tiny": ClipConfig(encoder=_TINY_CNN),
    "clip-points-tiny": ClipConfig(encoder=_TINY_POINTS),
    "clip-vit-tiny-activity": ClipConfig(encoder=_TINY_VIT, positives="activity"),
    "siglip-vit-tiny": ClipConfig(encoder=_TINY_VIT, loss="siglip", init_temperature=0.1),
    "clip-vit-small": ClipConfig(
        encoder=_SMALL_VIT, text=TextConfig(trainable="last_n", trainable_layers=2), embed_dim=256
    ),
    "classifier-vit-tiny": ClassifierConfig(encoder=_TINY_VIT),
    "classifier-cnn-tiny": ClassifierConfig(encoder=_TINY_CNN),
    "classifier-points-tiny": ClassifierConfig(encoder=_TINY_POINTS),
    "classifier-vit-small": ClassifierConfig(encoder=_SMALL_VIT),
}
"""Registry of named configs."""


class UnknownModelError(KeyError):
    """A model name that is not in :data:`MODEL_CONFIGS`."""

    def __str__(self) -> str:
        return str(self.args[0])


def list_models(family: str | None = None) -> list[str]:
    """Registered config names, optionally of one family (``"clip"`` or ``"classifier"``)."""
    return sorted(name for name, config in MODEL_CONFIGS.items() if family in (None, config.family))


def model_config(name: str) -> ModelConfig:
    """The registered config ``name``.

    Raises
    ------
    UnknownModelError
        Naming the registered configs.
    """
    if name not in MODEL_CONFIGS:
        raise UnknownModelError(f"unknown model {name!r}; registered: {list_models()}")
    return MODEL_CONFIGS[name]


def with_views(config: ModelConfig, views: Sequence[str]) -> ModelConfig:
    """``config`` with its encoder fed ``views`` (validated)."""
    encoder = dataclasses.replace(config.encoder, views=tuple(views))
    return dataclasses.replace(config, encoder=encoder)
