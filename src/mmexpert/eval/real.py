"""Zero-shot sim-to-real evaluation: a model trained on synthetic data, scored on real radar.

Real recordings (RadHAR ROS dumps, TI demo CSVs; see :data:`~mmexpert.data.readers.POINT_READERS`)
are labelled by folder, cut into windows exactly like the synthetic clips a model saw, and
scored with :func:`~mmexpert.models.predict.class_scores`:

* :func:`real_raw_samples`: windows of ``window_s`` seconds every ``hop_s`` seconds, frames
  resampled to the model's frame rate (nearest recorded frame), each turned into the raw
  sample layout of the dataset store: ``points`` float32 [N, 8] with the columns
  :data:`~mmexpert.data.samples.POINT_COLUMNS` and ``points_per_frame`` int32 [frames].
* :func:`evaluate_real`: accuracy, macro-F1, per-class accuracy, confusion matrix (and its
  PNG) of a saved model on those windows. A CLIP model scores the class names as text
  (zero-shot, prompt ensembling); a classifier picks among its own training activities.

Real point clouds carry no maps (micro-Doppler, range-time, azimuth-time need the raw ADC
cube), so only models whose single input view is ``points`` can be evaluated here.

The model's frame rate is the frame rate of the radar its training store was simulated with.
It is found, in this order, in: the ``frame_rate_hz`` argument, the store given as
``train_data``, or ``config.json`` ``inputs.frame_rate_hz`` that training writes.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmexpert.data.products import FRAME_POINT_DTYPE
from mmexpert.data.readers import POINT_READERS, PointRecording, RecordingError, point_windows
from mmexpert.data.samples import POINT_COLUMNS
from mmexpert.dsp.pointcloud import POINT_DTYPE
from mmexpert.eval.metrics import classification_report, plot_confusion_matrix
from mmexpert.models.inputs import POINTS_VIEW, RawSample

RECORDING_SUFFIXES = (".txt", ".gz", ".csv")
"""File endings read as recordings (those of :func:`~mmexpert.data.readers.read_labelled`)."""


class RealDataError(ValueError):
    """Real data or a model that cannot be evaluated (unknown reader, missing folder, no
    recordings, a model needing maps, a class a classifier does not know...)."""


def parse_class_map(text: str | None) -> dict[str, str] | None:
    """``"jack=jumping jacks,squats"`` -> ``{"jack": "jumping jacks", "squats": "squats"}``
    (a bare folder name is its own class; ``None`` stays ``None``).

    Raises
    ------
    RealDataError
        For an empty entry or side, or a folder named twice.
    """
    if text is None:
        return None
    mapping: dict[str, str] = {}
    for entry in text.split(","):
        folder, sep, name = entry.partition("=")
        folder, name = folder.strip(), (name.strip() if sep else folder.strip())
        if not folder or not name:
            raise RealDataError(
                f"--classes entry {entry.strip()!r} is not FOLDER=CLASS; write e.g. "
                "--classes 'jack=jumping jacks,squats=squats'"
            )
        if folder in mapping:
            raise RealDataError(f"--classes names folder {folder!r} twice")
        mapping[folder] = name
    return mapping


@dataclass
class RealReadSummary:
    """What reading and windowing the real recordings kept and skipped.

    Attributes
    ----------
    recordings : int
        Recordings that gave at least one window.
    windows : int
        Windows cut (one raw sample each).
    windows_per_class : dict[str, int]
        Windows per class name.
    frames, points : int
        Frames and points kept by the readers, over every recording read.
    frame_rate_hz : float
        Rate the windows were resampled to [Hz].
    recording_rates_hz : dict[str, float]
        Mean frame rate of each recording [Hz] (relative path -> rate).
    skipped : dict[str, int]
        Reason -> count: the readers' skips (empty frames, truncated records, duplicated
        sequence numbers, non-finite values...) summed over recordings, plus unreadable
        files, recordings shorter than one window and files in folders outside the class map.
    """

    recordings: int = 0
    windows: int = 0
    windows_per_class: dict[str, int] = field(default_factory=dict)
    frames: int = 0
    points: int = 0
    frame_rate_hz: float = math.nan
    recording_rates_hz: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, count: int = 1) -> None:
        """Count ``count`` skipped items for ``reason``."""
        if count:
            self.skipped[reason] = self.skipped.get(reason, 0) + count

    def summary(self) -> str:
        """One line: recordings, windows, frames, points, then skips by reason."""
        parts = [
            f"{self.recordings} recordings",
            f"{self.windows} windows at {self.frame_rate_hz:.4g} Hz",
            f"{self.frames} frames",
            f"{self.points} points",
        ]
        parts += [f"skipped {count} {reason}" for reason, count in sorted(self.skipped.items())]
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready dict (an unknown rate, NaN, becomes None)."""
        data = asdict(self)
        data["frame_rate_hz"] = _finite_or_none(self.frame_rate_hz)
        data["recording_rates_hz"] = {
            name: _finite_or_none(rate) for name, rate in self.recording_rates_hz.items()
        }
        return data


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass
class RealEvaluation:
    """Scores of a model on windows of real recordings.

    Attributes
    ----------
    accuracy : float
        Correct windows / windows, in [0, 1].
    macro_f1 : float
        Mean F1 over the classes present in the real data.
    per_class : dict[str, float]
        Accuracy (recall) of each class present in the real data.
    confusion : list of list of int
        [classes, classes] counts, row = true class, column = prediction, order
        ``class_names``.
    class_names : list of str
        The classes the model chose among (a CLIP model: the mapped class names; a
        classifier: all of its training activities).
    windows_per_class : dict[str, int]
        Windows of each true class.
    read_report : RealReadSummary
        What reading and windowing kept and skipped.
    model_kind : str
        ``"clip"`` (zero-shot over class names) or ``"classifier"``.
    window_s, hop_s : float
        Window length and hop [s].
    plot_path : str or None
        The confusion-matrix PNG, when written.
    """

    accuracy: float
    macro_f1: float
    per_class: dict[str, float]
    confusion: list[list[int]]
    class_names: list[str]
    windows_per_class: dict[str, int]
    read_report: RealReadSummary
    model_kind: str
    window_s: float
    hop_s: float
    plot_path: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: ``accuracy``, ``macro_f1``, ``per_class``, ``confusion``,
        ``class_names``, ``windows_per_class``, ``read_report`` and the settings."""
        data = asdict(self)
        data["read_report"] = self.read_report.to_json()
        return data


# ---------------------------------------------------------------- windows -> raw samples


def window_points_table(frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The stored point layout of a window of frames.

    Built like :meth:`~mmexpert.data.products.SimulationProducts.from_chain` followed by
    :func:`~mmexpert.data.samples.points_table`, so a real window and a synthetic clip hold
    the same columns in the same units.

    Parameters
    ----------
    frames
        One POINT_DTYPE [points_f] array per frame (radar local frame, SI units).

    Returns
    -------
    points : np.ndarray
        float32 [N, 8], columns :data:`~mmexpert.data.samples.POINT_COLUMNS` (x, y, z [m],
        radial velocity [m/s], intensity [dB], range [m], bearing [rad], frame index within
        the window).
    points_per_frame : np.ndarray
        int32 [frames].
    """
    counts = np.array([len(frame) for frame in frames], dtype=np.int64)
    stacked = np.zeros(int(counts.sum()), dtype=FRAME_POINT_DTYPE)
    start = 0
    for index, frame in enumerate(frames):
        stop = start + len(frame)
        stacked["frame"][start:stop] = index
        for name in POINT_DTYPE.names:
            stacked[name][start:stop] = frame[name]
        start = stop
    table = np.empty((len(stacked), len(POINT_COLUMNS)), dtype=np.float32)
    for column, name in enumerate(POINT_COLUMNS):
        table[:, column] = stacked[name]
    return table, counts.astype(np.int32)


