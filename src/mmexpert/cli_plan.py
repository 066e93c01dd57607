"""``mmexpert plan``: a scenario sentence to a dataset plan file.

The lead's ``cli.py`` registers it::

    from mmexpert.cli_plan import plan_command
    app.command("plan")(plan_command)

It also runs on its own: ``python -m mmexpert.cli_plan --scenario ... --count ...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mmexpert.cli_common import console, fail, run_standalone


def build_plan(
    scenario: str,
    count: int,
    backend: str = "local",
    cache: Path | None = None,
    replay: bool = False,
    seed: int = 0,
    paraphrases: int = 2,
    encoder: str = "minilm",
    noise_figure_span_db: tuple[float, float] | None = None,
    distance_span_m: tuple[float, float] | None = None,
):
    """Run the planner for the command line; errors print and exit with status 2."""
    from mmexpert.llm import LLMError, StructuredOutputError, make_backend
    from mmexpert.plan import EncoderUnavailableError, PlanError, make_encoder, make_plan
    from mmexpert.plan.programs import DISTANCE_SPAN_M, NOISE_FIGURE_OFFSET_SPAN_DB

    if replay and cache is None:
        raise fail("--replay needs --cache FILE (the responses to replay)")
    try:
        llm = make_backend(backend, cache=cache, cache_mode="replay" if replay else "readwrite")
        return make_plan(
            scenario,
            count,
            llm,
            seed=seed,
            encoder=make_encoder(encoder),
            progress=True,
            paraphrases=paraphrases,
            noise_figure_span_db=noise_figure_span_db or NOISE_FIGURE_OFFSET_SPAN_DB,
            distance_span_m=distance_span_m or DISTANCE_SPAN_M,
        )
    except (StructuredOutputError, PlanError, LLMError, EncoderUnavailableError) as error:
        raise fail(str(error)) from None


def print_plan(plan, out: Path) -> None:
    """The plan summary: activities x quotas, strategies, LLM and filter counts."""
    table = Table(title=f"plan: {plan.count} samples -> {out}")
    table.add_column("activity")
    table.add_column("source")
    table.add_column("primitives")
    table.add_column("quota", justify="right")
    table.add_column("by strategy")
    for entry in plan.vocabulary.activities:
        quotas = [s for s in plan.subtasks if s.activity == entry.name]
        table.add_row(
            entry.name,
            entry.source,
            ", ".join(entry.primitives),
            str(sum(s.quota for s in quotas)),
            ", ".join(f"{s.strategy}={s.quota}" for s in quotas),
        )
    console.print(table)
    strategies = Table(title="strategies")
    strategies.add_column("strategy")
    strategies.add_column("relevance")
    strategies.add_column("weight", justify="right")
    for weight in plan.strategies:
        strategies.add_row(weight.name, weight.relevance, f"{weight.weight:g}")
    console.print(strategies)
    for line in plan.report_lines():
        console.print(line, markup=False, highlight=False)
    for failure in plan.report.llm_failures:
        console.print(f"[yellow]LLM failure[/] {escape(str(failure))}")
    console.print("timings \\[s]: " + ", ".join(f"{k} {v:.1f}" for k, v in plan.timings_s.items()))


def parse_span(
    text: str | None, option: str = "--noise-figure-db", unit: str = "dB"
) -> tuple[float, float] | None:
    """``LOW,HIGH`` of a span option (None when not given); a bad value exits with status 2."""
    if text is None:
        return None
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise fail(f"{option} takes LOW,HIGH in {unit}, got {text!r}") from None
    return low, high


NoiseFigureOption = Annotated[
    str | None,
    typer.Option(
        "--noise-figure-db",
        help="LOW,HIGH span of the scenes' noise-figure offsets [dB] (default 0,16; "
        "`mmexpert calibrate` finds a device's).",
    ),
]
DistanceOption = Annotated[
    str | None,
    typer.Option(
        "--distance-m",
        help="LOW,HIGH span of the person's start distance from the radar [m] (default 1,5; "
        "`mmexpert realism` shows where the person of real recordings is: mover_range).",
    ),
]


def plan_command(
    scenario: Annotated[str, typer.Option(help="The application, in a sentence or two.")],
    count: Annotated[int, typer.Option(min=1, help="Number of samples to plan.")],
    out: Annotated[Path, typer.Option(help="Plan file to write (JSON).")],
    backend: Annotated[
        str,
        typer.Option(
            "--llm",
            "--backend",  # the older name; run, generate and flywheel say --llm
            help="LLM backend: local (embedded SmolLM2), openai, echo.",
        ),
    ] = "local",
    cache: Annotated[
        Path | None, typer.Option(help="SQLite response cache (makes reruns reproducible).")
    ] = None,
    replay: Annotated[
        bool, typer.Option(help="Use only cached LLM responses (needs --cache).")
    ] = False,
    seed: Annotated[int, typer.Option(min=0, help="Seed of every random draw.")] = 0,
    paraphrases: Annotated[
        int, typer.Option(min=0, max=8, help="LLM paraphrases asked per sample.")
    ] = 2,
    encoder: Annotated[
        str, typer.Option(help="Sentence encoder: minilm (default) or ngram (lexical).")
    ] = "minilm",
    noise_figure_db: NoiseFigureOption = None,
    distance_m: DistanceOption = None,
) -> None:
    """Plan a dataset: activity vocabulary, strategies, quotas, samples with captions and QA."""
    from mmexpert.plan import save_plan

    plan = build_plan(
        scenario,
        count,
        backend,
        cache,
        replay,
        seed,
        paraphrases,
        encoder,
        parse_span(noise_figure_db),
        parse_span(distance_m, "--distance-m", "m"),
    )
    save_plan(plan, out)
    print_plan(plan, out)


if __name__ == "__main__":
    run_standalone(plan_command)
