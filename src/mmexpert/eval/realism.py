"""Realism report: how close synthetic point clouds come to real ones, from unlabelled statistics.

Both sides are pooled into one :class:`PooledPoints` (every point of every frame of every
clip or recording, in the radar local frame: x right, y boresight, z up, SI units), and
:func:`compare_point_clouds` sets their distributions side by side:

* points per frame, frame rate;
* spatial spread: x, y, z and range;
* radial velocity and intensity (SNR [dB]);
* the fraction of zero-velocity points (inside the device's zero Doppler bin) and of
  near-range points (closer than :data:`NEAR_RANGE_M`, where TX->RX leakage shows up).

Distributions are compared with the earth mover's distance (1-D Wasserstein distance,
:func:`scipy.stats.wasserstein_distance`) in the unit of the quantity: an EMD of 0.3 m on
range means that moving the synthetic range histogram onto the real one costs 0.3 m per
point on average.

Real recordings are pooled without their labels on purpose: mmExpert's claim is zero-shot
recognition, so nothing here may look at which activity a real recording shows. Readers
are asked for every file under the folder; folder names are never read.

Sources
-------
* synthetic: a dataset store folder (:class:`~mmexpert.data.store.DatasetStore`, the
  ``points`` [N, 8] table of :data:`~mmexpert.data.samples.POINT_COLUMNS`), one products
  ``.npz`` (:class:`~mmexpert.data.products.SimulationProducts`) or a folder of them;
* real: ``READER:DIR`` with a reader of :data:`~mmexpert.data.readers.POINT_READERS`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import wasserstein_distance

from mmexpert.data.products import ProductsFileError, SimulationProducts
from mmexpert.data.readers import POINT_READERS, PointRecording, RecordingError
from mmexpert.data.samples import POINT_COLUMNS
from mmexpert.data.store import DESCRIPTION_FILE, DatasetStore
from mmexpert.data.store_schema import StoreError
from mmexpert.eval.window_stats import WINDOW_STATISTICS, window_statistics
from mmexpert.radar.config import RadarConfig, RadarConfigError

NEAR_RANGE_M = 0.2
"""Points closer than this [m] count as near-range (antenna leakage, radome)."""

REAL_SUFFIXES = (".txt", ".gz", ".csv")
"""File endings a real-data folder is searched for."""


class RealismError(ValueError):
    """A realism comparison that cannot be made (bad source, no points, bad argument)."""


@dataclass(frozen=True)
class PooledPoints:
    """Every point of one side (synthetic or real), pooled over clips and frames.

    Attributes
    ----------
    name : str
        What the points came from (a path or ``READER:DIR``).
    x_m, y_m, z_m, range_m : float64 [N]
        Position in the radar local frame (x right, y boresight, z up) and range [m].
    velocity_mps : float64 [N]
        Radial velocity [m/s], positive away from the radar.
    intensity_db : float64 [N]
        Intensity [dB]: detection SNR on the synthetic side, the driver's intensity on the
        real side (TI ROS driver: a log power, not necessarily the same reference).
    points_per_frame : int64 [F]
        Points of every frame (empty frames included where the source keeps them).
    frame_rate_hz : float
        Frame rate [Hz], frame-weighted over clips (NaN if unknown).
    clips : int
        Clips or recordings pooled.
    velocity_resolution_mps : float or None
        Native Doppler-bin width of the radar [m/s], where the source records its config.
    skipped : dict of str to int
        Items the readers skipped, by reason (real side).
    frames_per_clip : int64 [clips] or None
        Frames of every clip or recording, in pooling order (needed for window statistics).
    """

    name: str
    x_m: np.ndarray
    y_m: np.ndarray
    z_m: np.ndarray
    range_m: np.ndarray
    velocity_mps: np.ndarray
    intensity_db: np.ndarray
    points_per_frame: np.ndarray
    frame_rate_hz: float
    clips: int
    velocity_resolution_mps: float | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    frames_per_clip: np.ndarray | None = None

    @property
    def num_points(self) -> int:
        """Points N."""
        return int(self.x_m.size)

    @property
    def num_frames(self) -> int:
        """Frames F."""
        return int(self.points_per_frame.size)


@dataclass(frozen=True)
class StatRow:
    """One line of the report: a statistic of each side and their earth mover's distance.

    ``synthetic`` and ``real`` are summary values (means, medians or fractions) in ``unit``;
    ``emd`` is the distance between the two full distributions in ``unit`` (None for
    statistics that are single numbers, such as a fraction or the frame rate).
    """

    name: str
    unit: str
    synthetic: float
    real: float
    emd: float | None = None


@dataclass(frozen=True)
class RealismReport:
    """Synthetic against real point-cloud statistics (JSON-able through :meth:`to_dict`)."""

    synthetic_source: str
    real_source: str
    synthetic_points: int
    real_points: int
    synthetic_frames: int
    real_frames: int
    synthetic_clips: int
    real_recordings: int
    zero_velocity_tolerance_mps: float  # |v| at or below this counts as zero velocity [m/s]
    rows: tuple[StatRow, ...]
    real_skipped: dict[str, int] = field(default_factory=dict)

    def row(self, name: str) -> StatRow:
        """The row called ``name``.

        Raises
        ------
        KeyError
            If no row has that name.
        """
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no realism statistic {name!r}; have {[r.name for r in self.rows]}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (numbers, strings, lists) for ``json.dumps``."""
        data = asdict(self)
        data["rows"] = [asdict(row) for row in self.rows]
        return data

    def to_json(self) -> str:
        """The report as indented JSON text (NaN written as null)."""
        return json.dumps(_finite_or_none(self.to_dict()), indent=2)


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(v) for v in value]
    return value


