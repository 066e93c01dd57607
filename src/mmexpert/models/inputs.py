"""Model inputs: normalised map windows, point-cloud sequences, and a dataset over a store.

Every map view is stored in dB, ``[bins, frames]``. A model sees, per view, a fixed window of
``window_frames`` columns (cropped or zero-padded in time, with a frame mask) normalised per
sample to [0, 1]:

.. math::

    x = \\frac{\\mathrm{clip}(m, m_{max} - D, m_{max}) - (m_{max} - D)}{D}

with :math:`m_{max}` the sample's peak over its real frames and :math:`D` the dynamic range
(``dynamic_range_db``, 40 dB by default). Everything more than ``D`` below the peak (the noise
floor) maps to 0, the peak to 1; padded frames are 0. This is the "log + min-max" of mmExpert
with a documented floor, so a stray -300 dB empty bin cannot squash the useful range.

Point clouds are the stored float32 ``[N, 8]`` table (x, y, z [m], radial velocity [m/s],
SNR [dB], range [m], bearing [rad], frame) split by ``points_per_frame`` into a padded tensor
``[window_frames, max_points, 8]`` with a point mask.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.utils.data

from mmexpert.data.loaders import crop_or_pad_time
from mmexpert.data.store import DatasetStore

MAP_VIEWS = ("micro_doppler", "range_time", "azimuth_time")
"""The map views a model may use (all dB, ``[bins, frames]``)."""

POINTS_VIEW = "points"
"""The point-cloud view name (stored as ``points`` + ``points_per_frame``)."""

ALL_VIEWS = (*MAP_VIEWS, POINTS_VIEW)

DEFAULT_DYNAMIC_RANGE_DB = 40.0  # floor = peak - 40 dB: TI demo noise floors sit 30-50 dB down
POINT_FEATURES = 8  # columns of the stored point table
DEFAULT_MAX_POINTS = 32  # points kept per frame (the strongest by SNR); TI demos emit ~5-60


class ModelInputError(ValueError):
    """Inputs that a model cannot use (unknown view, wrong shape, empty data)."""


def check_views(views: Sequence[str]) -> tuple[str, ...]:
    """Validate a view selection.

    Parameters
    ----------
    views
        Names among :data:`ALL_VIEWS`.

    Returns
    -------
    tuple of str
        The views, in :data:`ALL_VIEWS` order, without duplicates.

    Raises
    ------
    ModelInputError
        If empty or a name is unknown.
    """
    chosen = list(views)
    if not chosen:
        raise ModelInputError(f"choose at least one view among {list(ALL_VIEWS)}")
    unknown = [view for view in chosen if view not in ALL_VIEWS]
    if unknown:
        raise ModelInputError(f"unknown views {unknown}; choose among {list(ALL_VIEWS)}")
    return tuple(view for view in ALL_VIEWS if view in chosen)


def normalize_db_map(
    map_db: np.ndarray, mask: np.ndarray, dynamic_range_db: float = DEFAULT_DYNAMIC_RANGE_DB
) -> np.ndarray:
    """Per-sample min-max normalisation of a dB map with a floor ``dynamic_range_db`` below
    the peak.

    Parameters
    ----------
    map_db
        float [bins, frames] [dB].
    mask
        bool [frames]; True on real frames (padded frames become 0).
    dynamic_range_db
        Dynamic range kept below the peak [dB] (> 0).

    Returns
    -------
    np.ndarray
        float32 [bins, frames] in [0, 1].
    """
    if dynamic_range_db <= 0:
        raise ModelInputError(f"dynamic_range_db must be > 0, got {dynamic_range_db}")
    out = np.zeros(map_db.shape, dtype=np.float32)
    if not mask.any():
        return out
    real = map_db[:, mask]
    floor_db = float(real.max()) - dynamic_range_db
    out[:, mask] = (np.clip(real, floor_db, None) - floor_db) / dynamic_range_db
    return out


def points_window(
    points: np.ndarray,
    points_per_frame: np.ndarray,
    start_frame: int,
    window_frames: int,
    max_points: int = DEFAULT_MAX_POINTS,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut the frames ``[start_frame, start_frame + window_frames)`` of a point sequence into a
    padded array, keeping the ``max_points`` strongest points (by SNR) of each frame.

    Parameters
    ----------
    points
        float32 [N, 8]; column 4 is SNR [dB].
    points_per_frame
        int [frames]; sums to N.
    start_frame
        First frame of the window.
    window_frames
        Frames in the window; frames past the end stay empty.
    max_points
        Points kept per frame.

    Returns
    -------
    window : np.ndarray
        float32 [window_frames, max_points, 8], zero where no point.
    point_mask : np.ndarray
        bool [window_frames, max_points].
    """
    counts = np.asarray(points_per_frame, dtype=np.int64)
    if counts.sum() != len(points):
        raise ModelInputError(
            f"points_per_frame sums to {int(counts.sum())} but there are {len(points)} points"
        )
    offsets = np.concatenate([[0], np.cumsum(counts)])
    window = np.zeros((window_frames, max_points, points.shape[1]), dtype=np.float32)
    point_mask = np.zeros((window_frames, max_points), dtype=bool)
    for slot in range(window_frames):
        frame = start_frame + slot
        if frame < 0 or frame >= len(counts):
            continue
        frame_points = points[offsets[frame] : offsets[frame + 1]]
        if len(frame_points) > max_points:
            strongest = np.argsort(-frame_points[:, 4], kind="stable")[:max_points]
            frame_points = frame_points[np.sort(strongest)]
        window[slot, : len(frame_points)] = frame_points
        point_mask[slot, : len(frame_points)] = True
    return window, point_mask


