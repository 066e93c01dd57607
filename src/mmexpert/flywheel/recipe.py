"""The one-shot recipe behind ``mmexpert run``: plan, generate, split, train, evaluate, report.

Layout of the run folder ``OUT`` (every stage resumes from what is there)::

    run_settings.json       radar and clip length the store was made with (fixed per folder)
    plan.json               the plan (reused when present)
    llm_cache.sqlite        every LLM reply of the planner
    store/                  the dataset store (the engine skips stored samples)
    train/                  checkpoint and model/ (training resumes from its checkpoint)
    training_curve.png, confusion_synthetic.png, confusion_real.png
    report.md, results.json

Use::

    from mmexpert.flywheel.recipe import RecipeError, RunOptions, run_recipe

    report = run_recipe(RunOptions(scenario="jumping jacks and squats",
                                   radar="iwr1443-radhar", count=40, out=Path("runs/a")),
                        log=print)

Nothing here exits the process: a problem raises :class:`RecipeError` whose message names it,
and progress lines go to the ``log`` callable the caller gives (default: stderr).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

Log = Callable[[str], None]

DEFAULT_MODEL = "classifier-vit-tiny"  # micro-Doppler classifier for synthetic-only runs
DEFAULT_REAL_MODEL = "classifier-points-tiny"  # real TI captures are point clouds
RUN_SETTINGS_FILE = "run_settings.json"  # what shapes the stored data; fixed per run folder
EVAL_REAL_FOLDER = "eval-real"  # default output folder of evaluate_real_folder, by the model


class RecipeError(ValueError):
    """The recipe cannot start or go on; the message names the problem (and the remedy)."""


def log_to_stderr(message: str) -> None:
    """The default ``log``: one line on stderr."""
    print(message, file=sys.stderr, flush=True)


@dataclass
class RunOptions:
    """The settings of one recipe run (``mmexpert run`` has one option per field)."""

    scenario: str  # the application, in a sentence
    radar: str  # preset name or TI .cfg path
    count: int  # synthetic samples to plan (>= 2: one to train on, one held out)
    out: Path  # run folder (created or resumed)
    model: str | None = None  # None: DEFAULT_REAL_MODEL with real data, else DEFAULT_MODEL
    epochs: int = 20  # training epochs
    real: tuple[str, Path] | None = None  # (reader, folder) of labelled real recordings
    layout: str = "xwr16xx"  # DCA1000 LVDS sample order of raw captures (xwr16xx, xwr14xx)
    classes: dict[str, str] | None = None  # real folder -> class name (None: folder names)
    llm: str = "local"  # planner LLM backend (the embedded SmolLM2 by default)
    encoder: str = "minilm"  # planner sentence encoder ("ngram": lexical, no model load)
    paraphrases: int = 2  # LLM paraphrases asked per planned sample (0: captions only)
    noise_figure_span_db: tuple[float, float] | None = None  # None: the planner's default
    distance_span_m: tuple[float, float] | None = None  # None: the planner's default (1-5 m)
    seed: int = 0  # seeds plan, split and training
    ensemble: int = 1  # models trained with seeds seed, seed+1, ...; scored on their mean
    adapt: str = "none"  # test-time feature alignment of every evaluation (models.adapt)
    window_s: float = 2.0  # model window [s] (RadHAR's 2 s); real windows have this length
    hop_s: float = 1 / 3  # real-data window hop [s] (RadHAR's 10 frames at 30 frames/s)
    num_frames: int | None = None  # frames per synthetic clip (None: the whole motion)
    test_fraction: float = 0.2  # held-out synthetic share, grouped by motion program
    batch_size: int = 32  # samples per training step
    learning_rate: float = 1e-3  # peak AdamW learning rate
    workers: int = 2  # simulation workers
    executor: str = "process"  # simulation executor: process, ray or serial
    device: str = "cpu"  # torch device for training and evaluation
    progress: bool = True  # progress bars on stderr


@dataclass
class RunState:
    """What the stages produced (for the report)."""

    timings_s: dict[str, float] = field(default_factory=dict)  # stage -> seconds [s]
    notes: dict[str, str] = field(default_factory=dict)  # stage -> one-line outcome
    plan: Any = None  # mmexpert.plan.Plan
    radar: Any = None  # mmexpert.radar.config.RadarConfig
    generation: Any = None  # mmexpert.data.engine generation report
    split: dict[str, int] = field(default_factory=dict)  # {"train": n, "test": n}
    training: Any = None  # mmexpert.models.train result (the first member's)
    members: list[Any] = field(default_factory=list)  # every member's train result
    synthetic_members: list[float] = field(default_factory=list)  # held-out accuracy alone
    synthetic: dict[str, Any] | None = None  # held-out synthetic evaluation
    stress: Any = None  # mmexpert.eval.stress.StressReport on the held-out clips
    real: Any = None  # mmexpert.eval.real.RealEvaluation
    real_unaligned: Any = None  # the same without feature alignment (options.adapt only)
    feature_shift: Any = None  # mmexpert.eval.feature_shift.FeatureShiftReport (real data)
    images: dict[str, str] = field(default_factory=dict)  # figure -> file name in OUT


# ---------------------------------------------------------------- checks


def check_real_source(reader: str, folder: Path, radar: Any = None) -> None:
    """Refuse an unknown reader, a raw-capture reader without a radar configuration (or a
    point reader with one), or a missing real-data folder.

    Parameters
    ----------
    reader
        A :data:`~mmexpert.eval.real.READERS` name (``"radhar"``, ``"ti_csv"``,
        ``"dca1000"``).
    folder
        Folder of class folders of recordings.
    radar
        The captures' radar configuration (preset, ``.cfg`` path or RadarConfig); raw
        readers need it, point readers refuse it.

    Raises
    ------
    RecipeError
        Naming the unknown reader (and the known ones), the missing or unwanted radar, or
        the missing folder.
    """
    from mmexpert.eval.real import RealDataError, check_reader

    try:
        check_reader(reader, radar is not None)
    except RealDataError as error:
        raise RecipeError(str(error)) from None
    if not Path(folder).is_dir():
        raise RecipeError(f"real data folder {folder} does not exist")


def check_options(options: RunOptions) -> str:
    """Check the settings that need no simulation, before anything is written.

    Returns
    -------
    str
        The model registry name (the default for the data when ``options.model`` is None).

    Raises
    ------
    RecipeError
        For a bad number, an unknown executor, encoder or DCA1000 layout, classes without
        real data, an unknown reader or missing real-data folder, an unknown model, or a
        model that cannot read real point clouds.
    """
    from mmexpert.data.dca1000 import DCA1000_LAYOUTS
    from mmexpert.data.engine import EXECUTORS
    from mmexpert.models.adapt import ADAPT_METHODS
    from mmexpert.plan import ENCODERS

    if options.count < 2:
        raise RecipeError(
            f"count must be >= 2 (one sample to train on, one held out), got {options.count}"
        )
    if options.epochs < 1:
        raise RecipeError(f"epochs must be >= 1, got {options.epochs}")
    if options.ensemble < 1:
        raise RecipeError(f"ensemble must be >= 1 model, got {options.ensemble}")
    if options.adapt not in ADAPT_METHODS:
        raise RecipeError(f"adapt must be one of {', '.join(ADAPT_METHODS)}, got {options.adapt!r}")
    if not 0 < options.test_fraction < 1:
        raise RecipeError(f"test_fraction must be within (0, 1), got {options.test_fraction}")
    if not (options.window_s > 0 and options.hop_s > 0):
        raise RecipeError(
            f"window_s and hop_s must be > 0 s, got {options.window_s} and {options.hop_s}"
        )
    if options.executor not in EXECUTORS:
        raise RecipeError(
            f"executor must be one of {', '.join(EXECUTORS)}, got {options.executor!r}"
        )
    if options.encoder not in ENCODERS:
        raise RecipeError(f"unknown encoder {options.encoder!r}; choose one of {sorted(ENCODERS)}")
    if options.classes is not None and options.real is None:
        raise RecipeError("classes map real-data folders: give the real data (READER:DIR) too")
    if options.real is not None:
        reader, folder = options.real
        check_real_source(reader, folder, options.radar if is_raw_reader(reader) else None)
    if options.layout not in DCA1000_LAYOUTS:
        raise RecipeError(
            f"unknown DCA1000 layout {options.layout!r}; choose one of {DCA1000_LAYOUTS}"
        )
    return _check_model(options)


def is_raw_reader(reader: str) -> bool:
    """Whether ``reader`` reads raw ADC captures, which a run processes with its own radar
    configuration and the dataset's device chain (so map models can be scored too)."""
    from mmexpert.eval.real import RAW_READERS

    return reader in RAW_READERS


