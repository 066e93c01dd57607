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
