"""What the dashboard shows: stores, samples, plans and models found under the data folder.

Everything here reads through the library (:class:`~mmexpert.data.store.DatasetStore`,
:mod:`mmexpert.plan`, :mod:`mmexpert.motion`) and returns JSON-able dicts; nothing writes.

The skeleton of a sample is not stored: the engine keeps the motion program and its seed,
and :func:`sample_skeleton` re-runs the same deterministic synthesis the simulation ran
(``synthesize(program, fps=30, rng=default_rng(seed))``, see
:func:`~mmexpert.data.simulation.simulate_person`), sampled at the radar frame times.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mmexpert.data.samples import MAP_VIEWS
from mmexpert.data.store import DESCRIPTION_FILE, DatasetStore
from mmexpert.web.safety import DataRoot

MAX_DEPTH = 6  # folder levels searched below the data folder
MAP_FLOOR_DB = 40.0  # maps are sent as 0..255 over [peak - 40 dB, peak]
MAX_POINTS_PER_FRAME = 64  # strongest points kept per frame in the viewer
SKELETON_FPS_HZ = 30.0  # the frame rate simulate_person synthesizes motions at
PLAN_FILE_MAX_BYTES = 50_000_000

MAP_AXES = {  # view -> (axis name in the products/metadata, scale to display units, label)
    "micro_doppler": ("velocity_axis", 1.0, "velocity [m/s]"),
    "range_time": ("range_axis", 1.0, "range [m]"),
    "azimuth_time": ("angle_axis", 180.0 / np.pi, "azimuth [deg]"),
}


class CatalogError(ValueError):
    """A store, sample, plan or model that cannot be shown (missing, unreadable, malformed)."""


# --------------------------------------------------------------------------- discovery


def walk_data(root: Path) -> Iterator[tuple[Path, list[str], list[str]]]:
    """``os.walk`` below ``root`` without following symlinks, skipping hidden folders and
    the inside of dataset stores, to :data:`MAX_DEPTH` levels."""
    base_depth = len(root.parts)
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(folder)
        if DESCRIPTION_FILE in filenames and here != root:
            dirnames[:] = []
        else:
            dirnames[:] = sorted(
                name
                for name in dirnames
                if not name.startswith(".") and not (here / name).is_symlink()
            )
        if len(here.parts) - base_depth >= MAX_DEPTH:
            dirnames[:] = []
        yield here, dirnames, filenames


def find_stores(data: DataRoot) -> list[str]:
    """Dataset stores under the data folder (the folder itself counts), relative paths."""
    found = []
    for folder, _, filenames in walk_data(data.root):
        if DESCRIPTION_FILE in filenames:
            found.append(data.relative(folder))
    return found


def find_plans(data: DataRoot) -> list[str]:
    """Plan files: ``*plan*.json`` files below the data folder (outside stores)."""
    found = []
    for folder, _, filenames in walk_data(data.root):
        if DESCRIPTION_FILE in filenames:
            continue
        for name in sorted(filenames):
            path = folder / name
            if name.endswith(".json") and "plan" in name and not path.is_symlink():
                found.append(data.relative(path))
    return found


def model_kind(folder: Path) -> str | None:
    """``"radar_llm"``, ``"clip"``, ``"classifier"`` or None for a folder that holds no model.

    A radar LLM folder holds ``config.json``, ``adapter/`` and ``projector.pt``
    (:meth:`~mmexpert.models.radar_llm.RadarLLM.save`); a radar model folder holds
    ``config.json``, ``classes.json`` and its weights (:mod:`mmexpert.models.io`).
    """
    if not (folder / "config.json").is_file():
        return None
    if (folder / "adapter").is_dir() and (folder / "projector.pt").is_file():
        return "radar_llm"
    weights = (folder / "model.safetensors").is_file() or (folder / "model.pt").is_file()
    if weights and (folder / "classes.json").is_file():
        try:
            family = json.loads((folder / "config.json").read_text())["model"]["family"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return family if family in ("clip", "classifier") else None
    return None


def find_models(data: DataRoot) -> list[dict[str, Any]]:
    """Trained models below the data folder: ``{"path", "kind", "classes"}`` each."""
    found = []
    for folder, dirnames, _ in walk_data(data.root):
        kind = model_kind(folder)
        if kind is None:
            continue
        dirnames[:] = []
        classes: list[str] = []
        if kind != "radar_llm":
            try:
                classes = list(json.loads((folder / "classes.json").read_text()))
            except (OSError, ValueError):
                classes = []
        found.append({"path": data.relative(folder), "kind": kind, "classes": classes})
    return found


# --------------------------------------------------------------------------- datasets


def open_store(path: Path) -> DatasetStore:
    """Open a store read-only, turning store errors into :class:`CatalogError`."""
    from mmexpert.data.store_schema import StoreError

    try:
        return DatasetStore.open(path, mode="r")
    except (StoreError, OSError) as error:
        raise CatalogError(f"cannot open the dataset store: {error}") from None


def radar_summary(config: dict[str, Any]) -> dict[str, Any]:
    """Derived quantities of a stored radar config (SI units, plus the raw config)."""
    from mmexpert.radar.config import RadarConfig, RadarConfigError

    try:
        radar = RadarConfig.from_dict(config)
    except (RadarConfigError, KeyError, TypeError, ValueError) as error:
        return {"error": f"stored radar config is unreadable: {error}", "config": config}
    return {
        "name": radar.name,
        "start_freq_hz": radar.profile.start_freq_hz,
        "slope_hz_per_s": radar.profile.slope_hz_per_s,
        "num_adc_samples": radar.profile.num_adc_samples,
        "sample_rate_hz": radar.profile.sample_rate_hz,
        "num_tx": len(radar.antennas.tx_positions_m),
        "num_rx": len(radar.antennas.rx_positions_m),
        "num_loops": radar.frame.num_loops,
        "frame_rate_hz": radar.frame_rate_hz,
        "range_resolution_m": radar.range_resolution_m,
        "max_range_m": radar.max_range_m,
        "max_velocity_mps": radar.max_velocity_mps,
        "velocity_resolution_mps": radar.velocity_resolution_mps,
        "config": config,
    }


def dataset_summary(data: DataRoot, relative: str) -> dict[str, Any]:
    """Counts per activity, sizes, schema, radar config(s), provenance and the sample list.

    Parameters
    ----------
    data
        The data folder.
    relative
        Store path relative to it.
    """
    path = data.resolve(relative)
    with open_store(path) as store:
        info = store.info()
        records = store.records()
    radars: dict[str, dict[str, Any]] = {}
    provenance: dict[str, set[str]] = {
        "software_version": set(),
        "generator_code_hash": set(),
        "generator_options": set(),
    }
    samples = []
    for record in records:
        metadata = record.metadata
        radar_hash = metadata.get("radar_config_hash")
        if radar_hash and radar_hash not in radars and metadata.get("radar_config"):
            radars[radar_hash] = radar_summary(metadata["radar_config"])
        for key in provenance:
            if key in metadata:
                provenance[key].add(json.dumps(metadata[key], sort_keys=True).strip('"'))
        captions = metadata.get("captions") or []
        samples.append(
            {
                "sample_id": record.sample_id,
                "activity": record.activity,
                "caption": captions[0] if captions else "",
                "num_frames": (metadata.get("timing") or {}).get("num_frames"),
                "num_points": metadata.get("num_points"),
                "tags": metadata.get("tags") or [],
            }
        )
    siblings = {
        "plan": path.with_name(path.name + ".plan.json"),
        "llm_cache": path.with_name(path.name + ".llm_cache.sqlite"),
    }
    return {
        "path": data.relative(path),
        "version": info.version,
        "n_samples": info.n_samples,
        "per_activity": {str(k): v for k, v in info.per_activity.items()},
        "sample_bytes": info.sample_bytes,
        "manifest_bytes": info.manifest_bytes,
        "arrays": {
            name: {"dtype": spec.dtype, "shape": list(spec.shape), "optional": spec.optional}
            for name, spec in info.schema.arrays.items()
        },
        "splits": info.splits,
        "radar": list(radars.values()),
        "provenance": {key: sorted(values) for key, values in provenance.items()},
        "plan_file": (
            data.relative(siblings["plan"])
            if siblings["plan"].is_file() and data.contains(siblings["plan"])
            else None
        ),
        "samples": samples,
    }


# --------------------------------------------------------------------------- one sample


def frame_picks(num_frames: int, max_frames: int) -> np.ndarray:
    """At most ``max_frames`` frame indices spread evenly over ``num_frames``, int64."""
    count = max(1, min(num_frames, max_frames))
    return np.unique(np.round(np.linspace(0, num_frames - 1, count)).astype(np.int64))


def map_payload(values_db: np.ndarray, picks: np.ndarray, max_bins: int) -> dict[str, Any]:
    """A dB map [bins, frames] as 8-bit levels over [peak - 40 dB, peak] for a canvas.

    Bins are max-pooled down to at most ``max_bins`` (a thin target stays visible);
    frames are the columns ``picks``.

    Returns
    -------
    dict
        ``bins``, ``frames``, ``peak_db``, ``floor_db`` and ``levels``: ints 0..255,
        row-major [bins, frames], row 0 the lowest bin.
    """
    columns = np.asarray(values_db, dtype=np.float64)[:, picks]
    factor = max(1, int(np.ceil(columns.shape[0] / max_bins)))
    usable = (columns.shape[0] // factor) * factor
    pooled = columns[:usable].reshape(-1, factor, columns.shape[1]).max(axis=1)
    peak = float(pooled.max()) if pooled.size else 0.0
    floor = peak - MAP_FLOOR_DB
    levels = np.round((np.clip(pooled, floor, peak) - floor) / MAP_FLOOR_DB * 255.0)
    return {
        "bins": int(pooled.shape[0]),
        "frames": int(pooled.shape[1]),
        "peak_db": peak,
        "floor_db": floor,
        "levels": levels.astype(np.int64).ravel().tolist(),
    }


def _radar_pose(metadata: dict[str, Any]) -> Any:
    """The pose the simulation mounted the radar at (for local -> world point transforms)."""
    from mmexpert.data.simulation import mounted
    from mmexpert.radar.config import RadarConfig

    scene = metadata.get("scene") or {}
    radar = RadarConfig.from_dict(metadata["radar_config"])
    return mounted(
        radar, float(scene.get("mount_height_m", 1.0)), float(scene.get("tilt_rad", 0.0))
    )


def sample_skeleton(metadata: dict[str, Any], times_s: np.ndarray) -> np.ndarray:
    """Joint positions of a stored sample at ``times_s``, re-synthesized from its program.

    Parameters
    ----------
    metadata
        The sample metadata (``motion_program`` and ``seeds.motion``).
    times_s
        float64 [frames] times [s] from the start of the clip.

    Returns
    -------
    np.ndarray
        float64 [frames, 22, 3] world-frame joint positions [m] (z up, radar above the
        origin looking along +y).

    Raises
    ------
    CatalogError
        If the metadata holds no motion program.
    """
    from mmexpert.motion import ProgramError, synthesize

    program = metadata.get("motion_program")
    if not program:
        raise CatalogError("the sample holds no motion program")
    seed = int((metadata.get("seeds") or {}).get("motion", 0))
    try:
        motion = synthesize(program, fps=SKELETON_FPS_HZ, rng=np.random.default_rng(seed))
    except ProgramError as error:
        raise CatalogError(f"the stored motion program does not synthesize: {error}") from None
    return motion.positions_at(np.clip(times_s, 0.0, motion.duration_s))


def points_payload(
    points: np.ndarray, points_per_frame: np.ndarray, picks: np.ndarray, pose: Any
) -> list[list[list[float]]]:
    """Per picked frame, its strongest points as ``[x, y, z, velocity, snr_db]`` lists.

    ``points`` float32 [N, 8] (:data:`~mmexpert.data.samples.POINT_COLUMNS`) are moved from
    the radar local frame to the world frame with ``pose`` (None keeps them local).
    """
    counts = np.asarray(points_per_frame, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)])
    frames = []
    for frame in picks:
        if frame >= len(counts):
            frames.append([])
            continue
        chunk = np.asarray(points[starts[frame] : starts[frame + 1]], dtype=np.float64)
        if len(chunk) > MAX_POINTS_PER_FRAME:
            chunk = chunk[np.argsort(chunk[:, 4])[::-1][:MAX_POINTS_PER_FRAME]]
        xyz = pose.to_world(chunk[:, :3]) if pose is not None and len(chunk) else chunk[:, :3]
        rows = np.column_stack([xyz, chunk[:, 3], chunk[:, 4]]) if len(chunk) else chunk[:, :5]
        frames.append(np.round(rows, 3).tolist())
    return frames


def sample_view(
    data: DataRoot, relative: str, sample_id: str, max_frames: int = 200, max_bins: int = 128
) -> dict[str, Any]:
    """Everything the sample viewer draws, downsampled for the browser.

    Returns
    -------
    dict
        ``metadata`` (captions, QA, motion program, ...), ``times_s`` [frames] [s], ``maps``
        (:func:`map_payload` per view with its axis), ``points`` per frame (world frame),
        ``skeleton`` (``joints`` [frames][22][3] [m], ``parents``) or ``skeleton_error``.
    """
    from mmexpert.data.store_schema import StoreError
    from mmexpert.motion import PARENTS

    path = data.resolve(relative)
    with open_store(path) as store:
        try:
            record = store.record_of(sample_id)
        except KeyError:
            raise CatalogError(f"sample {sample_id!r} is not in the store {relative!r}") from None
        wanted = [
            name for name in (*MAP_VIEWS, "points", "points_per_frame") if name in record.checksums
        ]
        try:
            sample = store.read_record(record, arrays=wanted)
        except (StoreError, OSError) as error:
            raise CatalogError(f"cannot read sample {sample_id!r}: {error}") from None
    metadata = dict(sample.metadata)
    timing = metadata.get("timing") or {}
    views = [view for view in MAP_VIEWS if view in sample.arrays]
    num_frames = (
        int(sample.arrays[views[0]].shape[1])
        if views
        else len(sample.arrays.get("points_per_frame", []))
    )
    frame_rate = float(timing.get("frame_rate_hz") or 0.0) or None
    picks = frame_picks(num_frames, max_frames)
    times = picks / frame_rate if frame_rate else picks.astype(np.float64)
    axes = metadata.get("axes") or {}
    maps = {}
    for view in views:
        payload = map_payload(sample.arrays[view], picks, max_bins)
        axis_name, scale, label = MAP_AXES[view]
        axis = axes.get(axis_name)
        payload["axis"] = (
            {"low": axis[0] * scale, "high": axis[1] * scale, "label": label} if axis else None
        )
        maps[view] = payload
    pose = None
    if metadata.get("radar_config"):
        try:
            pose = _radar_pose(metadata).pose
        except (KeyError, TypeError, ValueError):
            pose = None
    points = []
    if "points" in sample.arrays and "points_per_frame" in sample.arrays:
        points = points_payload(
            sample.arrays["points"], sample.arrays["points_per_frame"], picks, pose
        )
    result: dict[str, Any] = {
        "sample_id": sample_id,
        "store": data.relative(path),
        "frame_rate_hz": frame_rate,
        "num_frames": num_frames,
        "frames": picks.tolist(),
        "times_s": np.round(times, 4).tolist(),
        "maps": maps,
        "points": points,
        "points_frame": "world" if pose is not None else "radar",
        "radar_position_m": list(pose.position_m) if pose is not None else [0.0, 0.0, 0.0],
        "skeleton": None,
        "skeleton_error": None,
    }
    try:
        joints = sample_skeleton(metadata, times)
        result["skeleton"] = {
            "joints": np.round(joints, 3).tolist(),
            "parents": list(PARENTS),
        }
    except CatalogError as error:
        result["skeleton_error"] = str(error)
    metadata.pop("radar_config", None)  # long; the dataset page shows it
    result["metadata"] = metadata
    return result


# --------------------------------------------------------------------------- plans


def plan_view(data: DataRoot, relative: str) -> dict[str, Any]:
    """A plan file for the plan viewer: scenario, vocabulary, strategies, quotas, samples.

    Reads a full :class:`~mmexpert.plan.Plan` (``mmexpert plan``) or a bare sample list
    (``{"samples": [...]}`` or ``[...]``); fields a bare list lacks are None, and its
    quotas are the sample counts per activity.
    """
    from pydantic import ValidationError

    from mmexpert.plan import Plan
    from mmexpert.plan.spec import SampleSpec

    path = data.resolve(relative)
    if not path.is_file() or path.suffix != ".json":
        raise CatalogError(f"{relative!r} is not a .json plan file")
    if path.stat().st_size > PLAN_FILE_MAX_BYTES:
        raise CatalogError(f"{relative!r} is larger than {PLAN_FILE_MAX_BYTES} bytes")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CatalogError(f"{relative!r} is not readable JSON: {error}") from None
    result: dict[str, Any] = {
        "path": data.relative(path),
        "scenario": None,
        "count": None,
        "seed": None,
        "population": None,
        "vocabulary": None,
        "strategies": None,
        "subtasks": None,
        "report": None,
    }
    try:
        if isinstance(raw, dict) and "vocabulary" in raw:
            plan = Plan.model_validate(raw)
            dumped = plan.model_dump(mode="json")
            for key in ("scenario", "count", "seed", "population", "vocabulary"):
                result[key] = dumped[key]
            result["strategies"] = dumped["strategies"]
            result["subtasks"] = dumped["subtasks"]
            result["report"] = dumped["report"]
            specs = plan.samples
        else:
            entries = raw.get("samples") if isinstance(raw, dict) else raw
            if not isinstance(entries, list):
                raise CatalogError(f"{relative!r} holds no plan (no 'samples' list)")
            specs = [SampleSpec.model_validate(entry) for entry in entries]
    except ValidationError as error:
        raise CatalogError(
            f"{relative!r} is not a valid plan: {error.errors()[0]['msg']}"
        ) from None
    counts: dict[str, int] = {}
    for spec in specs:
        counts[spec.activity] = counts.get(spec.activity, 0) + 1
    result["count"] = result["count"] or len(specs)
    result["per_activity"] = counts
    result["samples"] = [
        {
            "activity": spec.activity,
            "description": spec.description,
            "captions": spec.captions,
            "tags": spec.tags,
            "segments": [
                {"primitive": segment.primitive, "duration_s": duration}
                for segment, duration in zip(
                    spec.program.segments, spec.program.durations_s(), strict=True
                )
            ],
            "seed": spec.seed,
        }
        for spec in specs
    ]
    return result
