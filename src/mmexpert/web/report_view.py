"""Read-only views of recipe run folders: ``report.md``, ``results.json`` and the PNGs.

A run folder of :func:`~mmexpert.flywheel.recipe.run_recipe` holds ``report.md`` (Markdown
that links its figures by bare file name), ``results.json`` and the figures
(``training_curve.png``, ``confusion_synthetic.png``, ``confusion_real.png``). The page
renders the Markdown itself (as DOM text, never as HTML) and loads the figures from
:func:`data_file`, which serves only a few plain file types from inside the data folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmexpert.web.catalog import CatalogError
from mmexpert.web.safety import DataRoot, PathRefusedError

REPORT_NAME = "report.md"
RESULTS_NAME = "results.json"
MAX_TEXT_BYTES = 2_000_000
SERVED_TYPES = {  # suffix -> media type; nothing that a browser would run
    ".png": "image/png",
    ".md": "text/markdown; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".log": "text/plain; charset=utf-8",
}


def _read_text(path: Path) -> str:
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise CatalogError(f"{path.name} is larger than {MAX_TEXT_BYTES} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogError(f"{path.name} is not readable text: {error}") from None


def run_report(data: DataRoot, relative: str) -> dict[str, Any]:
    """A run folder's report: the Markdown text, the figures, and the parsed results.

    Parameters
    ----------
    data
        The data folder.
    relative
        The run folder (or its ``report.md``), relative to the data folder.

    Returns
    -------
    dict
        ``path`` (the folder), ``markdown``, ``images`` (data-relative PNG paths beside the
        report), ``results`` (``results.json`` as an object, or None).

    Raises
    ------
    CatalogError
        If the folder holds no ``report.md``.
    PathRefusedError
        For a path outside the data folder.
    """
    folder = data.resolve(relative)
    if folder.is_file() and folder.name == REPORT_NAME:
        folder = folder.parent
    report = folder / REPORT_NAME
    if not report.is_file() or not data.contains(report):
        raise CatalogError(f"{relative!r} holds no {REPORT_NAME} (the run has not finished)")
    results = None
    results_path = folder / RESULTS_NAME
    if results_path.is_file() and data.contains(results_path):
        try:
            results = json.loads(_read_text(results_path))
        except (CatalogError, json.JSONDecodeError):
            results = None
    images = [
        data.relative(path)
        for path in sorted(folder.glob("*.png"))
        if path.is_file() and data.contains(path)
    ]
    return {
        "path": data.relative(folder),
        "markdown": _read_text(report),
        "images": images,
        "results": results,
    }


def data_file(data: DataRoot, relative: str) -> tuple[Path, str]:
    """A plain file of the data folder to send as it is (figures, reports, JSON, logs).

    Returns
    -------
    path : Path
        The resolved file.
    media_type : str
        Its HTTP media type.

    Raises
    ------
    CatalogError
        For a folder, or a file too large to be text.
    PathRefusedError
        For a type not served (see :data:`SERVED_TYPES`), a path outside the data folder
        or a missing one.
    """
    path = data.resolve(relative)
    media_type = SERVED_TYPES.get(path.suffix.lower())
    if media_type is None:
        raise PathRefusedError(
            f"{relative!r}: only {', '.join(sorted(SERVED_TYPES))} files are served"
        )
    if not path.is_file():
        raise CatalogError(f"{relative!r} is not a file")
    if path.suffix.lower() != ".png" and path.stat().st_size > MAX_TEXT_BYTES:
        raise CatalogError(f"{path.name} is larger than {MAX_TEXT_BYTES} bytes")
    return path, media_type
