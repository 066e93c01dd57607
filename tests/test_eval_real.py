"""Sim-to-real evaluation: real windows in the synthetic layout, scored by store-trained models.

The real recordings here are written by the tests in the RadHAR text format, so every
window's true class, frame and point is known. The shared RadHAR sample is only read to
check shapes; nothing is trained or tuned on its labels.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mmexpert.cli import app
from mmexpert.data.samples import POINT_COLUMNS, points_table
from mmexpert.dsp.pointcloud import POINT_DTYPE
from mmexpert.eval.metrics import confusion_matrix
from mmexpert.eval.real import (
    RealDataError,
    evaluate_real,
    model_frame_rate_hz,
    real_raw_samples,
    training_store_frame_rate_hz,
    window_points_table,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RADHAR_SAMPLE = SHARED_DATA / "radhar-sample"
RADAR = "iwr1443-radhar"  # the RadHAR-class preset: 30.0003 frames/s
FRAMES = 12  # synthetic clip length [frames]: 0.4 s, about 0.5 s of simulation each
REAL_RATE_HZ = 30.0  # frame rate of the recordings the tests write
CLASS_MAP = {"jack": "jumping jacks", "squats": "squats"}


def write_radhar(path: Path, frames: list[np.ndarray], rate_hz: float = REAL_RATE_HZ) -> Path:
    """Write frames in the ti_mmwave_rospkg text format (one record per point).

    ``frames``: float [points_f, 5] per frame, columns x (forward), y (left), z [m],
    radial velocity [m/s], intensity [dB], in the ROS driver's frame.
    """
    lines: list[str] = []
    seq = 1000
    for index, frame in enumerate(frames):
        secs, nsecs = divmod(round(1e9 * (1_561_686_388 + index / rate_hz)), 10**9)
        for point_id, (x, y, z, velocity, intensity) in enumerate(frame):
            lines += [
                "header: ",
                f"  seq: {seq}",
                "  stamp: ",
                f"    secs: {secs}",
                f"    nsecs: {nsecs}",
                '  frame_id: "ti_mmwave"',
                f"point_id: {point_id}",
                f"x: {x}",
                f"y: {y}",
                f"z: {z}",
                f"range: {np.sqrt(x * x + y * y + z * z)}",
                f"velocity: {velocity}",
                "doppler_bin: 8",
                f"bearing: {np.degrees(np.arctan2(y, x))}",
                f"intensity: {intensity}",
                "---",
            ]
            seq += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def person_frames(count: int, seed: int) -> list[np.ndarray]:
    """``count`` frames of 3-8 points around a person 3 m in front of the radar."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(count):
        points = int(rng.integers(3, 9))
        centre = np.array([3.0, 0.0, 0.2])
        xyz = centre + rng.normal(0.0, [0.15, 0.2, 0.5], size=(points, 3))
        velocity = rng.normal(0.0, 0.8, size=(points, 1))
        intensity = rng.uniform(10.0, 30.0, size=(points, 1))
        frames.append(np.hstack([xyz, velocity, intensity]))
    return frames


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory) -> Path:
    """jack/ and squats/: one 4.5 s recording each (8 windows of 2 s every 1/3 s), plus a 1 s
    recording (too short), a file that is no recording, and a truncated last record."""
    root = tmp_path_factory.mktemp("real")
    write_radhar(root / "jack" / "jack_1.txt", person_frames(135, seed=1))
    squats = write_radhar(root / "squats" / "squats_1.txt", person_frames(135, seed=2))
    write_radhar(root / "squats" / "short.txt", person_frames(30, seed=3))
    (root / "jack" / "notes.txt").write_text("recorded on a Tuesday\n")
    with squats.open("a") as handle:
        handle.write("header: \n  seq: 99999\npoint_id: 0\nx: 1.0\n")  # cut mid-record
    return root


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    from mmexpert.models.synthetic import build_synthetic_store

    folder = tmp_path_factory.mktemp("store") / "store"
    return build_synthetic_store(
        folder, ["jumping jacks", "squats"], 2, num_frames=FRAMES, radar=RADAR
    )


def _train(store: Path, out: Path, model: str, seed: int = 0) -> Path:
    from mmexpert.models.train import TrainConfig, train

    config = TrainConfig(model=model, epochs=1, batch_size=4, window_frames=FRAMES, seed=seed)
    model_dir = train(config, store, out, progress=False).model_dir
    assert model_dir is not None
    return model_dir


