"""Zero-shot classification from class names with prompt ensembling.

Each class name (``"jumping jacks"``, or a stored name like ``"walk_forward"`` which reads
``"walk forward"``) fills every template of :data:`PROMPT_TEMPLATES`; the class embedding is
the renormalised mean of the unit-norm prompt embeddings (CLIP's prompt ensembling). A radar
embedding goes to the class with the highest cosine similarity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

PROMPT_TEMPLATES = (
    "a person doing {}.",
    "someone performing {}.",
    "a person is {}.",
    "a radar recording of a person doing {}.",
    "a person in front of the radar doing {}.",
    "the subject performs {}.",
)
"""Prompt templates; ``{}`` is replaced by the class name."""


def readable_class_name(name: str) -> str:
    """``"walk_forward"`` -> ``"walk forward"`` (stored names use underscores)."""
    return " ".join(name.replace("_", " ").split())


def class_prompts(name: str, templates: Sequence[str] = PROMPT_TEMPLATES) -> list[str]:
    """Every template filled with the readable class name."""
    readable = readable_class_name(name)
    return [template.format(readable) for template in templates]


@torch.no_grad()
def class_embeddings(
    model: Any, class_names: Sequence[str], templates: Sequence[str] = PROMPT_TEMPLATES
) -> torch.Tensor:
    """Prompt-ensembled class embeddings.

    Parameters
    ----------
    model
        Anything with ``encode_text(texts) -> unit-norm [n, e]`` (a RadarTextModel).
    class_names
        The candidate classes.
    templates
        Prompt templates with one ``{}``.

    Returns
    -------
    torch.Tensor
        float32 [classes, e], unit norm.
    """
    if not class_names:
        raise ValueError("zero-shot classification needs at least one class name")
    if not templates or any("{}" not in template for template in templates):
        raise ValueError("every prompt template must contain '{}'")
    rows = []
    for name in class_names:
        prompts = model.encode_text(class_prompts(name, templates))  # (templates, e)
        rows.append(F.normalize(prompts.mean(0), dim=-1))
    return torch.stack(rows)


@torch.no_grad()
def zero_shot_logits(
    model: Any, batch: dict[str, Any], class_features: torch.Tensor
) -> torch.Tensor:
    """Cosine similarities float32 [b, classes] of a batch's radar embeddings to the classes."""
    return model.encode_radar(batch) @ class_features.T
