"""Label-free test-time feature alignment: the closed-form moments it promises, the shift it
removes, the training statistics saved with a model, and its errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mmexpert.models import adapt
from mmexpert.models.adapt import (
    MIN_SAMPLES,
    STATS_FILE,
    AdaptationError,
    FeatureStats,
    align_features,
)

WIDTH = 6


def _source(rng: np.random.Generator, count: int = 400) -> np.ndarray:
    mixing = rng.normal(size=(WIDTH, WIDTH))
    return rng.normal(size=(count, WIDTH)) @ mixing + rng.normal(size=WIDTH)


def test_mean_and_standardize_give_the_training_moments():
    rng = np.random.default_rng(0)
    stats = FeatureStats.of(_source(rng))
    target = 3.0 * _source(rng, 150) - 5.0
    shifted = align_features(target, stats, "mean")
    np.testing.assert_allclose(shifted.mean(0), stats.mean, atol=1e-5)
    np.testing.assert_allclose(shifted - shifted.mean(0), target - target.mean(0), atol=1e-4)
    standard = align_features(target, stats, "standardize")
    np.testing.assert_allclose(standard.mean(0), stats.mean, atol=1e-5)
    np.testing.assert_allclose(standard.std(0), np.sqrt(np.diag(stats.covariance)), rtol=1e-4)
    np.testing.assert_array_equal(align_features(target, stats, "none"), target.astype(np.float32))


def test_coral_gives_the_training_covariance_without_shrinkage(monkeypatch):
    monkeypatch.setattr(adapt, "SHRINKAGE", 0.0)
    rng = np.random.default_rng(1)
    stats = FeatureStats.of(_source(rng))
    target = _source(rng, 300) @ rng.normal(size=(WIDTH, WIDTH)) + 2.0
    aligned = align_features(target, stats, "coral").astype(np.float64)
    np.testing.assert_allclose(aligned.mean(0), stats.mean, atol=1e-4)
    np.testing.assert_allclose(np.cov(aligned, rowvar=False), stats.covariance, atol=1e-3)


def test_alignment_undoes_a_shift_that_fools_a_fixed_linear_head():
    """Two classes, a head fit on the source; the target is the same classes moved by a
    shared offset across the boundary. Alignment must bring the accuracy back."""
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 400)
    centres = np.array([[-1.0] + [0.0] * (WIDTH - 1), [1.0] + [0.0] * (WIDTH - 1)])
    source = centres[labels] + 0.4 * rng.normal(size=(400, WIDTH))
    stats = FeatureStats.of(source)
    target_labels = rng.integers(0, 2, 200)
    target = centres[target_labels] + 0.4 * rng.normal(size=(200, WIDTH)) + [1.5, 0.5, 0, 0, 0, 0]

    def accuracy(features: np.ndarray) -> float:
        return float(np.mean((features[:, 0] > stats.mean[0]) == target_labels))

    assert accuracy(target) < 0.65
    for method in ("mean", "standardize", "coral"):
        assert accuracy(align_features(target, stats, method)) > 0.95, method


def test_alignment_errors_are_named(tmp_path):
    rng = np.random.default_rng(3)
    stats = FeatureStats.of(_source(rng))
    with pytest.raises(AdaptationError, match="unknown alignment 'bogus'"):
        align_features(_source(rng, 50), stats, "bogus")
    with pytest.raises(AdaptationError, match=f"at least {MIN_SAMPLES} samples"):
        align_features(_source(rng, MIN_SAMPLES - 1), stats, "mean")
    with pytest.raises(AdaptationError, match="do not match training statistics of width 6"):
        align_features(np.zeros((50, WIDTH + 1)), stats, "mean")
    with pytest.raises(AdaptationError, match="at least 2 feature rows"):
        FeatureStats.of(np.zeros((1, WIDTH)))
    assert FeatureStats.load(tmp_path) is None
    stats.save(tmp_path)
    again = FeatureStats.load(tmp_path)
    np.testing.assert_array_equal(again.mean, stats.mean)
    np.testing.assert_array_equal(again.covariance, stats.covariance)
    (tmp_path / STATS_FILE).write_text('{"count": 3, "mean": [1, 2]')
    with pytest.raises(AdaptationError, match="not valid feature statistics"):
        FeatureStats.load(tmp_path)
    (tmp_path / STATS_FILE).write_text(
        json.dumps({"count": 3, "mean": [1, 2], "covariance": [[1]]})
    )
    with pytest.raises(AdaptationError, match="disagree"):
        FeatureStats.load(tmp_path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A one-epoch point classifier on a small synthetic store, and the store."""
    from mmexpert.models.synthetic import build_synthetic_store
    from mmexpert.models.train import TrainConfig, train

    root = tmp_path_factory.mktemp("adapt")
    store = build_synthetic_store(
        root / "store", ["jumping jacks", "squats"], 12, num_frames=12, radar="iwr1443-radhar"
    )
    config = TrainConfig(model="classifier-points-tiny", epochs=1, batch_size=8, window_frames=12)
    result = train(config, store, root / "train", progress=False)
    assert result.model_dir is not None
    return result.model_dir, store


