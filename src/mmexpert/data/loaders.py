"""Loaders over a :class:`~mmexpert.data.store.DatasetStore`.

* :class:`RadarDataset`: a PyTorch ``Dataset`` of fixed-length time windows of the radar maps,
  with a frame mask, a label index and a caption.
* :func:`export_parquet`: arrays and metadata to one Parquet file that
  ``datasets.load_dataset("parquet", data_files=...)`` reads.
* :func:`to_hf_dataset`: the same table as an in-memory Hugging Face ``datasets.Dataset``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
import torch.utils.data

from mmexpert.data.store import DatasetStore, SampleRecord
from mmexpert.data.store_schema import StoreError, canonical_json

if TYPE_CHECKING:
    import datasets
    import pyarrow

CropMode = Literal["start", "center"]


def crop_or_pad_time(
    array: np.ndarray, window_frames: int, crop: CropMode = "center"
) -> tuple[np.ndarray, np.ndarray]:
    """Fix the last (time) axis to ``window_frames`` columns.

    Longer inputs are cropped (from the start, or centred); shorter ones are zero-padded at
    the end.

    Parameters
    ----------
    array
        Any array whose last axis is time [..., frames].
    window_frames
        Output length of the time axis [frames].
    crop
        ``"start"`` keeps the first frames, ``"center"`` the middle ones.

    Returns
    -------
    window : np.ndarray
        Same dtype, shape [..., window_frames].
    mask : np.ndarray
        bool [window_frames]; True where the column holds a real frame.
    """
    if window_frames <= 0:
        raise ValueError(f"window_frames must be positive, got {window_frames}")
    frames = array.shape[-1]
    mask = np.zeros(window_frames, dtype=bool)
    if frames >= window_frames:
        start = 0 if crop == "start" else (frames - window_frames) // 2
        mask[:] = True
        return np.ascontiguousarray(array[..., start : start + window_frames]), mask
    window = np.zeros((*array.shape[:-1], window_frames), dtype=array.dtype)
    window[..., :frames] = array
    mask[:frames] = True
    return window, mask


def _split_records(store: DatasetStore, split: str | None, split_name: str) -> list[SampleRecord]:
    if split is None:
        return store.records()
    wanted = store.split_ids(split, split_name=split_name)
    return store.records(wanted)


def _caption_of(metadata: dict[str, Any]) -> str:
    captions = metadata.get("captions")
    if isinstance(captions, list) and captions:
        return str(captions[0])
    return str(metadata.get("activity", ""))


class RadarDataset(torch.utils.data.Dataset):
    """PyTorch dataset of radar map windows from a store.

    Each item is a dict::

        {"micro_doppler": float32 tensor [bins, window_frames], ...one entry per view,
         "mask": bool tensor [window_frames] (True on real frames),
         "label": int64 tensor [] (index into ``classes``),
         "caption": str (first caption, or the activity), "sample_id": str}

    The default ``torch.utils.data.DataLoader`` collate batches it (strings become lists).

    Parameters
    ----------
    store
        The dataset store (read only; the object is pickled read-only into DataLoader workers).
    views
        Names of 2-D arrays whose last axis is time, e.g. ``("micro_doppler", "range_time")``.
        All views of a sample are cropped or padded with the same offset.
    split
        Subset of a saved split (``"train"``, ``"test"``...), or None for every sample.
    split_name
        Which saved split (see :meth:`DatasetStore.save_split`).
    window_frames
        Fixed length of the time axis [frames] (RadHAR used 60-frame windows).
    crop
        ``"center"`` or ``"start"`` when a sample is longer than the window.
    classes
        Activity names in label order; by default the sorted activities of the whole store,
        so label indices agree across splits.
    transform
        Optional ``item -> item`` callable applied last (normalisation, augmentation).
    verify
        Check array checksums on every read (about 0.1 ms per 100 kB).
    """

    def __init__(
        self,
        store: DatasetStore,
        views: Sequence[str] = ("micro_doppler",),
        split: str | None = "train",
        split_name: str = "default",
        window_frames: int = 64,
        crop: CropMode = "center",
        classes: Sequence[str] | None = None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        verify: bool = True,
    ) -> None:
        if crop not in ("start", "center"):
            raise StoreError(f"crop must be 'start' or 'center', got {crop!r}")
        if window_frames <= 0:
            raise StoreError(f"window_frames must be positive, got {window_frames}")
        self.views = tuple(views)
        if not self.views:
            raise StoreError("RadarDataset needs at least one view")
        for view in self.views:
            spec = store.schema.arrays.get(view)
            if spec is None:
                raise StoreError(
                    f"view {view!r} is not in the store schema ({sorted(store.schema.arrays)})"
                )
            if len(spec.shape) != 2 or isinstance(spec.shape[-1], int):
                raise StoreError(
                    f"view {view!r} has shape {spec.shape}; RadarDataset needs 2-D maps whose "
                    "last axis is a variable time axis"
                )
        self.store = store
        self.window_frames = window_frames
        self.crop = crop
        self.transform = transform
        self.verify = verify
        self.records = _split_records(store, split, split_name)
        if classes is None:
            classes = sorted(name for name in store.info().per_activity if name is not None)
        self.classes = list(classes)
        self._class_index = {name: index for index, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        record = self.records[index]
        sample = self.store.read_record(record, arrays=self.views, verify=self.verify)
        item: dict[str, Any] = {}
        mask = None
        for view in self.views:
            window, view_mask = crop_or_pad_time(sample.arrays[view], self.window_frames, self.crop)
            item[view] = torch.from_numpy(window.astype(np.float32, copy=False))  # (bins, window)
            mask = view_mask if mask is None else mask & view_mask
        item["mask"] = torch.from_numpy(mask)
        activity = record.activity
        if activity not in self._class_index:
            raise StoreError(
                f"sample {record.sample_id} has activity {activity!r}, "
                f"not in classes {self.classes}"
            )
        item["label"] = torch.tensor(self._class_index[activity], dtype=torch.int64)
        item["caption"] = _caption_of(record.metadata)
        item["sample_id"] = record.sample_id
        if self.transform is not None:
            item = self.transform(item)
        return item


def _list_column(arrays: list[np.ndarray | None], dtype: np.dtype) -> pyarrow.Array:
    """list<...> column for 1-D arrays or list<list<...>> for 2-D, built without Python loops
    over elements (nested offsets into one flat buffer)."""
    import pyarrow as pa

    present = [array for array in arrays if array is not None]
    ndim = present[0].ndim if present else 1
    value_type = pa.from_numpy_dtype(dtype)
    if any(array.ndim != ndim for array in present) or ndim not in (1, 2):
        raise StoreError("Parquet export supports 1-D and 2-D arrays only (not raw ADC cubes)")
    flat = (
        np.concatenate([array.reshape(-1) for array in present]).astype(dtype, copy=False)
        if present
        else np.zeros(0, dtype)
    )
    values = pa.array(flat, type=value_type)
    if ndim == 2:
        row_lengths = [np.full(array.shape[0], array.shape[1], dtype=np.int64) for array in present]
        flat_lengths = np.concatenate(row_lengths) if row_lengths else np.zeros(0, np.int64)
        row_offsets = np.concatenate([[0], np.cumsum(flat_lengths)]).astype(np.int64)
        values = pa.LargeListArray.from_arrays(pa.array(row_offsets), values)
    units = [0 if array is None else array.shape[0] for array in arrays]
    offsets = pa.array(np.concatenate([[0], np.cumsum(units)]).astype(np.int64))
    mask = pa.array([array is None for array in arrays])
    return pa.LargeListArray.from_arrays(offsets, values, mask=mask)


def _export_table(
    store: DatasetStore, views: Sequence[str], split: str | None, split_name: str
) -> pyarrow.Table:
    try:
        import pyarrow as pa
    except ImportError as error:
        raise StoreError("export needs pyarrow (pip install -c constraints.txt pyarrow)") from error
    records = _split_records(store, split, split_name)
    for view in views:
        if view not in store.schema.arrays:
            raise StoreError(f"view {view!r} is not in the store schema")
    columns: dict[str, Any] = {
        "sample_id": [record.sample_id for record in records],
        "activity": [record.activity for record in records],
        "caption": [_caption_of(record.metadata) for record in records],
        "captions": [
            [str(text) for text in record.metadata.get("captions", [])] for record in records
        ],
        "metadata_json": [canonical_json(record.metadata) for record in records],
    }
    # Only the exported views are read; optional views absent from a sample become nulls.
    loaded = [
        store.read_record(
            record, arrays=[view for view in views if view in record.checksums]
        ).arrays
        for record in records
    ]
    for view in views:
        dtype = np.dtype(store.schema.arrays[view].dtype)
        columns[view] = _list_column([arrays.get(view) for arrays in loaded], dtype)
    return pa.table(columns)


def export_parquet(
    store: DatasetStore,
    path: str | os.PathLike[str],
    views: Sequence[str] = ("micro_doppler", "range_time", "azimuth_time"),
    split: str | None = None,
    split_name: str = "default",
) -> Path:
    """Write arrays and metadata to one Parquet file.

    Columns: ``sample_id``, ``activity``, ``caption``, ``captions``, ``metadata_json`` and one
    nested-list column per view (2-D ``[bins, frames]`` maps become ``list<list<float>>``, rows
    first, so ``np.asarray(row[view])`` gives back the map). Read it with
    ``datasets.load_dataset("parquet", data_files=str(path))``.

    Returns
    -------
    Path
        The written file.
    """
    import pyarrow.parquet as pq

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = target.parent / f".{target.name}.{os.getpid()}.tmp"
    pq.write_table(_export_table(store, views, split, split_name), tmp_path)
    os.replace(tmp_path, target)
    return target


def to_hf_dataset(
    store: DatasetStore,
    views: Sequence[str] = ("micro_doppler", "range_time", "azimuth_time"),
    split: str | None = None,
    split_name: str = "default",
) -> datasets.Dataset:
    """The store (or one split) as an in-memory Hugging Face ``datasets.Dataset``.

    Same columns as :func:`export_parquet`. Nothing is written to the Hugging Face cache.

    Raises
    ------
    StoreError
        If the ``datasets`` package is not installed.
    """
    try:
        import datasets
        from datasets.table import InMemoryTable
    except ImportError as error:
        raise StoreError(
            "to_hf_dataset needs the 'datasets' package (pip install -c constraints.txt "
            "datasets); export_parquet works without it"
        ) from error
    table = _export_table(store, views, split, split_name)
    description = json.dumps({"schema": store.schema.to_dict()})
    dataset = datasets.Dataset(InMemoryTable(table))
    dataset.info.description = description
    return dataset