def _check_model(options: RunOptions) -> str:
    from mmexpert.models.inputs import POINTS_VIEW
    from mmexpert.models.registry import list_models, model_config

    name = options.model or (DEFAULT_REAL_MODEL if options.real else DEFAULT_MODEL)
    if name not in list_models():
        raise RecipeError(f"unknown model {name!r}; choose one of {list_models()}")
    views = tuple(model_config(name).encoder.views)
    point_recordings = options.real is not None and not is_raw_reader(options.real[0])
    if point_recordings and views != (POINTS_VIEW,):
        raise RecipeError(
            f"--model {name} reads {list(views)}; real point clouds give no maps, so "
            f"--eval-real with point recordings needs a points-only model: "
            f"{[n for n in list_models() if model_config(n).encoder.views == (POINTS_VIEW,)]} "
            "(raw dca1000 captures give maps too)"
        )
    return name


def _load_radar(preset_or_cfg: str) -> Any:
    from mmexpert.radar.config import RadarConfigError
    from mmexpert.radar.presets import load_radar

    try:
        return load_radar(preset_or_cfg)
    except (RadarConfigError, OSError) as error:
        raise RecipeError(str(error)) from None


def _make_backend(options: RunOptions, backend: Any, cache: Path | None) -> Any:
    """The planner's LLM: the given backend, else one built from ``options.llm``, in the
    run's response cache when ``cache`` is given."""
    from mmexpert.llm import CachedBackend, LLMError, make_backend

    if backend is not None:
        return backend if cache is None else CachedBackend(backend, cache)
    try:
        return make_backend(options.llm, cache=cache)  # lazy: no model is loaded here
    except LLMError as error:
        raise RecipeError(str(error)) from None
    except TypeError as error:  # e.g. "scripted" needs its replies
        raise RecipeError(
            f"LLM backend {options.llm!r} cannot be built from its name alone ({error}); "
            "pass the backend object instead"
        ) from None