# ----------------------------------------------------------------------------- loading


def pool_point_frames(
    name: str,
    frames: list[np.ndarray],
    frame_rate_hz: float,
    clips: int = 1,
    velocity_resolution_mps: float | None = None,
    skipped: dict[str, int] | None = None,
    frames_per_clip: list[int] | None = None,
) -> PooledPoints:
    """Pool frames of structured points (fields ``x, y, z, range, velocity, intensity``).

    Parameters
    ----------
    name
        Source description.
    frames
        One structured array per frame (e.g. :data:`~mmexpert.dsp.pointcloud.POINT_DTYPE`).
    frame_rate_hz
        Frame rate [Hz].
    frames_per_clip
        Frames of every clip, in order (None: unknown; no window statistics then).
    """
    fields = ("x", "y", "z", "range", "velocity", "intensity")
    columns = {f: [] for f in fields}
    for frame in frames:
        for f in fields:
            columns[f].append(np.asarray(frame[f], dtype=np.float64))
    arrays = {f: np.concatenate(v) if v else np.zeros(0) for f, v in columns.items()}
    return PooledPoints(
        name=name,
        x_m=arrays["x"],
        y_m=arrays["y"],
        z_m=arrays["z"],
        range_m=arrays["range"],
        velocity_mps=arrays["velocity"],
        intensity_db=arrays["intensity"],
        points_per_frame=np.array([len(f) for f in frames], dtype=np.int64),
        frame_rate_hz=float(frame_rate_hz),
        clips=clips,
        velocity_resolution_mps=velocity_resolution_mps,
        skipped=dict(skipped or {}),
        frames_per_clip=None if frames_per_clip is None else np.asarray(frames_per_clip),
    )


def _pool_tables(
    name: str,
    tables: list[np.ndarray],
    counts: list[np.ndarray],
    rates: list[float],
    velocity_resolution_mps: float | None,
) -> PooledPoints:
    """Pool ``points`` tables float [N, 8] (:data:`POINT_COLUMNS`) and their frame counts."""
    if not tables:
        raise RealismError(f"{name}: no synthetic clips found")
    column = {c: i for i, c in enumerate(POINT_COLUMNS)}
    table = np.concatenate([np.asarray(t, dtype=np.float64).reshape(-1, 8) for t in tables])
    frames = np.array([c.size for c in counts], dtype=np.float64)
    finite_rates = np.array([r if math.isfinite(r) else np.nan for r in rates])
    rate = (
        float(np.nansum(finite_rates * frames) / frames[np.isfinite(finite_rates)].sum())
        if np.isfinite(finite_rates).any()
        else math.nan
    )
    return PooledPoints(
        name=name,
        x_m=table[:, column["x"]],
        y_m=table[:, column["y"]],
        z_m=table[:, column["z"]],
        range_m=table[:, column["range"]],
        velocity_mps=table[:, column["velocity"]],
        intensity_db=table[:, column["intensity"]],
        points_per_frame=np.concatenate([np.asarray(c, dtype=np.int64) for c in counts]),
        frame_rate_hz=rate,
        clips=len(tables),
        velocity_resolution_mps=velocity_resolution_mps,
        frames_per_clip=np.array([c.size for c in counts], dtype=np.int64),
    )


