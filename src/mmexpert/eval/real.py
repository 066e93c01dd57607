"""Zero-shot sim-to-real evaluation: a model trained on synthetic data, scored on real radar.

Real recordings are labelled by folder (or a class map: :func:`parse_class_map`), cut into
windows exactly like the synthetic clips a model saw, and scored with
:func:`~mmexpert.models.predict.class_scores`. Readers (:data:`READERS`):

* point-cloud recordings (RadHAR ROS dumps ``"radhar"``, TI demo CSVs ``"ti_csv"``; see
  :data:`~mmexpert.data.readers.POINT_READERS`): points only;
* raw DCA1000 ADC captures ``"dca1000"`` (``.bin``, read with
  :func:`~mmexpert.data.dca1000.decode_dca1000` for a given radar configuration): each is
  run through the dataset's device chain (``ProcessingChain(MMEXPERT_VIEWS)``, points at the
  device's native FFT lengths, as :func:`~mmexpert.data.simulation.simulate_person` does),
  so a window holds the three dB maps and the points of a synthetic clip.

* :func:`real_raw_samples`: windows of ``window_s`` seconds every ``hop_s`` seconds, frames
  resampled to the model's frame rate (points: nearest recorded frame; maps: linear in
  time), each turned into the raw sample layout of the dataset store: ``points`` float32
  [N, 8] with the columns :data:`~mmexpert.data.samples.POINT_COLUMNS`,
  ``points_per_frame`` int32 [frames] and, from raw captures, ``micro_doppler`` [128,
  frames], ``range_time`` [256, frames], ``azimuth_time`` [128, frames] float32 [dB].
* :func:`evaluate_real`: accuracy, macro-F1, per-class accuracy, confusion matrix (and its
  PNG) of a saved model on those windows. A CLIP model scores the class names as text
  (zero-shot, prompt ensembling); a classifier picks among its own training activities.
  :func:`check_members` and :func:`score_real_windows` are its two halves around the read,
  for callers that score the same windows more than once.

Real point clouds carry no maps (micro-Doppler, range-time, azimuth-time need the raw ADC
cube), so on point readers only models whose single input view is ``points`` can be
evaluated; on raw captures every model can.

The model's frame rate is the frame rate of the radar its training store was simulated with.
It is found, in this order, in: the ``frame_rate_hz`` argument, the store given as
``train_data``, or ``config.json`` ``inputs.frame_rate_hz`` that training writes.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmexpert.data.dca1000 import (
    BYTES_PER_WORD,
    DCA1000_LAYOUTS,
    Dca1000Error,
    decode_dca1000,
    frame_size_bytes,
)
from mmexpert.data.products import FRAME_POINT_DTYPE, SimulationProducts
from mmexpert.data.readers import POINT_READERS, PointRecording, RecordingError, point_windows
from mmexpert.data.samples import MAP_VIEWS as SAMPLE_MAP_VIEWS
from mmexpert.data.samples import POINT_COLUMNS
from mmexpert.data.simulation import chain_pads_ffts, device_point_cloud
from mmexpert.dsp.chain import MMEXPERT_VIEWS, ProcessingChain
from mmexpert.dsp.pointcloud import POINT_DTYPE
from mmexpert.eval.metrics import classification_report, plot_confusion_matrix
from mmexpert.models.inputs import POINTS_VIEW, RawSample
from mmexpert.radar.config import RadarConfig, RadarConfigError
from mmexpert.radar.cube import RadarCube

RECORDING_SUFFIXES = (".txt", ".gz", ".csv")
"""File endings read as point recordings (those of
:func:`~mmexpert.data.readers.read_labelled`)."""

RAW_READERS = {"dca1000": (".bin",)}
"""Readers of raw ADC captures (they need the radar configuration), name -> file endings."""

READERS = (*sorted(POINT_READERS), *RAW_READERS)
"""Every reader name :func:`real_raw_samples` accepts."""

RESAMPLE_TOLERANCE = 0.01
"""Relative frame-rate difference up to which raw-capture windows are plain frame runs;
beyond it they are resampled to the model's rate."""


class RealDataError(ValueError):
    """Real data or a model that cannot be evaluated (unknown reader, missing folder, no
    recordings, a model needing maps, a class a classifier does not know...)."""


CLASS_MAP_FILE_SUFFIXES = (".json", ".txt")
"""Endings that mark ``--classes`` text as a file name even when no such file exists (so a
mistyped path is reported, not taken for a folder name)."""