def _check_data_settings(options: RunOptions, radar: Any) -> None:
    """Refuse to resume a run folder with another radar or clip length: the store would mix
    samples of both (their ids differ, so none would be skipped)."""
    from mmexpert.data.samples import radar_config_hash

    settings = {
        "radar": radar.name,
        "radar_config_hash": radar_config_hash(radar),
        "num_frames": options.num_frames,
    }
    path = options.out / RUN_SETTINGS_FILE
    if path.is_file():
        saved = json.loads(path.read_text())
        changed = sorted(key for key in settings if saved.get(key) != settings[key])
        if changed:
            before = ", ".join(f"{key}={saved.get(key)}" for key in changed)
            now = ", ".join(f"{key}={settings[key]}" for key in changed)
            raise RecipeError(
                f"{options.out} holds a run made with {before}; this command asks for {now}. "
                "Use another --out."
            )
        return
    path.write_text(json.dumps(settings, indent=1) + "\n")


# ---------------------------------------------------------------- stages


def _stage(state: RunState, log: Log, name: str, started: float, note: str = "") -> None:
    state.timings_s[name] = time.perf_counter() - started
    if note:
        state.notes[name] = note
    log(f"{name} {state.timings_s[name]:.1f} s" + (f": {note}" if note else ""))


def plan_summary(plan: Any, path: Path) -> list[str]:
    """The plan in a few lines: activities with primitives and quotas, LLM and filter counts.

    Parameters
    ----------
    plan
        A :class:`~mmexpert.plan.Plan`.
    path
        Where it is saved (named in the first line).

    Returns
    -------
    list of str
        One line each, no markup.
    """
    lines = [f"plan: {plan.count} samples -> {path}"]
    for entry in plan.vocabulary.activities:
        quotas = [s for s in plan.subtasks if s.activity == entry.name]
        by_strategy = ", ".join(f"{s.strategy}={s.quota}" for s in quotas)
        lines.append(
            f"  {entry.name} ({entry.source}; {', '.join(entry.primitives)}): "
            f"{sum(s.quota for s in quotas)} samples ({by_strategy})"
        )
    return lines + plan.report_lines()


def _plan(options: RunOptions, state: RunState, log: Log, backend: Any) -> Path:
    from mmexpert.llm import LLMError, StructuredOutputError
    from mmexpert.plan import (
        EncoderUnavailableError,
        PlanError,
        load_plan,
        make_encoder,
        make_plan,
        save_plan,
    )
    from mmexpert.plan.programs import DISTANCE_SPAN_M, NOISE_FIGURE_OFFSET_SPAN_DB

    started = time.perf_counter()
    span = options.noise_figure_span_db or NOISE_FIGURE_OFFSET_SPAN_DB
    distances = options.distance_span_m or DISTANCE_SPAN_M
    path = options.out / "plan.json"
    if path.is_file():
        try:
            plan = load_plan(path)
        except PlanError as error:
            raise RecipeError(f"{error}; delete it to plan again") from None
        if (plan.scenario, plan.count, plan.seed) != (
            options.scenario,
            options.count,
            options.seed,
        ):
            raise RecipeError(
                f"{path} was planned for scenario {plan.scenario!r}, count {plan.count}, seed "
                f"{plan.seed}; use another --out, or delete it to plan again"
            )
        # A plan made before its distance span was recorded used 1-5 m; one made before its
        # noise-figure span was recorded is not checked (that default has changed).
        for what, unit, planned, wanted in (
            ("noise-figure offsets", "dB", plan.noise_figure_span_db, span),
            ("start distances", "m", plan.distance_span_m or DISTANCE_SPAN_M, distances),
        ):
            if planned is not None and tuple(planned) != tuple(wanted):
                raise RecipeError(
                    f"{path} was planned with {what} {planned[0]:g}..{planned[1]:g} {unit}, "
                    f"not {wanted[0]:g}..{wanted[1]:g}; use another --out, or delete it to "
                    "plan again"
                )
        note = f"reused {path.name}"
    else:
        llm = _make_backend(options, backend, options.out / "llm_cache.sqlite")
        try:
            plan = make_plan(
                options.scenario,
                options.count,
                llm,
                seed=options.seed,
                encoder=make_encoder(options.encoder),
                progress=options.progress,
                paraphrases=options.paraphrases,
                noise_figure_span_db=span,
                distance_span_m=distances,
            )
        except (StructuredOutputError, PlanError, LLMError, EncoderUnavailableError) as error:
            raise RecipeError(str(error)) from None
        save_plan(plan, path)
        note = f"{len(plan.samples)} samples"
    for line in plan_summary(plan, path):
        log(line)
    state.plan = plan
    _stage(state, log, "plan", started, note)
    return path


