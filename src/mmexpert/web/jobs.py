"""Background jobs of the dashboard, persisted so that a page refresh or a restart loses none.

A job is one call of a registered :class:`JobKind` in a worker thread. Its state lives in
``<data>/runs/<job id>/job.json`` (written atomically on every change) next to what the job
writes (plan, dataset store, flywheel rounds), so the runs page is a listing of that folder.
Jobs run one at a time (the machines this targets have few cores); later ones queue.

A server that stops while a job is queued or running leaves it ``interrupted`` on the next
start; ``resume`` runs it again in the same folder, and a generation job then continues
where it stopped (its plan file is reused and the engine skips recorded samples).

Cancelling (:meth:`JobManager.cancel`): a queued job is ``cancelled`` at once. A running job
gets its :class:`JobContext` flagged; how soon it stops depends on its kind:

* a kind that runs its work in a child process registers a stop function with
  :meth:`JobContext.on_cancel` (the ``run`` kind does: its process group is terminated, so
  the stop is immediate);
* otherwise the flag is checked whenever the job reports progress from its own thread
  (:meth:`JobContext.progress` raises :class:`JobCancelled` there), so a job stops at its
  next progress or log line (a generation checks after every stored sample): a step that
  never reports finishes first.

Either way the job ends ``cancelled`` (persisted) and ``resume`` runs it again in its folder;
the stores and checkpoints the jobs write are crash-safe, so a cut-off step resumes cleanly.

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
RESUMABLE_STATES = ("interrupted", "failed", "cancelled")


class JobError(ValueError):
    """A job request with bad parameters, an unknown kind, or an unknown job id."""


class JobStateError(JobError):
    """A request that the job's current state does not allow (resume a running job,
    cancel a finished one)."""


class JobCancelled(BaseException):
    """Raised inside a job when it was asked to stop.

    A ``BaseException`` so that a library's broad ``except Exception`` (which reports a
    failed step and goes on) does not swallow the stop.
    """


class JobContext:
    """What a running job sees: its folder and a way to report progress.

    Parameters
    ----------
    folder
        The job's run folder (``<data>/runs/<id>``).
    update
        Called with changed job fields; persists them.
    data
        The data folder (for kinds that resolve paths of their parameters at run time).
    """

    def __init__(
        self,
        folder: Path,
        update: Callable[[dict[str, Any]], None],
        data: DataRoot | None = None,
    ) -> None:
        self.folder = folder
        self.data = data
        self._update = update
        self._thread = threading.current_thread()  # the job's own thread
        self._cancel = threading.Event()
        self._stoppers: list[Callable[[], None]] = []
        self._stoppers_lock = threading.Lock()

    @property
    def cancel_requested(self) -> bool:
        """True once :meth:`JobManager.cancel` asked this job to stop."""
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` when the job was asked to stop."""
        if self._cancel.is_set():
            raise JobCancelled("cancelled on request")

    def on_cancel(self, stop: Callable[[], None]) -> None:
        """Call ``stop()`` when the job is cancelled (at once if it already was); for work
        running outside the job's thread, e.g. a child process to terminate."""
        with self._stoppers_lock:
            self._stoppers.append(stop)
            already = self._cancel.is_set()
        if already:
            stop()

    def request_cancel(self) -> None:
        """Flag the job and call the registered stop functions (from any thread)."""
        with self._stoppers_lock:
            self._cancel.set()
            stoppers = list(self._stoppers)
        for stop in stoppers:
            stop()

    def progress(self, fraction: float | None, message: str, **fields: Any) -> None:
        """Report progress: ``fraction`` in [0, 1] (None: unknown), a message, extra fields
        (kept under ``details``); the message is also appended to the job log.

        Raises
        ------
        JobCancelled
            When called from the job's own thread after the job was cancelled (calls from
            helper threads, e.g. a progress watcher, only report).
        """
        if threading.current_thread() is self._thread:
            self.check_cancelled()
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
    check_paths
        Optional ``check_paths(params, data) -> params``, called after ``check`` with the
        data folder: resolves (and refuses) the parameters that name paths in it.
    """

    name: str
    check: Callable[[dict[str, Any]], dict[str, Any]]
    run: Callable[[JobContext, dict[str, Any]], dict[str, Any]]
    description: str
    check_paths: Callable[[dict[str, Any], DataRoot], dict[str, Any]] | None = None


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
        self._contexts: dict[str, JobContext] = {}  # running jobs
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
            self._apply(self._jobs[job_id], changes)

    def _apply(self, job: dict[str, Any], changes: dict[str, Any]) -> None:
        """Change and persist one job; the caller holds ``self._lock``."""
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
        if self.kinds[kind].check_paths is not None:
            checked = self.kinds[kind].check_paths(checked, self.data)
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
        """Run an interrupted, failed or cancelled job again in its folder.

        Raises
        ------
        JobError
            For an unknown id (:class:`JobStateError` for a job that is queued, running
            or done).
        """
        job = self.get(job_id)
        if job["state"] not in RESUMABLE_STATES:
            raise JobStateError(
                f"job {job_id} is {job['state']}; only interrupted, failed or cancelled jobs resume"
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
                "cancel_requested": False,
                "instance": self._instance,
            },
        )
        self._enqueue(job_id)
        return self.get(job_id)

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Stop a queued or running job; it ends ``cancelled`` and can be resumed.

        A queued job is cancelled at once. A running job is asked to stop (see the module
        notes for how soon each kind stops); its state turns ``cancelled`` when it has.

        Raises
        ------
        JobError
            For an unknown id (:class:`JobStateError` for a job that is not queued or
            running).
        """
        with self._lock:
            if job_id not in self._jobs:
                raise JobError(f"no job {job_id!r}")
            job = self._jobs[job_id]
            state = job["state"]
            if state not in ACTIVE_STATES or job.get("instance") != self._instance:
                raise JobStateError(
                    f"job {job_id} is {state}; only queued or running jobs can be cancelled"
                )
            context = self._contexts.get(job_id)
            if context is None:  # still queued: the worker skips it (checked under the lock)
                self._apply(
                    job,
                    {
                        "state": "cancelled",
                        "message": "cancelled before it started",
                        "log_line": "cancelled before it started",
                        "finished_s": time.time(),
                    },
                )
            else:
                self._apply(
                    job,
                    {
                        "cancel_requested": True,
                        "message": "cancelling",
                        "log_line": "cancel requested",
                    },
                )
        if context is not None:
            context.request_cancel()
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
        context = JobContext(
            self.runs / job_id, lambda changes: self._update(job_id, changes), self.data
        )
        with self._lock:
            job = self._jobs[job_id]
            if job["state"] != "queued":  # cancelled while it waited
                return
            self._contexts[job_id] = context
            params = json.loads(json.dumps(job["params"]))
            kind = self.kinds[job["kind"]]
        try:
            self._update(
                job_id,
                {
                    "state": "running",
                    "started_s": time.time(),
                    "log_line": f"started {kind.name}",
                },
            )
            self._execute(job_id, kind, context, params)
        finally:
            with self._lock:
                self._contexts.pop(job_id, None)

    def _execute(
        self, job_id: str, kind: JobKind, context: JobContext, params: dict[str, Any]
    ) -> None:
        try:
            context.check_cancelled()
            result = kind.run(context, params)
        except JobCancelled:
            self._update(
                job_id,
                {
                    "state": "cancelled",
                    "message": "cancelled; resume continues in the same folder",
                    "log_line": "cancelled",
                    "finished_s": time.time(),
                },
            )
            return
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
        late = context.cancel_requested  # the work finished before the stop took effect
        message = "done (finished before the cancel took effect)" if late else "done"
        self._update(
            job_id,
            {
                "state": "done",
                "progress": 1.0,
                "result": result,
                "message": message,
                "log_line": message,
                "finished_s": time.time(),
            },
        )
