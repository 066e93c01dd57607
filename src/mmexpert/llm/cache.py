"""Response cache: a SQLite file keyed by (backend, model, messages, parameters).

A rerun with the same requests is answered from the file: identical text, no model time.
:class:`CachedBackend` wraps any backend in one of three modes:

``"readwrite"``
    answer from the cache when present, otherwise ask the backend and store the answer;
``"replay"``
    answer only from the cache; a missing entry raises :class:`~mmexpert.llm.errors.CacheMiss`
    naming the request (use it to rerun a pipeline exactly, with no model at all);
``"off"``
    pass every request through.

Each entry is written in one SQLite transaction (atomic; WAL journal, so several processes
may share one file).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from mmexpert.llm.base import GenerationParams, LLMBackend, Message, Reply, as_messages
from mmexpert.llm.errors import CacheMiss, LLMRequestError

CacheMode = Literal["readwrite", "replay", "off"]
CACHE_MODES: tuple[str, ...] = ("readwrite", "replay", "off")
_SCHEMA_VERSION = 1  # part of every key: bump when the key layout changes


def request_key(kind: str, backend: str, model_id: str, payload: dict[str, Any]) -> str:
    """Deterministic SHA-256 hex key of a request.

    Parameters
    ----------
    kind : str
        ``"chat"`` or ``"score"``.
    backend, model_id : str
        Registry name of the backend and its model identifier.
    payload : dict
        JSON-serializable request content (messages, parameters or choices).
    """
    canonical = json.dumps(
        {"v": _SCHEMA_VERSION, "kind": kind, "backend": backend, "model": model_id, **payload},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """A SQLite file of past responses.

    Parameters
    ----------
    path : str or Path
        The database file; its folder is created if needed.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " key TEXT PRIMARY KEY, kind TEXT NOT NULL, backend TEXT NOT NULL,"
                " model TEXT NOT NULL, request TEXT NOT NULL, response TEXT NOT NULL,"
                " created_s REAL NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        # One short-lived connection per operation: safe across threads and processes.
        return sqlite3.connect(self.path, timeout=30.0)

    def get(self, key: str) -> Any | None:
        """The stored response (decoded JSON) for ``key``, or ``None``."""
        with self._lock, self._connect() as connection:
            row = connection.execute(
                "SELECT response FROM responses WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(
        self, key: str, kind: str, backend: str, model_id: str, request: Any, response: Any
    ) -> None:
        """Store one response (replacing any entry with the same key)."""
        with self._lock, self._connect() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    kind,
                    backend,
                    model_id,
                    json.dumps(request, ensure_ascii=False, sort_keys=True),
                    json.dumps(response, ensure_ascii=False),
                    time.time(),
                ),
            )

    def __len__(self) -> int:
        with self._lock, self._connect() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM responses").fetchone()[0])


class CachedBackend(LLMBackend):
    """Wraps a backend with a :class:`ResponseCache`.

    Parameters
    ----------
    backend : LLMBackend
        The backend that answers on a cache miss (never called in ``"replay"`` mode).
    cache : ResponseCache or str or Path
        The cache, or the path of its SQLite file.
    mode : {"readwrite", "replay", "off"}
        See the module docstring.

    Attributes
    ----------
    hits, misses : int
        Counters of requests answered from the cache and passed to the backend.
    """

    def __init__(
        self, backend: LLMBackend, cache: ResponseCache | str | Path, mode: CacheMode = "readwrite"
    ) -> None:
        if mode not in CACHE_MODES:
            raise LLMRequestError(f"cache mode must be one of {CACHE_MODES}, got {mode!r}")
        self.backend = backend
        self.cache = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
        self.mode = mode
        self.name = backend.name
        self.hits = 0
        self.misses = 0

    @property
    def model_id(self) -> str:
        return self.backend.model_id

    @property
    def supports_scoring(self) -> bool:
        return self.backend.supports_scoring

    @property
    def supports_prefill(self) -> bool:  # type: ignore[override]
        return self.backend.supports_prefill

    def _lookup(self, kind: str, payload: dict[str, Any], describe: str) -> tuple[str, Any]:
        key = request_key(kind, self.backend.name, self.model_id, payload)
        if self.mode == "off":
            return key, None
        stored = self.cache.get(key)
        if stored is None and self.mode == "replay":
            raise CacheMiss(
                f"replay mode: no cached {kind} response for backend {self.backend.name!r}, "
                f"model {self.model_id!r}, key {key[:16]}, request {describe} "
                f"(cache {self.cache.path})"
            )
        return key, stored

    def _generate(self, messages: list[Message], params: GenerationParams) -> Reply:
        request = {
            "messages": [m.model_dump() for m in messages],
            "params": params.model_dump(mode="json"),
        }
        key, stored = self._lookup("chat", request, _describe_messages(messages))
        if stored is not None:
            self.hits += 1
            return Reply(**stored)
        self.misses += 1
        reply = self.backend.generate(messages, params)
        if self.mode == "readwrite":
            self.cache.put(key, "chat", self.backend.name, self.model_id, request, reply.__dict__)
        return reply

    def score_choices(
        self, messages: Sequence[Message | dict], choices: Sequence[str], complete: bool = False
    ) -> list[float]:
        checked = as_messages(messages)
        request = {
            "messages": [m.model_dump() for m in checked],
            "choices": list(choices),
            "complete": complete,
        }
        key, stored = self._lookup(
            "score", request, f"{_describe_messages(checked)} choices={list(choices)[:5]}"
        )
        if stored is not None:
            self.hits += 1
            return [float(s) for s in stored]
        self.misses += 1
        scores = self.backend.score_choices(checked, choices, complete=complete)
        if self.mode == "readwrite":
            self.cache.put(key, "score", self.backend.name, self.model_id, request, scores)
        return scores


def _describe_messages(messages: list[Message]) -> str:
    last = messages[-1]
    excerpt = last.content if len(last.content) <= 80 else last.content[:80] + "..."
    return f"({len(messages)} messages, last {last.role}: {excerpt!r})"
