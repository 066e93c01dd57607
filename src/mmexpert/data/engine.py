"""The dataset engine: a plan of :class:`~mmexpert.plan.spec.SampleSpec` to a stored dataset.

Each spec is simulated (:func:`~mmexpert.data.simulation.simulate_person` with the mmExpert
map sizes), turned into a sample (:func:`~mmexpert.data.samples.make_sample`) and written as
one atomic sample file by a worker; the parent process alone records the returned
:class:`~mmexpert.data.store_files.SampleRecord` in the manifest (the store's single-writer
rule). Executors:

* ``"serial"``: everything in this process (debugging, tiny plans);
* ``"process"``: a local ``ProcessPoolExecutor`` (spawned workers: they inherit neither the
  store's writer lock nor a forked copy of the parent's threads);
* ``"ray"``: the same job as Ray tasks, on a local Ray instance or a cluster
  (``ray.init(address=...)``).

All three produce byte-identical sample files for the same specs, radar and options: the
sample id and every random number derive from the spec, never from the executor or order.
A rerun skips recorded samples; a run killed at any moment resumes with every sample
stored exactly once (the store's recovery adopts finished but unrecorded files).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from mmexpert.data.samples import generator_code_hash, make_sample, spec_sample_id
from mmexpert.data.simulation import room_from_spec, simulate_person
from mmexpert.data.store import DatasetStore
from mmexpert.data.store_files import SampleFileWriter, SampleRecord
from mmexpert.data.store_schema import DatasetSchema, StoreError, radar_schema
from mmexpert.dsp.chain import MMEXPERT_VIEWS, ProcessingChain
from mmexpert.plan.spec import SampleSpec
from mmexpert.radar.config import RadarConfig

Executor = Literal["serial", "process", "ray"]
EXECUTORS: tuple[str, ...] = ("serial", "process", "ray")


class EngineError(Exception):
    """The engine cannot start: bad plan file, bad executor, unusable output folder."""


class PlanFileError(EngineError):
    """A plan file is unreadable or one of its entries is not a valid SampleSpec."""


class GenerationInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`generate`: every sample recorded before it is kept (the store is
    closed cleanly), and the same call again resumes. ``report`` says how far it got."""

    def __init__(self, report: GenerationReport, out_dir: str | os.PathLike[str]) -> None:
        super().__init__(report.interrupted_summary(out_dir))
        self.report = report


