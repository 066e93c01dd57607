"""Read-only views of flywheel run folders from their saved JSON.

A flywheel run folder holds ``flywheel.json`` (configuration, classes, one summary line per
round, why it stopped) and ``round_XX/state.json`` per round (phases, evaluations with
confusion matrices, analysis, revisions). These files are read as plain JSON, so a folder
written by any version of the flywheel shows what it has; nothing here imports or runs
the flywheel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmexpert.web.catalog import CatalogError, walk_data
from mmexpert.web.safety import DataRoot

INDEX_NAME = "flywheel.json"
ROUND_STATE = "state.json"
MAX_JSON_BYTES = 20_000_000


def _read_json(path: Path) -> Any:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise CatalogError(f"{path.name} is larger than {MAX_JSON_BYTES} bytes")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CatalogError(f"{path.name} is not readable JSON: {error}") from None


def find_flywheel_runs(data: DataRoot) -> list[str]:
    """Folders below the data folder that hold a ``flywheel.json``, relative paths."""
    return [
        data.relative(folder)
        for folder, _, filenames in walk_data(data.root)
        if INDEX_NAME in filenames and not (folder / INDEX_NAME).is_symlink()
    ]


def _evaluation(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    keys = ("accuracy", "macro_f1", "per_class", "confusion", "classes", "count")
    return {key: value.get(key) for key in keys}


def flywheel_view(data: DataRoot, relative: str) -> dict[str, Any]:
    """One flywheel run: its index, and per round the accuracies, confusion matrices,
    weak classes, confused pairs and revisions.

    Returns
    -------
    dict
        ``path``, ``config``, ``classes``, ``stop_reason``, ``best_round``, ``rounds``
        (each: ``round``, ``phases``, ``samples_new``, ``samples_total``,
        ``synthetic``/``real`` evaluations or None, ``weak``, ``confused``, ``revisions``).

    Raises
    ------
    CatalogError
        If the folder holds no readable ``flywheel.json``.
    """
    folder = data.resolve(relative)
    index_path = folder / INDEX_NAME
    if not index_path.is_file():
        raise CatalogError(f"{relative!r} holds no {INDEX_NAME}")
    index = _read_json(index_path)
    if not isinstance(index, dict):
        raise CatalogError(f"{INDEX_NAME} of {relative!r} is not an object")
    summaries = {
        int(line["round"]): line
        for line in index.get("rounds") or []
        if isinstance(line, dict) and "round" in line
    }
    rounds = []
    for state_path in sorted(folder.glob(f"round_*/{ROUND_STATE}")):
        if not data.contains(state_path):
            continue
        try:
            state = _read_json(state_path)
        except CatalogError:
            continue
        number = int(state.get("round", len(rounds)))
        summary = summaries.get(number, {})
        analysis = state.get("analysis") or {}
        rounds.append(
            {
                "round": number,
                "phases": state.get("phases") or summary.get("phases") or [],
                "samples_new": summary.get("samples_new", len(state.get("sample_ids") or [])),
                "samples_total": summary.get("samples_total", state.get("train_ids")),
                "synthetic": _evaluation(state.get("synthetic")),
                "real": _evaluation(state.get("real")),
                "real_error": state.get("real_error"),
                "weak": analysis.get("weak") or [],
                "confused": analysis.get("confused") or [],
                "revisions": state.get("revisions") or [],
                "timings_s": state.get("timings_s") or {},
            }
        )
    known = {entry["round"] for entry in rounds}
    for number, summary in sorted(summaries.items()):  # rounds whose state file is missing
        if number not in known:
            rounds.append(
                {
                    "round": number,
                    "phases": summary.get("phases") or [],
                    "samples_new": summary.get("samples_new"),
                    "samples_total": summary.get("samples_total"),
                    "synthetic": {"accuracy": summary.get("synthetic_accuracy")},
                    "real": {"accuracy": summary.get("real_accuracy")},
                    "real_error": None,
                    "weak": [],
                    "confused": [],
                    "revisions": [],
                    "timings_s": {},
                }
            )
    rounds.sort(key=lambda entry: entry["round"])
    return {
        "path": data.relative(folder),
        "config": index.get("config") or {},
        "classes": index.get("classes") or [],
        "stop_reason": index.get("stop_reason"),
        "best_round": index.get("best_round"),
        "rounds": rounds,
    }
