"""Flywheel tests: revision logic on hand-made confusion matrices, the stop rule, LLM
descriptions (good, contradicting and garbage replies), a tiny end-to-end run through the
CLI, resume after a crash (hook-raised and a killed process), and refusals.

The end-to-end runs simulate real (short) clips with the dataset engine and train a real
1-epoch classifier; the LLM is the echo backend (real, instant: every reply fails the
filters, which exercises the visible fallbacks) or a scripted backend.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mmexpert.data.store import DatasetStore
from mmexpert.flywheel import (
    ClassPlan,
    Evaluation,
    FlywheelConfig,
    FlywheelError,
    analyse,
    draw_specs,
    revise_settings,
    run_flywheel,
    stop_decision,
    uniform_settings,
)
from mmexpert.flywheel.describe import DescriptionReport, describe
from mmexpert.flywheel.loop import class_map
from mmexpert.flywheel.sampling import revised_activity, split_range
from mmexpert.flywheel.state import RoundState, read_json_model
from mmexpert.llm import ScriptedBackend
from mmexpert.motion import primitive_parameters
from mmexpert.plan import NgramEncoder

SCENARIO = "a home gym radar that tells squats from jumping jacks"
TINY = dict(
    rounds=2,
    count=2,
    val_count=2,
    epochs=1,
    llm="echo",
    encoder="ngram",
    clip_s=0.2,  # 6 frames at 30 frames/s: about 0.3 s of simulation per sample
    window_s=0.2,
    batch_size=4,
    paraphrases=1,
    executor="serial",
)
CLI_ARGS = [
    "--scenario", SCENARIO, "--rounds", "2", "--count", "2", "--val-count", "2",
    "--epochs", "1", "--llm", "echo", "--encoder", "ngram", "--clip-s", "0.2",
    "--window-s", "0.2", "--paraphrases", "1", "--executor", "serial", "--no-progress",
]  # fmt: skip


def _evaluation(classes: list[str], confusion: list[list[int]]) -> Evaluation:
    matrix = np.asarray(confusion)
    support = matrix.sum(1)
    per_class = {name: float(matrix[i, i] / support[i]) for i, name in enumerate(classes)}
    return Evaluation(
        accuracy=float(np.trace(matrix) / matrix.sum()),
        macro_f1=0.0,
        per_class=per_class,
        confusion=confusion,
        classes=classes,
        count=int(matrix.sum()),
    )


# ---------------------------------------------------------------- analysis and revisions

CLASSES = ["squats", "lunges", "waving", "walking"]
# squats: 2 of 10 right, 7 taken for lunges; lunges 9/10; waving 10/10; walking 8/10
CONFUSION = [[2, 7, 0, 1], [1, 9, 0, 0], [0, 0, 10, 0], [0, 0, 2, 8]]


def test_analysis_finds_the_weak_class_and_the_most_confused_pair():
    evaluation = _evaluation(CLASSES, CONFUSION)
    predictions = [("s1", "squats", "lunges", "A man does squats. | squat(depth=0.5)")]
    predictions += [("s2", "waving", "waving", "A woman waves. | wave()")]
    analysis = analyse(evaluation, predictions, weak_below=0.85)
    assert analysis.weak[0] == "squats"
    assert set(analysis.weak) == {"squats", "walking"}  # walking: 0.8 < 0.85
    top = analysis.confused[0]
    assert (top.true, top.predicted, top.count) == ("squats", "lunges", 7)
    assert top.rate == pytest.approx(0.7)
    assert [(p.true, p.predicted) for p in analysis.confused] == [
        ("squats", "lunges"),
        ("walking", "waving"),
    ]  # 0.1 rates (squats->walking, lunges->squats) are under the 0.15 threshold
    assert [m.sample_id for m in analysis.misclassified] == ["s1"]
    assert analysis.misclassified[0].program == "squat(depth=0.5)"


def test_revision_gives_the_weak_class_more_quota_and_separates_the_confused_pair():
    settings = uniform_settings(CLASSES, 40)
    analysis = analyse(_evaluation(CLASSES, CONFUSION), weak_below=0.85)
    revised, revisions = revise_settings(settings, analysis, 40)
    by_name = {entry.activity: entry for entry in revised}
    assert sum(entry.quota for entry in revised) == 40
    # share proportional to 1 + 3 (1 - accuracy): squats 3.4, lunges 1.3, waving 1, walking 1.6
    assert by_name["squats"].quota > by_name["walking"].quota > by_name["waving"].quota
    assert by_name["squats"].quota == pytest.approx(40 * 3.4 / 7.3, abs=1.5)
    assert all(entry.quota >= 1 for entry in revised)
    # the weak and the confused classes are widened and get LLM descriptions
    assert by_name["squats"].widen_level == 1 and by_name["walking"].widen_level == 1
    assert by_name["waving"].widen_level == 0 and not by_name["waving"].llm_descriptions
    assert by_name["squats"].llm_descriptions
    # squats confused with lunges: squat depth moved away from the lunge's depth range
    assert by_name["squats"].separate_from == ["lunges"]
    low, high = by_name["squats"].ranges["squat"]["depth"]
    depth = next(p for p in primitive_parameters("lunge") if p["name"] == "depth")
    lunge_middle = (depth["min"] + depth["max"]) / 2  # lunges is not widened: middle range
    squat = next(p for p in primitive_parameters("squat") if p["name"] == "depth")
    assert low == pytest.approx(squat["min"])  # widened squats: the full range, lower side
    assert high < lunge_middle
    assert high - low >= 0.4 * (squat["max"] - squat["min"]) - 1e-9
    assert by_name["squats"].strategy_boost == {"confusable_pair": 3.0}
    kinds = {(r.kind, r.activity) for r in revisions}
    assert {("quota", "squats"), ("widen", "squats"), ("separate", "squats")} <= kinds
    assert all(r.source == "code" for r in revisions)
    # the next round's draws obey the separation constraint
    specs = draw_specs([by_name["squats"]], {}, seed=0, namespace=1)
    depths = [
        segment.parameters["depth"]
        for spec in specs
        for segment in spec.program.segments
        if segment.primitive == "squat"
    ]
    assert len(specs) == by_name["squats"].quota and depths
    assert all(low - 1e-9 <= depth <= high + 1e-9 for depth in depths)
    assert any("confusable_pair" in spec.tags for spec in specs)


def test_a_perfect_round_changes_nothing_but_equal_quotas():
    perfect = [[5, 0], [0, 5]]
    settings = [ClassPlan(activity="squats", quota=3), ClassPlan(activity="waving", quota=7)]
    revised, revisions = revise_settings(
        settings, analyse(_evaluation(["squats", "waving"], perfect)), 10
    )
    assert [e.quota for e in revised] == [5, 5]
    assert [e.widen_level for e in revised] == [0, 0]
    assert {r.kind for r in revisions} == {"quota"}


def test_split_range_keeps_the_far_side_and_at_least_forty_percent():
    assert split_range((0.2, 0.8), (0.6, 1.0)) == (0.2, 0.6)
    assert split_range((0.6, 1.0), (0.2, 0.8)) == pytest.approx((0.8, 1.0))
    low, high = split_range((0.0, 1.0), (0.1, 2.0))
    assert (low, high) == (0.0, pytest.approx(0.4))
    assert split_range((0.0, 1.0), (2.0, 3.0)) is None  # no overlap: nothing to separate


def test_widening_stretches_natural_ranges_toward_the_primitive_range():
    base = revised_activity(ClassPlan(activity="walking", quota=1))
    wide = revised_activity(ClassPlan(activity="walking", quota=1, widen_level=2))
    assert base.uses[0].ranges["speed_mps"] == (0.5, 1.6)
    assert wide.uses[0].ranges["speed_mps"] == pytest.approx((0.3, 2.2))  # the full range
    specs = draw_specs(
        [ClassPlan(activity="walking", quota=6, widen_level=2)], {}, seed=3, namespace=2
    )
    assert all("scene:wide" in spec.tags for spec in specs)


def test_draws_avoid_given_captions_and_are_deterministic():
    settings = uniform_settings(["squats", "waving"], 6)
    first = draw_specs(settings, {}, seed=1, namespace=0)
    again = draw_specs(settings, {}, seed=1, namespace=0)
    assert [s.model_dump() for s in first] == [s.model_dump() for s in again]
    avoided = draw_specs(settings, {}, seed=1, namespace=0, avoid_captions=[first[0].captions[0]])
    assert first[0].captions[0] not in {s.captions[0] for s in avoided}
    assert len(avoided) == 6


# ---------------------------------------------------------------- stop rule


def test_stop_rule_target_patience_and_rounds():
    assert stop_decision([0.5, 0.96], rounds=5, target=0.95, patience=2).startswith("target")
    assert stop_decision([0.5, 0.7, 0.6], rounds=5, target=0.95, patience=2) is None
    reason = stop_decision([0.5, 0.7, 0.6, 0.7], rounds=9, target=0.95, patience=2)
    assert reason.startswith("no improvement for 2 rounds")  # a tie is no improvement
    assert stop_decision([0.5, 0.6, 0.7], rounds=3, target=0.95, patience=2) == "3 rounds done"
    assert stop_decision([], rounds=3, target=0.9, patience=1) is None


def test_bad_configurations_are_named():
    with pytest.raises(FlywheelError, match="rounds must be"):
        FlywheelConfig(scenario="x", rounds=0).check()
    with pytest.raises(FlywheelError, match="target must be"):
        FlywheelConfig(scenario="x", target=1.5).check()
    with pytest.raises(FlywheelError, match="READER:DIR"):
        FlywheelConfig(scenario="x", validate_real="nowhere").check()
    with pytest.raises(FlywheelError, match="adapt must be one of"):
        FlywheelConfig(scenario="x", validate_real="radhar:d", adapt="rain").check()
    with pytest.raises(FlywheelError, match="needs validate_real"):
        FlywheelConfig(scenario="x", adapt="standardize").check()
    assert "adapt" not in FlywheelConfig(scenario="x").identity()  # older runs still resume
    assert FlywheelConfig(scenario="x", adapt="mean").identity()["adapt"] == "mean"
    with pytest.raises(FlywheelError, match="FOLDER=CLASS"):
        class_map("jack=,squats")
    assert class_map("jack=jumping jacks, squats") == {"jack": "jumping jacks", "squats": "squats"}


# ---------------------------------------------------------------- LLM descriptions


@pytest.fixture(scope="module")
def squat_spec():
    return draw_specs([ClassPlan(activity="squats", quota=1)], {}, seed=5, namespace=0)[0]


def _describe(spec, reply: str):
    report = DescriptionReport()
    backend = ScriptedBackend(lambda messages, params: reply)
    out = describe(spec, backend, NgramEncoder(), ["squats", "waving"], 2, report, ["lunges"])
    return out, report, backend


def test_good_llm_descriptions_are_kept(squat_spec):
    caption = squat_spec.captions[0]
    rewrite = caption.replace("from the radar", "from the sensor")
    assert rewrite != caption
    out, report, backend = _describe(squat_spec, json.dumps({"descriptions": [rewrite]}))
    assert out.captions == [caption, rewrite]
    assert report.kept == 1 and not report.failures
    assert "lunges" in backend.calls[0][-1].content  # the confusion is named in the prompt


def test_contradicting_llm_descriptions_are_rejected_by_reason(squat_spec):
    caption = squat_spec.captions[0]
    wrong = [caption.replace("squats", "waves"), "A man waves at the radar ten times."]
    out, report, _ = _describe(squat_spec, json.dumps({"descriptions": wrong}))
    assert out.captions == [caption]
    assert report.kept == 0 and sum(report.rejected.values()) == 2


@pytest.mark.parametrize(
    "garbage",
    ["", "lorem ipsum dolor", '{"descriptions": "not a list"}', "{{{{", '{"descriptions": []}'],
)
def test_garbage_llm_output_falls_back_visibly(squat_spec, garbage):
    out, report, _ = _describe(squat_spec, garbage)
    assert out.captions == squat_spec.captions
    assert report.failures and "flywheel.describe" in report.failures[0]


# ---------------------------------------------------------------- end to end


def _standalone_app():
    import typer

    from mmexpert.cli_flywheel import flywheel_command

    app = typer.Typer(pretty_exceptions_enable=False)
    app.command()(flywheel_command)
    return app


def _store_ids(path: Path) -> list[str]:
    with DatasetStore.open(path) as store:
        return store.ids()


def _states(out: Path) -> list[RoundState]:
    return [read_json_model(p, RoundState) for p in sorted(out.glob("round_*/state.json"))]


def _comparable(out: Path) -> list[dict]:
    """Round states without timings and resume bookkeeping (what must equal a clean run)."""
    result = []
    for state in _states(out):
        data = state.model_dump(mode="json")
        data.pop("timings_s")
        data.pop("generation")
        data["training"].pop("resumed_from_epoch", None)
        result.append(data)
    return result


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """A tiny uninterrupted flywheel through the CLI (2 classes, 2 rounds, 2 samples each)."""
    out = tmp_path_factory.mktemp("flywheel") / "run"
    result = CliRunner().invoke(_standalone_app(), [*CLI_ARGS, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "stopped: 2 rounds done" in result.output
    return out


def test_cli_runs_a_tiny_flywheel_end_to_end(reference):
    index = json.loads((reference / "flywheel.json").read_text())
    assert index["classes"] == ["squats", "jumping jacks"]
    assert [r["phases"][-1] for r in index["rounds"]] == ["revised", "evaluated"]
    assert index["stop_reason"] == "2 rounds done"
    states = _states(reference)
    assert [len(s.sample_ids) for s in states] == [2, 2]
    assert [s.train_ids for s in states] == [2, 4]  # each round trains on the union
    assert all(0.0 <= s.synthetic.accuracy <= 1.0 and s.synthetic.count == 2 for s in states)
    assert states[0].revisions and all(r.source == "code" for r in states[0].revisions)
    # the echo backend's replies fail the filters: visible fallbacks, not a crash
    assert states[0].llm_report["llm_failures"]
    assert all(r.kind == "llm_fallback" for r in states[1].llm_revisions)
    assert states[1].llm_report["failures"]
    ids = _store_ids(reference / "train_store")
    assert sorted(ids) == sorted(states[0].sample_ids + states[1].sample_ids)
    assert not set(ids) & set(_store_ids(reference / "validation" / "store"))
    report = (reference / "report.md").read_text()
    assert "accuracy_per_round.png" in report and "confusion_synthetic_round_01.png" in report
    assert (reference / "accuracy_per_round.png").stat().st_size > 1000
    assert "llm_fallback" not in report or "[code]" in report


def test_rerunning_a_finished_run_skips_every_round(reference):
    before = (reference / "round_01" / "state.json").read_text()
    started = time.perf_counter()
    result = CliRunner().invoke(_standalone_app(), [*CLI_ARGS, "--out", str(reference)])
    assert result.exit_code == 0, result.output
    assert "planned" not in result.output and "generated" not in result.output
    assert (reference / "round_01" / "state.json").read_text() == before
    assert time.perf_counter() - started < 10


def test_another_configuration_in_the_same_folder_is_refused(reference):
    args = [*CLI_ARGS, "--out", str(reference)]
    args[args.index("--count") + 1] = "3"
    result = CliRunner().invoke(_standalone_app(), args)
    assert result.exit_code == 2
    assert "another configuration" in result.output and "count: 2 -> 3" in result.output


def test_bad_cli_arguments_exit_2_with_a_message(tmp_path):
    runner = CliRunner()
    base = ["--scenario", SCENARIO, "--rounds", "1", "--out", str(tmp_path / "x")]
    for extra, message in [
        (["--llm", "nope"], "--llm must be one of"),
        (["--model", "nope"], "--model must be one of"),
        (["--radar", "nope"], "nope"),
        (["--validate-real", "nowhere"], "--validate-real must read READER:DIR"),
    ]:
        result = runner.invoke(_standalone_app(), [*base, *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output
    assert not (tmp_path / "x").exists()


def test_real_validation_scores_every_round_and_aligns_on_request(tmp_path):
    """--validate-real scores labelled real recordings each round; with --adapt the windows
    are aligned together, and too few of them to align is recorded, not fatal."""
    from mmexpert.eval.real import evaluate_real
    from test_eval_real import person_frames, write_radhar

    real = tmp_path / "real"
    for folder, seed in (("jack", 1), ("squats", 2)):
        for take in range(2):  # 4 s each: 12 windows of 0.2 s every 1/3 s
            write_radhar(real / folder / f"take{take}.txt", person_frames(120, seed + 10 * take))
    settings = {**TINY, "rounds": 1, "model": "classifier-points-tiny"}
    config = FlywheelConfig(
        scenario=SCENARIO,
        validate_real=f"radhar:{real}",
        real_classes="jack=jumping jacks,squats=squats",
        adapt="standardize",
        **settings,
    )
    run_flywheel(config, tmp_path / "run", progress=False, log=lambda line: None)
    state = read_json_model(tmp_path / "run" / "round_00" / "state.json", RoundState)
    assert state.real is not None and state.real.count == 48 and state.real_error is None
    model = tmp_path / "run" / "round_00" / "train" / "model"
    expected = evaluate_real(
        model, "radhar", real, class_map(config.real_classes), window_s=0.2,
        train_data=tmp_path / "run" / "train_store", adapt="standardize",
    )  # fmt: skip
    assert state.real.confusion == np.asarray(expected.confusion).tolist()
    report = (tmp_path / "run" / "report.md").read_text()
    assert "features aligned (standardize)" in report

    few = tmp_path / "few"
    write_radhar(few / "jack" / "take.txt", person_frames(60, 3))  # 6 windows: too few
    short = dataclasses.replace(
        config, validate_real=f"radhar:{few}", real_classes="jack=jumping jacks"
    )
    run_flywheel(short, tmp_path / "run_few", progress=False, log=lambda line: None)
    state = read_json_model(tmp_path / "run_few" / "round_00" / "state.json", RoundState)
    assert state.real is None and "at least 20 samples" in str(state.real_error)
    assert state.synthetic is not None  # the round itself went on


class CrashError(RuntimeError):
    pass


@pytest.mark.parametrize(
    "crash_at", [(1, "generated"), pytest.param((0, "trained"), marks=pytest.mark.slow)]
)
def test_a_crash_mid_run_resumes_to_the_uninterrupted_result(reference, tmp_path, crash_at):
    out = tmp_path / "run"
    config = FlywheelConfig(scenario=SCENARIO, **TINY)

    def crash(round_number: int, phase: str) -> None:
        if (round_number, phase) == crash_at:
            raise CrashError(f"test crash after round {round_number} {phase}")

    with pytest.raises(CrashError):
        run_flywheel(config, out, progress=False, log=lambda line: None, after_phase=crash)
    state = read_json_model(out / f"round_{crash_at[0]:02d}" / "state.json", RoundState)
    assert state.phases[-1] == crash_at[1]
    index = run_flywheel(config, out, progress=False, log=lambda line: None)
    assert index.stop_reason == "2 rounds done"
    assert _comparable(out) == _comparable(reference)
    ids = _store_ids(out / "train_store")
    assert len(ids) == len(set(ids)) == 4
    assert ids == _store_ids(reference / "train_store")


@pytest.mark.slow
def test_a_scripted_llm_writes_descriptions_recorded_as_llm_revisions(tmp_path):
    """Round 1's weak class gets LLM descriptions that pass the filter (source "llm")."""

    def reply(messages, params):
        last = messages[-1].content
        if "Description: " in last:
            caption = last.split("Description: ", 1)[1]
            return json.dumps({"descriptions": [caption.replace("the radar", "the sensor")]})
        return "no"

    config = FlywheelConfig(scenario=SCENARIO, **{**TINY, "llm": "scripted", "paraphrases": 0})
    run_flywheel(
        config, tmp_path / "run", progress=False, log=lambda line: None,
        backend=ScriptedBackend(reply),
    )  # fmt: skip
    states = _states(tmp_path / "run")
    flagged = [e.activity for e in states[1].settings if e.llm_descriptions]
    sources = {r.activity: r.source for r in states[1].llm_revisions}
    assert set(sources) == set(flagged)
    described = [
        spec
        for spec in json.loads((tmp_path / "run" / "round_01" / "plan.json").read_text())["samples"]
        if len(spec["captions"]) > 1
    ]
    for name, source in sources.items():
        assert source == ("llm" if any(s["activity"] == name for s in described) else "code")
    for spec in described:
        assert "the sensor" in spec["captions"][1]
    if not flagged:
        pytest.skip("round 0 was perfect on its 2 validation samples: no class to describe")


