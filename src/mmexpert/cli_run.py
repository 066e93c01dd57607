"""``mmexpert eval-real`` and ``mmexpert run``: sim-to-real evaluation and the whole recipe.

The lead's ``cli.py`` registers these::

    from mmexpert.cli_run import eval_real_command, run_command
    app.command("eval-real")(eval_real_command)
    app.command("run")(run_command)

Both are argument parsing and printing around :mod:`mmexpert.flywheel.recipe`, which holds
the recipe (plan, generate, split, train, evaluate, report; every stage resumes). A
:class:`~mmexpert.flywheel.recipe.RecipeError` becomes ``error: ...`` on stderr and exit
status 2.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mmexpert.cli_common import AdaptOption, console, fail, interrupted
from mmexpert.cli_plan import DistanceOption, NoiseFigureOption, parse_span
from mmexpert.flywheel.recipe import (
    EVAL_REAL_FOLDER,
    RecipeError,
    RunOptions,
    check_real_source,
    evaluate_real_folder,
    is_raw_reader,
    json_safe,
    run_recipe,
)

__all__ = [
    "EVAL_REAL_FOLDER",
    "RunOptions",
    "check_reader_and_folder",
    "eval_real_command",
    "parse_class_map",
    "parse_real_source",
    "run_command",
    "run_recipe",
]


# ---------------------------------------------------------------- argument parsing


def parse_class_map(text: str | None) -> dict[str, str] | None:
    """``"jack=jumping jacks,squats=squats"`` -> ``{"jack": "jumping jacks", ...}``, or the
    map in a class-map file (see :func:`mmexpert.eval.real.parse_class_map`).

    An entry without ``=`` maps a folder to itself (``"squats"`` = ``"squats=squats"``).

    Raises
    ------
    typer.Exit
        (status 2, message on stderr) for an empty entry, an empty side or a repeated folder
        (a file's message names the file and line).
    """
    from mmexpert.eval.real import RealDataError
    from mmexpert.eval.real import parse_class_map as parse

    try:
        return parse(text)
    except RealDataError as error:
        raise fail(str(error)) from None


def parse_real_source(
    text: str, radar: str | None = None, option: str = "--eval-real"
) -> tuple[str, Path]:
    """``"radhar:/data/real"`` -> ``("radhar", Path("/data/real"))``; checks reader and folder.

    ``radar`` is the configuration raw captures (``dca1000:DIR``) were recorded with; where
    it is None, raw readers are refused. ``option`` names the option in the message."""
    reader, sep, folder = text.partition(":")
    if not sep or not reader or not folder:
        raise fail(f"{option} must read READER:DIR (e.g. radhar:data/real), got {text!r}")
    check_reader_and_folder(reader, Path(folder), radar if is_raw_reader(reader) else None)
    return reader, Path(folder)


def check_reader_and_folder(reader: str, folder: Path, radar: str | None = None) -> None:
    """Exit (status 2, message on stderr) for an unknown reader, a missing folder, or a
    radar configuration missing for a raw reader (``dca1000``) or given to a point reader."""
    try:
        check_real_source(reader, folder, radar)
    except RecipeError as error:
        raise fail(str(error)) from None


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
    ensemble = f"ensemble of {len(evaluation.members)}, " if evaluation.members else ""
    if evaluation.adapt != "none":
        ensemble += f"features aligned ({evaluation.adapt}), "
    console.print(
        f"accuracy {evaluation.accuracy:.3f}, macro-F1 {evaluation.macro_f1:.3f} "
        f"({ensemble}{evaluation.model_kind}, {sum(evaluation.windows_per_class.values())} "
        f"windows of {evaluation.window_s:g} s, hop {evaluation.hop_s:.3g} s)",
        highlight=False,
    )
    console.print(
        _per_class_table("real data, per class", evaluation.per_class, evaluation.windows_per_class)
    )
    console.print(f"read: {evaluation.read_report.summary()}", markup=False, highlight=False)
    if evaluation.members:
        table = Table("model", "accuracy", "macro-F1", title="each member alone")
        for member in evaluation.members:
            table.add_row(member["model"], f"{member['accuracy']:.3f}", f"{member['macro_f1']:.3f}")
        table.add_row("mean", f"{evaluation.member_mean_accuracy:.3f}", "", style="bold")
        console.print(table)


# ---------------------------------------------------------------- eval-real

LayoutOption = Annotated[
    str, typer.Option("--layout", help="dca1000 LVDS layout: xwr16xx (xWR16/18/68) or xwr14xx.")
]


def eval_real_command(
    reader: Annotated[
        str,
        typer.Option(
            "--reader",
            help="Reader: radhar or ti_csv (point clouds), dca1000 (raw .bin ADC captures, "
            "needs --radar).",
        ),
    ],
    data: Annotated[Path, typer.Option("--data", help="Folder of class folders of recordings.")],
    model: Annotated[
        list[Path],
        typer.Option(
            "--model",
            help="Saved model folder (train out/model). Give it several times to score the "
            "ensemble (mean class probabilities) and each model alone.",
        ),
    ],
    classes: Annotated[
        str | None,
        typer.Option(
            "--classes",
            help="FOLDER=CLASS,... or a class-map file (.json object, or one FOLDER=CLASS per "
            "line): the class of each folder (a CLIP model's text; one of a classifier's "
            "activities). Default: the folder names.",
        ),
    ] = None,
    radar: Annotated[
        str | None,
        typer.Option(
            "--radar",
            help="dca1000 only: preset name or the captures' TI .cfg (the radar they were "
            "recorded with).",
        ),
    ] = None,
    layout: LayoutOption = "xwr16xx",
    window_s: Annotated[float, typer.Option("--window-s", help="Window length [s].")] = 2.0,
    hop_s: Annotated[float, typer.Option("--hop-s", help="Hop between windows [s].")] = 1 / 3,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for the PNG and JSON (default: MODEL/../eval-real; an ensemble: "
            "FIRST_MODEL/../eval-real-ensemble; with --adapt M: ...-aligned-M).",
        ),
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
    adapt: AdaptOption = "none",
) -> None:
    """Score a model trained on synthetic data on labelled real recordings (point clouds, or
    raw DCA1000 captures run through the dataset's device chain)."""
    check_reader_and_folder(reader, data, radar)
    class_map = parse_class_map(classes)
    try:
        evaluation, json_path = evaluate_real_folder(
            model,
            reader,
            data,
            class_map,
            window_s=window_s,
            hop_s=hop_s,
            out=out,
            frame_rate_hz=frame_rate_hz,
            train_data=train_data,
            device=device,
            radar=radar,
            layout=layout,
            adapt=adapt,
        )
    except RecipeError as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps(json_safe(evaluation.to_json()), indent=1))
        return
    _print_real(evaluation)
    console.print(f"wrote {evaluation.plot_path} and {json_path}", markup=False)


# ---------------------------------------------------------------- run


def _print_line(message: str) -> None:
    """The recipe's progress lines, on stdout, verbatim (no rich markup)."""
    console.print(message, markup=False, highlight=False)


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
        typer.Option(
            "--eval-real",
            help="READER:DIR of labelled real recordings to score (dca1000: raw captures "
            "made with --radar).",
        ),
    ] = None,
    classes: Annotated[
        str | None,
        typer.Option("--classes", help="FOLDER=CLASS,... for --eval-real (default: folders)."),
    ] = None,
    layout: LayoutOption = "xwr16xx",
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
    ensemble: Annotated[
        int,
        typer.Option(
            "--ensemble",
            min=1,
            help="Models to train, with seeds SEED, SEED+1, ...; evaluated on their mean class "
            "probabilities, each also alone (the training seed moves a real score by points).",
        ),
    ] = 1,
    adapt: AdaptOption = "none",
    noise_figure_db: NoiseFigureOption = None,
    distance_m: DistanceOption = None,
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
    from mmexpert.data.engine import EXECUTORS, GenerationInterrupted

    if not 0 < test_fraction < 1:
        raise fail(f"--test-fraction must be within (0, 1), got {test_fraction}")
    if not (window_s > 0 and hop_s > 0):
        raise fail(f"--window-s and --hop-s must be > 0, got {window_s} and {hop_s}")
    executor = {"local": "process"}.get(executor, executor)
    if executor not in EXECUTORS:
        raise fail(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    _check_backend(llm)
    real = parse_real_source(eval_real, radar) if eval_real is not None else None
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
        layout=layout,
        classes=class_map,
        llm=llm,
        encoder=encoder,
        paraphrases=paraphrases,
        noise_figure_span_db=parse_span(noise_figure_db),
        distance_span_m=parse_span(distance_m, "--distance-m", "m"),
        seed=seed,
        ensemble=ensemble,
        adapt=adapt,
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
    try:
        report = run_recipe(options, log=_print_line)
    except RecipeError as error:
        raise fail(str(error)) from None
    except GenerationInterrupted as stop:
        raise interrupted(str(stop)) from None
    console.print(f"wrote {report}", markup=False)
