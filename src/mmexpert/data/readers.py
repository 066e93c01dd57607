"""Readers for real point-cloud recordings, robust to the mess real captures contain.

Readers (registry :data:`POINT_READERS`):

* ``"radhar"``: TI ROS driver text dumps (``ti_mmwave_rospkg``, the RadHAR format):
  YAML-like records separated by ``---``, one per point, ``point_id: 0`` starting a frame;
  plain or gzipped. The driver's frame is x forward, y left, z up, bearing in degrees
  positive to the left; points are converted to ours.
* ``"ti_csv"``: TI demo visualizer CSV exports with the columns
  ``Frame #, # Obj, X, Y, Z, Doppler, Intensity`` (TI demo frame: x right, y forward).

Every reader returns a :class:`PointRecording`: frames of :data:`POINT_DTYPE` points in the
radar local frame of :mod:`mmexpert.dsp.pointcloud` (x right, y boresight, z up, SI units,
bearing positive towards +x), frame times, and a :class:`ReadReport` counting what was
skipped (empty frames, truncated last record, duplicated sequence numbers, non-finite
values, unparseable records). Nothing is silently dropped and nothing crashes on a bad
record.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmexpert.dsp.pointcloud import POINT_DTYPE


class RecordingError(ValueError):
    """A file that is not a readable recording at all (missing, wrong format)."""


@dataclass
class ReadReport:
    """What a reader skipped, by reason, and what it kept."""

    frames: int = 0  # frames kept
    points: int = 0  # points kept
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count

    def skip(self, reason: str, count: int = 1) -> None:
        """Count ``count`` skipped items for ``reason``."""
        self.skipped[reason] = self.skipped.get(reason, 0) + count

    def summary(self) -> str:
        """One line: kept frames and points, then skipped items by reason."""
        parts = [f"{self.frames} frames", f"{self.points} points"]
        parts += [f"{count} {reason}" for reason, count in sorted(self.skipped.items())]
        return ", ".join(parts)


@dataclass
class PointRecording:
    """A real point-cloud recording.

    Attributes
    ----------
    frames : list of POINT_DTYPE [points_f]
        Points of every frame, radar local frame, SI units.
    times_s : float64 [frames]
        Frame time stamps [s] (from the recording; relative to its first frame).
    report : ReadReport
    source : str
    """

    frames: list[np.ndarray]
    times_s: np.ndarray
    report: ReadReport
    source: str

    @property
    def frame_rate_hz(self) -> float:
        """Mean frame rate of the recording [Hz] (NaN for fewer than two frames).

        The mean over the whole recording, not the median gap: ROS stamps are arrival
        times, and frames often arrive in pairs a few ms apart.
        """
        if len(self.times_s) < 2 or self.times_s[-1] <= self.times_s[0]:
            return math.nan
        return float((len(self.times_s) - 1) / (self.times_s[-1] - self.times_s[0]))

    @property
    def points_per_frame(self) -> np.ndarray:
        """int64 [frames]."""
        return np.array([len(f) for f in self.frames], dtype=np.int64)


def _open_text(path: Path) -> io.TextIOBase:
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return path.open("r", encoding="utf-8", errors="replace")


_ROS_FIELDS = ("x", "y", "z", "range", "velocity", "doppler_bin", "bearing", "intensity")


def _ros_records(text: io.TextIOBase) -> Iterator[dict[str, str] | None]:
    """Yield one dict per ``---``-separated record; ``None`` for an unterminated tail."""
    record: dict[str, str] = {}
    for line in text:
        stripped = line.strip()
        if stripped == "---":
            yield record
            record = {}
            continue
        key, sep, value = stripped.partition(":")
        if sep and value.strip():
            record[key.strip()] = value.strip()
    if record:
        yield record if all(k in record for k in ("point_id", *_ROS_FIELDS)) else None


def read_ti_ros_points(path: str | Path) -> PointRecording:
    """Read a ``ti_mmwave_rospkg`` point dump (RadHAR format), plain or gzipped.

    Raises
    ------
    RecordingError
        If the file is missing or holds no point record at all.
    """
    path = Path(path)
    report = ReadReport()
    frames: list[np.ndarray] = []
    times: list[float] = []
    current: list[tuple] = []
    current_time = math.nan
    last_seq: int | None = None
    parsed_any = False

    def close_frame() -> None:
        if current:
            frames.append(np.array(current, dtype=POINT_DTYPE))
            times.append(current_time)
        current.clear()

    with _open_text(path) as text:
        for record in _ros_records(text):
            if record is None:
                report.skip("truncated last record")
                continue
            if not record:
                continue
            try:
                seq = int(record["seq"]) if "seq" in record else None
                point_id = int(record["point_id"])
                values = {k: float(record[k]) for k in _ROS_FIELDS}
                stamp = float(record.get("secs", "nan")) + 1e-9 * float(record.get("nsecs", "0"))
            except (KeyError, ValueError):
                report.skip("unparseable records")
                continue
            parsed_any = True
            if seq is not None and seq == last_seq:
                report.skip("duplicated sequence numbers")
                continue
            last_seq = seq
            if point_id == 0:
                close_frame()
                current_time = stamp
            if not all(math.isfinite(v) for v in values.values()):
                report.skip("points with non-finite values")
                continue
            # ROS driver: x forward, y left; ours: x right, y boresight; bearing flips sign.
            current.append(
                (
                    -values["y"],
                    values["x"],
                    values["z"],
                    values["range"],
                    values["velocity"],
                    int(values["doppler_bin"]),
                    -math.radians(values["bearing"]),
                    0.0,
                    values["intensity"],
                )
            )
    close_frame()
    if not parsed_any:
        raise RecordingError(f"{path}: no ti_mmwave_rospkg point records found")
    return _finish(frames, times, report, str(path))


def read_ti_demo_csv(path: str | Path) -> PointRecording:
    """Read a TI demo visualizer CSV (``Frame #, # Obj, X, Y, Z, Doppler, Intensity``).

    Frames have no time stamp in this format: times are frame numbers x ``1 / 30`` s unless
    resampled later; ``report.skipped`` counts malformed rows.
    """
    path = Path(path)
    report = ReadReport()
    by_frame: dict[int, list[tuple]] = {}
    with _open_text(path) as text:
        reader = csv.reader(text)
        header = next(reader, None)
        if not header or "Frame #" not in [h.strip() for h in header]:
            raise RecordingError(f"{path}: not a TI demo CSV (no 'Frame #' column)")
        columns = {h.strip(): i for i, h in enumerate(header)}
        needed = ("Frame #", "X", "Y", "Z", "Doppler", "Intensity")
        missing = [c for c in needed if c not in columns]
        if missing:
            raise RecordingError(f"{path}: missing columns {missing}")
        for row in reader:
            try:
                frame = int(float(row[columns["Frame #"]]))
                x, y, z, doppler, intensity = (
                    float(row[columns[c]]) for c in ("X", "Y", "Z", "Doppler", "Intensity")
                )
            except (IndexError, ValueError):
                report.skip("malformed rows")
                continue
            if not all(math.isfinite(v) for v in (x, y, z, doppler, intensity)):
                report.skip("points with non-finite values")
                continue
            rng = math.sqrt(x * x + y * y + z * z)
            point = (
                x,
                y,
                z,
                rng,
                doppler,
                0,
                math.atan2(x, y),
                math.asin(z / rng) if rng else 0.0,
                intensity,
            )
            by_frame.setdefault(frame, []).append(point)
    numbers = sorted(by_frame)
    frames = [np.array(by_frame[n], dtype=POINT_DTYPE) for n in numbers]
    return _finish(frames, [n / 30.0 for n in numbers], report, str(path))


def _finish(
    frames: list[np.ndarray], times: list[float], report: ReadReport, source: str
) -> PointRecording:
    stamps = np.asarray(times, dtype=np.float64)
    if stamps.size and np.all(np.isfinite(stamps)):
        stamps = stamps - stamps[0]
    else:
        stamps = np.arange(len(frames)) / 30.0
        if frames:
            report.skip("frames without time stamps (30 Hz assumed)", len(frames))
    report.frames = len(frames)
    report.points = int(sum(len(f) for f in frames))
    return PointRecording(frames, stamps, report, source)


POINT_READERS: dict[str, Callable[[str | Path], PointRecording]] = {
    "radhar": read_ti_ros_points,
    "ti_csv": read_ti_demo_csv,
}
"""Reader registry: name -> function(path) -> PointRecording."""


def read_labelled(
    root: str | Path, reader: str, labels: dict[str, str] | None = None
) -> list[tuple[str, PointRecording]]:
    """Every recording under ``root``, labelled by its folder name (or ``labels``, a map
    from folder name to class name; folders not in the map are skipped).

    Returns
    -------
    list of (class name, PointRecording), sorted by path.
    """
    if reader not in POINT_READERS:
        raise RecordingError(f"unknown reader '{reader}'; choose one of {sorted(POINT_READERS)}")
    root = Path(root)
    if not root.is_dir():
        raise RecordingError(f"{root}: not a folder")
    read = POINT_READERS[reader]
    suffixes = {".txt", ".gz", ".csv"}
    out = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in suffixes):
        folder = path.parent.name
        label = labels.get(folder) if labels is not None else folder
        if label is not None:
            out.append((label, read(path)))
    return out


def point_windows(
    recording: PointRecording,
    window_s: float = 2.0,
    hop_s: float = 1.0 / 3.0,
    frame_rate_hz: float | None = None,
) -> list[list[np.ndarray]]:
    """Cut a recording into windows of frames, resampled to ``frame_rate_hz``.

    RadHAR used 2-s windows of 60 frames with a 10-frame hop (1/3 s at 30 fps). Resampling
    picks, for each target frame time, the nearest recorded frame (point clouds cannot be
    interpolated), so a 30 fps recording can feed a model trained at 50 fps.

    Frames are placed on the device's clock, frame ``i`` at ``i / f`` with ``f`` the
    recording's mean rate, not at their stamps: a TI device frames periodically (``frameCfg``)
    while ROS stamps are arrival times. In the RadHAR sample frames arrive in pairs 1.3 ms
    apart every 60 ms, and picking by stamp repeats about 6.5 of every 60 frames of a window
    and skips as many; on the device clock a window at the recording's own rate holds
    consecutive frames.

    Returns
    -------
    list of windows, each a list of ``round(window_s * rate)`` POINT_DTYPE frames.
    """
    native = recording.frame_rate_hz
    rate = frame_rate_hz or native
    if not math.isfinite(rate) or rate <= 0:
        raise RecordingError(f"{recording.source}: cannot window a recording without frame times")
    length = round(window_s * rate)
    if not math.isfinite(native) or length < 1:
        return []  # under two frames, or no time between them: no window
    times = np.arange(len(recording.frames)) / native  # the device clock [s]
    starts = np.arange(0.0, times[-1] - window_s + 1e-9 + 1.0 / rate, hop_s)
    windows = []
    for start in starts:
        targets = start + np.arange(length) / rate
        nearest = np.clip(np.searchsorted(times, targets), 1, len(times) - 1)
        nearest -= (targets - times[nearest - 1]) < (times[nearest] - targets)
        windows.append([recording.frames[i] for i in nearest])
    return windows
