"""Stress test of a model: the conditions do what their names say, reports are reproducible,
and ``mmexpert stress`` scores a trained classifier on a store's held-out split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mmexpert.cli import app
from mmexpert.data.store import DatasetStore
from mmexpert.eval.stress import STRESS_CONDITIONS, StressTestError, stress_test
from mmexpert.models.inputs import load_raw_samples

FRAMES = 12


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    from mmexpert.models.synthetic import build_synthetic_store

    folder = tmp_path_factory.mktemp("store") / "store"
    return build_synthetic_store(
        folder, ["jumping jacks", "squats"], 2, num_frames=FRAMES, radar="iwr1443-radhar"
    )


@pytest.fixture(scope="module")
def raws(store):
    with DatasetStore.open(store) as opened:
        samples = load_raw_samples(opened, None, ["points"])
    assert sum(len(raw["points"]) for raw in samples) > 100, "the clips need points"
    return samples


def _kept_share(reference):
    """A stand-in 'accuracy': the share of the points that survive a condition."""
    total = sum(len(raw["points"]) for raw in reference)

    def evaluate(changed):
        share = sum(len(raw["points"]) for raw in changed) / total
        return {"accuracy": share, "macro_f1": share}

    return evaluate


def test_conditions_keep_or_drop_points_as_named_and_repeat_exactly(raws):
    report = stress_test(_kept_share(raws), raws, repeats=4)
    assert report.accuracy["as simulated"] == 1.0 and report.spread["as simulated"] == 0.0
    for name in ("elevation error 0.1 rad", "elevation error 0.3 rad", "slowed to 0.6x"):
        assert name in report.accuracy
    for name in ("elevation error 0.1 rad", "elevation error 0.2 rad"):
        assert report.accuracy[name] == 1.0  # elevation errors move points, never drop them
    assert report.accuracy["60 % of points dropped"] == pytest.approx(0.4, abs=0.05)
    assert report.spread["60 % of points dropped"] > 0.0  # fresh draws per repeat
    again = stress_test(_kept_share(raws), raws, repeats=4)
    assert again == report
    assert report.mean_accuracy == pytest.approx(np.mean(list(report.accuracy.values())))
    assert set(report.to_json()["accuracy"]) == set(STRESS_CONDITIONS)


def test_bad_stress_arguments_are_refused(raws):
    with pytest.raises(ValueError, match="at least one labelled clip"):
        stress_test(_kept_share(raws), [])
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        stress_test(_kept_share(raws), raws, repeats=0)
    maps_only = [{key: value for key, value in raw.items() if key != "points"} for raw in raws]
    with pytest.raises(StressTestError, match="these clips hold none"):
        stress_test(_kept_share(raws), maps_only)


def test_cli_stress_scores_the_held_out_split(store, tmp_path):
    from mmexpert.models.train import TrainConfig, train

    config = TrainConfig(
        model="classifier-points-tiny", epochs=1, batch_size=4, window_frames=FRAMES
    )
    model = train(config, store, tmp_path / "train", progress=False).model_dir
    runner = CliRunner()
    missing = runner.invoke(app, ["stress", "--model", str(model), "--data", str(store)])
    assert missing.exit_code == 2
    assert "split" in " ".join(missing.output.split())
    split = runner.invoke(app, ["dataset", "split", str(store), "--test-fraction", "0.5"])
    assert split.exit_code == 0, split.output
    result = runner.invoke(
        app, ["stress", "--model", str(model), "--data", str(store), "--repeats", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["accuracy"]) == set(STRESS_CONDITIONS)
    assert all(0.0 <= value <= 1.0 for value in report["accuracy"].values())
    assert report["count"] == 2 and report["repeats"] == 2
    assert report["adapt"] == "none"
    table = runner.invoke(app, ["stress", "--model", str(model), "--data", str(store)])
    assert table.exit_code == 0 and "all three" in table.output and "mean" in table.output
    aligned = runner.invoke(
        app, ["stress", "--model", str(model), "--data", str(store), "--adapt", "mean"]
    )  # 2 held-out clips cannot give statistics to align to
    assert aligned.exit_code == 2 and "at least 20 samples" in " ".join(aligned.output.split())
    unknown = runner.invoke(
        app, ["stress", "--model", str(model), "--data", str(store), "--condition", "rain"]
    )
    assert unknown.exit_code == 2 and "unknown --condition ['rain']" in unknown.output


def test_stress_under_a_feature_shift_condition_matches_its_accuracy_column(store, tmp_path):
    """`stress --condition` draws a condition exactly as `feature-shift` does, so the two
    commands agree on a model's accuracy under it."""
    from mmexpert.eval.feature_shift import model_feature_shift
    from mmexpert.models.io import load_model
    from mmexpert.models.predict import load_inputs
    from mmexpert.models.train import TrainConfig, train

    config = TrainConfig(
        model="classifier-points-tiny", epochs=1, batch_size=4, window_frames=FRAMES
    )
    model = train(config, store, tmp_path / "train", progress=False).model_dir
    split = CliRunner().invoke(app, ["dataset", "split", str(store), "--test-fraction", "0.5"])
    assert split.exit_code == 0, split.output
    name = "elevation 0.3 rad + 60 % dropped"
    result = CliRunner().invoke(
        app,
        [
            "stress",
            "--model",
            str(model),
            "--data",
            str(store),
            "--condition",
            name,
            "--condition",
            "as simulated",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert list(report["accuracy"]) == [name, "as simulated"]
    loaded = load_model(model)
    held_out = load_inputs(store, loaded.inputs.views, "test")
    shift = model_feature_shift(loaded, held_out, held_out)
    row = next(row for row in shift.rows if row.name == name)
    assert report["accuracy"][name] == pytest.approx(row.accuracy, abs=1e-9)
    assert report["accuracy"]["as simulated"] == pytest.approx(shift.synthetic_accuracy)


def test_stress_of_an_ensemble(store, tmp_path):
    from mmexpert.models.io import load_model
    from mmexpert.models.predict import evaluate_ensemble, evaluate_model
    from mmexpert.models.train import TrainConfig, train

    models = []
    for seed in (0, 1):
        config = TrainConfig(
            model="classifier-points-tiny", epochs=1, batch_size=4, window_frames=FRAMES, seed=seed
        )
        models.append(train(config, store, tmp_path / f"seed{seed}", progress=False).model_dir)
    with DatasetStore.open(store) as opened:
        samples = load_raw_samples(opened, None, ["points"])
    loaded = load_model(models[0])
    # Averaging a model with itself changes no probability, so no prediction.
    assert evaluate_ensemble([loaded, loaded], samples) == evaluate_model(loaded, samples)
    runner = CliRunner()
    split = runner.invoke(app, ["dataset", "split", str(store), "--test-fraction", "0.5"])
    assert split.exit_code == 0, split.output
    both = ["--model", str(models[0]), "--model", str(models[1])]
    table = runner.invoke(app, ["stress", *both, "--data", str(store), "--repeats", "1"])
    assert table.exit_code == 0, table.output
    assert "ensemble of 2 models" in " ".join(table.output.split())
