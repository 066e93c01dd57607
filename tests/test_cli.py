"""The command-line contract of issue 2 and 3, run through typer's runner."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mmexpert.cli import app

SHARED = Path(__file__).resolve().parents[2] / "shared"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_radar_info_json_has_the_derived_quantities():
    result = run("radar", "info", "iwr1843-udoppler", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["num_adc_samples"] == 256
    assert info["range_resolution_m"] == pytest.approx(0.0436, abs=1e-4)
    assert info["frame_rate_hz"] == pytest.approx(50.0)


def test_simulate_targets_writes_the_contract_arrays(tmp_path):
    out = tmp_path / "t.npz"
    result = run(
        "simulate",
        "targets",
        "--radar",
        "iwr1843-demo",
        "--target",
        "r=3.0,v=0.5,az=20",
        "--frames",
        "2",
        "--out",
        out,
        "--no-noise",
        "--seed",
        "1",
    )
    assert result.exit_code == 0, result.output
    with np.load(out, allow_pickle=False) as data:
        for key in (
            "adc",
            "config",
            "points",
            "range_axis",
            "velocity_axis",
            "range_doppler",
            "micro_doppler",
            "range_time",
            "azimuth_time",
        ):
            assert key in data.files, key
        assert data["adc"].shape == (2, 16, 3, 4, 256)
        assert data["adc"].dtype == np.complex64
        assert json.loads(str(data["config"]))["name"] == "iwr1843-demo"
        strongest = data["points"][np.argmax(data["points"]["intensity"])]
        assert strongest["range"] == pytest.approx(3.0, abs=0.05)
    plots = tmp_path / "plots"
    assert run("plot", out, "--out", plots).exit_code == 0
    assert {p.name for p in plots.glob("*.png")} >= {
        "range_doppler.png",
        "micro_doppler.png",
        "point_cloud.png",
    }


def test_shared_physics_check_accepts_our_cube(tmp_path):
    cfg = SHARED / "tools" / "iwr1843_tdm.cfg"
    if not cfg.exists():
        pytest.skip(f"shared tools absent: {cfg}")
    out = tmp_path / "targets.npz"
    result = run(
        "simulate",
        "targets",
        "--radar",
        cfg,
        "--target",
        "r=3.0,v=1.0,az=20",
        "--target",
        "r=5.5,v=-0.5,az=-10",
        "--frames",
        "2",
        "--out",
        out,
        "--no-noise",
    )
    assert result.exit_code == 0, result.output
    check = subprocess.run(
        [sys.executable, str(SHARED / "tools" / "check_physics.py"), str(out)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("physics ok")


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (("radar", "info", "no-such-radar"), "neither a radar preset nor a cfg file"),
        (
            (
                "simulate",
                "targets",
                "--radar",
                "iwr1843-demo",
                "--target",
                "r=3,v=1",
                "--out",
                "x.npz",
            ),
            "missing az",
        ),
        (
            (
                "simulate",
                "targets",
                "--radar",
                "iwr1843-demo",
                "--target",
                "r=30,v=1,az=0",
                "--out",
                "x.npz",
            ),
            "beyond the maximum range",
        ),
        (
            (
                "simulate",
                "motion",
                "--radar",
                "iwr1843-demo",
                "--activity",
                "moonwalk",
                "--out",
                "x.npz",
            ),
            "unknown primitive 'moonwalk'",
        ),
        (("plot", "does-not-exist.npz", "--out", "p"), "cannot read"),
    ],
)
def test_bad_input_is_explained_with_exit_status_2(args, phrase):
    result = run(*args)
    assert result.exit_code == 2
    assert phrase in " ".join(result.output.split())


def test_error_messages_keep_their_brackets(capsys):
    import typer

    from mmexpert.cli_common import fail

    with pytest.raises(typer.Exit):
        raise fail("fps must be a positive number [Hz], got 0; the LLM said [/INST]")
    printed = " ".join(capsys.readouterr().err.split())
    assert "error: fps must be a positive number [Hz], got 0; the LLM said [/INST]" in printed


@pytest.mark.parametrize(
    ("command", "unit_text"),
    [
        (("calibrate",), "Noise-figure offsets to try [dB]"),
        (("run",), "Model window [s]"),
        (("simulate", "targets"), "[,el=<deg>][,rcs=<m^2>]"),
    ],
)
def test_help_keeps_the_units_in_brackets(command, unit_text):
    # rich markup reads "[dB]" as a style tag and drops it; the help must show it
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert unit_text in " ".join(result.output.split())


def test_standalone_modules_keep_the_units_in_brackets():
    # python -m mmexpert.cli_plan builds its own app; its help must be as plain as mmexpert's
    result = subprocess.run(
        [sys.executable, "-m", "mmexpert.cli_plan", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "start distance from the radar [m]" in " ".join(result.stdout.split())


def test_long_paths_are_printed_whole():
    from mmexpert.cli_common import console

    path = "/data/" + "a" * 150 + "/best_radar.cfg"
    with console.capture() as captured:
        console.print(f"wrote {path}", markup=False)
    assert path in captured.get()


def test_simulate_motion_and_render(tmp_path):
    out = tmp_path / "wave.npz"
    result = run(
        "simulate",
        "motion",
        "--radar",
        "iwr1843-udoppler",
        "--activity",
        "wave",
        "--frames",
        "8",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    with np.load(out, allow_pickle=False) as data:
        assert data["joints"].shape[1:] == (22, 3)
        assert data["micro_doppler"].shape[1] == 8
    gif = tmp_path / "wave.gif"
    assert run("render", "motion", out, "--out", gif, "--fps", "5").exit_code == 0
    assert gif.read_bytes()[:6] in (b"GIF89a", b"GIF87a")


def test_bench_synth_json_reports_speed_and_error():
    result = run("bench", "synth", "--json", "--scatterers", "50", "--frames", "1")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["realtime_factor"] > 0
    assert report["rel_rms_error"] <= 1e-4


def test_process_runs_the_chain_on_a_dca1000_capture(tmp_path):
    from mmexpert.data.dca1000 import write_dca1000
    from mmexpert.radar import Scene, load_radar, point_target, simulate

    radar = load_radar("iwr1843-demo")
    scene = Scene().add(point_target(radar, 2.5, -0.4, 0.2))
    cube = simulate(radar, scene, 3, np.random.default_rng(0))
    capture = tmp_path / "adc_data.bin"
    write_dca1000(capture, cube)
    out = tmp_path / "real.npz"
    result = run("process", capture, "--radar", "iwr1843-demo", "--out", out)
    assert result.exit_code == 0, result.output
    with np.load(out, allow_pickle=False) as data:
        assert data["points_per_frame"].shape == (3,)
        first = data["points"][data["points"]["frame"] == 0]  # the target moves 10 cm/frame
        strongest = first[np.argmax(first["intensity"])]
        assert strongest["range"] == pytest.approx(2.5, abs=0.05)
        assert strongest["velocity"] == pytest.approx(-0.4, abs=radar.velocity_resolution_mps)
    truncated = tmp_path / "short.bin"
    truncated.write_bytes(capture.read_bytes()[:1000])
    result = run("process", truncated, "--radar", "iwr1843-demo", "--out", out)
    assert result.exit_code == 2


def test_llm_serve_speaks_the_openai_protocol(tmp_path):
    import shutil
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # the script sits beside this interpreter when the venv is not on PATH (make test)
    exe = (
        shutil.which("mmexpert")
        or shutil.which("mmexpert", path=str(Path(sys.executable).parent))
        or pytest.skip("mmexpert console script not installed")
    )
    server = subprocess.Popen(
        [exe, "llm", "serve", "--backend", "echo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        body = json.dumps({"model": "echo", "messages": [{"role": "user", "content": "hi"}]})
        # the CLI's start-up (torch imports) takes seconds, many on a loaded machine
        deadline = time.monotonic() + 60.0
        reply = None
        while reply is None and server.poll() is None and time.monotonic() < deadline:
            try:
                request = urllib.request.Request(
                    url, body.encode(), {"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=5) as response:
                    reply = json.loads(response.read())
            except OSError:
                time.sleep(0.1)
        if reply is None:
            output = server.stdout.read().decode() if server.poll() is not None else ""
            pytest.fail(f"server did not answer within 60 s (exit {server.poll()}): {output}")
        assert reply["choices"][0]["message"]["role"] == "assistant"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_generate_from_a_scenario_plans_then_generates(tmp_path):
    from mmexpert.data.store import DatasetStore

    out = tmp_path / "ds"
    args = (
        "generate",
        "--scenario",
        "boxing and squats",
        "--count",
        "2",
        "--radar",
        "iwr1843-udoppler",
        "--out",
        out,
        "--llm",
        "echo",
        "--executor",
        "serial",
        "--num-frames",
        "5",
        "--no-progress",
    )
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ds.plan.json").exists()
    with DatasetStore.open(out) as store:
        activities = sorted(r.metadata["activity"] for r in store.records())
    assert activities == ["boxing", "squats"]
    rerun = run(*args)
    assert "skipped 2" in " ".join(rerun.output.split())
    assert run("generate", "--radar", "iwr1843-udoppler", "--out", out).exit_code == 2