@dataclass
class GenerationReport:
    """What one :func:`generate` call did.

    Attributes
    ----------
    requested
        Specs in the plan.
    generated
        Sample ids written and recorded by this run.
    skipped
        Sample ids already recorded (earlier run) or repeated in the plan.
    adopted
        Sample ids whose finished files an interrupted run left unrecorded, recorded by the
        store's recovery when this run opened it.
    failed
        ``(spec index, sample id, error message)`` for specs that failed; the rest still ran.
    retried
        Sample ids re-run (one at a time) because a worker process died while they were
        pending; a sample that kills its worker alone is reported in ``failed``.
    wall_s
        Run time including executor start-up [s].
    startup_s
        Executor start-up time (process pool spawn or ``ray.init``) [s].
    sample_s
        Worker time per generated sample (simulate, build, write) [s], in completion order.
    executor, workers
        How the run was executed.
    """

    requested: int = 0
    generated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    failed: list[tuple[int, str, str]] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    startup_s: float = 0.0
    sample_s: list[float] = field(default_factory=list)
    executor: str = "serial"
    workers: int = 1

    @property
    def samples_per_s(self) -> float:
        """Generated samples per wall-clock second [1/s] (0 when nothing was generated)."""
        return len(self.generated) / self.wall_s if self.wall_s > 0 and self.generated else 0.0

    @property
    def ok(self) -> bool:
        """True when no spec failed."""
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (counts, timings, failures)."""
        return {
            "requested": self.requested,
            "generated": len(self.generated),
            "skipped": len(self.skipped),
            "adopted": len(self.adopted),
            "retried": len(self.retried),
            "failed": [
                {"index": index, "sample_id": sample_id, "error": message}
                for index, sample_id, message in self.failed
            ],
            "executor": self.executor,
            "workers": self.workers,
            "wall_s": round(self.wall_s, 3),
            "startup_s": round(self.startup_s, 3),
            "mean_sample_s": (
                round(sum(self.sample_s) / len(self.sample_s), 3) if self.sample_s else None
            ),
            "samples_per_s": round(self.samples_per_s, 4),
        }

    def summary(self) -> str:
        """Human-readable lines for ``mmexpert generate``."""
        lines = [
            f"generated {len(self.generated)}, skipped {len(self.skipped)} (already present), "
            f"adopted {len(self.adopted)}, retried {len(self.retried)}, failed {len(self.failed)} "
            f"of {self.requested} specs",
            f"{self.executor} executor, {self.workers} worker(s): {self.wall_s:.1f} s "
            f"(start-up {self.startup_s:.1f} s), {self.samples_per_s:.3f} samples/s",
        ]
        lines += [
            f"failed spec {index} ({sample_id}): {msg}" for index, sample_id, msg in self.failed
        ]
        return "\n".join(lines)

    def interrupted_summary(self, out_dir: str | os.PathLike[str]) -> str:
        """What an interrupted run kept, and how to go on."""
        stored = len(self.generated) + len(self.skipped)
        return (
            f"stopped by Ctrl-C after {self.wall_s:.0f} s: {len(self.generated)} new samples "
            f"recorded in {out_dir}, {stored} of {self.requested} specs stored in all (clips the "
            "workers had begun are finished and taken in by the next run); run the same "
            "command again to resume"
        )


# --------------------------------------------------------------------------- plan files


def load_specs(path: str | os.PathLike[str]) -> list[SampleSpec]:
    """Read a plan file: a JSON list of SampleSpec, or an object with a ``samples`` list.

    Parameters
    ----------
    path
        The ``.json`` plan file.

    Returns
    -------
    list[SampleSpec]
        The validated specs, in file order.

    Raises
    ------
    PlanFileError
        If the file is unreadable, not JSON, has the wrong shape, or an entry fails
        validation (the message names the entry index, its activity and the field).
    """
    plan_path = Path(path)
    try:
        data = json.loads(plan_path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PlanFileError(f"cannot read plan file {plan_path}: {error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PlanFileError(f"plan file {plan_path} is not valid JSON: {error}") from None
    entries = data.get("samples") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise PlanFileError(
            f"plan file {plan_path} must hold a JSON list of sample specs or an object with a "
            f"'samples' list, got {type(data).__name__}"
            + (f" with keys {sorted(data)}" if isinstance(data, dict) else "")
        )
    if not entries:
        raise PlanFileError(f"plan file {plan_path} holds no sample specs")
    specs = []
    for index, entry in enumerate(entries):
        label = f"entry {index}"
        if isinstance(entry, dict) and isinstance(entry.get("activity"), str):
            label += f" (activity {entry['activity']!r})"
        if not isinstance(entry, dict):
            raise PlanFileError(
                f"plan file {plan_path}: {label} must be a JSON object, got {type(entry).__name__}"
            )
        try:
            specs.append(SampleSpec.model_validate(entry))
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in item['loc']) or 'spec'}: "
                f"{item['msg'].removeprefix('Value error, ')}"
                for item in error.errors()
            )
            raise PlanFileError(f"plan file {plan_path}: {label} is invalid: {problems}") from None
    return specs


# --------------------------------------------------------------------------- the worker side


@dataclass(frozen=True)
class _Task:
    """One unit of work, plain data so that it pickles cheaply for processes and Ray."""

    index: int
    sample_id: str
    spec_json: str
    radar_json: str
    store_root: str
    schema: dict[str, Any]
    options: dict[str, Any]
    code_hash: str  # the parent's generator_code_hash: workers must run the same code


@dataclass(frozen=True)
class _Outcome:
    index: int
    sample_id: str
    record: SampleRecord | None
    error: str | None
    worker_s: float
    retried: bool = False  # re-run after a worker process died


def _run_task(task: _Task) -> _Outcome:
    """Simulate, build and write one sample; never raises (failures become outcomes)."""
    started = time.perf_counter()
    try:
        if generator_code_hash() != task.code_hash:
            raise EngineError(
                f"the generator source code changed while the run was going (parent "
                f"{task.code_hash}, worker {generator_code_hash()}); rerun to generate the "
                "remaining samples with one code version"
            )
        spec = SampleSpec.model_validate_json(task.spec_json)
        radar = RadarConfig.from_dict(json.loads(task.radar_json))
        products = simulate_person(
            radar,
            spec.program,
            seed=spec.seed,
            num_frames=task.options.get("num_frames"),
            mount_height_m=spec.scene.mount_height_m,
            tilt_rad=spec.scene.tilt_rad,
            noise_figure_offset_db=spec.scene.noise_figure_offset_db,
            room=room_from_spec(spec.scene.room, spec.seed),
            keep_adc=bool(task.options.get("keep_adc", False)),
            chain=ProcessingChain(MMEXPERT_VIEWS),
        )
        sample = make_sample(spec, radar, products, options=task.options)
        if sample.sample_id != task.sample_id:
            raise EngineError(
                f"worker derived sample id {sample.sample_id}, the parent {task.sample_id} "
                "(different code versions in parent and worker?)"
            )
        writer = SampleFileWriter(task.store_root, DatasetSchema.from_dict(task.schema))
        record = writer(sample)
        return _Outcome(task.index, task.sample_id, record, None, time.perf_counter() - started)
    except Exception as error:  # one bad spec must not kill the run
        message = f"{type(error).__name__}: {error}"
        if not isinstance(error, ValueError | StoreError | EngineError):
            message += "\n" + traceback.format_exc(limit=6)
        return _Outcome(task.index, task.sample_id, None, message, time.perf_counter() - started)


# --------------------------------------------------------------------------- executors


def _run_serial(
    tasks: Sequence[_Task], workers: int, ray_address: str | None
) -> Iterator[_Outcome]:
    for task in tasks:
        yield _run_task(task)


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """One BLAS/OpenMP thread per pool worker (as Ray does), unless the user set a count.

    Each worker is one process per core; extra library threads would only oversubscribe the
    cores. Spawned workers read the environment at start-up, so it is set while they start.
    """
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    for name, value in saved.items():
        if value is None:
            os.environ[name] = "1"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)


_TASK_RUNNING = threading.Lock()  # held by a pool worker while it simulates a clip
_ORPHANED = threading.Event()  # set in a pool worker once its parent process is gone


def _exit_with_parent() -> None:
    """Pool-worker initializer: leave once the parent process is gone.

    A worker whose parent was killed (SIGKILL, out of memory) would otherwise wait on its
    task queue forever, holding its memory: it holds both ends of the queue's pipe, so it
    never reads an end of file. A thread waits on the parent's sentinel, lets a begun clip
    finish (the next run's recovery adopts its file) and exits.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        _ORPHANED.set()
        with _TASK_RUNNING:
            os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _run_pooled_task(task: _Task) -> _Outcome:
    """:func:`_run_task` in a pool worker: no new clip is begun once the parent is gone."""
    with _TASK_RUNNING:
        if _ORPHANED.is_set():
            os._exit(0)
        return _run_task(task)


class _Pool:
    """A spawn-context process pool that can be rebuilt after a worker process died."""

    def __init__(self, workers: int) -> None:
        # spawn: workers must not inherit the parent's store lock descriptor (a fork would
        # keep the lock alive in orphaned workers after the parent is killed).
        self.workers = workers
        self.context = multiprocessing.get_context("spawn")
        self.executor = self._executor()

    def _executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers, mp_context=self.context, initializer=_exit_with_parent
        )

    def rebuild(self) -> None:
        self.close()
        self.executor = self._executor()

    def close(self) -> None:
        # On Ctrl-C or an error, drop queued tasks instead of finishing them first.
        self.executor.shutdown(wait=True, cancel_futures=True)