def _check_classes(options: RunOptions, model: str, state: RunState) -> None:
    """A classifier knows the planned activities only: refuse other real classes now, before
    hours of simulation."""
    from mmexpert.models.registry import model_config

    if options.real is None or model_config(model).family != "classifier":
        return
    activities = sorted({spec.activity for spec in state.plan.samples})
    if options.classes is not None:
        wanted = set(options.classes.values())
    else:
        wanted = {p.name for p in options.real[1].iterdir() if p.is_dir()}
    unknown = sorted(wanted - set(activities))
    if unknown:
        raise RecipeError(
            f"the planned activities are {activities}; a classifier trained on them cannot "
            f"recognise the real classes {unknown} (map folders with --classes "
            "'folder=activity,...')"
        )


def _generate(options: RunOptions, plan_path: Path, state: RunState, log: Log) -> Path:
    from mmexpert.data.engine import EngineError, PlanFileError, generate, load_specs

    started = time.perf_counter()
    store_dir = options.out / "store"
    try:
        specs = load_specs(plan_path)
        report = generate(
            specs,
            state.radar,
            store_dir,
            executor=options.executor,  # type: ignore[arg-type]
            workers=options.workers,
            progress=options.progress,
            num_frames=options.num_frames,
        )
    except (EngineError, PlanFileError) as error:
        raise RecipeError(str(error)) from None
    state.generation = report
    note = (
        f"generated {len(report.generated)}, already stored {len(report.skipped)}, "
        f"failed {len(report.failed)}"
    )
    for index, sample_id, message in report.failed:
        log(f"warning: failed spec {index} ({sample_id}): {message}")
    _stage(state, log, "generate", started, note)
    return store_dir


def recipe_split(source: Any, test_fraction: float, seed: int) -> Any:
    """The run's held-out split: no motion program (rounded) and no caption on both sides,
    stratified by activity. Grouping by program alone let two plans' identical captions
    straddle the split, and training then refused it as leaking.

    ``source`` is a store or a list of sample metadata dicts; returns a ``GroupedSplit``.
    """
    from mmexpert.data.splits import grouped_split
    from mmexpert.eval.leakage import leak_free_group_key

    return grouped_split(source, leak_free_group_key(), test_fraction, seed, "activity")


def _split(options: RunOptions, store_dir: Path, state: RunState, log: Log) -> None:
    from mmexpert.data.splits import SplitError
    from mmexpert.data.store import DatasetStore
    from mmexpert.data.store_schema import StoreError

    started = time.perf_counter()
    try:
        with DatasetStore.open(store_dir, mode="a") as store:
            # Deterministic: a rerun computes and saves the same split again.
            split = recipe_split(store, options.test_fraction, options.seed)
            store.save_split("default", split.assignment())
    except (SplitError, StoreError) as error:
        raise RecipeError(str(error)) from None
    state.split = {"train": len(split.train), "test": len(split.test)}
    if not split.train:
        raise RecipeError("the split left no training sample; raise --count")
    _stage(state, log, "split", started, f"train {len(split.train)}, test {len(split.test)}")


def member_train_folder(out: Path, seed: int, member: int) -> Path:
    """Training output of ensemble member ``member`` (0: ``OUT/train``, as a single model's;
    then ``OUT/train-seedS`` for its seed S)."""
    return out / "train" if member == 0 else out / f"train-seed{seed + member}"


def _train(
    options: RunOptions, model: str, store_dir: Path, state: RunState, log: Log
) -> list[Path]:
    """Train every member (one unless ``options.ensemble`` > 1); each resumes on its own."""
    from mmexpert.data.store_schema import StoreError
    from mmexpert.models.train import TrainConfig, TrainingError, train

    window_frames = max(1, round(options.window_s * state.radar.frame_rate_hz))
    model_dirs = []
    for member in range(options.ensemble):
        started = time.perf_counter()
        seed = options.seed + member
        config = TrainConfig(
            model=model,
            epochs=options.epochs,
            batch_size=options.batch_size,
            learning_rate=options.learning_rate,
            seed=seed,
            window_frames=window_frames,
            split="train",
            device=options.device,
        )
        out = member_train_folder(options.out, options.seed, member)
        try:
            result = train(config, store_dir, out, progress=options.progress)
        except (TrainingError, StoreError, ValueError) as error:
            raise RecipeError(str(error)) from None
        if result.model_dir is None:
            raise RecipeError("training stopped before its last epoch; rerun to resume")
        state.members.append(result)
        model_dirs.append(result.model_dir)
        note = f"{model}, epochs: {result.epochs_done}, window {window_frames} frames"
        if result.resumed_from_epoch:
            note += f", resumed from epoch {result.resumed_from_epoch}"
        if options.ensemble > 1:
            note += f", member {member + 1}/{options.ensemble}, seed {seed}"
        _stage(state, log, "train" if member == 0 else f"train seed {seed}", started, note)
    state.training = state.members[0]
    return model_dirs