def parse_class_map(text: str | os.PathLike[str] | None) -> dict[str, str] | None:
    """A folder -> class map from inline text or from a file.

    * inline: ``"jack=jumping jacks,squats"`` -> ``{"jack": "jumping jacks", "squats":
      "squats"}`` (a bare folder name is its own class);
    * the path of an existing file (or any text ending in ``.json`` / ``.txt``): see
      :func:`load_class_map_file`.

    ``None`` stays ``None``.

    Raises
    ------
    RealDataError
        For an empty entry or side, or a folder named twice (a file's errors name the file
        and the line), or a ``.json`` / ``.txt`` name that is no file.
    """
    if text is None:
        return None
    if isinstance(text, os.PathLike) or _names_a_file(text):
        return load_class_map_file(Path(text))
    mapping: dict[str, str] = {}
    for entry in text.split(","):
        folder, name = _class_entry(entry)
        if folder is None:
            raise RealDataError(
                f"--classes entry {entry.strip()!r} is not FOLDER=CLASS; write e.g. "
                "--classes 'jack=jumping jacks,squats=squats' or give a class-map file"
            )
        if folder in mapping:
            raise RealDataError(f"--classes names folder {folder!r} twice")
        mapping[folder] = name
    return mapping


def _names_a_file(text: str) -> bool:
    stripped = text.strip()
    if "=" not in stripped and stripped.lower().endswith(CLASS_MAP_FILE_SUFFIXES):
        return True
    try:
        return Path(stripped).is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL
        return False


def _class_entry(entry: str) -> tuple[str | None, str]:
    """``"folder=class"`` -> ``(folder, class)``, ``"folder"`` -> ``(folder, folder)``;
    ``(None, "")`` when a side is empty."""
    folder, sep, name = entry.partition("=")
    folder, name = folder.strip(), (name.strip() if sep else folder.strip())
    return (folder, name) if folder and name else (None, "")


class _JsonPairs(list):
    """The key-value pairs of a JSON object, in file order (duplicates kept, to refuse)."""


