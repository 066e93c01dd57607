"""Turn one simulated capture into one stored dataset sample.

:func:`make_sample` maps :class:`~mmexpert.data.products.SimulationProducts` onto the store
schema (:func:`~mmexpert.data.store_schema.radar_schema`) and attaches everything needed to
reproduce and audit the sample: the spec's texts, the motion program, the radar config and
its hash, the seeds, the software version and a hash of the generator's source code.

The sample metadata holds no wall-clock times, so regenerating a sample gives a byte-identical
file (a resumed run then meets the same bytes an interrupted worker already wrote); run
timings live in the engine's :class:`~mmexpert.data.engine.GenerationReport`.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

import mmexpert
from mmexpert.data.products import SimulationProducts
from mmexpert.data.store_schema import Sample, canonical_json, radar_schema, sample_key
from mmexpert.plan.spec import SampleSpec
from mmexpert.radar.config import RadarConfig

#: Columns of the stored point array ``points`` float32 [N, 8], SI units. The frame of each
#: point is also implied by ``points_per_frame``; keeping it as a column makes a flat point
#: table self-contained.
POINT_COLUMNS = ("x", "y", "z", "velocity", "intensity", "range", "bearing", "frame")
"""x, y, z [m] (radar local frame), radial velocity [m/s], SNR [dB], range [m],
bearing (azimuth) [rad], frame index."""

#: The map views stored per sample (all in dB, [bins, frames]).
MAP_VIEWS = ("micro_doppler", "range_time", "azimuth_time")

#: Source trees whose code determines a sample's content (relative to the package).
GENERATOR_SOURCES = (
    "radar",
    "dsp",
    "motion",
    "body",
    "data/simulation.py",
    "data/products.py",
    "data/samples.py",
)


class SampleBuildError(ValueError):
    """Simulation products do not fit the dataset schema (wrong map sizes, non-finite dB)."""


def code_without_notes(source: str) -> str:
    """``source`` without its comments, docstrings and blank lines, trailing spaces stripped.

    Only the code is kept, so editing a comment or a docstring leaves
    :func:`generator_code_hash` (and with it every sample id) as it was. The spans are found
    with :mod:`tokenize` (comments) and :mod:`ast` (docstrings) but the result is a
    selection of the source text itself, so it does not depend on the Python version.
    """
    import ast
    import io
    import tokenize

    lines = [line.rstrip("\r") for line in source.split("\n")]  # as tokenize and ast count

    def column(line: int, byte_offset: int) -> int:  # ast counts UTF-8 bytes, we characters
        return len(lines[line - 1].encode("utf-8")[:byte_offset].decode("utf-8"))

    drop: list[tuple[int, int, int, int]] = []  # (start line, col, end line, col), 1-based
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            drop.append((*token.start, *token.end))
    owners = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, owners) and ast.get_docstring(node, clean=False) is not None:
            doc = node.body[0]
            drop.append(
                (
                    doc.lineno,
                    column(doc.lineno, doc.col_offset),
                    doc.end_lineno,
                    column(doc.end_lineno, doc.end_col_offset),
                )
            )
    for start_line, start_col, end_line, end_col in sorted(drop, reverse=True):
        head, tail = lines[start_line - 1][:start_col], lines[end_line - 1][end_col:]
        lines[start_line - 1 : end_line] = [head + tail]
    return "\n".join(line.rstrip() for line in lines if line.strip())


@functools.cache
def generator_code_hash() -> str:
    """sha256 over the Python sources that shape a sample (computed once per process).

    Covers every ``.py`` file under ``radar/``, ``dsp/``, ``motion/``, ``body/`` and the
    simulation, products and sample modules, in sorted path order: the path and the code
    without comments and docstrings (:func:`code_without_notes`).

    Returns
    -------
    str
        16-character hex digest; it changes whenever the generator's code changes, not when
        only a comment or a docstring does.
    """
    package_root = Path(mmexpert.__file__).resolve().parent
    files: list[Path] = []
    for entry in GENERATOR_SOURCES:
        path = package_root / entry
        if path.is_dir():
            files.extend(sorted(path.rglob("*.py")))
        elif path.exists():
            files.append(path)
    hasher = hashlib.sha256()
    for path in sorted(files):
        hasher.update(path.relative_to(package_root).as_posix().encode("utf-8"))
        hasher.update(b"\0")
        hasher.update(code_without_notes(path.read_text(encoding="utf-8")).encode("utf-8"))
        hasher.update(b"\0")
    return hasher.hexdigest()[:16]


def radar_config_hash(radar: RadarConfig) -> str:
    """16-character sha256 key of a radar config's canonical JSON."""
    return sample_key(radar.to_dict())


def generator_identity(options: dict[str, Any] | None = None) -> dict[str, Any]:
    """What, besides spec and radar, decides a sample's content (part of its id).

    Parameters
    ----------
    options
        Engine options that change the output (e.g. ``num_frames``, ``keep_adc``).

    Returns
    -------
    dict
        ``software_version``, ``generator_code_hash`` and ``options``.
    """
    return {
        "software_version": mmexpert.__version__,
        "generator_code_hash": generator_code_hash(),
        "options": dict(options or {}),
    }