def _plot_training_curve(history: list[dict[str, float]], path: Path) -> Path | None:
    if not history:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
    axes.plot([row["epoch"] for row in history], [row["loss"] for row in history], marker="o")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("epoch")
    axes.set_ylabel("training loss")
    axes.set_title("training curve")
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _evaluate_synthetic(
    options: RunOptions, model_dirs: list[Path], store_dir: Path, state: RunState, log: Log
) -> None:
    from mmexpert.data.store import DatasetStore
    from mmexpert.eval.metrics import plot_confusion_matrix
    from mmexpert.eval.stress import StressTestError, stress_test
    from mmexpert.models.adapt import AdaptationError
    from mmexpert.models.inputs import load_raw_samples
    from mmexpert.models.predict import (
        PredictionError,
        evaluate_ensemble,
        evaluate_model,
        load_models,
        member_views,
    )

    started = time.perf_counter()
    members = load_models(model_dirs, options.device)
    with DatasetStore.open(store_dir) as store:
        test_ids = store.split_ids("test")
        raws = load_raw_samples(store, test_ids, member_views(members)) if test_ids else []
    if not raws:
        _stage(state, log, "evaluate synthetic", started, "no held-out sample (raise --count)")
        return
    evaluate = partial(evaluate_ensemble, members, adapt=options.adapt)
    try:
        report = evaluate(raws)
        if len(members) > 1:
            state.synthetic_members = [
                float(evaluate_model(loaded, raws, adapt=options.adapt)["accuracy"])
                for loaded in members
            ]
    except (PredictionError, AdaptationError) as error:
        _stage(state, log, "evaluate synthetic", started, f"skipped: {error}")
        return
    counts: dict[str, int] = {}
    for raw in raws:
        counts[raw["activity"]] = counts.get(raw["activity"], 0) + 1
    report["samples_per_class"] = counts
    state.synthetic = report
    title = f"synthetic test, {report['count']} clips"
    plot_confusion_matrix(report, options.out / "confusion_synthetic.png", title=title)
    state.images["synthetic"] = "confusion_synthetic.png"
    note = f"accuracy {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}"
    if state.synthetic_members:
        alone = ", ".join(f"{accuracy:.3f}" for accuracy in state.synthetic_members)
        note += f" (ensemble of {len(members)}; alone {alone})"
    _stage(state, log, "evaluate synthetic", started, note)
    started = time.perf_counter()
    try:
        state.stress = stress_test(evaluate, raws, seed=options.seed)
    except StressTestError:  # every condition changes the points only
        _stage(state, log, "stress test", started, "skipped: the model reads no points")
        return
    conditions = len(state.stress.accuracy)
    note = f"mean accuracy {state.stress.mean_accuracy:.3f} over {conditions} conditions"
    _stage(state, log, "stress test", started, note)


def _evaluate_real(
    options: RunOptions, model_dirs: list[Path], state: RunState, log: Log
) -> tuple[Any, list[Any]] | None:
    """Score the models on the real windows (aligned and, with ``--adapt``, as they come),
    read once; returns the first model and the windows for the feature shift."""
    from mmexpert.eval.real import (
        RealDataError,
        check_members,
        real_raw_samples,
        score_real_windows,
    )
    from mmexpert.models.adapt import AdaptationError
    from mmexpert.models.predict import load_models

    if options.real is None:
        return None
    started = time.perf_counter()
    reader, folder = options.real
    members = load_models(model_dirs, options.device)
    try:
        names = check_members(members, reader, options.classes)
        windows, summary = real_raw_samples(
            reader,
            folder,
            options.classes,
            options.window_s,
            options.hop_s,
            state.radar.frame_rate_hz,
            state.radar if is_raw_reader(reader) else None,
            options.layout,
        )
        score = partial(
            score_real_windows, members, names, windows, summary, options.window_s, options.hop_s
        )
        evaluation = score(plot_path=options.out / "confusion_real.png", adapt=options.adapt)
        if options.adapt != "none":  # the same windows as they come, for comparison
            state.real_unaligned = score()
    except (RealDataError, AdaptationError) as error:
        raise RecipeError(str(error)) from None
    state.real = evaluation
    state.images["real"] = "confusion_real.png"
    note = f"accuracy {evaluation.accuracy:.3f}, macro-F1 {evaluation.macro_f1:.3f}"
    if evaluation.members:
        alone = ", ".join(f"{member['accuracy']:.3f}" for member in evaluation.members)
        note += f" (ensemble of {len(evaluation.members)}; alone {alone})"
    if state.real_unaligned is not None:
        note += (
            f"; features aligned ({options.adapt}), without: {state.real_unaligned.accuracy:.3f}"
        )
    _stage(state, log, "evaluate real", started, note)
    return members[0], windows


