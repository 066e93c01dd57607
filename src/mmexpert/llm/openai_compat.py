"""Backend for any OpenAI-compatible chat server: OpenAI, vLLM, Ollama, llama.cpp server,
or ``mmexpert llm serve``.

Configuration comes from :class:`OpenAIConfig` or the environment
(:meth:`OpenAIConfig.from_env`):

``MMEXPERT_LLM_BASE_URL`` (else ``OPENAI_BASE_URL``)
    e.g. ``http://127.0.0.1:8000/v1``; default ``https://api.openai.com/v1``.
``MMEXPERT_LLM_MODEL``
    model name sent with each request.
``MMEXPERT_LLM_API_KEY`` (else ``OPENAI_API_KEY``)
    bearer token; optional for local servers.

Transient failures (HTTP 429, 500, 502, 503, 504, connection errors and timeouts) are
retried with exponential backoff, honouring ``Retry-After``, a bounded number of times;
other failures raise :class:`~mmexpert.llm.errors.LLMHTTPError` with the status and an
excerpt of the body.

Log-likelihood scoring uses the legacy ``/v1/completions`` endpoint with ``echo`` and
``logprobs`` (vLLM and ``mmexpert llm serve`` support it; OpenAI's hosted models do not).
The client must then render the chat prompt itself, so it is only enabled when
``OpenAIConfig.prompt_format`` names the server model's template (``"chatml"``).
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from dataclasses import dataclass, replace
from typing import Any, Literal

from mmexpert.llm.base import GenerationParams, LLMBackend, Message, Reply, cut_at_stop
from mmexpert.llm.errors import BackendUnavailableError, LLMHTTPError, NotSupportedError

CHATML_END = "<|im_end|>"  # ChatML end-of-turn marker
RETRY_STATUS: frozenset[int] = frozenset({429, 500, 502, 503, 504})
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class OpenAIConfig:
    """Connection settings for an OpenAI-compatible server."""

    base_url: str = DEFAULT_BASE_URL  # up to and including the /v1 part
    model: str = DEFAULT_MODEL  # model name the server knows
    api_key: str | None = None  # bearer token; None sends no Authorization header
    timeout_s: float = 120.0  # per-request timeout [s] (connect, read, write)
    max_retries: int = 4  # extra attempts after a transient failure (0 = try once)
    backoff_initial_s: float = 0.5  # first wait before retrying [s]; doubles each time
    backoff_max_s: float = 20.0  # cap on any single wait, including Retry-After [s]
    prompt_format: Literal["none", "chatml"] = "none"  # server model's template, for scoring

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise BackendUnavailableError(
                f"base_url must start with http:// or https://, got {self.base_url!r}"
            )
        if self.timeout_s <= 0 or self.max_retries < 0 or self.backoff_initial_s < 0:
            raise BackendUnavailableError(
                f"timeout_s must be > 0 and retries/backoff >= 0, got {self!r}"
            )

    @classmethod
    def from_env(cls, **overrides: Any) -> OpenAIConfig:
        """Settings from the environment variables in the module docstring, then overrides."""
        env = os.environ
        values: dict[str, Any] = {
            "base_url": env.get("MMEXPERT_LLM_BASE_URL")
            or env.get("OPENAI_BASE_URL")
            or DEFAULT_BASE_URL,
            "model": env.get("MMEXPERT_LLM_MODEL") or DEFAULT_MODEL,
            "api_key": env.get("MMEXPERT_LLM_API_KEY") or env.get("OPENAI_API_KEY"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def __repr__(self) -> str:  # never print the key
        key = "None" if self.api_key is None else "'***'"
        return (
            f"OpenAIConfig(base_url={self.base_url!r}, model={self.model!r}, "
            f"api_key={key}, timeout_s={self.timeout_s}, max_retries={self.max_retries})"
        )


def render_chatml(messages: list[Message]) -> str:
    """Render a conversation in the ChatML template, ending in an open assistant turn.

    A trailing assistant message is left open so that a continuation extends it.
    """
    parts = []
    turns, prefix = messages, ""
    if messages[-1].role == "assistant":
        turns, prefix = messages[:-1], messages[-1].content
    for message in turns:
        parts.append(f"<|im_start|>{message.role}\n{message.content}<|im_end|>\n")
    return "".join(parts) + "<|im_start|>assistant\n" + prefix


class OpenAIBackend(LLMBackend):
    """Chat completions over HTTP (see the module docstring).

    Parameters
    ----------
    config : OpenAIConfig, optional
        Connection settings; default :meth:`OpenAIConfig.from_env`.
    **overrides
        Fields of :class:`OpenAIConfig` that replace the configured ones (``None`` ignored).
    """

    name = "openai"

    def __init__(self, config: OpenAIConfig | None = None, **overrides: Any) -> None:
        try:
            import httpx
        except ImportError as exc:
            raise BackendUnavailableError(
                "the openai backend needs the 'httpx' package: pip install httpx"
            ) from exc
        base = config or OpenAIConfig.from_env()
        self.config = replace(base, **{k: v for k, v in overrides.items() if v is not None})
        self._httpx = httpx
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        self._client = httpx.Client(
            base_url=self.config.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=self.config.timeout_s,
        )

    @property
    def model_id(self) -> str:
        return self.config.model

    @property
    def supports_scoring(self) -> bool:
        return self.config.prompt_format != "none"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def _request(self, method: str, path: str, payload: dict | None = None) -> dict:
        """One JSON request with bounded retries; returns the decoded response body."""
        url = self.config.base_url.rstrip("/") + "/" + path
        attempts = self.config.max_retries + 1
        status: int | None = None
        body = ""
        for attempt in range(attempts):
            wait = min(self.config.backoff_initial_s * 2**attempt, self.config.backoff_max_s)
            try:
                response = self._client.request(method, path, json=payload)
            except self._httpx.TransportError as exc:  # connect errors, timeouts
                status, body = None, f"{type(exc).__name__}: {exc}"
            else:
                status, body = response.status_code, response.text
                if status < 400:
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise LLMHTTPError(
                            f"{method} {url} returned HTTP {status} with a body that is not "
                            f"JSON: {body[:300]!r}",
                            status,
                            body[:300],
                        ) from exc
                if status not in RETRY_STATUS:
                    raise LLMHTTPError(
                        f"{method} {url} failed with HTTP {status}: {body[:500]}",
                        status,
                        body[:500],
                    )
                retry_after = response.headers.get("retry-after")
                if retry_after is not None:
                    with contextlib.suppress(ValueError):  # an HTTP date: keep our backoff
                        wait = min(max(float(retry_after), 0.0), self.config.backoff_max_s)
            if attempt + 1 < attempts:
                # Jitter spreads retries of parallel workers apart.
                time.sleep(wait * (1.0 + 0.1 * random.random()))
        what = f"HTTP {status}" if status is not None else "connection failure"
        raise LLMHTTPError(
            f"{method} {url} failed after {attempts} attempt(s), last {what}: {body[:500]}",
            status,
            body[:500],
        )

    def _generate(self, messages: list[Message], params: GenerationParams) -> Reply:
        payload: dict[str, Any] = {
            "model": self.config.model,
            "messages": [m.model_dump() for m in messages],
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "seed": params.seed,
        }
        if params.stop:
            payload["stop"] = list(params.stop)
        data = self._request("POST", "chat/completions", payload)
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMHTTPError(
                f"chat/completions reply has no choices[0].message.content: {str(data)[:300]}"
            ) from exc
        text, _ = cut_at_stop(text, params.stop)  # some servers ignore 'stop'
        usage = data.get("usage") or {}
        return Reply(
            text=text,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            finish_reason=choice.get("finish_reason") or "stop",
        )

    def _score_choices(
        self, messages: list[Message], choices: list[str], complete: bool
    ) -> list[float]:
        if self.config.prompt_format == "none":
            raise NotSupportedError(
                f"scoring over {self.config.base_url} needs the server model's chat template "
                "on the client: set OpenAIConfig.prompt_format='chatml' if the model uses "
                "ChatML and the server supports /v1/completions with echo and logprobs"
            )
        prompt = render_chatml(messages)
        scores = []
        for choice in choices:
            payload = {
                "model": self.config.model,
                "prompt": prompt + choice + (CHATML_END if complete else ""),
                "echo": True,
                "logprobs": 0,
                "max_tokens": 0,
                "temperature": 0.0,
            }
            try:
                data = self._request("POST", "completions", payload)
            except LLMHTTPError as exc:
                if exc.status in (400, 404, 405, 422, 501):
                    raise NotSupportedError(
                        f"{self.config.base_url} does not support echo+logprobs on "
                        f"/v1/completions (HTTP {exc.status}): {exc.body_excerpt[:200]}"
                    ) from exc
                raise
            try:
                logprobs = data["choices"][0]["logprobs"]
                offsets = logprobs["text_offset"]
                values = logprobs["token_logprobs"]
            except (KeyError, IndexError, TypeError) as exc:
                raise NotSupportedError(
                    f"{self.config.base_url} returned no echoed token logprobs: {str(data)[:300]}"
                ) from exc
            # Tokens that start inside the choice belong to it.
            scores.append(
                float(
                    sum(
                        v
                        for o, v in zip(offsets, values, strict=True)
                        if o >= len(prompt) and v is not None
                    )
                )
            )
        return scores
