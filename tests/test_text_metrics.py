"""Caption metrics on closed examples: identical, disjoint and hand-computed cases."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("pycocoevalcap", reason="caption metrics need pycocoevalcap")
pytest.importorskip("rouge_score", reason="caption metrics need rouge-score")
pytest.importorskip("nltk", reason="caption metrics need nltk")

from mmexpert.eval.text_metrics import (
    TextMetricsError,
    bleu,
    caption_metrics,
    cider_d,
    meteor_exact_stem,
    rouge_l,
    tokenize,
)

CAPTIONS = [
    "A man walks straight toward the radar at about 1.2 m/s.",
    "A woman waves her right hand twice per second.",
    "One deep squat: the body lowers and rises again.",
]
# Hand-computed example: hypothesis "the cat sat on the mat", reference "the cat is on the mat".
HYP = ["the cat sat on the mat"]
REF = [["the cat is on the mat"]]


def test_tokenize_keeps_decimals_drops_punctuation() -> None:
    assert tokenize("At 1.2 m/s, he WALKS.") == ["at", "1.2", "m", "s", "he", "walks"]


def test_identical_captions_score_maximum() -> None:
    references = [[caption] for caption in CAPTIONS]
    scores = caption_metrics(CAPTIONS, references, embeddings=False)
    for n in range(1, 5):
        assert scores[f"bleu_{n}"] == pytest.approx(1.0, abs=1e-6)
    assert scores["rouge_l"] == pytest.approx(1.0)
    # METEOR's fragmentation penalty never vanishes: one chunk of n words gives 1 - 0.5 / n^3.
    expected_meteor = sum(1 - 0.5 / len(tokenize(c)) ** 3 for c in CAPTIONS) / len(CAPTIONS)
    assert scores["meteor_exact_stem"] == pytest.approx(expected_meteor, abs=1e-6)
    assert scores["cider_d"] == pytest.approx(10.0, abs=1e-6)


def test_disjoint_captions_score_zero() -> None:
    predictions = ["zebra quartz yellow", "violin oak purple"]
    references = [["a man walks to the radar"], ["she waves her hand"]]
    scores = caption_metrics(predictions, references, embeddings=False)
    for n in range(1, 5):
        assert scores[f"bleu_{n}"] < 1e-6
    assert scores["rouge_l"] == 0.0
    assert scores["meteor_exact_stem"] == 0.0
    assert scores["cider_d"] == 0.0


def test_bleu_hand_computed() -> None:
    # Clipped n-gram precisions 5/6, 3/5, 1/4, 0/3; hypothesis as long as the reference (BP 1).
    scores = bleu(HYP, REF)
    assert scores["bleu_1"] == pytest.approx(5 / 6, abs=1e-6)
    assert scores["bleu_2"] == pytest.approx(math.sqrt(5 / 6 * 3 / 5), abs=1e-6)
    assert scores["bleu_3"] == pytest.approx((5 / 6 * 3 / 5 * 1 / 4) ** (1 / 3), abs=1e-6)
    assert scores["bleu_4"] < 1e-3


def test_bleu_brevity_penalty() -> None:
    # 3-word hypothesis, 6-word reference, all unigrams match: BLEU-1 = exp(1 - 6/3).
    scores = bleu(["the cat sat"], [["the cat sat on the mat"]])
    assert scores["bleu_1"] == pytest.approx(math.exp(1 - 6 / 3), abs=1e-6)


def test_rouge_l_hand_computed_and_best_reference() -> None:
    # LCS "the cat on the mat" = 5 of 6 words each side.
    assert rouge_l(HYP, REF) == pytest.approx(5 / 6)
    assert rouge_l(HYP, [["dog", "the cat is on the mat"]]) == pytest.approx(5 / 6)


def test_meteor_hand_computed() -> None:
    # 5 matches, P = R = 5/6, chunks "the cat" + "on the mat": penalty 0.5 (2/5)^3.
    expected = 5 / 6 * (1 - 0.5 * (2 / 5) ** 3)
    assert meteor_exact_stem(HYP, REF) == pytest.approx(expected, abs=1e-6)


def test_meteor_matches_stems() -> None:
    # walking / walks share the Porter stem: three matches in one chunk.
    assert meteor_exact_stem(["a man walking"], [["a man walks"]]) == pytest.approx(
        1 - 0.5 / 27, abs=1e-6
    )


def test_cider_needs_a_corpus() -> None:
    # One caption: every n-gram's IDF is log(1/1) = 0, so CIDEr is 0 even for a perfect match.
    assert cider_d(HYP, [HYP]) == 0.0
    # Half the corpus right scores half the maximum.
    references = [[caption] for caption in CAPTIONS] + [["zebra quartz yellow"]]
    predictions = [CAPTIONS[0], CAPTIONS[1], "violin oak purple", "violin oak purple"]
    assert cider_d(predictions, references) == pytest.approx(5.0, abs=1e-6)


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(TextMetricsError, match="2 predictions but 1"):
        bleu(["a", "b"], [["a"]])
    with pytest.raises(TextMetricsError, match="is empty"):
        rouge_l(["a"], [[]])
    with pytest.raises(TextMetricsError, match="is a string"):
        cider_d(["a"], ["a"])  # type: ignore[list-item]
    with pytest.raises(TextMetricsError, match="no predictions"):
        caption_metrics([], [])


@pytest.mark.slow
def test_embedding_cosine_identical_and_unrelated() -> None:
    pytest.importorskip("sentence_transformers")
    from mmexpert.eval.text_metrics import embedding_cosine

    same = embedding_cosine(CAPTIONS, [[caption] for caption in CAPTIONS])
    assert same == pytest.approx(1.0, abs=1e-5)
    paraphrase = embedding_cosine(
        ["A man walks toward the radar."], [["Someone approaches the sensor on foot."]]
    )
    unrelated = embedding_cosine(
        ["A man walks toward the radar."], [["The stock market fell sharply today."]]
    )
    assert paraphrase > unrelated + 0.2