def load_class_map_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a folder -> class map from a file.

    ``.json``: one object, folder name -> class name (both non-empty strings). Any other
    file: one ``FOLDER=CLASS`` per line (a bare ``FOLDER`` is its own class); blank lines
    and lines starting with ``#`` are ignored.

    Raises
    ------
    RealDataError
        For a missing or unreadable file, invalid JSON, a bad line or a folder named twice
        (the message names the file and the line), or a file that maps no folder.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RealDataError(f"class map file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RealDataError(f"cannot read the class map file {path}: {error}") from None
    mapping: dict[str, str] = {}
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text, object_pairs_hook=_JsonPairs)
        except json.JSONDecodeError as error:
            raise RealDataError(
                f"{path}, line {error.lineno}: not valid JSON ({error.msg})"
            ) from None
        if not isinstance(data, _JsonPairs):
            raise RealDataError(
                f"{path}: a JSON class map is one object of folder -> class, e.g. "
                '{"jack": "jumping jacks"}; got ' + type(data).__name__
            )
        for folder, name in data:
            if not (isinstance(name, str) and folder.strip() and name.strip()):
                raise RealDataError(
                    f"{path}: folder {folder!r} must map to a non-empty class name, got {name!r}"
                )
            if folder.strip() in mapping:
                raise RealDataError(f"{path}: folder {folder.strip()!r} is named twice")
            mapping[folder.strip()] = name.strip()
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            folder, name = _class_entry(stripped)
            if folder is None:
                raise RealDataError(
                    f"{path}, line {number}: {stripped!r} is not FOLDER=CLASS "
                    "(e.g. jack=jumping jacks)"
                )
            if folder in mapping:
                raise RealDataError(f"{path}, line {number}: folder {folder!r} is named twice")
            mapping[folder] = name
    if not mapping:
        raise RealDataError(f"class map file {path} maps no folder")
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
        files (raw captures shorter than one frame), raw captures whose partial last frame
        was dropped, recordings shorter than one window and files in folders outside the
        class map.
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
        ``"clip"`` (zero-shot over class names), ``"classifier"``, or ``"mixed"`` (an
        ensemble of both).
    window_s, hop_s : float
        Window length and hop [s].
    plot_path : str or None
        The confusion-matrix PNG, when written.
    members : list of dict
        An ensemble only (empty for one model): each member scored alone, in the order
        given, as ``{"model", "accuracy", "macro_f1", "per_class"}``.
    adapt : str
        The test-time feature alignment used (``"none"``, or see
        :mod:`mmexpert.models.adapt`).
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
    members: list[dict[str, Any]] = field(default_factory=list)
    adapt: str = "none"

    @property
    def member_mean_accuracy(self) -> float | None:
        """The members' mean accuracy alone (an ensemble only): what one training is worth."""
        if not self.members:
            return None
        return float(np.mean([member["accuracy"] for member in self.members]))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: ``accuracy``, ``macro_f1``, ``per_class``, ``confusion``,
        ``class_names``, ``windows_per_class``, ``read_report``, the settings, and for an
        ensemble ``members`` and ``member_mean_accuracy``."""
        data = asdict(self)
        data["read_report"] = self.read_report.to_json()
        if self.members:
            data["member_mean_accuracy"] = self.member_mean_accuracy
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


def _recording_files(root: Path, suffixes: Sequence[str]) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in suffixes)


# ---------------------------------------------------------------- raw DCA1000 captures


@dataclass(frozen=True)
class ProcessedCapture:
    """A raw capture after the dataset's device chain, kept whole for windowing.

    Attributes
    ----------
    maps_db : dict[str, np.ndarray]
        :data:`~mmexpert.data.samples.MAP_VIEWS` -> float32 [bins, frames] [dB] (128, 256
        and 128 bins: the dataset schema's).
    frames : list of np.ndarray
        FRAME_POINT_DTYPE [points_f] per frame (radar local frame, SI units; ``frame`` is
        the index in the capture).
    frame_rate_hz : float
        The radar configuration's frame rate [Hz].
    dropped_bytes : int
        Bytes after the last whole frame (a capture stopped mid-frame), not read.
    """

    maps_db: dict[str, np.ndarray]
    frames: list[np.ndarray]
    frame_rate_hz: float
    dropped_bytes: int = 0

    @property
    def num_frames(self) -> int:
        """Frames read."""
        return len(self.frames)


def capture_products(cube: RadarCube, chain: ProcessingChain) -> SimulationProducts:
    """Run the dataset's device chain on a cube, exactly as
    :func:`~mmexpert.data.simulation.simulate_person` does: maps from ``chain``, points at
    the device's native FFT lengths (:func:`~mmexpert.data.simulation.device_point_cloud`)
    when ``chain`` zero-pads the FFTs.

    Parameters
    ----------
    cube : RadarCube
        ``adc`` complex64 [frames, loops, chirps_per_loop, rx, samples] [V].
    chain : ProcessingChain
        The dataset engine's ``ProcessingChain(MMEXPERT_VIEWS)``.

    Returns
    -------
    SimulationProducts
        Without the ADC cube; ``metadata["points_fft"]`` is ``"native"``.
    """
    output = chain(cube)
    if chain_pads_ffts(chain, cube):
        output = dataclasses.replace(output, points=device_point_cloud(cube, chain))
    metadata = {"kind": "dca1000", "points_fft": "native"}
    return SimulationProducts.from_chain(cube, output, metadata, keep_adc=False)


def process_dca1000_capture(
    path: str | os.PathLike[str],
    radar: RadarConfig,
    layout: str = "xwr16xx",
    chain: ProcessingChain | None = None,
    frames_per_chunk: int = 128,
) -> ProcessedCapture:
    """Read a DCA1000 capture chunk by chunk and run the dataset's device chain on it.

    Frames are independent in the chain, so reading ``frames_per_chunk`` frames at a time
    gives the same maps and points as one pass while bounding memory (the 1443 RadHAR
    preset's maps take about 1 MB per frame before the range-Doppler and range-azimuth maps
    are dropped).

    Parameters
    ----------
    path
        Header-free ``adc_data.bin`` (see :mod:`mmexpert.data.dca1000`).
    radar : RadarConfig
        The configuration it was recorded with.
    layout : {"xwr16xx", "xwr14xx"}
        LVDS sample order.
    chain : ProcessingChain, optional
        Default ``ProcessingChain(MMEXPERT_VIEWS)`` (the dataset engine's).
    frames_per_chunk : int
        Frames decoded and processed together.

    Returns
    -------
    ProcessedCapture

    Raises
    ------
    Dca1000Error
        For a missing file or one shorter than one frame (truncated).
    """
    path = Path(path)
    chain = chain if chain is not None else ProcessingChain(MMEXPERT_VIEWS)
    if not path.is_file():
        raise Dca1000Error(f"DCA1000 capture not found: {path}")
    frame_bytes = frame_size_bytes(radar)
    size = path.stat().st_size
    total = size // frame_bytes
    if total == 0:
        raise Dca1000Error(
            f"{path} is truncated: {size} bytes, less than one frame of {frame_bytes} bytes "
            f"for radar '{radar.name}'"
        )
    maps: dict[str, list[np.ndarray]] = {view: [] for view in SAMPLE_MAP_VIEWS}
    frames: list[np.ndarray] = []
    step = max(1, frames_per_chunk)
    for start in range(0, total, step):
        count = min(step, total - start)
        words = np.fromfile(
            path, dtype="<i2", count=count * frame_bytes // BYTES_PER_WORD,
            offset=start * frame_bytes,
        )  # fmt: skip
        adc = decode_dca1000(words.astype(np.int16, copy=False), radar, layout)
        cube = RadarCube(
            adc=adc,
            config=radar,
            frame_times_s=(start + np.arange(count)) * radar.frame.frame_period_s,
        )
        products = capture_products(cube, chain)
        for view in SAMPLE_MAP_VIEWS:
            maps[view].append(products.maps_db[view])
        points = products.points.copy()
        points["frame"] += start  # from_chain numbers the frames of the chunk
        bounds = np.concatenate([[0], np.cumsum(products.points_per_frame)])
        frames += [points[bounds[i] : bounds[i + 1]] for i in range(count)]
    return ProcessedCapture(
        maps_db={view: np.concatenate(parts, axis=1) for view, parts in maps.items()},
        frames=frames,
        frame_rate_hz=radar.frame_rate_hz,
        dropped_bytes=size - total * frame_bytes,
    )


def window_positions(
    num_frames: int,
    capture_rate_hz: float,
    window_s: float,
    hop_s: float,
    frame_rate_hz: float | None = None,
) -> list[tuple[float, np.ndarray]]:
    """Where every window of a uniformly sampled capture lies, in capture frames.

    Windows start every ``hop_s`` seconds and hold ``round(window_s * rate)`` frames at the
    model's rate. Within :data:`RESAMPLE_TOLERANCE` of the capture's rate, a window is a
    plain run of capture frames from ``round(start * capture_rate)``; otherwise its frames
    sit at fractional positions ``(start + k / rate) * capture_rate``. A window is kept
    only when its last position lies inside the capture.

    Parameters
    ----------
    num_frames : int
        Frames of the capture.
    capture_rate_hz : float
        The capture's frame rate [Hz].
    window_s, hop_s : float
        Window length and hop [s].
    frame_rate_hz : float, optional
        The model's frame rate [Hz]; ``None``: the capture's.

    Returns
    -------
    list of (start [s], float64 [window frames] positions in capture frames)
    """
    rate = frame_rate_hz or capture_rate_hz
    length = round(window_s * rate)
    if length < 1 or num_frames < 1:
        return []
    resample = abs(rate / capture_rate_hz - 1.0) > RESAMPLE_TOLERANCE
    windows = []
    for index in itertools.count():
        start_s = index * hop_s
        if resample:
            positions = (start_s + np.arange(length) / rate) * capture_rate_hz
        else:
            positions = round(start_s * capture_rate_hz) + np.arange(length, dtype=np.float64)
        if positions[-1] > num_frames - 1 + 1e-9:
            break
        windows.append((start_s, positions))
    return windows


def _interpolate_columns(map_db: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Columns of ``map_db`` [bins, frames] at fractional ``positions``, linear in time (as
    :func:`~mmexpert.models.augment` resamples time); whole positions are plain copies."""
    lower = np.floor(positions).astype(np.int64)
    upper = np.minimum(lower + 1, map_db.shape[1] - 1)
    weight = (positions - lower).astype(np.float32)
    return (map_db[:, lower] * (1 - weight) + map_db[:, upper] * weight).astype(np.float32)


def raw_capture_windows(
    capture: ProcessedCapture,
    window_s: float,
    hop_s: float,
    frame_rate_hz: float | None = None,
) -> list[tuple[float, RawSample]]:
    """Cut a processed capture into raw-sample windows (maps and points).

    Maps are column slices (resampled linearly in time when the rates differ by more than
    :data:`RESAMPLE_TOLERANCE`); points are those of the nearest capture frame.

    Returns
    -------
    list of (start [s], raw sample)
        Each raw sample holds ``micro_doppler`` float32 [128, W], ``range_time`` float32
        [256, W], ``azimuth_time`` float32 [128, W] [dB], ``points`` float32 [N, 8] and
        ``points_per_frame`` int32 [W], ``W = round(window_s * rate)``.
    """
    out = []
    for start_s, positions in window_positions(
        capture.num_frames, capture.frame_rate_hz, window_s, hop_s, frame_rate_hz
    ):
        consecutive = np.array_equal(positions, positions[0] + np.arange(len(positions)))
        raw: RawSample = {}
        for view, map_db in capture.maps_db.items():
            if consecutive:
                first = int(positions[0])
                raw[view] = np.ascontiguousarray(map_db[:, first : first + len(positions)])
            else:
                raw[view] = _interpolate_columns(map_db, positions)
        nearest = np.clip(np.rint(positions).astype(np.int64), 0, capture.num_frames - 1)
        raw["points"], raw["points_per_frame"] = window_points_table(
            [capture.frames[index] for index in nearest]
        )
        out.append((start_s, raw))
    return out


def check_reader(reader: str, radar_given: bool) -> None:
    """Refuse an unknown reader, a raw reader without a radar configuration, or a radar
    configuration for a point reader (it would be silently ignored).

    Raises
    ------
    RealDataError
        Naming the problem and the readers.
    """
    if reader not in READERS:
        raise RealDataError(f"unknown reader {reader!r}; choose one of {list(READERS)}")
    if reader in RAW_READERS and not radar_given:
        raise RealDataError(
            f"reader {reader!r} reads raw ADC captures: give the radar configuration they "
            "were recorded with (mmexpert eval-real --radar PRESET_OR_CFG: a preset name or "
            "the captures' TI .cfg)"
        )
    if reader not in RAW_READERS and radar_given:
        raise RealDataError(
            f"--radar is for raw ADC captures (readers {sorted(RAW_READERS)}); {reader!r} "
            "recordings are point clouds the device already processed, so leave it out"
        )


def load_capture_radar(radar: RadarConfig | str | os.PathLike[str]) -> RadarConfig:
    """A :class:`RadarConfig` as given, or loaded from a preset name or a TI ``.cfg`` path.

    Raises
    ------
    RealDataError
        If the preset is unknown or the ``.cfg`` cannot be used (the loader's message).
    """
    if isinstance(radar, RadarConfig):
        return radar
    from mmexpert.radar.presets import load_radar

    try:
        return load_radar(radar)
    except (RadarConfigError, OSError) as error:
        raise RealDataError(f"cannot use the radar {str(radar)!r}: {error}") from None


def _check_layout(radar: RadarConfig, layout: str) -> None:
    if layout not in DCA1000_LAYOUTS:
        raise RealDataError(f"unknown DCA1000 layout {layout!r}; choose one of {DCA1000_LAYOUTS}")
    silent_frame = np.zeros(frame_size_bytes(radar) // BYTES_PER_WORD, dtype=np.int16)
    try:  # the layout's own checks (e.g. xwr16xx pairs need an even sample count)
        decode_dca1000(silent_frame, radar, layout)
    except Dca1000Error as error:
        raise RealDataError(f"radar {radar.name!r} cannot be read as {layout}: {error}") from None


@dataclass
class _RecordingWindows:
    """What one file gave: its windows and what reading it kept and skipped."""

    windows: list[tuple[float, RawSample]]
    rate_hz: float
    frames: int
    points: int
    skipped: dict[str, int]


def _point_recording_windows(
    path: Path, reader: str, window_s: float, hop_s: float, frame_rate_hz: float | None
) -> _RecordingWindows:
    recording: PointRecording = POINT_READERS[reader](path)
    windows = point_windows(recording, window_s, hop_s, frame_rate_hz)
    cut = []
    for index, frames in enumerate(windows):
        points, points_per_frame = window_points_table(frames)
        cut.append((index * hop_s, {"points": points, "points_per_frame": points_per_frame}))
    report = recording.report
    return _RecordingWindows(
        cut, recording.frame_rate_hz, report.frames, report.points, dict(report.skipped)
    )


def _raw_capture_windows(
    path: Path,
    radar: RadarConfig,
    layout: str,
    window_s: float,
    hop_s: float,
    frame_rate_hz: float | None,
) -> _RecordingWindows:
    capture = process_dca1000_capture(path, radar, layout)
    skipped = {"partial last frames dropped": 1} if capture.dropped_bytes else {}
    return _RecordingWindows(
        raw_capture_windows(capture, window_s, hop_s, frame_rate_hz),
        capture.frame_rate_hz,
        capture.num_frames,
        int(sum(len(frame) for frame in capture.frames)),
        skipped,
    )


def real_raw_samples(
    reader: str,
    data_dir: str | os.PathLike[str],
    classes: Mapping[str, str] | None,
    window_s: float = 2.0,
    hop_s: float = 1.0 / 3.0,
    frame_rate_hz: float | None = None,
    radar: RadarConfig | str | os.PathLike[str] | None = None,
    layout: str = "xwr16xx",
) -> tuple[list[RawSample], RealReadSummary]:
    """Labelled windows of real recordings as raw samples (the dataset-store layout).

    Every recording file under ``data_dir`` (point readers: ``.txt``, ``.gz``, ``.csv``;
    ``"dca1000"``: ``.bin``) is labelled by the name of the folder that holds it, mapped
    through ``classes``. Files that cannot be read (a capture shorter than one frame),
    recordings shorter than one window and files in folders outside ``classes`` are skipped
    and counted, never fatal; a capture's bytes after its last whole frame are dropped and
    counted.

    Parameters
    ----------
    reader
        A name of :data:`READERS` (``"radhar"``, ``"ti_csv"``, ``"dca1000"``).
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
        rate. Raw captures within :data:`RESAMPLE_TOLERANCE` of it are not resampled.
    radar
        Raw readers only (required there): the configuration the captures were recorded
        with, a :class:`RadarConfig`, a preset name or a TI ``.cfg`` path.
    layout
        Raw readers: the DCA1000 LVDS sample order (``"xwr16xx"`` or ``"xwr14xx"``).

    Returns
    -------
    samples : list of dict
        ``points`` float32 [N, 8] (:data:`~mmexpert.data.samples.POINT_COLUMNS`),
        ``points_per_frame`` int32 [round(window_s * rate)], ``activity`` (the class name),
        ``captions`` (empty), ``sample_id`` (``<file>@<start>s``), ``recording`` and
        ``start_s`` [s]; raw readers add ``micro_doppler`` [128, frames], ``range_time``
        [256, frames] and ``azimuth_time`` [128, frames] float32 [dB].
    summary : RealReadSummary

    Raises
    ------
    RealDataError
        For an unknown reader, a missing or unusable radar configuration, a missing folder,
        bad window settings, or when no window at all could be cut (the message says why).
    """
    check_reader(reader, radar is not None)
    radar_config = load_capture_radar(radar) if radar is not None else None
    if radar_config is not None:
        _check_layout(radar_config, layout)
    root = Path(data_dir)
    if not root.is_dir():
        raise RealDataError(f"real data folder {root} does not exist")
    if not (window_s > 0 and hop_s > 0):
        raise RealDataError(f"window_s and hop_s must be > 0 s, got {window_s} and {hop_s}")
    if frame_rate_hz is not None and not (math.isfinite(frame_rate_hz) and frame_rate_hz > 0):
        raise RealDataError(f"frame_rate_hz must be a positive number, got {frame_rate_hz}")
    suffixes = RAW_READERS.get(reader, RECORDING_SUFFIXES)
    files = _recording_files(root, suffixes)
    if not files:
        raise RealDataError(
            f"no recordings under {root} (looked for {', '.join(suffixes)} files in class folders)"
        )
    unreadable = "captures" if reader in RAW_READERS else "recordings"
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
            if radar_config is not None:
                read = _raw_capture_windows(
                    path, radar_config, layout, window_s, hop_s, frame_rate_hz
                )
            else:
                read = _point_recording_windows(path, reader, window_s, hop_s, frame_rate_hz)
        except (RecordingError, Dca1000Error):
            summary.skip(f"files unreadable as {reader} {unreadable}")
            continue
        summary.frames += read.frames
        summary.points += read.points
        for reason, count in read.skipped.items():
            summary.skip(reason, count)
        summary.recording_rates_hz[name] = read.rate_hz
        if not read.windows:
            summary.skip(f"recordings shorter than one {window_s:g} s window")
            continue
        summary.recordings += 1
        for start_s, window in read.windows:
            samples.append(
                {
                    **window,
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


def _ensemble_frame_rate_hz(
    model_dirs: Sequence[Path],
    frame_rate_hz: float | None,
    train_data: str | os.PathLike[str] | None,
) -> float:
    """The one frame rate [Hz] the real windows are resampled to for every member."""
    if frame_rate_hz is not None:
        return frame_rate_hz
    if train_data is not None:
        return training_store_frame_rate_hz(train_data)
    rates = {}
    for model_dir in model_dirs:
        rate = model_frame_rate_hz(model_dir)
        if rate is None:
            raise RealDataError(
                f"the model folder {model_dir} does not record its training frame rate; give "
                "it (--frame-rate-hz) or the training store (--train-data DIR)"
            )
        rates[str(model_dir)] = rate
    if len(set(rates.values())) > 1:
        raise RealDataError(
            f"the models were trained at different frame rates {rates} Hz; an ensemble reads "
            "one set of windows, so its members must share the frame rate"
        )
    return next(iter(rates.values()))


def evaluate_real(
    model_dir: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    reader: str,
    data_dir: str | os.PathLike[str],
    classes: Mapping[str, str] | None = None,
    window_s: float = 2.0,
    hop_s: float = 1.0 / 3.0,
    device: str = "cpu",
    plot_path: str | os.PathLike[str] | None = None,
    frame_rate_hz: float | None = None,
    train_data: str | os.PathLike[str] | None = None,
    radar: RadarConfig | str | os.PathLike[str] | None = None,
    layout: str = "xwr16xx",
    adapt: str = "none",
) -> RealEvaluation:
    """Score a saved model, or the ensemble of several, on windows of labelled real recordings.

    Parameters
    ----------
    model_dir
        Saved model folder (``<train out>/model``), or several: their class probabilities are
        averaged (e.g. one recipe trained with several seeds) and each member is also scored
        alone (``members``). Point readers: each model's only view must be ``points``; raw
        readers (``"dca1000"``): any views (maps and points).
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
        The models' frame rate [Hz]; default: from ``train_data`` or the model folders (which
        must agree).
    train_data
        The training dataset store (gives the frame rate when the model folder does not).
    radar
        Raw readers only (required there): the captures' radar configuration (a
        :class:`RadarConfig`, a preset name or a TI ``.cfg`` path).
    layout
        Raw readers: the DCA1000 LVDS sample order.
    adapt
        Label-free test-time alignment of each model's features over all the windows
        together (:data:`~mmexpert.models.adapt.ADAPT_METHODS`; ``"none"``: each window on
        its own). It assumes the recordings mix the classes roughly as training did.

    Returns
    -------
    RealEvaluation

    Raises
    ------
    RealDataError
        For a model that needs maps on a point reader, an unknown frame rate, members at
        different frame rates, classes a classifier does not know, and the errors of
        :func:`real_raw_samples`.
    ModelFileError
        For a folder that is not a saved model.
    PredictionError
        For ensemble members that choose among different classes.
    AdaptationError
        For an alignment that cannot run (a model without training statistics, too few
        windows).
    """
    from mmexpert.models.predict import load_models

    check_reader(reader, radar is not None)
    radar = load_capture_radar(radar) if radar is not None else None
    members = load_models(model_dir, device)
    names = check_members(members, reader, classes)
    frame_rate_hz = _ensemble_frame_rate_hz(
        [loaded.folder for loaded in members], frame_rate_hz, train_data
    )
    raws, summary = real_raw_samples(
        reader, data_dir, classes, window_s, hop_s, frame_rate_hz, radar, layout
    )
    return score_real_windows(
        members, names, raws, summary, window_s, hop_s, plot_path=plot_path, adapt=adapt
    )


def check_members(
    members: Sequence[Any], reader: str, classes: Mapping[str, str] | None
) -> list[str] | None:
    """Refuse models that cannot score ``reader``'s windows or the classes asked for.

    Parameters
    ----------
    members
        Loaded models (:func:`~mmexpert.models.predict.load_models`), one or an ensemble.
    reader
        Reader name (see :func:`real_raw_samples`).
    classes
        Folder name -> class name, or ``None`` (the folder names).

    Returns
    -------
    list of str or None
        The class names to choose among; ``None`` for CLIP without a class map (the folder
        names become the prompts once the recordings are read).

    Raises
    ------
    RealDataError
        For no model, a model that needs maps on a point reader, or classes a classifier
        does not know.
    """
    if not members:
        raise RealDataError("no model to evaluate")
    for loaded in members:
        if reader not in RAW_READERS and tuple(loaded.inputs.views) != (POINTS_VIEW,):
            raise RealDataError(
                f"the model at {loaded.folder} reads the views {list(loaded.inputs.views)}; "
                "real point clouds give no maps (micro-Doppler, range-time, azimuth-time need "
                f"the ADC cube), so the model must use the '{POINTS_VIEW}' view only (e.g. "
                "classifier-points-tiny or clip-points-tiny), or read raw ADC captures "
                f"({', '.join(RAW_READERS)}) with --radar"
            )
    lists = [_class_list(loaded, classes) for loaded in members]  # each checks the map
    return next((listed for listed in lists if listed is not None), None)


def score_real_windows(
    members: Sequence[Any],
    names: Sequence[str] | None,
    raws: Sequence[RawSample],
    summary: RealReadSummary,
    window_s: float,
    hop_s: float,
    plot_path: str | os.PathLike[str] | None = None,
    adapt: str = "none",
) -> RealEvaluation:
    """Score loaded models on windows already read, so that one read of the recordings
    serves several scorings (e.g. with and without alignment).

    Parameters
    ----------
    members
        Loaded models, checked by :func:`check_members`.
    names
        What :func:`check_members` returned for them.
    raws, summary
        What :func:`real_raw_samples` returned, read at the members' frame rate.
    window_s, hop_s
        The window length and hop the windows were cut with [s] (recorded in the result).
    plot_path
        Write the confusion-matrix PNG here.
    adapt
        Label-free test-time feature alignment (see :func:`evaluate_real`).

    Returns
    -------
    RealEvaluation

    Raises
    ------
    RealDataError
        For real classes a classifier does not know.
    PredictionError, AdaptationError
        As for :func:`evaluate_real`.
    """
    from mmexpert.models.models import RadarTextModel
    from mmexpert.models.predict import ensemble_probabilities

    model_dirs = [loaded.folder for loaded in members]
    if names is None:  # CLIP without a class map: the folder names are the prompts
        names = sorted(summary.windows_per_class)
    absent = sorted(set(summary.windows_per_class) - set(names))
    if absent:
        raise RealDataError(
            f"this classifier knows only {names}; the real data has classes {absent} "
            "(map each folder to one of them: --classes 'folder=activity,...')"
        )
    scores = ensemble_probabilities(members, raws, names, adapt=adapt)
    index = {name: position for position, name in enumerate(scores.names)}
    truth = [index[raw["activity"]] for raw in raws]
    report = classification_report(truth, np.argmax(scores.mean, axis=1), scores.names)
    member_reports = []
    if len(members) > 1:
        for folder, probabilities in zip(model_dirs, scores.members, strict=True):
            alone = classification_report(truth, np.argmax(probabilities, axis=1), scores.names)
            member_reports.append(
                {
                    "model": str(folder),
                    "accuracy": alone["accuracy"],
                    "macro_f1": alone["macro_f1"],
                    "per_class": alone["per_class_accuracy"],
                }
            )
    written = None
    if plot_path is not None:
        Path(plot_path).parent.mkdir(parents=True, exist_ok=True)
        title = f"real, {summary.windows} windows"
        if len(members) > 1:
            title += f", ensemble of {len(members)}"
        if adapt != "none":
            title += f", aligned ({adapt})"
        written = str(plot_confusion_matrix(report, plot_path, title=title))
    kinds = {
        "clip" if isinstance(loaded.model, RadarTextModel) else "classifier" for loaded in members
    }
    return RealEvaluation(
        accuracy=report["accuracy"],
        macro_f1=report["macro_f1"],
        per_class=report["per_class_accuracy"],
        confusion=report["confusion"],
        class_names=report["classes"],
        windows_per_class=dict(summary.windows_per_class),
        read_report=summary,
        model_kind=kinds.pop() if len(kinds) == 1 else "mixed",
        window_s=window_s,
        hop_s=hop_s,
        plot_path=written,
        members=member_reports,
        adapt=adapt,
    )
