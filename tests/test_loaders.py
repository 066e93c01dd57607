"""Loaders: PyTorch dataset windows and masks, Parquet and Hugging Face exports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the loaders need the optional torch dependency")
from torch.utils.data import DataLoader  # noqa: E402

from mmexpert.data.loaders import (  # noqa: E402
    RadarDataset,
    crop_or_pad_time,
    export_parquet,
    to_hf_dataset,
)
from mmexpert.data.store import DatasetStore  # noqa: E402
from mmexpert.data.store_schema import (  # noqa: E402
    Sample,
    StoreError,
    radar_schema,
    sample_key,
)

ACTIVITIES = ("sit", "walk", "wave")
FRAMES = (40, 64, 100, 10, 64, 80)  # shorter, equal and longer than a 64-frame window


def ramp_sample(index: int) -> Sample:
    """Maps whose value at column t is t (+ bin offset): crops are visible in the values."""
    frames = FRAMES[index]
    time_ramp = np.arange(frames, dtype=np.float32)
    arrays = {
        "micro_doppler": np.tile(time_ramp, (128, 1)) + np.arange(128, dtype=np.float32)[:, None],
        "range_time": np.tile(time_ramp, (256, 1)),
        "azimuth_time": np.tile(-time_ramp, (128, 1)),
    }
    if index == 0:
        per_frame = np.full(frames, 2, dtype=np.int32)
        arrays["points_per_frame"] = per_frame
        arrays["points"] = np.ones((2 * frames, 8), dtype=np.float32)
    metadata = {
        "activity": ACTIVITIES[index % 3],
        "captions": [f"caption {index}", f"paraphrase {index}"],
        "seeds": {"noise": index},
    }
    return Sample(sample_key("loader", index), arrays, metadata)


@pytest.fixture
def store(tmp_path: Path) -> DatasetStore:
    created = DatasetStore.create(tmp_path / "store", radar_schema())
    for index in range(len(FRAMES)):
        created.put(ramp_sample(index))
    ids = created.ids()
    created.save_split(
        "default", {sample_id: "test" if i >= 4 else "train" for i, sample_id in enumerate(ids)}
    )
    yield created
    created.close()


def test_crop_or_pad_time() -> None:
    ramp = np.arange(10, dtype=np.float32)[None, :].repeat(3, axis=0)
    padded, mask = crop_or_pad_time(ramp, 16)
    assert padded.shape == (3, 16) and padded.dtype == np.float32
    np.testing.assert_array_equal(padded[:, :10], ramp)
    assert not padded[:, 10:].any()
    np.testing.assert_array_equal(mask, np.arange(16) < 10)
    centred, mask = crop_or_pad_time(ramp, 4, crop="center")
    np.testing.assert_array_equal(centred[0], [3, 4, 5, 6])
    assert mask.all()
    started, _ = crop_or_pad_time(ramp, 4, crop="start")
    np.testing.assert_array_equal(started[0], [0, 1, 2, 3])


def test_radar_dataset_items_shapes_masks_labels(store: DatasetStore) -> None:
    dataset = RadarDataset(
        store, views=("micro_doppler", "range_time"), split="train", window_frames=64
    )
    assert isinstance(dataset, torch.utils.data.Dataset)
    assert len(dataset) == 4
    assert dataset.classes == ["sit", "walk", "wave"]
    for index in range(4):
        item = dataset[index]
        frames = FRAMES[index]
        assert item["micro_doppler"].shape == (128, 64)
        assert item["range_time"].shape == (256, 64)
        assert item["micro_doppler"].dtype == torch.float32
        assert item["mask"].dtype == torch.bool
        assert int(item["mask"].sum()) == min(frames, 64)
        assert item["label"].item() == dataset.classes.index(ACTIVITIES[index % 3])
        assert item["caption"] == f"caption {index}"
        valid = item["range_time"][0][item["mask"]]
        start = max(0, (frames - 64) // 2)
        np.testing.assert_array_equal(valid.numpy(), np.arange(start, start + min(frames, 64)))
        assert not item["range_time"][:, ~item["mask"]].any()  # padding is zero
    assert dataset[2]["range_time"][0, 0].item() == 18  # 100 frames centred: 18..81


def test_dataloader_batches(store: DatasetStore) -> None:
    dataset = RadarDataset(store, views=("azimuth_time",), split="test", window_frames=32)
    batch = next(iter(DataLoader(dataset, batch_size=2)))
    assert batch["azimuth_time"].shape == (2, 128, 32)
    assert batch["mask"].shape == (2, 32)
    assert batch["label"].tolist() == [1, 2]  # samples 4 (walk) and 5 (wave)
    assert batch["caption"] == ["caption 4", "caption 5"]


def test_dataloader_with_worker_processes(store: DatasetStore) -> None:
    dataset = RadarDataset(store, split=None, window_frames=16)
    loader = DataLoader(dataset, batch_size=3, num_workers=2)
    seen = [sample_id for batch in loader for sample_id in batch["sample_id"]]
    assert seen == store.ids()


def test_transform_and_bad_views(store: DatasetStore) -> None:
    def log_scale(item: dict) -> dict:
        item["micro_doppler"] = torch.log1p(item["micro_doppler"])
        return item

    dataset = RadarDataset(store, split="train", transform=log_scale, window_frames=8)
    assert dataset[1]["micro_doppler"][0, 0].item() == pytest.approx(np.log1p(28.0))
    with pytest.raises(StoreError, match="'points' has shape"):
        RadarDataset(store, views=("points",))
    with pytest.raises(StoreError, match="not in the store schema"):
        RadarDataset(store, views=("doppler",))
    with pytest.raises(StoreError, match="no split named 'holdout'"):
        RadarDataset(store, split_name="holdout")


def test_parquet_export_reads_back_with_hf_datasets(store: DatasetStore, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    path = export_parquet(
        store,
        tmp_path / "train.parquet",
        split="train",
        views=("micro_doppler", "points", "points_per_frame"),
    )
    loaded = datasets.load_dataset(
        "parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert loaded.num_rows == 4
    first = loaded[0]
    original = ramp_sample(0)
    np.testing.assert_array_equal(
        np.asarray(first["micro_doppler"], np.float32), original.arrays["micro_doppler"]
    )
    assert np.asarray(first["points"]).shape == (80, 8)
    assert loaded[1]["points"] is None  # optional array absent
    assert first["captions"] == ["caption 0", "paraphrase 0"]


def test_to_hf_dataset_in_memory(store: DatasetStore) -> None:
    pytest.importorskip("datasets")
    dataset = to_hf_dataset(store, views=("range_time",), split="test")
    assert dataset.num_rows == 2
    as_numpy = dataset.with_format("numpy")
    assert as_numpy[0]["range_time"].shape == (256, FRAMES[4])
    assert dataset[1]["activity"] == "wave"
    assert "micro_doppler" in dataset.info.description
