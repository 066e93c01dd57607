"""Losses (closed-form values), retrieval and classification metrics, the confusion plot,
and zero-shot prompt building."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from mmexpert.eval.metrics import (
    MetricsError,
    classification_report,
    plot_confusion_matrix,
    retrieval_metrics,
)
from mmexpert.models.losses import ClipLoss, CrossEntropyLoss, SigLipLoss, same_text_matrix
from mmexpert.models.zeroshot import PROMPT_TEMPLATES, class_prompts, readable_class_name


def test_clip_loss_is_log_b_for_identical_features_and_zero_for_perfect_pairs():
    same = F.normalize(torch.ones(4, 8), dim=-1)
    terms = ClipLoss()(same, same, torch.tensor(math.log(10.0)))
    assert set(terms) == {"contrastive_loss"}
    assert terms["contrastive_loss"].item() == pytest.approx(math.log(4), rel=1e-6)
    eye = torch.eye(4, 8)
    perfect = ClipLoss()(eye, eye, torch.tensor(math.log(100.0)))["contrastive_loss"]
    assert perfect.item() == pytest.approx(3 * math.exp(-100) * 1, abs=1e-12)


def test_clip_loss_matches_a_hand_computed_value():
    radar = F.normalize(torch.tensor([[1.0, 0.0], [0.6, 0.8]]), dim=-1)
    text = F.normalize(torch.tensor([[0.8, 0.6], [0.0, 1.0]]), dim=-1)
    logits = 2.0 * (radar @ text.T).numpy()
    rows = -np.mean([logits[i, i] - np.log(np.exp(logits[i]).sum()) for i in range(2)])
    cols = -np.mean([logits[i, i] - np.log(np.exp(logits[:, i]).sum()) for i in range(2)])
    value = ClipLoss()(radar, text, torch.tensor(math.log(2.0)))["contrastive_loss"]
    assert value.item() == pytest.approx(0.5 * (rows + cols), rel=1e-6)


def test_repeated_captions_share_the_target():
    positives = same_text_matrix(["a", "b", "a"])
    assert positives.tolist() == [[True, False, True], [False, True, False], [True, False, True]]
    features = F.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), dim=-1)
    with_dupes = ClipLoss()(features, features, torch.tensor(math.log(50.0)), None, positives)
    # each of the two "a" rows puts half its target on each "a" column: loss = log 2 there
    expected = (2 * math.log(2) + 0.0) / 3
    assert with_dupes["contrastive_loss"].item() == pytest.approx(expected, abs=1e-6)


def test_siglip_loss_matches_a_hand_computed_value():
    radar = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    text = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    scale, bias = math.log(5.0), -1.0
    logits = 5.0 * (radar @ text.T).numpy() + bias
    signs = np.array([[1, -1], [-1, 1]])
    expected = np.log1p(np.exp(-signs * logits)).sum() / 2
    value = SigLipLoss()(radar, text, torch.tensor(scale), torch.tensor(bias))["sigmoid_loss"]
    assert value.item() == pytest.approx(expected, rel=1e-6)


def test_cross_entropy_term_is_named():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    terms = CrossEntropyLoss()(logits, torch.tensor([0, 1]))
    assert terms["cross_entropy"].item() == pytest.approx(math.log1p(math.exp(-2)), rel=1e-6)


def test_retrieval_metrics_from_known_ranks():
    similarity = np.array([[0.9, 0.1, 0.0], [0.8, 0.7, 0.0], [0.0, 0.1, 0.2]])
    metrics = retrieval_metrics(similarity, ks=(1, 2))
    # radar->text ranks of the diagonal: 1, 2, 1; text->radar (columns): 1, 1, 1
    assert metrics["radar_to_text_R@1"] == pytest.approx(2 / 3)
    assert metrics["radar_to_text_R@2"] == 1.0
    assert metrics["radar_to_text_MRR"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert metrics["text_to_radar_R@1"] == 1.0
    relevant = np.array([[True, True, False], [False, False, True], [False, False, True]])
    multi = retrieval_metrics(similarity, relevant, ks=(1,))
    # radar->text: row 1's only match (column 2) ranks third; text->radar: column 1's only
    # match (row 0, 0.1) ranks second behind row 1 (0.7)
    assert multi["radar_to_text_R@1"] == pytest.approx(2 / 3)
    assert multi["text_to_radar_R@1"] == pytest.approx(2 / 3)
    with pytest.raises(MetricsError, match="relevance"):
        retrieval_metrics(similarity, np.eye(2, dtype=bool))
    with pytest.raises(MetricsError, match="non-square"):
        retrieval_metrics(np.zeros((2, 3)))


def test_classification_report_by_hand(tmp_path):
    truth = [0, 0, 1, 1, 2, 2]
    guess = [0, 1, 1, 1, 2, 0]
    report = classification_report(truth, guess, ["a", "b", "c"])
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["per_class_accuracy"] == {"a": 0.5, "b": 1.0, "c": 0.5}
    assert report["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    f1 = [2 * 0.5 * 0.5 / 1.0, 2 * (2 / 3) * 1 / (2 / 3 + 1), 2 * 1 * 0.5 / 1.5]
    assert report["macro_f1"] == pytest.approx(np.mean(f1))
    path = plot_confusion_matrix(report, tmp_path / "cm.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(MetricsError, match="lie in"):
        classification_report([0, 3], [0, 0], ["a", "b"])


def test_prompts_use_readable_names():
    assert readable_class_name("walk_forward") == "walk forward"
    prompts = class_prompts("jumping jacks")
    assert len(prompts) == len(PROMPT_TEMPLATES)
    assert "a person doing jumping jacks." in prompts
    assert "someone performing jumping jacks." in prompts
