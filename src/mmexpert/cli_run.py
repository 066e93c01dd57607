"""``mmexpert eval-real`` and ``mmexpert run``: sim-to-real evaluation and the whole recipe.

The lead's ``cli.py`` registers these::

    from mmexpert.cli_run import eval_real_command, run_command
    app.command("eval-real")(eval_real_command)
    app.command("run")(run_command)

``mmexpert run`` chains library calls, each stage resuming from what is on disk:

1. plan (``OUT/plan.json``, reused when present; LLM replies cached in
   ``OUT/llm_cache.sqlite``);
2. generate (``OUT/store``; the engine skips stored samples);
3. split (grouped by motion program, stratified by activity, deterministic, saved);
4. train (``OUT/train``; resumes from its checkpoint);
5. evaluate on the held-out synthetic split, and on real recordings when given;
6. ``OUT/report.md`` (plots embedded as relative links) and ``OUT/results.json``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mmexpert.cli_common import console, err_console, fail, load_radar_or_exit

EVAL_REAL_FOLDER = "eval-real"  # default output folder, next to the model folder


# ---------------------------------------------------------------- argument parsing


def parse_class_map(text: str | None) -> dict[str, str] | None:
    """``"jack=jumping jacks,squats=squats"`` -> ``{"jack": "jumping jacks", ...}``.

    An entry without ``=`` maps a folder to itself (``"squats"`` = ``"squats=squats"``).

    Raises
    ------
    typer.Exit
        (status 2, message on stderr) for an empty entry, an empty side or a repeated folder.
    """
    from mmexpert.eval.real import RealDataError
    from mmexpert.eval.real import parse_class_map as parse

    try:
        return parse(text)
    except RealDataError as error:
        raise fail(str(error)) from None


def parse_real_source(text: str) -> tuple[str, Path]:
    """``"radhar:/data/real"`` -> ``("radhar", Path("/data/real"))``; checks reader and folder."""
    reader, sep, folder = text.partition(":")
    if not sep or not reader or not folder:
        raise fail(f"--eval-real must read READER:DIR (e.g. radhar:data/real), got {text!r}")
    check_reader_and_folder(reader, Path(folder))
    return reader, Path(folder)


def check_reader_and_folder(reader: str, folder: Path) -> None:
    """Exit with a clear error for an unknown reader or a missing folder."""
    from mmexpert.data.readers import POINT_READERS

    if reader not in POINT_READERS:
        raise fail(f"unknown reader {reader!r}; choose one of {sorted(POINT_READERS)}")
    if not folder.is_dir():
        raise fail(f"real data folder {folder} does not exist")


def _check_backend(name: str) -> None:
    """Exit with a clear error for an LLM backend that cannot be built from its name alone
    (unknown, or one that needs arguments such as the scripted backend's replies)."""
    from mmexpert.llm import LLMError, make_backend

    try:
        make_backend(name)  # lazy: the embedded model is not loaded here
    except LLMError as error:
        raise fail(str(error)) from None
    except TypeError as error:
        raise fail(f"LLM backend {name!r} cannot be used from the command line: {error}") from None


def _model_folder(path: Path) -> Path:
    """A saved model folder, or the training output holding it in ``model/``."""
    if not (path / "config.json").is_file() and (path / "model" / "config.json").is_file():
        return path / "model"
    return path


# ---------------------------------------------------------------- printing


def _per_class_table(
    title: str, per_class: Mapping[str, float], counts: Mapping[str, int]
) -> Table:
    table = Table(title=title)
    table.add_column("class")
    table.add_column("windows", justify="right")
    table.add_column("accuracy", justify="right")
    for name in sorted(set(per_class) | set(counts)):
        accuracy = per_class.get(name)
        table.add_row(
            name, str(counts.get(name, 0)), "-" if accuracy is None else f"{accuracy:.3f}"
        )
    return table


def _print_real(evaluation: Any) -> None:
    console.print(
        f"accuracy {evaluation.accuracy:.3f}, macro-F1 {evaluation.macro_f1:.3f} "
        f"({evaluation.model_kind}, {sum(evaluation.windows_per_class.values())} windows of "
        f"{evaluation.window_s:g} s, hop {evaluation.hop_s:.3g} s)",
        highlight=False,
    )
    console.print(
        _per_class_table("real data, per class", evaluation.per_class, evaluation.windows_per_class)
    )
    console.print(f"read: {evaluation.read_report.summary()}", markup=False, highlight=False)


# ---------------------------------------------------------------- eval-real


def eval_real_command(
    reader: Annotated[str, typer.Option("--reader", help="Reader: radhar or ti_csv.")],
    data: Annotated[Path, typer.Option("--data", help="Folder of class folders of recordings.")],
    model: Annotated[Path, typer.Option("--model", help="Saved model folder (train out/model).")],
    classes: Annotated[
        str | None,
        typer.Option(
            "--classes",
            help="FOLDER=CLASS,...: the class of each folder (a CLIP model's text; one of a "
            "classifier's activities). Default: the folder names.",
        ),
    ] = None,
    window_s: Annotated[float, typer.Option("--window-s", help="Window length [s].")] = 2.0,
    hop_s: Annotated[float, typer.Option("--hop-s", help="Hop between windows [s].")] = 1 / 3,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the PNG and JSON (default: MODEL/../eval-real)."),
    ] = None,
    frame_rate_hz: Annotated[
        float | None,
        typer.Option("--frame-rate-hz", help="Model frame rate [Hz] (default: from the model)."),
    ] = None,
    train_data: Annotated[
        Path | None,
        typer.Option("--train-data", help="Training store (gives the model's frame rate)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON only.")] = False,
    device: Annotated[str, typer.Option("--device", help="cpu or cuda.")] = "cpu",
) -> None:
    """Score a model trained on synthetic data on labelled real point-cloud recordings."""
    from mmexpert.eval.real import RealDataError, evaluate_real
    from mmexpert.models.io import ModelFileError
    from mmexpert.models.predict import PredictionError

    check_reader_and_folder(reader, data)
    class_map = parse_class_map(classes)
    model_dir = _model_folder(model)
    if not model_dir.is_dir():
        raise fail(f"model folder {model} does not exist")
    out_dir = out if out is not None else model_dir.resolve().parent / EVAL_REAL_FOLDER
    try:
        evaluation = evaluate_real(
            model_dir,
            reader,
            data,
            class_map,
            window_s=window_s,
            hop_s=hop_s,
            device=device,
            plot_path=out_dir / "confusion_real.png",
            frame_rate_hz=frame_rate_hz,
            train_data=train_data,
        )
    except (RealDataError, ModelFileError, PredictionError) as error:
        raise fail(str(error)) from None
    result = _finite(evaluation.to_json())
    (out_dir / "eval_real.json").write_text(json.dumps(result, indent=1) + "\n")
    if as_json:
        typer.echo(json.dumps(result, indent=1))
        return
    _print_real(evaluation)
    console.print(f"wrote {evaluation.plot_path} and {out_dir / 'eval_real.json'}", markup=False)