def _recording_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in RECORDING_SUFFIXES)


def real_raw_samples(
    reader: str,
    data_dir: str | os.PathLike[str],
    classes: Mapping[str, str] | None,
    window_s: float = 2.0,
    hop_s: float = 1.0 / 3.0,
    frame_rate_hz: float | None = None,
) -> tuple[list[RawSample], RealReadSummary]:
    """Labelled windows of real recordings as raw samples (the dataset-store layout).

    Every recording file (``.txt``, ``.gz``, ``.csv``) under ``data_dir`` is labelled by the
    name of the folder that holds it, mapped through ``classes``. Files that cannot be read,
    recordings shorter than one window and files in folders outside ``classes`` are skipped
    and counted, never fatal.

    Parameters
    ----------
    reader
        A :data:`~mmexpert.data.readers.POINT_READERS` name (``"radhar"``, ``"ti_csv"``).
    data_dir
        Folder of class folders of recordings.
    classes
        Folder name -> class name; ``None``: folder names are the class names.
    window_s
        Window length [s] (> 0).
    hop_s
        Hop between window starts [s] (> 0).
    frame_rate_hz
        Rate the windows are resampled to [Hz] (the model's); ``None``: each recording's own
        mean rate.

    Returns
    -------
    samples : list of dict
        ``points`` float32 [N, 8] (:data:`~mmexpert.data.samples.POINT_COLUMNS`),
        ``points_per_frame`` int32 [round(window_s * rate)], ``activity`` (the class name),
        ``captions`` (empty), ``sample_id`` (``<file>@<start>s``), ``recording`` and
        ``start_s`` [s].
    summary : RealReadSummary

    Raises
    ------
    RealDataError
        For an unknown reader, a missing folder, bad window settings, or when no window at
        all could be cut (the message says why).
    """
    if reader not in POINT_READERS:
        raise RealDataError(f"unknown reader {reader!r}; choose one of {sorted(POINT_READERS)}")
    root = Path(data_dir)
    if not root.is_dir():
        raise RealDataError(f"real data folder {root} does not exist")
    if not (window_s > 0 and hop_s > 0):
        raise RealDataError(f"window_s and hop_s must be > 0 s, got {window_s} and {hop_s}")
    if frame_rate_hz is not None and not (math.isfinite(frame_rate_hz) and frame_rate_hz > 0):
        raise RealDataError(f"frame_rate_hz must be a positive number, got {frame_rate_hz}")
    files = _recording_files(root)
    if not files:
        raise RealDataError(
            f"no recordings under {root} (looked for {', '.join(RECORDING_SUFFIXES)} files "
            "in class folders)"
        )
    read = POINT_READERS[reader]
    summary = RealReadSummary(frame_rate_hz=math.nan if frame_rate_hz is None else frame_rate_hz)
    samples: list[RawSample] = []
    folders = sorted({path.parent.name for path in files})
    for path in files:
        label = path.parent.name if classes is None else classes.get(path.parent.name)
        if label is None:
            summary.skip("recordings in folders outside the class map")
            continue
        name = path.relative_to(root).as_posix()
        try:
            recording: PointRecording = read(path)
            windows = point_windows(recording, window_s, hop_s, frame_rate_hz)
        except RecordingError:
            summary.skip(f"files unreadable as {reader} recordings")
            continue
        summary.frames += recording.report.frames
        summary.points += recording.report.points
        for reason, count in recording.report.skipped.items():
            summary.skip(reason, count)
        summary.recording_rates_hz[name] = recording.frame_rate_hz
        if not windows:
            summary.skip(f"recordings shorter than one {window_s:g} s window")
            continue
        summary.recordings += 1
        for index, frames in enumerate(windows):
            points, points_per_frame = window_points_table(frames)
            start_s = index * hop_s
            samples.append(
                {
                    "points": points,
                    "points_per_frame": points_per_frame,
                    "activity": label,
                    "captions": [],
                    "sample_id": f"{name}@{start_s:.3f}s",
                    "recording": name,
                    "start_s": start_s,
                }
            )
            summary.windows_per_class[label] = summary.windows_per_class.get(label, 0) + 1
    summary.windows = len(samples)
    if frame_rate_hz is None and summary.recording_rates_hz:
        rates = [r for r in summary.recording_rates_hz.values() if math.isfinite(r)]
        summary.frame_rate_hz = float(np.mean(rates)) if rates else math.nan
    if not samples:
        wanted = "" if classes is None else f"; --classes maps {sorted(classes)}"
        raise RealDataError(
            f"no {window_s:g} s window could be cut from {root} (class folders {folders}"
            f"{wanted}; {summary.summary()})"
        )
    return samples, summary