def _velocity_resolution(config: dict[str, Any] | RadarConfig | None) -> float | None:
    if config is None:
        return None
    try:
        radar = config if isinstance(config, RadarConfig) else RadarConfig.from_dict(config)
    except (RadarConfigError, KeyError, TypeError, ValueError):
        return None
    return float(radar.velocity_resolution_mps)


def load_store_points(root: str | Path, limit: int | None = None) -> PooledPoints:
    """Pool the points of a dataset store (no labels are read).

    Parameters
    ----------
    root
        Store folder (holds ``store.json``).
    limit
        Read at most this many samples (manifest order); all by default.

    Raises
    ------
    RealismError
        If the folder is not a readable store or holds no sample with points.
    """
    root = Path(root)
    try:
        store = DatasetStore.open(root)
    except (StoreError, OSError, ValueError) as error:
        raise RealismError(f"{root}: not a readable dataset store ({error})") from None
    tables, counts, rates, resolutions = [], [], [], []
    with store:
        records = store.records()[:limit] if limit else store.records()
        for record in records:
            if "points" not in record.checksums:
                continue
            try:
                sample = store.read_record(record, arrays=["points", "points_per_frame"])
            except StoreError as error:
                raise RealismError(f"{root}: sample {record.sample_id}: {error}") from None
            tables.append(sample.arrays["points"])
            counts.append(sample.arrays["points_per_frame"])
            timing = record.metadata.get("timing") or {}
            rates.append(float(timing.get("frame_rate_hz", math.nan)))
            resolutions.append(_velocity_resolution(record.metadata.get("radar_config")))
    known = [r for r in resolutions if r is not None]
    return _pool_tables(
        str(root), tables, counts, rates, float(np.median(known)) if known else None
    )


def load_products_points(paths: list[Path], name: str) -> PooledPoints:
    """Pool the points of products ``.npz`` files (``mmexpert simulate ...``).

    Raises
    ------
    RealismError
        If a file is not a products file or no file is given.
    """
    tables, counts, rates, resolutions = [], [], [], []
    for path in paths:
        try:
            products = SimulationProducts.load(path)
        except ProductsFileError as error:
            raise RealismError(str(error)) from None
        points = products.points
        table = np.stack(
            [np.asarray(points[c], dtype=np.float64) for c in POINT_COLUMNS], axis=1
        ).reshape(-1, len(POINT_COLUMNS))
        tables.append(table)
        counts.append(np.asarray(products.points_per_frame, dtype=np.int64))
        rates.append(products.config.frame_rate_hz)
        resolutions.append(products.config.velocity_resolution_mps)
    return _pool_tables(
        name, tables, counts, rates, float(np.median(resolutions)) if paths else None
    )


def load_synthetic_points(source: str | Path, limit: int | None = None) -> PooledPoints:
    """Pool synthetic points from a store folder, a products ``.npz`` or a folder of them.

    Raises
    ------
    RealismError
        If the path does not exist or holds neither a store nor products files.
    """
    path = Path(source)
    if not path.exists():
        raise RealismError(f"{path}: no such file or folder")
    if path.is_dir() and (path / DESCRIPTION_FILE).exists():
        return load_store_points(path, limit)
    if path.is_file():
        return load_products_points([path], str(path))
    files = sorted(path.rglob("*.npz"))[:limit] if limit else sorted(path.rglob("*.npz"))
    if not files:
        raise RealismError(
            f"{path}: neither a dataset store (no {DESCRIPTION_FILE}) nor .npz files"
        )
    return load_products_points(files, str(path))


