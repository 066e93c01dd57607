"""The ``mmexpert`` command: wires library calls together, holds no physics of its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from mmexpert.cli_args import ArgumentError, parse_target
from mmexpert.cli_common import RadarOption, console, fail, load_radar_or_exit
from mmexpert.cli_dataset import dataset_app, generate_command
from mmexpert.cli_flywheel import flywheel_command
from mmexpert.cli_llm_models import ask_command, caption_command, train_llm
from mmexpert.cli_models import predict_command, stress_command, train_app
from mmexpert.cli_plan import plan_command
from mmexpert.cli_realism import calibrate_command, feature_shift_command, realism_command
from mmexpert.cli_run import eval_real_command, run_command
from mmexpert.cli_web import serve_command
from mmexpert.radar.config import RadarConfigError

app = typer.Typer(
    name="mmexpert",
    help="Scenario text to synthetic mmWave radar data: planning, exact FMCW simulation, the "
    "TI device chain, datasets and models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich markup would swallow the units, e.g. "[dB]"
)
radar_app = typer.Typer(
    help="Radar configurations: presets and TI .cfg files.", no_args_is_help=True
)
simulate_app = typer.Typer(help="Simulate radar captures.", no_args_is_help=True)
motion_app = typer.Typer(help="Human motion primitives.", no_args_is_help=True)
render_app = typer.Typer(help="Animations.", no_args_is_help=True)
llm_app = typer.Typer(help="Language models: serve the embedded one.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (JSON output).", no_args_is_help=True)
train_app.command("llm")(train_llm)

# In data-flow order: plan -> simulate -> generate -> train -> predict.
app.command("plan")(plan_command)
app.add_typer(radar_app, name="radar")
app.add_typer(motion_app, name="motion")
app.add_typer(simulate_app, name="simulate")
app.add_typer(render_app, name="render")
app.command("generate")(generate_command)
app.add_typer(dataset_app, name="dataset")
app.add_typer(train_app, name="train")
app.command("predict")(predict_command)
app.command("stress")(stress_command)
app.command("eval-real")(eval_real_command)
app.command("realism")(realism_command)
app.command("feature-shift")(feature_shift_command)
app.command("calibrate")(calibrate_command)
app.command("run")(run_command)
app.command("flywheel")(flywheel_command)
app.command("caption")(caption_command)
app.command("ask")(ask_command)
app.add_typer(llm_app, name="llm")
app.command("serve")(serve_command)
app.add_typer(bench_app, name="bench")


# ---------------------------------------------------------------------------- radar
@radar_app.command("list")
def radar_list() -> None:
    """List the radar presets shipped with mmExpert."""
    from mmexpert.radar.presets import list_presets

    for name in list_presets():
        console.print(name)


_INFO_ROWS = [
    ("device", "device", None, ""),
    ("start frequency", "start_freq_hz", 1e-9, "GHz"),
    ("wavelength (ADC centre)", "wavelength_m", 1e3, "mm"),
    ("slope", "slope_hz_per_s", 1e-12, "MHz/us"),
    ("sampled bandwidth", "sampled_bandwidth_hz", 1e-9, "GHz"),
    ("ADC samples", "num_adc_samples", None, ""),
    ("ADC sample rate", "sample_rate_hz", 1e-6, "Msps"),
    ("range resolution", "range_resolution_m", 1e2, "cm"),
    ("maximum range", "max_range_m", 1.0, "m"),
    ("TX x RX", None, None, ""),
    ("chirps per loop", "chirps_per_loop", None, ""),
    ("loops per frame", "num_loops", None, ""),
    ("loop time", "loop_time_s", 1e6, "us"),
    ("maximum velocity", "max_velocity_mps", 1.0, "+- m/s"),
    ("velocity resolution", "velocity_resolution_mps", 1.0, "m/s"),
    ("azimuth virtual elements", "num_azimuth_virtual", None, ""),
    ("azimuth resolution", "azimuth_resolution_deg", 1.0, "deg"),
    ("frame rate", "frame_rate_hz", 1.0, "Hz"),
    ("duty cycle", "duty_cycle", 1e2, "%"),
    ("noise power per sample", "noise_power_dbm", 1.0, "dBm"),
    ("SNR of 1 m^2 at 5 m per sample", "snr_1m2_at_5m_per_sample_db", 1.0, "dB"),
]


@radar_app.command("info")
def radar_info(
    preset_or_cfg: Annotated[str, typer.Argument(help="Preset name or TI .cfg path.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (SI units).")] = False,
) -> None:
    """Print the derived quantities of a radar (range/velocity/angle resolution ...)."""
    summary = load_radar_or_exit(preset_or_cfg).summary()
    if as_json:
        print(json.dumps(summary, indent=1))
        return
    table = Table(title=f"radar {summary['name']}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for label, key, scale, unit in _INFO_ROWS:
        if key is None:
            value = f"{summary['num_tx']} x {summary['num_rx']}"
        elif scale is None:
            value = str(summary[key])
        else:
            value = f"{summary[key] * scale:.4g}"
        table.add_row(label, value, unit)
    console.print(table)


# ------------------------------------------------------------------------ simulate
@simulate_app.command("targets")
def simulate_targets(
    radar: RadarOption,
    target: Annotated[
        list[str],
        typer.Option(help="r=<m>,v=<m/s, + away>,az=<deg>[,el=<deg>][,rcs=<m^2>]; repeatable."),
    ],
    out: Annotated[Path, typer.Option(help="Output .npz file.")],
    frames: Annotated[int, typer.Option(min=1, help="Number of frames.")] = 4,
    no_noise: Annotated[bool, typer.Option("--no-noise", help="Noise-free cube.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of every random draw.")] = 0,
    exact: Annotated[bool, typer.Option(help="Use the exact reference synthesis.")] = False,
) -> None:
    """Simulate point targets and write the ADC cube, point clouds and maps to an .npz."""
    from mmexpert.data.simulation import simulate_point_targets

    radar_cfg = load_radar_or_exit(radar)
    try:
        specs = [parse_target(t) for t in target]
    except ArgumentError as exc:
        raise fail(str(exc)) from None
    for spec in specs:
        if spec.range_m >= radar_cfg.max_range_m:
            raise fail(
                f"target at {spec.range_m} m is beyond the maximum range "
                f"{radar_cfg.max_range_m:.2f} m of radar '{radar_cfg.name}'"
            )
    with console.status("simulating"):
        result = simulate_point_targets(
            radar_cfg,
            specs,
            frames,
            seed=seed,
            noise=not no_noise,
            method="exact" if exact else "fast",
        )
        path = result.save(out)
    console.print(f"wrote {path} ({frames} frames, {result.num_points} points)")


@simulate_app.command("motion")
def simulate_motion(
    radar: RadarOption,
    out: Annotated[Path, typer.Option(help="Output .npz file.")],
    program: Annotated[Path | None, typer.Option(help="Motion program JSON file.")] = None,
    activity: Annotated[
        str | None,
        typer.Option(
            help="Shortcut: one primitive with defaults, an adult 3 m away facing "
            "the radar (see `mmexpert motion list`)."
        ),
    ] = None,
    frames: Annotated[int | None, typer.Option(min=1, help="Frames (default: the motion).")] = None,
    mount_height: Annotated[float, typer.Option(help="Radar height above the floor [m].")] = 1.0,
    room: Annotated[str, typer.Option(help="'empty' or 'demo' (furniture + side wall).")] = "empty",
    no_noise: Annotated[bool, typer.Option("--no-noise", help="Noise-free cube.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the motion style and the noise.")] = 0,
) -> None:
    """Simulate a person performing a motion program (or one activity) in front of a radar."""
    from mmexpert.data.simulation import NAMED_ROOMS, activity_program, simulate_person
    from mmexpert.motion import ProgramError, parse_program

    if (program is None) == (activity is None):
        raise fail("give exactly one of --program FILE.json or --activity NAME")
    if room not in NAMED_ROOMS:
        raise fail(f"--room must be one of {sorted(NAMED_ROOMS)}, got '{room}'")
    radar_cfg = load_radar_or_exit(radar)
    try:
        parsed = parse_program(program if program else activity_program(activity))
    except ProgramError as exc:
        raise fail(str(exc)) from None
    with console.status("simulating"):
        products = simulate_person(
            radar_cfg,
            parsed,
            seed=seed,
            num_frames=frames,
            mount_height_m=mount_height,
            room=NAMED_ROOMS[room],
            noise=not no_noise,
        )
        path = products.save(out)
    console.print(
        f"wrote {path} ({len(products.points_per_frame)} frames, "
        f"{products.metadata['num_scatterers']} body scatterers, "
        f"{products.metadata['visible_fraction']:.0%} visible, {products.num_points} points)"
    )


@render_app.command("motion")
def render_motion(
    file: Annotated[Path, typer.Argument(help="An .npz from `mmexpert simulate motion`.")],
    out: Annotated[Path, typer.Option(help="Output GIF.")],
    fps: Annotated[float, typer.Option(min=1, help="Animation frame rate [Hz].")] = 15.0,
) -> None:
    """Animate the skeleton and its scatterers next to the micro-Doppler."""
    from mmexpert.data.products import ProductsFileError, SimulationProducts
    from mmexpert.eval.animation import render_person

    try:
        products = SimulationProducts.load(file)
    except (ProductsFileError, RadarConfigError) as exc:
        raise fail(f"cannot read {file}: {exc}") from None
    if "joints" not in products.extras:
        raise fail(f"{file} holds no person (simulate it with `mmexpert simulate motion`)")
    with console.status("rendering"):
        path = render_person(products, out, fps=fps)
    console.print(f"wrote {path}")


@motion_app.command("list")
def motion_list() -> None:
    """List the motion primitives and their parameters."""
    from mmexpert.motion import list_primitives

    table = Table(title="motion primitives")
    table.add_column("primitive")
    table.add_column("parameters")
    table.add_column("description")
    for spec in list_primitives():
        params = ", ".join(p["name"] for p in spec["parameters"])
        table.add_row(spec["name"], params, spec["description"])
    console.print(table)


# ------------------------------------------------------------------------- process
@app.command("process")
def process_capture(
    capture: Annotated[Path, typer.Argument(help="DCA1000 raw capture (adc_data.bin).")],
    radar: RadarOption,
    out: Annotated[Path, typer.Option(help="Output .npz (same keys as `simulate`).")],
    layout: Annotated[
        str, typer.Option(help="LVDS layout: xwr16xx (xWR16/18/68) or xwr14xx.")
    ] = "xwr16xx",
    frames: Annotated[int | None, typer.Option(min=1, help="Frames to read (default all).")] = None,
) -> None:
    """Run the device chain on a real DCA1000 capture recorded with a TI .cfg."""
    from mmexpert.data.dca1000 import Dca1000Error, read_dca1000
    from mmexpert.data.products import process

    radar_cfg = load_radar_or_exit(radar)
    try:
        cube = read_dca1000(capture, radar_cfg, num_frames=frames, layout=layout)
    except Dca1000Error as exc:
        raise fail(str(exc)) from None
    with console.status(f"processing {cube.num_frames} frames"):
        products = process(cube, {"kind": "dca1000", "capture": capture.name})
        path = products.save(out)
    console.print(f"wrote {path} ({cube.num_frames} frames, {products.num_points} points)")


# ---------------------------------------------------------------------------- plot
@app.command("plot")
def plot(
    file: Annotated[Path, typer.Argument(help="An .npz written by `mmexpert simulate`.")],
    out: Annotated[Path, typer.Option(help="Folder for the PNGs.")],
) -> None:
    """Write PNGs of the range-Doppler map, the three time maps and the point cloud."""
    from mmexpert.data.products import ProductsFileError, SimulationProducts
    from mmexpert.eval.plots import plot_products

    try:
        products = SimulationProducts.load(file)
    except (ProductsFileError, RadarConfigError) as exc:
        raise fail(f"cannot read {file}: {exc}") from None
    for path in plot_products(products.arrays(), out):
        console.print(f"wrote {path}")


# ----------------------------------------------------------------------------- llm
@llm_app.command("serve")
def llm_serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    backend: Annotated[
        str, typer.Option(help="Backend to expose (default: the embedded SmolLM2).")
    ] = "local",
) -> None:
    """Serve an LLM backend as an OpenAI-compatible HTTP API (/v1/chat/completions)."""
    from mmexpert.llm import LLMError, list_backends, make_backend, serve

    if backend not in list_backends():
        raise fail(f"unknown backend '{backend}'; choose one of {list_backends()}")
    try:
        llm = make_backend(backend)
    except LLMError as exc:
        raise fail(str(exc)) from None
    console.print(f"serving '{backend}' on http://{host}:{port}/v1 (Ctrl-C stops)")
    serve(llm, host=host, port=port)


# ---------------------------------------------------------------------------- demo
DEMO_PROGRAM = {
    "subject": {"height_m": 1.72, "age_group": "adult"},
    "placement": {"start_xy_m": [0.3, 4.5]},
    "segments": [
        {"primitive": "walk_forward", "parameters": {"speed_mps": 1.2}, "duration_s": 2.0},
        {"primitive": "wave", "parameters": {"hand": "right"}, "duration_s": 2.0},
    ],
}


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/demo"),
    radar: RadarOption = "iwr1843-udoppler",
    seed: Annotated[int, typer.Option(help="Seed of every random draw.")] = 0,
) -> None:
    """Run end to end on the embedded defaults and write products, PNGs and a GIF.

    A point-target check, then a person walking and waving in a furnished room with a side
    wall.
    """
    import time

    from mmexpert.cli_args import TargetSpec
    from mmexpert.data.simulation import DEMO_ROOM, simulate_person, simulate_point_targets
    from mmexpert.eval.animation import render_person
    from mmexpert.eval.plots import plot_products

    radar_cfg = load_radar_or_exit(radar)
    radar_info(radar)
    out.mkdir(parents=True, exist_ok=True)

    console.rule("1. point targets: r=3 m v=+1 m/s az=+20 deg; r=5.5 m v=-0.5 m/s az=-10 deg")
    targets = [TargetSpec(3.0, 1.0, 0.349066), TargetSpec(5.5, -0.5, -0.174533)]
    start = time.perf_counter()
    products = simulate_point_targets(radar_cfg, targets, num_frames=4, seed=seed)
    products.save(out / "targets.npz")
    plot_products(products.arrays(), out / "targets")
    strongest = products.frame_points(0)
    strongest = np.sort(strongest, order="intensity")[::-1][: len(targets)]
    for point in np.sort(strongest, order="range"):
        console.print(
            f"  detected r={point['range']:.3f} m  v={point['velocity']:+.3f} m/s  "
            f"az={np.degrees(point['bearing']):+.1f} deg  SNR={point['intensity']:.1f} dB"
        )
    console.print(f"  {time.perf_counter() - start:.1f} s -> {out / 'targets'}")

    console.rule("2. a person walks toward the radar, then waves (room: furniture + wall)")
    start = time.perf_counter()
    person = simulate_person(radar_cfg, DEMO_PROGRAM, seed=seed, room=DEMO_ROOM, keep_adc=False)
    person.save(out / "person.npz")
    plot_products(person.arrays(), out / "person")
    render_person(person, out / "person" / "person.gif")
    frames = len(person.points_per_frame)
    console.print(
        f"  {frames} frames, {person.metadata['num_scatterers']} body scatterers "
        f"({person.metadata['visible_fraction']:.0%} visible), "
        f"{person.num_points / frames:.1f} points per frame"
    )
    console.print(f"  {time.perf_counter() - start:.1f} s -> {out / 'person'}")


# --------------------------------------------------------------------------- bench
@bench_app.command("synth")
def bench_synth(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    scatterers: Annotated[int, typer.Option(min=1)] = 2000,
    frames: Annotated[int, typer.Option(min=1)] = 5,
) -> None:
    """Fast versus exact synthesis, side by side in one run."""
    from mmexpert.radar.benchmark import run_synth_benchmark

    result = run_synth_benchmark(num_scatterers=scatterers, num_frames=frames)
    if as_json:
        print(json.dumps(result, indent=1))
        return
    table = Table(title="synthesis benchmark")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)


def main() -> None:  # pragma: no cover - console entry point
    app()
