"""Background jobs of the dashboard, persisted so that a page refresh or a restart loses none.

A job is one call of a registered :class:`JobKind` in a worker thread. Its state lives in
``<data>/runs/<job id>/job.json`` (written atomically on every change) next to what the job
writes (plan, dataset store, flywheel rounds), so the runs page is a listing of that folder.
Jobs run one at a time (the machines this targets have few cores); later ones queue.

A server that stops while a job is queued or running leaves it ``interrupted`` on the next
start; ``resume`` runs it again in the same folder, and a generation job then continues
where it stopped (its plan file is reused and the engine skips recorded samples).

Registry: :data:`JOB_KINDS` maps a kind name to its :class:`JobKind` (parameter check and
run function).
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmexpert.web.safety import DataRoot, check_identifier

RUNS_DIR = "runs"
JOB_FILE = "job.json"
MAX_LOG_LINES = 200
ACTIVE_STATES = ("queued", "running")


class JobError(ValueError):
    """A job request with bad parameters, an unknown kind, or an unknown job id."""


class JobContext:
    """What a running job sees: its folder and a way to report progress.

    Parameters
    ----------
    folder
        The job's run folder (``<data>/runs/<id>``).
    update
        Called with changed job fields; persists them.
    """

    def __init__(self, folder: Path, update: Callable[[dict[str, Any]], None]) -> None:
        self.folder = folder
        self._update = update

    def progress(self, fraction: float | None, message: str, **fields: Any) -> None:
        """Report progress: ``fraction`` in [0, 1] (None: unknown), a message, extra fields
        (kept under ``details``); the message is also appended to the job log."""
        changes: dict[str, Any] = {"message": message, "log_line": message}
        if fraction is not None:
            changes["progress"] = max(0.0, min(1.0, float(fraction)))
        if fields:
            changes["details"] = fields
        self._update(changes)


@dataclass(frozen=True)
class JobKind:
    """One kind of job: how its parameters are checked and how it runs.

    Attributes
    ----------
    name
        Registry key.
    check
        ``check(params) -> params``: validated, normalised parameters; raises
        :class:`JobError` naming the bad parameter.
    run
        ``run(context, params) -> result``: does the work (in a worker thread); the result
        dict is saved in the job file.
    description
        One line for the page.
    """

    name: str
    check: Callable[[dict[str, Any]], dict[str, Any]]
    run: Callable[[JobContext, dict[str, Any]], dict[str, Any]]
    description: str


JOB_KINDS: dict[str, JobKind] = {}
"""Registered job kinds (filled by :mod:`mmexpert.web.runs`)."""


def register(kind: JobKind) -> JobKind:
    """Add a job kind to :data:`JOB_KINDS`."""
    JOB_KINDS[kind.name] = kind
    return kind


def _atomic_write_json(path: Path, value: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


class JobManager:
    """Starts, runs (one at a time), persists and lists jobs under ``<data>/runs``.

    Parameters
    ----------
    data
        The data folder.
    kinds
        The job kinds that may be started (default :data:`JOB_KINDS`).
    """

    def __init__(self, data: DataRoot, kinds: dict[str, JobKind] | None = None) -> None:
        self.data = data
        self.kinds = JOB_KINDS if kinds is None else kinds
        self.runs = data.root / RUNS_DIR
        self._lock = threading.Lock()
        self._jobs: dict[str, dict[str, Any]] = {}
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._instance = secrets.token_hex(8)  # tells this server's jobs from older ones
        self._load()

    # ----- persistence

    def _load(self) -> None:
        if not self.runs.is_dir():
            return
        for job_file in sorted(self.runs.glob(f"*/{JOB_FILE}")):
            if job_file.parent.is_symlink() or not self.data.contains(job_file):
                continue
            try:
                job = json.loads(job_file.read_text(encoding="utf-8"))
                check_identifier(str(job["id"]), "job id")
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if job.get("state") in ACTIVE_STATES and job.get("instance") != self._instance:
                job["message"] = (
                    f"the server stopped while this job was {job['state']}; resume runs it "
                    "again in the same folder"
                )
                job["state"] = "interrupted"
                _atomic_write_json(job_file, job)
            self._jobs[job["id"]] = job

    def _save(self, job: dict[str, Any]) -> None:
        folder = self.runs / job["id"]
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write_json(folder / JOB_FILE, job)

    def _update(self, job_id: str, changes: dict[str, Any]) -> None:
        with self._lock:
            job = self._jobs[job_id]
            line = changes.pop("log_line", None)
            if line:
                job["log"] = [*job.get("log", []), f"{time.strftime('%H:%M:%S')} {line}"][
                    -MAX_LOG_LINES:
                ]
            job.update(changes)
            job["updated_s"] = time.time()
            self._save(job)

    # ----- public API

    def start(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        """Check the parameters, create the job folder and queue the job.

        Raises
        ------
        JobError
            For an unknown kind or bad parameters.
        """
        if kind not in self.kinds:
            raise JobError(f"unknown job kind {kind!r}; choose one of {sorted(self.kinds)}")
        checked = self.kinds[kind].check(dict(params))
        if self.runs.is_symlink() or (self.runs.exists() and not self.data.contains(self.runs)):
            raise JobError(f"{RUNS_DIR}/ leads outside the data folder; refusing to write there")
        job_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        job = {
            "id": job_id,
            "kind": kind,
            "params": checked,
            "state": "queued",
            "progress": 0.0,
            "message": "queued",
            "details": {},
            "log": [],
            "result": None,
            "error": None,
            "created_s": time.time(),
            "started_s": None,
            "finished_s": None,
            "updated_s": time.time(),
            "folder": f"{RUNS_DIR}/{job_id}",
            "instance": self._instance,
        }
        with self._lock:
            self._jobs[job_id] = job
            self._save(job)
        self._enqueue(job_id)
        return self.get(job_id)

    def resume(self, job_id: str) -> dict[str, Any]:
        """Run an interrupted or failed job again in its folder.

        Raises
        ------
        JobError
            For an unknown id, or a job that is queued, running or done.
        """
        job = self.get(job_id)
        if job["state"] not in ("interrupted", "failed"):
            raise JobError(
                f"job {job_id} is {job['state']}; only interrupted or failed jobs resume"
            )
        if job["kind"] not in self.kinds:
            raise JobError(f"job kind {job['kind']!r} is not available in this server")
        self._update(
            job_id,
            {
                "state": "queued",
                "message": "queued (resumed)",
                "log_line": "resumed",
                "error": None,
                "instance": self._instance,
            },
        )
        self._enqueue(job_id)
        return self.get(job_id)

    def get(self, job_id: str) -> dict[str, Any]:
        """A copy of one job's state.

        Raises
        ------
        JobError
            For an unknown id.
        """
        with self._lock:
            if job_id not in self._jobs:
                raise JobError(f"no job {job_id!r}")
            return json.loads(json.dumps(self._jobs[job_id]))

    def list(self) -> list[dict[str, Any]]:
        """Every job, newest first (without logs)."""
        with self._lock:
            jobs = [
                {key: value for key, value in job.items() if key != "log"}
                for job in self._jobs.values()
            ]
        return sorted(jobs, key=lambda job: job.get("created_s") or 0.0, reverse=True)

    def wait(self, job_id: str, timeout_s: float) -> dict[str, Any]:
        """Block until the job leaves the queued/running states or ``timeout_s`` passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.get(job_id)
            if job["state"] not in ACTIVE_STATES:
                return job
            time.sleep(0.05)
        return self.get(job_id)

    # ----- the worker

    def _enqueue(self, job_id: str) -> None:
        self._queue.put(job_id)
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name="mmexpert-web-jobs", daemon=True
                )
                self._worker.start()

    def _work(self) -> None:
        while True:
            try:
                job_id = self._queue.get(timeout=1.0)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._worker = None
                        return
                continue
            if job_id is None:
                return
            self._run(job_id)

    def _run(self, job_id: str) -> None:
        job = self.get(job_id)
        kind = self.kinds[job["kind"]]
        folder = self.runs / job_id
        self._update(
            job_id,
            {"state": "running", "started_s": time.time(), "log_line": f"started {kind.name}"},
        )
        context = JobContext(folder, lambda changes: self._update(job_id, changes))
        try:
            result = kind.run(context, job["params"])
        except Exception as error:  # a job's failure is reported on the page, not raised
            message = f"{type(error).__name__}: {error}"
            self._update(
                job_id,
                {
                    "state": "failed",
                    "error": message,
                    "traceback": traceback.format_exc(limit=8),
                    "message": message,
                    "log_line": f"failed: {message}",
                    "finished_s": time.time(),
                },
            )
            return
        self._update(
            job_id,
            {
                "state": "done",
                "progress": 1.0,
                "result": result,
                "message": "done",
                "log_line": "done",
                "finished_s": time.time(),
            },
        )