def _run_process(
    tasks: Sequence[_Task], workers: int, ray_address: str | None
) -> Iterator[_Outcome]:
    """Run tasks on a local process pool; if a worker process dies, find the culprit.

    A dead worker (killed, out of memory, a crash in native code) breaks the whole pool and
    fails every pending task. The pool is rebuilt and those tasks are retried one at a time:
    a task that kills its worker again on its own is reported failed; the others run.
    """
    with _single_threaded_children():
        pool = _Pool(workers)
        try:
            pending: dict[Future[_Outcome], _Task] = {}
            queue = list(reversed(tasks))
            suspects: list[_Task] = []
            while queue or pending or suspects:
                if suspects:
                    task = suspects.pop()
                    try:
                        outcome = pool.executor.submit(_run_pooled_task, task).result()
                        yield dataclasses.replace(outcome, retried=True)
                    except BrokenProcessPool as error:
                        yield _Outcome(
                            task.index,
                            task.sample_id,
                            None,
                            f"its worker process died twice, the second time alone: {error}",
                            0.0,
                            retried=True,
                        )
                        pool.rebuild()
                    continue
                # Bounded submission keeps the call queue short: a killed run loses little.
                while queue and len(pending) < 2 * workers:
                    task = queue.pop()
                    pending[pool.executor.submit(_run_pooled_task, task)] = task
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task = pending.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        suspects.append(task)
                    except Exception as error:  # e.g. a result that does not unpickle
                        yield _Outcome(
                            task.index, task.sample_id, None, f"worker failed: {error!r}", 0.0
                        )
                if suspects:  # the pool is gone: every pending task fails with it
                    suspects.extend(pending.values())
                    suspects.sort(key=lambda item: -item.index)
                    pending.clear()
                    pool.rebuild()
        except KeyboardInterrupt:  # Ctrl-C landed here, in wait(): closing the pool waits
            if pending:
                _say_finishing(min(workers, len(pending)))
            raise
        finally:
            pool.close()


