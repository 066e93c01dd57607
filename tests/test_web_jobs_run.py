"""The dashboard's ``run`` job (the whole recipe in a child process) and job cancelling.

Bad parameters are refused up front with 400 and a message naming them; a tiny real run
(echo LLM, n-gram encoder, 4 clips of 8 frames, 1 epoch, serial simulation: a few seconds)
is cancelled after its plan, ends ``cancelled`` with its process gone, and a second start of
the same run folder resumes it (the saved plan is reused), completes, and its report and
figures are served. The generic cancel path (a job in a thread, stopped at its next
progress report; a queued job cancelled before it runs) is checked with small job kinds.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the dashboard needs the 'web' extra (fastapi)")
from fastapi.testclient import TestClient

from mmexpert.data.store import DatasetStore
from mmexpert.web import TOKEN_HEADER, create_app
from mmexpert.web.jobs import JobContext, JobKind, JobManager, JobStateError
from mmexpert.web.safety import DataRoot
from test_eval_real import person_frames, write_radhar

TOKEN = "test-token-run"
AUTH = {TOKEN_HEADER: TOKEN}
TINY = {
    "scenario": "jumping jacks and squats",
    "radar": "iwr1443-radhar",
    "count": 4,
    "epochs": 1,
    "llm": "echo",
    "encoder": "ngram",
    "paraphrases": 0,
    "num_frames": 8,
    "test_fraction": 0.5,
    "executor": "serial",
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """A data folder with labelled real RadHAR recordings in ``real/``."""
    root = tmp_path_factory.mktemp("web-run") / "data"
    write_radhar(root / "real" / "jack" / "jack.txt", person_frames(40, seed=4))
    write_radhar(root / "real" / "squats" / "squats.txt", person_frames(40, seed=5))
    (root / "outside-target").mkdir()
    return root


@pytest.fixture(scope="module")
def client(data_root) -> TestClient:
    return TestClient(create_app(data_root, TOKEN))


def _start(client: TestClient, params: dict) -> dict:
    response = client.post("/api/jobs", json={"kind": "run", "params": params}, headers=AUTH)
    assert response.status_code == 201, response.json()
    return response.json()


def _wait(client: TestClient, job_id: str, until, timeout_s: float = 60.0) -> dict:
    """Poll the job until ``until(job)`` holds (a condition, not a fixed sleep)."""
    deadline = time.monotonic() + timeout_s
    job = client.get(f"/api/jobs/{job_id}").json()
    while not until(job):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"job {job_id} is {job['state']} after {timeout_s} s: {job['log']}"
            )
        time.sleep(0.05)
        job = client.get(f"/api/jobs/{job_id}").json()
    return job


def _finished(job: dict) -> bool:
    return job["state"] not in ("queued", "running")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scenario": "  "}, "scenario must hold 3 to 2000 characters"),
        ({"count": 1}, "count must be in [2, 2000], got 1"),
        ({"count": 5000}, "count must be in [2, 2000], got 5000"),
        ({"count": "many"}, "count must be an integer, got 'many'"),
        ({"epochs": 0}, "epochs must be in [1, 500], got 0"),
        ({"ensemble": 9}, "ensemble must be in [1, 5], got 9"),
        ({"adapt": "tent"}, "adapt must be one of"),
        ({"radar": "no-such-radar"}, "radar must be one of"),
        ({"model": "no-such-model"}, "model must be one of"),
        ({"llm": "scripted"}, "cannot be built from its name alone"),
        ({"real": "radhar"}, "real must read READER:DIR"),
        ({"real": "rosbag:real"}, "unknown reader 'rosbag'; choose one of"),
        ({"real": "radhar:/etc"}, "must be relative to the data folder"),
        ({"real": "radhar:../outside-target"}, "climbs out of the data folder"),
        ({"real": "radhar:missing"}, "'missing' does not exist in the data folder"),
        ({"classes": "jack=jumping jacks"}, "classes map real-data folders"),
        ({"classes": "jack="}, "classes:"),
        ({"real": "radhar:real", "model": "clip-vit-tiny"}, "needs a points-only model"),
        ({"name": "../elsewhere"}, "run name '../elsewhere' is not a valid identifier"),
        ({"name": ".hidden"}, "run name '.hidden' must not start with a dot"),
    ],
)
def test_bad_run_parameters_are_refused_with_their_name(client, data_root, changes, message):
    before = set(data_root.rglob("*"))
    response = client.post(
        "/api/jobs", json={"kind": "run", "params": {**TINY, **changes}}, headers=AUTH
    )
    assert response.status_code == 400, response.json()
    assert message in response.json()["error"]
    assert set(data_root.rglob("*")) == before  # nothing was written


def test_run_and_cancel_need_the_token(client):
    assert client.post("/api/jobs", json={"kind": "run", "params": TINY}).status_code == 401
    assert client.post("/api/jobs/20990101-000000-abcdef/cancel").status_code == 401


def test_cancel_of_an_unknown_job_is_404(client):
    response = client.post("/api/jobs/20990101-000000-abcdef/cancel", headers=AUTH)
    assert response.status_code == 404 and "no job" in response.json()["error"]
    assert client.post("/api/jobs/..%2Fx/cancel", headers=AUTH).status_code in (403, 404)


def test_a_cancelled_run_resumes_in_the_same_folder_completes_and_serves_its_report(
    client, data_root
):
    params = {**TINY, "name": "resumable"}
    job = _start(client, params)
    # The plan stage's summary line arrives before generation starts (about 3 s of work
    # remain): cancel there, so that the cut lands in generation or training.
    job = _wait(
        client, job["id"], lambda j: _finished(j) or any(" plan " in line for line in j["log"])
    )
    cancelled = client.post(f"/api/jobs/{job['id']}/cancel", headers=AUTH)
    assert cancelled.status_code == 200 and cancelled.json()["cancel_requested"]
    job = _wait(client, job["id"], _finished)
    assert job["state"] == "cancelled", job["log"]
    folder = data_root / "runs" / "recipes" / "resumable"
    assert (folder / "plan.json").is_file() and not (folder / "report.md").exists()
    pid = job["details"]["process"]
    with pytest.raises(ProcessLookupError):  # the recipe process and its group are gone
        os.killpg(pid, 0)
    # A cancelled job can not be cancelled again; it can be resumed.
    again = client.post(f"/api/jobs/{job['id']}/cancel", headers=AUTH)
    assert again.status_code == 409 and "only queued or running" in again.json()["error"]

    second = _wait(client, _start(client, params)["id"], _finished)
    assert second["state"] == "done", second.get("error")
    log = "\n".join(second["log"])
    assert "reused plan.json" in log and "cancel" not in log
    with DatasetStore.open(folder / "store") as store:
        assert len(store) == 4
    result = second["result"]
    assert result["run_folder"] == "runs/recipes/resumable"

    report = client.get("/api/run-report", params={"path": result["run_folder"]}).json()
    assert report["markdown"] == (folder / "report.md").read_text()
    assert report["markdown"].startswith("# mmExpert run")
    assert "runs/recipes/resumable/confusion_synthetic.png" in report["images"]
    assert report["results"]["split"] == {"train": 2, "test": 2}
    figure = client.get("/api/file", params={"path": "runs/recipes/resumable/training_curve.png"})
    assert figure.status_code == 200 and figure.headers["content-type"] == "image/png"
    assert figure.content.startswith(PNG_MAGIC)
    text = client.get("/api/file", params={"path": result["report"]})
    assert text.status_code == 200 and text.text == report["markdown"]
    refused = client.get("/api/file", params={"path": "runs/recipes/resumable/llm_cache.sqlite"})
    assert refused.status_code == 403 and "files are served" in refused.json()["error"]


def test_a_recipe_that_refuses_its_folder_fails_with_the_recipe_message(client, data_root):
    """A named folder made with other clips: the recipe's own message reaches the job."""
    folder = data_root / "runs" / "recipes" / "other-frames"
    folder.mkdir(parents=True)
    (folder / "run_settings.json").write_text(
        '{"radar": "x", "radar_config_hash": "y", "num_frames": 3}\n'
    )
    job = _wait(client, _start(client, {**TINY, "name": "other-frames"})["id"], _finished)
    assert job["state"] == "failed"
    assert "holds a run made with" in job["error"] and "Use another --out" in job["error"]


