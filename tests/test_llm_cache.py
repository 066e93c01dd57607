"""Response cache: hits, misses, replay and key sensitivity, with real in-process backends."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mmexpert.llm import (
    BACKENDS,
    CachedBackend,
    CacheMiss,
    EchoBackend,
    GenerationParams,
    LLMBackend,
    LLMRequestError,
    Message,
    ResponseCache,
    ScriptedBackend,
    make_backend,
)

QUESTION = [Message.system("You plan radar datasets."), Message.user("List three activities.")]


def test_readwrite_then_replay(tmp_path: Path) -> None:
    path = tmp_path / "llm.sqlite"
    inner = ScriptedBackend(["walk, run, sit", "jump"])
    cached = CachedBackend(inner, path)
    assert cached.chat(QUESTION) == "walk, run, sit"
    assert cached.chat(QUESTION) == "walk, run, sit"  # answered from the cache
    assert (cached.hits, cached.misses, len(inner.calls)) == (1, 1, 1)

    # A new process (new objects, same file) replays without any model.
    replay = CachedBackend(ScriptedBackend([]), ResponseCache(path), mode="replay")
    assert replay.chat(QUESTION) == "walk, run, sit"
    other_params = GenerationParams(max_tokens=16)
    with pytest.raises(CacheMiss, match=r"List three activities.*llm\.sqlite"):
        replay.chat(QUESTION, other_params)


@pytest.mark.parametrize(
    "change",
    [
        {"params": GenerationParams(temperature=0.7)},
        {"params": GenerationParams(seed=1)},
        {"params": GenerationParams(stop=("\n",))},
        {"messages": [*QUESTION[:1], Message.user("List four activities.")]},
        {"model_id": "scripted-2"},
    ],
)
def test_key_depends_on_every_part_of_the_request(tmp_path: Path, change: dict) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    CachedBackend(ScriptedBackend(["first"]), cache).chat(QUESTION, GenerationParams())
    inner = ScriptedBackend(["second"], model_id=change.get("model_id", "scripted"))
    reply = CachedBackend(inner, cache).chat(
        change.get("messages", QUESTION), change.get("params", GenerationParams())
    )
    assert reply == "second" and len(inner.calls) == 1
    assert len(cache) == 2


def test_off_mode_passes_through_and_stores_nothing(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    inner = ScriptedBackend(["a", "b"])
    cached = CachedBackend(inner, cache, mode="off")
    assert [cached.chat(QUESTION), cached.chat(QUESTION)] == ["a", "b"]
    assert len(cache) == 0
    with pytest.raises(LLMRequestError, match="cache mode"):
        CachedBackend(inner, cache, mode="write-only")  # type: ignore[arg-type]


def test_scores_are_cached(tmp_path: Path) -> None:
    calls = []

    def scorer(messages: list[Message], choices: list[str]) -> list[float]:
        calls.append(choices)
        return [-1.5, -0.25]

    path = tmp_path / "c.sqlite"
    cached = CachedBackend(ScriptedBackend([], scorer=scorer), path)
    assert cached.score_choices(QUESTION, ["walk", "run"]) == [-1.5, -0.25]
    assert cached.score_choices(QUESTION, ["walk", "run"]) == [-1.5, -0.25]
    assert len(calls) == 1
    replay = CachedBackend(ScriptedBackend([]), path, mode="replay")
    assert replay.score_choices(QUESTION, ["walk", "run"]) == [-1.5, -0.25]
    with pytest.raises(CacheMiss, match="score"):
        replay.score_choices(QUESTION, ["run", "walk"])
    with pytest.raises(CacheMiss, match="score"):
        replay.score_choices(QUESTION, ["walk", "run"], complete=True)


def test_cache_file_is_plain_sqlite_with_the_request(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    make_backend("echo", cache=path).chat(QUESTION)
    with sqlite3.connect(path) as connection:
        backend, model, request, response = connection.execute(
            "SELECT backend, model, request, response FROM responses"
        ).fetchone()
    assert (backend, model) == ("echo", "echo")
    assert "List three activities." in request and "List three activities." in response


def test_registry_builds_every_offline_backend() -> None:
    assert set(BACKENDS) >= {"local", "openai", "scripted", "echo"}
    for name, cls in BACKENDS.items():
        assert issubclass(cls, LLMBackend) and cls.name == name
    echo = make_backend("echo")
    assert echo.chat(QUESTION, GenerationParams(max_tokens=2)) == "List three"
    with pytest.raises(Exception, match="unknown LLM backend 'gpt5'"):
        make_backend("gpt5")


def test_bad_requests_raise_clear_errors() -> None:
    backend = EchoBackend()
    with pytest.raises(LLMRequestError, match="empty"):
        backend.chat([])
    with pytest.raises(LLMRequestError, match=r"messages\[0\]"):
        backend.chat([{"role": "robot", "content": "hi"}])
    with pytest.raises(LLMRequestError, match="max_tokens"):
        backend.chat(QUESTION, {"max_tokens": 0})
    with pytest.raises(Exception, match="cannot score"):
        backend.score_choices(QUESTION, ["a"])