def parse_real_source(spec: str) -> tuple[str, Path]:
    """Split ``READER:DIR`` into the reader name and the folder.

    Raises
    ------
    RealismError
        If the text has no ``:``, names an unknown reader or the folder does not exist.
    """
    reader, sep, folder = spec.partition(":")
    if not sep or not reader or not folder:
        raise RealismError(
            f"real data must be given as READER:DIR (e.g. radhar:/data), got {spec!r}"
        )
    if reader not in POINT_READERS:
        raise RealismError(f"unknown reader {reader!r}; choose one of {sorted(POINT_READERS)}")
    path = Path(folder)
    if not path.exists():
        raise RealismError(f"{path}: no such file or folder")
    return reader, path


def load_real_points(spec: str) -> PooledPoints:
    """Read every recording of ``READER:DIR`` and pool them, with no labels.

    Every file ending in :data:`REAL_SUFFIXES` anywhere under the folder is read; folder
    names (which carry the class in RadHAR) are not used. The frame rate is the
    frame-weighted mean of the recordings' rates.

    Raises
    ------
    RealismError
        If the source is malformed, a file is not a recording, or nothing was read.
    """
    reader, path = parse_real_source(spec)
    read = POINT_READERS[reader]
    files = (
        [path]
        if path.is_file()
        else sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in REAL_SUFFIXES)
    )
    if not files:
        raise RealismError(f"{path}: no recordings ({', '.join(REAL_SUFFIXES)}) found")
    recordings: list[PointRecording] = []
    for file in files:
        try:
            recordings.append(read(file))
        except RecordingError as error:
            raise RealismError(str(error)) from None
    frames = [frame for recording in recordings for frame in recording.frames]
    if not frames:
        raise RealismError(f"{spec}: the recordings hold no frames")
    weights = np.array([len(r.frames) for r in recordings], dtype=np.float64)
    rates = np.array([r.frame_rate_hz for r in recordings])
    ok = np.isfinite(rates)
    rate = float(np.sum(rates[ok] * weights[ok]) / weights[ok].sum()) if ok.any() else math.nan
    skipped: dict[str, int] = {}
    for recording in recordings:
        for reason, count in recording.report.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + count
    clip_frames = [len(r.frames) for r in recordings]
    return pool_point_frames(spec, frames, rate, len(recordings), None, skipped, clip_frames)


# ----------------------------------------------------------------------------- comparing


def emd(a: np.ndarray, b: np.ndarray) -> float:
    """Earth mover's distance of two samples (NaN if either is empty)."""
    if a.size == 0 or b.size == 0:
        return math.nan
    return float(wasserstein_distance(a, b))


def _median(a: np.ndarray) -> float:
    return float(np.median(a)) if a.size else math.nan


def zero_velocity_tolerance(synthetic: PooledPoints, real: PooledPoints) -> float:
    """|v| [m/s] at or below which a point counts as zero-velocity.

    Half the native Doppler-bin width of the radar (``velocity_resolution / 2``) where a
    side records its config: a point in the device's zero Doppler bin, whatever FFT
    padding produced the synthetic velocities. Otherwise 1 mm/s (exact zeros, as the TI
    driver reports them).
    """
    for side in (synthetic, real):
        if side.velocity_resolution_mps:
            return 0.5 * side.velocity_resolution_mps
    return 1e-3


WindowStatistics = dict[str, np.ndarray]
"""Per-window statistics of one side (:func:`side_window_statistics`)."""


def resolve_zero_velocity_tolerance(
    synthetic: PooledPoints, real: PooledPoints, given_mps: float | None
) -> float:
    """``given_mps``, or :func:`zero_velocity_tolerance` when None [m/s].

    Raises
    ------
    RealismError
        If the tolerance is negative or not finite.
    """
    tolerance = zero_velocity_tolerance(synthetic, real) if given_mps is None else given_mps
    tolerance = float(tolerance)
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise RealismError(f"zero_velocity_tolerance_mps must be >= 0, got {tolerance}")
    return tolerance


