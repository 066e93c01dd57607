"""The backend contract: typed messages and parameters, and the :class:`LLMBackend` base class.

Every backend turns a conversation into text (:meth:`LLMBackend.chat`) and, where it can,
scores candidate continuations by log-likelihood (:meth:`LLMBackend.score_choices`). The
base class checks the inputs, then calls the subclass hooks ``_generate`` and
``_score_choices``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mmexpert.llm.errors import LLMRequestError, NotSupportedError

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    """One turn of a chat conversation.

    Parameters
    ----------
    role : {"system", "user", "assistant"}
        Who speaks.
    content : str
        What is said (plain text).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: str

    @classmethod
    def system(cls, content: str) -> Message:
        """A system instruction."""
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> Message:
        """A user turn."""
        return cls(role="user", content=content)

    @classmethod
    def assistant(cls, content: str) -> Message:
        """An assistant turn (a previous reply, or a prefix the model must continue)."""
        return cls(role="assistant", content=content)


class GenerationParams(BaseModel):
    """Decoding settings shared by every backend.

    The defaults are greedy decoding, so that a rerun gives the same text; set a positive
    ``temperature`` (and a ``seed``) to sample.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)  # 0 = greedy (reproducible)
    max_tokens: int = Field(default=256, ge=1, le=32768)  # cap on new tokens per reply
    seed: int = 0  # seeds sampling; ignored by greedy decoding
    stop: tuple[str, ...] = ()  # the reply is cut before the first of these strings
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)  # nucleus sampling mass; 1 = off

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_as_tuple(cls, value: object) -> object:
        if isinstance(value, str):
            return (value,)
        return value

    @field_validator("stop")
    @classmethod
    def _stop_not_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(s == "" for s in value):
            raise ValueError("stop strings must be non-empty")
        return value

    @property
    def greedy(self) -> bool:
        """True when decoding is deterministic (temperature 0)."""
        return self.temperature == 0.0


@dataclass(frozen=True)
class Reply:
    """A generated reply with its token accounting.

    Attributes
    ----------
    text : str
        The reply text, already cut at the first stop string.
    prompt_tokens : int or None
        Tokens in the rendered prompt, ``None`` when the backend cannot tell.
    completion_tokens : int or None
        New tokens generated, ``None`` when the backend cannot tell.
    finish_reason : str
        ``"stop"`` (end of turn or stop string) or ``"length"`` (hit ``max_tokens``).
    """

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"


def as_messages(messages: Sequence[Message | dict]) -> list[Message]:
    """Check a conversation and convert plain ``{"role", "content"}`` dicts to :class:`Message`.

    Raises
    ------
    LLMRequestError
        If the conversation is empty or a turn is malformed.
    """
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise LLMRequestError(
            f"messages must be a list of Message or {{'role', 'content'}} dicts, "
            f"got {type(messages).__name__}"
        )
    if len(messages) == 0:
        raise LLMRequestError("messages is empty: a conversation needs at least one turn")
    out: list[Message] = []
    for index, item in enumerate(messages):
        if isinstance(item, Message):
            out.append(item)
            continue
        try:
            out.append(Message.model_validate(item))
        except ValidationError as exc:
            raise LLMRequestError(f"messages[{index}] is not a valid message: {exc}") from exc
    return out


def as_params(params: GenerationParams | dict | None) -> GenerationParams:
    """Return ``params`` as :class:`GenerationParams` (``None`` gives the defaults)."""
    if params is None:
        return GenerationParams()
    if isinstance(params, GenerationParams):
        return params
    try:
        return GenerationParams.model_validate(params)
    except ValidationError as exc:
        raise LLMRequestError(f"invalid generation parameters: {exc}") from exc


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` before the earliest stop string; return the text and whether it was cut."""
    cut = len(text)
    for s in stop:
        position = text.find(s)
        if position != -1:
            cut = min(cut, position)
    return text[:cut], cut < len(text)


class LLMBackend(abc.ABC):
    """Base class of all LLM backends.

    Subclasses set :attr:`name` (the registry key) and implement :attr:`model_id` and
    ``_generate``; those that can compute log-likelihoods also implement ``_score_choices``.
    """

    name: str = "abstract"

    @property
    @abc.abstractmethod
    def model_id(self) -> str:
        """Identifier of the model answering (part of every cache key)."""

    @property
    def supports_scoring(self) -> bool:
        """Whether :meth:`score_choices` is implemented by this backend."""
        return type(self)._score_choices is not LLMBackend._score_choices

    #: Whether a trailing assistant message is continued (rather than answered). OpenAI's API
    #: does not promise it, so only backends that control the prompt set it.
    supports_prefill: bool = False

    def generate(
        self, messages: Sequence[Message | dict], params: GenerationParams | dict | None = None
    ) -> Reply:
        """Generate one assistant reply, with token accounting.

        Parameters
        ----------
        messages : list of Message
            The conversation so far; the model answers the last turn.
        params : GenerationParams, optional
            Decoding settings (defaults: greedy, 256 new tokens).

        Returns
        -------
        Reply
            The text and token counts.
        """
        return self._generate(as_messages(messages), as_params(params))

    def chat(
        self, messages: Sequence[Message | dict], params: GenerationParams | dict | None = None
    ) -> str:
        """Generate one assistant reply and return its text (see :meth:`generate`)."""
        return self.generate(messages, params).text

    def score_choices(
        self, messages: Sequence[Message | dict], choices: Sequence[str], complete: bool = False
    ) -> list[float]:
        """Log-likelihood of each choice as the continuation of the assistant's reply.

        If the last message is an assistant turn, each choice continues that text; otherwise
        each choice is the start of a new assistant reply.

        Parameters
        ----------
        messages : list of Message
            The conversation.
        choices : list of str
            Candidate continuations (non-empty strings). Include a leading space where the
            continuation follows a word (``" Paris"``).
        complete : bool
            Score each choice as the whole rest of the reply, i.e. followed by the end-of-turn
            token. Without it, a choice that is a prefix of another (``"walk"`` and
            ``"walk backward"``) can never score lower than the longer one.

        Returns
        -------
        list of float
            Sum of the natural-log token probabilities of each choice [nats], same order.

        Raises
        ------
        NotSupportedError
            If the backend cannot compute log-likelihoods.
        """
        checked = as_messages(messages)
        if isinstance(choices, str) or len(choices) == 0:
            raise LLMRequestError("choices must be a non-empty list of strings")
        for index, choice in enumerate(choices):
            if not isinstance(choice, str) or choice == "":
                raise LLMRequestError(f"choices[{index}] must be a non-empty string")
        return self._score_choices(checked, list(choices), complete)

    @abc.abstractmethod
    def _generate(self, messages: list[Message], params: GenerationParams) -> Reply:
        """Backend-specific generation on checked inputs."""

    def _score_choices(
        self, messages: list[Message], choices: list[str], complete: bool
    ) -> list[float]:
        raise NotSupportedError(
            f"backend {self.name!r} (model {self.model_id!r}) cannot score choices by "
            "log-likelihood; use mmexpert.llm.choose(), which falls back to asking"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_id={self.model_id!r})"
