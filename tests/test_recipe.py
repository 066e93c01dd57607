"""The recipe as a library (:mod:`mmexpert.flywheel.recipe`): errors are exceptions, progress
goes to the caller's ``log``, and a rerun resumes every stage.

Tiny runs (echo LLM, n-gram encoder, 4 clips of 8 frames, 1 epoch, serial simulation) take a
few seconds; ``tests/test_run.py`` covers the same recipe through ``mmexpert run``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mmexpert.flywheel.recipe import (
    RecipeError,
    RunOptions,
    evaluate_real_folder,
    run_recipe,
)
from mmexpert.llm import EchoBackend
from test_eval_real import person_frames, write_radhar

STAGES = (
    "plan",
    "generate",
    "split",
    "train",
    "evaluate synthetic",
    "stress test",
    "evaluate real",
)


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("real")
    write_radhar(root / "jack" / "jack.txt", person_frames(95, seed=4))
    write_radhar(root / "squats" / "squats.txt", person_frames(95, seed=5))
    return root


def tiny(out: Path, real_dir: Path, **changes) -> RunOptions:
    options = RunOptions(
        scenario="jumping jacks and squats",
        radar="iwr1443-radhar",
        count=4,
        out=out,
        epochs=1,
        real=("radhar", real_dir),
        classes={"jack": "jumping jacks", "squats": "squats"},
        llm="echo",
        encoder="ngram",
        num_frames=8,
        test_fraction=0.5,
        executor="serial",
        progress=False,
    )
    return dataclasses.replace(options, **changes)


def stage_lines(lines: list[str]) -> dict[str, str]:
    """``{"train": "train 0.9 s: classifier-points-tiny, ..."}`` from the logged lines."""
    return {
        name: line
        for line in lines
        for name in STAGES
        if line.startswith(f"{name} ") and " s" in line
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"radar": "no-such-radar"}, "no-such-radar"),
        ({"model": "no-such-model"}, "unknown model 'no-such-model'; choose one of"),
        ({"model": "clip-vit-tiny"}, "needs a points-only model"),
        ({"real": ("radhar", Path("/nonexistent/real"))}, "/nonexistent/real does not exist"),
        ({"real": None}, "classes map real-data folders"),
        ({"llm": "no-such-llm"}, "unknown LLM backend 'no-such-llm'"),
        ({"llm": "scripted"}, "cannot be built from its name alone"),
        ({"encoder": "no-such-encoder"}, "unknown encoder 'no-such-encoder'"),
        ({"executor": "local"}, "executor must be one of"),
        ({"test_fraction": 1.5}, "test_fraction must be within (0, 1)"),
        ({"count": 1}, "count must be >= 2"),
        ({"hop_s": 0.0}, "window_s and hop_s must be > 0 s"),
    ],
)
def test_bad_settings_raise_recipe_error_before_anything_is_written(
    tmp_path, real_dir, changes, message
):
    out = tmp_path / "run"
    with pytest.raises(RecipeError) as caught:
        run_recipe(tiny(out, real_dir, **changes), log=lambda line: None)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert not out.exists()


def test_an_unknown_reader_is_refused(tmp_path, real_dir):
    with pytest.raises(RecipeError, match=r"unknown reader 'rosbag'; choose one of \["):
        run_recipe(tiny(tmp_path / "run", real_dir, real=("rosbag", real_dir)))
    assert not (tmp_path / "run").exists()


def test_a_given_backend_replaces_the_named_one(tmp_path, real_dir):
    lines: list[str] = []
    options = tiny(tmp_path / "run", real_dir, llm="no-such-llm", real=None, classes=None)
    report = run_recipe(options, log=lines.append, backend=EchoBackend())
    assert report.is_file()
    assert "plan" in stage_lines(lines)


def test_real_classes_a_classifier_cannot_learn_are_refused_before_simulating(tmp_path, real_dir):
    out = tmp_path / "run"
    options = tiny(out, real_dir, classes={"jack": "jumping jacks", "squats": "boxing"})
    with pytest.raises(RecipeError, match=r"cannot recognise the real classes \['boxing'\]"):
        run_recipe(options, log=lambda line: None)
    assert (out / "plan.json").is_file() and not (out / "store").exists()


def test_log_gets_every_stage_then_a_rerun_resumes_each(tmp_path, real_dir, capsys):
    out = tmp_path / "run"
    lines: list[str] = []
    report = run_recipe(tiny(out, real_dir), log=lines.append)
    assert report == out / "report.md" and (out / "results.json").is_file()
    first = stage_lines(lines)
    assert list(first) == list(STAGES)
    assert first["generate"].endswith("generated 4, already stored 0, failed 0")
    assert "classifier-points-tiny, epochs: 1" in first["train"]
    assert any(line.startswith("plan: 4 samples -> ") for line in lines)
    captured = capsys.readouterr()
    assert captured.out == ""  # the library prints nothing of its own on stdout
    assert "generate" not in captured.err

    run_recipe(tiny(out, real_dir))  # the default log: stderr
    again = capsys.readouterr()
    assert again.out == ""
    assert "reused plan.json" in again.err
    assert "generated 0, already stored 4" in again.err
    assert "resumed from epoch 1" in again.err

    with pytest.raises(RecipeError, match="holds a run made with num_frames=8"):
        run_recipe(tiny(out, real_dir, num_frames=9), log=lambda line: None)


def test_the_real_recordings_are_read_once_for_every_scoring(tmp_path, real_dir, monkeypatch):
    import mmexpert.eval.real as real

    reads: list[Path] = []
    read = real.real_raw_samples

    def counting(reader, folder, *args, **kwargs):
        reads.append(Path(folder))
        return read(reader, folder, *args, **kwargs)

    monkeypatch.setattr(real, "real_raw_samples", counting)
    lines: list[str] = []
    run_recipe(tiny(tmp_path / "run", real_dir, adapt="mean", hop_s=0.05), log=lines.append)
    assert reads == [real_dir]  # aligned, as they come, and the feature shift: one read
    scored = stage_lines(lines)["evaluate real"]
    assert "features aligned (mean), without: " in scored
    assert any(line.startswith("feature shift ") for line in lines)


def test_evaluate_real_folder_names_a_missing_model(tmp_path, real_dir):
    with pytest.raises(RecipeError, match=r"model folder \S+no-model does not exist"):
        evaluate_real_folder(tmp_path / "no-model", "radhar", real_dir)
    with pytest.raises(RecipeError, match="unknown reader 'rosbag'"):
        evaluate_real_folder(tmp_path / "no-model", "rosbag", real_dir)


def test_the_run_split_keeps_shared_captions_and_programs_on_one_side():
    from mmexpert.flywheel.recipe import recipe_split

    samples = []
    for activity in ("squats", "walking"):
        for index in range(10):
            samples.append(
                {
                    "sample_id": f"{activity}-{index}",
                    "activity": activity,
                    # two plans can give different programs the same caption
                    "captions": [f"A person does {activity} number {index // 2}."],
                    "motion_program": {"segments": [{"primitive": activity, "n": index}]},
                }
            )
    for seed in range(5):
        split = recipe_split(samples, 0.3, seed)
        side = {sample_id: "test" for sample_id in split.test}
        for first, second in zip(samples[::2], samples[1::2], strict=True):
            assert side.get(first["sample_id"]) == side.get(second["sample_id"])
        tested = {sample_id.split("-")[0] for sample_id in split.test}
        assert tested == {"squats", "walking"}  # stratified: both classes held out
