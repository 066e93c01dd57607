"""The model playground: uploads of real recordings, zero-shot predictions, captions, answers.

Inputs are a stored sample (``store`` + ``sample_id``) or an upload. Uploads are checked
before they are kept: a size limit, a known suffix, and a successful parse by the reader the
suffix names (:data:`UPLOAD_FORMATS`; the point readers of
:data:`~mmexpert.data.readers.POINT_READERS`, or a products ``.npz`` written by
``mmexpert process`` / ``simulate``). Kept uploads live in
``<data>/uploads/<sha256 prefix><suffix>``.

A point recording holds points only, so only models whose views are all ``points`` can
score it, and the radar LLM (map views) cannot describe it; the error says so.
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mmexpert.web.catalog import (
    MAP_AXES,
    CatalogError,
    frame_picks,
    map_payload,
    model_kind,
    open_store,
    points_payload,
)
from mmexpert.web.safety import DataRoot, PathRefusedError

UPLOADS_DIR = "uploads"
DEFAULT_MAX_UPLOAD_BYTES = 20_000_000
UPLOAD_FORMATS = {".csv": "ti_csv", ".txt": "radhar", ".gz": "radhar", ".npz": "products"}
"""Upload suffix -> format: a :data:`~mmexpert.data.readers.POINT_READERS` name or
``products`` (a :class:`~mmexpert.data.products.SimulationProducts` file)."""


class PlaygroundError(ValueError):
    """An upload or a model request that cannot be served (bad format, wrong views...)."""


# --------------------------------------------------------------------------- uploads


def _upload_format(name: str) -> tuple[str, str]:
    lowered = name.lower()
    for suffix, kind in UPLOAD_FORMATS.items():
        if lowered.endswith(suffix):
            return suffix, kind
    raise PlaygroundError(
        f"file {name!r} has no supported suffix; send one of {sorted(UPLOAD_FORMATS)} "
        "(TI demo CSV, RadHAR/ROS text dump, products .npz)"
    )


def _recording_raw(recording: Any, sample_id: str) -> dict[str, Any]:
    """A raw model sample (``points`` float32 [N, 8], ``points_per_frame``) from a
    :class:`~mmexpert.data.readers.PointRecording`."""
    from mmexpert.data.samples import POINT_COLUMNS

    rows = []
    for frame_index, frame in enumerate(recording.frames):
        table = np.empty((len(frame), len(POINT_COLUMNS)), dtype=np.float32)
        for column, name in enumerate(POINT_COLUMNS):
            table[:, column] = frame_index if name == "frame" else frame[name]
        rows.append(table)
    points = np.concatenate(rows) if rows else np.zeros((0, len(POINT_COLUMNS)), np.float32)
    return {
        "points": points,
        "points_per_frame": recording.points_per_frame.astype(np.int32),
        "sample_id": sample_id,
        "activity": None,
        "captions": [],
    }


def read_upload(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parse an upload into a raw model sample and a summary for the page.

    Raises
    ------
    PlaygroundError
        If the reader refuses the file or finds no points.
    """
    from mmexpert.data.products import ProductsFileError, SimulationProducts
    from mmexpert.data.readers import POINT_READERS, RecordingError
    from mmexpert.models.inputs import raw_sample_from_products
    from mmexpert.radar.config import RadarConfigError

    _, kind = _upload_format(path.name)
    if kind == "products":
        try:
            products = SimulationProducts.load(path)
        except (ProductsFileError, RadarConfigError, KeyError, ValueError) as error:
            raise PlaygroundError(f"not a products .npz file: {error}") from None
        raw = raw_sample_from_products(products, path.name)
        summary = {
            "format": kind,
            "frames": len(products.points_per_frame),
            "points": int(products.num_points),
            "views": sorted(products.maps_db),
        }
        return raw, summary
    try:
        recording = POINT_READERS[kind](path)
    except (RecordingError, UnicodeDecodeError, OSError, ValueError) as error:
        raise PlaygroundError(f"not a {kind} recording: {error}") from None
    if not recording.frames or recording.report.points == 0:
        raise PlaygroundError(f"no points found in this {kind} recording")
    summary = {
        "format": kind,
        "frames": len(recording.frames),
        "points": int(recording.report.points),
        "frame_rate_hz": None
        if not np.isfinite(recording.frame_rate_hz)
        else recording.frame_rate_hz,
        "views": ["points"],
        "read_report": recording.report.summary(),
    }
    return _recording_raw(recording, path.name), summary