# ---------------------------------------------------------------- run


@dataclass
class RunOptions:
    """The settings of one ``mmexpert run`` (see :func:`run_command` for each)."""

    scenario: str  # the application, in a sentence
    radar: str  # preset name or TI .cfg path
    count: int  # synthetic samples to plan
    out: Path  # run folder (created or resumed)
    model: str | None = None  # None: DEFAULT_REAL_MODEL with real data, else DEFAULT_MODEL
    epochs: int = 20  # training epochs
    real: tuple[str, Path] | None = None  # (reader, folder) of labelled real recordings
    classes: dict[str, str] | None = None  # real folder -> class name (None: folder names)
    llm: str = "local"  # planner LLM backend (the embedded SmolLM2 by default)
    encoder: str = "minilm"  # planner sentence encoder ("ngram": lexical, no model load)
    paraphrases: int = 2  # LLM paraphrases asked per planned sample (0: captions only)
    seed: int = 0  # seeds plan, split and training
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

    timings_s: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    plan: Any = None
    radar: Any = None
    generation: Any = None
    split: dict[str, int] = field(default_factory=dict)
    training: Any = None
    synthetic: dict[str, Any] | None = None
    real: Any = None
    images: dict[str, str] = field(default_factory=dict)


DEFAULT_MODEL = "classifier-vit-tiny"  # micro-Doppler classifier for synthetic-only runs
DEFAULT_REAL_MODEL = "classifier-points-tiny"  # real TI captures are point clouds