@pytest.mark.slow
def test_a_killed_flywheel_process_resumes_without_losing_or_duplicating_samples(tmp_path):
    """Kill the CLI while it simulates round 1, rerun it, compare with a clean run."""
    args = [a for a in CLI_ARGS]
    args[args.index("--count") + 1] = "6"
    args[args.index("--clip-s") + 1] = "1.0"
    command = [sys.executable, "-m", "mmexpert.cli_flywheel", *args]
    clean = tmp_path / "clean"
    subprocess.run([*command, "--out", str(clean)], check=True, capture_output=True)
    out = tmp_path / "killed"
    process = subprocess.Popen(
        [*command, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 300
    round_one = out / "round_01" / "state.json"
    while time.time() < deadline:
        if round_one.is_file() and "planned" in round_one.read_text():
            with DatasetStore.open(out / "train_store") as store:
                if len(store.ids()) > 6:  # round 1 is being written
                    break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    state = read_json_model(round_one, RoundState)
    assert "generated" not in state.phases, "the run finished round 1 before the kill"
    subprocess.run([*command, "--out", str(out)], check=True, capture_output=True)
    assert _comparable(out) == _comparable(clean)
    ids = _store_ids(out / "train_store")
    assert len(ids) == len(set(ids)) == 12
    assert sorted(ids) == sorted(_store_ids(clean / "train_store"))
    assert os.path.isfile(out / "report.md")


def test_garbage_llm_output_for_an_unplannable_scenario_is_a_named_error(tmp_path):
    config = FlywheelConfig(scenario="keep an eye on the flat", **{**TINY, "llm": "scripted"})
    garbage = ScriptedBackend(lambda messages, params: "}{ lorem ipsum")
    with pytest.raises(FlywheelError, match="round 0 cannot be planned"):
        run_flywheel(config, tmp_path / "run", progress=False, log=lambda line: None,
                     backend=garbage)  # fmt: skip
    assert not (tmp_path / "run" / "train_store").exists()
