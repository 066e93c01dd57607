"""Schema, sample type, deterministic keys and checksums for the dataset store.

The schema comes first (as in Hugging Face ``datasets.Features``): a :class:`DatasetSchema`
names every array a sample may hold, with its dtype and shape, and is checked on every write.

Shapes use three kinds of axis:

* ``int``: a fixed length (e.g. 128 Doppler bins);
* ``None``: a free length, independent per array (e.g. the number of points);
* ``str``: a *named* free length that must agree across all arrays of one sample
  (e.g. ``"frames"``, shared by the micro-Doppler, range-time and azimuth-time maps).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import numpy as np

#: Length of the hex keys returned by :func:`sample_key` [characters] (64 bits).
SAMPLE_KEY_HEX_CHARS = 16

Axis = int | str | None


class StoreError(Exception):
    """Base class of every error raised by the dataset store."""


class SchemaError(StoreError):
    """A sample (or a schema definition) does not match the dataset schema."""


class CorruptSampleError(StoreError):
    """A sample file is unreadable or its checksums do not match."""


class ManifestError(StoreError):
    """The manifest (SQLite index) or the store description is missing or corrupt."""


class DuplicateSampleError(StoreError):
    """A sample id is already recorded with different content."""


def _to_jsonable(value: Any) -> Any:
    """Convert ``value`` to plain JSON types (dicts, lists, str, int, float, bool, None).

    Raises
    ------
    TypeError
        For values that have no canonical JSON form (arrays, arbitrary objects).
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        as_float = float(value)
        if not math.isfinite(as_float):
            raise TypeError(f"non-finite float {as_float!r} has no canonical JSON form")
        return as_float
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Mapping):
        converted = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be str, got {type(key).__name__}")
            converted[key] = _to_jsonable(item)
        return converted
    if isinstance(value, list | tuple):
        return [_to_jsonable(item) for item in value]
    if isinstance(value, PurePath):
        return str(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        return _to_jsonable(to_dict())
    model_dump = getattr(value, "model_dump", None)  # pydantic models
    if callable(model_dump) and not isinstance(value, type):
        return _to_jsonable(model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _to_jsonable(dataclasses.asdict(value))
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def canonical_json(value: Any) -> str:
    """Serialise ``value`` as canonical JSON: sorted keys, no spaces, no NaN.

    Dataclasses, pydantic models and objects with ``to_dict()`` (e.g. ``RadarConfig``) are
    converted first; tuples become lists and numpy scalars become Python numbers.

    Parameters
    ----------
    value
        Any JSON-like value.

    Returns
    -------
    str
        The same text for equal values, on every machine and Python run.

    Raises
    ------
    TypeError
        If ``value`` contains something without a JSON form (e.g. a numpy array or NaN).
    """
    return json.dumps(
        _to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def sample_key(*parts: Any, length: int = SAMPLE_KEY_HEX_CHARS) -> str:
    """Deterministic short hex key: sha256 of the canonical JSON of ``parts``.

    The engine derives a sample id as ``sample_key(spec, radar_config, seed, generator_version)``;
    equal inputs give the same id on every run, so a resumed run skips finished samples.

    Parameters
    ----------
    *parts
        JSON-like values (see :func:`canonical_json`); order matters.
    length
        Number of hex characters kept [characters], 8 to 64.

    Returns
    -------
    str
        Lower-case hex string of ``length`` characters.
    """
    if not 8 <= length <= 64:
        raise ValueError(f"sample_key length must be within [8, 64] hex characters, got {length}")
    digest = hashlib.sha256(canonical_json(list(parts)).encode("utf-8")).hexdigest()
    return digest[:length]


def array_checksum(array: np.ndarray) -> str:
    """sha256 over an array's dtype, shape and C-order bytes.

    Parameters
    ----------
    array
        Any numpy array (not object dtype).

    Returns
    -------
    str
        64-character lower-case hex digest.
    """
    contiguous = np.ascontiguousarray(array)
    header = canonical_json({"dtype": contiguous.dtype.str, "shape": list(contiguous.shape)})
    hasher = hashlib.sha256(header.encode("ascii"))
    hasher.update(b"\0")
    hasher.update(memoryview(contiguous).cast("B") if contiguous.size else b"")
    return hasher.hexdigest()


@dataclass(frozen=True)
class ArraySpec:
    """Dtype and shape of one named array of a sample.

    Parameters
    ----------
    dtype
        numpy dtype name, e.g. ``"float32"``, ``"int32"``, ``"complex64"``.
    shape
        One entry per axis: ``int`` fixed length, ``None`` free length, ``str`` a named length
        shared by every array of the sample that uses the same name.
    optional
        If True the array may be absent from a sample (e.g. raw ADC cubes, which are large).
    description
        Free text, e.g. ``"micro-Doppler power [dB], Doppler bins x frames"``.
    finite
        If True, NaN or infinite values are rejected on write (catches ``log(0)`` bugs).
    """

    dtype: str
    shape: tuple[Axis, ...]
    optional: bool = False
    description: str = ""
    finite: bool = False

    def __post_init__(self) -> None:
        try:
            normalised = np.dtype(self.dtype)
        except TypeError as error:
            raise SchemaError(f"ArraySpec dtype {self.dtype!r} is not a numpy dtype") from error
        if normalised.hasobject:
            raise SchemaError("ArraySpec dtype must not be object")
        object.__setattr__(self, "dtype", normalised.name)
        shape = tuple(self.shape)
        for axis in shape:
            if axis is None or isinstance(axis, str):
                continue
            if isinstance(axis, bool) or not isinstance(axis, int) or axis < 0:
                raise SchemaError(f"ArraySpec shape entries must be int >= 0, str or None: {shape}")
        object.__setattr__(self, "shape", shape)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"dtype", "shape", "optional", "description"}``."""
        return {
            "dtype": self.dtype,
            "shape": list(self.shape),
            "optional": self.optional,
            "description": self.description,
            "finite": self.finite,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArraySpec:
        """Inverse of :meth:`to_dict`."""
        return cls(
            dtype=data["dtype"],
            shape=tuple(data["shape"]),
            optional=bool(data.get("optional", False)),
            description=str(data.get("description", "")),
            finite=bool(data.get("finite", False)),
        )


@dataclass(frozen=True)
class DatasetSchema:
    """The arrays every sample holds, the metadata keys it must carry, and a version.

    Parameters
    ----------
    arrays
        Array name -> :class:`ArraySpec`.
    version
        Dataset version string (e.g. ``"1.0.0"``); bump it when the meaning of the data changes.
    required_metadata
        Metadata keys every sample must have (``"activity"`` is used by ``info`` and ``query``).
    """

    arrays: Mapping[str, ArraySpec]
    version: str = "1.0.0"
    required_metadata: tuple[str, ...] = ("activity",)

    def __post_init__(self) -> None:
        if not self.arrays:
            raise SchemaError("DatasetSchema needs at least one array")
        for name, spec in self.arrays.items():
            if not isinstance(spec, ArraySpec):
                raise SchemaError(f"schema array {name!r} must be an ArraySpec, got {spec!r}")
            if not name.isidentifier() or name.startswith("_"):
                raise SchemaError(
                    f"schema array name {name!r} must be a Python identifier not starting with _"
                )
        object.__setattr__(self, "arrays", dict(self.arrays))
        object.__setattr__(self, "required_metadata", tuple(self.required_metadata))

    def validate(self, sample_id: str, arrays: Mapping[str, np.ndarray], metadata: Any) -> None:
        """Check arrays and metadata of one sample against the schema.

        Parameters
        ----------
        sample_id
            Used in error messages only.
        arrays
            Array name -> numpy array.
        metadata
            The sample's JSON metadata (a dict).

        Raises
        ------
        SchemaError
            Naming the sample, the array and what differs (dtype, rank, axis length, a named
            axis that disagrees between arrays, a missing or unknown array, missing metadata).
        """
        unknown = sorted(set(arrays) - set(self.arrays))
        if unknown:
            raise SchemaError(
                f"sample {sample_id}: arrays {unknown} are not in the schema "
                f"(known: {sorted(self.arrays)})"
            )
        named_lengths: dict[str, tuple[int, str]] = {}
        for name, spec in self.arrays.items():
            if name not in arrays:
                if spec.optional:
                    continue
                raise SchemaError(f"sample {sample_id}: required array {name!r} is missing")
            array = arrays[name]
            if not isinstance(array, np.ndarray):
                raise SchemaError(
                    f"sample {sample_id}: array {name!r} must be a numpy array, "
                    f"got {type(array).__name__}"
                )
            if array.dtype != np.dtype(spec.dtype):
                raise SchemaError(
                    f"sample {sample_id}: array {name!r} has dtype {array.dtype}, "
                    f"schema says {spec.dtype}"
                )
            if array.ndim != len(spec.shape):
                raise SchemaError(
                    f"sample {sample_id}: array {name!r} has shape {array.shape} (rank "
                    f"{array.ndim}), schema says {spec.shape} (rank {len(spec.shape)})"
                )
            for axis_index, (length, expected) in enumerate(
                zip(array.shape, spec.shape, strict=True)
            ):
                if isinstance(expected, int) and length != expected:
                    raise SchemaError(
                        f"sample {sample_id}: array {name!r} axis {axis_index} has length "
                        f"{length}, schema says {expected} (shape {array.shape} vs {spec.shape})"
                    )
                if isinstance(expected, str):
                    seen = named_lengths.setdefault(expected, (length, name))
                    if seen[0] != length:
                        raise SchemaError(
                            f"sample {sample_id}: axis {expected!r} has length {length} in "
                            f"array {name!r} but {seen[0]} in array {seen[1]!r}"
                        )
            if spec.finite and array.dtype.kind in "fc" and not np.isfinite(array).all():
                bad = int(array.size - np.count_nonzero(np.isfinite(array)))
                raise SchemaError(
                    f"sample {sample_id}: array {name!r} has {bad} NaN or infinite values "
                    "(schema requires finite values)"
                )
        if not isinstance(metadata, Mapping):
            raise SchemaError(
                f"sample {sample_id}: metadata must be a dict, got {type(metadata).__name__}"
            )
        missing = [key for key in self.required_metadata if key not in metadata]
        if missing:
            raise SchemaError(f"sample {sample_id}: metadata lacks required keys {missing}")

    def to_dict(self) -> dict[str, Any]:
        """JSON form of the schema."""
        return {
            "arrays": {name: spec.to_dict() for name, spec in self.arrays.items()},
            "version": self.version,
            "required_metadata": list(self.required_metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetSchema:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                arrays={name: ArraySpec.from_dict(spec) for name, spec in data["arrays"].items()},
                version=str(data["version"]),
                required_metadata=tuple(data.get("required_metadata", ("activity",))),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise SchemaError(f"malformed schema description: {error!r}") from error


def radar_schema(
    doppler_bins: int = 128,
    range_bins: int = 256,
    angle_bins: int = 128,
    point_features: int = 8,
    version: str = "1.0.0",
) -> DatasetSchema:
    """The schema of mmExpert's simulated radar samples.

    Maps share the time axis ``"frames"`` (one column per radar frame). Point clouds are the
    concatenation of all frames' points, split by ``points_per_frame``. Raw ADC cubes are
    optional because they are large.

    Parameters
    ----------
    doppler_bins, range_bins, angle_bins
        Map heights [bins].
    point_features
        Columns per point (e.g. x, y, z [m], velocity [m/s], SNR, noise, range, azimuth).
    version
        Dataset version string.

    Returns
    -------
    DatasetSchema
        Arrays ``micro_doppler`` float32 [doppler_bins, frames], ``range_time`` float32
        [range_bins, frames], ``azimuth_time`` float32 [angle_bins, frames], ``points``
        float32 [points, point_features] (optional), ``points_per_frame`` int32 [frames]
        (optional), ``adc`` complex64 [frames, loops, tx, rx, samples] (optional).
    """
    return DatasetSchema(
        arrays={
            "micro_doppler": ArraySpec(
                "float32",
                (doppler_bins, "frames"),
                description="micro-Doppler, bins x frames",
                finite=True,
            ),
            "range_time": ArraySpec(
                "float32",
                (range_bins, "frames"),
                description="range-time map, bins x frames",
                finite=True,
            ),
            "azimuth_time": ArraySpec(
                "float32",
                (angle_bins, "frames"),
                description="azimuth-time map, bins x frames",
                finite=True,
            ),
            "points": ArraySpec(
                "float32",
                (None, point_features),
                optional=True,
                description="all points",
                finite=True,
            ),
            "points_per_frame": ArraySpec(
                "int32", ("frames",), optional=True, description="points per frame"
            ),
            "adc": ArraySpec(
                "complex64",
                (None, None, None, None, None),
                optional=True,
                description="raw ADC cube [frames, loops, tx, rx, samples]",
            ),
        },
        version=version,
    )


@dataclass
class Sample:
    """One stored sample: named arrays plus JSON metadata.

    Parameters
    ----------
    sample_id
        Deterministic key (see :func:`sample_key`); hex characters only.
    arrays
        Array name -> numpy array, as declared in the store's :class:`DatasetSchema`.
    metadata
        JSON-like dict: ``activity``, ``captions``, ``qa``, ``motion_program``, ``subject``,
        ``placement``, ``radar_config``, ``radar_config_hash``, ``seeds``, ``software_version``...
    """

    sample_id: str
    arrays: dict[str, np.ndarray]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def activity(self) -> str | None:
        """The sample's activity label, if its metadata has one."""
        value = self.metadata.get("activity")
        return None if value is None else str(value)