def crop_start(frames: int, window_frames: int, crop: str) -> int:
    """First frame kept by :func:`~mmexpert.data.loaders.crop_or_pad_time`."""
    if frames <= window_frames or crop == "start":
        return 0
    return (frames - window_frames) // 2


def stable_choice(count: int, *keys: Any) -> int:
    """A deterministic index in ``[0, count)`` from ``keys`` (e.g. seed, epoch, sample id);
    independent of process, hash seed and data order."""
    digest = hashlib.sha256(repr(keys).encode()).digest()
    return int.from_bytes(digest[:8], "little") % max(count, 1)


RawSample = dict[str, Any]
Augmentation = Callable[[RawSample, np.random.Generator], RawSample]


class RadarModelDataset(torch.utils.data.Dataset):
    """Samples of a store (or a list of raw samples) as model-ready tensors.

    Each item is a dict::

        {"micro_doppler": float32 [128, window] in [0, 1], ...one per chosen map view,
         "mask": bool [window] (real frames),
         "points": float32 [window, max_points, 8], "point_mask": bool [window, max_points]
             (only when "points" is chosen),
         "label": int64 [] (index into ``classes``, -1 for unknown activities),
         "caption": str (one of the sample's captions, chosen per epoch),
         "sample_id": str}

    Augmentations run on the raw dB arrays of the full clip (before the window crop and the
    normalisation), with a generator seeded by ``(seed, epoch, sample_id)``, so an epoch is
    reproducible and independent of data order and worker count.

    Parameters
    ----------
    samples
        Raw samples: dicts with the arrays (``micro_doppler``... ``points``,
        ``points_per_frame``), ``activity``, ``captions`` and ``sample_id``. Build them
        with :func:`load_raw_samples` or :func:`raw_sample_from_products`.
    views
        The views to feed (see :data:`ALL_VIEWS`).
    classes
        Activity names in label order.
    window_frames
        Time window [frames].
    crop
        ``"center"``, ``"start"`` or ``"random"`` (training: a window start drawn per epoch,
        seeded like the augmentations).
    augment
        Callables ``(raw, rng) -> raw`` applied in order while training.
    seed
        Seeds caption choice and augmentation.
    dynamic_range_db
        See :func:`normalize_db_map`.
    max_points
        Points per frame kept for the point view.
    """

    def __init__(
        self,
        samples: Sequence[RawSample],
        views: Sequence[str],
        classes: Sequence[str],
        window_frames: int = 64,
        crop: str = "center",
        augment: Sequence[Augmentation] = (),
        seed: int = 0,
        dynamic_range_db: float = DEFAULT_DYNAMIC_RANGE_DB,
        max_points: int = DEFAULT_MAX_POINTS,
    ) -> None:
        if window_frames <= 0:
            raise ModelInputError(f"window_frames must be positive, got {window_frames}")
        if crop not in ("center", "start", "random"):
            raise ModelInputError(f"crop must be 'center', 'start' or 'random', got {crop!r}")
        self.samples = list(samples)
        self.views = check_views(views)
        for sample in self.samples:
            missing = [
                name
                for view in self.views
                for name in ((view, "points_per_frame") if view == POINTS_VIEW else (view,))
                if name not in sample
            ]
            if missing:
                raise ModelInputError(f"sample {sample.get('sample_id')} lacks arrays {missing}")
        self.classes = list(classes)
        self._class_index = {name: index for index, name in enumerate(self.classes)}
        self.window_frames = window_frames
        self.crop = crop
        self.augment = list(augment)
        self.seed = seed
        self.epoch = 0
        self.dynamic_range_db = dynamic_range_db
        self.max_points = max_points

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose captions and augmentations the next items use."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        raw = self.samples[index]
        sample_id = str(raw["sample_id"])
        if self.augment:
            rng = np.random.default_rng(
                stable_choice(2**63 - 1, "augment", self.seed, self.epoch, sample_id)
            )
            raw = {**raw}
            for transform in self.augment:
                raw = transform(raw, rng)
        item: dict[str, Any] = {}
        frames = frames_of(raw)
        crop, start = self.crop, crop_start(frames, self.window_frames, self.crop)
        if crop == "random" and frames > self.window_frames:
            # a fresh window per epoch: a 6 s clip yields many 2 s windows, as a real
            # recording cut with a sliding window does
            start = stable_choice(
                frames - self.window_frames + 1, "crop", self.seed, self.epoch, sample_id
            )
            raw = {
                **raw,
                **{
                    v: raw[v][..., start : start + self.window_frames]
                    for v in MAP_VIEWS
                    if v in raw
                },
            }
            crop = "start"
        mask = None
        for view in self.views:
            if view == POINTS_VIEW:
                continue
            window, mask = crop_or_pad_time(raw[view], self.window_frames, crop)  # (bins, w)
            item[view] = torch.from_numpy(normalize_db_map(window, mask, self.dynamic_range_db))
        if mask is None:
            mask = np.zeros(self.window_frames, dtype=bool)
            mask[: min(frames, self.window_frames)] = True
        item["mask"] = torch.from_numpy(mask)
        if POINTS_VIEW in self.views:
            cloud, point_mask = points_window(
                raw["points"], raw["points_per_frame"], start, self.window_frames, self.max_points
            )
            item["points"] = torch.from_numpy(cloud)  # (w, max_points, 8)
            item["point_mask"] = torch.from_numpy(point_mask)
        item["label"] = torch.tensor(self._class_index.get(raw.get("activity"), -1))
        captions = list(raw.get("captions") or [raw.get("activity") or ""])
        item["caption"] = str(
            captions[stable_choice(len(captions), "caption", self.seed, self.epoch, sample_id)]
        )
        item["sample_id"] = sample_id
        return item