def test_training_saves_the_statistics_of_its_unaugmented_windows(trained):
    from mmexpert.data.store import DatasetStore
    from mmexpert.models.inputs import load_raw_samples
    from mmexpert.models.io import load_model
    from mmexpert.models.predict import radar_features

    model_dir, store = trained
    loaded = load_model(model_dir)
    assert loaded.feature_stats is not None and (model_dir / STATS_FILE).is_file()
    with DatasetStore.open(store) as opened:
        raws = load_raw_samples(opened, None, ["points"])
    features = radar_features(loaded.model, loaded.inputs, raws).numpy().astype(np.float64)
    assert loaded.feature_stats.count == len(raws) == 24
    np.testing.assert_allclose(loaded.feature_stats.mean, features.mean(0), atol=1e-5)
    np.testing.assert_allclose(
        loaded.feature_stats.covariance, np.cov(features, rowvar=False), atol=1e-5
    )


def test_aligned_scores_are_the_head_on_the_moved_features(trained):
    from mmexpert.data.store import DatasetStore
    from mmexpert.models.inputs import load_raw_samples
    from mmexpert.models.io import load_model
    from mmexpert.models.predict import class_scores, radar_features

    model_dir, store = trained
    loaded = load_model(model_dir)
    with DatasetStore.open(store) as opened:
        raws = load_raw_samples(opened, None, ["points"])
    features = radar_features(loaded.model, loaded.inputs, raws)
    moved = features - features.mean(0) + torch.tensor(loaded.feature_stats.mean).float()
    with torch.no_grad():
        expected = loaded.model.head(moved).softmax(-1).numpy()
    names, scores = class_scores(loaded, raws, adapt="mean")
    assert names == loaded.classes
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    _, plain = class_scores(loaded, raws)
    with torch.no_grad():
        unaligned = loaded.model.head(features).softmax(-1).numpy()
    np.testing.assert_allclose(plain, unaligned, atol=1e-6)


def test_a_model_without_statistics_says_how_to_get_them(trained, tmp_path):
    import shutil

    from mmexpert.data.store import DatasetStore
    from mmexpert.models.inputs import load_raw_samples
    from mmexpert.models.io import load_model, save_model
    from mmexpert.models.predict import class_scores

    model_dir, store = trained
    old = tmp_path / "old"
    shutil.copytree(model_dir, old)
    loaded = load_model(old)
    save_model(loaded.model, loaded.classes, loaded.inputs, old)  # no statistics: stale removed
    assert not (old / STATS_FILE).exists()
    with DatasetStore.open(store) as opened:
        raws = load_raw_samples(opened, None, ["points"])
    with pytest.raises(AdaptationError, match="run the same `mmexpert train` command again"):
        class_scores(load_model(old), raws, adapt="mean")


# ---------------------------------------------------------------- feature shift


def test_a_condition_that_made_the_real_windows_explains_their_whole_shift(trained):
    """'Real' windows made from the held-out clips by one condition, with the generators the
    measurement uses: that condition's shift is the real shift (cosine 1, share 1)."""
    from functools import partial

    from mmexpert.data.store import DatasetStore
    from mmexpert.eval.feature_shift import SHIFT_CONDITIONS, feature_shift
    from mmexpert.models.inputs import load_raw_samples
    from mmexpert.models.io import load_model
    from mmexpert.models.predict import radar_features

    model_dir, store = trained
    loaded = load_model(model_dir)
    with DatasetStore.open(store) as opened:
        clips = load_raw_samples(opened, None, ["points"])
    name = "elevation 0.3 rad + 60 % dropped"
    condition = SHIFT_CONDITIONS[name]
    real = [condition(raw, np.random.default_rng((0, 0, i))) for i, raw in enumerate(clips)]
    features = partial(radar_features, loaded.model, loaded.inputs)
    report = feature_shift(lambda raws: features(raws).numpy(), clips, real, repeats=1)
    row = next(row for row in report.rows if row.name == name)
    assert row.cosine == pytest.approx(1.0, abs=1e-6) and row.share == pytest.approx(1.0, abs=1e-5)
    assert row.size == pytest.approx(report.real_shift, rel=1e-5) and report.real_shift > 0.1
    assert report.rows[0].name == name  # best aligned first
    assert report.real_windows == report.synthetic_clips == 24
    unchanged = feature_shift(lambda raws: features(raws).numpy(), clips, clips)
    assert unchanged.real_shift == pytest.approx(0.0, abs=1e-6)
    assert report.synthetic_accuracy is None and row.accuracy is None  # no scorer given


