"""Dataset engine: plan files, sample building, executors, resume, kill-and-resume, CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mmexpert.cli_dataset import standalone_app
from mmexpert.data.engine import (
    EngineError,
    GenerationInterrupted,
    PlanFileError,
    generate,
    load_specs,
)
from mmexpert.data.samples import (
    POINT_COLUMNS,
    SampleBuildError,
    code_without_notes,
    generator_code_hash,
    make_sample,
    radar_config_hash,
    spec_sample_id,
)
from mmexpert.data.simulation import simulate_person
from mmexpert.data.store import DatasetStore
from mmexpert.data.store_schema import radar_schema
from mmexpert.dsp.chain import MMEXPERT_VIEWS, ProcessingChain
from mmexpert.plan.spec import SampleSpec
from mmexpert.radar.presets import load_radar

REPO_ROOT = Path(__file__).resolve().parents[1]
PLAN_SMALL = REPO_ROOT / "examples" / "plan_small.json"
FRAMES = 8  # radar frames per test sample (0.16 s at 50 fps): keeps each simulation < 0.5 s


@pytest.fixture(scope="module")
def radar():
    return load_radar("iwr1843-udoppler")


@pytest.fixture(scope="module")
def specs() -> list[SampleSpec]:
    return load_specs(PLAN_SMALL)


def _file_digests(root: Path) -> dict[str, str]:
    """sample id -> sha256 of its file, for every recorded sample."""
    with DatasetStore.open(root) as store:
        return {record.sample_id: record.file_sha256 for record in store.records()}


# ----------------------------------------------------------------------------- plan files
def test_load_specs_reads_the_example_plan(specs):
    assert [spec.activity for spec in specs] == ["walk_forward", "wave", "squat", "fall_forward"]
    assert all(len(spec.qa) == 4 for spec in specs)
    assert {pair.kind for pair in specs[0].qa} == {"category", "temporal", "intent", "detail"}


def test_load_specs_accepts_a_bare_list(tmp_path, specs):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps([spec.model_dump(mode="json") for spec in specs[:2]]))
    assert load_specs(path) == specs[:2]


def test_load_specs_names_the_bad_entry(tmp_path, specs):
    entries = [spec.model_dump(mode="json") for spec in specs]
    entries[2]["program"]["segments"][0]["parameters"] = {"speed": 3.0}  # squat has no speed
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"samples": entries}))
    with pytest.raises(PlanFileError, match=r"entry 2 \(activity 'squat'\).*speed"):
        load_specs(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"plan": []}', "'samples' list"),
        ("[]", "no sample specs"),
        ("[3]", "entry 0 must be a JSON object"),
    ],
)
def test_load_specs_rejects_malformed_files(tmp_path, content, message):
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(PlanFileError, match=message):
        load_specs(path)


def test_load_specs_missing_file(tmp_path):
    with pytest.raises(PlanFileError, match="cannot read plan file"):
        load_specs(tmp_path / "absent.json")


# ----------------------------------------------------------------------------- samples
def test_make_sample_matches_schema_and_products(radar, specs):
    spec = specs[1]
    products = simulate_person(
        radar,
        spec.program,
        seed=spec.seed,
        num_frames=FRAMES,
        keep_adc=False,
        chain=ProcessingChain(MMEXPERT_VIEWS),
    )
    sample = make_sample(spec, radar, products, options={"num_frames": FRAMES})
    radar_schema().validate(sample.sample_id, sample.arrays, sample.metadata)
    assert sample.arrays["micro_doppler"].shape == (128, FRAMES)
    assert sample.arrays["range_time"].shape == (256, FRAMES)
    assert sample.arrays["azimuth_time"].shape == (128, FRAMES)
    np.testing.assert_array_equal(sample.arrays["micro_doppler"], products.maps_db["micro_doppler"])
    points = sample.arrays["points"]
    assert points.shape == (len(products.points), len(POINT_COLUMNS))
    for column, name in enumerate(POINT_COLUMNS):
        np.testing.assert_array_equal(points[:, column], products.points[name].astype(np.float32))
    assert sample.arrays["points_per_frame"].sum() == len(points)
    meta = sample.metadata
    assert meta["activity"] == "wave"
    assert meta["captions"] == spec.captions
    assert meta["motion_program"] == spec.program.model_dump(mode="json")
    assert meta["subject"]["sex"] == "female"
    assert meta["radar_config_hash"] == radar_config_hash(radar)
    assert meta["seeds"]["noise"] == spec.seed
    assert meta["generator_code_hash"] == generator_code_hash()
    assert meta["timing"]["num_frames"] == FRAMES
    assert meta["timing"]["duration_s"] == pytest.approx(FRAMES / 50.0)
    assert sample.sample_id == spec_sample_id(spec, radar, {"num_frames": FRAMES})


def test_only_code_changes_move_the_code_hash():
    """A comment or docstring edit keeps every sample id (a rerun resumes); code does not."""
    base = (
        '"""Module."""\n'
        "import math  # why\n\n\n"
        "def gain(x):\n"
        '    """Gain in dB, 20 log10 |x| (°)."""\n'
        '    label = "# not a comment"\n'
        "    return 20 * math.log10(abs(x))  # power dB\n"
    )
    edited = (
        base.replace("why", "another reason")
        .replace("Gain in dB, 20 log10 |x| (°).", "Gain [dB].\n\n    Longer, with ×.")
        .replace("  # power dB", "")
    )
    stripped = code_without_notes(base)
    assert stripped == code_without_notes(edited)
    assert stripped == (
        "import math\n"
        "def gain(x):\n"
        '    label = "# not a comment"\n'
        "    return 20 * math.log10(abs(x))"
    )
    assert code_without_notes(base.replace("20 *", "10 *")) != stripped


def test_sample_id_depends_on_spec_radar_and_options(radar, specs):
    base = spec_sample_id(specs[0], radar, {"num_frames": FRAMES})
    assert base == spec_sample_id(specs[0], radar, {"num_frames": FRAMES})
    reseeded = specs[0].model_copy(update={"seed": 99})
    other_radar = dataclasses.replace(radar, name="another-radar")
    assert spec_sample_id(reseeded, radar, {"num_frames": FRAMES}) != base
    assert spec_sample_id(specs[0], other_radar, {"num_frames": FRAMES}) != base
    assert spec_sample_id(specs[0], radar, {"num_frames": FRAMES + 1}) != base


def test_make_sample_rejects_wrong_map_sizes(radar, specs):
    products = simulate_person(radar, specs[1].program, seed=0, num_frames=4, keep_adc=False)
    shrunk = dataclasses.replace(
        products, maps_db={**products.maps_db, "range_time": products.maps_db["range_time"][:64]}
    )
    with pytest.raises(SampleBuildError, match=r"range_time map has shape \(64, 4\)"):
        make_sample(specs[1], radar, shrunk)


# ----------------------------------------------------------------------------- engine
def test_generate_serial_then_resume_skips(tmp_path, radar, specs):
    out = tmp_path / "ds"
    report = generate(specs[:2], radar, out, executor="serial", num_frames=FRAMES, progress=False)
    assert report.ok and len(report.generated) == 2 and report.skipped == []
    assert report.samples_per_s > 0
    again = generate(specs, radar, out, executor="serial", num_frames=FRAMES, progress=False)
    assert sorted(again.skipped) == sorted(report.generated)
    assert len(again.generated) == 2
    with DatasetStore.open(out) as store:
        assert len(store) == 4
        assert store.verify().clean
        assert sorted(store.info().per_activity) == sorted(spec.activity for spec in specs)


class _StoppedError(Exception):
    pass


@pytest.mark.parametrize("executor", ["serial", pytest.param("process", marks=pytest.mark.slow)])
def test_a_sample_callback_can_stop_the_run_and_a_rerun_resumes(tmp_path, radar, specs, executor):
    out, seen = tmp_path / "ds", []

    def stop_after_two(sample_id: str, stored: bool) -> None:
        seen.append((sample_id, stored))
        if len(seen) == 2:
            raise _StoppedError

    with pytest.raises(_StoppedError):
        generate(
            specs, radar, out, executor=executor, workers=2, num_frames=FRAMES,
            progress=False, on_sample=stop_after_two,
        )  # fmt: skip
    assert all(stored for _, stored in seen)
    with DatasetStore.open(out) as store:
        # the two reported samples are recorded; samples a process pool's workers were
        # already simulating finish as complete, unrecorded files, never partial ones
        assert {sample_id for sample_id, _ in seen} <= set(store.ids())
        check = store.verify()
        assert check.corrupt == [] and check.missing == [] and check.tmp_files == []
        finished_unrecorded = len(check.orphans)
    again = generate(specs, radar, out, executor="serial", num_frames=FRAMES, progress=False)
    # the rerun adopts those files and simulates only what is left
    assert len(again.adopted) == finished_unrecorded
    assert again.ok and len(again.generated) + len(again.skipped) == len(specs)
    with DatasetStore.open(out) as store:
        assert len(store) == len(specs) and store.verify().clean


def test_ctrl_c_keeps_what_was_recorded_and_says_how_to_resume(tmp_path, radar, specs):
    out, seen = tmp_path / "ds", []

    def ctrl_c_after_two(sample_id: str, stored: bool) -> None:
        seen.append(sample_id)
        if len(seen) == 2:
            raise KeyboardInterrupt  # where SIGINT lands: the main thread, between samples

    with pytest.raises(GenerationInterrupted) as interrupted:
        generate(
            specs, radar, out, executor="serial", num_frames=FRAMES, progress=False,
            on_sample=ctrl_c_after_two,
        )  # fmt: skip
    assert isinstance(interrupted.value, KeyboardInterrupt)  # still a Ctrl-C to callers
    assert interrupted.value.report.generated == seen
    message = str(interrupted.value)
    assert f"2 new samples recorded in {out}, 2 of {len(specs)} specs stored" in message
    assert "run the same command again to resume" in message
    with DatasetStore.open(out) as store:
        assert sorted(store.ids()) == sorted(seen) and store.verify().clean
    again = generate(specs, radar, out, executor="serial", num_frames=FRAMES, progress=False)
    assert sorted(again.skipped) == sorted(seen) and len(again.generated) == len(specs) - 2


@pytest.mark.parametrize("where", ["between samples", "while waiting for the pool"])
def test_ctrl_c_with_a_pool_says_at_once_that_it_waits_for_the_clips_in_flight(
    tmp_path, radar, specs, capfd, monkeypatch, where
):
    """A Ctrl-C lands either in the recording loop or, mostly, in the wait for the pool;
    either way the notice comes before closing the pool waits for the clips begun."""
    from mmexpert.data import engine

    events: list[str] = []
    say, close = engine._say_finishing, engine._Pool.close
    monkeypatch.setattr(engine, "_say_finishing", lambda n: (events.append("notice"), say(n)))
    monkeypatch.setattr(engine._Pool, "close", lambda pool: (events.append("close"), close(pool)))
    armed = threading.Event()

    def on_sigint(signum, frame):
        if armed.is_set():  # never outside generate(): the test session would stop
            raise KeyboardInterrupt

    def after_first(sample_id: str, stored: bool) -> None:
        if where == "between samples":
            raise KeyboardInterrupt
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()

    previous = signal.signal(signal.SIGINT, on_sigint)
    armed.set()
    try:
        with pytest.raises(GenerationInterrupted):
            generate(
                specs, radar, tmp_path / "ds", executor="process", workers=2, num_frames=60,
                progress=False, on_sample=after_first,
            )  # fmt: skip
    finally:
        armed.clear()
        signal.signal(signal.SIGINT, previous)
    assert events == ["notice", "close"]  # said before the wait, once
    said = " ".join(capfd.readouterr().err.split())
    assert "Ctrl-C: letting the workers finish the clips they have begun (up to" in said


def test_generate_deduplicates_repeated_specs(tmp_path, radar, specs):
    report = generate(
        [specs[1], specs[1]], radar, tmp_path / "ds", "serial", num_frames=4, progress=False
    )
    assert len(report.generated) == 1 and len(report.skipped) == 1


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
def test_one_bad_spec_does_not_stop_the_run(tmp_path, radar, specs):
    # A spec built without validation (model_construct) carrying a primitive the motion
    # library does not know: the worker revalidates it and reports the failure.
    program = specs[1].program.model_dump(mode="json")
    program["segments"][0]["primitive"] = "moonwalk"
    bad = SampleSpec.model_construct(**{**specs[1].__dict__, "program": program, "seed": 7})
    report = generate(
        [specs[0], bad, specs[2]],
        radar,
        tmp_path / "ds",
        executor="serial",
        num_frames=4,
        progress=False,
    )
    assert len(report.generated) == 2
    assert len(report.failed) == 1
    index, _, message = report.failed[0]
    assert index == 1 and "moonwalk" in message
    assert "failed 1" in report.summary()


def test_generate_rejects_bad_arguments(tmp_path, radar, specs):
    with pytest.raises(EngineError, match="unknown executor"):
        generate(specs, radar, tmp_path, executor="threads", progress=False)  # type: ignore[arg-type]
    with pytest.raises(EngineError, match="workers"):
        generate(specs, radar, tmp_path, workers=0, progress=False)


def test_process_pool_output_equals_serial(tmp_path, radar, specs):
    serial = generate(specs[:3], radar, tmp_path / "s", "serial", num_frames=FRAMES, progress=False)
    pooled = generate(
        specs[:3], radar, tmp_path / "p", "process", workers=2, num_frames=FRAMES, progress=False
    )
    assert serial.ok and pooled.ok
    assert sorted(serial.generated) == sorted(pooled.generated)
    assert _file_digests(tmp_path / "s") == _file_digests(tmp_path / "p")


@pytest.mark.slow
def test_ray_output_equals_serial(tmp_path, radar, specs):
    pytest.importorskip("ray", reason="ray is not installed (pip install ray)")
    serial = generate(specs[:3], radar, tmp_path / "s", "serial", num_frames=FRAMES, progress=False)
    on_ray = generate(
        specs[:3], radar, tmp_path / "r", "ray", workers=2, num_frames=FRAMES, progress=False
    )
    assert on_ray.ok, on_ray.summary()
    assert sorted(serial.generated) == sorted(on_ray.generated)
    assert _file_digests(tmp_path / "s") == _file_digests(tmp_path / "r")
    with DatasetStore.open(tmp_path / "s") as first, DatasetStore.open(tmp_path / "r") as second:
        for record in first.records():
            assert second.record_of(record.sample_id).checksums == record.checksums


# ----------------------------------------------------------------------------- kill and resume
def _pool_worker_pids(parent_pid: int | None = None) -> list[int]:
    """Process ids of the spawned pool workers of ``parent_pid`` (default: this process),
    not its resource tracker."""
    parent_pid = os.getpid() if parent_pid is None else parent_pid
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        parent = next(line for line in status.splitlines() if line.startswith("PPid:"))
        if int(parent.split()[1]) == parent_pid and b"spawn_main" in command:
            pids.append(int(entry.name))
    return pids


def _is_running(pid: int) -> bool:
    """Whether ``pid`` is alive (an exited process that nobody reaped yet is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the pool workers")
def test_a_killed_pool_worker_is_survived(tmp_path, radar, specs):
    varied = [specs[index % 4].model_copy(update={"seed": 200 + index}) for index in range(5)]
    out = tmp_path / "ds"
    result: dict[str, object] = {}

    def run() -> None:
        result["report"] = generate(
            varied, radar, out, "process", workers=2, num_frames=FRAMES, progress=False
        )

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60.0
    victims: list[int] = []
    while not victims and time.monotonic() < deadline:
        victims = _pool_worker_pids()
        time.sleep(0.05)
    assert victims, "no pool worker appeared"
    time.sleep(0.5)  # let it import and start simulating
    os.kill(victims[0], signal.SIGKILL)
    thread.join(timeout=120)
    assert not thread.is_alive()
    report = result["report"]
    # The killed worker's tasks are retried alone in a rebuilt pool; none is to blame.
    assert report.failed == [], report.summary()
    assert report.retried, "the kill did not hit a running pool (nothing was retried)"
    assert len(report.generated) == len(varied)
    with DatasetStore.open(out) as store:
        assert len(store) == len(varied)
        assert store.verify().clean


def _varied_plan(specs: list[SampleSpec], count: int, path: Path) -> list[SampleSpec]:
    varied = [
        specs[index % len(specs)].model_copy(update={"seed": 100 + index}) for index in range(count)
    ]
    path.write_text(json.dumps([spec.model_dump(mode="json") for spec in varied]))
    return varied


def _generate_command() -> list[str]:
    """``mmexpert generate`` once cli.py registers it, else the same command function run
    through ``python -m mmexpert.cli_dataset generate``."""
    from mmexpert.cli import app

    registered = {command.name for command in app.registered_commands}
    entry_point = Path(sys.executable).parent / "mmexpert"
    if "generate" in registered and entry_point.exists():
        return [str(entry_point), "generate"]
    return [sys.executable, "-m", "mmexpert.cli_dataset", "generate"]


def _generate_process(plan: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *_generate_command(),
            "--plan",
            str(plan),
            "--radar",
            "iwr1843-udoppler",
            "--out",
            str(out),
            "--num-frames",
            str(FRAMES),
            "--no-progress",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the kill reaches the pool workers
        # a shell's background jobs inherit SIGINT ignored; a terminal's Ctrl-C meets the default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_files(
    out: Path, minimum: int, process: subprocess.Popen[str], limit_s: float
) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if len(list(out.glob("shards/*/*.npz"))) >= minimum:
            return
        if process.poll() is not None:
            pytest.fail(f"generate exited early: {process.communicate()}")
        time.sleep(0.02)
    pytest.fail(f"no {minimum} sample files after {limit_s} s")


@pytest.mark.parametrize(
    ("kill_group", "executor", "after_files", "signal_number"),
    [
        pytest.param(True, "process", 2, signal.SIGKILL, marks=pytest.mark.slow),
        pytest.param(False, "process", 1, signal.SIGKILL, marks=pytest.mark.slow),
        pytest.param(True, "process", 1, signal.SIGINT, marks=pytest.mark.slow),
        (True, "serial", 3, signal.SIGKILL),
    ],
    ids=["whole-group-process", "parent-only-process", "ctrl-c-process", "whole-group-serial"],
)
def test_sigkill_mid_run_then_resume(
    tmp_path, radar, specs, kill_group, executor, after_files, signal_number
):
    plan = tmp_path / "plan.json"
    varied = _varied_plan(specs, 6, plan)
    out = tmp_path / "ds"
    expected = {
        spec_sample_id(spec, radar, {"num_frames": FRAMES, "keep_adc": False}) for spec in varied
    }

    process = _generate_process(plan, out, "--executor", executor, "--workers", "2")
    _wait_for_files(out, after_files, process, limit_s=60.0)
    workers = _pool_worker_pids(process.pid) if executor == "process" else []
    if kill_group:
        os.killpg(process.pid, signal_number)  # as a terminal's Ctrl-C or a job kill does
    else:
        os.kill(process.pid, signal_number)
    process.wait(timeout=30)
    if signal_number == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode != 0  # interrupted, not finished
    with DatasetStore.open(out) as store:
        interrupted = len(store)
    assert interrupted < len(varied), "the run finished before the kill; nothing was tested"

    # Orphaned pool workers (parent-only kill) finish their current sample and exit.
    deadline = time.monotonic() + 60.0
    while [pid for pid in workers if _is_running(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _is_running(pid)], "pool workers outlived the run"
    rerun = _generate_process(
        plan,
        out,
        "--executor",
        executor,
        "--workers",
        "2",
        "--report",
        str(tmp_path / "report.json"),
    )
    stdout, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stdout + stderr
    summary = json.loads((tmp_path / "report.json").read_text())
    assert summary["failed"] == []
    assert summary["generated"] + summary["skipped"] == len(varied)
    with DatasetStore.open(out) as store:
        ids = store.ids()
        assert len(ids) == len(set(ids)) == len(varied)
        assert set(ids) == expected
        report = store.verify()
        assert report.clean, report.summary()


# ----------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def small_store(tmp_path_factory, radar, specs) -> Path:
    out = tmp_path_factory.mktemp("cli") / "ds"
    report = generate(specs, radar, out, "serial", num_frames=FRAMES, progress=False)
    assert report.ok
    return out


def test_cli_info_verify_show(small_store, tmp_path):
    runner = CliRunner()
    info = runner.invoke(standalone_app, ["dataset", "info", str(small_store)])
    assert info.exit_code == 0, info.output
    assert "samples: 4" in info.output and "fall_forward: 1" in info.output
    verify = runner.invoke(standalone_app, ["dataset", "verify", str(small_store)])
    assert verify.exit_code == 0 and "ok: 4" in verify.output
    with DatasetStore.open(small_store) as store:
        sample_id = store.query(activity="squat")[0]
    png = tmp_path / "maps.png"
    show = runner.invoke(
        standalone_app, ["dataset", "show", str(small_store), sample_id, "--plot", str(png)]
    )
    assert show.exit_code == 0, show.output
    assert f"array micro_doppler: float32 [128, {FRAMES}]" in show.output
    assert '"activity": "squat"' in show.output
    assert png.stat().st_size > 10_000


def test_cli_verify_fails_on_corruption(tmp_path, radar, specs):
    out = tmp_path / "ds"
    generate(specs[:1], radar, out, "serial", num_frames=4, progress=False)
    path = next(out.glob("shards/*/*.npz"))
    payload = bytearray(path.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    path.write_bytes(bytes(payload))
    result = CliRunner().invoke(standalone_app, ["dataset", "verify", str(out)])
    assert result.exit_code == 1
    assert "corrupt: 1" in result.output


def test_cli_split_and_export(small_store, tmp_path):
    runner = CliRunner()
    split = runner.invoke(
        standalone_app,
        ["dataset", "split", str(small_store), "--test-fraction", "0.25", "--seed", "0"],
    )
    assert split.exit_code == 0, split.output
    with DatasetStore.open(small_store) as store:
        train, test = store.split_ids("train"), store.split_ids("test")
    assert len(train) == 3 and len(test) == 1
    pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    import pyarrow.parquet as pq

    target = tmp_path / "ds.parquet"
    export = runner.invoke(
        standalone_app, ["dataset", "export", str(small_store), "--parquet", str(target)]
    )
    assert export.exit_code == 0, export.output
    table = pq.read_table(target)
    assert table.num_rows == 4
    assert sorted(table.column("activity").to_pylist()) == sorted(
        ["walk_forward", "wave", "squat", "fall_forward"]
    )


def test_cli_errors_exit_2(tmp_path):
    runner = CliRunner()
    missing_plan = runner.invoke(
        standalone_app,
        [
            "generate",
            "--plan",
            str(tmp_path / "none.json"),
            "--radar",
            "iwr1843-udoppler",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert missing_plan.exit_code == 2 and "cannot read plan file" in missing_plan.output
    bad_radar = runner.invoke(
        standalone_app,
        [
            "generate",
            "--plan",
            str(PLAN_SMALL),
            "--radar",
            "no-such-radar",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert bad_radar.exit_code == 2 and "error:" in bad_radar.output
    bad_executor = runner.invoke(
        standalone_app,
        [
            "generate",
            "--plan",
            str(PLAN_SMALL),
            "--radar",
            "iwr1843-udoppler",
            "--out",
            str(tmp_path / "o"),
            "--executor",
            "threads",
        ],
    )
    assert bad_executor.exit_code == 2 and "--executor" in bad_executor.output
    no_store = runner.invoke(standalone_app, ["dataset", "info", str(tmp_path)])
    assert no_store.exit_code == 2 and "no dataset store" in no_store.output


def test_generator_code_hash_is_stable():
    first = generator_code_hash()
    assert len(first) == 16 and first == generator_code_hash()
    assert int(first, 16) >= 0  # hex text
