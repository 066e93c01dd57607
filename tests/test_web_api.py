"""The dashboard's HTTP API (FastAPI TestClient) on a small store this module simulates.

Covers listing, the sample viewer payload (maps against the stored arrays, the skeleton
against a fresh simulation, points in the world frame), plans, generation jobs with the
token (persisted across a restart, resumable after an interruption), uploads and their
checks, zero-shot / classifier scores and radar-LLM answers, flywheel folders, and
requests that try to leave the data folder.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the dashboard needs the 'web' extra (fastapi)")
pytest.importorskip("multipart", reason="the dashboard needs python-multipart")
from fastapi.testclient import TestClient

from mmexpert.data.engine import generate, load_specs
from mmexpert.data.samples import generator_code_hash
from mmexpert.data.simulation import simulate_person
from mmexpert.data.store import DatasetStore
from mmexpert.radar.presets import load_radar
from mmexpert.web import TOKEN_HEADER, create_app
from mmexpert.web.jobs import JobKind, JobManager
from mmexpert.web.safety import DataRoot

REPO_ROOT = Path(__file__).resolve().parents[1]
PLAN_SMALL = REPO_ROOT / "examples" / "plan_small.json"
FRAMES = 8  # radar frames per sample (0.16 s at 50 Hz): about 0.5 s of simulation each
TOKEN = "test-token-123"
AUTH = {TOKEN_HEADER: TOKEN}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """A data folder with one 3-sample store (plan_small's first three specs) and a plan."""
    root = tmp_path_factory.mktemp("web") / "data"
    specs = load_specs(PLAN_SMALL)[:3]
    report = generate(
        specs,
        load_radar("iwr1843-udoppler"),
        root / "small",
        executor="serial",
        progress=False,
        num_frames=FRAMES,
    )
    assert report.ok
    shutil.copy(PLAN_SMALL, root / "plan_small.json")
    return root


@pytest.fixture(scope="module")
def client(data_root) -> TestClient:
    return TestClient(create_app(data_root, TOKEN))


def _wait_job(client: TestClient, job_id: str, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['state']} after {timeout_s} s: {job['log']}")


# ----------------------------------------------------------------------------- browsing
def test_page_and_static_files_are_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from another origin
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "requestAnimationFrame" in script.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_datasets_list_counts_per_activity(client, data_root):
    rows = client.get("/api/datasets").json()
    assert [row["path"] for row in rows] == ["small"]
    assert rows[0]["per_activity"] == {"walk_forward": 1, "wave": 1, "squat": 1}
    # A data folder that is itself a store lists itself as "."
    alone = TestClient(create_app(data_root / "small", TOKEN)).get("/api/datasets").json()
    assert [row["path"] for row in alone] == ["."] and alone[0]["n_samples"] == 3


def test_dataset_summary_has_radar_config_and_provenance(client):
    summary = client.get("/api/dataset", params={"path": "small"}).json()
    radar = load_radar("iwr1843-udoppler")
    assert summary["n_samples"] == 3 and len(summary["samples"]) == 3
    (stored_radar,) = summary["radar"]
    assert stored_radar["name"] == radar.name
    assert stored_radar["frame_rate_hz"] == pytest.approx(radar.frame_rate_hz)
    assert stored_radar["range_resolution_m"] == pytest.approx(radar.range_resolution_m)
    assert summary["provenance"]["generator_code_hash"] == [generator_code_hash()]
    assert summary["arrays"]["micro_doppler"]["shape"] == [128, "frames"]
    walk = next(s for s in summary["samples"] if s["activity"] == "walk_forward")
    assert walk["num_frames"] == FRAMES and walk["caption"].startswith("A man walks")


def test_sample_view_maps_points_and_skeleton_match_the_store(client, data_root):
    summary = client.get("/api/dataset", params={"path": "small"}).json()
    sample_id = next(s["sample_id"] for s in summary["samples"] if s["activity"] == "walk_forward")
    view = client.get("/api/sample", params={"store": "small", "sample_id": sample_id}).json()
    with DatasetStore.open(data_root / "small") as store:
        stored = store.read(sample_id)
    assert view["frames"] == list(range(FRAMES))
    assert view["times_s"] == pytest.approx(np.arange(FRAMES) / 50.0)
    # Maps: 8-bit levels over [peak - 40 dB, peak]; range-time max-pooled 256 -> 128 bins.
    doppler = view["maps"]["micro_doppler"]
    levels = np.array(doppler["levels"]).reshape(doppler["bins"], doppler["frames"])
    truth = stored.arrays["micro_doppler"]
    expected = np.round(
        (np.clip(truth, truth.max() - 40, truth.max()) - truth.max() + 40) / 40 * 255
    )
    np.testing.assert_array_equal(levels, expected)
    ranges = view["maps"]["range_time"]
    pooled = stored.arrays["range_time"].reshape(128, 2, FRAMES).max(axis=1)
    assert ranges["bins"] == 128 and ranges["peak_db"] == pytest.approx(float(pooled.max()))
    assert view["maps"]["azimuth_time"]["axis"]["label"] == "azimuth [deg]"
    # Points: per frame, radar local frame moved to the world (radar 1 m above the origin).
    counts = stored.arrays["points_per_frame"]
    assert [len(frame) for frame in view["points"]] == [min(int(c), 64) for c in counts]
    first = stored.arrays["points"][: counts[0]]
    shown = np.array(view["points"][0])
    order = np.argsort(first[:, 4])[::-1][: len(shown)]
    np.testing.assert_allclose(shown[:, 2], first[order, 2] + 1.0, atol=2e-3)
    # Skeleton: the program re-synthesized with its seed equals the simulation's joints.
    spec = load_specs(PLAN_SMALL)[0]
    products = simulate_person(
        load_radar("iwr1843-udoppler"),
        spec.program,
        seed=spec.seed,
        num_frames=FRAMES,
        keep_adc=False,
    )
    joints = np.array(view["skeleton"]["joints"])
    np.testing.assert_allclose(joints, products.extras["joints"][:FRAMES], atol=1e-3)
    assert len(view["skeleton"]["parents"]) == joints.shape[1] == 22
    assert view["metadata"]["qa"][0]["kind"] == "category"
    assert view["metadata"]["motion_program"]["segments"][0]["primitive"] == "walk_forward"


def test_plan_viewer_reads_a_bare_sample_list(client):
    assert "plan_small.json" in client.get("/api/plans").json()
    plan = client.get("/api/plan", params={"path": "plan_small.json"}).json()
    assert plan["scenario"] is None and plan["count"] == 4
    assert plan["per_activity"] == {"walk_forward": 1, "wave": 1, "squat": 1, "fall_forward": 1}
    assert plan["samples"][1]["segments"] == [{"primitive": "wave", "duration_s": 2.0}]


# ----------------------------------------------------------------------------- jobs
def test_generation_run_needs_the_token_then_completes_and_survives_a_restart(client, data_root):
    request = {
        "kind": "generate",
        "params": {
            "scenario": "people doing squats and walking",
            "count": 2,
            "llm": "echo",
            "encoder": "ngram",
            "num_frames": FRAMES,
            "executor": "serial",
        },
    }
    assert client.post("/api/jobs", json=request).status_code == 401
    wrong = client.post("/api/jobs", json=request, headers={TOKEN_HEADER: "nope"})
    assert wrong.status_code == 401 and "token" in wrong.json()["error"]
    started = client.post("/api/jobs", json=request, headers=AUTH)
    assert started.status_code == 201, started.text
    job = _wait_job(client, started.json()["id"])
    assert job["state"] == "done", job
    assert job["progress"] == 1.0 and any("2 of 2 samples stored" in line for line in job["log"])
    store_path = f"{job['folder']}/store"
    listed = {row["path"]: row for row in client.get("/api/datasets").json()}
    assert listed[store_path]["n_samples"] == 2
    # The plan of the run is a full plan: scenario, vocabulary, strategies, quotas.
    summary = client.get("/api/dataset", params={"path": store_path}).json()
    plan = client.get("/api/plan", params={"path": summary["plan_file"]}).json()
    assert plan["scenario"] == "people doing squats and walking"
    assert {a["name"] for a in plan["vocabulary"]["activities"]} >= {"squats", "walking"}
    assert sum(task["quota"] for task in plan["subtasks"]) == 2 and plan["strategies"]
    # A restarted server (new app, same folder) still lists the finished run.
    restarted = TestClient(create_app(data_root, TOKEN))
    again = restarted.get(f"/api/jobs/{job['id']}").json()
    assert again["state"] == "done" and again["result"]["store"] == "store"
    # A server killed while the run was going: on the next start the run is interrupted;
    # resume reuses the saved plan and the engine skips the samples already stored.
    job_file = data_root / job["folder"] / "job.json"
    crashed = json.loads(job_file.read_text())
    crashed.update(state="running", instance="a-server-that-died")
    job_file.write_text(json.dumps(crashed))
    after_crash = TestClient(create_app(data_root, TOKEN))
    assert after_crash.get(f"/api/jobs/{job['id']}").json()["state"] == "interrupted"
    assert after_crash.post(f"/api/jobs/{job['id']}/resume").status_code == 401
    assert after_crash.post(f"/api/jobs/{job['id']}/resume", headers=AUTH).status_code == 200
    resumed = _wait_job(after_crash, job["id"])
    assert resumed["state"] == "done", resumed
    assert any("reusing the saved plan" in line for line in resumed["log"])
    assert resumed["result"]["report"]["skipped"] == 2
    assert resumed["result"]["report"]["generated"] == 0


def test_bad_job_requests_are_named(client):
    def start(kind, **params):
        return client.post("/api/jobs", json={"kind": kind, "params": params}, headers=AUTH)

    response = start("generate", scenario="squats", count=0)
    assert response.status_code == 400 and "count" in response.json()["error"]
    response = start("generate", scenario="squats", radar="no-such-radar")
    assert response.status_code == 400 and "radar" in response.json()["error"]
    response = start("mine-bitcoin", scenario="squats")
    assert response.status_code == 400 and "unknown job kind" in response.json()["error"]
    assert client.get("/api/jobs/20990101-000000-abcdef").status_code == 404


def test_a_job_interrupted_by_a_restart_can_be_resumed(tmp_path):
    """The generic job machinery: a job running when its server stops is 'interrupted' on
    the next start, and resume runs it again in the same folder."""
    release = threading.Event()

    def run(context, params):
        marker = context.folder / "attempts.txt"
        attempts = int(marker.read_text()) + 1 if marker.exists() else 1
        marker.write_text(str(attempts))
        context.progress(0.5, f"attempt {attempts}")
        if attempts == 1:
            release.wait(10)  # the first server "stops" while this runs
        return {"attempts": attempts}

    kind = JobKind("count", lambda params: params, run, "counts its attempts")
    first = JobManager(DataRoot(tmp_path), {"count": kind})
    job_id = first.start("count", {})["id"]
    deadline = time.monotonic() + 5
    while first.get(job_id)["state"] != "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    second = JobManager(DataRoot(tmp_path), {"count": kind})  # a new server on the folder
    assert second.get(job_id)["state"] == "interrupted"
    release.set()
    first.wait(job_id, 5)
    resumed = second.resume(job_id)
    assert resumed["state"] in ("queued", "running", "done")
    finished = second.wait(job_id, 10)
    assert finished["state"] == "done" and finished["result"] == {"attempts": 2}


# ----------------------------------------------------------------------------- safety
def test_no_request_path_leaves_the_data_folder(client, data_root, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    shutil.copytree(data_root / "small", outside / "secret_store")
    (outside / "secret_plan.json").write_text(PLAN_SMALL.read_text())
    link = data_root / "linked"
    link.symlink_to(outside, target_is_directory=True)
    try:
        attempts = [
            ("/api/dataset", {"path": "../"}),
            ("/api/dataset", {"path": "small/../../"}),
            ("/api/dataset", {"path": str(outside / "secret_store")}),
            ("/api/dataset", {"path": "linked/secret_store"}),
            ("/api/dataset", {"path": "~/"}),
            ("/api/dataset", {"path": "small\\..\\.."}),
            ("/api/plan", {"path": "linked/secret_plan.json"}),
            ("/api/plan", {"path": "/etc/passwd"}),
            ("/api/sample", {"store": "../outside", "sample_id": "x"}),
            ("/api/flywheel", {"path": "../.."}),
        ]
        for route, params in attempts:
            response = client.get(route, params=params)
            assert response.status_code == 403, (route, params, response.text)
        small = client.get("/api/dataset", params={"path": "small"}).json()
        sample = small["samples"][0]["sample_id"]
        bad_id = client.get("/api/sample", params={"store": "small", "sample_id": "../x"})
        assert bad_id.status_code == 403
        assert client.get("/api/sample", params={"store": "small", "sample_id": sample}).is_success
        assert client.get("/api/jobs/..%2F..%2Fetc").status_code in (403, 404)
        assert client.get("/static/../app.py").status_code == 404
        assert client.get("/static/%2e%2e/app.py").status_code == 404
        listed = [row["path"] for row in client.get("/api/datasets").json()]
        assert not any(path.startswith("linked") for path in listed)
        assert "linked/secret_plan.json" not in client.get("/api/plans").json()
        response = client.post(
            "/api/predict",
            json={"model": "../../models", "store": "small", "sample_id": sample},
            headers=AUTH,
        )
        assert response.status_code == 403
        response = client.post(
            "/api/predict", json={"model": "small", "upload": "../../x.csv"}, headers=AUTH
        )
        assert response.status_code in (400, 403)
    finally:
        link.unlink()


def test_runs_and_uploads_folders_that_lead_outside_are_not_written(tmp_path):
    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    (data / "runs").symlink_to(outside, target_is_directory=True)
    (data / "uploads").symlink_to(outside, target_is_directory=True)
    client = TestClient(create_app(data, TOKEN))
    job = {"kind": "generate", "params": {"scenario": "squats", "llm": "echo"}}
    refused = client.post("/api/jobs", json=job, headers=AUTH)
    assert refused.status_code == 400 and "outside" in refused.json()["error"]
    upload = {"file": ("capture.csv", _ti_csv().encode(), "text/csv")}
    refused = client.post("/api/uploads", files=upload, headers=AUTH)
    assert refused.status_code == 400 and "outside" in refused.json()["error"]
    assert list(outside.iterdir()) == []


def test_foreign_host_headers_are_refused(data_root):
    guarded = TestClient(create_app(data_root, TOKEN, allowed_hosts=["127.0.0.1", "localhost"]))
    assert guarded.get("/api/datasets", headers={"host": "evil.example:8000"}).status_code == 400
    assert guarded.get("/api/datasets", headers={"host": "127.0.0.1:8000"}).status_code == 200


# ----------------------------------------------------------------------------- uploads
def _ti_csv(frames: int = 5) -> str:
    rows = ["Frame #,# Obj,X,Y,Z,Doppler,Intensity"]
    for frame in range(frames):
        for point in range(3):
            rows.append(
                f"{frame},3,{0.1 * point:.2f},{2.0 + 0.05 * frame:.2f},0.3,-0.4,{12 + point}"
            )
    return "\n".join(rows) + "\n"


def test_uploads_are_checked_and_kept(data_root):
    client = TestClient(create_app(data_root, TOKEN, max_upload_bytes=4000))
    upload = {"file": ("capture.csv", _ti_csv().encode(), "text/csv")}
    assert client.post("/api/uploads", files=upload).status_code == 401
    saved = client.post("/api/uploads", files=upload, headers=AUTH)
    assert saved.status_code == 201, saved.text
    body = saved.json()
    assert body["format"] == "ti_csv" and body["frames"] == 5 and body["points"] == 15
    assert (data_root / "uploads" / body["id"]).is_file()
    assert body["id"] in [row["id"] for row in client.get("/api/uploads").json()]
    too_big = client.post(
        "/api/uploads", files={"file": ("big.csv", _ti_csv(200).encode())}, headers=AUTH
    )
    assert too_big.status_code == 413
    exe = client.post("/api/uploads", files={"file": ("x.exe", b"MZ...")}, headers=AUTH)
    assert exe.status_code == 400 and "suffix" in exe.json()["error"]
    wrong = client.post(
        "/api/uploads", files={"file": ("fake.csv", b"a,b,c\n1,2,3\n")}, headers=AUTH
    )
    assert wrong.status_code == 400 and "Frame #" in wrong.json()["error"]
    kept = sorted(path.name for path in (data_root / "uploads").iterdir())
    assert kept == [body["id"]], "refused uploads leave nothing behind"


# ----------------------------------------------------------------------------- models
@pytest.fixture(scope="module")
def trained(data_root) -> dict[str, str]:
    """A map classifier, a point classifier and a tiny radar LLM, trained on the store."""
    from mmexpert.models.radar_llm import RadarLLMConfig
    from mmexpert.models.radar_llm_encoder import MapPatchEncoderConfig
    from mmexpert.models.radar_llm_train import train_radar_llm
    from mmexpert.models.train import TrainConfig, train

    store = data_root / "small"
    models = data_root / "models"
    maps = train(
        TrainConfig(model="classifier-cnn-tiny", epochs=1, batch_size=3, window_frames=FRAMES),
        store,
        models / "maps",
        progress=False,
    )
    points = train(
        TrainConfig(model="classifier-points-tiny", epochs=1, batch_size=3, window_frames=FRAMES),
        store,
        models / "points",
        progress=False,
    )
    encoder = MapPatchEncoderConfig(
        views=("micro_doppler", "range_time", "azimuth_time"),
        bins=(128, 256, 128),
        window_frames=FRAMES,
        patch_frames=4,
        seed=0,
    )
    config = RadarLLMConfig(
        base="tiny",
        stage=2,
        encoder=encoder,
        steps=2,
        batch_size=2,
        seed=0,
        split=None,
        cpu_threads=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # transformers/peft deprecation notes
        train_radar_llm(config, store, models / "llm", progress=None)
    root = DataRoot(data_root)
    return {
        "maps": root.relative(maps.model_dir),
        "points": root.relative(points.model_dir),
        "llm": "models/llm",
    }


def test_playground_scores_captions_and_answers(client, trained):
    models = {row["path"]: row for row in client.get("/api/models").json()}
    assert models[trained["maps"]]["kind"] == "classifier"
    assert models[trained["llm"]]["kind"] == "radar_llm"
    assert models[trained["maps"]]["classes"] == ["squat", "walk_forward", "wave"]
    summary = client.get("/api/dataset", params={"path": "small"}).json()
    sample = next(s for s in summary["samples"] if s["activity"] == "wave")
    source = {"store": "small", "sample_id": sample["sample_id"]}
    body = {"model": trained["maps"], **source}
    assert client.post("/api/predict", json=body).status_code == 401
    scored = client.post("/api/predict", json=body, headers=AUTH)
    assert scored.status_code == 200, scored.text
    result = scored.json()
    assert set(result["scores"]) == {"squat", "walk_forward", "wave"}
    assert sum(result["scores"].values()) == pytest.approx(1.0, abs=1e-5)
    assert result["prediction"] == max(result["scores"], key=result["scores"].get)
    assert result["truth"] == "wave"
    captioned = client.post("/api/caption", json={"model": trained["llm"], **source}, headers=AUTH)
    assert captioned.status_code == 200, captioned.text
    assert isinstance(captioned.json()["text"], str)
    assert captioned.json()["captions"][0].startswith("A woman standing 3 m")
    asked = client.post(
        "/api/ask",
        json={"model": trained["llm"], "question": "Which hand?", **source},
        headers=AUTH,
    )
    assert asked.status_code == 200 and isinstance(asked.json()["text"], str)
    empty = client.post(
        "/api/ask", json={"model": trained["llm"], "question": " ", **source}, headers=AUTH
    )
    assert empty.status_code == 400
    wrong_kind = client.post(
        "/api/caption", json={"model": trained["maps"], **source}, headers=AUTH
    )
    assert wrong_kind.status_code == 400 and "radar_llm" in wrong_kind.json()["error"]


def test_an_uploaded_point_recording_gets_scored_by_a_point_model(client, trained):
    saved = client.post(
        "/api/uploads", files={"file": ("real.csv", _ti_csv(12).encode())}, headers=AUTH
    ).json()
    by_points = client.post(
        "/api/predict", json={"model": trained["points"], "upload": saved["id"]}, headers=AUTH
    )
    assert by_points.status_code == 200, by_points.text
    assert by_points.json()["truth"] is None
    assert sum(by_points.json()["scores"].values()) == pytest.approx(1.0, abs=1e-5)
    by_maps = client.post(
        "/api/predict", json={"model": trained["maps"], "upload": saved["id"]}, headers=AUTH
    )
    assert by_maps.status_code == 400 and "points only" in by_maps.json()["error"]
    described = client.post(
        "/api/caption", json={"model": trained["llm"], "upload": saved["id"]}, headers=AUTH
    )
    assert described.status_code == 400 and "points only" in described.json()["error"]


def test_real_radhar_recording_uploads_when_the_shared_sample_is_present(client):
    sample_dir = Path(__file__).resolve().parents[2] / "shared" / "data" / "radhar-sample"
    files = sorted(sample_dir.glob("*/*.txt")) if sample_dir.is_dir() else []
    if not files:
        pytest.skip(f"RadHAR sample absent: {sample_dir}")
    payload = files[0].read_bytes()
    if len(payload) > 20_000_000:
        pytest.skip("RadHAR sample file larger than the default upload limit")
    saved = client.post("/api/uploads", files={"file": (files[0].name, payload)}, headers=AUTH)
    assert saved.status_code == 201, saved.text
    assert saved.json()["format"] == "radhar" and saved.json()["frames"] > 10


# ----------------------------------------------------------------------------- flywheel
def _write_flywheel_folder(folder: Path) -> None:
    """A two-round flywheel folder in the flywheel's saved format (validated by its
    pydantic models when the flywheel package is installed)."""
    classes = ["squat", "walk_forward"]
    index = {
        "config": {"scenario": "squats and walking", "count": 4},
        "classes": classes,
        "rounds": [
            {
                "round": 0,
                "phases": ["planned", "generated", "trained", "evaluated", "revised"],
                "samples_new": 4,
                "samples_total": 4,
                "synthetic_accuracy": 0.5,
                "real_accuracy": None,
                "revisions_code": 2,
                "revisions_llm": 0,
            },
            {
                "round": 1,
                "phases": ["planned", "generated", "trained", "evaluated"],
                "samples_new": 4,
                "samples_total": 8,
                "synthetic_accuracy": 0.75,
                "real_accuracy": None,
                "revisions_code": 0,
                "revisions_llm": 0,
            },
        ],
        "stop_reason": "2 rounds done",
        "best_round": 1,
    }
    states = []
    for number, (accuracy, confusion) in enumerate(
        [(0.5, [[0, 2], [0, 2]]), (0.75, [[1, 1], [0, 2]])]
    ):
        states.append(
            {
                "round": number,
                "phases": index["rounds"][number]["phases"],
                "synthetic": {
                    "accuracy": accuracy,
                    "macro_f1": accuracy,
                    "per_class": {c: accuracy for c in classes},
                    "confusion": confusion,
                    "classes": classes,
                    "count": 4,
                },
                "analysis": {
                    "per_class": {"squat": confusion[0][0] / 2, "walk_forward": 1.0},
                    "weak": ["squat"],
                    "confused": [
                        {
                            "true": "squat",
                            "predicted": "walk_forward",
                            "count": confusion[0][1],
                            "rate": confusion[0][1] / 2,
                        }
                    ],
                    "misclassified": [],
                },
                "revisions": [
                    {
                        "source": "code",
                        "kind": "quota",
                        "activity": "squat",
                        "detail": "quota 2 -> 3",
                    }
                ],
            }
        )
    try:
        from mmexpert.flywheel.state import FlywheelIndex, RoundState
    except ImportError:
        pass
    else:
        index = FlywheelIndex.model_validate(index).model_dump(mode="json")
        states = [RoundState.model_validate(state).model_dump(mode="json") for state in states]
    folder.mkdir(parents=True)
    (folder / "flywheel.json").write_text(json.dumps(index))
    for state in states:
        (folder / f"round_{state['round']:02d}").mkdir()
        (folder / f"round_{state['round']:02d}" / "state.json").write_text(json.dumps(state))


def test_flywheel_folders_show_accuracy_per_round_and_confusion(client, data_root):
    _write_flywheel_folder(data_root / "fly" / "run1")
    assert client.get("/api/flywheels").json() == ["fly/run1"]
    view = client.get("/api/flywheel", params={"path": "fly/run1"}).json()
    assert [r["synthetic"]["accuracy"] for r in view["rounds"]] == [0.5, 0.75]
    assert view["rounds"][1]["synthetic"]["confusion"] == [[1, 1], [0, 2]]
    assert view["rounds"][0]["weak"] == ["squat"] and view["best_round"] == 1
    assert view["rounds"][0]["revisions"][0]["kind"] == "quota"
    missing = client.get("/api/flywheel", params={"path": "small"})
    assert missing.status_code == 404


@pytest.mark.slow
def test_flywheel_run_from_the_page_api(client):
    """Two real flywheel rounds (echo LLM, 0.3 s clips, 1 epoch): about 20 s."""
    pytest.importorskip("mmexpert.flywheel")
    request = {
        "kind": "flywheel",
        "params": {
            "scenario": "people doing squats and walking",
            "rounds": 2,
            "count": 4,
            "radar": "iwr1843-udoppler",
            "epochs": 1,
            "llm": "echo",
            "encoder": "ngram",
            "executor": "serial",
            "clip_s": 0.3,
            "window_s": 0.3,
            "batch_size": 4,
            "paraphrases": 0,
            "describe_per_class": 0,
            "val_count": 4,
        },
    }
    started = client.post("/api/jobs", json=request, headers=AUTH)
    assert started.status_code == 201, started.text
    job = _wait_job(client, started.json()["id"], timeout_s=180)
    assert job["state"] == "done", job.get("error")
    view = client.get("/api/flywheel", params={"path": f"{job['folder']}/flywheel"}).json()
    assert len(view["rounds"]) == 2
    assert all(0.0 <= r["synthetic"]["accuracy"] <= 1.0 for r in view["rounds"])
    assert len(view["rounds"][0]["synthetic"]["confusion"]) == len(view["classes"])


# ----------------------------------------------------------------------------- the command
def test_serve_command_starts_on_loopback_and_prints_the_token(data_root):
    """``python -m mmexpert.cli_web`` as a user runs it: the printed URL carries the token,
    browsing is open, actions without the token are refused."""
    import socket
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MMEXPERT_TOKEN": "from-the-environment"}
    process = subprocess.Popen(
        [sys.executable, "-m", "mmexpert.cli_web", "--data", str(data_root), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        banner = process.stdout.readline() + process.stdout.readline()
        assert f"http://127.0.0.1:{port}/#token=from-the-environment" in banner, banner
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/datasets") as reply:
                    listed = json.load(reply)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        assert "small" in [row["path"] for row in listed]
        refused = urllib.request.Request(f"http://127.0.0.1:{port}/api/token", method="POST")
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(refused)
        assert error.value.code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_command_refuses_a_missing_data_folder(tmp_path):
    import typer
    from typer.testing import CliRunner

    from mmexpert.cli_web import serve_command

    app = typer.Typer()
    app.command()(serve_command)
    result = CliRunner().invoke(app, ["--data", str(tmp_path / "absent")])
    assert result.exit_code == 2 and "does not exist" in " ".join(result.output.split())


def test_uploads_open_in_the_sample_viewer(client, data_root):
    """A point recording shows its points per frame in the radar frame; a products .npz of
    a simulated person shows its maps, its skeleton and world-frame points."""
    saved = client.post(
        "/api/uploads", files={"file": ("walk.csv", _ti_csv(6).encode())}, headers=AUTH
    ).json()
    view = client.get("/api/upload", params={"id": saved["id"]}).json()
    assert view["points_frame"] == "radar" and view["maps"] == {} and view["skeleton"] is None
    assert [len(frame) for frame in view["points"]] == [3] * 6
    assert view["times_s"] == pytest.approx(np.arange(6) / 30.0, abs=1e-4)
    assert view["points"][2][0][:3] == pytest.approx([0.0, 2.1, 0.3])
    spec = load_specs(PLAN_SMALL)[1]
    products = simulate_person(
        load_radar("iwr1843-udoppler"),
        spec.program,
        seed=spec.seed,
        num_frames=FRAMES,
        keep_adc=False,
    )
    products.save(data_root / "person.npz")
    payload = (data_root / "person.npz").read_bytes()
    (data_root / "person.npz").unlink()
    saved = client.post(
        "/api/uploads", files={"file": ("person.npz", payload)}, headers=AUTH
    ).json()
    view = client.get("/api/upload", params={"id": saved["id"]}).json()
    assert set(view["maps"]) == {"micro_doppler", "range_time", "azimuth_time"}
    assert view["maps"]["micro_doppler"]["frames"] == FRAMES
    joints = np.array(view["skeleton"]["joints"])
    np.testing.assert_allclose(joints, products.extras["joints"][:FRAMES], atol=1e-3)
    assert view["points_frame"] == "world" and view["radar_position_m"][2] == pytest.approx(1.0)
    assert client.get("/api/upload", params={"id": "../../etc.csv"}).status_code == 403