def _measure_feature_shift(
    options: RunOptions,
    real: tuple[Any, list[Any]] | None,
    store_dir: Path,
    state: RunState,
    log: Log,
) -> None:
    """Where the first model puts the real windows against the held-out clips, and which
    simulator gap moves them there (labels unused; :mod:`mmexpert.eval.feature_shift`)."""
    from mmexpert.data.store import DatasetStore
    from mmexpert.eval.feature_shift import (
        FeatureShiftError,
        model_feature_shift,
        plot_feature_shift,
    )
    from mmexpert.models.inputs import POINTS_VIEW, load_raw_samples

    if real is None:
        return
    started = time.perf_counter()
    loaded, windows = real
    if POINTS_VIEW not in loaded.inputs.views:
        _stage(state, log, "feature shift", started, "skipped: the model reads no points")
        return
    with DatasetStore.open(store_dir) as store:
        ids = store.split_ids("test")
        synthetic = load_raw_samples(store, ids, loaded.inputs.views) if ids else []
    try:
        report = model_feature_shift(loaded, synthetic, windows)
    except FeatureShiftError as error:
        _stage(state, log, "feature shift", started, f"skipped: {error}")
        return
    state.feature_shift = report
    plot_feature_shift(report, options.out / "feature_shift.png")
    state.images["feature_shift"] = "feature_shift.png"
    best = report.rows[0]
    note = (
        f"real windows {report.real_shift:.2f} held-out std away; closest gap: {best.name} "
        f"(cosine {best.cosine:+.2f}, share {best.share:+.2f}); held-out accuracy under it "
        f"{best.accuracy:.3f}, as simulated {report.synthetic_accuracy:.3f}"
    )
    _stage(state, log, "feature shift", started, note)


# ---------------------------------------------------------------- report


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _per_class_rows(per_class: Mapping[str, float], counts: Mapping[str, int]) -> list[list[str]]:
    names = sorted(set(per_class) | set(counts))
    return [
        [name, str(counts.get(name, 0)), f"{per_class[name]:.3f}" if name in per_class else "-"]
        for name in names
    ]