def compare_point_clouds(
    synthetic: PooledPoints,
    real: PooledPoints,
    zero_velocity_tolerance_mps: float | None = None,
    windows: tuple[WindowStatistics, WindowStatistics] | None = None,
) -> RealismReport:
    """Compare pooled synthetic and real points.

    Parameters
    ----------
    synthetic, real
        The two sides.
    zero_velocity_tolerance_mps
        |v| [m/s] at or below which a point has zero velocity; default
        :func:`zero_velocity_tolerance`.
    windows
        The sides' :func:`side_window_statistics` at that tolerance, when the caller has
        them already (computed here otherwise).

    Returns
    -------
    RealismReport
        Rows ``points_per_frame`` (mean; EMD of the per-frame counts), ``frame_rate``,
        ``zero_velocity_fraction``, ``near_range_fraction``, ``x``, ``y``, ``z``, ``range``
        (medians [m]; EMD [m]), ``range_moving`` (range of the non-zero-velocity points),
        ``velocity`` (median |v|; EMD [m/s]), ``velocity_moving`` (EMD among non-zero
        points), ``intensity`` (medians; EMD [dB]) and ``intensity_shape`` (EMD after
        subtracting each side's median [dB]: the spread, whatever the dB reference), then,
        when both sides know their clips, ``window_<name>`` for every statistic of
        :data:`~mmexpert.eval.window_stats.WINDOW_STATISTICS` (medians over the 2 s windows
        in the person frame; EMD between the two sides' window distributions).

    Raises
    ------
    RealismError
        If a side has no points or the tolerance is negative.
    """
    for side in (synthetic, real):
        if side.num_points == 0:
            raise RealismError(f"{side.name}: no points to compare")
    tolerance = resolve_zero_velocity_tolerance(synthetic, real, zero_velocity_tolerance_mps)
    if windows is None:
        windows = (
            side_window_statistics(synthetic, tolerance),
            side_window_statistics(real, tolerance),
        )

    def moving(side: PooledPoints) -> np.ndarray:
        return np.abs(side.velocity_mps) > tolerance

    s_moving, r_moving = moving(synthetic), moving(real)
    rows = [
        StatRow(
            "points_per_frame",
            "points",
            float(synthetic.points_per_frame.mean()),
            float(real.points_per_frame.mean()),
            emd(synthetic.points_per_frame, real.points_per_frame),
        ),
        StatRow("frame_rate", "Hz", synthetic.frame_rate_hz, real.frame_rate_hz),
        StatRow("zero_velocity_fraction", "fraction", 1 - s_moving.mean(), 1 - r_moving.mean()),
        StatRow(
            "near_range_fraction",
            "fraction",
            float(np.mean(synthetic.range_m < NEAR_RANGE_M)),
            float(np.mean(real.range_m < NEAR_RANGE_M)),
        ),
    ]
    for name, attribute in (("x", "x_m"), ("y", "y_m"), ("z", "z_m"), ("range", "range_m")):
        a, b = getattr(synthetic, attribute), getattr(real, attribute)
        rows.append(StatRow(name, "m", _median(a), _median(b), emd(a, b)))
    a, b = synthetic.range_m[s_moving], real.range_m[r_moving]
    rows.append(StatRow("range_moving", "m", _median(a), _median(b), emd(a, b)))
    rows.append(
        StatRow(
            "velocity",
            "m/s",
            _median(np.abs(synthetic.velocity_mps)),
            _median(np.abs(real.velocity_mps)),
            emd(synthetic.velocity_mps, real.velocity_mps),
        )
    )
    a, b = synthetic.velocity_mps[s_moving], real.velocity_mps[r_moving]
    rows.append(
        StatRow("velocity_moving", "m/s", _median(np.abs(a)), _median(np.abs(b)), emd(a, b))
    )
    a, b = synthetic.intensity_db, real.intensity_db
    rows.append(StatRow("intensity", "dB", _median(a), _median(b), emd(a, b)))
    rows.append(StatRow("intensity_shape", "dB", 0.0, 0.0, emd(a - _median(a), b - _median(b))))
    rows += _window_rows(*windows)
    return RealismReport(
        synthetic_source=synthetic.name,
        real_source=real.name,
        synthetic_points=synthetic.num_points,
        real_points=real.num_points,
        synthetic_frames=synthetic.num_frames,
        real_frames=real.num_frames,
        synthetic_clips=synthetic.clips,
        real_recordings=real.clips,
        zero_velocity_tolerance_mps=tolerance,
        rows=tuple(rows),
        real_skipped=dict(real.skipped),
    )


