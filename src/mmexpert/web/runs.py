"""The job kinds the dashboard can start, and read-only views of flywheel run folders.

``generate``: a scenario sentence -> :func:`~mmexpert.plan.make_plan` -> the dataset engine
(:func:`~mmexpert.data.engine.generate`), written into the job folder as ``store/`` with its
plan ``store.plan.json`` and LLM response cache ``store.llm_cache.sqlite`` beside it (the
layout of ``mmexpert generate --scenario``). Progress is the number of samples recorded in
the store's manifest, read while the engine runs.

``flywheel``: :func:`~mmexpert.flywheel.run_flywheel` into ``flywheel/`` of the job folder;
progress is the fraction of round phases done, and the page draws the accuracy per round
and the confusion matrices from the run's saved JSON (:mod:`mmexpert.web.flywheel_view`).

Cancelling (see :mod:`mmexpert.web.jobs`): both kinds run in the job's thread and stop at
their next progress report after a cancel. A flywheel reports (logs) every step, so it stops
soon; a generation checks after every sample the engine stores (its ``on_sample``
callback), so the samples in flight finish and the rest are dropped. The ``run`` kind
(:mod:`mmexpert.web.recipe_job`) runs in a child process and stops at once.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from mmexpert.web.jobs import JobContext, JobError, JobKind, register

MAX_SCENARIO_CHARS = 2000
MAX_COUNT = 500  # samples per dashboard run (bigger runs belong on the command line)
MAX_FRAMES = 2000
PROGRESS_POLL_S = 0.3
PLAN_SHARE = 0.1  # progress fraction given to planning


def _integer(params: dict[str, Any], name: str, default: int | None, low: int, high: int) -> Any:
    value = params.get(name, default)
    if value is None or value == "":
        if default is None:
            return None
        value = default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise JobError(f"{name} must be an integer, got {value!r}") from None
    if not low <= number <= high:
        raise JobError(f"{name} must be in [{low}, {high}], got {number}")
    return number


def _choice(params: dict[str, Any], name: str, default: str, choices: list[str]) -> str:
    value = str(params.get(name) or default)
    if value not in choices:
        raise JobError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_generate(params: dict[str, Any]) -> dict[str, Any]:
    """Validate the parameters of a generation run.

    Parameters (all but ``scenario`` optional)
    ------------------------------------------
    scenario : str, 3..2000 characters
    count : int in [1, 500], default 8
    radar : a preset name, default ``iwr1843-udoppler``
    llm : an LLM backend name, default ``local`` (the embedded SmolLM2)
    encoder : ``minilm`` (default) or ``ngram``
    seed : int >= 0
    num_frames : radar frames per sample, default the motion's duration
    executor : ``process`` (default) or ``serial``; workers : 1..8
    """
    from mmexpert.llm import list_backends
    from mmexpert.plan import ENCODERS
    from mmexpert.radar.presets import list_presets

    scenario = str(params.get("scenario") or "").strip()
    if not 3 <= len(scenario) <= MAX_SCENARIO_CHARS:
        raise JobError(f"scenario must hold 3 to {MAX_SCENARIO_CHARS} characters")
    return {
        "scenario": scenario,
        "count": _integer(params, "count", 8, 1, MAX_COUNT),
        "radar": _choice(params, "radar", "iwr1843-udoppler", list_presets()),
        "llm": _choice(params, "llm", "local", list_backends()),
        "encoder": _choice(params, "encoder", "minilm", sorted(ENCODERS)),
        "seed": _integer(params, "seed", 0, 0, 2**31 - 1),
        "num_frames": _integer(params, "num_frames", None, 1, MAX_FRAMES),
        "executor": _choice(params, "executor", "process", ["process", "serial"]),
        "workers": _integer(params, "workers", 2, 1, 8),
    }


def _recorded(store_dir: Path) -> int | None:
    """Samples recorded in the store's manifest so far (None before the store exists)."""
    from mmexpert.data.store import DatasetStore
    from mmexpert.data.store_schema import StoreError

    try:
        with DatasetStore.open(store_dir, mode="r") as store:
            return len(store)
    except (StoreError, OSError, ValueError):
        return None
    except Exception:  # a manifest mid-creation can raise sqlite errors; try again later
        return None


