"""``mmexpert flywheel``: plan, generate, train, evaluate, analyse, revise, for K rounds.

The lead's ``cli.py`` registers it::

    from mmexpert.cli_flywheel import flywheel_command
    app.command("flywheel")(flywheel_command)

It also runs on its own: ``python -m mmexpert.cli_flywheel --scenario ... --rounds ...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mmexpert.cli_common import AdaptOption, console, fail, run_standalone


def flywheel_command(
    scenario: Annotated[str, typer.Option("--scenario", help="The application, in a sentence.")],
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="Most rounds.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (created or resumed).")],
    count: Annotated[int, typer.Option("--count", min=1, help="New samples per round.")] = 20,
    radar: Annotated[
        str, typer.Option("--radar", help="Radar preset or TI .cfg path.")
    ] = "iwr1443-radhar",
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Model registry name (default: classifier-cnn-tiny; classifier-points-tiny "
            "with --validate-real, as real recordings give point clouds only).",
        ),
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Epochs per round.")] = 150,
    llm: Annotated[
        str, typer.Option("--llm", help="LLM backend: local (embedded SmolLM2), openai, echo.")
    ] = "local",
    target: Annotated[
        float, typer.Option("--target", help="Stop at this synthetic val accuracy (0-1).")
    ] = 0.95,
    patience: Annotated[
        int, typer.Option("--patience", min=1, help="Stop after K rounds without improvement.")
    ] = 2,
    validate_real: Annotated[
        str | None,
        typer.Option("--validate-real", help="READER:DIR of labelled real recordings."),
    ] = None,
    classes: Annotated[
        str | None,
        typer.Option("--classes", help="Real-data labels: 'folder=activity,...'."),
    ] = None,
    val_count: Annotated[
        int | None, typer.Option("--val-count", min=2, help="Validation samples.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of every random draw.")] = 0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Simulation workers.")] = 1,
    executor: Annotated[
        str, typer.Option("--executor", help="process (local pool), serial or ray.")
    ] = "process",
    paraphrases: Annotated[
        int, typer.Option("--paraphrases", min=0, max=8, help="LLM texts asked per sample.")
    ] = 2,
    describe_per_class: Annotated[
        int,
        typer.Option(
            "--describe-per-class", min=0, help="Samples per weak class given LLM descriptions."
        ),
    ] = 3,
    encoder: Annotated[
        str, typer.Option("--encoder", help="Sentence encoder: minilm or ngram (lexical).")
    ] = "minilm",
    window_s: Annotated[float, typer.Option("--window-s", help="Model time window [s].")] = 2.0,
    clip_s: Annotated[
        float | None,
        typer.Option("--clip-s", help="Simulate only the first seconds of each program [s]."),
    ] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bars.")] = False,
    adapt: AdaptOption = "none",
) -> None:
    """Run the data-generation flywheel; rerun the same command to resume after a crash."""
    from mmexpert.cli_common import load_radar_or_exit
    from mmexpert.flywheel import FlywheelConfig, FlywheelError, run_flywheel
    from mmexpert.llm import list_backends
    from mmexpert.models.registry import list_models

    if llm not in list_backends():
        raise fail(f"--llm must be one of {list_backends()}, got {llm!r}")
    model = model or ("classifier-points-tiny" if validate_real else "classifier-cnn-tiny")
    if model not in list_models():
        raise fail(f"--model must be one of {list_models()}, got {model!r}")
    if executor not in ("process", "serial", "ray"):
        raise fail(f"--executor must be process, serial or ray, got {executor!r}")
    if validate_real is not None:
        from mmexpert.cli_run import parse_class_map, parse_real_source

        parse_real_source(validate_real, option="--validate-real")
        parse_class_map(classes)
    load_radar_or_exit(radar)
    config = FlywheelConfig(
        scenario=scenario,
        rounds=rounds,
        count=count,
        radar=radar,
        model=model,
        epochs=epochs,
        llm=llm,
        target=target,
        patience=patience,
        seed=seed,
        val_count=val_count,
        validate_real=validate_real,
        real_classes=classes,
        adapt=adapt,
        window_s=window_s,
        clip_s=clip_s,
        paraphrases=paraphrases,
        encoder=encoder,
        describe_per_class=describe_per_class,
        workers=workers,
        executor=executor,
    )
    try:
        index = run_flywheel(
            config,
            out,
            progress=not no_progress,
            log=lambda line: console.print(line, markup=False, highlight=False),
        )
    except FlywheelError as error:
        raise fail(str(error)) from None
    table = Table(title=f"flywheel: {', '.join(index.classes)}")
    for column in ("round", "new", "total", "synthetic val acc", "real acc", "revisions"):
        table.add_column(column, justify="right")
    for summary in index.rounds:
        table.add_row(
            str(summary.round),
            str(summary.samples_new),
            str(summary.samples_total),
            "-" if summary.synthetic_accuracy is None else f"{summary.synthetic_accuracy:.3f}",
            "-" if summary.real_accuracy is None else f"{summary.real_accuracy:.3f}",
            f"{summary.revisions_code} code / {summary.revisions_llm} LLM",
        )
    console.print(table)
    console.print(f"stopped: {index.stop_reason}; report: {out / 'report.md'}", markup=False)


if __name__ == "__main__":  # pragma: no cover - python -m mmexpert.cli_flywheel
    run_standalone(flywheel_command)