def _say_finishing(begun: int) -> None:
    """Tell a Ctrl-C'd user at once why the exit takes a while."""
    print(
        f"\nCtrl-C: letting the workers finish the clips they have begun (up to {begun}); "
        "the next run takes them in",
        file=sys.stderr,
        flush=True,
    )


def _run_ray(tasks: Sequence[_Task], workers: int, ray_address: str | None) -> Iterator[_Outcome]:
    try:
        import ray
    except ImportError as error:
        raise EngineError(
            "the ray executor needs the 'ray' package (pip install -c constraints.txt ray)"
        ) from error
    started_here = not ray.is_initialized()
    if started_here:
        init_options: dict[str, Any] = {
            "address": ray_address,
            "include_dashboard": False,
            "log_to_driver": False,
            "configure_logging": False,
        }
        if ray_address is None:
            init_options["num_cpus"] = workers
        ray.init(**init_options)
    try:
        remote_task = ray.remote(num_cpus=1, max_retries=0)(_run_task)
        pending: dict[Any, _Task] = {}
        queue = list(reversed(tasks))
        while queue or pending:
            while queue and len(pending) < 2 * workers:
                task = queue.pop()
                pending[remote_task.remote(task)] = task
            done, _ = ray.wait(list(pending), num_returns=1)
            for reference in done:
                task = pending.pop(reference)
                try:
                    yield ray.get(reference)
                except Exception as error:  # worker died or the cluster lost the task
                    yield _Outcome(
                        task.index, task.sample_id, None, f"ray task failed: {error}", 0.0
                    )
    finally:
        if started_here:
            ray.shutdown()


_EXECUTORS: dict[str, Callable[[Sequence[_Task], int, str | None], Iterator[_Outcome]]] = {
    "serial": _run_serial,
    "process": _run_process,
    "ray": _run_ray,
}


# --------------------------------------------------------------------------- the engine


