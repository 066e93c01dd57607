"""Realism report: EMD and fractions on known distributions, every source kind, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from mmexpert.cli_realism import realism_command
from mmexpert.data.samples import POINT_COLUMNS
from mmexpert.data.store import DatasetStore
from mmexpert.data.store_schema import Sample, radar_schema, sample_key
from mmexpert.dsp.pointcloud import POINT_DTYPE
from mmexpert.eval.realism import (
    NEAR_RANGE_M,
    PooledPoints,
    RealismError,
    compare_point_clouds,
    load_real_points,
    load_synthetic_points,
    parse_real_source,
    plot_realism,
    pool_point_frames,
    realism_report,
)
from mmexpert.radar.presets import load_radar

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RADHAR_SAMPLE = SHARED_DATA / "radhar-sample"


def _frames(rng: np.random.Generator, count: int = 40, x_shift: float = 0.0) -> list[np.ndarray]:
    """Frames of 3-9 random points (POINT_DTYPE), ranges consistent with positions."""
    frames = []
    for _ in range(count):
        n = int(rng.integers(3, 10))
        points = np.zeros(n, dtype=POINT_DTYPE)
        points["x"] = rng.normal(0.0, 0.5, n) + x_shift
        points["y"] = rng.uniform(1.0, 4.0, n)
        points["z"] = rng.normal(0.0, 0.3, n)
        points["range"] = np.sqrt(points["x"] ** 2 + points["y"] ** 2 + points["z"] ** 2)
        points["velocity"] = rng.choice([0.0, 0.0, 0.1, 1.0], n)
        points["intensity"] = rng.uniform(10.0, 30.0, n)
        frames.append(points)
    return frames


def _pooled(frames: list[np.ndarray], name: str = "test", rate: float = 30.0) -> PooledPoints:
    return pool_point_frames(name, frames, rate, clips=1)


# ----------------------------------------------------------------------------- statistics


def test_identical_sides_have_zero_distance() -> None:
    side = _pooled(_frames(np.random.default_rng(0)))
    report = compare_point_clouds(side, side, zero_velocity_tolerance_mps=0.05)
    for row in report.rows:
        if row.emd is not None:
            assert row.emd == pytest.approx(0.0, abs=1e-12), row.name
        assert row.synthetic == pytest.approx(row.real, nan_ok=True), row.name


def test_a_shift_in_x_costs_exactly_the_shift() -> None:
    # The 1-D Wasserstein distance between a distribution and its translate is the shift.
    frames = _frames(np.random.default_rng(1))
    shifted = []
    for frame in frames:
        moved = frame.copy()
        moved["x"] += 0.5
        shifted.append(moved)
    report = compare_point_clouds(_pooled(shifted), _pooled(frames), 0.05)
    assert report.row("x").emd == pytest.approx(0.5, abs=1e-6)  # float32 points
    assert report.row("y").emd == pytest.approx(0.0, abs=1e-12)
    assert report.row("x").synthetic - report.row("x").real == pytest.approx(0.5, abs=1e-6)


def test_points_per_frame_mean_and_distance() -> None:
    rng = np.random.default_rng(2)
    frames = _frames(rng)
    doubled = [np.concatenate([f, f]) for f in frames]
    report = compare_point_clouds(_pooled(doubled), _pooled(frames), 0.05)
    counts = np.array([len(f) for f in frames])
    assert report.row("points_per_frame").real == pytest.approx(counts.mean())
    assert report.row("points_per_frame").synthetic == pytest.approx(2 * counts.mean())
    # Doubling every count moves each frame by its own count: EMD = mean count.
    assert report.row("points_per_frame").emd == pytest.approx(counts.mean())


def test_zero_velocity_fraction_follows_the_tolerance() -> None:
    points = np.zeros(8, dtype=POINT_DTYPE)
    points["velocity"] = [0.0, 0.0, 0.0, 0.0, 0.1, -0.1, 1.0, -1.0]
    points["range"] = [0.05, 0.1, 1, 1, 1, 1, 1, 1]
    side = _pooled([points])
    strict = compare_point_clouds(side, side, 0.05)
    loose = compare_point_clouds(side, side, 0.2)
    assert strict.row("zero_velocity_fraction").real == pytest.approx(0.5)
    assert loose.row("zero_velocity_fraction").real == pytest.approx(0.75)
    assert strict.row("near_range_fraction").real == pytest.approx(2 / 8)
    assert NEAR_RANGE_M > 0.1
    # Moving points only: |v| = 0.1 and 1.0 with the strict tolerance, 1.0 with the loose.
    assert strict.row("velocity_moving").real == pytest.approx(0.55)
    assert loose.row("velocity_moving").real == pytest.approx(1.0)


def test_intensity_shape_ignores_a_constant_offset() -> None:
    frames = _frames(np.random.default_rng(3))
    brighter = []
    for frame in frames:
        moved = frame.copy()
        moved["intensity"] += 7.0
        brighter.append(moved)
    report = compare_point_clouds(_pooled(brighter), _pooled(frames), 0.05)
    assert report.row("intensity").emd == pytest.approx(7.0, abs=1e-4)
    assert report.row("intensity_shape").emd == pytest.approx(0.0, abs=1e-4)


def test_bad_comparisons_are_refused() -> None:
    side = _pooled(_frames(np.random.default_rng(4)))
    empty = _pooled([np.zeros(0, dtype=POINT_DTYPE)], name="empty")
    with pytest.raises(RealismError, match="empty: no points"):
        compare_point_clouds(side, empty)
    with pytest.raises(RealismError, match="zero_velocity_tolerance_mps"):
        compare_point_clouds(side, side, -1.0)


def test_report_json_and_plot(tmp_path: Path) -> None:
    synthetic = _pooled(_frames(np.random.default_rng(5), x_shift=0.3), name="synthetic")
    real = _pooled(_frames(np.random.default_rng(6)), name="radhar:/real")
    report = compare_point_clouds(synthetic, real, 0.05)
    data = json.loads(report.to_json())
    names = [row["name"] for row in data["rows"]]
    assert {"points_per_frame", "zero_velocity_fraction", "velocity", "intensity"} <= set(names)
    assert data["zero_velocity_tolerance_mps"] == 0.05
    with pytest.raises(KeyError, match="no realism statistic"):
        report.row("nonsense")
    path = plot_realism(synthetic, real, report, tmp_path / "plots" / "realism.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- sources


def _write_ros_dump(path: Path, frames: list[np.ndarray], start_s: float = 100.0) -> None:
    """A ti_mmwave_rospkg text dump (driver frame: x forward, y left) at 30 fps."""
    lines = []
    seq = 0
    for index, frame in enumerate(frames):
        stamp = start_s + index / 30.0
        for point_id, point in enumerate(frame):
            seq += 1
            secs = int(stamp)
            lines += [
                "header: ",
                f"  seq: {seq}",
                "  stamp: ",
                f"    secs: {secs}",
                f"    nsecs: {round((stamp - secs) * 1e9)}",
                '  frame_id: "ti_mmwave"',
                f"point_id: {point_id}",
                f"x: {point['y']}",
                f"y: {-point['x']}",
                f"z: {point['z']}",
                f"range: {point['range']}",
                f"velocity: {point['velocity']}",
                "doppler_bin: 8",
                "bearing: 0.0",
                f"intensity: {point['intensity']}",
                "---",
            ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def test_real_recordings_are_pooled_whatever_their_folders(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    first, second = _frames(rng, 12), _frames(rng, 9)
    _write_ros_dump(tmp_path / "a" / "walk" / "one.txt", first)
    _write_ros_dump(tmp_path / "a" / "jump" / "two.txt", second)
    _write_ros_dump(tmp_path / "b" / "x" / "one.txt", first)
    _write_ros_dump(tmp_path / "b" / "y" / "two.txt", second)
    pooled = load_real_points(f"radhar:{tmp_path / 'a'}")
    assert pooled.clips == 2
    assert pooled.num_frames == 21
    assert pooled.num_points == sum(len(f) for f in first + second)
    assert pooled.frame_rate_hz == pytest.approx(30.0, rel=1e-3)
    # Our frame survives the driver-frame round trip.
    np.testing.assert_allclose(
        np.sort(pooled.x_m), np.sort(np.concatenate([f["x"] for f in first + second])), atol=1e-5
    )
    relabelled = load_real_points(f"radhar:{tmp_path / 'b'}")
    side = _pooled(first)
    a = compare_point_clouds(side, pooled, 0.05).to_dict()["rows"]
    b = compare_point_clouds(side, relabelled, 0.05).to_dict()["rows"]
    assert a == b


def test_real_source_errors(tmp_path: Path) -> None:
    with pytest.raises(RealismError, match="READER:DIR"):
        parse_real_source("no-colon-here")
    with pytest.raises(RealismError, match="unknown reader 'nope'"):
        parse_real_source(f"nope:{tmp_path}")
    with pytest.raises(RealismError, match="no such file"):
        parse_real_source(f"radhar:{tmp_path / 'missing'}")
    with pytest.raises(RealismError, match="no recordings"):
        load_real_points(f"radhar:{tmp_path}")
    (tmp_path / "junk.txt").write_text("not a recording\n")
    with pytest.raises(RealismError, match="no ti_mmwave_rospkg point records"):
        load_real_points(f"radhar:{tmp_path}")


def _store_sample(index: int, table: np.ndarray, per_frame: np.ndarray) -> Sample:
    frames = per_frame.size
    rng = np.random.default_rng(index)
    arrays = {
        "micro_doppler": rng.random((128, frames), dtype=np.float32),
        "range_time": rng.random((256, frames), dtype=np.float32),
        "azimuth_time": rng.random((128, frames), dtype=np.float32),
        "points": table.astype(np.float32),
        "points_per_frame": per_frame.astype(np.int32),
    }
    metadata = {
        "activity": "anything",
        "captions": ["a person"],
        "radar_config": load_radar("iwr1443-radhar").to_dict(),
        "timing": {"frame_rate_hz": 30.0},
    }
    return Sample(sample_key("realism", index), arrays, metadata)


def test_store_source_reads_the_point_table(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    tables, counts = [], []
    with DatasetStore.create(tmp_path / "store", radar_schema()) as store:
        for index in range(3):
            per_frame = rng.integers(0, 6, size=10)
            table = rng.random((int(per_frame.sum()), len(POINT_COLUMNS)))
            table[:, POINT_COLUMNS.index("frame")] = np.repeat(np.arange(10), per_frame)
            store.put(_store_sample(index, table, per_frame))
            tables.append(table)
            counts.append(per_frame)
    pooled = load_synthetic_points(tmp_path / "store")
    assert pooled.clips == 3
    assert pooled.num_frames == 30
    assert pooled.frame_rate_hz == pytest.approx(30.0)
    expected_velocity = np.concatenate([t[:, POINT_COLUMNS.index("velocity")] for t in tables])
    np.testing.assert_allclose(np.sort(pooled.velocity_mps), np.sort(expected_velocity), rtol=1e-6)
    # The zero-velocity tolerance is half the preset's Doppler bin (16 loops).
    radar = load_radar("iwr1443-radhar")
    assert pooled.velocity_resolution_mps == pytest.approx(radar.velocity_resolution_mps)
    report = compare_point_clouds(pooled, pooled)
    assert report.zero_velocity_tolerance_mps == pytest.approx(radar.velocity_resolution_mps / 2)


def test_products_source_and_full_report(tmp_path: Path) -> None:
    from mmexpert.cli_args import TargetSpec
    from mmexpert.data.simulation import simulate_point_targets

    radar = load_radar("iwr1443-radhar")
    target = TargetSpec(
        range_m=2.0, velocity_mps=1.0, azimuth_rad=0.0, elevation_rad=0.0, rcs_m2=1.0
    )
    products = simulate_point_targets(radar, [target], num_frames=3, seed=0)
    products.save(tmp_path / "sim" / "clip.npz")
    pooled = load_synthetic_points(tmp_path / "sim")
    assert pooled.num_frames == 3
    assert pooled.frame_rate_hz == pytest.approx(radar.frame_rate_hz)
    assert pooled.num_points >= 3
    # The strongest point of each frame is the target: 2 m, +1 m/s, within one bin.
    strongest = np.argmax(pooled.intensity_db)
    assert pooled.range_m[strongest] == pytest.approx(2.0, abs=radar.range_resolution_m)
    assert pooled.velocity_mps[strongest] == pytest.approx(1.0, abs=radar.velocity_resolution_mps)

    rng = np.random.default_rng(9)
    _write_ros_dump(tmp_path / "real" / "r.txt", _frames(rng, 5))
    report, plot = realism_report(tmp_path / "sim", f"radhar:{tmp_path / 'real'}", tmp_path / "out")
    assert plot is not None and plot.exists()
    assert (
        json.loads((tmp_path / "out" / "realism.json").read_text())["real_points"]
        == report.real_points
    )


def test_a_corrupt_store_sample_is_a_clear_error(tmp_path: Path) -> None:
    per_frame = np.array([2, 1])
    table = np.zeros((3, len(POINT_COLUMNS)))
    with DatasetStore.create(tmp_path / "store", radar_schema()) as store:
        store.put(_store_sample(0, table, per_frame))
    files = [p for p in (tmp_path / "store").rglob("*") if p.is_file() and "shards" in p.parts]
    assert files
    for path in files:
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(RealismError, match="sample"):
        load_synthetic_points(tmp_path / "store")


def test_synthetic_source_errors(tmp_path: Path) -> None:
    with pytest.raises(RealismError, match="no such file"):
        load_synthetic_points(tmp_path / "missing")
    with pytest.raises(RealismError, match="neither a dataset store"):
        load_synthetic_points(tmp_path)
    (tmp_path / "bad.npz").write_bytes(b"not an npz")
    with pytest.raises(RealismError, match=r"not a readable \.npz"):
        load_synthetic_points(tmp_path / "bad.npz")
    DatasetStore.create(tmp_path / "empty", radar_schema()).close()
    with pytest.raises(RealismError, match="no synthetic clips"):
        load_synthetic_points(tmp_path / "empty")


# ----------------------------------------------------------------------------- CLI


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(realism_command)
    return app


def test_cli_prints_json_and_refuses_bad_sources(tmp_path: Path) -> None:
    rng = np.random.default_rng(10)
    _write_ros_dump(tmp_path / "sim" / "s.txt", _frames(rng, 4))
    _write_ros_dump(tmp_path / "real" / "r.txt", _frames(rng, 4))
    runner = CliRunner()
    bad = runner.invoke(_app(), ["--synthetic", str(tmp_path / "nothing"), "--real", "radhar:x"])
    assert bad.exit_code == 2
    bad_real = runner.invoke(
        _app(), ["--synthetic", str(tmp_path), "--real", str(tmp_path / "real")]
    )
    assert bad_real.exit_code == 2

    from mmexpert.cli_args import TargetSpec
    from mmexpert.data.simulation import simulate_point_targets

    target = TargetSpec(
        range_m=1.5, velocity_mps=0.0, azimuth_rad=0.0, elevation_rad=0.0, rcs_m2=1.0
    )
    simulate_point_targets(load_radar("iwr1443-radhar"), [target], 2).save(tmp_path / "p.npz")
    result = runner.invoke(
        _app(),
        ["--synthetic", str(tmp_path / "p.npz"), "--real", f"radhar:{tmp_path / 'real'}", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["synthetic_frames"] == 2 and data["real_frames"] == 4
    table = runner.invoke(
        _app(),
        [
            "--synthetic",
            str(tmp_path / "p.npz"),
            "--real",
            f"radhar:{tmp_path / 'real'}",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert table.exit_code == 0, table.output
    assert "points_per_frame" in table.output
    assert (tmp_path / "o" / "realism.png").exists()


# ----------------------------------------------------------------------------- real data


def test_radhar_sample_pooled_statistics() -> None:
    if not RADHAR_SAMPLE.is_dir():
        pytest.skip(f"RadHAR sample absent: {RADHAR_SAMPLE} (shared data not mounted)")
    pooled = load_real_points(f"radhar:{RADHAR_SAMPLE}")
    assert pooled.clips == 5
    assert pooled.frame_rate_hz == pytest.approx(30.0, abs=0.5)
    # The sample's README states about 20 points per frame at about 30 fps.
    assert 10 < pooled.points_per_frame.mean() < 30
    assert math.isfinite(float(np.median(pooled.intensity_db)))


# ----------------------------------------------------------------------------- simulator gaps


def _first_chirp_tx0_rx0(radar, scene) -> np.ndarray:
    """ADC samples of the first chirp (TX 0) at RX 0, noise-free and unquantized [V]."""
    from mmexpert.radar.synthesis import simulate

    assert radar.frame.chirp_tx[0] == (0,)
    cube = simulate(
        radar, scene, 1, np.random.default_rng(0), method="exact", noise=False, quantize=False
    )
    return cube.adc[0, 0, 0, 0, :].astype(np.complex128)


def test_leakage_lands_in_its_range_bin_with_the_stated_power() -> None:
    from mmexpert.radar.scene import Scene, leakage_reflectors

    radar = load_radar("iwr1443-radhar")  # TX 0 and RX 0 sit at the radar origin
    bin_index = 3
    range_m = bin_index * radar.range_resolution_m  # beat frequency exactly on FFT bin 3
    power_w = 1e-9  # -60 dBm at the RF input
    scene = Scene().add(leakage_reflectors(radar, [range_m], [power_w], [0.4], [-0.1]))
    samples = _first_chirp_tx0_rx0(radar, scene)
    received_w = np.mean(np.abs(samples) ** 2) / radar.volts_per_sqrt_watt**2
    # Radar equation with the RCS of leakage_reflectors: exactly the stated power.
    assert received_w == pytest.approx(power_w, rel=1e-5)
    spectrum = np.abs(np.fft.fft(samples))
    assert int(np.argmax(spectrum)) == bin_index


def test_leakage_is_refused_when_malformed() -> None:
    from mmexpert.radar.scene import SceneError, leakage_reflectors

    radar = load_radar("iwr1443-radhar")
    with pytest.raises(SceneError, match="ranges_m must be > 0"):
        leakage_reflectors(radar, [0.0], [1e-9], [0.0], [0.0])
    with pytest.raises(SceneError, match="powers_w must be >= 0"):
        leakage_reflectors(radar, [0.1], [-1.0], [0.0], [0.0])
    with pytest.raises(SceneError, match="one shape"):
        leakage_reflectors(radar, [0.1, 0.2], [1e-9], [0.0], [0.0])


def test_wall_echo_has_the_power_of_the_radar_image_at_twice_the_distance() -> None:
    from mmexpert.radar.scene import Scene, SceneError, Wall

    radar = load_radar("iwr1443-radhar")
    distance, gamma = 3.0, 0.5
    wall = Wall(np.array([0.0, distance, 0.0]), np.array([0.0, -1.0, 0.0]), gamma)
    echo = wall.specular_echo(np.zeros(3))
    np.testing.assert_allclose(echo.positions_m, [[0.0, distance, 0.0]])
    assert echo.rcs_m2[0] == pytest.approx(math.pi * distance**2 * gamma**2)
    samples = _first_chirp_tx0_rx0(radar, Scene().add(echo))
    received_w = np.mean(np.abs(samples) ** 2) / radar.volts_per_sqrt_watt**2
    gain = 10 ** (radar.antennas.element_gain_dbi / 10)  # boresight
    friis_w = (
        radar.receiver.tx_power_w
        * gain**2
        * gamma**2
        * (radar.wavelength_m / (4 * math.pi * 2 * distance)) ** 2
    )
    assert received_w == pytest.approx(friis_w, rel=1e-5)
    with pytest.raises(SceneError, match="lies on the wall plane"):
        wall.specular_echo(np.array([0.0, distance, 1.0]))


def test_leakage_shows_as_static_near_points_unless_clutter_removal_is_on() -> None:
    from mmexpert.data.simulation import simulate_person

    program = {"segments": [{"primitive": "stand", "duration_s": 0.4}]}
    radhar = load_radar("iwr1443-radhar")  # clutterRemoval 0, as the RadHAR driver ran
    with_leakage = simulate_person(radhar, program, seed=3, num_frames=2, keep_adc=False)
    assert 2 <= with_leakage.metadata["leakage_paths"] <= 4
    near = with_leakage.points[with_leakage.points["range"] < NEAR_RANGE_M]
    assert len(near) >= 2  # at least one per frame
    assert np.all(np.abs(near["velocity"]) < radhar.velocity_resolution_mps / 2)
    ideal = simulate_person(radhar, program, seed=3, num_frames=2, keep_adc=False, leakage=None)
    assert ideal.metadata["leakage_paths"] == 0
    assert np.sum(ideal.points["range"] < NEAR_RANGE_M) == 0
    # The same seed draws the same leakage.
    again = simulate_person(radhar, program, seed=3, num_frames=2, keep_adc=False)
    np.testing.assert_array_equal(again.points, with_leakage.points)
    # Static clutter removal (mean over chirps) takes the static coupling out, as on a device.
    udoppler = load_radar("iwr1843-udoppler")
    assert udoppler.chain.clutter_removal
    removed = simulate_person(udoppler, program, seed=3, num_frames=2, keep_adc=False)
    assert np.sum(removed.points["range"] < NEAR_RANGE_M) == 0


def test_rooms_draw_furniture_rcs_and_back_walls() -> None:
    from mmexpert.data.simulation import FURNITURE_RCS_SPAN_M2, room_from_spec
    from mmexpert.plan import RoomSpec
    from mmexpert.plan.programs import sample_scene

    room = room_from_spec(RoomSpec(furniture=6), seed=11)
    rcs = np.asarray(room.furniture_rcs_m2)
    assert rcs.shape == (6,)
    assert np.all((rcs >= FURNITURE_RCS_SPAN_M2[0]) & (rcs <= FURNITURE_RCS_SPAN_M2[1]))
    assert room_from_spec(RoomSpec(furniture=6), seed=11) == room
    rng = np.random.default_rng(1)
    scenes = [sample_scene((0.0, 2.0), rng) for _ in range(300)]
    back = np.mean([s.room.back_wall_reflectivity > 0 for s in scenes])
    assert 0.25 <= back <= 0.42
    assert max(s.room.furniture for s in scenes) == 8


def test_device_points_use_native_fft_lengths_so_static_returns_stay_static() -> None:
    from mmexpert.data.simulation import chain_pads_ffts, device_point_cloud
    from mmexpert.dsp.chain import MMEXPERT_VIEWS, ProcessingChain
    from mmexpert.radar.scene import Scene, StaticReflectors
    from mmexpert.radar.synthesis import simulate

    radar = load_radar("iwr1443-radhar")  # 16 loops, no clutter removal
    cabinet = StaticReflectors(np.array([[0.3, 2.0, 0.0]]), 10.0)  # strong static return
    cube = simulate(radar, Scene().add(cabinet), 4, np.random.default_rng(0))
    padded_chain = ProcessingChain(MMEXPERT_VIEWS)  # Doppler 16 -> 128 bins for the maps
    assert chain_pads_ffts(padded_chain, cube)
    half_bin = radar.velocity_resolution_mps / 2
    padded = np.concatenate(padded_chain(cube).points)
    # The padded spectrum resolves the Hann window's Doppler sidelobes: false movers.
    assert np.any(np.abs(padded["velocity"]) > half_bin)
    native = device_point_cloud(cube, padded_chain, frames_per_chunk=3)
    assert len(native) == 4
    for frame in native:
        assert np.all(np.abs(frame["velocity"]) < half_bin)
        assert np.min(np.abs(frame["range"] - np.hypot(0.3, 2.0))) <= radar.range_resolution_m
    # Without padding the device points are the chain's own points.
    plain = ProcessingChain()
    assert not chain_pads_ffts(plain, cube)
    for a, b in zip(device_point_cloud(cube, plain), plain(cube).points, strict=True):
        np.testing.assert_array_equal(a, b)
