"""Sample files: the self-describing, atomically written unit of the dataset store.

One sample is one uncompressed ``.npz`` holding its arrays plus a ``_record`` entry (canonical
JSON: sample id, schema version, per-array sha256, metadata), so any file can be checked and
re-indexed without the manifest. :class:`SampleFileWriter` writes them from worker processes
(tmp file + fsync + rename + folder fsync); :func:`decode_sample` reads and checks them and
raises only :class:`~mmexpert.data.store_schema.CorruptSampleError` on bad bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmexpert.data.store_schema import (
    CorruptSampleError,
    DatasetSchema,
    DuplicateSampleError,
    Sample,
    SchemaError,
    StoreError,
    array_checksum,
    canonical_json,
)

SHARDS_DIR = "shards"
PACKS_DIR = "packs"
PACK_SUFFIX = ".zip"
PACK_MEMBER_SEPARATOR = "#"
RECORD_ENTRY = "_record"
SAMPLE_SUFFIX = ".npz"
TMP_SUFFIX = ".tmp"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps keep files reproducible
_SAMPLE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


@dataclass(frozen=True)
class SampleRecord:
    """What the manifest holds about one sample file (picklable: workers return it).

    Parameters
    ----------
    sample_id
        The sample's key.
    path
        File path relative to the store root, POSIX separators.
    file_sha256
        sha256 of the whole file [hex].
    nbytes
        File size [bytes].
    checksums
        Array name -> :func:`~mmexpert.data.store_schema.array_checksum` [hex].
    metadata
        The sample's JSON metadata.
    """

    sample_id: str
    path: str
    file_sha256: str
    nbytes: int
    checksums: dict[str, str]
    metadata: dict[str, Any]

    @property
    def activity(self) -> str | None:
        """The sample's activity label, if any."""
        value = self.metadata.get("activity")
        return None if value is None else str(value)


def _check_sample_id(sample_id: Any) -> str:
    if not isinstance(sample_id, str) or not _SAMPLE_ID_PATTERN.match(sample_id):
        raise StoreError(
            f"sample id {sample_id!r} must be 1-128 characters of [A-Za-z0-9_-] "
            "starting with a letter or digit (use sample_key(...) to derive one)"
        )
    return sample_id


def sample_relative_path(sample_id: str) -> str:
    """Where a sample's file lives, relative to the store root: ``shards/<id[:2]>/<id>.npz``."""
    _check_sample_id(sample_id)
    return f"{SHARDS_DIR}/{sample_id[:2]}/{sample_id}{SAMPLE_SUFFIX}"


