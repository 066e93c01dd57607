"""Dataset store: schema checks, keys, recovery windows, corruption, verify, info, export."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from mmexpert.data.store import (
    MANIFEST_FILE,
    DatasetStore,
    SampleFileWriter,
    sample_relative_path,
)
from mmexpert.data.store_schema import (
    ArraySpec,
    CorruptSampleError,
    DatasetSchema,
    DuplicateSampleError,
    ManifestError,
    Sample,
    SchemaError,
    StoreError,
    array_checksum,
    canonical_json,
    radar_schema,
    sample_key,
)

ACTIVITIES = ("walk", "sit", "wave")


def make_sample(index: int, frames: int = 100, with_points: bool = False) -> Sample:
    """A deterministic radar-shaped sample (three float32 maps sharing ``frames``)."""
    rng = np.random.default_rng(index)
    arrays = {
        "micro_doppler": rng.random((128, frames), dtype=np.float32),
        "range_time": rng.random((256, frames), dtype=np.float32),
        "azimuth_time": rng.random((128, frames), dtype=np.float32),
    }
    if with_points:
        per_frame = rng.integers(0, 5, size=frames).astype(np.int32)
        arrays["points"] = rng.random((int(per_frame.sum()), 8), dtype=np.float32)
        arrays["points_per_frame"] = per_frame
    metadata = {
        "activity": ACTIVITIES[index % 3],
        "captions": [f"a person does {ACTIVITIES[index % 3]} number {index}"],
        "qa": [{"question": "what activity?", "answer": ACTIVITIES[index % 3]}],
        "motion_program": {"primitive": ACTIVITIES[index % 3], "speed_mps": 1.0 + index / 10},
        "subject": {"height_m": 1.7},
        "seeds": {"noise": index},
        "software_version": "0.1.0",
    }
    return Sample(sample_key("unit", index), arrays, metadata)


@pytest.fixture
def store(tmp_path: Path) -> DatasetStore:
    created = DatasetStore.create(tmp_path / "store", radar_schema())
    for index in range(6):
        created.put(make_sample(index, with_points=index == 0))
    yield created
    created.close()


# ----------------------------------------------------------------------------- keys and schema


def test_sample_key_is_deterministic_and_order_sensitive() -> None:
    spec = {"activity": "walk", "speed_mps": 1.2, "tags": ("slow", "left")}
    key = sample_key(spec, {"fc_hz": 77e9}, 3, "0.1.0")
    assert key == sample_key(
        {"tags": ["slow", "left"], "speed_mps": 1.2, "activity": "walk"},
        {"fc_hz": 77e9},
        np.int64(3),
        "0.1.0",
    )
    assert len(key) == 16 and int(key, 16) >= 0
    assert key != sample_key(spec, {"fc_hz": 77e9}, 4, "0.1.0")
    assert sample_key("a", "b") != sample_key("b", "a")
    # Closed form: sha256 of the canonical JSON list; a change here renames every sample.
    assert sample_key("walk", 1) == hashlib.sha256(b'["walk",1]').hexdigest()[:16]
    assert (
        sample_key({"b": 1.5, "a": [1, 2]}, length=64)
        == hashlib.sha256(b'[{"a":[1,2],"b":1.5}]').hexdigest()
    )


def test_canonical_json_rejects_nan_and_arrays() -> None:
    with pytest.raises(TypeError, match="non-finite"):
        canonical_json({"x": float("nan")})
    with pytest.raises(TypeError, match="ndarray"):
        canonical_json({"x": np.zeros(3)})


def test_sample_key_accepts_radar_config() -> None:
    from mmexpert.radar.presets import list_presets, load_radar

    first, second = (load_radar(name) for name in list_presets()[:2])
    assert sample_key(first) == sample_key(first.to_dict()) == sample_key(load_radar(first.name))
    assert sample_key(first) != sample_key(second)


def test_array_checksum_sees_dtype_shape_and_bytes() -> None:
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert array_checksum(array) == array_checksum(array.copy())
    assert array_checksum(array) != array_checksum(array.reshape(4, 3))
    assert array_checksum(array) != array_checksum(array.view(np.int32))
    flipped = array.copy()
    flipped.reshape(-1).view(np.uint8)[5] ^= 1
    assert array_checksum(array) != array_checksum(flipped)


def test_schema_round_trips_through_json() -> None:
    schema = radar_schema(version="2.1.0")
    assert DatasetSchema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: s.arrays.__setitem__(
                "micro_doppler", s.arrays["micro_doppler"].astype(np.float64)
            ),
            r"array 'micro_doppler' has dtype float64, schema says float32",
        ),
        (
            lambda s: s.arrays.__setitem__("range_time", np.zeros((255, 100), np.float32)),
            r"array 'range_time' axis 0 has length 255, schema says 256",
        ),
        (
            lambda s: s.arrays.__setitem__("azimuth_time", np.zeros((128, 99), np.float32)),
            r"axis 'frames' has length (99|100) in array .* but (99|100) in array .*azimuth_time",
        ),
        (
            lambda s: s.arrays.__setitem__("micro_doppler", np.zeros(128, np.float32)),
            r"rank 1\), schema says",
        ),
        (lambda s: s.arrays.pop("range_time"), r"required array 'range_time' is missing"),
        (
            lambda s: s.arrays.__setitem__("heatmap", np.zeros(3, np.float32)),
            r"arrays \['heatmap'\] are not in the schema",
        ),
        (lambda s: s.metadata.pop("activity"), r"metadata lacks required keys \['activity'\]"),
        (lambda s: s.metadata.__setitem__("seeds", np.arange(3)), r"not JSON-serialisable"),
        (
            lambda s: s.arrays["range_time"].__setitem__((3, 7), -np.inf),
            r"array 'range_time' has 1 NaN or infinite values",
        ),
    ],
)
def test_schema_violation_names_sample_and_array(
    tmp_path: Path, change: object, message: str
) -> None:
    with DatasetStore.create(tmp_path / "store", radar_schema()) as store:
        sample = make_sample(1)
        change(sample)  # type: ignore[operator]
        with pytest.raises(SchemaError, match=message) as raised:
            store.put(sample)
        assert sample.sample_id in str(raised.value)
        assert len(store) == 0
        assert store.verify().clean  # nothing half-written


def test_bad_schema_definitions_are_rejected() -> None:
    with pytest.raises(SchemaError, match="not a numpy dtype"):
        ArraySpec("float33", (3,))
    with pytest.raises(SchemaError, match="shape entries"):
        ArraySpec("float32", (-1,))
    with pytest.raises(SchemaError, match="identifier"):
        DatasetSchema({"_record": ArraySpec("uint8", (None,))})


def test_bad_sample_id_is_rejected(tmp_path: Path) -> None:
    with DatasetStore.create(tmp_path / "store", radar_schema()) as store:
        sample = make_sample(0)
        sample.sample_id = "../escape"
        with pytest.raises(StoreError, match=r"sample id '\.\./escape'"):
            store.put(sample)


# ----------------------------------------------------------------------------- basic use


def test_put_read_round_trip_and_optional_arrays(store: DatasetStore) -> None:
    original = make_sample(0, with_points=True)
    loaded = store.read(original.sample_id)
    assert set(loaded.arrays) == set(original.arrays)
    for name, array in original.arrays.items():
        np.testing.assert_array_equal(loaded.arrays[name], array)
        assert loaded.arrays[name].dtype == array.dtype
    assert loaded.metadata == original.metadata
    assert loaded.activity == "walk"
    partial = store.read(original.sample_id, arrays=["range_time"])
    assert list(partial.arrays) == ["range_time"]
    assert "points" not in store.read(make_sample(1).sample_id).arrays
    with pytest.raises(StoreError, match=r"has no arrays \['points'\]"):
        store.read(make_sample(1).sample_id, arrays=["points"])


def test_has_len_ids_iteration_and_idempotent_put(store: DatasetStore) -> None:
    expected = [make_sample(index).sample_id for index in range(6)]
    assert store.ids() == expected
    assert len(store) == 6
    assert store.has(expected[2]) and expected[2] in store
    assert not store.has(sample_key("unit", 99))
    assert [sample.sample_id for sample in store] == expected
    assert store.put(make_sample(2)) is False  # identical sample: recorded once
    assert len(store) == 6
    with pytest.raises(KeyError, match="not in the store"):
        store.read(sample_key("unit", 99))


def test_sample_files_are_byte_reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    """Equal samples give equal files whatever the clock says or the order of their arrays."""
    import time as time_module

    from mmexpert.data.store import encode_sample

    first, _ = encode_sample(make_sample(3, with_points=True), radar_schema())
    later = time_module.struct_time((2031, 6, 7, 8, 9, 10, 0, 158, 0))
    monkeypatch.setattr(time_module, "localtime", lambda *_: later)
    reordered = make_sample(3, with_points=True)
    reordered.arrays = dict(reversed(list(reordered.arrays.items())))
    second, _ = encode_sample(reordered, radar_schema())
    assert first == second


def test_same_id_with_other_content_is_refused(store: DatasetStore) -> None:
    impostor = make_sample(3)
    impostor.sample_id = make_sample(2).sample_id
    with pytest.raises(DuplicateSampleError, match="different file already exists"):
        store.put(impostor)
    assert len(store) == 6


def test_query_and_info(store: DatasetStore) -> None:
    walk = store.query(activity="walk")
    assert walk == [make_sample(0).sample_id, make_sample(3).sample_id]
    assert store.query(software_version="0.1.0") == store.ids()
    assert store.query(activity="sit", software_version="9") == []
    info = store.info()
    assert info.n_samples == 6
    assert info.per_activity == {"sit": 2, "walk": 2, "wave": 2}
    on_disk = sum((store.root / record.path).stat().st_size for record in store.records())
    assert info.sample_bytes == on_disk
    assert info.version == "1.0.0" and info.schema == radar_schema()
    text = info.summary()
    assert "samples: 6" in text and "  walk: 2" in text
    assert "array micro_doppler: float32 [128, 'frames']" in text


def test_read_only_store_refuses_writes(store: DatasetStore) -> None:
    reader = DatasetStore.open(store.root, mode="r")
    assert len(reader) == 6
    with pytest.raises(StoreError, match="read-only"):
        reader.put(make_sample(10))
    reader.close()


def test_second_writer_is_locked_out(store: DatasetStore) -> None:
    with pytest.raises(StoreError, match="another process is writing"):
        DatasetStore.open(store.root, mode="a")


def test_create_refuses_existing_and_other_schema(store: DatasetStore) -> None:
    with pytest.raises(StoreError, match="already exists"):
        DatasetStore.create(store.root, radar_schema())
    store.close()
    with pytest.raises(SchemaError, match="has schema"):
        DatasetStore.create(store.root, radar_schema(doppler_bins=64), exist_ok=True)
    with DatasetStore.create(store.root, radar_schema(), exist_ok=True) as reopened:
        assert len(reopened) == 6


# ----------------------------------------------------------------------------- recovery windows


def test_recovery_handles_each_crash_window(store: DatasetStore) -> None:
    root = store.root
    writer = SampleFileWriter(root, store.schema)
    # (1) killed after the rename, before the manifest transaction: file complete, unrecorded.
    writer(make_sample(10))
    # (2) killed while writing the tmp file.
    unfinished = root / "shards" / "ab" / f".{sample_key('unit', 11)}.npz.123.tmp"
    unfinished.parent.mkdir(exist_ok=True)
    unfinished.write_bytes(b"PK\x03\x04 half a zip")
    # (3) a complete-looking but truncated unrecorded file (disk trouble): quarantined.
    truncated_id = sample_key("unit", 12)
    writer(make_sample(12))
    truncated = root / sample_relative_path(truncated_id)
    truncated.write_bytes(truncated.read_bytes()[:5000])
    # (4) a recorded sample whose file vanished: forgotten so the engine regenerates it.
    vanished_id = make_sample(4).sample_id
    (root / sample_relative_path(vanished_id)).unlink()
    store.close()

    with DatasetStore.open(root, mode="a") as reopened:
        report = reopened.last_recovery
        assert report.adopted == [make_sample(10).sample_id]
        assert report.removed_tmp == [unfinished.relative_to(root).as_posix()]
        assert [path for path, _ in report.quarantined] == [sample_relative_path(truncated_id)]
        assert "unreadable file" in report.quarantined[0][1]
        assert report.forgotten == [vanished_id]
        assert not reopened.has(vanished_id) and not reopened.has(truncated_id)
        assert (root / "quarantine" / f"{truncated_id}.npz").exists()
        assert reopened.verify().clean
        assert len(reopened) == 6  # 6 - vanished + adopted
        reopened.put(make_sample(4))
        reopened.put(make_sample(12))
        assert reopened.verify().ok == 8


def test_manifest_rebuilds_from_sample_files(store: DatasetStore) -> None:
    ids = store.ids()
    store.close()
    (store.root / MANIFEST_FILE).write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (store.root / f"{MANIFEST_FILE}{suffix}").unlink(missing_ok=True)
    with pytest.raises(ManifestError, match="rebuild_manifest"):
        DatasetStore.open(store.root, mode="a")
    with pytest.raises(ManifestError, match="unreadable"):
        len(DatasetStore.open(store.root, mode="r"))
    with DatasetStore.rebuild_manifest(store.root) as rebuilt:
        assert sorted(rebuilt.last_recovery.adopted) == sorted(ids)
        assert rebuilt.verify().ok == 6
        assert rebuilt.read(ids[0]).metadata["activity"] == "walk"


def test_damaged_manifest_page_is_caught_and_rebuilt(tmp_path: Path) -> None:
    """Overwrite bytes in the middle of the SQLite file: never silently wrong."""
    root = tmp_path / "store"
    with DatasetStore.create(root, radar_schema()) as store:
        for index in range(40):
            store.put(make_sample(index, frames=4))
        ids = sorted(store.ids())
    manifest = root / MANIFEST_FILE
    assert not (root / f"{MANIFEST_FILE}-wal").exists()  # checkpointed on close
    payload = bytearray(manifest.read_bytes())
    assert len(payload) >= 6 * 4096
    payload[3 * 4096 : 3 * 4096 + 512] = b"\xff" * 512
    manifest.write_bytes(bytes(payload))
    with pytest.raises(ManifestError, match="rebuild"):
        DatasetStore.open(root, mode="a")
    reader = DatasetStore.open(root, mode="r")
    try:
        report = reader.verify()
        assert report.manifest_errors and not report.clean
    except ManifestError as error:  # a page SQLite cannot even walk is an error, also fine
        assert "rebuild" in str(error)
    finally:
        reader.close()
    with DatasetStore.rebuild_manifest(root) as rebuilt:
        assert sorted(rebuilt.ids()) == ids
        assert rebuilt.verify().clean


def test_corrupt_store_description_is_a_clear_error(store: DatasetStore) -> None:
    store.close()
    (store.root / "store.json").write_text('{"format": "mmexpert-dataset-st')
    with pytest.raises(ManifestError, match=r"store\.json is corrupt"):
        DatasetStore.open(store.root)
    with pytest.raises(ManifestError, match="no dataset store"):
        DatasetStore.open(store.root / "nowhere")


# ----------------------------------------------------------------------------- verify


def _damage(path: Path, how: str) -> None:
    payload = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(payload[: len(payload) // 2]))
    elif how == "flip_array_byte":
        payload[len(payload) // 3] ^= 0x01
        path.write_bytes(bytes(payload))
    elif how == "not_a_zip":
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(200))
    elif how == "empty":
        path.write_bytes(b"")


@pytest.mark.parametrize("how", ["truncate", "flip_array_byte", "not_a_zip", "empty"])
def test_verify_reports_damaged_files_and_read_raises(store: DatasetStore, how: str) -> None:
    victim = make_sample(1).sample_id
    _damage(store.root / sample_relative_path(victim), how)
    report = store.verify()
    assert report.ok == 5
    assert [sample_id for sample_id, _ in report.corrupt] == [victim]
    assert "sha256" in report.corrupt[0][1]
    assert not report.clean
    with pytest.raises(CorruptSampleError, match=victim):
        store.read(victim)


def test_bit_flip_inside_an_array_fails_its_checksum(store: DatasetStore) -> None:
    """Flip a byte inside array data and fix the zip CRC, so only our sha256 can notice."""
    import zipfile

    victim = make_sample(2).sample_id
    path = store.root / sample_relative_path(victim)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = bytearray(members["range_time.npy"])
    data[-10] ^= 0x40
    members["range_time.npy"] = bytes(data)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(CorruptSampleError, match="'range_time' fails its sha256"):
        store.read(victim)
    report = store.verify()
    assert report.corrupt[0][0] == victim


def test_verify_lists_missing_orphans_and_tmp(store: DatasetStore) -> None:
    missing = make_sample(5).sample_id
    (store.root / sample_relative_path(missing)).unlink()
    store.file_writer()(make_sample(20))  # written, never recorded
    tmp = store.root / "shards" / "zz" / ".x.npz.1.tmp"
    tmp.parent.mkdir()
    tmp.write_bytes(b"partial")
    report = store.verify()
    assert report.ok == 5
    assert report.missing == [missing]
    assert report.orphans == [sample_relative_path(make_sample(20).sample_id)]
    assert report.tmp_files == ["shards/zz/.x.npz.1.tmp"]
    assert f"missing {missing}" in report.summary()
    assert report.summary().startswith("ok: 5, corrupt: 0, missing: 1, orphans: 1, tmp files: 1")


# ----------------------------------------------------------------------------- export


def test_export_manifest_jsonl_and_parquet(store: DatasetStore, tmp_path: Path) -> None:
    jsonl = store.export_manifest(tmp_path / "manifest.jsonl")
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [row["sample_id"] for row in rows] == store.ids()
    assert rows[0]["motion_program"] == {"primitive": "walk", "speed_mps": 1.0}
    assert (
        rows[0]["checksums"]["micro_doppler"]
        == store.record_of(rows[0]["sample_id"]).checksums["micro_doppler"]
    )
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(store.export_manifest(tmp_path / "manifest.parquet"))
    assert table.num_rows == 6
    columns = set(table.column_names)
    assert {"sample_id", "activity", "captions", "qa", "motion_program", "seeds"} <= columns
    assert table.column("captions").to_pylist()[1] == make_sample(1).metadata["captions"]
    assert json.loads(table.column("qa").to_pylist()[0]) == make_sample(0).metadata["qa"]
    with pytest.raises(StoreError, match=r"\.jsonl or \.parquet"):
        store.export_manifest(tmp_path / "manifest.csv")


def test_splits_are_saved_and_read_back(store: DatasetStore) -> None:
    ids = store.ids()
    store.save_split(
        "default", {sample_id: "test" if i < 2 else "train" for i, sample_id in enumerate(ids)}
    )
    assert store.split_ids("test") == ids[:2]
    assert store.split_ids("train") == ids[2:]
    assert store.info().splits == {"default": {"test": 2, "train": 4}}
    with pytest.raises(StoreError, match="no split named 'other'"):
        store.split_ids("train", split_name="other")
    with pytest.raises(StoreError, match="unrecorded samples"):
        store.save_split("bad", {"deadbeef": "train"})


def test_sqlite_garbage_row_is_reported(store: DatasetStore) -> None:
    store.close()
    connection = sqlite3.connect(store.root / MANIFEST_FILE)
    with connection:
        connection.execute("UPDATE samples SET checksums = '{}' WHERE seq = 1")
    connection.close()
    with DatasetStore.open(store.root) as reader:
        report = reader.verify()
        assert report.ok == 5
        assert "checksums in the file differ from the manifest" in report.corrupt[0][1]


# ----------------------------------------------------------------------------- timing


def test_timing_report(tmp_path: Path) -> None:
    """Per-sample write and read time for three float32 maps (128x100, 256x100, 128x100)."""
    samples = [make_sample(index) for index in range(40)]
    with DatasetStore.create(tmp_path / "store", radar_schema()) as store:
        writer = store.file_writer()
        start = time.perf_counter()
        records = [writer(sample) for sample in samples]
        file_s = (time.perf_counter() - start) / len(samples)
        start = time.perf_counter()
        for record in records:
            store.record(record)
        record_s = (time.perf_counter() - start) / len(samples)
        start = time.perf_counter()
        for record in records:
            store.read(record.sample_id)
        read_s = (time.perf_counter() - start) / len(samples)
        start = time.perf_counter()
        report = store.verify()
        verify_s = (time.perf_counter() - start) / len(samples)
    assert report.ok == len(samples)
    print(
        f"\nper sample: write file {file_s * 1e3:.2f} ms, record {record_s * 1e3:.2f} ms, "
        f"read {read_s * 1e3:.2f} ms, verify {verify_s * 1e3:.2f} ms "
        f"({records[0].nbytes / 1e3:.0f} kB, pid {os.getpid()})"
    )
    assert read_s < 0.1 and file_s + record_s < 0.5  # generous: catches pathologies only


# ----------------------------------------------------------------------------- engine flow


def _worker_write(writer: SampleFileWriter, index: int) -> object:
    return writer(make_sample(index))


def test_worker_processes_write_files_parent_records(tmp_path: Path) -> None:
    """The engine's pattern: workers write sample files, the single parent records them."""
    from concurrent.futures import ProcessPoolExecutor

    with DatasetStore.create(tmp_path / "store", radar_schema()) as store:
        store.put(make_sample(0))
        todo = [index for index in range(12) if not store.has(make_sample(index).sample_id)]
        assert todo == list(range(1, 12))
        writer = store.file_writer()
        with ProcessPoolExecutor(max_workers=2) as pool:
            for record in pool.map(_worker_write, [writer] * len(todo), todo):
                assert store.record(record)
        assert sorted(store.ids()) == sorted(make_sample(index).sample_id for index in range(12))
        assert store.verify().ok == 12


