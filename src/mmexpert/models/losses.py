"""Contrastive losses; each returns a dict of named terms (the total is their sum).

* :class:`ClipLoss`: symmetric InfoNCE over radar-to-text and text-to-radar logits.
* :class:`SigLipLoss`: pairwise sigmoid loss (Zhai et al., 2023) with a learnable bias.

Both take unit-norm features ``[b, e]`` and the model's ``logit_scale`` (log of the inverse
temperature; the model decides whether it is learnable) and ``logit_bias``. Samples whose
captions are identical are treated as positives of each other (``same_text``), because a
small synthetic batch often holds two samples with the same caption.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812


def same_text_matrix(texts: list[str], device: torch.device | None = None) -> torch.Tensor:
    """bool [b, b]: True where captions i and j are the same string."""
    ids = {text: index for index, text in enumerate(dict.fromkeys(texts))}
    codes = torch.tensor([ids[text] for text in texts], device=device)
    return codes[:, None] == codes[None, :]


class ClipLoss:
    """Symmetric InfoNCE; with repeated captions the target spreads over all matches."""

    def __call__(
        self,
        radar_features: torch.Tensor,
        text_features: torch.Tensor,
        logit_scale: torch.Tensor,
        logit_bias: torch.Tensor | None = None,
        positives: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Loss terms.

        Parameters
        ----------
        radar_features, text_features
            float32 [b, e], unit norm.
        logit_scale
            Scalar, log of the inverse temperature.
        logit_bias
            Unused (kept for a common signature).
        positives
            bool [b, b] of matching pairs (default: the diagonal).

        Returns
        -------
        dict
            ``{"contrastive_loss": scalar}``.
        """
        logits = logit_scale.exp() * radar_features @ text_features.T  # (b, b)
        if positives is None:
            positives = torch.eye(len(logits), dtype=torch.bool, device=logits.device)
        target = positives.float() / positives.float().sum(1, keepdim=True)
        radar_to_text = F.cross_entropy(logits, target)
        text_to_radar = F.cross_entropy(logits.T, target.T / target.T.sum(1, keepdim=True))
        return {"contrastive_loss": 0.5 * (radar_to_text + text_to_radar)}


class SigLipLoss:
    """Sigmoid loss: every pair is an independent binary decision (match or not)."""

    def __call__(
        self,
        radar_features: torch.Tensor,
        text_features: torch.Tensor,
        logit_scale: torch.Tensor,
        logit_bias: torch.Tensor | None = None,
        positives: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Loss terms (see :class:`ClipLoss`); returns ``{"sigmoid_loss": scalar}``."""
        logits = logit_scale.exp() * radar_features @ text_features.T
        if logit_bias is not None:
            logits = logits + logit_bias
        if positives is None:
            positives = torch.eye(len(logits), dtype=torch.bool, device=logits.device)
        signs = positives.float() * 2 - 1  # +1 on matches, -1 elsewhere
        return {"sigmoid_loss": -F.logsigmoid(signs * logits).sum() / len(logits)}


class CrossEntropyLoss:
    """Classifier loss with optional label smoothing; returns ``{"cross_entropy": scalar}``."""

    def __init__(self, label_smoothing: float = 0.0) -> None:
        self.label_smoothing = label_smoothing

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """``logits`` float32 [b, classes], ``labels`` int64 [b]."""
        return {
            "cross_entropy": F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing)
        }


CONTRASTIVE_LOSSES = {"clip": ClipLoss, "siglip": SigLipLoss}
"""Registry of radar-text losses by name."""