def pack_location(path: str) -> tuple[str, str | None]:
    """Split a manifest path into (file relative to the root, pack member or None)."""
    file_part, separator, member = path.partition(PACK_MEMBER_SEPARATOR)
    return file_part, (member if separator else None)


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` via tmp file + fsync + rename + directory fsync."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.parent / f".{path.name}.{os.getpid()}{TMP_SUFFIX}"
    with open(tmp_path, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp_path, path)
    fsync_directory(path.parent)


def encode_sample(sample: Sample, schema: DatasetSchema) -> tuple[bytes, dict[str, str]]:
    """Validate ``sample`` and serialise it as an uncompressed .npz.

    Parameters
    ----------
    sample
        The sample to encode.
    schema
        The store's schema.

    Returns
    -------
    payload : bytes
        The whole file content.
    checksums : dict[str, str]
        Array name -> sha256 [hex].

    Raises
    ------
    SchemaError
        If the arrays or the metadata do not match ``schema`` or the metadata is not JSON.
    """
    _check_sample_id(sample.sample_id)
    schema.validate(sample.sample_id, sample.arrays, sample.metadata)
    try:
        metadata = json.loads(canonical_json(sample.metadata))
    except TypeError as error:
        raise SchemaError(
            f"sample {sample.sample_id}: metadata is not JSON-serialisable: {error}"
        ) from error
    arrays = {name: np.ascontiguousarray(array) for name, array in sample.arrays.items()}
    checksums = {name: array_checksum(array) for name, array in arrays.items()}
    record = {
        "sample_id": sample.sample_id,
        "schema_version": schema.version,
        "checksums": checksums,
        "metadata": metadata,
    }
    record_bytes = np.frombuffer(canonical_json(record).encode("utf-8"), dtype=np.uint8)
    return _npz_bytes({**arrays, RECORD_ENTRY: record_bytes}), checksums


def _npz_bytes(entries: Mapping[str, np.ndarray]) -> bytes:
    """An uncompressed .npz that ``np.load`` reads, byte-for-byte reproducible.

    Members are written in sorted name order (so the order of a sample's array dict does not
    matter) with an explicit fixed date, rather than relying on ``zipfile``'s default.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, entries[name], allow_pickle=False)
    return buffer.getvalue()


def decode_sample(
    payload: bytes | Path,
    schema: DatasetSchema,
    expected_id: str | None = None,
    expected_checksums: Mapping[str, str] | None = None,
    arrays: Sequence[str] | None = None,
    verify_checksums: bool = True,
) -> tuple[Sample, dict[str, str]]:
    """Parse and check one sample file.

    Parameters
    ----------
    payload
        File content, or a path to read.
    schema
        The store's schema (every array read is checked against it).
    expected_id
        If given, the id the file must carry.
    expected_checksums
        If given (from the manifest), the per-array checksums the file must match.
    arrays
        Names of arrays to load; all by default. Checksums are verified for loaded arrays only.
    verify_checksums
        If False, skip the per-array sha256 (the zip CRC-32 is still checked on read).

    Returns
    -------
    sample : Sample
        The decoded sample.
    checksums : dict[str, str]
        The checksums stored inside the file.

    Raises
    ------
    CorruptSampleError
        If the file is not a readable .npz (truncated, not a zip, bad CRC), lacks its record,
        carries another id, or any checksum or schema check fails. Never another exception type.
    """
    label = expected_id or (str(payload) if isinstance(payload, Path) else "<bytes>")
    try:
        source = payload if isinstance(payload, Path) else io.BytesIO(payload)
        with np.load(source, allow_pickle=False) as archive:
            if RECORD_ENTRY not in archive.files:
                raise CorruptSampleError(f"sample {label}: file has no {RECORD_ENTRY} entry")
            record = json.loads(archive[RECORD_ENTRY].tobytes().decode("utf-8"))
            sample_id = record["sample_id"]
            stored_checksums = dict(record["checksums"])
            wanted = list(stored_checksums) if arrays is None else list(arrays)
            loaded = {}
            for name in wanted:
                if name not in stored_checksums:
                    raise CorruptSampleError(f"sample {label}: array {name!r} is not in the file")
                loaded[name] = archive[name]
    except CorruptSampleError:
        raise
    except Exception as error:  # zipfile, zlib, numpy and json raise many types on bad bytes
        raise CorruptSampleError(
            f"sample {label}: unreadable file ({type(error).__name__}: {error})"
        ) from error
    if expected_id is not None and sample_id != expected_id:
        raise CorruptSampleError(f"sample {label}: file carries sample id {sample_id!r}")
    if expected_checksums is not None and dict(expected_checksums) != stored_checksums:
        raise CorruptSampleError(f"sample {label}: checksums in the file differ from the manifest")
    for name, array in loaded.items():
        if verify_checksums and array_checksum(array) != stored_checksums[name]:
            raise CorruptSampleError(f"sample {label}: array {name!r} fails its sha256 checksum")
    sample = Sample(sample_id=sample_id, arrays=loaded, metadata=record["metadata"])
    if arrays is None:
        try:
            schema.validate(sample_id, loaded, sample.metadata)
        except SchemaError as error:
            raise CorruptSampleError(f"stored file violates the schema: {error}") from error
    return sample, stored_checksums


class SampleFileWriter:
    """Writes complete sample files atomically; safe to use from many worker processes.

    Constructed once per worker with the store folder and schema, called once per sample.
    It touches no manifest: return the :class:`SampleRecord` to the parent, which calls
    :meth:`DatasetStore.record`.

    Parameters
    ----------
    root
        Store folder.
    schema
        The store's schema (``DatasetStore.schema``).
    """

    def __init__(self, root: str | os.PathLike[str], schema: DatasetSchema) -> None:
        self.root = Path(root)
        self.schema = schema

    def __call__(self, sample: Sample) -> SampleRecord:
        """Validate, encode and atomically write ``sample``; return its record.

        If the file already exists (a finished but unrecorded sample), it is left alone when
        its content is identical and rejected with :class:`DuplicateSampleError` otherwise.
        """
        payload, checksums = encode_sample(sample, self.schema)
        relative = sample_relative_path(sample.sample_id)
        final_path = self.root / relative
        file_sha256 = hashlib.sha256(payload).hexdigest()
        if final_path.exists():
            existing = hashlib.sha256(final_path.read_bytes()).hexdigest()
            if existing != file_sha256:
                raise DuplicateSampleError(
                    f"sample {sample.sample_id}: a different file already exists at {relative}"
                )
        else:
            atomic_write_bytes(final_path, payload)
        metadata = json.loads(canonical_json(sample.metadata))
        return SampleRecord(
            sample_id=sample.sample_id,
            path=relative,
            file_sha256=file_sha256,
            nbytes=len(payload),
            checksums=checksums,
            metadata=metadata,
        )