def test_feature_shift_accuracy_is_the_mean_over_the_draws_of_each_condition(trained):
    """Each row's accuracy is the scorer's mean over the same draws that make its shift;
    the report keeps the as-simulated accuracy too."""
    from mmexpert.data.store import DatasetStore
    from mmexpert.eval.feature_shift import SHIFT_CONDITIONS, FeatureShiftError, feature_shift
    from mmexpert.models.inputs import load_raw_samples
    from mmexpert.models.io import load_model
    from mmexpert.models.predict import evaluate_model, radar_features

    model_dir, store = trained
    loaded = load_model(model_dir)
    with DatasetStore.open(store) as opened:
        clips = load_raw_samples(opened, None, ["points"])
    name = "90 % of points dropped"
    conditions = {
        name: SHIFT_CONDITIONS[name],
        "slowed to 0.6x": SHIFT_CONDITIONS["slowed to 0.6x"],
    }
    real = [conditions[name](raw, np.random.default_rng((5, 0, i))) for i, raw in enumerate(clips)]

    def accuracy(raws):
        return float(evaluate_model(loaded, raws)["accuracy"])

    report = feature_shift(
        lambda raws: radar_features(loaded.model, loaded.inputs, raws).numpy(),
        clips,
        real,
        conditions,
        seed=5,
        accuracy_of=lambda raws, features: accuracy(raws),
        repeats=2,
    )
    row = next(row for row in report.rows if row.name == name)
    draws = [
        accuracy(
            [conditions[name](raw, np.random.default_rng((5, r, i))) for i, raw in enumerate(clips)]
        )
        for r in range(2)
    ]
    assert row.accuracy == pytest.approx(np.mean(draws), abs=1e-9)
    assert report.synthetic_accuracy == pytest.approx(accuracy(clips), abs=1e-9)
    assert report.rows[0].name == name and report.repeats == 2
    assert report.to_json()["rows"][0]["accuracy"] == row.accuracy
    with pytest.raises(FeatureShiftError, match="repeats must be >= 1"):
        feature_shift(lambda raws: np.zeros((len(raws), 4)), clips, real, repeats=0)


def test_scores_read_off_computed_features_equal_a_fresh_evaluation(trained):
    """model_feature_shift scores each draw from the features it has already computed;
    that report is the one evaluate_model gives from the clips."""
    from mmexpert.data.store import DatasetStore
    from mmexpert.eval.feature_shift import SHIFT_CONDITIONS
    from mmexpert.models.inputs import load_raw_samples
    from mmexpert.models.io import load_model
    from mmexpert.models.predict import evaluate_features, evaluate_model, radar_features

    model_dir, store = trained
    loaded = load_model(model_dir)
    with DatasetStore.open(store) as opened:
        clips = load_raw_samples(opened, None, ["points"])
    condition = SHIFT_CONDITIONS["elevation 0.3 rad + 60 % dropped"]
    changed = [condition(raw, np.random.default_rng((0, 0, i))) for i, raw in enumerate(clips)]
    for raws in (clips, changed):
        features = radar_features(loaded.model, loaded.inputs, raws).numpy()
        assert evaluate_features(loaded, raws, features) == evaluate_model(loaded, raws)


def test_feature_shift_errors_and_command(trained, tmp_path):
    from typer.testing import CliRunner

    from mmexpert.cli import app
    from mmexpert.eval.feature_shift import FeatureShiftError, feature_shift
    from test_eval_real import person_frames, write_radhar

    with pytest.raises(FeatureShiftError, match="at least 2 synthetic clips"):
        feature_shift(lambda raws: np.zeros((len(raws), 4)), [{}], [{}])
    with pytest.raises(FeatureShiftError, match="no real window"):
        feature_shift(lambda raws: np.zeros((len(raws), 4)), [{}, {}], [])
    model_dir, store = trained
    write_radhar(tmp_path / "real" / "rec.txt", person_frames(95, seed=7))  # 3.17 s, unlabelled
    runner = CliRunner()
    common = ["feature-shift", "--model", str(model_dir), "--data", str(store)]
    split = runner.invoke(app, ["dataset", "split", str(store), "--test-fraction", "0.5"])
    assert split.exit_code == 0, split.output
    result = runner.invoke(app, [*common, "--real", f"radhar:{tmp_path / 'real'}", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["real_windows"] == 4 and data["synthetic_clips"] == 12 and data["real_shift"] > 0
    assert 0.0 <= data["synthetic_accuracy"] <= 1.0
    assert all(0.0 <= row["accuracy"] <= 1.0 for row in data["rows"]) and data["repeats"] == 3
    folder = model_dir.parent / "feature-shift"
    assert json.loads((folder / "feature_shift.json").read_text()) == data
    assert (folder / "feature_shift.png").stat().st_size > 1000
    missing = runner.invoke(app, [*common, "--real", "radhar:/nonexistent/real"])
    assert missing.exit_code == 2 and "does not exist" in " ".join(missing.output.split())
    bad = runner.invoke(app, [*common, "--real", "radhar"])
    assert bad.exit_code == 2 and "READER:DIR" in bad.output