def save_upload(data: DataRoot, name: str, payload: bytes, max_bytes: int) -> dict[str, Any]:
    """Check and keep an uploaded recording.

    Parameters
    ----------
    data
        The data folder (uploads go to ``uploads/`` inside it).
    name
        The client's file name (only its suffix is used).
    payload
        The file's bytes.
    max_bytes
        Size limit [bytes].

    Returns
    -------
    dict
        ``id`` (the stored file name) and the summary of :func:`read_upload`.

    Raises
    ------
    PlaygroundError
        Too large, unsupported suffix, or unreadable (nothing is kept then).
    """
    if len(payload) > max_bytes:
        raise PlaygroundError(f"upload of {len(payload)} bytes exceeds the limit of {max_bytes}")
    if not payload:
        raise PlaygroundError("the upload is empty")
    suffix, _ = _upload_format(name)
    folder = data.root / UPLOADS_DIR
    folder.mkdir(exist_ok=True)
    if folder.is_symlink() or not data.contains(folder):
        raise PlaygroundError("the uploads folder leads outside the data folder")
    upload_id = hashlib.sha256(payload).hexdigest()[:16] + suffix
    target = folder / upload_id
    # The check reads a hidden temporary copy; only a file that parses gets its real name.
    temporary = folder / f".{upload_id}.{os.getpid()}.{threading.get_ident()}{suffix}"
    temporary.write_bytes(payload)
    try:
        _, summary = read_upload(temporary)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, target)
    return {"id": upload_id, **summary}


def upload_path(data: DataRoot, upload_id: str) -> Path:
    """The kept file of an upload id, refusing anything that is not one."""
    _upload_format(upload_id)
    if "/" in upload_id or upload_id.startswith("."):
        raise PathRefusedError(f"upload id {upload_id!r} is not a file name")
    return data.resolve(f"{UPLOADS_DIR}/{upload_id}")


def list_uploads(data: DataRoot) -> list[str]:
    """Ids of the kept uploads."""
    folder = data.root / UPLOADS_DIR
    if not folder.is_dir():
        return []
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and not p.is_symlink()
    )


def upload_view(
    data: DataRoot, upload_id: str, max_frames: int = 300, max_bins: int = 128
) -> dict[str, Any]:
    """An upload in the sample viewer's format (see
    :func:`~mmexpert.web.catalog.sample_view`).

    A point recording gives points in the radar frame (radar at the origin) at its own
    frame times; a products ``.npz`` also gives its maps and, when it holds a simulated
    person (``joints``, ``joint_times``), the skeleton nearest to each frame time, with
    points moved to the world frame by the file's radar pose.

    Raises
    ------
    PlaygroundError
        If the upload cannot be read.
    """
    from mmexpert.data.products import ProductsFileError, SimulationProducts
    from mmexpert.data.readers import POINT_READERS, RecordingError
    from mmexpert.motion import PARENTS
    from mmexpert.radar.config import RadarConfigError

    path = upload_path(data, upload_id)
    _, kind = _upload_format(path.name)
    maps: dict[str, Any] = {}
    skeleton = None
    pose = None
    if kind == "products":
        try:
            products = SimulationProducts.load(path)
        except (ProductsFileError, RadarConfigError, KeyError, ValueError) as error:
            raise PlaygroundError(f"not a products .npz file: {error}") from None
        from mmexpert.data.samples import points_table

        points, counts = points_table(products), products.points_per_frame
        frame_rate: float | None = products.config.frame_rate_hz
        picks = frame_picks(len(counts), max_frames)
        times = picks / frame_rate
        for view, (axis_name, scale, label) in MAP_AXES.items():
            if view not in products.maps_db:
                continue
            payload = map_payload(products.maps_db[view], picks, max_bins)
            axis = products.axes.get(axis_name)
            payload["axis"] = (
                {"low": float(axis[0]) * scale, "high": float(axis[-1]) * scale, "label": label}
                if axis is not None and len(axis)
                else None
            )
            maps[view] = payload
        pose = products.config.pose
        if "joints" in products.extras and "joint_times" in products.extras:
            joint_times = np.asarray(products.extras["joint_times"], dtype=np.float64)
            nearest = np.abs(joint_times[None, :] - times[:, None]).argmin(axis=1)
            joints = np.asarray(products.extras["joints"], dtype=np.float64)[nearest]
            skeleton = {"joints": np.round(joints, 3).tolist(), "parents": list(PARENTS)}
    else:
        try:
            recording = POINT_READERS[kind](path)
        except (RecordingError, UnicodeDecodeError, OSError, ValueError) as error:
            raise PlaygroundError(f"not a {kind} recording: {error}") from None
        raw = _recording_raw(recording, path.name)
        points, counts = raw["points"], raw["points_per_frame"]
        rate = recording.frame_rate_hz
        frame_rate = float(rate) if np.isfinite(rate) else None
        picks = frame_picks(len(counts), max_frames)
        times = np.asarray(recording.times_s, dtype=np.float64)[picks]
    return {
        "title": f"Upload {upload_id} ({kind})",
        "sample_id": upload_id,
        "store": None,
        "frame_rate_hz": frame_rate,
        "num_frames": len(counts),
        "frames": picks.tolist(),
        "times_s": np.round(times, 4).tolist(),
        "maps": maps,
        "points": points_payload(points, counts, picks, pose),
        "points_frame": "world" if pose is not None else "radar",
        "radar_position_m": list(pose.position_m) if pose is not None else [0.0, 0.0, 0.0],
        "skeleton": skeleton,
        "skeleton_error": None if skeleton else "an upload holds no motion (points only)",
        "metadata": {"upload": upload_id, "format": kind},
    }


