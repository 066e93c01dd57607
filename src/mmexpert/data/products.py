"""A simulated (or real) capture with its processed products, stored as one ``.npz``.

The file holds no pickles: arrays, a structured point array and JSON text, so it loads
with ``np.load(path, allow_pickle=False)`` anywhere.

Keys
----
``adc``            complex64 [frames, loops, tx, rx, samples] [V] (optional)
``config``         JSON text of the full RadarConfig
``points``         structured [points] (``frame`` + the TI ROS fields, SI units)
``points_per_frame`` int64 [frames]
``range_axis``     float64 [range] [m];  ``velocity_axis`` float64 [doppler] [m/s]
``angle_axis``     float64 [angles] [rad]; ``time_axis`` float64 [frames] [s]
``range_doppler``  float32 [frames, doppler, range] [dB]
``range_azimuth``  float32 [frames, range, angles] [dB]
``micro_doppler``  float32 [doppler, frames] [dB]
``range_time``     float32 [range, frames] [dB]
``azimuth_time``   float32 [angles, frames] [dB]
``metadata``       JSON text (what was simulated, seed, noise power ...)
anything else      extras, e.g. ``joints`` [T, 22, 3] and body scatterers of a person
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmexpert.dsp.base import power_to_db
from mmexpert.dsp.chain import ChainOutput, ProcessingChain
from mmexpert.dsp.pointcloud import POINT_DTYPE
from mmexpert.radar.config import RadarConfig
from mmexpert.radar.cube import RadarCube

FRAME_POINT_DTYPE = np.dtype([("frame", np.int32), *POINT_DTYPE.descr])
"""Points of several frames in one array: the frame index, then the TI ROS fields."""

_MAP_KEYS = ("range_doppler", "range_azimuth", "micro_doppler", "range_time", "azimuth_time")
_AXIS_KEYS = ("range_axis", "velocity_axis", "angle_axis", "time_axis")
_KNOWN_KEYS = {*_MAP_KEYS, *_AXIS_KEYS, "adc", "config", "metadata", "points", "points_per_frame"}


class ProductsFileError(ValueError):
    """An ``.npz`` that is not a readable mmExpert products file."""


@dataclass(frozen=True)
class SimulationProducts:
    """Processed radar data of one capture (see the module docstring for every array)."""

    config: RadarConfig
    points: np.ndarray  # FRAME_POINT_DTYPE [points]
    points_per_frame: np.ndarray  # int64 [frames]
    maps_db: dict[str, np.ndarray]  # the five maps in dB, keys as _MAP_KEYS
    axes: dict[str, np.ndarray]  # the four axes, keys as _AXIS_KEYS
    adc: np.ndarray | None = None  # complex64 [frames, loops, tx, rx, samples] [V]
    metadata: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # e.g. joints, scatterers

    @classmethod
    def from_chain(
        cls,
        cube: RadarCube,
        output: ChainOutput,
        metadata: dict[str, Any] | None = None,
        keep_adc: bool = True,
    ) -> SimulationProducts:
        """Collect a cube and its chain output."""
        counts = np.array([len(p) for p in output.points], dtype=np.int64)
        points = np.zeros(int(counts.sum()), dtype=FRAME_POINT_DTYPE)
        start = 0
        for frame, frame_points in enumerate(output.points):
            stop = start + len(frame_points)
            points["frame"][start:stop] = frame
            for name in POINT_DTYPE.names:
                points[name][start:stop] = frame_points[name]
            start = stop
        maps = {
            key: power_to_db(getattr(output, key).power).astype(np.float32) for key in _MAP_KEYS
        }
        axes = {
            "range_axis": output.range_axis_m,
            "velocity_axis": output.velocity_axis_mps,
            "angle_axis": output.angle_axis_rad,
            "time_axis": output.time_axis_s,
        }
        meta = {"noise_power_w": cube.noise_power_w, **(metadata or {})}
        return cls(cube.config, points, counts, maps, axes, cube.adc if keep_adc else None, meta)

    @property
    def num_points(self) -> int:
        """Points over all frames."""
        return len(self.points)

    def frame_points(self, frame: int) -> np.ndarray:
        """Points of one frame, FRAME_POINT_DTYPE [points_f]."""
        return self.points[self.points["frame"] == frame]

    def arrays(self) -> dict[str, np.ndarray]:
        """All arrays by their ``.npz`` key (plots and loaders use these names)."""
        arrays: dict[str, np.ndarray] = {
            **self.maps_db,
            **self.axes,
            "points": self.points,
            "points_per_frame": self.points_per_frame,
        }
        if self.adc is not None:
            arrays["adc"] = self.adc
        return {**arrays, **self.extras}

    def save(self, path: str | Path) -> Path:
        """Write the ``.npz`` atomically (a temporary file renamed into place)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(
            tmp,
            config=np.array(self.config.to_json()),
            metadata=np.array(json.dumps(self.metadata, default=_json_default)),
            **self.arrays(),
        )
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> SimulationProducts:
        """Read a file written by :meth:`save`; clear errors for anything else."""
        path = Path(path)
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ProductsFileError(f"{path}: not a readable .npz file ({exc})") from None
        with data:
            missing = [k for k in ("config", "points", *_MAP_KEYS, *_AXIS_KEYS) if k not in data]
            if missing:
                raise ProductsFileError(f"{path}: missing arrays {missing}")
            try:
                arrays = {key: data[key] for key in data.files}
            except (OSError, ValueError, EOFError) as exc:
                raise ProductsFileError(f"{path}: corrupt array data ({exc})") from None
        config = RadarConfig.from_json(str(arrays["config"]))
        points = arrays["points"]
        if points.dtype != FRAME_POINT_DTYPE:
            raise ProductsFileError(f"{path}: points have dtype {points.dtype}")
        frames = len(arrays["time_axis"])
        counts = arrays.get("points_per_frame", np.bincount(points["frame"], minlength=frames))
        return cls(
            config=config,
            points=points,
            points_per_frame=counts,
            maps_db={k: arrays[k] for k in _MAP_KEYS},
            axes={k: arrays[k] for k in _AXIS_KEYS},
            adc=arrays.get("adc"),
            metadata=json.loads(str(arrays["metadata"])) if "metadata" in arrays else {},
            extras={k: v for k, v in arrays.items() if k not in _KNOWN_KEYS},
        )


def process(
    cube: RadarCube,
    metadata: dict[str, Any] | None = None,
    chain: ProcessingChain | None = None,
    keep_adc: bool = True,
) -> SimulationProducts:
    """Run the device chain on a cube and collect the products."""
    chain = chain if chain is not None else ProcessingChain()
    return SimulationProducts.from_chain(cube, chain(cube), metadata, keep_adc=keep_adc)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