# ---------------------------------------------------------------- the model's frame rate


def training_store_frame_rate_hz(store_dir: str | os.PathLike[str]) -> float:
    """The radar frame rate [Hz] every sample of a dataset store was simulated at.

    Raises
    ------
    RealDataError
        If the store is unreadable, empty, or mixes frame rates.
    """
    from mmexpert.data.store import DatasetStore
    from mmexpert.data.store_schema import StoreError

    try:
        with DatasetStore.open(store_dir) as store:
            rates = store.frame_rates_hz()
    except (StoreError, TypeError, ValueError, AttributeError, OSError) as error:
        raise RealDataError(f"cannot read frame rates of the store {store_dir}: {error}") from None
    if None in rates:
        raise RealDataError(
            f"cannot read frame rates of the store {store_dir}: a sample records none"
        )
    if not rates:
        raise RealDataError(f"the store {store_dir} holds no samples")
    if len(rates) > 1:
        raise RealDataError(f"the store {store_dir} mixes frame rates {sorted(rates)} Hz")
    return rates.pop()


def model_frame_rate_hz(model_dir: str | os.PathLike[str]) -> float | None:
    """The frame rate [Hz] a saved model was trained at (``config.json`` ``inputs``), or
    ``None`` for a model saved without it."""
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text())
        value = config["inputs"].get("frame_rate_hz")
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) and value > 0 else None


# ---------------------------------------------------------------- evaluation