def _stage(state: RunState, name: str, started: float, note: str = "") -> None:
    state.timings_s[name] = time.perf_counter() - started
    if note:
        state.notes[name] = note
    console.print(
        f"[bold]{name}[/] {state.timings_s[name]:.1f} s" + (f": {note}" if note else ""),
        highlight=False,
    )


def _check_model(options: RunOptions) -> str:
    from mmexpert.models.inputs import POINTS_VIEW
    from mmexpert.models.registry import list_models, model_config

    name = options.model or (DEFAULT_REAL_MODEL if options.real else DEFAULT_MODEL)
    if name not in list_models():
        raise fail(f"unknown model {name!r}; choose one of {list_models()}")
    views = tuple(model_config(name).encoder.views)
    if options.real is not None and views != (POINTS_VIEW,):
        raise fail(
            f"--model {name} reads {list(views)}; real point clouds give no maps, so "
            f"--eval-real needs a points-only model: "
            f"{[n for n in list_models() if model_config(n).encoder.views == (POINTS_VIEW,)]}"
        )
    return name


RUN_SETTINGS_FILE = "run_settings.json"  # what shapes the stored data; fixed per run folder


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
            raise fail(
                f"{options.out} holds a run made with {before}; this command asks for {now}. "
                "Use another --out."
            )
        return
    path.write_text(json.dumps(settings, indent=1) + "\n")


def _plan(options: RunOptions, state: RunState) -> Path:
    from mmexpert.cli_plan import build_plan, print_plan
    from mmexpert.plan import PlanError, load_plan, save_plan

    started = time.perf_counter()
    path = options.out / "plan.json"
    if path.is_file():
        try:
            plan = load_plan(path)
        except PlanError as error:
            raise fail(f"{error}; delete it to plan again") from None
        if (plan.scenario, plan.count, plan.seed) != (
            options.scenario,
            options.count,
            options.seed,
        ):
            raise fail(
                f"{path} was planned for scenario {plan.scenario!r}, count {plan.count}, seed "
                f"{plan.seed}; use another --out, or delete it to plan again"
            )
        note = f"reused {path.name}"
    else:
        plan = build_plan(
            options.scenario,
            options.count,
            options.llm,
            cache=options.out / "llm_cache.sqlite",
            seed=options.seed,
            paraphrases=options.paraphrases,
            encoder=options.encoder,
        )
        save_plan(plan, path)
        note = f"{len(plan.samples)} samples"
    print_plan(plan, path)
    state.plan = plan
    _stage(state, "plan", started, note)
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
        raise fail(
            f"the planned activities are {activities}; a classifier trained on them cannot "
            f"recognise the real classes {unknown} (map folders with --classes "
            "'folder=activity,...')"
        )


def _generate(options: RunOptions, plan_path: Path, state: RunState) -> Path:
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
        raise fail(str(error)) from None
    state.generation = report
    note = (
        f"generated {len(report.generated)}, already stored {len(report.skipped)}, "
        f"failed {len(report.failed)}"
    )
    for index, sample_id, message in report.failed:
        err_console.print(f"[yellow]failed spec[/] {index} ({sample_id}): {message}")
    _stage(state, "generate", started, note)
    return store_dir


def _split(options: RunOptions, store_dir: Path, state: RunState) -> None:
    from mmexpert.data.splits import SplitError, grouped_split, motion_group_key
    from mmexpert.data.store import DatasetStore
    from mmexpert.data.store_schema import StoreError

    started = time.perf_counter()
    try:
        with DatasetStore.open(store_dir, mode="a") as store:
            # Deterministic: a rerun computes and saves the same split again.
            split = grouped_split(
                store, motion_group_key(), options.test_fraction, options.seed, "activity"
            )
            store.save_split("default", split.assignment())
    except (SplitError, StoreError) as error:
        raise fail(str(error)) from None
    state.split = {"train": len(split.train), "test": len(split.test)}
    if not split.train:
        raise fail("the split left no training sample; raise --count")
    _stage(state, "split", started, f"train {len(split.train)}, test {len(split.test)}")


