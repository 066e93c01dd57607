"""The registry of LLM backends and a factory that optionally adds the response cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmexpert.llm.base import LLMBackend
from mmexpert.llm.cache import CachedBackend, CacheMode
from mmexpert.llm.errors import BackendUnavailableError
from mmexpert.llm.local import LocalBackend
from mmexpert.llm.openai_compat import OpenAIBackend
from mmexpert.llm.scripted import EchoBackend, ScriptedBackend

BACKENDS: dict[str, type[LLMBackend]] = {
    "local": LocalBackend,  # SmolLM2-135M-Instruct, embedded, offline (the default)
    "openai": OpenAIBackend,  # any OpenAI-compatible server
    "scripted": ScriptedBackend,  # pre-written replies (dry runs, tests)
    "echo": EchoBackend,  # repeats the last user turn (plumbing checks)
}
DEFAULT_BACKEND = "local"


def list_backends() -> list[str]:
    """Names of the registered backends."""
    return sorted(BACKENDS)


def make_backend(
    name: str = DEFAULT_BACKEND,
    cache: str | Path | None = None,
    cache_mode: CacheMode = "readwrite",
    **options: Any,
) -> LLMBackend:
    """Build a backend by registry name, optionally wrapped in a response cache.

    Parameters
    ----------
    name : str
        A key of :data:`BACKENDS`.
    cache : str or Path, optional
        SQLite file of the response cache; ``None`` means no cache.
    cache_mode : {"readwrite", "replay", "off"}
        See :class:`~mmexpert.llm.cache.CachedBackend`.
    **options
        Passed to the backend class (e.g. ``base_url=``, ``model=`` for ``"openai"``;
        ``gguf_path=``, ``num_threads=`` for ``"local"``).

    Returns
    -------
    LLMBackend
        Loaded lazily: the local model is read on its first request.
    """
    if name not in BACKENDS:
        raise BackendUnavailableError(
            f"unknown LLM backend {name!r}; registered: {', '.join(list_backends())}"
        )
    backend = BACKENDS[name](**options)
    if cache is None:
        return backend
    return CachedBackend(backend, cache, mode=cache_mode)