# --------------------------------------------------------------------------- inputs


def raw_input(data: DataRoot, source: dict[str, Any]) -> dict[str, Any]:
    """The raw model sample a request names: ``{"store", "sample_id"}`` or ``{"upload"}``.

    Raises
    ------
    PlaygroundError, CatalogError, PathRefusedError
        Unknown source, sample or upload.
    """
    from mmexpert.models.inputs import load_raw_samples

    if source.get("upload"):
        raw, _ = read_upload(upload_path(data, str(source["upload"])))
        return raw
    if source.get("store") is None or not source.get("sample_id"):
        raise PlaygroundError("name a source: {store, sample_id} or {upload}")
    with open_store(data.resolve(str(source["store"]))) as store:
        sample_id = str(source["sample_id"])
        if not store.has(sample_id):
            raise CatalogError(f"sample {sample_id!r} is not in the store {source['store']!r}")
        return load_raw_samples(store, [sample_id])[0]


# --------------------------------------------------------------------------- models


class ModelCache:
    """Loaded models by folder, reloaded when their config changes; one inference at a time."""

    def __init__(self) -> None:
        self._models: dict[Path, tuple[float, Any]] = {}
        self.lock = threading.Lock()

    def get(self, folder: Path, kind: str) -> Any:
        """The loaded model of ``folder`` (``kind`` from :func:`model_kind`), loading it on
        first use or when its ``config.json`` changed; call with :attr:`lock` held."""
        stamp = (folder / "config.json").stat().st_mtime
        cached = self._models.get(folder)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            if kind == "radar_llm":
                from mmexpert.models.radar_llm import load_radar_llm

                model = load_radar_llm(folder, device="cpu")
            else:
                from mmexpert.models.io import load_model

                model = load_model(folder, device="cpu")
        self._models[folder] = (stamp, model)
        return model


def _model_folder(data: DataRoot, relative: str, kinds: Sequence[str]) -> tuple[Path, str]:
    folder = data.resolve(relative)
    kind = model_kind(folder)
    if kind not in kinds:
        raise PlaygroundError(
            f"{relative!r} is not a {' or '.join(kinds)} model folder (found: {kind or 'none'})"
        )
    return folder, kind


def zero_shot(
    data: DataRoot,
    cache: ModelCache,
    model: str,
    source: dict[str, Any],
    classes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Class scores of one input: a CLIP model's cosine similarities to the class prompts
    (zero-shot; default classes: its training activities) or a classifier's probabilities.

    Returns
    -------
    dict
        ``prediction``, ``scores`` (class -> score, best first), ``kind``, ``truth`` (the
        stored activity, None for uploads).
    """
    from mmexpert.models.predict import PredictionError, class_scores

    folder, kind = _model_folder(data, model, ("clip", "classifier"))
    raw = raw_input(data, source)
    with cache.lock:
        loaded = cache.get(folder, kind)
        missing = [
            view
            for view in loaded.inputs.views
            if view not in raw or (view == "points" and "points_per_frame" not in raw)
        ]
        if missing:
            raise PlaygroundError(
                f"this model reads views {list(loaded.inputs.views)}; the input lacks {missing}"
                + (" (a point recording holds points only)" if "points" in raw else "")
            )
        try:
            names, scores = class_scores(loaded, [raw], list(classes) if classes else None)
        except PredictionError as error:
            raise PlaygroundError(str(error)) from None
    ranked = sorted(zip(names, scores[0].tolist(), strict=True), key=lambda item: -item[1])
    return {
        "kind": kind,
        "prediction": ranked[0][0],
        "scores": dict(ranked),
        "truth": raw.get("activity"),
    }


def describe(
    data: DataRoot,
    cache: ModelCache,
    model: str,
    source: dict[str, Any],
    question: str | None = None,
) -> dict[str, Any]:
    """A radar LLM's caption of one input, or its answer to ``question``.

    Returns
    -------
    dict
        ``text`` and, for stored samples, the reference ``captions`` and ``qa``.
    """
    from mmexpert.models.inputs import MAP_VIEWS
    from mmexpert.models.radar_llm import RadarLLMError, ask, caption

    folder, _ = _model_folder(data, model, ("radar_llm",))
    raw = raw_input(data, source)
    maps = {view: raw[view] for view in MAP_VIEWS if view in raw}
    with cache.lock:
        llm = cache.get(folder, "radar_llm")
        missing = [view for view in llm.config.views if view not in maps]
        if missing:
            raise PlaygroundError(
                f"the radar LLM reads map views {list(llm.config.views)}; the input lacks "
                f"{missing}" + (" (a point recording holds points only)" if "points" in raw else "")
            )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                text = caption(llm, maps) if question is None else ask(llm, maps, question)
        except RadarLLMError as error:
            raise PlaygroundError(str(error)) from None
    return {"text": text, "captions": raw.get("captions") or []}