# ----------------------------------------------------------------------- generic cancel
def _stepping_kind(reached: threading.Event, release: threading.Event) -> JobKind:
    """A job that reports progress step by step and waits at its first step."""

    def run(context: JobContext, params: dict) -> dict:
        steps = 0
        for step in range(50):
            context.progress(step / 50, f"step {step}")
            steps += 1
            if step == 0:
                reached.set()
                assert release.wait(10)
        return {"steps": steps}

    return JobKind("stepping", lambda params: dict(params), run, "steps")


def test_a_thread_job_stops_at_its_next_progress_report_and_resumes(tmp_path):
    reached, release = threading.Event(), threading.Event()
    manager = JobManager(DataRoot(tmp_path), {"stepping": _stepping_kind(reached, release)})
    job_id = manager.start("stepping", {})["id"]
    assert reached.wait(10)
    assert manager.cancel(job_id)["cancel_requested"]
    release.set()  # the job goes on to its next report, where the cancel takes effect
    job = manager.wait(job_id, 10)
    assert job["state"] == "cancelled" and job["log"][-1].endswith("cancelled")
    assert job["result"] is None
    assert "step 1" not in "\n".join(job["log"])  # step 1's report raised JobCancelled
    # Persisted: a restarted manager sees it cancelled, and resume runs it to the end.
    restarted = JobManager(DataRoot(tmp_path), {"stepping": _stepping_kind(reached, release)})
    assert restarted.get(job_id)["state"] == "cancelled"
    restarted.resume(job_id)
    finished = restarted.wait(job_id, 10)
    assert finished["state"] == "done" and finished["result"] == {"steps": 50}
    with pytest.raises(JobStateError, match="only queued or running jobs can be cancelled"):
        restarted.cancel(job_id)


