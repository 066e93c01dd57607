"""Link-budget calibration from unlabelled real recordings.

How strongly a device sees a person depends on numbers no datasheet states: body
reflectivity at 77 GHz, antenna gain off boresight, IF-filter and ADC losses, how the
firmware scales its detection threshold. Together they shift every return's SNR by the same
few dB, and that shift decides what a point model sees: how many limb returns pass CFAR
and how fast the detected movers are. The simulator folds all of it into one knob, the
noise-figure offset of :class:`~mmexpert.plan.spec.SceneSpec`.

:func:`calibrate_link_budget` simulates the same programs at several offsets, cuts both
sides into the models' windows (:mod:`mmexpert.eval.window_stats`) and measures, per offset
and statistic, the earth mover's distance to the pooled real windows. The distance of an
offset is the sum over the chosen statistics of EMD / (standard deviation of the real
windows), so statistics in different units weigh alike. No label is read: real recordings
are pooled as in :func:`~mmexpert.eval.realism.load_real_points`.

A stricter detector thins the movers too, but keeps the strong ones, so
``cfar_thresholds_db`` adds a second axis: the radar's range CFAR threshold. With it every
(threshold, offset) pair is simulated, and ``mover_intensity`` among the statistics tells the
two knobs apart.

Every grid point's clips go to their own store under ``out_dir``; a rerun skips what is
stored.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mmexpert.data.engine import Executor, generate
from mmexpert.eval.realism import (
    RealismError,
    emd,
    load_real_points,
    load_store_points,
    resolve_zero_velocity_tolerance,
    save_figure,
    side_window_statistics,
)
from mmexpert.eval.window_stats import WINDOW_STATISTICS
from mmexpert.plan.planner import PlanError, check_noise_figure_span
from mmexpert.plan.spec import NOISE_FIGURE_OFFSET_LIMITS_DB, SampleSpec
from mmexpert.radar.config import RadarConfig, RadarConfigError
from mmexpert.radar.ticfg import TiCfgError, to_ti_cfg

CALIBRATION_STATISTICS = ("frames_with_movers", "fast_mover_fraction", "movers_per_frame")
"""Window statistics the link budget moves most (see the module docstring)."""

DEFAULT_OFFSETS_DB = (0.0, 4.0, 8.0, 12.0, 16.0)
"""Noise-figure offsets tried by default [dB]."""

BEST_RADAR_CFG = "best_radar.cfg"
"""With a CFAR grid: the radar at the best threshold, as a TI cfg in the output folder."""


@dataclass(frozen=True)
class OffsetResult:
    """The comparison at one noise-figure offset."""

    offset_db: float  # noise-figure offset every clip was simulated with [dB]
    clips: int  # synthetic clips compared
    windows: int  # synthetic windows compared
    synthetic_median: dict[str, float]  # statistic -> median over the synthetic windows
    emd: dict[str, float]  # statistic -> EMD to the real windows (its unit)
    distance: float  # sum of EMD / std of the real windows (dimensionless)
    cfar_threshold_db: float | None = None  # range CFAR threshold tried [dB]; None: the radar's


@dataclass(frozen=True)
class LinkBudgetCalibration:
    """Every offset's comparison and the best one."""

    real_source: str
    real_recordings: int
    real_windows: int
    statistics: tuple[str, ...]
    real_median: dict[str, float]
    real_std: dict[str, float]
    results: tuple[OffsetResult, ...]
    radar_cfg: str | None = None  # TI .cfg of the radar with the best CFAR threshold, if written

    @property
    def best(self) -> OffsetResult:
        """The offset with the smallest distance (NaN, where a side had no mover, loses)."""
        return min(
            self.results, key=lambda r: r.distance if math.isfinite(r.distance) else math.inf
        )

    @property
    def best_at_edge(self) -> str | None:
        """``"lowest"`` or ``"highest"`` when the best offset is an end of the tried range
        (the optimum may lie beyond it), else ``None``."""
        threshold = self.best.cfar_threshold_db
        offsets = [r.offset_db for r in self.results if r.cfar_threshold_db == threshold]
        if len(set(offsets)) < 2:
            return None
        if self.best.offset_db == max(offsets):
            return "highest"
        if self.best.offset_db == min(offsets):
            return "lowest"
        return None

    @property
    def edge_note(self) -> str | None:
        """What to try next when the best offset is an end of the tried range, else None."""
        if self.best_at_edge is None:
            return None
        low, high = NOISE_FIGURE_OFFSET_LIMITS_DB
        return (
            f"the best offset is the {self.best_at_edge} one tried, so the optimum may lie "
            f"beyond it: try offsets past it (a scene holds {low:+.0f} to {high:+.0f} dB)"
        )

    def to_json(self) -> str:
        data = asdict(self)
        data["best_offset_db"] = self.best.offset_db
        data["best_cfar_threshold_db"] = self.best.cfar_threshold_db
        data["best_at_edge"] = self.best_at_edge
        return json.dumps(data, indent=1)


class CalibrationError(ValueError):
    """Calibration inputs that cannot work (no offsets, unknown statistic, no windows)."""


