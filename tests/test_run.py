"""``mmexpert run``: the whole recipe in one command, its report, resume and argument errors.

The planner runs on the echo LLM backend with the n-gram encoder (real code paths, no model
load); clips are short so the simulation takes seconds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mmexpert.cli import app
from mmexpert.cli_run import parse_class_map
from test_eval_real import person_frames, write_radhar
from test_eval_real_raw import PROGRAMS, simulated_capture, write_capture

SCENARIO = "jumping jacks and squats"
CLASS_MAP = {"jack": "jumping jacks", "squats": "squats"}


def run_cli(*args: object):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def text_of(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("real")
    write_radhar(
        root / "jack" / "jack.txt", person_frames(95, seed=4)
    )  # 3.17 s: starts 0, 1/3, 2/3, 1 s
    write_radhar(root / "squats" / "squats.txt", person_frames(95, seed=5))
    return root


@pytest.fixture(scope="module")
def capture_dir(tmp_path_factory) -> Path:
    """jack/ and squats/: one simulated 2.5 s DCA1000 capture each (iwr1443-radhar)."""
    root = tmp_path_factory.mktemp("captures")
    for seed, (folder, program) in enumerate(PROGRAMS.items()):
        write_capture(root / folder / "adc_data.bin", simulated_capture(program, seed))
    return root


def recipe(out: Path, real_dir: Path, count: int = 4, frames: int = 8, epochs: int = 1):
    return (
        "run", "--scenario", SCENARIO, "--radar", "iwr1443-radhar", "--count", count,
        "--out", out, "--epochs", epochs, "--llm", "echo", "--encoder", "ngram",
        "--num-frames", frames, "--executor", "serial", "--test-fraction", 0.5,
        "--eval-real", f"radhar:{real_dir}", "--classes", "jack=jumping jacks,squats=squats",
        "--no-progress",
    )  # fmt: skip


def check_report(out: Path, real_windows: int) -> dict:
    report = (out / "report.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    expected = {"training_curve.png", "confusion_synthetic.png", "confusion_real.png"}
    assert set(images) - {"feature_shift.png"} == expected
    for image in images:
        assert (out / image).is_file() and (out / image).stat().st_size > 1000
    for heading in ("## Timings", "## Plan", "## Training", "## Held-out synthetic data"):
        assert heading in report
    assert "## Real data" in report and "| jumping jacks |" in report
    results = json.loads((out / "results.json").read_text())
    matrix = results["real"]["confusion"]
    assert sum(map(sum, matrix)) == real_windows
    hits = sum(matrix[i][i] for i in range(len(matrix)))
    assert results["real"]["accuracy"] == pytest.approx(hits / real_windows)
    assert set(results["timings_s"]) >= {"plan", "generate", "split", "train"}
    if results["stress"] is not None:  # the held-out clips, changed as real ones differ
        from mmexpert.eval.stress import STRESS_CONDITIONS

        assert "### Stress test" in report
        assert set(results["stress"]["accuracy"]) == set(STRESS_CONDITIONS)
        assert results["stress"]["count"] == results["synthetic"]["count"]
    return results


def test_run_end_to_end_then_resume(tmp_path, real_dir):
    out = tmp_path / "run"
    first = run_cli(*recipe(out, real_dir))
    assert first.exit_code == 0, first.output
    results = check_report(out, real_windows=8)
    assert results["model"] == "classifier-points-tiny"  # the point model, for real data
    shift = results["feature_shift"]  # where the model puts the real windows, no labels
    assert shift["real_windows"] == 8 and shift["synthetic_clips"] == 2
    assert [row["cosine"] for row in shift["rows"]] == sorted(
        (row["cosine"] for row in shift["rows"]), reverse=True
    )
    assert all(0.0 <= row["accuracy"] <= 1.0 for row in shift["rows"])
    assert "### Feature shift of the real windows" in (out / "report.md").read_text()
    assert results["stress"] is not None
    assert len(results["training_history"]) == 1
    model = out / "train" / "model"
    assert json.loads((model / "config.json").read_text())["inputs"]["frame_rate_hz"] == (
        pytest.approx(30.0003, abs=1e-3)
    )
    plan_bytes = (out / "plan.json").read_bytes()
    again = run_cli(*recipe(out, real_dir))
    assert again.exit_code == 0, again.output
    said = text_of(again)
    assert "reused plan.json" in said
    assert "generated 0, already stored 4" in said
    assert "resumed from epoch 1" in said
    assert (out / "plan.json").read_bytes() == plan_bytes
    assert json.loads((out / "results.json").read_text())["real"] == results["real"]
    longer = run_cli(*recipe(out, real_dir, frames=9))  # would mix 8- and 9-frame clips
    assert longer.exit_code == 2
    assert "holds a run made with num_frames=8" in text_of(longer)


def test_an_ensemble_run_trains_one_model_per_seed_and_scores_each(tmp_path, real_dir):
    from mmexpert.eval.real import evaluate_real

    out = tmp_path / "run"
    result = run_cli(*recipe(out, real_dir), "--ensemble", 2)
    assert result.exit_code == 0, result.output
    said = text_of(result)
    assert "member 1/2, seed 0" in said and "member 2/2, seed 1" in said
    results = check_report(out, real_windows=8)
    folders = [out / "train" / "model", out / "train-seed1" / "model"]
    assert [member["model"] for member in results["real"]["members"]] == list(map(str, folders))
    for folder, member in zip(folders, results["real"]["members"], strict=True):
        alone = evaluate_real(folder, "radhar", real_dir, CLASS_MAP)
        assert member["accuracy"] == alone.accuracy
    assert len(results["synthetic_members"]) == 2
    assert "ensemble of 2 (training seeds 0-1" in (out / "report.md").read_text()
    bigger = run_cli(*recipe(out, real_dir), "--ensemble", 3)  # the first two resume
    assert bigger.exit_code == 0, bigger.output
    assert text_of(bigger).count("resumed from epoch 1") == 2
    assert len(json.loads((out / "results.json").read_text())["real"]["members"]) == 3


def test_an_aligned_run_scores_real_windows_both_ways(tmp_path, real_dir):
    from mmexpert.eval.real import evaluate_real

    out = tmp_path / "run"
    result = run_cli(*recipe(out, real_dir), "--adapt", "mean", "--hop-s", 0.05)
    assert result.exit_code == 0, result.output
    said = text_of(result)
    # 2 held-out clips are too few to align to; the 48 real windows are enough
    assert "evaluate synthetic" in said and "at least 20 samples" in said
    results = json.loads((out / "results.json").read_text())
    assert results["synthetic"] is None and sum(map(sum, results["real"]["confusion"])) == 48
    assert results["real"]["adapt"] == "mean" and results["real_unaligned"]["adapt"] == "none"
    folder = out / "train" / "model"
    for adapt, key in (("mean", "real"), ("none", "real_unaligned")):
        alone = evaluate_real(folder, "radhar", real_dir, CLASS_MAP, hop_s=0.05, adapt=adapt)
        assert results[key]["confusion"] == alone.confusion
    report = (out / "report.md").read_text()
    assert "features aligned (mean)" in report and "Without alignment: accuracy" in report


def test_raw_captures_are_read_with_the_runs_radar_so_map_models_can_be_scored(
    tmp_path, capture_dir
):
    out = tmp_path / "run"
    args = list(recipe(out, capture_dir))
    args[args.index("--eval-real") + 1] = f"dca1000:{capture_dir}"
    result = run_cli(*args, "--model", "classifier-vit-tiny")  # reads the micro-Doppler map
    assert result.exit_code == 0, result.output
    results = check_report(out, real_windows=4)  # two 2 s windows per 2.5 s capture
    assert results["model"] == "classifier-vit-tiny"
    assert results["stress"] is None  # its conditions change points, which it does not read
    assert "skipped: the model reads no points" in (out / "report.md").read_text()
    assert results["real"]["windows_per_class"] == {"jumping jacks": 2, "squats": 2}
    points_only = list(recipe(tmp_path / "other", capture_dir))
    points_only[points_only.index("--eval-real") + 1] = f"dca1000:{capture_dir}"
    wrong = run_cli(*points_only, "--layout", "xwr68")
    assert wrong.exit_code == 2
    assert "unknown DCA1000 layout 'xwr68'" in text_of(wrong)
    assert not (tmp_path / "other" / "store").exists()  # refused before simulating


def test_a_different_scenario_in_the_same_folder_is_refused(tmp_path, real_dir):
    out = tmp_path / "run"
    out.mkdir()
    planned = run_cli("plan", "--scenario", "boxing", "--count", 4, "--out", out / "plan.json",
                      "--backend", "echo", "--encoder", "ngram")  # fmt: skip
    assert planned.exit_code == 0, planned.output
    result = run_cli(*recipe(out, real_dir))
    assert result.exit_code == 2
    assert "was planned for scenario 'boxing'" in text_of(result)


def test_classes_a_classifier_cannot_learn_are_refused_before_simulating(tmp_path, real_dir):
    out = tmp_path / "run"
    args = list(recipe(out, real_dir))
    args[args.index("--classes") + 1] = "jack=jumping jacks,squats=boxing"
    result = run_cli(*args)
    assert result.exit_code == 2
    assert "cannot recognise the real classes ['boxing']" in text_of(result)
    assert not (out / "store").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--eval-real": "radhar"}, "must read READER:DIR"),
        ({"--eval-real": "rosbag:/tmp"}, "unknown reader 'rosbag'"),
        ({"--eval-real": "radhar:/nonexistent/real"}, "does not exist"),
        ({"--model": "clip-vit-tiny"}, "needs a points-only model"),
        ({"--model": "no-such-model"}, "unknown model 'no-such-model'"),
        ({"--classes": "jack"}, None),  # accepted syntax; checked below for the real error
        ({"--classes": "=squats"}, "is not FOLDER=CLASS"),
        ({"--test-fraction": "1.5"}, "--test-fraction must be within (0, 1)"),
        ({"--radar": "no-such-radar"}, "no-such-radar"),
        ({"--llm": "scripted"}, "cannot be used from the command line"),
        ({"--llm": "no-such-llm"}, "unknown LLM backend 'no-such-llm'"),
        ({"--ensemble": "0"}, "--ensemble"),
        ({"--adapt": "bogus"}, "is not one of none, mean"),
    ],
)
def test_run_argument_errors_exit_2(tmp_path, real_dir, change, message):
    args = list(recipe(tmp_path / "run", real_dir))
    for option, value in change.items():
        if option in args:
            args[args.index(option) + 1] = value
        else:
            args += [option, value]
    result = run_cli(*args)
    if message is None:  # 'jack' maps the folder to itself: not a planned activity
        assert result.exit_code == 2
        assert "cannot recognise the real classes ['jack']" in text_of(result)
        return
    assert result.exit_code == 2, result.output
    assert message in text_of(result)
    assert not (tmp_path / "run" / "store").exists()


def test_classes_without_real_data_are_refused(tmp_path):
    result = run_cli(
        "run", "--scenario", SCENARIO, "--radar", "iwr1443-radhar", "--count", 4,
        "--out", tmp_path / "run", "--classes", "jack=jumping jacks",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "give --eval-real READER:DIR too" in text_of(result)


def test_parse_class_map():
    assert parse_class_map(None) is None
    assert parse_class_map("jack=jumping jacks, squats") == {
        "jack": "jumping jacks",
        "squats": "squats",
    }
    with pytest.raises(typer.Exit):
        parse_class_map("jack=a,,squats=b")


@pytest.mark.slow
def test_run_full_programs_more_clips_and_epochs(tmp_path, real_dir):
    """Whole motion programs (3-9 s clips, centre 2 s seen), 10 clips, 3 epochs."""
    out = tmp_path / "run"
    args = list(recipe(out, real_dir, count=10, epochs=3))
    at = args.index("--num-frames")
    del args[at : at + 2]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    results = check_report(out, real_windows=8)
    assert len(results["training_history"]) == 3
    assert results["synthetic"]["count"] >= 1


def test_noise_figure_span_reaches_every_scene_and_a_rerun_must_keep_it(tmp_path, real_dir):
    out = tmp_path / "run"
    first = run_cli(*recipe(out, real_dir), "--noise-figure-db", "9,9")
    assert first.exit_code == 0, first.output
    plan = json.loads((out / "plan.json").read_text())
    assert plan["noise_figure_span_db"] == [9.0, 9.0]
    assert {s["scene"]["noise_figure_offset_db"] for s in plan["samples"]} == {9.0}
    other = run_cli(*recipe(out, real_dir), "--noise-figure-db", "0,16")
    assert other.exit_code == 2
    assert "planned with noise-figure offsets 9..9 dB, not 0..16" in text_of(other)
    default = run_cli(*recipe(out, real_dir))  # the default span is 0..16 dB too
    assert default.exit_code == 2 and "not 0..16" in text_of(default)
    distances = run_cli(*recipe(out, real_dir), "--noise-figure-db", "9,9", "--distance-m", "1,2")
    assert distances.exit_code == 2
    assert "planned with start distances 1..5 m, not 1..2" in text_of(distances)