def test_a_generation_job_stops_after_the_sample_in_flight_and_resumes(tmp_path):
    from mmexpert.web.jobs import JOB_KINDS
    from mmexpert.web.runs import check_generate

    params = check_generate(
        {
            "scenario": "people doing squats and walking",
            "count": 6,
            "llm": "echo",
            "encoder": "ngram",
            "num_frames": 12,
            "executor": "serial",
        }
    )
    manager = JobManager(DataRoot(tmp_path), JOB_KINDS)
    job_id = manager.start("generate", params)["id"]
    deadline = time.monotonic() + 60
    while not any(" planned " in line for line in manager.get(job_id)["log"]):  # "HH:MM:SS planned"
        assert time.monotonic() < deadline, manager.get(job_id)
        time.sleep(0.01)
    manager.cancel(job_id)  # the engine is simulating its first sample now
    job = manager.wait(job_id, 60)
    assert job["state"] == "cancelled", job
    store = tmp_path / job["folder"] / "store"
    with DatasetStore.open(store) as opened:
        stopped_at = len(opened)
    assert 1 <= stopped_at < 6  # stopped after the sample in flight, long before the sixth
    manager.resume(job_id)
    finished = manager.wait(job_id, 120)
    assert finished["state"] == "done", finished
    with DatasetStore.open(store) as opened:
        assert len(opened) == 6 and opened.verify().clean


def test_a_queued_job_is_cancelled_before_it_runs(tmp_path):
    reached, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def record(context: JobContext, params: dict) -> dict:
        ran.append("ran")
        return {}

    kinds = {
        "stepping": _stepping_kind(reached, release),
        "record": JobKind("record", lambda params: dict(params), record, "records"),
    }
    manager = JobManager(DataRoot(tmp_path), kinds)
    first = manager.start("stepping", {})["id"]
    assert reached.wait(10)  # the single worker is busy: the next job waits in the queue
    queued = manager.start("record", {})["id"]
    assert manager.cancel(queued)["state"] == "cancelled"
    release.set()
    assert manager.wait(first, 10)["state"] == "done"
    # The queue is first in, first out: once a later job has run, the worker has taken the
    # cancelled id off the queue (and skipped it).
    later = manager.start("record", {})["id"]
    assert manager.wait(later, 10)["state"] == "done"
    assert ran == ["ran"] and manager.get(queued)["state"] == "cancelled"


def test_the_ensemble_size_reaches_the_recipe(tmp_path):
    from mmexpert.web.recipe_job import _options, check_run

    assert check_run(TINY)["ensemble"] == 1
    checked = check_run({**TINY, "ensemble": "3"})
    assert checked["ensemble"] == 3
    assert _options(checked, tmp_path / "run", None).ensemble == 3
    assert check_run(TINY)["adapt"] == "none"
    aligned = check_run({**TINY, "adapt": "standardize"})
    assert _options(aligned, tmp_path / "run", None).adapt == "standardize"