def spec_sample_id(
    spec: SampleSpec, radar: RadarConfig, options: dict[str, Any] | None = None
) -> str:
    """The deterministic sample id of ``spec`` simulated with ``radar``.

    ``sample_key(spec, radar config, seed, generator identity)``: equal inputs give the same
    id in every process and on every machine, so a resumed run skips finished samples.
    """
    return sample_key(
        spec.model_dump(mode="json"), radar.to_dict(), spec.seed, generator_identity(options)
    )


def points_table(products: SimulationProducts) -> np.ndarray:
    """The capture's points as float32 [N, 8] with columns :data:`POINT_COLUMNS`."""
    points = products.points
    table = np.empty((len(points), len(POINT_COLUMNS)), dtype=np.float32)
    for column, name in enumerate(POINT_COLUMNS):
        table[:, column] = points[name]
    return table


def make_sample(
    spec: SampleSpec,
    radar: RadarConfig,
    products: SimulationProducts,
    version: str | None = None,
    options: dict[str, Any] | None = None,
    schema_version: str = "1.0.0",
) -> Sample:
    """Build the stored :class:`~mmexpert.data.store_schema.Sample` of one simulated spec.

    Parameters
    ----------
    spec
        The planner's spec that was simulated.
    radar
        The radar as given to the engine (before mounting; its config is stored).
    products
        Output of :func:`~mmexpert.data.simulation.simulate_person` processed with
        ``ProcessingChain(MMEXPERT_VIEWS)``.
    version
        Software version recorded in the metadata; default ``mmexpert.__version__``.
    options
        Engine options that changed the output (stored and part of the id).
    schema_version
        Dataset schema version the maps are checked against.

    Returns
    -------
    Sample
        Arrays ``micro_doppler`` float32 [128, frames] [dB], ``range_time`` float32
        [256, frames] [dB], ``azimuth_time`` float32 [128, frames] [dB], ``points`` float32
        [N, 8] (:data:`POINT_COLUMNS`), ``points_per_frame`` int32 [frames], and ``adc``
        complex64 [frames, loops, tx, rx, samples] [V] if the products kept it.

    Raises
    ------
    SampleBuildError
        If a map's height differs from the schema (a chain without ``MMEXPERT_VIEWS``) or
        holds non-finite values.
    """
    schema = radar_schema(version=schema_version)
    arrays: dict[str, np.ndarray] = {}
    for view in MAP_VIEWS:
        values = np.ascontiguousarray(products.maps_db[view], dtype=np.float32)
        expected_bins = schema.arrays[view].shape[0]
        if values.ndim != 2 or values.shape[0] != expected_bins:
            raise SampleBuildError(
                f"{view} map has shape {values.shape}, the dataset schema needs "
                f"[{expected_bins}, frames]; simulate with ProcessingChain(MMEXPERT_VIEWS)"
            )
        if not np.isfinite(values).all():
            raise SampleBuildError(f"{view} map holds non-finite dB values")
        arrays[view] = values
    arrays["points"] = points_table(products)
    arrays["points_per_frame"] = products.points_per_frame.astype(np.int32)
    if products.adc is not None:
        arrays["adc"] = np.ascontiguousarray(products.adc, dtype=np.complex64)

    program = spec.program.model_dump(mode="json")
    num_frames = int(arrays["micro_doppler"].shape[1])
    frame_period_s = 1.0 / radar.frame_rate_hz
    identity = generator_identity(options)
    metadata: dict[str, Any] = {
        "activity": spec.activity,
        "description": spec.description,
        "captions": list(spec.captions),
        "qa": [pair.model_dump(mode="json") for pair in spec.qa],
        "tags": list(spec.tags),
        "motion_program": program,
        "subject": program["subject"],
        "placement": program["placement"],
        "scene": {
            **spec.scene.model_dump(mode="json"),
            "walls": products.metadata.get("walls"),
            "furniture": products.metadata.get("furniture"),
        },
        "radar_config": radar.to_dict(),
        "radar_config_hash": radar_config_hash(radar),
        "seeds": {"spec": spec.seed, "motion": spec.seed, "noise": spec.seed},
        "software_version": version or identity["software_version"],
        "generator_code_hash": identity["generator_code_hash"],
        "generator_options": identity["options"],
        "timing": {
            "num_frames": num_frames,
            "frame_rate_hz": radar.frame_rate_hz,
            "duration_s": num_frames * frame_period_s,
            "program_duration_s": float(sum(spec.program.durations_s())),
        },
        "views_db": list(MAP_VIEWS),
        "axes": {
            name: [float(axis[0]), float(axis[-1]), len(axis)]
            for name, axis in products.axes.items()
            if len(axis)
        },
        "point_columns": list(POINT_COLUMNS),
        "num_points": len(products.points),
        "visible_fraction": products.metadata.get("visible_fraction"),
        "noise_power_w": products.metadata.get("noise_power_w"),
    }
    # Round-trip through canonical JSON: numpy scalars become plain numbers once, here.
    metadata = _json_roundtrip(metadata)
    sample_id = spec_sample_id(spec, radar, options)
    return Sample(sample_id=sample_id, arrays=arrays, metadata=metadata)


def _json_roundtrip(value: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(canonical_json(value))