@pytest.fixture(scope="module")
def classifier_dir(store, tmp_path_factory) -> Path:
    return _train(store, tmp_path_factory.mktemp("classifier"), "classifier-points-tiny")


@pytest.fixture(scope="module")
def second_classifier_dir(store, tmp_path_factory) -> Path:
    """The same recipe trained with another seed: an ensemble member."""
    return _train(store, tmp_path_factory.mktemp("seed1"), "classifier-points-tiny", seed=1)


# ---------------------------------------------------------------- windows and layout


def test_real_window_columns_equal_the_stored_synthetic_point_table():
    from mmexpert.data.simulation import activity_program, simulate_person
    from mmexpert.radar.presets import load_radar

    products = simulate_person(
        load_radar(RADAR), activity_program("squat"), seed=0, num_frames=4, keep_adc=False
    )
    assert products.num_points > 0
    frames = [
        products.frame_points(frame)[list(POINT_DTYPE.names)].astype(POINT_DTYPE)
        for frame in range(len(products.points_per_frame))
    ]
    table, counts = window_points_table(frames)
    np.testing.assert_array_equal(table, points_table(products))
    np.testing.assert_array_equal(counts, products.points_per_frame)
    assert table.dtype == np.float32 and counts.dtype == np.int32
    assert table.shape[1] == len(POINT_COLUMNS)


def test_windows_have_the_synthetic_clip_shape_at_the_model_rate(real_dir, store):
    from mmexpert.data.store import DatasetStore

    rate = training_store_frame_rate_hz(store)
    assert rate == pytest.approx(30.0003, abs=1e-3)
    with DatasetStore.open(store) as opened:
        record = opened.records()[0]
        stored = opened.read_record(record, arrays=["points", "points_per_frame"]).arrays
    # A window as long as a stored clip holds as many frames, in the same layout.
    raws, summary = real_raw_samples(
        "radhar", real_dir, CLASS_MAP, window_s=FRAMES / rate, frame_rate_hz=rate
    )
    assert summary.frame_rate_hz == rate
    for raw in raws:
        assert raw["points_per_frame"].shape == stored["points_per_frame"].shape
        assert raw["points_per_frame"].dtype == stored["points_per_frame"].dtype
        assert raw["points"].dtype == stored["points"].dtype
        assert raw["points"].shape[1] == stored["points"].shape[1]
        assert raw["points_per_frame"].sum() == len(raw["points"])
        np.testing.assert_array_equal(
            raw["points"][:, -1], np.repeat(np.arange(FRAMES), raw["points_per_frame"])
        )


def test_resampling_picks_the_nearest_recorded_frame(tmp_path):
    # Frame i of a 30 frames/s recording sits i cm further out: its points tell its index.
    frames = [np.array([[1.0 + 0.01 * i, 0.0, 0.0, 0.0, 20.0]] * 2) for i in range(120)]
    write_radhar(tmp_path / "walk" / "walk.txt", frames)
    raws, _ = real_raw_samples("radhar", tmp_path, None, 2.0, 0.5, frame_rate_hz=50.0)
    # Last recorded frame at 3.967 s: windows start at 0, 0.5, 1.0, 1.5 s (2.0 s would need
    # frames up to 3.98 s).
    assert len(raws) == 4
    for raw in raws:
        assert raw["points_per_frame"].shape == (100,)  # 2 s at 50 frames/s
        boresight = raw["points"][::2, POINT_COLUMNS.index("y")]
        targets = raw["start_s"] + np.arange(100) / 50.0
        expected = np.minimum(np.rint(targets * REAL_RATE_HZ), 119)  # never a tie at 30 vs 50
        np.testing.assert_allclose(boresight, 1.0 + 0.01 * expected, atol=1e-5)