def with_noise_figure_offset(specs: Sequence[SampleSpec], offset_db: float) -> list[SampleSpec]:
    """``specs`` with every scene's noise-figure offset set to ``offset_db`` [dB].

    Raises
    ------
    CalibrationError
        If the offset is outside what :class:`~mmexpert.plan.spec.SceneSpec` accepts.
    """
    try:
        check_noise_figure_span((offset_db, offset_db))
    except PlanError as error:
        raise CalibrationError(str(error)) from None
    return [
        spec.model_copy(
            update={"scene": spec.scene.model_copy(update={"noise_figure_offset_db": offset_db})}
        )
        for spec in specs
    ]


def with_range_cfar_threshold(radar: RadarConfig, threshold_db: float) -> RadarConfig:
    """``radar`` with its range CFAR threshold set to ``threshold_db`` [dB].

    Raises
    ------
    CalibrationError
        If the threshold is not a positive finite number or the radar refuses it.
    """
    if not (math.isfinite(threshold_db) and threshold_db > 0):
        raise CalibrationError(
            f"a CFAR threshold must be a positive number of dB, got {threshold_db}"
        )
    try:
        chain = dataclasses.replace(radar.chain, cfar_range_threshold_db=float(threshold_db))
        return dataclasses.replace(radar, chain=chain)
    except RadarConfigError as error:
        raise CalibrationError(str(error)) from None


def balanced_subset(specs: Sequence[SampleSpec], count: int) -> list[SampleSpec]:
    """Up to ``count`` specs taken in turn from each activity (plan order within one), so a
    small calibration set still holds every activity."""
    by_activity: dict[str, list[SampleSpec]] = {}
    for spec in specs:
        by_activity.setdefault(spec.activity, []).append(spec)
    interleaved = itertools.chain.from_iterable(itertools.zip_longest(*by_activity.values()))
    return [spec for spec in interleaved if spec is not None][:count]


def _finite(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)]


def _check_statistics(statistics: Sequence[str]) -> tuple[str, ...]:
    unknown = [name for name in statistics if name not in WINDOW_STATISTICS]
    if unknown or not statistics:
        raise CalibrationError(
            f"choose statistics among {list(WINDOW_STATISTICS)}, got {list(statistics)}"
        )
    return tuple(statistics)


def calibrate_link_budget(
    specs: Sequence[SampleSpec],
    radar: RadarConfig,
    real_source: str,
    out_dir: str | Path,
    offsets_db: Sequence[float] = DEFAULT_OFFSETS_DB,
    statistics: Sequence[str] = CALIBRATION_STATISTICS,
    workers: int = 2,
    executor: Executor = "process",
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    cfar_thresholds_db: Sequence[float] | None = None,
) -> LinkBudgetCalibration:
    """Simulate ``specs`` at every offset and compare their windows with the real ones.

    Parameters
    ----------
    specs
        The programs to simulate (all of them, at every offset).
    radar
        The radar of the real recordings.
    real_source
        ``READER:DIR`` of unlabelled real recordings (pooled).
    out_dir
        Folder for one store per offset (``offset_+12.0dB``), ``calibration.json`` and
        ``calibration.png``; reruns resume.
    offsets_db
        Noise-figure offsets to try [dB].
    statistics
        Window statistics the distance sums (:data:`CALIBRATION_STATISTICS`).
    workers, executor, progress
        As for :func:`~mmexpert.data.engine.generate`.
    log
        Called with one line per grid point.
    cfar_thresholds_db
        Range CFAR thresholds to try [dB], each with every offset (stores
        ``cfar_9.0dB/offset_+12.0dB``); None keeps the radar's own (stores ``offset_+12.0dB``).

    Raises
    ------
    CalibrationError
        For no specs or offsets, an unknown statistic or an offset out of range.
    RealismError
        If the real recordings cannot be read or give no window.
    """
    statistics = _check_statistics(statistics)
    if not specs or not offsets_db:
        raise CalibrationError("calibration needs at least one spec and one offset")
    offset_specs = [with_noise_figure_offset(specs, float(o)) for o in offsets_db]  # checks all
    if cfar_thresholds_db is not None and not cfar_thresholds_db:
        raise CalibrationError("give at least one CFAR threshold, or None for the radar's own")
    thresholds = [None] if cfar_thresholds_db is None else [float(t) for t in cfar_thresholds_db]
    radars = {t: radar if t is None else with_range_cfar_threshold(radar, t) for t in thresholds}
    out = Path(out_dir)
    real = load_real_points(real_source)
    grid = [
        (t, o, batch) for t in thresholds for o, batch in zip(offsets_db, offset_specs, strict=True)
    ]
    stores = []
    for threshold, offset, batch in grid:
        folder = out if threshold is None else out / f"cfar_{threshold:.1f}dB"
        store_dir = folder / f"offset_{float(offset):+.1f}dB"
        report = generate(batch, radars[threshold], store_dir, executor, workers, progress=progress)
        if report.failed:
            cfar = "" if threshold is None else f" with range CFAR {threshold:g} dB"
            _, sample_id, message = report.failed[0]
            raise CalibrationError(
                f"{len(report.failed)} of {len(batch)} clips failed at offset {offset:+g} dB"
                f"{cfar} ({store_dir}); the first, {sample_id}: {message}"
            )
        stores.append(load_store_points(store_dir))
    # half the radar's Doppler bin, recorded in every store alike: one tolerance, one real side
    tolerance = resolve_zero_velocity_tolerance(stores[0], real, None)
    real_windows = side_window_statistics(real, tolerance)
    if not len(real_windows[statistics[0]]):
        raise RealismError(f"{real_source}: no recording is one window long")
    real_values = {n: _finite(real_windows[n]) for n in statistics}
    real_std = {n: float(np.std(real_values[n])) for n in statistics}
    results = []
    for (threshold, offset, batch), synthetic in zip(grid, stores, strict=True):
        windows = side_window_statistics(synthetic, tolerance)
        distances = {n: emd(_finite(windows[n]), real_values[n]) for n in statistics}
        result = OffsetResult(
            offset_db=float(offset),
            clips=len(batch),
            windows=len(windows[statistics[0]]),
            synthetic_median={n: float(np.median(_finite(windows[n]))) for n in statistics},
            emd=distances,
            distance=float(sum(distances[n] / (real_std[n] or 1.0) for n in statistics)),
            cfar_threshold_db=threshold,
        )
        results.append(result)
        if log is not None:
            cfar = "" if threshold is None else f"CFAR {threshold:.1f} dB, "
            log(f"{cfar}offset {result.offset_db:+.1f} dB: distance {result.distance:.3f}")
    calibration = LinkBudgetCalibration(
        real_source=real_source,
        real_recordings=real.clips,
        real_windows=len(real_windows[statistics[0]]),
        statistics=statistics,
        real_median={n: float(np.median(real_values[n])) for n in statistics},
        real_std=real_std,
        results=tuple(results),
    )
    if cfar_thresholds_db is not None:
        cfg = write_radar_cfg(radars[calibration.best.cfar_threshold_db], out / BEST_RADAR_CFG)
        calibration = dataclasses.replace(calibration, radar_cfg=None if cfg is None else str(cfg))
    (out / "calibration.json").write_text(calibration.to_json() + "\n")
    plot_calibration(calibration, out / "calibration.png")
    return calibration


