"""What every ``mmexpert`` sub-command shares: consoles, the error exit, radar loading,
comma-separated option values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from mmexpert.models.adapt import ADAPT_METHODS
from mmexpert.radar.config import RadarConfig, RadarConfigError

# soft_wrap: a long path is printed whole (the terminal wraps it) instead of being broken
# mid-name by rich, so it can be copied from the output
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

RadarOption = Annotated[
    str, typer.Option("--radar", help="Preset name (see `mmexpert radar list`) or a TI .cfg path.")
]


def _check_adapt(value: str) -> str:
    if value not in ADAPT_METHODS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(ADAPT_METHODS)}")
    return value


AdaptOption = Annotated[
    str,
    typer.Option(
        "--adapt",
        callback=_check_adapt,
        help="Label-free test-time alignment of the model's features over the whole set "
        f"before its head: {', '.join(ADAPT_METHODS)} (default none; assumes the set mixes "
        "the classes roughly as training did).",
    ),
]


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned exit (status 2).

    The message is escaped: rich would read "[Hz]" as a tag and drop it, and fail on a
    stray "[/x]" from LLM output."""
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code=2)


def interrupted(message: str) -> typer.Exit:
    """Print what a Ctrl-C'd command kept on stderr; raise the returned exit (status 130,
    the shell's code for Ctrl-C)."""
    err_console.print(message, markup=False, highlight=False)
    return typer.Exit(code=130)


def run_standalone(command: Callable[..., Any]) -> None:
    """Run one sub-command as its own program (``python -m mmexpert.cli_plan ...``), set up
    as ``mmexpert`` is: plain help (rich markup would drop units such as "[dB]") and plain
    tracebacks."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
    app.command()(command)
    app()


def split_csv(text: str) -> tuple[str, ...]:
    """The non-empty, stripped items of a comma-separated option value."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def parse_floats(text: str, option: str, expected: str = "comma-separated numbers") -> list[float]:
    """The numbers of a comma-separated option value; exit status 2 naming ``option`` and
    what it takes (``expected``) when one is not a number."""
    try:
        return [float(item) for item in split_csv(text)]
    except ValueError:
        raise fail(f"{option} takes {expected}, got {text!r}") from None


def load_radar_or_exit(preset_or_cfg: str) -> RadarConfig:
    """A preset or TI ``.cfg``; a clear error and exit status 2 when it cannot be used."""
    from mmexpert.radar.presets import load_radar

    try:
        return load_radar(preset_or_cfg)
    except (RadarConfigError, OSError) as exc:
        raise fail(str(exc)) from None