def write_report(options: RunOptions, model: str, state: RunState) -> Path:
    """Write ``OUT/report.md`` and ``OUT/results.json`` from the stages' results.

    Parameters
    ----------
    options
        The run's settings.
    model
        The model registry name trained.
    state
        What the stages produced (plan, radar and training at least).

    Returns
    -------
    Path
        The Markdown report.
    """
    plan, radar, training = state.plan, state.radar, state.training
    lines = [
        "# mmExpert run",
        "",
        f"- scenario: {options.scenario}",
        f"- radar: {radar.name} ({radar.frame_rate_hz:.4g} frames/s)",
        f"- samples planned: {options.count}; LLM backend: {options.llm}; seed {options.seed}",
        f"- model: {model}, {options.epochs} epochs; windows of {options.window_s:g} s"
        + (
            f"; ensemble of {options.ensemble} (training seeds {options.seed}-"
            f"{options.seed + options.ensemble - 1}, scored on their mean class probabilities)"
            if options.ensemble > 1
            else ""
        )
        + (
            f"; features aligned ({options.adapt}) over each evaluation set before the head"
            if options.adapt != "none"
            else ""
        ),
        "",
        "## Timings (this invocation; stages already done resume in seconds)",
        "",
    ]
    lines += _markdown_table(
        ["stage", "seconds", "note"],
        [[k, f"{v:.1f}", state.notes.get(k, "")] for k, v in state.timings_s.items()],
    )
    lines += ["## Plan", ""]
    quota_rows = []
    for entry in plan.vocabulary.activities:
        quotas = [s for s in plan.subtasks if s.activity == entry.name]
        quota_rows.append(
            [
                entry.name,
                ", ".join(entry.primitives),
                str(sum(s.quota for s in quotas)),
                ", ".join(f"{s.strategy}={s.quota}" for s in quotas),
            ]
        )
    lines += _markdown_table(["activity", "primitives", "quota", "by strategy"], quota_rows)
    llm_report = plan.report
    lines += [
        f"LLM calls {llm_report.llm_calls}, failures {len(llm_report.llm_failures)}; "
        f"paraphrases kept {llm_report.paraphrases_kept}, rejected "
        f"{sum(llm_report.paraphrases_rejected.values())}.",
        "",
    ]
    lines += [f"- LLM failure: {' '.join(str(f).split())}" for f in llm_report.llm_failures]
    if llm_report.llm_failures:
        lines.append("")
    if plan.vocabulary.unmatched:
        names = ", ".join(repr(u.name) for u in plan.vocabulary.unmatched)
        lines += [f"Activities not in the motion library, left out: {names}.", ""]
    lines += ["## Dataset", ""]
    if state.generation is not None:
        report = state.generation
        stored = sum(state.split.values())
        lines.append(
            f"{stored} samples stored for {report.requested} planned (this invocation: "
            f"{len(report.generated)} generated, {len(report.skipped)} already stored, "
            f"{len(report.failed)} failed)."
        )
    lines += [f"Split (grouped by motion program): {state.split}.", ""]
    lines += ["## Training", ""]
    if training is not None and training.history:
        last = training.history[-1]
        lines.append(
            f"epochs: {training.epochs_done}, last loss {last['loss']:.4f}; classes "
            f"{', '.join(training.classes)}."
        )
        if "training_curve" in state.images:
            lines += ["", f"![training curve]({state.images['training_curve']})"]
    lines += ["", "## Held-out synthetic data", ""]
    synthetic = state.synthetic
    if synthetic is None:
        lines.append(state.notes.get("evaluate synthetic", "not evaluated"))
    else:
        lines += [
            f"accuracy {synthetic['accuracy']:.3f}, macro-F1 {synthetic['macro_f1']:.3f} "
            f"on {synthetic['count']} clips",
            "",
        ]
        if state.synthetic_members:
            alone = ", ".join(f"{accuracy:.3f}" for accuracy in state.synthetic_members)
            lines += [f"Each member alone: {alone}.", ""]
        lines += _markdown_table(
            ["class", "clips", "accuracy"],
            _per_class_rows(synthetic["per_class_accuracy"], synthetic["samples_per_class"]),
        )
        lines.append(f"![synthetic confusion matrix]({state.images['synthetic']})")
    if state.stress is not None:
        stress = state.stress
        lines += [
            "",
            "### Stress test (the held-out clips changed as real point clouds differ)",
            "",
            f"{stress.repeats} draws per condition; compare models by the mean "
            "(`mmexpert stress`).",
            "",
        ]
        lines += _markdown_table(
            ["condition", "accuracy", "std over draws"],
            [
                [name, f"{acc:.3f}", f"{stress.spread[name]:.3f}"]
                for name, acc in stress.accuracy.items()
            ]
            + [["mean", f"{stress.mean_accuracy:.3f}", ""]],
        )
    lines.append("")
    if state.real is not None:
        real = state.real
        reader, folder = options.real  # type: ignore[misc]
        lines += [
            "## Real data (zero-shot sim-to-real)",
            "",
            f"{reader} recordings from `{folder}`, {real.read_report.recordings} recordings, "
            f"{real.read_report.windows} windows of {real.window_s:g} s every "
            f"{real.hop_s:.3g} s, resampled to {real.read_report.frame_rate_hz:.4g} frames/s.",
            "",
            f"accuracy {real.accuracy:.3f}, macro-F1 {real.macro_f1:.3f} ({real.model_kind})",
            "",
        ]
        if state.real_unaligned is not None:
            plain = state.real_unaligned
            lines += [
                f"Features aligned ({real.adapt}) over all the windows, without labels. "
                f"Without alignment: accuracy {plain.accuracy:.3f}, macro-F1 "
                f"{plain.macro_f1:.3f}.",
                "",
            ]
        lines += _markdown_table(
            ["class", "windows", "accuracy"],
            _per_class_rows(real.per_class, real.windows_per_class),
        )
        lines += [
            f"![real confusion matrix]({state.images['real']})",
            "",
            f"Reading: {real.read_report.summary()}.",
            "",
        ]
        if real.members:
            lines += ["Each member alone:", ""]
            lines += _markdown_table(
                ["model", "accuracy", "macro-F1"],
                [
                    [member["model"], f"{member['accuracy']:.3f}", f"{member['macro_f1']:.3f}"]
                    for member in real.members
                ]
                + [["mean", f"{real.member_mean_accuracy:.3f}", ""]],
            )
    if state.feature_shift is not None:
        from mmexpert.eval.feature_shift import TABLE_COLUMNS, table_rows

        shift = state.feature_shift
        lines += [
            "",
            "### Feature shift of the real windows (labels unused)",
            "",
            f"The first model puts the {shift.real_windows} real windows {shift.real_shift:.2f} "
            f"held-out standard deviations from its {shift.synthetic_clips} held-out clips. "
            "Each candidate simulator gap, applied to those clips, against that shift "
            "(`mmexpert feature-shift`; cosine and share near 1: it explains the shift), "
            f"and the model's accuracy on those clips under it ({shift.synthetic_accuracy:.3f} "
            "as simulated; to compare models for this device, compare their accuracies under "
            "one condition, the closest gap of a reference model):",
            "",
        ]
        lines += _markdown_table(list(TABLE_COLUMNS), table_rows(shift))
        lines.append(f"![feature shift]({state.images['feature_shift']})")
    path = options.out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    results = {
        "scenario": options.scenario,
        "radar": radar.name,
        "model": model,
        "timings_s": state.timings_s,
        "split": state.split,
        "training_history": training.history if training is not None else [],
        "synthetic": synthetic,
        "synthetic_members": state.synthetic_members,
        "stress": state.stress.to_json() if state.stress is not None else None,
        "real": state.real.to_json() if state.real is not None else None,
        "real_unaligned": (
            state.real_unaligned.to_json() if state.real_unaligned is not None else None
        ),
        "feature_shift": (
            state.feature_shift.to_json() if state.feature_shift is not None else None
        ),
    }
    (options.out / "results.json").write_text(json.dumps(json_safe(results), indent=1) + "\n")
    return path


