"""An OpenAI-compatible HTTP server over any backend (``mmexpert llm serve``).

Endpoints (JSON; the subset of the OpenAI API that clients of chat models use):

``GET /v1/models``
    lists the one model served.
``POST /v1/chat/completions``
    ``messages``, ``temperature``, ``top_p``, ``max_tokens`` (or ``max_completion_tokens``),
    ``seed``, ``stop``; ``n`` must be 1 and ``stream`` false.
``POST /v1/completions``
    log-likelihood scoring only: ``echo: true``, ``max_tokens: 0`` and ``logprobs`` set
    return ``choices[0].logprobs`` with ``tokens``, ``token_logprobs`` and ``text_offset``
    for the raw ``prompt`` (what lm-eval-harness and :class:`OpenAIBackend` ask for).
    Needs a backend with ``token_logprobs(text)`` (the local one).

Built on the standard library (:class:`http.server.ThreadingHTTPServer`); requests are
handled in threads, and the local backend serializes generation with its own lock.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import ValidationError

from mmexpert.llm.base import GenerationParams, LLMBackend, as_messages
from mmexpert.llm.errors import LLMError, LLMRequestError

MAX_BODY_BYTES = 4 * 1024 * 1024  # larger request bodies are refused (413)


class _RequestError(Exception):
    def __init__(self, status: HTTPStatus, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status = status
        self.kind = kind


def _params_from_request(body: dict[str, Any]) -> GenerationParams:
    fields: dict[str, Any] = {}
    for name in ("temperature", "top_p", "seed", "stop"):
        if body.get(name) is not None:
            fields[name] = body[name]
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    try:
        return GenerationParams(**fields)
    except ValidationError as exc:
        raise _RequestError(HTTPStatus.BAD_REQUEST, f"invalid parameters: {exc}") from exc


class _Handler(BaseHTTPRequestHandler):
    server: LLMHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send_json(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, error: _RequestError) -> None:
        self._send_json(
            error.status, {"error": {"message": str(error), "type": error.kind, "code": None}}
        )

    def _read_body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise _RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"request body of {length} bytes exceeds {MAX_BODY_BYTES}",
            )
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            raise _RequestError(HTTPStatus.BAD_REQUEST, f"body is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise _RequestError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
        return body

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._send_json(HTTPStatus.OK, {"object": "list", "data": [self.server.model_card()]})
        elif self.path.rstrip("/") in ("", "/health"):
            self._send_json(HTTPStatus.OK, {"status": "ok", "model": self.server.model_name})
        else:
            self._send_error(_RequestError(HTTPStatus.NOT_FOUND, f"no route GET {self.path}"))

    def do_POST(self) -> None:
        routes = {
            "/v1/chat/completions": self._chat_completions,
            "/chat/completions": self._chat_completions,
            "/v1/completions": self._completions,
            "/completions": self._completions,
        }
        route = routes.get(self.path.rstrip("/"))
        try:
            if route is None:
                raise _RequestError(HTTPStatus.NOT_FOUND, f"no route POST {self.path}")
            self._send_json(HTTPStatus.OK, route(self._read_body()))
        except _RequestError as exc:
            self._send_error(exc)
        except LLMRequestError as exc:
            self._send_error(_RequestError(HTTPStatus.BAD_REQUEST, str(exc)))
        except LLMError as exc:
            self._send_error(
                _RequestError(HTTPStatus.INTERNAL_SERVER_ERROR, str(exc), "server_error")
            )

    def _chat_completions(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("stream"):
            raise _RequestError(HTTPStatus.BAD_REQUEST, "stream=true is not supported")
        if body.get("n", 1) != 1:
            raise _RequestError(HTTPStatus.BAD_REQUEST, "only n=1 is supported")
        if "messages" not in body:
            raise _RequestError(HTTPStatus.BAD_REQUEST, "missing 'messages'")
        messages = as_messages(
            [
                {"role": m.get("role"), "content": m.get("content")} if isinstance(m, dict) else m
                for m in body["messages"]
            ]
        )
        params = _params_from_request(body)
        reply = self.server.backend.generate(messages, params)
        usage = {
            "prompt_tokens": reply.prompt_tokens or 0,
            "completion_tokens": reply.completion_tokens or 0,
            "total_tokens": (reply.prompt_tokens or 0) + (reply.completion_tokens or 0),
        }
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.server.model_name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.text},
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": usage,
        }

    def _completions(self, body: dict[str, Any]) -> dict[str, Any]:
        backend = self.server.backend
        # A CachedBackend does not cache raw-text scoring: ask the backend it wraps.
        scorer = getattr(backend, "token_logprobs", None) or getattr(
            getattr(backend, "backend", None), "token_logprobs", None
        )
        prompt = body.get("prompt")
        if not (
            body.get("echo") and body.get("max_tokens") == 0 and body.get("logprobs") is not None
        ):
            raise _RequestError(
                HTTPStatus.BAD_REQUEST,
                "this server supports /v1/completions only for scoring (echo=true, "
                "max_tokens=0, logprobs set); use /v1/chat/completions to generate",
            )
        if scorer is None:
            raise _RequestError(
                HTTPStatus.NOT_IMPLEMENTED,
                f"backend {self.server.backend.name!r} cannot score text",
            )
        if not isinstance(prompt, str) or not prompt:
            raise _RequestError(HTTPStatus.BAD_REQUEST, "'prompt' must be a non-empty string")
        tokens = scorer(prompt)
        return {
            "id": f"cmpl-{uuid.uuid4().hex[:24]}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": self.server.model_name,
            "choices": [
                {
                    "index": 0,
                    "text": prompt,
                    "finish_reason": "length",
                    "logprobs": {
                        "tokens": [t for t, _, _ in tokens],
                        "token_logprobs": [v for _, _, v in tokens],
                        "text_offset": [o for _, o, _ in tokens],
                        "top_logprobs": None,
                    },
                }
            ],
            "usage": {
                "prompt_tokens": len(tokens),
                "completion_tokens": 0,
                "total_tokens": len(tokens),
            },
        }


class LLMHTTPServer(ThreadingHTTPServer):
    """A :class:`ThreadingHTTPServer` that answers with ``backend``.

    Attributes
    ----------
    backend : LLMBackend
        Who answers.
    model_name : str
        Name reported in ``/v1/models`` and replies (clients may send any model name).
    url : str
        Base URL of the API, ``http://HOST:PORT/v1``.
    """

    daemon_threads = True

    def __init__(self, backend: LLMBackend, host: str, port: int, verbose: bool) -> None:
        super().__init__((host, port), _Handler)
        self.backend = backend
        self.model_name = backend.model_id
        self.verbose = verbose

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    def model_card(self) -> dict[str, Any]:
        return {"id": self.model_name, "object": "model", "created": 0, "owned_by": "mmexpert"}

    def start_in_thread(self) -> threading.Thread:
        """Serve in a daemon thread (stop with :meth:`shutdown` then :meth:`server_close`)."""
        thread = threading.Thread(target=self.serve_forever, name="llm-http", daemon=True)
        thread.start()
        return thread


def make_server(
    backend: LLMBackend, host: str = "127.0.0.1", port: int = 8000, verbose: bool = False
) -> LLMHTTPServer:
    """Build (bind, do not start) an OpenAI-compatible server over ``backend``.

    Parameters
    ----------
    backend : LLMBackend
        Who answers.
    host : str
        Interface to bind; the default only accepts local connections.
    port : int
        TCP port; 0 picks a free one (read it back from ``server.url``).
    verbose : bool
        Log each request to stderr.

    Returns
    -------
    LLMHTTPServer
        Call ``serve_forever()`` or ``start_in_thread()``.
    """
    return LLMHTTPServer(backend, host, port, verbose)


def serve(
    backend: LLMBackend, host: str = "127.0.0.1", port: int = 8000, verbose: bool = True
) -> None:
    """Serve ``backend`` until interrupted (Ctrl-C), e.g. for ``mmexpert llm serve``."""
    server = make_server(backend, host, port, verbose)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