def _train(options: RunOptions, model: str, store_dir: Path, state: RunState) -> Path:
    from mmexpert.data.store_schema import StoreError
    from mmexpert.models.train import TrainConfig, TrainingError, train

    started = time.perf_counter()
    window_frames = max(1, round(options.window_s * state.radar.frame_rate_hz))
    config = TrainConfig(
        model=model,
        epochs=options.epochs,
        batch_size=options.batch_size,
        learning_rate=options.learning_rate,
        seed=options.seed,
        window_frames=window_frames,
        split="train",
        device=options.device,
    )
    try:
        result = train(config, store_dir, options.out / "train", progress=options.progress)
    except (TrainingError, StoreError, ValueError) as error:
        raise fail(str(error)) from None
    if result.model_dir is None:
        raise fail("training stopped before its last epoch; rerun to resume")
    state.training = result
    note = f"{model}, epochs: {result.epochs_done}, window {window_frames} frames"
    if result.resumed_from_epoch:
        note += f", resumed from epoch {result.resumed_from_epoch}"
    _stage(state, "train", started, note)
    return result.model_dir


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


def _evaluate_synthetic(options: RunOptions, model_dir: Path, store_dir: Path, state: RunState):
    from mmexpert.data.store import DatasetStore
    from mmexpert.eval.metrics import plot_confusion_matrix
    from mmexpert.models.inputs import load_raw_samples
    from mmexpert.models.io import load_model
    from mmexpert.models.models import RadarTextModel
    from mmexpert.models.predict import PredictionError, evaluate_classifier, evaluate_zero_shot

    started = time.perf_counter()
    loaded = load_model(model_dir, device=options.device)
    with DatasetStore.open(store_dir) as store:
        test_ids = store.split_ids("test")
        raws = load_raw_samples(store, test_ids, loaded.inputs.views) if test_ids else []
    if not raws:
        _stage(state, "evaluate synthetic", started, "no held-out sample (raise --count)")
        return
    try:
        if isinstance(loaded.model, RadarTextModel):
            report = evaluate_zero_shot(loaded, raws, loaded.classes)
        else:
            report = evaluate_classifier(loaded, raws)
    except PredictionError as error:
        _stage(state, "evaluate synthetic", started, f"skipped: {error}")
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
    _stage(state, "evaluate synthetic", started, note)


def _evaluate_real(options: RunOptions, model_dir: Path, state: RunState) -> None:
    from mmexpert.eval.real import RealDataError, evaluate_real

    if options.real is None:
        return
    started = time.perf_counter()
    reader, folder = options.real
    try:
        evaluation = evaluate_real(
            model_dir,
            reader,
            folder,
            options.classes,
            window_s=options.window_s,
            hop_s=options.hop_s,
            device=options.device,
            plot_path=options.out / "confusion_real.png",
            frame_rate_hz=state.radar.frame_rate_hz,
        )
    except RealDataError as error:
        raise fail(str(error)) from None
    state.real = evaluation
    state.images["real"] = "confusion_real.png"
    note = f"accuracy {evaluation.accuracy:.3f}, macro-F1 {evaluation.macro_f1:.3f}"
    _stage(state, "evaluate real", started, note)


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
        f"- model: {model}, {options.epochs} epochs; windows of {options.window_s:g} s",
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
        lines += _markdown_table(
            ["class", "clips", "accuracy"],
            _per_class_rows(synthetic["per_class_accuracy"], synthetic["samples_per_class"]),
        )
        lines.append(f"![synthetic confusion matrix]({state.images['synthetic']})")
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
        "real": state.real.to_json() if state.real is not None else None,
    }
    (options.out / "results.json").write_text(json.dumps(_finite(results), indent=1) + "\n")
    return path


def _finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def run_recipe(options: RunOptions) -> Path:
    """Plan, generate, split, train, evaluate and report; every stage resumes.

    Returns
    -------
    Path
        ``OUT/report.md``.
    """
    model = _check_model(options)
    state = RunState(radar=load_radar_or_exit(options.radar))
    options.out.mkdir(parents=True, exist_ok=True)
    _check_data_settings(options, state.radar)
    plan_path = _plan(options, state)
    _check_classes(options, model, state)
    store_dir = _generate(options, plan_path, state)
    _split(options, store_dir, state)
    model_dir = _train(options, model, store_dir, state)
    if _plot_training_curve(state.training.history, options.out / "training_curve.png"):
        state.images["training_curve"] = "training_curve.png"
    _evaluate_synthetic(options, model_dir, store_dir, state)
    _evaluate_real(options, model_dir, state)
    return write_report(options, model, state)


