"""``mmexpert realism``: synthetic against real point-cloud statistics, side by side, and
``mmexpert calibrate``: the link budget that brings them closest.

``mmexpert feature-shift``: where a model puts the real windows, and which simulator gap
moves synthetic clips there. The lead's ``cli.py`` registers them::

    from mmexpert.cli_realism import calibrate_command, feature_shift_command, realism_command
    app.command("realism")(realism_command)
    app.command("feature-shift")(feature_shift_command)
    app.command("calibrate")(calibrate_command)

Real recordings are pooled without labels (see :mod:`mmexpert.eval.realism`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mmexpert.cli_common import (
    console,
    fail,
    load_radar_or_exit,
    parse_floats,
    run_standalone,
    split_csv,
)


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


def feature_shift_command(
    model: Annotated[Path, typer.Option("--model", help="Saved model folder (train out/model).")],
    data: Annotated[Path, typer.Option("--data", help="The model's training dataset store.")],
    real: Annotated[
        str,
        typer.Option("--real", help="READER:DIR of real recordings (radhar, ti_csv); pooled."),
    ],
    split: Annotated[
        str, typer.Option("--split", help="Synthetic clips to compare with (held out: test).")
    ] = "test",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for feature_shift.png and feature_shift.json."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    repeats: Annotated[
        int, typer.Option("--repeats", min=1, help="Draws of each condition (averaged).")
    ] = 3,
    device: Annotated[str, typer.Option("--device", help="cpu or cuda.")] = "cpu",
) -> None:
    """How far a model puts unlabelled real windows from its held-out synthetic clips, and
    which simulator gap (elevation error, dropped points, speed, ...) moves them that way,
    with the model's held-out accuracy under each gap."""
    import json

    from mmexpert.cli_run import parse_real_source
    from mmexpert.data.store_schema import StoreError
    from mmexpert.eval.feature_shift import (
        TABLE_COLUMNS,
        FeatureShiftError,
        model_feature_shift,
        plot_feature_shift,
        table_rows,
    )
    from mmexpert.eval.real import RealDataError, real_raw_samples
    from mmexpert.flywheel.recipe import model_folder
    from mmexpert.models.io import ModelFileError, load_model
    from mmexpert.models.predict import PredictionError, load_inputs

    reader, folder = parse_real_source(real, option="--real")
    model_dir = model_folder(model)
    try:
        loaded = load_model(model_dir, device=device)
        synthetic = load_inputs(data, loaded.inputs.views, split)
        windows, _ = real_raw_samples(
            reader, folder, None, frame_rate_hz=loaded.inputs.frame_rate_hz
        )
        report = model_feature_shift(loaded, synthetic, windows, repeats)
    except (
        ModelFileError,
        PredictionError,
        StoreError,
        RealDataError,
        FeatureShiftError,
    ) as error:
        raise fail(str(error)) from None
    target = out if out is not None else model_dir.resolve().parent / "feature-shift"
    plot = plot_feature_shift(report, target / "feature_shift.png")
    data_json = report.to_json()
    (target / "feature_shift.json").write_text(json.dumps(data_json, indent=1) + "\n")
    if as_json:
        typer.echo(json.dumps(data_json))
        return
    table = Table(
        *TABLE_COLUMNS,
        title=(
            f"real windows ({report.real_windows}, labels unused): {report.real_shift:.2f} "
            f"held-out std from {report.synthetic_clips} synthetic clips (accuracy "
            f"{report.synthetic_accuracy:.3f} as simulated)"
        ),
    )
    for cells in table_rows(report):
        table.add_row(*cells)
    console.print(table)
    console.print(f"wrote {plot} and {target / 'feature_shift.json'}", markup=False)