def run_generate(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Plan (or reuse the saved plan) and generate the dataset into the job folder."""
    from mmexpert.data.engine import generate, load_specs
    from mmexpert.llm import make_backend
    from mmexpert.plan import make_encoder, make_plan, save_plan
    from mmexpert.radar.presets import load_radar

    store_dir = context.folder / "store"
    plan_path = context.folder / "store.plan.json"
    if plan_path.is_file():
        context.progress(PLAN_SHARE, f"reusing the saved plan {plan_path.name}")
    else:
        context.progress(0.0, f"planning {params['count']} samples with LLM {params['llm']}")
        llm = make_backend(params["llm"], cache=context.folder / "store.llm_cache.sqlite")
        plan = make_plan(
            params["scenario"],
            params["count"],
            llm,
            seed=params["seed"],
            encoder=make_encoder(params["encoder"]),
            progress=False,
        )
        save_plan(plan, plan_path)
        activities = sorted({spec.activity for spec in plan.samples})
        context.progress(
            PLAN_SHARE, f"planned {len(plan.samples)} samples: {', '.join(activities)}"
        )
    specs = load_specs(plan_path)
    radar = load_radar(params["radar"])
    before = _recorded(store_dir) or 0
    finished = threading.Event()

    def watch() -> None:
        last = -1
        while not finished.wait(PROGRESS_POLL_S):
            done = _recorded(store_dir)
            if done is not None and done != last:
                last = done
                context.progress(
                    PLAN_SHARE + (1.0 - PLAN_SHARE) * min(done, len(specs)) / len(specs),
                    f"{done} of {len(specs)} samples stored",
                    stored=done,
                    total=len(specs),
                )

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        report = generate(
            specs,
            radar,
            store_dir,
            executor=params["executor"],
            workers=params["workers"],
            progress=False,
            num_frames=params["num_frames"],
            on_sample=lambda sample_id, stored: context.check_cancelled(),
        )
    finally:
        finished.set()
        watcher.join()
    summary = report.to_dict()
    stored = _recorded(store_dir) or 0
    context.progress(
        1.0,
        f"{stored} of {len(specs)} samples stored ({stored - before} new), "
        f"{len(report.failed)} failed",
        stored=stored,
        total=len(specs),
    )
    (context.folder / "generation_report.json").write_text(json.dumps(summary, indent=1) + "\n")
    if report.failed:
        first = report.failed[0][2].splitlines()[0]
        raise RuntimeError(f"{len(report.failed)} of {len(specs)} samples failed; first: {first}")
    return {"store": "store", "plan": plan_path.name, "report": summary}


GENERATE = register(
    JobKind(
        name="generate",
        check=check_generate,
        run=run_generate,
        description="plan a scenario and simulate its dataset",
    )
)


# --------------------------------------------------------------------------- flywheel
MAX_ROUNDS = 20
FLYWHEEL_PHASES = 5  # planned, generated, trained, evaluated, revised


def _number(params: dict[str, Any], name: str, default: float | None, low: float, high: float):
    value = params.get(name, default)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise JobError(f"{name} must be a number, got {value!r}") from None
    if not low <= number <= high:
        raise JobError(f"{name} must be in [{low}, {high}], got {number}")
    return number


def check_flywheel(params: dict[str, Any]) -> dict[str, Any]:
    """Validate the parameters of a flywheel run (see
    :class:`~mmexpert.flywheel.FlywheelConfig`): ``scenario``, ``rounds`` (1..20),
    ``count`` per round, ``radar``, ``model``, ``epochs``, ``llm``, ``encoder``, ``target``,
    ``patience``, ``clip_s``, ``window_s``, ``seed``, ``executor``, ``workers``."""
    from mmexpert.models.registry import list_models

    base = check_generate({**params, "count": params.get("count", 30)})
    checked = {
        "scenario": base["scenario"],
        "rounds": _integer(params, "rounds", 3, 1, MAX_ROUNDS),
        "count": base["count"],
        "radar": _choice(params, "radar", "iwr1443-radhar", _presets()),
        "model": _choice(params, "model", "classifier-cnn-tiny", list_models()),
        "epochs": _integer(params, "epochs", 8, 1, 200),
        "llm": base["llm"],
        "encoder": base["encoder"],
        "target": _number(params, "target", 0.95, 0.01, 1.0),
        "patience": _integer(params, "patience", 2, 1, MAX_ROUNDS),
        "seed": base["seed"],
        "clip_s": _number(params, "clip_s", None, 0.05, 60.0),
        "window_s": _number(params, "window_s", 2.0, 0.05, 60.0),
        "executor": base["executor"],
        "workers": base["workers"],
    }
    for name in ("val_count", "batch_size", "paraphrases", "describe_per_class"):
        if params.get(name) not in (None, ""):
            checked[name] = _integer(params, name, None, 0 if name != "batch_size" else 1, 1000)
    from mmexpert.flywheel import FlywheelConfig, FlywheelError

    try:
        FlywheelConfig(**checked).check()
    except FlywheelError as error:
        raise JobError(str(error)) from None
    return checked


def _presets() -> list[str]:
    from mmexpert.radar.presets import list_presets

    return list_presets()


def run_flywheel_job(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Run (or resume) a flywheel in ``flywheel/`` of the job folder."""
    from mmexpert.flywheel import FlywheelConfig, run_flywheel
    from mmexpert.flywheel.state import PHASES

    config = FlywheelConfig(**params)
    total = config.rounds * FLYWHEEL_PHASES

    def after_phase(round_index: int, phase: str) -> None:
        done = round_index * FLYWHEEL_PHASES + PHASES.index(phase) + 1
        context.progress(done / total, f"round {round_index}: {phase}", round=round_index)

    index = run_flywheel(
        config,
        context.folder / "flywheel",
        progress=False,
        log=lambda line: context.progress(None, line.strip()),
        after_phase=after_phase,
    )
    return {"flywheel": "flywheel", "stop_reason": index.stop_reason, "rounds": len(index.rounds)}


FLYWHEEL = register(
    JobKind(
        name="flywheel",
        check=check_flywheel,
        run=run_flywheel_job,
        description="rounds of plan, generate, train, evaluate and revise",
    )
)