def run_command(
    scenario: Annotated[str, typer.Option("--scenario", help="The application, in a sentence.")],
    radar: Annotated[
        str, typer.Option("--radar", help="Preset name (see `mmexpert radar list`) or TI .cfg.")
    ],
    count: Annotated[int, typer.Option("--count", min=2, help="Synthetic samples to plan.")],
    out: Annotated[Path, typer.Option("--out", help="Run folder (created or resumed).")],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Model config (see list_models()); default classifier-points-tiny with "
            "--eval-real, else classifier-vit-tiny.",
        ),
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Training epochs.")] = 20,
    eval_real: Annotated[
        str | None,
        typer.Option("--eval-real", help="READER:DIR of labelled real recordings to score."),
    ] = None,
    classes: Annotated[
        str | None,
        typer.Option("--classes", help="FOLDER=CLASS,... for --eval-real (default: folders)."),
    ] = None,
    llm: Annotated[
        str, typer.Option("--llm", help="Planner LLM: local (embedded), openai, echo.")
    ] = "local",
    encoder: Annotated[
        str, typer.Option("--encoder", help="Planner sentence encoder: minilm or ngram.")
    ] = "minilm",
    paraphrases: Annotated[
        int,
        typer.Option(
            "--paraphrases", min=0, max=8, help="LLM paraphrases per sample (0: none, faster)."
        ),
    ] = 2,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of every stage.")] = 0,
    window_s: Annotated[float, typer.Option("--window-s", help="Model window [s].")] = 2.0,
    hop_s: Annotated[float, typer.Option("--hop-s", help="Real-data window hop [s].")] = 1 / 3,
    num_frames: Annotated[
        int | None,
        typer.Option("--num-frames", min=1, help="Frames per clip (default: the motion)."),
    ] = None,
    test_fraction: Annotated[
        float, typer.Option("--test-fraction", help="Held-out synthetic fraction.")
    ] = 0.2,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Samples per step.")] = 32,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 1e-3,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Simulation workers.")] = 2,
    executor: Annotated[
        str, typer.Option("--executor", help="Simulation: process, ray or serial.")
    ] = "process",
    device: Annotated[str, typer.Option("--device", help="cpu or cuda.")] = "cpu",
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bars.")] = False,
) -> None:
    """The whole recipe: plan, generate, train, evaluate (synthetic and real), report.md.

    Rerunning the same command resumes: the plan file is reused, stored samples are
    skipped and training continues from its checkpoint.
    """
    from mmexpert.data.engine import EXECUTORS

    if not 0 < test_fraction < 1:
        raise fail(f"--test-fraction must be within (0, 1), got {test_fraction}")
    if not (window_s > 0 and hop_s > 0):
        raise fail(f"--window-s and --hop-s must be > 0, got {window_s} and {hop_s}")
    executor = {"local": "process"}.get(executor, executor)
    if executor not in EXECUTORS:
        raise fail(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    _check_backend(llm)
    real = parse_real_source(eval_real) if eval_real is not None else None
    class_map = parse_class_map(classes)
    if class_map is not None and real is None:
        raise fail("--classes maps real-data folders: give --eval-real READER:DIR too")
    options = RunOptions(
        scenario=scenario,
        radar=radar,
        count=count,
        out=out,
        model=model,
        epochs=epochs,
        real=real,
        classes=class_map,
        llm=llm,
        encoder=encoder,
        paraphrases=paraphrases,
        seed=seed,
        window_s=window_s,
        hop_s=hop_s,
        num_frames=num_frames,
        test_fraction=test_fraction,
        batch_size=batch_size,
        learning_rate=lr,
        workers=workers,
        executor=executor,
        device=device,
        progress=not no_progress,
    )
    report = run_recipe(options)
    console.print(f"wrote {report}", markup=False)