def test_window_counts_labels_and_skip_counts(real_dir):
    raws, summary = real_raw_samples("radhar", real_dir, CLASS_MAP)
    # 135 frames at 30 frames/s: last frame at 4.467 s; starts k/3 s while k/3 <= 2.5 s.
    assert summary.windows_per_class == {"jumping jacks": 8, "squats": 8}
    assert summary.windows == len(raws) == 16
    assert summary.recordings == 2
    assert len({raw["sample_id"] for raw in raws}) == 16
    assert {raw["activity"] for raw in raws} == {"jumping jacks", "squats"}
    assert all(raw["points_per_frame"].shape == (60,) for raw in raws)  # own rate, 2 s
    assert summary.skipped["recordings shorter than one 2 s window"] == 1
    assert summary.skipped["files unreadable as radhar recordings"] == 1
    assert summary.skipped["truncated last record"] == 1
    _, jack_summary = real_raw_samples("radhar", real_dir, {"jack": "jumping jacks"})
    assert jack_summary.windows_per_class == {"jumping jacks": 8}
    assert jack_summary.skipped["recordings in folders outside the class map"] == 2


def test_ti_demo_csv_windows_keep_the_ti_axes(tmp_path):
    # TI demo frame: x right, y forward, like ours; no time stamps, so 30 frames/s.
    rows = ["Frame #,# Obj,X,Y,Z,Doppler,Intensity"]
    rows += [f"{frame},2,0.5,{2.0 + 0.01 * frame},0.1,-0.4,17.0" for frame in range(75)] * 2
    (tmp_path / "walk").mkdir()
    (tmp_path / "walk" / "capture.csv").write_text("\n".join(rows) + "\n")
    raws, summary = real_raw_samples("ti_csv", tmp_path, None)
    assert len(raws) == 2  # last frame at 2.467 s: windows start at 0 and 1/3 s
    assert summary.skipped == {}
    assert summary.recording_rates_hz["walk/capture.csv"] == pytest.approx(30.0)
    first = raws[0]
    np.testing.assert_array_equal(first["points_per_frame"], np.full(60, 2))
    columns = {name: first["points"][:, i] for i, name in enumerate(POINT_COLUMNS)}
    np.testing.assert_allclose(columns["x"], 0.5)
    np.testing.assert_allclose(columns["y"], 2.0 + 0.01 * np.repeat(np.arange(60), 2), atol=1e-6)
    np.testing.assert_allclose(columns["velocity"], -0.4)
    np.testing.assert_allclose(columns["intensity"], 17.0)
    np.testing.assert_allclose(columns["bearing"], np.arctan2(0.5, columns["y"]), atol=1e-6)


def test_reading_errors_are_named(tmp_path, real_dir):
    with pytest.raises(RealDataError, match="unknown reader 'rosbag'"):
        real_raw_samples("rosbag", real_dir, None)
    with pytest.raises(RealDataError, match="does not exist"):
        real_raw_samples("radhar", tmp_path / "absent", None)
    with pytest.raises(RealDataError, match="no recordings under"):
        real_raw_samples("radhar", tmp_path, None)
    with pytest.raises(RealDataError, match="no 2 s window could be cut"):
        real_raw_samples("radhar", real_dir, {"boxing": "boxing"})
    with pytest.raises(RealDataError, match="must be > 0"):
        real_raw_samples("radhar", real_dir, None, hop_s=0.0)


# ---------------------------------------------------------------- evaluation


def test_classifier_scores_match_an_independent_count(classifier_dir, real_dir, tmp_path):
    from mmexpert.models.io import load_model
    from mmexpert.models.predict import class_scores

    plot = tmp_path / "cm.png"
    evaluation = evaluate_real(classifier_dir, "radhar", real_dir, CLASS_MAP, plot_path=plot)
    assert evaluation.model_kind == "classifier"
    assert evaluation.class_names == ["jumping jacks", "squats"]
    assert evaluation.windows_per_class == {"jumping jacks": 8, "squats": 8}
    matrix = np.array(evaluation.confusion)
    assert matrix.sum() == 16
    np.testing.assert_array_equal(matrix.sum(1), [8, 8])
    assert evaluation.accuracy == pytest.approx(np.trace(matrix) / matrix.sum())
    for index, name in enumerate(evaluation.class_names):
        assert evaluation.per_class[name] == pytest.approx(matrix[index, index] / 8)
    # The same windows scored directly, truth from the folders the test wrote.
    raws, _ = real_raw_samples("radhar", real_dir, CLASS_MAP, frame_rate_hz=30.0003)
    names, scores = class_scores(load_model(classifier_dir), raws)
    truth = [names.index(raw["activity"]) for raw in raws]
    np.testing.assert_array_equal(matrix, confusion_matrix(truth, np.argmax(scores, 1), len(names)))
    assert plot.is_file() and evaluation.plot_path == str(plot)
    data = json.loads(json.dumps(evaluation.to_json()))
    assert {"accuracy", "macro_f1", "per_class", "confusion", "read_report"} <= set(data)