# ----------------------------------------------------------------------------- compaction


def test_compact_packs_and_reads_back(store: DatasetStore, tmp_path: Path) -> None:
    before = {sample.sample_id: sample for sample in store}
    report = store.compact(samples_per_pack=4)
    assert report.packed == 6 and len(report.packs) == 2 and report.skipped == []
    assert not list((store.root / "shards").rglob("*.npz"))
    assert all("#" in record.path for record in store.records())
    for sample_id, original in before.items():
        loaded = store.read(sample_id)
        assert loaded.metadata == original.metadata
        for name, array in original.arrays.items():
            np.testing.assert_array_equal(loaded.arrays[name], array)
    assert store.read(store.ids()[0], arrays=["micro_doppler"]).arrays.keys() == {"micro_doppler"}
    assert store.verify().ok == 6 and store.verify().clean
    store.put(make_sample(30))  # new samples go loose again, next to packs
    assert store.compact(samples_per_pack=4).packed == 1
    store.close()
    with DatasetStore.open(store.root, mode="a") as reopened:
        recovery = reopened.last_recovery
        assert recovery.removed_packs == [] and recovery.forgotten == []
        assert reopened.verify().ok == 7


def test_compact_killed_before_manifest_update(
    store: DatasetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mmexpert.data.store as store_module

    class SimulatedKillError(Exception):
        pass

    real_fsync_directory = store_module.fsync_directory

    def die_after_pack_rename(path: Path) -> None:
        real_fsync_directory(path)
        if path.name == "packs":
            raise SimulatedKillError

    monkeypatch.setattr(store_module, "fsync_directory", die_after_pack_rename)
    with pytest.raises(SimulatedKillError):
        store.compact(samples_per_pack=10)
    monkeypatch.undo()
    packs = sorted(path.name for path in (store.root / "packs").iterdir())
    assert len(packs) == 1
    store.close()
    with DatasetStore.open(store.root, mode="a") as reopened:
        assert reopened.last_recovery.removed_packs == [f"packs/{packs[0]}"]
        assert reopened.verify().clean and reopened.verify().ok == 6
        assert all("#" not in record.path for record in reopened.records())


def test_compact_killed_before_deleting_loose_files(store: DatasetStore) -> None:
    store.compact(samples_per_pack=10)
    writer = store.file_writer()
    leftovers = [writer(make_sample(index)).path for index in (1, 2)]  # same bytes as packed
    assert sorted(store.verify().orphans) == sorted(leftovers)
    store.close()
    with DatasetStore.open(store.root, mode="a") as reopened:
        assert sorted(reopened.last_recovery.removed_duplicates) == sorted(leftovers)
        report = reopened.verify()
        assert report.clean and report.ok == 6


def test_rebuild_manifest_adopts_packed_samples(store: DatasetStore) -> None:
    store.compact(samples_per_pack=4)
    store.put(make_sample(40))
    ids = sorted(store.ids())
    store.close()
    (store.root / MANIFEST_FILE).unlink()
    with DatasetStore.rebuild_manifest(store.root) as rebuilt:
        assert sorted(rebuilt.last_recovery.adopted) == ids
        assert rebuilt.last_recovery.removed_packs == []
        assert rebuilt.verify().clean and rebuilt.verify().ok == 7


@pytest.mark.parametrize("how", ["flip_array_byte", "truncate"])
def test_damaged_pack_is_reported(store: DatasetStore, how: str) -> None:
    store.compact(samples_per_pack=3)
    first_pack = sorted((store.root / "packs").iterdir())[0]
    _damage(first_pack, how)
    report = store.verify()
    damaged_count = 3 if how == "truncate" else 1  # a flipped byte hits one member
    assert report.ok == 6 - damaged_count
    assert len(report.corrupt) == damaged_count
    damaged = report.corrupt[0][0]
    with pytest.raises(CorruptSampleError, match=damaged):
        store.read(damaged)


def test_read_only_store_opens_from_a_relative_path(
    store: DatasetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a regression: the read-only manifest URI was built from the path as given
    monkeypatch.chdir(store.root.parent)
    reader = DatasetStore.open(store.root.name, mode="r")
    assert len(reader) == 6
    reader.close()
