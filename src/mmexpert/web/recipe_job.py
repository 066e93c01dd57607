"""The ``run`` job kind: the whole one-shot recipe of ``mmexpert run`` from the dashboard.

The job calls :func:`~mmexpert.flywheel.recipe.run_recipe` (plan, generate, split, train,
evaluate, ``report.md``) in a child Python process, so that cancelling is immediate: the
child leads its own process group (its simulation workers included), and
:meth:`~mmexpert.web.jobs.JobManager.cancel` terminates that group. The child sends one
JSON line per event on its stdout (``{"log": ...}``, then ``{"report": ...}`` or
``{"error": ...}``); its stderr (warnings, tracebacks) goes to ``recipe.stderr.log`` in the
job folder. The child also stops its group when the server dies (its stdin, a pipe from
the server, reaches end of file), so no orphan goes on writing into a folder that a later
resume writes too.

Run folder: ``runs/recipes/<name>`` when the request names one (a second start with the same
name resumes that folder: the recipe reuses the plan, skips stored samples and resumes
training from its checkpoint), else ``run/`` inside the job folder (``resume`` of a
cancelled, failed or interrupted job continues it). The store and checkpoints are
crash-safe, so a run cut off mid-stage resumes cleanly.

The child is :mod:`mmexpert.web.recipe_worker` (``python -m mmexpert.web.recipe_worker
REQUEST.json``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from mmexpert.web.jobs import JobCancelled, JobContext, JobError, JobKind, register
from mmexpert.web.runs import MAX_FRAMES, MAX_SCENARIO_CHARS, _choice, _integer, _number
from mmexpert.web.safety import DataRoot, PathRefusedError, check_identifier

RECIPES_DIR = "runs/recipes"  # named run folders, relative to the data folder
JOB_RUN_DIR = "run"  # the run folder inside a job folder when no name is given
REQUEST_FILE = "recipe_request.json"
STDERR_FILE = "recipe.stderr.log"
MIN_COUNT, MAX_COUNT = 2, 2000
MAX_EPOCHS = 500
MAX_ENSEMBLE = 5  # models per run: each trains as long as a single one
TERMINATE_GRACE_S = 5.0  # SIGTERM, then SIGKILL after this [s]
EXIT_WAIT_S = 60.0  # how long a child that closed its stdout may take to exit [s]
STAGE_PROGRESS = {  # fraction of the job done when a stage's line arrives
    "plan": 0.05,
    "generate": 0.6,
    "split": 0.62,
    "train": 0.9,
    "evaluate synthetic": 0.95,
    "evaluate real": 0.98,
}
REPORT_FILES = ("report.md", "results.json")


# --------------------------------------------------------------------------- parameters
def _real_source(text: Any) -> str | None:
    if text is None or str(text).strip() == "":
        return None
    reader, separator, folder = str(text).strip().partition(":")
    if not separator or not reader or not folder:
        raise JobError(f"real must read READER:DIR (DIR inside the data folder), got {text!r}")
    from mmexpert.data.readers import POINT_READERS

    if reader not in POINT_READERS:
        raise JobError(f"unknown reader {reader!r}; choose one of {sorted(POINT_READERS)}")
    return f"{reader}:{folder}"


def _classes(value: Any) -> dict[str, str] | None:
    if value is None or value == "" or value == {}:
        return None
    from mmexpert.eval.real import RealDataError, parse_class_map

    if isinstance(value, dict):
        value = ",".join(f"{folder}={name}" for folder, name in value.items())
    try:
        return parse_class_map(str(value))
    except RealDataError as error:
        raise JobError(f"classes: {error}") from None


def _check_llm(name: str) -> None:
    from mmexpert.llm import LLMError, make_backend

    try:
        make_backend(name)  # lazy: no model is loaded
    except LLMError as error:
        raise JobError(str(error)) from None
    except TypeError as error:  # e.g. "scripted" needs its replies
        raise JobError(
            f"LLM backend {name!r} cannot be built from its name alone ({error})"
        ) from None


def check_run(params: dict[str, Any]) -> dict[str, Any]:
    """Validate the parameters of a recipe run (no path is resolved here, see
    :func:`check_run_paths`).

    Parameters (all but ``scenario`` optional)
    ------------------------------------------
    scenario : str, 3..2000 characters
    radar : a preset name, default ``iwr1443-radhar``
    count : synthetic samples to plan, int in [2, 2000], default 40
    epochs : int in [1, 500], default 20
    model : a model registry name (default: the recipe's choice for the data)
    real : ``READER:DIR``, DIR relative to the data folder (labelled real recordings)
    classes : ``"folder=activity,..."`` or a dict (needs ``real``)
    name : a run folder name under ``runs/recipes/`` (a second start resumes it)
    ensemble : models trained with seeds seed, seed+1, ..., int in [1, 5], default 1
    adapt : test-time feature alignment (``mmexpert.models.adapt.ADAPT_METHODS``), default none
    llm, encoder, paraphrases, seed, num_frames, window_s, test_fraction, executor, workers
    """
    from mmexpert.llm import list_backends
    from mmexpert.models.adapt import ADAPT_METHODS
    from mmexpert.models.registry import list_models
    from mmexpert.plan import ENCODERS
    from mmexpert.radar.presets import list_presets

    scenario = str(params.get("scenario") or "").strip()
    if not 3 <= len(scenario) <= MAX_SCENARIO_CHARS:
        raise JobError(f"scenario must hold 3 to {MAX_SCENARIO_CHARS} characters")
    model = params.get("model")
    model = None if model in (None, "") else _choice(params, "model", "", list_models())
    name = params.get("name")
    if name not in (None, ""):
        try:
            name = check_identifier(str(name), "run name")
        except PathRefusedError as error:
            raise JobError(f"{error} (letters, digits and _ . : - only)") from None
        if name.startswith("."):
            raise JobError(f"run name {name!r} must not start with a dot")
    else:
        name = None
    checked = {
        "scenario": scenario,
        "radar": _choice(params, "radar", "iwr1443-radhar", list_presets()),
        "count": _integer(params, "count", 40, MIN_COUNT, MAX_COUNT),
        "epochs": _integer(params, "epochs", 20, 1, MAX_EPOCHS),
        "model": model,
        "real": _real_source(params.get("real")),
        "classes": _classes(params.get("classes")),
        "name": name,
        "llm": _choice(params, "llm", "local", list_backends()),
        "encoder": _choice(params, "encoder", "minilm", sorted(ENCODERS)),
        "paraphrases": _integer(params, "paraphrases", 2, 0, 10),
        "seed": _integer(params, "seed", 0, 0, 2**31 - 1),
        "ensemble": _integer(params, "ensemble", 1, 1, MAX_ENSEMBLE),
        "adapt": _choice(params, "adapt", "none", list(ADAPT_METHODS)),
        "num_frames": _integer(params, "num_frames", None, 1, MAX_FRAMES),
        "window_s": _number(params, "window_s", 2.0, 0.05, 60.0),
        "test_fraction": _number(params, "test_fraction", 0.2, 0.01, 0.99),
        "executor": _choice(params, "executor", "process", ["process", "serial"]),
        "workers": _integer(params, "workers", 2, 1, 8),
    }
    if checked["classes"] is not None and checked["real"] is None:
        raise JobError("classes map real-data folders: give the real data (READER:DIR) too")
    _check_llm(checked["llm"])
    return checked


def run_folder(params: dict[str, Any], data: DataRoot, job_folder: Path) -> Path:
    """The run folder of a recipe job: ``runs/recipes/<name>``, else ``<job folder>/run``.

    Raises
    ------
    PathRefusedError
        If the folder would lie outside the data folder (a symlinked ``runs/``).
    """
    if params.get("name"):
        return data.resolve(f"{RECIPES_DIR}/{params['name']}", must_exist=False)
    folder = job_folder / JOB_RUN_DIR
    if not data.contains(folder):
        raise PathRefusedError(f"{folder.name} leads outside the data folder")
    return folder


def _real_path(params: dict[str, Any], data: DataRoot) -> tuple[str, Path] | None:
    if not params.get("real"):
        return None
    reader, _, relative = params["real"].partition(":")
    folder = data.resolve(relative)  # refuses absolute paths, '..', and missing folders
    if not folder.is_dir():
        raise JobError(f"real data {relative!r} is not a folder")
    return reader, folder


def _options(params: dict[str, Any], out: Path, real: tuple[str, Path] | None) -> Any:
    from mmexpert.flywheel.recipe import RunOptions

    return RunOptions(
        scenario=params["scenario"],
        radar=params["radar"],
        count=params["count"],
        out=out,
        model=params["model"],
        epochs=params["epochs"],
        real=real,
        classes=params["classes"],
        llm=params["llm"],
        encoder=params["encoder"],
        paraphrases=params["paraphrases"],
        seed=params["seed"],
        ensemble=params["ensemble"],
        adapt=params["adapt"],
        window_s=params["window_s"],
        num_frames=params["num_frames"],
        test_fraction=params["test_fraction"],
        workers=params["workers"],
        executor=params["executor"],
        progress=False,
    )


def check_run_paths(params: dict[str, Any], data: DataRoot) -> dict[str, Any]:
    """Resolve the real-data folder and the named run folder inside the data folder, then
    run the recipe's own checks (model against the data, reader, numbers).

    Raises
    ------
    JobError
        For a real-data folder that is absolute, climbs out (``..``), is missing or is not a
        folder; a run name whose folder would lie outside; or settings the recipe refuses.
    """
    from mmexpert.flywheel.recipe import RecipeError, check_options

    try:
        real = _real_path(params, data)
    except PathRefusedError as error:
        raise JobError(f"real: {error}") from None
    try:
        # Without a name the folder is made inside the job folder, known only at start.
        out = run_folder(params, data, data.root / "runs" / "unnamed")
    except PathRefusedError as error:
        raise JobError(f"name: {error}") from None
    try:
        check_options(_options(params, out, real))
    except RecipeError as error:
        raise JobError(str(error)) from None
    return params


# --------------------------------------------------------------------------- the job
def _terminate(process: subprocess.Popen[str]) -> None:
    """Stop the child and its process group: SIGTERM, then SIGKILL after a grace time."""
    if process.poll() is not None:
        return
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return

        def kill_later() -> None:
            try:
                process.wait(TERMINATE_GRACE_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)

        threading.Thread(target=kill_later, daemon=True).start()
    else:  # no process groups: the child alone
        process.terminate()


def _stage_of(line: str) -> str | None:
    for stage in STAGE_PROGRESS:
        if line.startswith(f"{stage} ") and line[len(stage) + 1 : len(stage) + 2].isdigit():
            return stage
    return None


def _stderr_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def run_recipe_job(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Run (or resume) the recipe in a child process; log lines go to the job log.

    Returns
    -------
    dict
        ``run_folder``, ``report`` (``report.md``), ``results`` (``results.json``) and
        ``images`` (the PNGs beside the report), paths relative to the data folder.

    Raises
    ------
    JobCancelled
        When the job was cancelled (the child was terminated).
    RuntimeError
        When the recipe refused its settings or failed (its message; the child's stderr
        tail for a crash).
    """
    data = context.data
    if data is None:
        raise RuntimeError("the run job needs the data folder")
    out = run_folder(params, data, context.folder)
    real = _real_path(params, data)
    context.folder.mkdir(parents=True, exist_ok=True)
    options = dataclasses.asdict(_options(params, out, real))
    options["out"] = str(out)
    options["real"] = [real[0], str(real[1])] if real else None
    request = {"options": options}
    request_path = context.folder / REQUEST_FILE
    request_path.write_text(json.dumps(request, indent=1) + "\n", encoding="utf-8")
    stderr_path = context.folder / STDERR_FILE
    context.progress(0.0, f"planning {params['count']} samples into {data.relative(out)}")
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with stderr_path.open("ab") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "mmexpert.web.recipe_worker", str(request_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=os.name == "posix",
            env=environment,
        )
    context.on_cancel(lambda: _terminate(process))
    report: str | None = None
    error: str | None = None
    try:
        context.progress(0.0, f"recipe process {process.pid} started", process=process.pid)
        for raw in process.stdout or ():
            try:
                event = json.loads(raw)
            except json.JSONDecodeError:
                continue  # not a protocol line
            if not isinstance(event, dict):
                continue
            if "log" in event:
                line = str(event["log"]).rstrip()
                stage = _stage_of(line)
                fraction = STAGE_PROGRESS.get(stage) if stage else None
                context.progress(fraction, line)
            elif "report" in event:
                report = str(event["report"])
            elif "error" in event:
                error = str(event["error"])
    except JobCancelled:
        _terminate(process)
        raise
    finally:
        try:
            returncode = process.wait(EXIT_WAIT_S)
        except subprocess.TimeoutExpired:  # closed its stdout but hangs: stop it
            _terminate(process)
            returncode = process.wait()
        if process.stdin is not None:
            process.stdin.close()
    if context.cancel_requested:
        raise JobCancelled("cancelled on request")
    if error is not None:
        raise RuntimeError(error)
    if returncode != 0 or report is None:
        raise RuntimeError(
            f"the recipe process ended with status {returncode}:\n{_stderr_tail(stderr_path)}"
        )
    report_path = Path(report)
    images = sorted(path.name for path in out.glob("*.png"))
    folder = data.relative(out)
    context.progress(1.0, f"report: {folder}/{report_path.name}")
    return {
        "run_folder": folder,
        "report": f"{folder}/{report_path.name}",
        "results": f"{folder}/results.json",
        "images": [f"{folder}/{name}" for name in images],
    }


RUN = register(
    JobKind(
        name="run",
        check=check_run,
        run=run_recipe_job,
        description="the whole recipe: plan, generate, train, evaluate, report",
        check_paths=check_run_paths,
    )
)
