"""OpenAI-compatible client and server over real sockets on 127.0.0.1 (no model needed).

The retry tests run a tiny stdlib HTTP server that fails on purpose; the server tests run
:func:`make_server` over deterministic in-process backends. The same client against the real
SmolLM2 model is in ``test_llm_local.py``.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from mmexpert.llm import (
    EchoBackend,
    GenerationParams,
    LLMHTTPError,
    Message,
    NotSupportedError,
    OpenAIBackend,
    OpenAIConfig,
    ScriptedBackend,
    make_server,
)

OK_BODY = {
    "choices": [{"message": {"role": "assistant", "content": "walk"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1},
}


class FlakyServer(ThreadingHTTPServer):
    """Answers each POST with the next (status, headers, body) of a script; repeats the last."""

    def __init__(self, script: list[tuple[int, dict[str, str], str]]) -> None:
        super().__init__(("127.0.0.1", 0), _FlakyHandler)
        self.script = script
        self.request_times: list[float] = []
        self.bodies: list[dict] = []


class _FlakyHandler(BaseHTTPRequestHandler):
    server: FlakyServer

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.bodies.append(json.loads(self.rfile.read(length)))
        self.server.request_times.append(time.perf_counter())
        index = min(len(self.server.request_times), len(self.server.script)) - 1
        status, headers, body = self.server.script[index]
        data = body.encode()
        self.send_response(status)
        for key, value in {"Content-Length": str(len(data)), **headers}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def _run(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _client(server: ThreadingHTTPServer, **options: object) -> OpenAIBackend:
    host, port = server.server_address[:2]
    config = OpenAIConfig(
        base_url=f"http://{host}:{port}/v1",
        model="test-model",
        api_key="sk-test",
        timeout_s=5.0,
        max_retries=3,
        backoff_initial_s=0.05,
        backoff_max_s=1.0,
    )
    return OpenAIBackend(config, **options)


def test_retries_429_then_succeeds_honouring_retry_after() -> None:
    script = [
        (429, {"Retry-After": "0.2"}, '{"error": {"message": "rate limited"}}'),
        (200, {"Content-Type": "application/json"}, json.dumps(OK_BODY)),
    ]
    for server in _run(FlakyServer(script)):
        reply = _client(server).generate([Message.user("Pick one.")], GenerationParams(seed=3))
        assert reply.text == "walk" and reply.prompt_tokens == 5
        assert len(server.request_times) == 2
        assert server.request_times[1] - server.request_times[0] >= 0.2
        assert server.bodies[1]["model"] == "test-model" and server.bodies[1]["seed"] == 3


def test_exponential_backoff_then_clear_error_on_persistent_503() -> None:
    script = [(503, {}, "upstream overloaded: try later")]
    for server in _run(FlakyServer(script)):
        with pytest.raises(LLMHTTPError) as caught:
            _client(server).chat([Message.user("hi")])
        gaps = [b - a for a, b in itertools.pairwise(server.request_times)]
    assert len(server.request_times) == 4  # 1 try + 3 retries, then stop
    # Waits of 0.05, 0.1, 0.2 s (doubling, plus up to 10 % jitter); sleep only ever adds, so
    # lower bounds are exact and a loose upper bound shows the retries are bounded in time.
    assert all(gap >= wait for gap, wait in zip(gaps, [0.05, 0.1, 0.2], strict=True))
    assert sum(gaps) < 3.0
    assert caught.value.status == 503
    assert "after 4 attempt(s)" in str(caught.value)
    assert "upstream overloaded" in str(caught.value)


def test_client_errors_are_not_retried_and_show_the_body() -> None:
    script = [(401, {}, '{"error": {"message": "Incorrect API key provided"}}')]
    for server in _run(FlakyServer(script)):
        with pytest.raises(LLMHTTPError, match=r"HTTP 401.*Incorrect API key") as caught:
            _client(server).chat([Message.user("hi")])
        assert len(server.request_times) == 1
    assert "sk-test" not in str(caught.value)


def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = OpenAIBackend(
        OpenAIConfig(
            base_url=f"http://127.0.0.1:{port}/v1",
            model="m",
            max_retries=2,
            backoff_initial_s=0.01,
            timeout_s=2.0,
        )
    )
    with pytest.raises(LLMHTTPError, match=r"after 3 attempt\(s\), last connection failure"):
        backend.chat([Message.user("hi")])


def test_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMEXPERT_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("MMEXPERT_LLM_MODEL", "smollm2")
    monkeypatch.delenv("MMEXPERT_LLM_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    config = OpenAIConfig.from_env(timeout_s=3.0)
    assert (config.base_url, config.model, config.api_key, config.timeout_s) == (
        "http://127.0.0.1:9/v1",
        "smollm2",
        "sk-secret",
        3.0,
    )
    assert "sk-secret" not in repr(config)
    with pytest.raises(Exception, match="http://"):
        OpenAIConfig(base_url="127.0.0.1:8000")


@pytest.fixture
def scripted_server() -> Iterator[tuple[object, ScriptedBackend]]:
    backend = ScriptedBackend(lambda messages, params: f"{len(messages)} turns; done. Extra")
    server = make_server(backend, port=0)
    server.start_in_thread()
    yield server, backend
    server.shutdown()
    server.server_close()


def test_server_speaks_the_openai_protocol(scripted_server: tuple) -> None:
    server, backend = scripted_server
    models = httpx.get(server.url + "/models").json()
    assert models["data"][0]["id"] == "scripted"
    client = OpenAIBackend(OpenAIConfig(base_url=server.url, model="anything", max_retries=0))
    question = [Message.system("Be brief."), Message.user("Go.")]
    reply = client.generate(question, GenerationParams(stop=("Extra",), temperature=0.5, seed=7))
    assert reply.text == "2 turns; done. "
    assert backend.calls[-1] == question
    # Errors come back as OpenAI-style JSON with a 4xx status, and the client reports them.
    response = httpx.post(server.url + "/chat/completions", json={"messages": [], "n": 1})
    assert response.status_code == 400 and "empty" in response.json()["error"]["message"]
    with pytest.raises(LLMHTTPError, match=r"HTTP 400.*temperature"):
        client.chat(
            question, GenerationParams(temperature=1.0).model_copy(update={"temperature": 5.0})
        )
    with pytest.raises(NotSupportedError, match="prompt_format"):
        client.score_choices(question, ["a", "b"])
    scoring = OpenAIBackend(OpenAIConfig(base_url=server.url, model="m", prompt_format="chatml"))
    with pytest.raises(NotSupportedError, match="HTTP 501"):
        scoring.score_choices(question, ["a", "b"])


def test_server_over_echo_backend_reports_length() -> None:
    server = make_server(EchoBackend(), port=0)
    server.start_in_thread()
    try:
        body = httpx.post(
            server.url + "/chat/completions",
            json={
                "model": "echo",
                "max_tokens": 2,
                "messages": [{"role": "user", "content": "one two three"}],
            },
        ).json()
    finally:
        server.shutdown()
        server.server_close()
    assert body["choices"][0]["message"]["content"] == "one two"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["object"] == "chat.completion"
