"""Figures of radar products: range-Doppler, the three time maps, and point clouds.

Every function takes arrays in SI units and converts to display units (degrees, dB) here,
at the edge. Figures are written as PNG and the paths returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

_DPI = 110


def _image(ax, data_db: np.ndarray, x: np.ndarray, y: np.ndarray, label: str, dynamic_db=40.0):
    """Show ``data_db`` [len(y), len(x)] with a colour bar and a fixed dynamic range [dB]."""
    top = float(np.nanmax(data_db))
    extent = (float(x[0]), float(x[-1]), float(y[0]), float(y[-1]))
    im = ax.imshow(
        data_db,
        origin="lower",
        aspect="auto",
        extent=extent,
        vmin=top - dynamic_db,
        vmax=top,
        cmap="viridis",
        interpolation="nearest",
    )
    plt.colorbar(im, ax=ax, label=label)


def plot_range_doppler(
    range_doppler_db: np.ndarray,
    range_axis_m: np.ndarray,
    velocity_axis_mps: np.ndarray,
    path: Path,
    title: str = "Range-Doppler",
) -> Path:
    """Range-Doppler map [velocity, range] in dB."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    _image(ax, range_doppler_db, range_axis_m, velocity_axis_mps, "power [dB]")
    ax.set_xlabel("range [m]")
    ax.set_ylabel("radial velocity [m/s] (+ away)")
    ax.set_title(title)
    return save_png(fig, path)


def plot_time_map(
    map_db: np.ndarray,
    axis: np.ndarray,
    time_axis_s: np.ndarray,
    axis_label: str,
    path: Path,
    title: str,
) -> Path:
    """A [bins, time] map (micro-Doppler, range-time or azimuth-time) in dB."""
    fig, ax = plt.subplots(figsize=(7, 4))
    t = time_axis_s if len(time_axis_s) > 1 else np.array([0.0, 1e-3])
    _image(ax, map_db, t, axis, "power [dB]")
    ax.set_xlabel("time [s]")
    ax.set_ylabel(axis_label)
    ax.set_title(title)
    return save_png(fig, path)


def plot_point_cloud(points: np.ndarray, path: Path, max_range_m: float | None = None) -> Path:
    """Top view (x, y) and side view (y, z) of all frames' points, coloured by velocity."""
    fig, (top, side) = plt.subplots(1, 2, figsize=(10, 4.5))
    if len(points):
        vmax = max(float(np.abs(points["velocity"]).max()), 1e-3)
        kw = dict(c=points["velocity"], cmap="coolwarm", vmin=-vmax, vmax=vmax, s=10)
        sc = top.scatter(points["x"], points["y"], **kw)
        side.scatter(points["y"], points["z"], **kw)
        plt.colorbar(sc, ax=side, label="radial velocity [m/s]")
    top.plot([0], [0], "k^", ms=10, label="radar")
    top.set_xlabel("x [m] (right)")
    top.set_ylabel("y [m] (boresight)")
    top.set_title(f"point cloud, top view ({len(points)} points)")
    top.legend(loc="upper right")
    side.set_xlabel("y [m] (boresight)")
    side.set_ylabel("z [m] (up)")
    side.set_title("side view")
    if max_range_m:
        top.set_ylim(0, max_range_m)
        top.set_xlim(-max_range_m / 2, max_range_m / 2)
    for ax in (top, side):
        ax.grid(alpha=0.3)
    return save_png(fig, path)


def plot_products(products: Mapping[str, np.ndarray], out_dir: Path) -> list[Path]:
    """Write every figure that ``products`` (the arrays of a simulate ``.npz``) allows.

    Expects the keys written by ``mmexpert simulate``: ``range_doppler`` [frames, doppler,
    range] dB, ``micro_doppler`` [doppler, frames], ``range_time`` [range, frames],
    ``azimuth_time`` [angle, frames], ``points`` (structured), and the axes
    ``range_axis`` [m], ``velocity_axis`` [m/s], ``angle_axis`` [rad], ``time_axis`` [s].
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng_m, vel, time_s = products["range_axis"], products["velocity_axis"], products["time_axis"]
    written = [
        plot_range_doppler(
            products["range_doppler"][0],
            rng_m,
            vel,
            out_dir / "range_doppler.png",
            title="Range-Doppler (frame 0, clutter removed)",
        ),
        plot_time_map(
            products["micro_doppler"],
            vel,
            time_s,
            "radial velocity [m/s]",
            out_dir / "micro_doppler.png",
            "Micro-Doppler",
        ),
        plot_time_map(
            products["range_time"],
            rng_m,
            time_s,
            "range [m]",
            out_dir / "range_time.png",
            "Range-time",
        ),
        plot_time_map(
            products["azimuth_time"],
            np.degrees(products["angle_axis"]),
            time_s,
            "azimuth [deg]",
            out_dir / "azimuth_time.png",
            "Azimuth-time (Capon)",
        ),
        plot_point_cloud(products["points"], out_dir / "point_cloud.png"),
    ]
    return written


def save_png(fig, path: Path) -> Path:
    """Lay out, write (creating the folder) and close a figure; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
    return path