def test_model_frame_rate_comes_from_the_model_folder(classifier_dir, store, real_dir, tmp_path):
    assert model_frame_rate_hz(classifier_dir) == pytest.approx(30.0003, abs=1e-3)
    bare = tmp_path / "bare"
    shutil.copytree(classifier_dir, bare)
    config = json.loads((bare / "config.json").read_text())
    del config["inputs"]["frame_rate_hz"]  # a model saved before frame rates were recorded
    (bare / "config.json").write_text(json.dumps(config))
    assert model_frame_rate_hz(bare) is None
    with pytest.raises(RealDataError, match="does not record its training frame rate"):
        evaluate_real(bare, "radhar", real_dir, CLASS_MAP)
    from_store = evaluate_real(bare, "radhar", real_dir, CLASS_MAP, train_data=store)
    assert from_store.read_report.frame_rate_hz == pytest.approx(30.0003, abs=1e-3)
    at_50 = evaluate_real(bare, "radhar", real_dir, CLASS_MAP, frame_rate_hz=50.0)
    assert at_50.read_report.frame_rate_hz == 50.0


def test_classifier_refuses_classes_it_does_not_know(classifier_dir, real_dir):
    with pytest.raises(RealDataError, match=r"knows only \['jumping jacks', 'squats'\]"):
        evaluate_real(classifier_dir, "radhar", real_dir, {"jack": "jumping", "squats": "squats"})
    with pytest.raises(RealDataError, match=r"real data has classes \['jack'\]"):
        evaluate_real(classifier_dir, "radhar", real_dir)  # folder names as classes


def test_a_model_reading_maps_is_refused(tmp_path, real_dir):
    import dataclasses

    from mmexpert.models.io import InputSettings, save_model
    from mmexpert.models.models import build_model
    from mmexpert.models.registry import model_config

    config = dataclasses.replace(model_config("classifier-cnn-tiny"), num_classes=2)
    folder = save_model(
        build_model(config),
        ["jumping jacks", "squats"],
        InputSettings(("micro_doppler",), FRAMES, 40.0, 32),
        tmp_path / "model",
    )
    with pytest.raises(RealDataError, match="must use the 'points' view only"):
        evaluate_real(folder, "radhar", real_dir, CLASS_MAP, frame_rate_hz=30.0)


def test_clip_model_scores_the_class_texts(store, real_dir, tmp_path):
    model_dir = _train(store, tmp_path / "clip", "clip-points-tiny")
    texts = {"jack": "jumping jacks", "squats": "doing squats"}
    evaluation = evaluate_real(model_dir, "radhar", real_dir, texts)
    assert evaluation.model_kind == "clip"
    assert evaluation.class_names == ["jumping jacks", "doing squats"]
    matrix = np.array(evaluation.confusion)
    assert matrix.sum() == 16 and list(matrix.sum(1)) == [8, 8]
    assert evaluation.accuracy == pytest.approx(np.trace(matrix) / 16)


# ---------------------------------------------------------------- ensembles


def test_an_ensemble_scores_the_mean_of_its_members_probabilities(
    classifier_dir, second_classifier_dir, real_dir
):
    from mmexpert.models.io import load_model
    from mmexpert.models.predict import class_probabilities

    members = [classifier_dir, second_classifier_dir]
    evaluation = evaluate_real(members, "radhar", real_dir, CLASS_MAP)
    raws, _ = real_raw_samples("radhar", real_dir, CLASS_MAP, frame_rate_hz=30.0003)
    probabilities = []
    for folder in members:
        names, scores = class_probabilities(load_model(folder), raws)
        np.testing.assert_allclose(scores.sum(1), 1.0, atol=1e-5)
        probabilities.append(scores)
    truth = [names.index(raw["activity"]) for raw in raws]
    mean = (probabilities[0] + probabilities[1]) / 2
    expected = confusion_matrix(truth, np.argmax(mean, 1), len(names))
    np.testing.assert_array_equal(np.array(evaluation.confusion), expected)
    # Each member alone scores as it does when evaluated by itself.
    alone = [evaluate_real(folder, "radhar", real_dir, CLASS_MAP) for folder in members]
    assert [m["accuracy"] for m in evaluation.members] == [a.accuracy for a in alone]
    assert [m["model"] for m in evaluation.members] == [str(folder) for folder in members]
    assert evaluation.member_mean_accuracy == pytest.approx(np.mean([a.accuracy for a in alone]))
    assert alone[0].members == [] and alone[0].member_mean_accuracy is None
    data = evaluation.to_json()
    assert data["member_mean_accuracy"] == evaluation.member_mean_accuracy
    assert "member_mean_accuracy" not in alone[0].to_json()
    single = evaluate_real([classifier_dir], "radhar", real_dir, CLASS_MAP)
    assert single.confusion == alone[0].confusion and single.members == []