def write_radar_cfg(radar: RadarConfig, path: Path) -> Path | None:
    """``radar`` as a TI ``.cfg`` at ``path``, for ``mmexpert run --radar``; None (nothing
    written) when a cfg cannot express it, e.g. a radar on a board TI does not make."""
    try:
        text = to_ti_cfg(radar)
    except TiCfgError:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def plot_calibration(calibration: LinkBudgetCalibration, path: str | Path) -> Path:
    """One panel per statistic (synthetic median against offset, the real median as a
    line) and one of the distance, the best offset marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = calibration.statistics
    lines: dict[float | None, list[OffsetResult]] = {}
    for result in calibration.results:
        lines.setdefault(result.cfar_threshold_db, []).append(result)

    def label(threshold: float | None) -> str:
        return "synthetic" if threshold is None else f"CFAR {threshold:g} dB"

    figure, axes = plt.subplots(1, len(names) + 1, figsize=(3.6 * (len(names) + 1), 3.2))
    for axis, name in zip(axes, names, strict=False):
        for threshold, results in lines.items():
            axis.plot(
                [r.offset_db for r in results],
                [r.synthetic_median[name] for r in results],
                "o-",
                label=label(threshold),
            )
        axis.axhline(calibration.real_median[name], color="tab:orange", label="real")
        axis.set(
            title=name,
            xlabel="noise-figure offset [dB]",
            ylabel=f"median ({WINDOW_STATISTICS[name]})",
        )
    best = calibration.best
    for threshold, results in lines.items():
        axes[-1].plot(
            [r.offset_db for r in results],
            [r.distance for r in results],
            "o-",
            label=label(threshold),
        )
    axes[-1].plot([best.offset_db], [best.distance], "*", color="tab:red", markersize=14)
    cfar = "" if best.cfar_threshold_db is None else f", CFAR {best.cfar_threshold_db:g} dB"
    axes[-1].set(
        title=f"distance (best {best.offset_db:+.1f} dB{cfar})",
        xlabel="noise-figure offset [dB]",
        ylabel="sum of EMD / real std",
    )
    title = (
        f"link budget: {best.clips} programs per offset against {calibration.real_windows} "
        f"real windows ({calibration.real_recordings} recordings, labels unused)"
    )
    return save_figure(figure, axes, title, Path(path))


__all__ = [
    "BEST_RADAR_CFG",
    "CALIBRATION_STATISTICS",
    "DEFAULT_OFFSETS_DB",
    "CalibrationError",
    "LinkBudgetCalibration",
    "OffsetResult",
    "balanced_subset",
    "calibrate_link_budget",
    "plot_calibration",
    "with_noise_figure_offset",
    "with_range_cfar_threshold",
    "write_radar_cfg",
]