def generate(
    specs: Sequence[SampleSpec],
    radar: RadarConfig,
    out_dir: str | os.PathLike[str],
    executor: Executor = "process",
    workers: int = 2,
    ray_address: str | None = None,
    progress: bool = True,
    num_frames: int | None = None,
    keep_adc: bool = False,
    on_sample: Callable[[str, bool], None] | None = None,
) -> GenerationReport:
    """Simulate every spec and store it; skip samples already present.

    Parameters
    ----------
    specs
        The plan (see :func:`load_specs`).
    radar
        The radar every sample is simulated with.
    out_dir
        Dataset store folder; created with :func:`~mmexpert.data.store_schema.radar_schema`
        if absent, resumed if present.
    executor
        ``"process"`` (local process pool), ``"ray"`` or ``"serial"``.
    workers
        Parallel workers (process pool size; Ray CPUs when starting a local Ray).
    ray_address
        Ray cluster address for ``executor="ray"`` (None starts a local instance).
    progress
        Show a rich progress bar with ETA on stderr.
    num_frames
        Radar frames per sample; default: the duration of each motion program. Part of
        the sample id.
    keep_adc
        Also store the raw ADC cube (large: about 1 MB per frame). Part of the sample id.
    on_sample
        Called in the calling thread as ``on_sample(sample_id, stored)`` after each sample is
        recorded (``stored`` True) or has failed. An exception it raises stops the run like
        Ctrl-C: queued samples are dropped, every recorded one stays, and a rerun resumes.

    Returns
    -------
    GenerationReport
        Generated, skipped and failed specs with timings.

    Raises
    ------
    EngineError
        For an unknown executor, ``workers < 1`` or a folder holding another kind of store.
    GenerationInterrupted
        On Ctrl-C (a KeyboardInterrupt), after the samples recorded so far are kept.
    """
    if executor not in _EXECUTORS:
        raise EngineError(f"unknown executor {executor!r}; choose one of {list(EXECUTORS)}")
    if workers < 1:
        raise EngineError(f"workers must be >= 1, got {workers}")
    if num_frames is not None and num_frames < 1:
        raise EngineError(f"num_frames must be >= 1, got {num_frames}")
    started = time.perf_counter()
    options: dict[str, Any] = {"num_frames": num_frames, "keep_adc": bool(keep_adc)}
    report = GenerationReport(requested=len(specs), executor=executor, workers=workers)
    try:
        store = DatasetStore.create(out_dir, radar_schema(), exist_ok=True)
    except StoreError as error:
        raise EngineError(f"cannot open dataset store {out_dir}: {error}") from error
    with store:
        report.adopted = list(store.last_recovery.adopted)
        radar_json = json.dumps(radar.to_dict())
        schema = store.schema.to_dict()
        tasks: list[_Task] = []
        seen: set[str] = set()
        for index, spec in enumerate(specs):
            sample_id = spec_sample_id(spec, radar, options)
            if sample_id in seen or store.has(sample_id):
                report.skipped.append(sample_id)
                continue
            seen.add(sample_id)
            tasks.append(
                _Task(
                    index=index,
                    sample_id=sample_id,
                    spec_json=spec.model_dump_json(),
                    radar_json=radar_json,
                    store_root=str(Path(out_dir)),
                    schema=schema,
                    options=options,
                    code_hash=generator_code_hash(),
                )
            )
        effective_workers = max(1, min(workers, len(tasks))) if executor != "serial" else 1
        report.workers = effective_workers
        # a generator either way: closing it shuts the pool down when the loop is left early
        outcomes = (
            _EXECUTORS[executor](tasks, effective_workers, ray_address)
            if tasks
            else (outcome for outcome in ())
        )
        with (
            _progress_bar(progress, len(tasks), executor) as advance,
            contextlib.closing(outcomes),
        ):
            try:
                _record_outcomes(outcomes, store, report, advance, on_sample, started)
            except KeyboardInterrupt:
                report.wall_s = time.perf_counter() - started
                begun = len(tasks) - len(report.generated) - len(report.failed)
                suspended = inspect.getgeneratorstate(outcomes) == inspect.GEN_SUSPENDED
                if executor == "process" and suspended and begun > 0:
                    _say_finishing(min(effective_workers, begun))  # closing the pool waits
                raise GenerationInterrupted(report, out_dir) from None
    report.wall_s = time.perf_counter() - started
    return report


def _record_outcomes(
    outcomes: Iterable[_Outcome],
    store: DatasetStore,
    report: GenerationReport,
    advance: Callable[[bool], None],
    on_sample: Callable[[str, bool], None] | None,
    started: float,
) -> None:
    """Record each finished sample as it arrives, so that an interruption loses none."""
    first = True
    for outcome in outcomes:
        if first:
            report.startup_s = max(0.0, time.perf_counter() - started - outcome.worker_s)
            first = False
        if outcome.retried:
            report.retried.append(outcome.sample_id)
        if outcome.record is not None:
            store.record(outcome.record)
            report.generated.append(outcome.sample_id)
            report.sample_s.append(outcome.worker_s)
        else:
            report.failed.append((outcome.index, outcome.sample_id, outcome.error or ""))
        advance(outcome.record is not None)
        if on_sample is not None:
            on_sample(outcome.sample_id, outcome.record is not None)


class _progress_bar:  # noqa: N801 (used as a context manager like a function)
    """A rich progress bar with ETA, or a no-op; yields ``advance(succeeded)``."""

    def __init__(self, enabled: bool, total: int, executor: str) -> None:
        self.enabled = enabled and total > 0
        self.total = total
        self.executor = executor
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Callable[[bool], None]:
        if not self.enabled:
            return lambda succeeded: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]generate[/] ({task.fields[executor]})"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._progress.start()
        self._task = self._progress.add_task(
            "generate", total=self.total, executor=self.executor, failed=0
        )
        failed = [0]

        def advance(succeeded: bool) -> None:
            if not succeeded:
                failed[0] += 1
            self._progress.update(self._task, advance=1, failed=failed[0])

        return advance

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()