def _class_list(loaded: Any, classes: Mapping[str, str] | None) -> list[str] | None:
    """Class names to score, checked against a classifier's activities."""
    from mmexpert.models.models import RadarTextModel

    if isinstance(loaded.model, RadarTextModel):
        return None if classes is None else list(dict.fromkeys(classes.values()))
    known = list(loaded.classes)
    if classes is not None:
        unknown = sorted({value for value in classes.values() if value not in known})
        if unknown:
            raise RealDataError(
                f"this classifier knows only {known}; it cannot recognise {unknown} "
                "(map each folder to one of them: --classes 'folder=activity,...')"
            )
    return known


def evaluate_real(
    model_dir: str | os.PathLike[str],
    reader: str,
    data_dir: str | os.PathLike[str],
    classes: Mapping[str, str] | None = None,
    window_s: float = 2.0,
    hop_s: float = 1.0 / 3.0,
    device: str = "cpu",
    plot_path: str | os.PathLike[str] | None = None,
    frame_rate_hz: float | None = None,
    train_data: str | os.PathLike[str] | None = None,
) -> RealEvaluation:
    """Score a saved point-cloud model on windows of labelled real recordings.

    Parameters
    ----------
    model_dir
        Saved model folder (``<train out>/model``) whose only view is ``points``.
    reader
        Reader name (see :func:`real_raw_samples`).
    data_dir
        Folder of class folders of recordings.
    classes
        Folder name -> class name. A CLIP model scores these names as text (e.g.
        ``{"jack": "jumping jacks"}``); for a classifier each must be one of its training
        activities. ``None``: the folder names.
    window_s, hop_s
        Window length and hop [s].
    device
        Torch device.
    plot_path
        Write the confusion-matrix PNG here.
    frame_rate_hz
        The model's frame rate [Hz]; default: from ``train_data`` or the model folder.
    train_data
        The training dataset store (gives the frame rate when the model folder does not).

    Returns
    -------
    RealEvaluation

    Raises
    ------
    RealDataError
        For a model that needs maps, an unknown frame rate, classes a classifier does not
        know, and the errors of :func:`real_raw_samples`.
    ModelFileError
        For a folder that is not a saved model.
    """
    from mmexpert.models.io import load_model
    from mmexpert.models.models import RadarTextModel
    from mmexpert.models.predict import class_scores

    loaded = load_model(model_dir, device=device)
    if tuple(loaded.inputs.views) != (POINTS_VIEW,):
        raise RealDataError(
            f"the model at {model_dir} reads the views {list(loaded.inputs.views)}; real point "
            "clouds give no maps (micro-Doppler, range-time, azimuth-time need the ADC cube), "
            f"so the model must use the '{POINTS_VIEW}' view only (e.g. classifier-points-tiny "
            "or clip-points-tiny)"
        )
    names = _class_list(loaded, classes)
    if frame_rate_hz is None and train_data is not None:
        frame_rate_hz = training_store_frame_rate_hz(train_data)
    if frame_rate_hz is None:
        frame_rate_hz = model_frame_rate_hz(model_dir)
    if frame_rate_hz is None:
        raise RealDataError(
            f"the model folder {model_dir} does not record its training frame rate; give it "
            "(--frame-rate-hz) or the training store (--train-data DIR)"
        )
    raws, summary = real_raw_samples(reader, data_dir, classes, window_s, hop_s, frame_rate_hz)
    if names is None:  # CLIP without a class map: the folder names are the prompts
        names = sorted(summary.windows_per_class)
    absent = sorted(set(summary.windows_per_class) - set(names))
    if absent:
        raise RealDataError(
            f"this classifier knows only {names}; the real data has classes {absent} "
            "(map each folder to one of them: --classes 'folder=activity,...')"
        )
    scored_names, scores = class_scores(loaded, raws, names)
    index = {name: position for position, name in enumerate(scored_names)}
    truth = [index[raw["activity"]] for raw in raws]
    report = classification_report(truth, np.argmax(scores, axis=1), scored_names)
    written = None
    if plot_path is not None:
        Path(plot_path).parent.mkdir(parents=True, exist_ok=True)
        title = f"real, {summary.windows} windows"
        written = str(plot_confusion_matrix(report, plot_path, title=title))
    return RealEvaluation(
        accuracy=report["accuracy"],
        macro_f1=report["macro_f1"],
        per_class=report["per_class_accuracy"],
        confusion=report["confusion"],
        class_names=report["classes"],
        windows_per_class=dict(summary.windows_per_class),
        read_report=summary,
        model_kind="clip" if isinstance(loaded.model, RadarTextModel) else "classifier",
        window_s=window_s,
        hop_s=hop_s,
        plot_path=written,
    )