def side_window_statistics(side: PooledPoints, tolerance_mps: float) -> WindowStatistics:
    """:func:`~mmexpert.eval.window_stats.window_statistics` of one pooled side (empty
    arrays when its clip structure is unknown)."""
    if side.frames_per_clip is None:
        return {name: np.zeros(0) for name in WINDOW_STATISTICS}
    return window_statistics(side, tolerance_mps)


def _window_rows(a: WindowStatistics, b: WindowStatistics) -> list[StatRow]:
    rows = []
    for name, unit in WINDOW_STATISTICS.items():
        x, y = a[name][np.isfinite(a[name])], b[name][np.isfinite(b[name])]
        if x.size and y.size:
            rows.append(StatRow(f"window_{name}", unit, _median(x), _median(y), emd(x, y)))
    return rows


# ----------------------------------------------------------------------------- plotting


def plot_window_statistics(
    synthetic: WindowStatistics, real: WindowStatistics, report: RealismReport, path: str | Path
) -> Path | None:
    """One PNG of overlaid synthetic and real window histograms (density), one panel per
    window statistic (the sides' :func:`side_window_statistics`), each titled with its EMD;
    None when no window statistic exists."""
    names = [name for name in WINDOW_STATISTICS if _has_row(report, f"window_{name}")]
    if not names:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a, b = synthetic, real
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = 3
    figure, axes = plt.subplots(
        math.ceil(len(names) / columns), columns, figsize=(13, 3.2 * math.ceil(len(names) / 3))
    )
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names, strict=False):
        x, y = a[name][np.isfinite(a[name])], b[name][np.isfinite(b[name])]
        low, high = np.percentile(np.concatenate([x, y]), [0.5, 99.5])
        bins = np.linspace(low, max(high, low + 1e-3), 41)
        ax.hist(x, bins=bins, density=True, alpha=0.55, label="synthetic", color="tab:blue")
        ax.hist(y, bins=bins, density=True, alpha=0.55, label="real", color="tab:orange")
        row = report.row(f"window_{name}")
        ax.set_title(f"{name}  (EMD {row.emd:.3g} {row.unit})")
        ax.set_ylabel("density")
    title = (
        f"2 s windows in the person frame: {len(a[names[0]])} synthetic, "
        f"{len(b[names[0]])} real (pooled, labels unused)"
    )
    return save_figure(figure, axes, title, path)


def save_figure(figure: Any, axes: Any, title: str, path: Path) -> Path:
    import matplotlib.pyplot as plt

    axes.flat[0].legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _has_row(report: RealismReport, name: str) -> bool:
    return any(row.name == name for row in report.rows)


_PANELS = (
    ("points per frame", "points_per_frame", "points"),
    ("x (right)", "x_m", "m"),
    ("y (boresight)", "y_m", "m"),
    ("z (up)", "z_m", "m"),
    ("range", "range_m", "m"),
    ("radial velocity", "velocity_mps", "m/s"),
    ("intensity", "intensity_db", "dB"),
)


