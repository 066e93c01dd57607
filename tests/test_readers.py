"""Real point-cloud readers: format, frame convention, and robustness to mess."""

import gzip
import math
from pathlib import Path

import numpy as np
import pytest

from mmexpert.data.readers import (
    RecordingError,
    point_windows,
    read_labelled,
    read_ti_demo_csv,
    read_ti_ros_points,
)

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "radhar-sample"


def ros_record(seq, point_id, x, y, z, velocity=0.5, secs=100, nsecs=0, intensity=20.0):
    rng = math.sqrt(x * x + y * y + z * z)
    return (
        f"header: \n  seq: {seq}\n  stamp: \n    secs: {secs}\n    nsecs: {nsecs}\n"
        f'  frame_id: "ti_mmwave"\npoint_id: {point_id}\nx: {x}\ny: {y}\nz: {z}\n'
        f"range: {rng}\nvelocity: {velocity}\ndoppler_bin: 9\n"
        f"bearing: {math.degrees(math.atan2(y, x))}\nintensity: {intensity}\n---\n"
    )


def write_ros(path, records, gz=False):
    text = "".join(records)
    if gz:
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)


@pytest.mark.parametrize("gz", [False, True])
def test_ros_dump_frames_and_frame_convention(tmp_path, gz):
    path = tmp_path / ("rec.txt.gz" if gz else "rec.txt")
    records = [
        ros_record(1, 0, 2.0, 0.5, 0.1, nsecs=0),  # ROS: 2 m forward, 0.5 m to the left
        ros_record(2, 1, 2.1, -0.2, 0.0, nsecs=100),
        ros_record(3, 0, 2.2, 0.0, 0.2, nsecs=33_000_000),
    ]
    write_ros(path, records, gz)
    rec = read_ti_ros_points(path)
    assert rec.points_per_frame.tolist() == [2, 1]
    first = rec.frames[0][0]
    assert (first["x"], first["y"]) == pytest.approx((-0.5, 2.0))  # left -> negative x (ours)
    assert first["bearing"] == pytest.approx(math.atan2(first["x"], first["y"]))
    assert rec.times_s == pytest.approx([0.0, 0.033])
    assert rec.report.skipped == {}


def test_ros_dump_mess_is_counted_not_fatal(tmp_path):
    path = tmp_path / "messy.txt"
    records = [
        ros_record(1, 0, 2.0, 0.0, 0.0),
        ros_record(1, 0, 2.0, 0.0, 0.0),  # duplicated sequence number
        ros_record(2, 1, float("nan"), 0.0, 0.0),  # NaN
        "header: \n  seq: 3\npoint_id: zero\nx: 1\n---\n",  # unparseable
        ros_record(4, 0, 3.0, 0.0, 0.0, secs=101),
        ros_record(5, 1, 3.0, 0.1, 0.0, secs=101)[:60],  # truncated last record
    ]
    write_ros(path, records)
    rec = read_ti_ros_points(path)
    assert rec.points_per_frame.tolist() == [1, 1]
    assert rec.report.skipped == {
        "duplicated sequence numbers": 1,
        "points with non-finite values": 1,
        "unparseable records": 1,
        "truncated last record": 1,
    }


def test_not_a_recording_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\nworld\n")
    with pytest.raises(RecordingError, match="no ti_mmwave_rospkg point records"):
        read_ti_ros_points(path)
    with pytest.raises(RecordingError, match="no such file"):
        read_ti_ros_points(tmp_path / "absent.txt")


def test_ti_demo_csv(tmp_path):
    path = tmp_path / "demo.csv"
    path.write_text(
        "Frame #,# Obj,X,Y,Z,Doppler,Intensity\n"
        "1,2,0.5,2.0,0.1,-0.3,15\n1,2,0.4,2.1,0.0,-0.2,14\n2,1,0.5,1.9,0.1,-0.3,16\n"
        "3,1,oops,1.9,0.1,-0.3,16\n"
    )
    rec = read_ti_demo_csv(path)
    assert rec.points_per_frame.tolist() == [2, 1]
    assert rec.frames[0][0]["bearing"] == pytest.approx(math.atan2(0.5, 2.0))
    assert rec.report.skipped["malformed rows"] == 1


def test_windows_resample_to_the_model_frame_rate(tmp_path):
    path = tmp_path / "long.txt"
    records = [
        ros_record(i + 1, 0, 2.0 + 0.001 * i, 0.0, 0.0, secs=0, nsecs=int(i * 1e9 / 30))
        for i in range(90)  # 3 s at 30 fps, one point per frame
    ]
    write_ros(path, records)
    rec = read_ti_ros_points(path)
    assert rec.frame_rate_hz == pytest.approx(30.0, rel=1e-3)
    windows = point_windows(rec, window_s=2.0, hop_s=1 / 3)
    assert len(windows) == 4 and all(len(w) == 60 for w in windows)
    at_50 = point_windows(rec, window_s=2.0, hop_s=0.5, frame_rate_hz=50.0)
    assert all(len(w) == 100 for w in at_50)
    # nearest-frame resampling keeps time order
    ys = [w[0]["y"] for w in at_50[0]]
    assert np.all(np.diff(ys) >= 0)


def test_windows_follow_the_device_clock_not_the_arrival_stamps(tmp_path):
    # frames of a 30 fps device as the RadHAR sample's ROS stamps them: in pairs 1.3 ms
    # apart every 60 ms, with one single frame every 300 ms
    path = tmp_path / "pairs.txt"
    gaps_ms = [1.3, 58.7] * 4 + [60.0]  # 9 frames per 300 ms
    stamps_ns = np.concatenate([[0.0], np.cumsum(gaps_ms * 10)])[:90] * 1e6
    records = [
        ros_record(i + 1, 0, 2.0 + 0.01 * i, 0.0, 0.0, secs=0, nsecs=int(stamp))
        for i, stamp in enumerate(stamps_ns)
    ]
    write_ros(path, records)
    rec = read_ti_ros_points(path)
    assert rec.frame_rate_hz == pytest.approx(30.0, rel=0.02)
    for window in point_windows(rec, window_s=2.0, hop_s=1 / 3):
        ys = np.array([frame[0]["y"] for frame in window])
        # every frame once, in order: no arrival pair repeated or skipped
        np.testing.assert_allclose(np.diff(ys), 0.01, atol=1e-5)


def test_radhar_sample_reads_with_the_published_statistics():
    if not SAMPLE.is_dir():
        pytest.skip(f"RadHAR sample absent: {SAMPLE}")
    recordings = read_labelled(SAMPLE, "radhar")
    assert sorted(label for label, _ in recordings) == ["boxing", "jack", "jump", "squats", "walk"]
    for _, rec in recordings:
        # README: about 30 frames per second and about 20 points per frame
        assert 25 <= rec.frame_rate_hz <= 35
        assert 5 <= rec.points_per_frame.mean() <= 40
        points = np.concatenate(rec.frames)
        np.testing.assert_allclose(
            points["bearing"], np.arctan2(points["x"], points["y"]), atol=1e-3
        )
        assert len(point_windows(rec)) > 40  # ~20 s recordings, 2 s windows, 1/3 s hop
