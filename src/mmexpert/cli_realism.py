"""``mmexpert realism``: synthetic against real point-cloud statistics, side by side.

The lead's ``cli.py`` registers it::

    from mmexpert.cli_realism import realism_command
    app.command("realism")(realism_command)

Real recordings are pooled without labels (see :mod:`mmexpert.eval.realism`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mmexpert.cli_common import console, fail


def _number(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if unit == "fraction":
        return f"{100 * value:.1f} %"
    return f"{value:.3g} {unit}"


def realism_command(
    synthetic: Annotated[
        Path,
        typer.Option(
            "--synthetic", help="Dataset store folder, products .npz, or a folder of .npz files."
        ),
    ],
    real: Annotated[
        str,
        typer.Option(
            "--real", help="READER:DIR of real recordings (readers: radhar, ti_csv); pooled."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for realism.png and realism.json."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead of a table.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Read at most this many synthetic clips.")
    ] = None,
    zero_velocity_mps: Annotated[
        float | None,
        typer.Option(
            "--zero-velocity-mps",
            min=0.0,
            help="|v| counted as zero [m/s] (default: half the radar's Doppler bin).",
        ),
    ] = None,
) -> None:
    """Compare synthetic and real point clouds (points/frame, spread, velocity, SNR)."""
    from mmexpert.eval.realism import RealismError, realism_report

    try:
        report, plot = realism_report(synthetic, real, out, zero_velocity_mps, limit)
    except RealismError as error:
        raise fail(str(error)) from None
    if as_json:
        print(report.to_json())
        return
    table = Table(
        title=(
            f"realism: {report.synthetic_clips} synthetic clips ({report.synthetic_frames} "
            f"frames) vs {report.real_recordings} real recordings ({report.real_frames} "
            "frames, pooled, labels unused)"
        )
    )
    table.add_column("statistic")
    table.add_column("synthetic", justify="right")
    table.add_column("real", justify="right")
    table.add_column("EMD", justify="right")
    for row in report.rows:
        table.add_row(
            row.name,
            _number(row.synthetic, row.unit),
            _number(row.real, row.unit),
            _number(row.emd, "fraction" if row.unit == "fraction" else row.unit),
        )
    console.print(table)
    console.print(
        f"zero velocity: |v| <= {report.zero_velocity_tolerance_mps:.3g} m/s; "
        "medians for positions, velocity and intensity, means for points per frame"
    )
    if report.real_skipped:
        skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(report.real_skipped.items()))
        console.print(f"real data skipped: {skipped}")
    if plot is not None:
        console.print(f"plot: {plot}")


if __name__ == "__main__":
    typer.run(realism_command)
