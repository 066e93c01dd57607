"""``mmexpert generate`` and ``mmexpert dataset info|verify|show|split|export``.

The lead's ``cli.py`` registers these::

    app.command("generate")(generate_command)
    app.add_typer(dataset_app, name="dataset")

The module also runs on its own (``python -m mmexpert.cli_dataset generate ...``) with the
same commands, which the engine's kill-and-resume test uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mmexpert.cli_common import console, fail, interrupted, load_radar_or_exit

dataset_app = typer.Typer(
    help="Dataset stores: info, verify, show, split, export.", no_args_is_help=True
)


def _open_store(directory: Path):
    from mmexpert.data.store import DatasetStore
    from mmexpert.data.store_schema import StoreError

    try:
        return DatasetStore.open(directory, mode="r")
    except StoreError as error:
        raise fail(str(error)) from None


# ----------------------------------------------------------------------------- generate
def generate_command(
    radar: Annotated[
        str,
        typer.Option("--radar", help="Preset name (see `mmexpert radar list`) or a TI .cfg path."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Dataset store folder (created or resumed).")],
    plan: Annotated[
        Path | None,
        typer.Option("--plan", help="Plan file: JSON list of sample specs (or {samples: [...]})."),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", help="Plan from this scenario first (instead of --plan)."),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Samples to plan (with --scenario).")
    ] = None,
    llm: Annotated[
        str, typer.Option("--llm", help="Planner LLM backend: local (embedded) or openai.")
    ] = "local",
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the plan.")] = 0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Parallel workers.")] = 2,
    executor: Annotated[
        str, typer.Option("--executor", help="local (process pool), ray or serial.")
    ] = "process",
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="Ray cluster address (default: start Ray locally)."),
    ] = None,
    num_frames: Annotated[
        int | None,
        typer.Option("--num-frames", min=1, help="Radar frames per sample (default: program)."),
    ] = None,
    keep_adc: Annotated[bool, typer.Option("--keep-adc", help="Also store raw ADC cubes.")] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    report_json: Annotated[
        Path | None, typer.Option("--report", help="Also write the run report as JSON.")
    ] = None,
) -> None:
    """Simulate every sample of a plan into a dataset store; reruns resume.

    The plan is a file (--plan) or made here from --scenario; then the plan and its LLM
    response cache are written next to the store
    (``OUT.plan.json``, ``OUT.llm_cache.sqlite``), so a rerun replays the same plan. Exits 1
    if any spec failed (the others are stored), 2 on bad arguments, 130 on Ctrl-C (what was
    recorded is kept; the same command resumes).
    """
    from mmexpert.data.engine import (
        EXECUTORS,
        EngineError,
        GenerationInterrupted,
        PlanFileError,
        generate,
        load_specs,
    )

    executor = {"local": "process"}.get(executor, executor)
    if executor not in EXECUTORS:
        raise fail(f"--executor must be one of local, {', '.join(EXECUTORS)}, got {executor!r}")
    if (plan is None) == (scenario is None):
        raise fail("give either --plan FILE or --scenario TEXT --count N")
    radar_config = load_radar_or_exit(radar)
    if scenario is not None:
        from mmexpert.cli_plan import build_plan, print_plan
        from mmexpert.plan import save_plan

        if count is None:
            raise fail("--scenario needs --count N")
        plan = out.with_name(out.name + ".plan.json")
        cache = out.with_name(out.name + ".llm_cache.sqlite")
        plan.parent.mkdir(parents=True, exist_ok=True)
        planned = build_plan(scenario, count, llm, cache=cache, seed=seed)
        save_plan(planned, plan)
        print_plan(planned, plan)
    try:
        specs = load_specs(plan)
    except PlanFileError as error:
        raise fail(str(error)) from None
    try:
        report = generate(
            specs,
            radar_config,
            out,
            executor=executor,  # type: ignore[arg-type]
            workers=workers,
            ray_address=ray_address,
            progress=not no_progress,
            num_frames=num_frames,
            keep_adc=keep_adc,
        )
    except EngineError as error:
        raise fail(str(error)) from None
    except GenerationInterrupted as stop:
        raise interrupted(str(stop)) from None
    console.print(report.summary(), markup=False, highlight=False)
    if report_json is not None:
        report_json.write_text(json.dumps(report.to_dict(), indent=1) + "\n")
    if report.failed:
        raise typer.Exit(code=1)


# ----------------------------------------------------------------------------- dataset
@dataset_app.command("info")
def dataset_info(directory: Annotated[Path, typer.Argument(help="Dataset store folder.")]) -> None:
    """Counts per activity, sizes, schema and saved splits."""
    with _open_store(directory) as store:
        console.print(store.info().summary(), markup=False, highlight=False)


@dataset_app.command("verify")
def dataset_verify(
    directory: Annotated[Path, typer.Argument(help="Dataset store folder.")],
) -> None:
    """Re-check every sample's checksums and schema; exit 1 unless clean."""
    with _open_store(directory) as store:
        report = store.verify()
    console.print(report.summary(), markup=False, highlight=False)
    if not report.clean:
        raise typer.Exit(code=1)