def plot_realism(
    synthetic: PooledPoints, real: PooledPoints, report: RealismReport, path: str | Path
) -> Path:
    """One PNG: overlaid synthetic and real histograms (density) per statistic.

    Panels: points per frame, x, y, z, range, radial velocity, intensity, and a bar chart
    of the zero-velocity and near-range fractions. Each panel title carries the EMD.

    Returns
    -------
    Path of the written PNG.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    emds = {
        "points_per_frame": report.row("points_per_frame").emd,
        "x_m": report.row("x").emd,
        "y_m": report.row("y").emd,
        "z_m": report.row("z").emd,
        "range_m": report.row("range").emd,
        "velocity_mps": report.row("velocity").emd,
        "intensity_db": report.row("intensity").emd,
    }
    figure, axes = plt.subplots(2, 4, figsize=(16, 7.5))
    for ax, (title, attribute, unit) in zip(axes.flat, _PANELS, strict=False):
        a = np.asarray(getattr(synthetic, attribute), dtype=np.float64)
        b = np.asarray(getattr(real, attribute), dtype=np.float64)
        both = np.concatenate([a, b])
        low, high = np.percentile(both, [0.5, 99.5]) if both.size else (0.0, 1.0)
        if attribute == "points_per_frame":
            bins = np.arange(math.floor(low), math.ceil(high) + 2) - 0.5
        else:
            if high <= low:
                high = low + 1.0
            bins = np.linspace(low, high, 61)
        ax.hist(a, bins=bins, density=True, alpha=0.55, label="synthetic", color="tab:blue")
        ax.hist(b, bins=bins, density=True, alpha=0.55, label="real", color="tab:orange")
        distance = emds[attribute]
        ax.set_title(f"{title}  (EMD {distance:.3g} {unit})" if distance is not None else title)
        ax.set_xlabel(f"{title} [{unit}]")
        ax.set_ylabel("density")
        if attribute in ("velocity_mps", "points_per_frame"):
            ax.set_yscale("log")
    ax = axes.flat[7]
    names = ["zero-velocity", f"range < {NEAR_RANGE_M:g} m"]
    synthetic_values = [
        report.row("zero_velocity_fraction").synthetic,
        report.row("near_range_fraction").synthetic,
    ]
    real_values = [
        report.row("zero_velocity_fraction").real,
        report.row("near_range_fraction").real,
    ]
    positions = np.arange(len(names))
    ax.bar(positions - 0.2, synthetic_values, 0.4, label="synthetic", color="tab:blue")
    ax.bar(positions + 0.2, real_values, 0.4, label="real", color="tab:orange")
    ax.set_xticks(positions, names)
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction of points")
    ax.set_title("point fractions")
    title = (
        f"synthetic: {Path(synthetic.name).name} ({synthetic.clips} clips, "
        f"{synthetic.num_points} points)   real: {real.name.split(':')[0]} pooled "
        f"({real.clips} recordings, {real.num_points} points, labels unused)"
    )
    return save_figure(figure, axes, title, path)


def realism_report(
    synthetic_source: str | Path,
    real_source: str,
    out_dir: str | Path | None = None,
    zero_velocity_tolerance_mps: float | None = None,
    limit: int | None = None,
) -> tuple[RealismReport, Path | None]:
    """Load both sides, compare them and (with ``out_dir``) write ``realism.png``,
    ``realism_windows.png`` (the window statistics) and ``realism.json`` there.

    Parameters
    ----------
    synthetic_source
        Store folder, products ``.npz`` or folder of them.
    real_source
        ``READER:DIR`` (readers: :data:`~mmexpert.data.readers.POINT_READERS`).
    out_dir
        Folder for the plot and the JSON report; nothing is written without it.
    zero_velocity_tolerance_mps
        See :func:`compare_point_clouds`.
    limit
        Read at most this many synthetic samples.

    Returns
    -------
    report : RealismReport
    plot : Path or None
        The PNG, when ``out_dir`` was given.
    """
    synthetic = load_synthetic_points(synthetic_source, limit)
    real = load_real_points(real_source)
    tolerance = resolve_zero_velocity_tolerance(synthetic, real, zero_velocity_tolerance_mps)
    windows = (
        side_window_statistics(synthetic, tolerance),
        side_window_statistics(real, tolerance),
    )
    report = compare_point_clouds(synthetic, real, tolerance, windows)
    if out_dir is None:
        return report, None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "realism.json").write_text(report.to_json() + "\n")
    plot_window_statistics(*windows, report, out / "realism_windows.png")
    return report, plot_realism(synthetic, real, report, out / "realism.png")