def test_clip_probabilities_keep_the_similarity_ranking(store, real_dir, tmp_path):
    from mmexpert.models.io import load_model
    from mmexpert.models.predict import class_probabilities, class_scores

    loaded = load_model(_train(store, tmp_path / "clip", "clip-points-tiny"))
    raws, _ = real_raw_samples("radhar", real_dir, CLASS_MAP, frame_rate_hz=30.0003)
    texts = ["jumping jacks", "squats"]
    _, similarities = class_scores(loaded, raws, texts)
    _, probabilities = class_probabilities(loaded, raws, texts)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
    scale = float(loaded.model.logit_scale.detach().exp())
    # A two-class softmax at the model's temperature: p0 = sigmoid(scale (s0 - s1)).
    expected = 1.0 / (1.0 + np.exp(-scale * (similarities[:, 0] - similarities[:, 1])))
    np.testing.assert_allclose(probabilities[:, 0], expected, rtol=1e-4, atol=1e-6)


def test_ensemble_members_must_agree_on_frame_rate_and_classes(classifier_dir, real_dir, tmp_path):
    import dataclasses

    from mmexpert.models.io import InputSettings, save_model
    from mmexpert.models.models import build_model
    from mmexpert.models.predict import PredictionError
    from mmexpert.models.registry import model_config

    faster = tmp_path / "faster"
    shutil.copytree(classifier_dir, faster)
    config = json.loads((faster / "config.json").read_text())
    config["inputs"]["frame_rate_hz"] = 10.0
    (faster / "config.json").write_text(json.dumps(config))
    with pytest.raises(RealDataError, match="different frame rates"):
        evaluate_real([classifier_dir, faster], "radhar", real_dir, CLASS_MAP)
    three = dataclasses.replace(model_config("classifier-points-tiny"), num_classes=3)
    other = save_model(
        build_model(three),
        ["jumping jacks", "squats", "walking"],
        InputSettings(("points",), FRAMES, 40.0, 32, frame_rate_hz=30.0003),
        tmp_path / "other",
    )
    with pytest.raises(PredictionError, match="must choose among the same classes"):
        evaluate_real([classifier_dir, other], "radhar", real_dir, CLASS_MAP)
    with pytest.raises(RealDataError, match="no model"):
        evaluate_real([], "radhar", real_dir, CLASS_MAP)


# ---------------------------------------------------------------- CLI


def run_cli(*args: object):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def test_cli_eval_real_json_and_default_output_folder(classifier_dir, real_dir):
    result = run_cli(
        "eval-real", "--reader", "radhar", "--data", real_dir, "--model", classifier_dir.parent,
        "--classes", "jack=jumping jacks, squats=squats", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"accuracy", "macro_f1", "per_class"} <= set(data)
    assert sum(map(sum, data["confusion"])) == 16
    folder = classifier_dir.parent / "eval-real"
    assert (folder / "confusion_real.png").is_file()
    assert json.loads((folder / "eval_real.json").read_text()) == data
    table = run_cli(
        "eval-real", "--reader", "radhar", "--data", real_dir, "--model", classifier_dir,
        "--classes", "jack=jumping jacks,squats", "--out", real_dir.parent / "table",
    )  # fmt: skip
    assert table.exit_code == 0, table.output
    assert "macro-F1" in table.output and "jumping jacks" in table.output


