"""Window statistics in the person frame (realism report): closed-form cases."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mmexpert.dsp.pointcloud import POINT_DTYPE
from mmexpert.eval.realism import (
    PooledPoints,
    compare_point_clouds,
    plot_window_statistics,
    pool_point_frames,
    side_window_statistics,
)
from mmexpert.eval.window_stats import window_statistics

RATE = 30.0
STEP = 0.6  # Doppler bin [m/s]


def _frame(points: list[tuple[float, float, float, float]]) -> np.ndarray:
    frame = np.zeros(len(points), dtype=POINT_DTYPE)
    for index, (x, y, z, velocity) in enumerate(points):
        frame[index]["x"], frame[index]["y"], frame[index]["z"] = x, y, z
        frame[index]["range"] = math.sqrt(x * x + y * y + z * z)
        frame[index]["velocity"] = velocity
        frame[index]["intensity"] = 20.0
    return frame


def _walker(frames: int = 60, speed_mps: float = 0.6) -> list[np.ndarray]:
    """One mover walking away at ``speed_mps`` on boresight, in the first Doppler bin, two
    static points beside it (one inside the 1.2 m gate, one 3 m away), every other frame a
    fast mover (2 bins) 0.3 m above."""
    out = []
    for f in range(frames):
        y = 2.0 + speed_mps * f / RATE
        points = [(0.0, y, 0.0, STEP), (0.5, y, 0.0, 0.0), (3.0, y, 0.0, 0.0)]
        if f % 2 == 0:
            points.append((0.0, y, 0.3, -2 * STEP))
        out.append(_frame(points))
    return out


def _side(frames: list[np.ndarray], clips: list[int]) -> PooledPoints:
    return pool_point_frames("t", frames, RATE, len(clips), frames_per_clip=clips)


def test_window_statistics_of_a_known_walker() -> None:
    stats = window_statistics(_side(_walker(), [60]), zero_velocity_tolerance_mps=STEP / 2)
    assert len(stats["movers_per_frame"]) == 1  # one 2 s window in 60 frames at 30 fps
    assert stats["movers_per_frame"][0] == 1.5  # one mover per frame + one every other frame
    assert stats["frames_with_movers"][0] == 1.0
    assert stats["static_per_frame"][0] == 1.0  # the point 3 m away is outside the gate
    assert math.isclose(stats["fast_mover_fraction"][0], 30 / 90)
    assert math.isclose(stats["receding_fraction"][0], 60 / 90)
    # 1 s between the halves' mean times at 0.6 m/s (the fast mover's range follows it)
    assert abs(stats["mover_range_drift"][0] - 0.6) < 0.02
    # on boresight from 2.0 m to 2.59 m: the mean range of the movers is the mean y
    walked = 2.0 + 0.6 * np.arange(60) / RATE
    expected = np.concatenate([walked, walked[::2]]).mean()
    assert math.isclose(stats["mover_range"][0], expected, rel_tol=1e-6)
    assert stats["mover_spread_x"][0] == 0.0
    assert math.isclose(stats["mover_spread_z"][0], np.std([0.0] * 60 + [0.3] * 30), rel_tol=1e-5)


def test_mover_intensity_is_the_median_over_the_movers_only() -> None:
    frames = _walker()
    expected = []
    for index, frame in enumerate(frames):
        moving = frame["velocity"] != 0.0
        frame["intensity"][moving] = 10.0 * (1 + index % 3)  # 10, 20 or 30 dB
        frame["intensity"][~moving] = 99.0  # static points must not count
        expected += [10.0 * (1 + index % 3)] * int(moving.sum())
    stats = window_statistics(_side(frames, [60]), zero_velocity_tolerance_mps=STEP / 2)
    assert stats["mover_intensity"][0] == np.median(expected)
    still = [_frame([(0.5, 2.0, 0.0, 0.0)]) for _ in range(60)]
    assert math.isnan(window_statistics(_side(still, [60]), STEP / 2)["mover_intensity"][0])


def test_windows_never_straddle_two_clips_and_empty_windows_count_as_zero() -> None:
    still = [_frame([(0.0, 2.0, 0.0, 0.0)]) for _ in range(70)]
    stats = window_statistics(_side(_walker(50) + still, [50, 70]), STEP / 2, hop_s=1 / 3)
    # the 50-frame clip is shorter than a window; the 70-frame one gives 2 (hop 10 frames)
    assert len(stats["movers_per_frame"]) == 2
    assert np.all(stats["movers_per_frame"] == 0.0)
    assert np.all(np.isnan(stats["fast_mover_fraction"]))


def test_report_rows_and_figure(tmp_path: Path) -> None:
    synthetic = pool_point_frames("s", _walker(90), RATE, 1, frames_per_clip=[90])
    real = pool_point_frames("radhar:/r", _walker(90, speed_mps=0.0), RATE, 1, frames_per_clip=[90])
    report = compare_point_clouds(synthetic, real, STEP / 2)
    drift = report.row("window_mover_range_drift")
    assert abs(drift.synthetic - 0.6) < 0.02 and drift.real < 1e-6
    assert abs(drift.emd - drift.synthetic) < 1e-4  # every window drifts alike
    assert report.row("window_movers_per_frame").emd == 0.0
    windows = (side_window_statistics(synthetic, STEP / 2), side_window_statistics(real, STEP / 2))
    path = plot_window_statistics(*windows, report, tmp_path / "w.png")
    assert path is not None and path.read_bytes()[:4] == b"\x89PNG"
    unknown = pool_point_frames("s", _walker(90), RATE, 1)  # clip structure unknown
    rows = [row.name for row in compare_point_clouds(unknown, real, STEP / 2).rows]
    assert not any(name.startswith("window_") for name in rows)