def frames_of(raw: RawSample) -> int:
    """Number of frames of a raw sample (time axis of its maps or ``points_per_frame``)."""
    for view in MAP_VIEWS:
        if view in raw:
            return int(raw[view].shape[-1])
    if "points_per_frame" in raw:
        return len(raw["points_per_frame"])
    raise ModelInputError(f"sample {raw.get('sample_id')} holds no map and no point view")


def load_raw_samples(
    store: DatasetStore, sample_ids: Sequence[str] | None = None, views: Sequence[str] = ALL_VIEWS
) -> list[RawSample]:
    """Read samples of a store into memory as raw sample dicts.

    Parameters
    ----------
    store
        An open store.
    sample_ids
        Which samples (default all, in manifest order).
    views
        Views to read (``"points"`` also reads ``points_per_frame``).

    Returns
    -------
    list of dict
        Arrays plus ``sample_id``, ``activity``, ``captions``, ``motion_program``.
    """
    names = [view for view in check_views(views) if view != POINTS_VIEW]
    if POINTS_VIEW in views:
        names += ["points", "points_per_frame"]
    raws = []
    for record in store.records(sample_ids):
        present = [name for name in names if name in record.checksums]
        sample = store.read_record(record, arrays=present)
        raws.append(
            {
                **sample.arrays,
                "sample_id": record.sample_id,
                "activity": record.activity,
                "captions": list(record.metadata.get("captions") or []),
                "motion_program": record.metadata.get("motion_program"),
            }
        )
    return raws


def raw_sample_from_products(products: Any, sample_id: str = "file") -> RawSample:
    """A raw sample from :class:`~mmexpert.data.products.SimulationProducts` (a ``.npz`` of
    ``mmexpert simulate motion``); the structured points become the ``[N, 8]`` table."""
    from mmexpert.data.samples import points_table

    raw: RawSample = {view: np.asarray(products.maps_db[view], np.float32) for view in MAP_VIEWS}
    raw["points"] = points_table(products)
    raw["points_per_frame"] = np.asarray(products.points_per_frame, dtype=np.int32)
    raw["sample_id"] = sample_id
    raw["activity"] = None
    raw["captions"] = []
    return raw


def collate(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors, keep strings as lists."""
    batch: dict[str, Any] = {}
    for key in items[0]:
        values = [item[key] for item in items]
        batch[key] = torch.stack(values) if isinstance(values[0], torch.Tensor) else values
    return batch