@dataset_app.command("show")
def dataset_show(
    directory: Annotated[Path, typer.Argument(help="Dataset store folder.")],
    sample_id: Annotated[str, typer.Argument(help="Sample id (see `dataset info` / manifest).")],
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw the three maps into this PNG.")
    ] = None,
) -> None:
    """Print a sample's metadata and array shapes; optionally plot its maps."""
    from mmexpert.data.store_schema import StoreError

    with _open_store(directory) as store:
        try:
            sample = store.read(sample_id)
        except KeyError:
            raise fail(f"sample {sample_id!r} is not in the store at {directory}") from None
        except StoreError as error:
            raise fail(str(error)) from None
    metadata = dict(sample.metadata)
    metadata.pop("radar_config", None)  # long; its hash stays
    console.print(json.dumps(metadata, indent=1), markup=False, highlight=False)
    for name, array in sorted(sample.arrays.items()):
        console.print(f"array {name}: {array.dtype} {list(array.shape)}", markup=False)
    if plot is not None:
        console.print(f"wrote {plot_sample_maps(sample, plot)}", markup=False)


def plot_sample_maps(sample, path: Path) -> Path:
    """Draw micro-Doppler, range-time and azimuth-time maps of a stored sample into a PNG.

    Parameters
    ----------
    sample
        A :class:`~mmexpert.data.store_schema.Sample` with the three map views [dB].
    path
        Output ``.png``.

    Returns
    -------
    Path
        The written file.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    axes_meta = sample.metadata.get("axes", {})
    duration_s = float(sample.metadata.get("timing", {}).get("duration_s", 0.0)) or None

    def extent(axis_name: str, scale: float, frames: int) -> list[float] | None:
        axis = axes_meta.get(axis_name)
        if not axis or duration_s is None:
            return None
        return [0.0, duration_s, axis[0] * scale, axis[1] * scale]

    views = [
        ("micro_doppler", "velocity_axis", 1.0, "velocity [m/s]"),
        ("range_time", "range_axis", 1.0, "range [m]"),
        ("azimuth_time", "angle_axis", 180.0 / np.pi, "azimuth [deg]"),
    ]
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    for ax, (view, axis_name, scale, label) in zip(axes, views, strict=True):
        data = sample.arrays[view]
        peak = float(data.max())
        image = ax.imshow(
            data,
            origin="lower",
            aspect="auto",
            extent=extent(axis_name, scale, data.shape[1]),
            vmin=peak - 40.0,
            vmax=peak,
            cmap="viridis",
        )
        ax.set_title(view.replace("_", " "))
        ax.set_xlabel("time [s]" if duration_s else "frame")
        ax.set_ylabel(label if axis_name in axes_meta else "bin")
        figure.colorbar(image, ax=ax, label="dB")
    caption = (sample.metadata.get("captions") or [""])[0]
    figure.suptitle(f"{sample.sample_id} {sample.metadata.get('activity', '')}: {caption}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


@dataset_app.command("split")
def dataset_split(
    directory: Annotated[Path, typer.Argument(help="Dataset store folder.")],
    test_fraction: Annotated[
        float, typer.Option("--test-fraction", help="Target test fraction, in (0, 1).")
    ] = 0.2,
    seed: Annotated[int, typer.Option("--seed", help="Orders the groups.")] = 0,
    name: Annotated[str, typer.Option("--name", help="Split name saved in the store.")] = "default",
) -> None:
    """Grouped train/test split by motion program (rounded), saved into the store."""
    from mmexpert.data.splits import SplitError, grouped_split, motion_group_key
    from mmexpert.data.store import DatasetStore
    from mmexpert.data.store_schema import StoreError

    try:
        with DatasetStore.open(directory, mode="a") as store:
            split = grouped_split(store, motion_group_key(), test_fraction, seed)
            store.save_split(name, split.assignment())
    except (SplitError, StoreError) as error:
        raise fail(str(error)) from None
    console.print(
        f"split {name!r}: train {len(split.train)}, test {len(split.test)} "
        f"(test fraction {split.achieved_test_fraction:.3f}, target {test_fraction}; "
        f"{split.n_components} groups, largest {split.largest_component})",
        markup=False,
    )


@dataset_app.command("export")
def dataset_export(
    directory: Annotated[Path, typer.Argument(help="Dataset store folder.")],
    parquet: Annotated[
        Path | None, typer.Option("--parquet", help="Write maps + metadata to this Parquet file.")
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option("--manifest", help="Write the manifest (.jsonl or .parquet), no arrays."),
    ] = None,
    split: Annotated[
        str | None, typer.Option("--split", help="Only this subset of the saved split.")
    ] = None,
) -> None:
    """Export the store (maps and metadata) to Parquet, or its manifest to JSONL/Parquet."""
    from mmexpert.data.store_schema import StoreError

    if parquet is None and manifest is None:
        raise fail("give --parquet FILE and/or --manifest FILE")
    with _open_store(directory) as store:
        try:
            if parquet is not None:
                from mmexpert.data.loaders import export_parquet

                console.print(f"wrote {export_parquet(store, parquet, split=split)}", markup=False)
            if manifest is not None:
                console.print(f"wrote {store.export_manifest(manifest)}", markup=False)
        except (StoreError, ImportError) as error:
            raise fail(str(error)) from None


# ----------------------------------------------------------------------------- standalone
standalone_app = typer.Typer(
    help="Dataset engine commands (also available as `mmexpert generate` / `mmexpert dataset`).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
standalone_app.command("generate")(generate_command)
standalone_app.add_typer(dataset_app, name="dataset")

if __name__ == "__main__":  # pragma: no cover - python -m mmexpert.cli_dataset
    standalone_app()