def test_cli_eval_real_ensemble_prints_each_member(classifier_dir, second_classifier_dir, real_dir):
    models = ["--model", classifier_dir, "--model", second_classifier_dir]
    common = ["eval-real", "--reader", "radhar", "--data", real_dir, *models]
    result = run_cli(*common, "--classes", "jack=jumping jacks,squats", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [member["model"] for member in data["members"]] == [
        str(classifier_dir), str(second_classifier_dir)
    ]  # fmt: skip
    folder = classifier_dir.parent / "eval-real-ensemble"
    assert json.loads((folder / "eval_real.json").read_text()) == data
    table = run_cli(
        *common, "--classes", "jack=jumping jacks,squats", "--out", real_dir.parent / "ens"
    )
    assert table.exit_code == 0, table.output
    assert "ensemble of 2" in table.output and "each member alone" in table.output


def test_cli_eval_real_aligns_features_over_all_windows(classifier_dir, real_dir):
    common = [
        "eval-real", "--reader", "radhar", "--data", real_dir, "--model", classifier_dir,
        "--classes", "jack=jumping jacks,squats",
    ]  # fmt: skip
    result = run_cli(*common, "--hop-s", "0.1", "--adapt", "mean", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["adapt"] == "mean" and sum(map(sum, data["confusion"])) == 50
    folder = classifier_dir.parent / "eval-real-aligned-mean"
    assert json.loads((folder / "eval_real.json").read_text()) == data
    plain = run_cli(*common, "--hop-s", "0.1", "--json", "--out", real_dir.parent / "plain")
    assert json.loads(plain.stdout)["adapt"] == "none"
    too_few = run_cli(*common, "--adapt", "coral", "--out", real_dir.parent / "few")  # 16
    assert too_few.exit_code == 2
    assert "at least 20 samples" in " ".join(too_few.output.split())
    unknown = run_cli(*common, "--adapt", "bogus")
    assert unknown.exit_code == 2 and "is not one of none, mean" in unknown.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--reader": "rosbag"}, "unknown reader 'rosbag'"),
        ({"--data": "/nonexistent/real"}, "does not exist"),
        ({"--classes": "jack=,squats=squats"}, "is not FOLDER=CLASS"),
        ({"--classes": "jack=a,jack=b"}, "names folder 'jack' twice"),
        ({"--classes": "jack=jumping,squats=squats"}, "knows only"),
        ({"--model": "/nonexistent/model"}, "does not exist"),
    ],
)
def test_cli_eval_real_errors_exit_2(classifier_dir, real_dir, change, message):
    options = {
        "--reader": "radhar",
        "--data": str(real_dir),
        "--model": str(classifier_dir),
        "--classes": "jack=jumping jacks,squats=squats",
        **change,
    }
    result = run_cli("eval-real", *[item for pair in options.items() for item in pair])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_cli_eval_real_on_an_empty_folder(classifier_dir, tmp_path):
    result = run_cli(
        "eval-real", "--reader", "radhar", "--data", tmp_path, "--model", classifier_dir
    )
    assert result.exit_code == 2
    assert "no recordings under" in " ".join(result.output.split())


# ---------------------------------------------------------------- the shared RadHAR sample


def test_radhar_sample_reaches_the_model_with_the_training_shapes(classifier_dir):
    """Reader -> windows -> model on real RadHAR recordings: shapes only, no labels used."""
    if not RADHAR_SAMPLE.is_dir():
        pytest.skip(f"RadHAR sample absent: {RADHAR_SAMPLE} (shared data not mounted)")
    from mmexpert.models.io import load_model
    from mmexpert.models.predict import class_scores

    rate = model_frame_rate_hz(classifier_dir)
    raws, summary = real_raw_samples("radhar", RADHAR_SAMPLE, None, frame_rate_hz=rate)
    assert set(summary.windows_per_class) == {"boxing", "jack", "jump", "squats", "walk"}
    assert summary.recordings == 5
    for raw in raws:
        assert raw["points"].dtype == np.float32 and raw["points"].shape[1] == 8
        assert raw["points_per_frame"].shape == (60,)  # 2 s at the model's 30 frames/s
        assert np.isfinite(raw["points"]).all()
    names, scores = class_scores(load_model(classifier_dir), raws[::10])
    assert scores.shape == (len(raws[::10]), len(names))
    assert np.isfinite(scores).all()
