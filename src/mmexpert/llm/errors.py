"""Exceptions raised by the LLM layer; every one names what went wrong and where."""

from __future__ import annotations


class LLMError(Exception):
    """Base class of every error raised by :mod:`mmexpert.llm`."""


class LLMRequestError(LLMError, ValueError):
    """A request is malformed (empty conversation, unknown role, bad parameter)."""


class BackendUnavailableError(LLMError):
    """A backend cannot start (missing package, missing model file, bad configuration)."""


class NotSupportedError(LLMError):
    """The backend cannot do this operation (e.g. log-likelihood scoring over plain chat)."""


class LLMHTTPError(LLMError):
    """An HTTP request to an OpenAI-compatible server failed for good.

    Parameters
    ----------
    message : str
        Human-readable description (method, URL, attempts).
    status : int or None
        Last HTTP status code, ``None`` when the connection itself failed.
    body_excerpt : str
        The first characters of the last response body (empty when there was none).
    """

    def __init__(self, message: str, status: int | None = None, body_excerpt: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body_excerpt = body_excerpt


class CacheMiss(LLMError):  # noqa: N818 - the name says exactly what happened
    """Replay mode was asked for a response that is not in the cache."""


class JSONExtractionError(LLMError, ValueError):
    """No JSON value could be recovered from a model reply, even after repair."""


class StructuredOutputError(LLMError):
    """A model failed to produce a reply that validates against a schema.

    Attributes
    ----------
    stage : str
        The pipeline stage that asked (e.g. ``"plan.vocabulary"``).
    raw_reply : str
        The last raw reply, untruncated.
    validation_error : str
        The last parse or validation error message.
    attempts : int
        How many replies were tried.
    """

    def __init__(
        self, stage: str, raw_reply: str, validation_error: str, attempts: int, schema_name: str
    ) -> None:
        self.stage = stage
        self.raw_reply = raw_reply
        self.validation_error = validation_error
        self.attempts = attempts
        excerpt = raw_reply if len(raw_reply) <= 600 else raw_reply[:600] + " ...[truncated]"
        super().__init__(
            f"stage {stage!r}: no valid {schema_name} after {attempts} attempt(s).\n"
            f"Last raw reply ({len(raw_reply)} chars):\n{excerpt}\n"
            f"Last error:\n{validation_error}"
        )


class ChoiceError(LLMError, ValueError):
    """A reply could not be matched to any of the enumerated options."""
