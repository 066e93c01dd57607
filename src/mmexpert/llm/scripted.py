"""Deterministic in-process backends for dry runs, offline pipelines and tests.

:class:`ScriptedBackend` answers from a fixed list of replies (or a function of the
conversation); :class:`EchoBackend` repeats the last user turn. They load nothing, take
microseconds, and let a pipeline run end to end without a model, e.g. to check its plumbing
or to replay hand-written plans.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from mmexpert.llm.base import GenerationParams, LLMBackend, Message, Reply, cut_at_stop
from mmexpert.llm.errors import LLMError, NotSupportedError

ReplyFunction = Callable[[list[Message], GenerationParams], str]
ScoreFunction = Callable[[list[Message], list[str]], list[float]]


class ScriptExhaustedError(LLMError):
    """A :class:`ScriptedBackend` was asked for more replies than it was given."""


class ScriptedBackend(LLMBackend):
    """Answers with pre-written replies, in order.

    Parameters
    ----------
    replies : list of str, or callable
        Either the replies to give, one per call, in order; or a function
        ``(messages, params) -> str`` computing each reply.
    scorer : callable, optional
        ``(messages, choices) -> list[float]`` used by :meth:`score_choices` (the
        ``complete`` flag is not passed on); without it the backend reports that it cannot
        score.
    model_id : str
        Name reported as the model (part of cache keys).

    Attributes
    ----------
    calls : list of list of Message
        Every conversation received, in order (to inspect what a pipeline asked).
    """

    name = "scripted"

    def __init__(
        self,
        replies: Sequence[str] | ReplyFunction,
        scorer: ScoreFunction | None = None,
        model_id: str = "scripted",
    ) -> None:
        self._replies = replies if callable(replies) else list(replies)
        self._scorer = scorer
        self._model_id = model_id
        self._lock = threading.Lock()
        self.calls: list[list[Message]] = []

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def supports_scoring(self) -> bool:
        return self._scorer is not None

    def _generate(self, messages: list[Message], params: GenerationParams) -> Reply:
        with self._lock:
            self.calls.append(list(messages))
            if callable(self._replies):
                text = self._replies(messages, params)
            else:
                index = len(self.calls) - 1
                if index >= len(self._replies):
                    raise ScriptExhaustedError(
                        f"ScriptedBackend has {len(self._replies)} replies but was called "
                        f"{len(self.calls)} times; last user turn: "
                        f"{_last_user(messages)[:120]!r}"
                    )
                text = self._replies[index]
        text, _ = cut_at_stop(text, params.stop)
        return Reply(text=text, finish_reason="stop")

    def _score_choices(
        self, messages: list[Message], choices: list[str], complete: bool
    ) -> list[float]:
        if self._scorer is None:
            raise NotSupportedError("this ScriptedBackend was built without a scorer")
        scores = list(self._scorer(messages, choices))
        if len(scores) != len(choices):
            raise LLMError(f"scorer returned {len(scores)} scores for {len(choices)} choices")
        return [float(s) for s in scores]


class EchoBackend(LLMBackend):
    """Replies with the last user turn, cut to ``max_tokens`` whitespace-separated words."""

    name = "echo"

    @property
    def model_id(self) -> str:
        return "echo"

    def _generate(self, messages: list[Message], params: GenerationParams) -> Reply:
        words = _last_user(messages).split()
        text = " ".join(words[: params.max_tokens])
        text, _ = cut_at_stop(text, params.stop)
        finish = "length" if len(words) > params.max_tokens else "stop"
        return Reply(
            text=text, completion_tokens=min(len(words), params.max_tokens), finish_reason=finish
        )


def _last_user(messages: list[Message]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return message.content
    return ""