def calibrate_command(
    plan: Annotated[Path, typer.Option("--plan", help="Plan file whose programs are simulated.")],
    radar: Annotated[
        str, typer.Option("--radar", help="Preset or TI .cfg of the real recordings' radar.")
    ],
    real: Annotated[
        str, typer.Option("--real", help="READER:DIR of unlabelled real recordings (pooled).")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the stores, calibration.json and .png.")
    ],
    offsets: Annotated[
        str, typer.Option("--offsets", help="Noise-figure offsets to try [dB], comma-separated.")
    ] = "0,4,8,12,16",
    cfar_thresholds: Annotated[
        str,
        typer.Option(
            "--cfar-thresholds",
            help="Range CFAR thresholds to try with every offset [dB], comma-separated "
            "(default: the radar's own).",
        ),
    ] = "",
    count: Annotated[
        int, typer.Option("--count", min=1, help="Programs simulated per offset (all classes).")
    ] = 50,
    statistics: Annotated[
        str, typer.Option("--statistics", help="Window statistics summed in the distance.")
    ] = "frames_with_movers,fast_mover_fraction,movers_per_frame",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Parallel workers.")] = 2,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Find the noise-figure offset (and, with --cfar-thresholds, the range CFAR threshold)
    whose simulated windows look most like real ones.

    The same programs are simulated at every grid point; reruns resume. No label is read.
    """
    from mmexpert.data.engine import EngineError, PlanFileError, load_specs
    from mmexpert.eval.calibrate import (
        CalibrationError,
        balanced_subset,
        calibrate_link_budget,
    )
    from mmexpert.eval.realism import RealismError

    radar_config = load_radar_or_exit(radar)
    try:
        specs = balanced_subset(load_specs(plan), count)
        calibration = calibrate_link_budget(
            specs,
            radar_config,
            real,
            out,
            parse_floats(offsets, "--offsets"),
            split_csv(statistics),
            workers=workers,
            progress=not no_progress,
            cfar_thresholds_db=(
                parse_floats(cfar_thresholds, "--cfar-thresholds") if cfar_thresholds else None
            ),
        )
    except (PlanFileError, EngineError, CalibrationError, RealismError) as error:
        raise fail(str(error)) from None
    if as_json:
        print(calibration.to_json())
        return
    table = Table(
        title=(
            f"link budget: {len(specs)} programs per offset against "
            f"{calibration.real_windows} real windows (labels unused)"
        )
    )
    grid = calibration.best.cfar_threshold_db is not None  # thresholds were tried
    if grid:
        table.add_column("CFAR [dB]", justify="right")
    table.add_column("offset [dB]", justify="right")
    for name in calibration.statistics:
        table.add_column(f"{name} (EMD)", justify="right")
    table.add_column("distance", justify="right")
    for result in calibration.results:
        table.add_row(
            *([f"{result.cfar_threshold_db:.1f}"] if grid else []),
            f"{result.offset_db:+.1f}",
            *(
                f"{result.synthetic_median[name]:.3g} ({result.emd[name]:.3g})"
                for name in calibration.statistics
            ),
            f"{result.distance:.3f}",
        )
    table.add_row(
        *([""] if grid else []),
        "real",
        *(f"{calibration.real_median[n]:.3g}" for n in calibration.statistics),
        "",
    )
    console.print(table)
    best_cfar = calibration.best.cfar_threshold_db
    console.print(
        f"best noise-figure offset: {calibration.best.offset_db:+.1f} dB "
        + (f"with range CFAR {best_cfar:g} dB " if best_cfar is not None else "")
        + "(medians per window; distance = sum of EMD / std of the real windows)"
    )
    if calibration.edge_note is not None:
        console.print(calibration.edge_note, markup=False)
    console.print(f"report: {out / 'calibration.json'}, plot: {out / 'calibration.png'}")
    if grid and calibration.radar_cfg is None:
        console.print(
            "the best radar cannot be written as a TI cfg (its board, antennas or ADC bits "
            "are not a TI device's)"
        )
    elif grid:
        console.print(
            f"the radar with range CFAR {best_cfar:g} dB: {calibration.radar_cfg} "
            f"(mmexpert run --radar {calibration.radar_cfg} --noise-figure-db LOW,HIGH)",
            markup=False,
        )


if __name__ == "__main__":
    run_standalone(realism_command)