def json_safe(value: Any) -> Any:
    """``value`` with every NaN and infinity (in nested dicts, lists, tuples) made None.

    JSON has no NaN; a metric undefined for an empty class is written as ``null``.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


# ---------------------------------------------------------------- entry points


def run_recipe(options: RunOptions, log: Log = log_to_stderr, backend: Any = None) -> Path:
    """Plan, generate, split, train, evaluate and report; every stage resumes.

    Parameters
    ----------
    options
        The run (``options.out`` is created or resumed).
    log
        Called with one plain-text line per stage and warning (default: stderr).
    backend
        An :class:`~mmexpert.llm.LLMBackend` to plan with instead of
        ``make_backend(options.llm)`` (e.g. a :class:`~mmexpert.llm.ScriptedBackend`); it is
        wrapped in the run's response cache all the same.

    Returns
    -------
    Path
        ``OUT/report.md`` (``OUT/results.json`` is written beside it).

    Raises
    ------
    RecipeError
        Bad settings (checked before anything is written), an unknown radar preset or
        unreadable ``.cfg``, a run folder made with other settings, real classes the model
        cannot learn, or a stage that failed (its message).
    """
    model = check_options(options)
    radar = _load_radar(options.radar)
    if backend is None and not (options.out / "plan.json").is_file():
        _make_backend(options, None, cache=None)  # a bad name fails before anything is written
    state = RunState(radar=radar)
    options.out.mkdir(parents=True, exist_ok=True)
    _check_data_settings(options, state.radar)
    plan_path = _plan(options, state, log, backend)
    _check_classes(options, model, state)
    store_dir = _generate(options, plan_path, state, log)
    _split(options, store_dir, state, log)
    model_dirs = _train(options, model, store_dir, state, log)
    if _plot_training_curve(state.training.history, options.out / "training_curve.png"):
        state.images["training_curve"] = "training_curve.png"
    _evaluate_synthetic(options, model_dirs, store_dir, state, log)
    real = _evaluate_real(options, model_dirs, state, log)
    _measure_feature_shift(options, real, store_dir, state, log)
    return write_report(options, model, state)


def model_folder(path: Path) -> Path:
    """A saved model folder, or the training output holding it in ``model/``."""
    if not (path / "config.json").is_file() and (path / "model" / "config.json").is_file():
        return path / "model"
    return path


def evaluate_real_folder(
    model: Path | Sequence[Path],
    reader: str,
    data: Path,
    classes: Mapping[str, str] | None = None,
    window_s: float = 2.0,
    hop_s: float = 1 / 3,
    out: Path | None = None,
    frame_rate_hz: float | None = None,
    train_data: Path | None = None,
    device: str = "cpu",
    radar: Any = None,
    layout: str = "xwr16xx",
    adapt: str = "none",
) -> tuple[Any, Path]:
    """Score a saved model on labelled real recordings; write the PNG and JSON.

    Parameters
    ----------
    model
        Saved model folder, or the training output holding it in ``model/``; or several,
        scored as an ensemble (mean class probabilities; each member also alone).
    reader
        Reader name (``"radhar"``, ``"ti_csv"``: point clouds; ``"dca1000"``: raw captures).
    data
        Folder of class folders of recordings.
    classes
        Folder -> class name (None: the folder names).
    window_s, hop_s
        Window length and hop [s].
    out
        Folder for ``confusion_real.png`` and ``eval_real.json`` (default: ``eval-real``
        beside the model folder; for an ensemble ``eval-real-ensemble`` beside the first).
    frame_rate_hz
        The model's frame rate [Hz] (default: from the model folder or ``train_data``).
    train_data
        The training store (gives the frame rate when the model folder does not).
    device
        Torch device.
    radar
        Raw readers (``"dca1000"``) only: the captures' radar configuration (preset name,
        TI ``.cfg`` path or RadarConfig).
    layout
        Raw readers: the DCA1000 LVDS sample order (``"xwr16xx"`` or ``"xwr14xx"``).
    adapt
        Label-free test-time feature alignment (see :mod:`mmexpert.models.adapt`); the
        default output folder then ends in ``-aligned-METHOD``.

    Returns
    -------
    evaluation : mmexpert.eval.real.RealEvaluation
    json_path : Path
        The ``eval_real.json`` written (the evaluation's JSON, NaN as null).

    Raises
    ------
    RecipeError
        Unknown reader, missing folder, missing model, unreadable recordings, or classes the
        model does not know (the message says which).
    """
    from mmexpert.eval.real import RealDataError, evaluate_real
    from mmexpert.models.adapt import AdaptationError
    from mmexpert.models.io import ModelFileError
    from mmexpert.models.predict import PredictionError

    check_real_source(reader, data, radar)
    given = [model] if isinstance(model, Path) else list(model)
    model_dirs = [model_folder(folder) for folder in given]
    for folder, model_dir in zip(given, model_dirs, strict=True):
        if not model_dir.is_dir():
            raise RecipeError(f"model folder {folder} does not exist")
    out_dir = out
    if out_dir is None:
        folder_name = EVAL_REAL_FOLDER if len(model_dirs) == 1 else f"{EVAL_REAL_FOLDER}-ensemble"
        if adapt != "none":
            folder_name += f"-aligned-{adapt}"
        out_dir = model_dirs[0].resolve().parent / folder_name
    try:
        evaluation = evaluate_real(
            model_dirs,
            reader,
            data,
            classes,
            window_s=window_s,
            hop_s=hop_s,
            device=device,
            plot_path=out_dir / "confusion_real.png",
            frame_rate_hz=frame_rate_hz,
            train_data=train_data,
            radar=radar,
            layout=layout,
            adapt=adapt,
        )
    except (RealDataError, ModelFileError, PredictionError, AdaptationError) as error:
        raise RecipeError(str(error)) from None
    json_path = out_dir / "eval_real.json"
    json_path.write_text(json.dumps(json_safe(evaluation.to_json()), indent=1) + "\n")
    return evaluation, json_path
