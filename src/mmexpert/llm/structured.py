"""Structured output from unreliable models: tolerant JSON extraction, validation, retries.

A small model is fluent but unreliable (DESIGN.md section 8): constrain what it decides,
validate what it writes.

:func:`extract_json`
    Recover a JSON value from a reply: code fences, leading chatter, trailing commas, single
    quotes, Python literals, ``//`` comments, unquoted keys and missing closing brackets.
:func:`complete_structured`
    Ask for JSON matching a pydantic schema; on a parse or validation failure, retry with the
    error fed back; after ``max_attempts`` raise :class:`StructuredOutputError` naming the
    stage and showing the raw reply.
:func:`choose`
    Pick one of enumerated options: by log-likelihood where the backend can score, otherwise
    by asking and fuzzy-matching the reply.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from mmexpert.llm.base import GenerationParams, LLMBackend, Message, as_messages
from mmexpert.llm.errors import (
    ChoiceError,
    JSONExtractionError,
    LLMRequestError,
    NotSupportedError,
    StructuredOutputError,
)

SchemaT = TypeVar("SchemaT", bound=BaseModel)

RETRY_TEMPERATURE = 0.7  # sampling temperature of retries after a greedy first attempt
_FENCE = re.compile(r"```[ \t]*(?:json|JSON|js|javascript)?[ \t]*\n?(.*?)(?:```|$)", re.S)
_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_CLOSERS = {"{": "}", "[": "]"}


def extract_json(text: str) -> Any:
    """Recover the first JSON object or array in a model reply.

    Parameters
    ----------
    text : str
        The raw reply.

    Returns
    -------
    object
        The decoded value (``dict`` or ``list``).

    Raises
    ------
    JSONExtractionError
        If no object or array can be found or repaired; the message shows the span tried.
    """
    if not isinstance(text, str):
        raise JSONExtractionError(f"expected the reply as str, got {type(text).__name__}")
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    last_error = "no '{' or '[' in the reply"
    for candidate in candidates:
        candidate = candidate.translate(_SMART_QUOTES)
        span = _json_span(candidate)
        if span is None:
            continue
        try:
            return json.loads(span)
        except json.JSONDecodeError:
            pass
        repaired = repair_json(span)
        try:
            return json.loads(repaired)
        except json.JSONDecodeError as exc:
            last_error = f"{exc.msg} at char {exc.pos} of repaired text {repaired[:200]!r}"
    raise JSONExtractionError(f"no JSON object or array could be recovered: {last_error}")


def _json_span(text: str) -> str | None:
    """From the first ``{``/``[`` to its matching bracket (or the end, closed if truncated)."""
    starts = [i for i in (text.find("{"), text.find("[")) if i != -1]
    if not starts:
        return None
    start = min(starts)
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char in "\"'":
            # An apostrophe inside a bare word (don't) is not a quote.
            if char == "'" and index > 0 and text[index - 1].isalnum():
                continue
            quote = char
        elif char in _CLOSERS:
            stack.append(_CLOSERS[char])
        elif char in "}]":
            if stack and stack[-1] == char:
                stack.pop()
            if not stack:
                return text[start : index + 1]
    # Truncated reply: close what is still open.
    tail = text[start:].rstrip()
    if quote is not None:
        tail += quote
    return tail + "".join(reversed(stack))


def repair_json(span: str) -> str:
    """Rewrite near-JSON (Python/JS literal style) as JSON.

    Converts single-quoted strings to double-quoted ones, quotes bare object keys, maps
    ``True/False/None`` to ``true/false/null``, drops ``//`` and ``#`` line comments and
    trailing commas. Text inside strings is left alone.
    """
    out: list[str] = []
    index = 0
    length = len(span)
    while index < length:
        char = span[index]
        if char in "\"'":
            # Copy a string literal, re-quoting single-quoted ones.
            quote = char
            index += 1
            body: list[str] = []
            while index < length and span[index] != quote:
                if span[index] == "\\" and index + 1 < length:
                    nxt = span[index + 1]
                    body.append(nxt if (quote == "'" and nxt == "'") else "\\" + nxt)
                    index += 2
                    continue
                if quote == "'" and span[index] == '"':
                    body.append('\\"')
                elif span[index] == "\n":
                    body.append("\\n")
                else:
                    body.append(span[index])
                index += 1
            out.append('"' + "".join(body) + '"')
            index += 1
            continue
        if (char == "/" and span.startswith("//", index)) or char == "#":
            newline = span.find("\n", index)
            index = length if newline == -1 else newline
            continue
        if (char.isalpha() or char == "_") and not (out and out[-1][-1:].isdigit()):
            end = index
            while end < length and (span[end].isalnum() or span[end] in "_-"):
                end += 1
            word = span[index:end]
            rest = span[end:].lstrip()
            if rest.startswith(":"):
                out.append(json.dumps(word))  # bare key
            else:
                literal = {
                    "True": "true",
                    "False": "false",
                    "None": "null",
                    "null": "null",
                    "true": "true",
                    "false": "false",
                    "NaN": "null",
                }
                out.append(literal.get(word, json.dumps(word)))
            index = end
            continue
        out.append(char)
        index += 1
    text = "".join(out)
    # Trailing commas before a closing bracket (outside strings, which are all quoted now).
    return re.sub(r",(\s*[}\]])", r"\1", text)


# Values that are the prompt's type hints copied back, not content.
_PLACEHOLDERS = frozenset(
    {"string", "str", "text", "number", "integer", "int", "float", "boolean", "...", "\u2026"}
    | {"<string>", "<text>", "<number>", "<integer>", "value", "null"}
)


def find_placeholders(value: Any, schema: type[BaseModel]) -> str | None:
    """Name the fields whose string values are copies of the prompt's type hints.

    Small models often answer ``{"name": "string"}`` or ``{"speed": "speed"}``: valid JSON,
    valid types, no content. Top-level string fields and lists of strings are checked.

    Returns
    -------
    str or None
        An error message for the model, or ``None`` when no placeholder was found.
    """
    if not isinstance(value, dict):
        return None
    problems = []
    for field_name in schema.model_fields:
        item = value.get(field_name)
        strings = [item] if isinstance(item, str) else item if isinstance(item, list) else []
        for text in strings:
            if not isinstance(text, str):
                continue
            norm = text.strip().lower()
            if norm in _PLACEHOLDERS or norm == field_name.lower():
                problems.append(f"field {field_name!r} holds the placeholder {text!r}")
                break
    if not problems:
        return None
    return "; ".join(problems) + ": write real values, not the type names or field names"


def schema_hint(schema: type[BaseModel]) -> str:
    """A compact ``{"field": "<description or type>", ...}`` rendering of a schema for a prompt.

    Give fields a ``description`` (``Field(description="activity name, e.g. walk")``): a
    small model fills in descriptions far better than it reads JSON Schema.
    """
    json_schema = schema.model_json_schema()
    properties = json_schema.get("properties", {})
    fields = {}
    for field_name, spec in properties.items():
        fields[field_name] = _type_name(spec, json_schema.get("$defs", {}))
    return json.dumps(fields, ensure_ascii=False)


_JSON_TYPE_WORDS = {"string": "text", "boolean": "true or false"}


def _type_name(spec: dict, defs: dict) -> Any:
    if "enum" in spec:
        return " | ".join(json.dumps(v) for v in spec["enum"])
    if "const" in spec:
        return json.dumps(spec["const"])
    if "$ref" in spec:
        target = defs.get(spec["$ref"].split("/")[-1], {})
        props = target.get("properties", {})
        if "enum" in target:
            return " | ".join(json.dumps(v) for v in target["enum"])
        return {k: _type_name(v, defs) for k, v in props.items()}
    if "anyOf" in spec:
        return " or ".join(str(_type_name(s, defs)) for s in spec["anyOf"])
    kind = spec.get("type", "any")
    if kind == "array":
        items = dict(spec.get("items", {}))
        if "description" in spec and "$ref" not in items:
            items.setdefault("description", spec["description"])
        return [_type_name(items, defs)]
    # A field's description is the most useful hint; without one, an angle-bracketed type
    # (copied verbatim it fails find_placeholders, not silently passes as content).
    described = spec.get("description")
    return f"<{described}>" if described else f"<{_JSON_TYPE_WORDS.get(kind, kind)}>"


def complete_structured(
    backend: LLMBackend,
    messages: Sequence[Message | dict],
    schema: type[SchemaT],
    max_attempts: int = 3,
    stage: str = "unnamed",
    params: GenerationParams | None = None,
    include_schema: bool = True,
    prefill: bool | None = None,
) -> SchemaT:
    """Ask for a JSON reply and return it validated against ``schema``.

    Parameters
    ----------
    backend : LLMBackend
        Who answers.
    messages : list of Message
        The conversation; its last turn should say what to produce.
    schema : type of pydantic.BaseModel
        The shape the reply must have.
    max_attempts : int
        Replies tried before giving up (>= 1). Each retry shows the model its previous reply
        and the error.
    stage : str
        Pipeline stage name, quoted in errors (e.g. ``"plan.strategies"``).
    params : GenerationParams, optional
        Decoding settings (default greedy).
    include_schema : bool
        Append a one-line description of the expected fields to the last user turn.
    prefill : bool, optional
        Start the assistant's reply with ``{"<first field>":`` and let the model continue
        (default: where the backend can continue a reply, i.e. ``backend.supports_prefill``).
        On SmolLM2-135M this turns chatter into JSON most of the time.

    Returns
    -------
    pydantic.BaseModel
        An instance of ``schema``.

    Raises
    ------
    StructuredOutputError
        After ``max_attempts`` replies that do not parse or validate.
    """
    if max_attempts < 1:
        raise LLMRequestError(f"max_attempts must be >= 1, got {max_attempts}")
    conversation = as_messages(messages)
    if include_schema:
        instruction = f"Reply with only one JSON object with these fields: {schema_hint(schema)}"
        last = conversation[-1]
        if last.role == "user":
            conversation[-1] = Message.user(f"{last.content}\n\n{instruction}")
        else:
            conversation.append(Message.user(instruction))
    if prefill is None:
        prefill = backend.supports_prefill
    opening = '{"' + next(iter(schema.model_fields)) + '":' if schema.model_fields else "{"
    raw = ""
    error = ""
    for attempt in range(1, max_attempts + 1):
        if prefill:
            # The reply is forced to open the object: small models then stay in JSON.
            raw = opening + backend.chat([*conversation, Message.assistant(opening)], params)
        else:
            raw = backend.chat(conversation, params)
        try:
            value = extract_json(raw)
            placeholder_error = find_placeholders(value, schema)
            if placeholder_error is None:
                return schema.model_validate(value)
            error = placeholder_error
        except (JSONExtractionError, ValidationError) as exc:
            error = str(exc)
        if attempt < max_attempts:
            # Greedy decoding would repeat the same reply: retries sample (seeded, so reruns
            # are reproducible) unless the caller already samples.
            base = params or GenerationParams()
            params = base.model_copy(
                update={
                    "temperature": max(base.temperature, RETRY_TEMPERATURE),
                    "seed": base.seed + attempt,
                }
            )
            conversation = [
                *conversation,
                Message.assistant(raw),
                Message.user(
                    "That reply is not valid:\n"
                    f"{error[:800]}\n"
                    f"Reply again with only the corrected JSON object: {schema_hint(schema)}"
                ),
            ]
    raise StructuredOutputError(stage, raw, error, max_attempts, schema.__name__)


def _normalize(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower().replace("_", " ")).split())


def match_option(reply: str, options: Sequence[str]) -> str | None:
    """Fuzzy-match a free-text reply to one of ``options``; ``None`` when nothing fits.

    Tries, in order: exact match after normalization (case, punctuation, underscores);
    the option named earliest in the reply (longest first on ties); a close match
    (``difflib`` ratio >= 0.8) of the reply's first line or of any of its word n-grams.
    """
    normalized = {option: _normalize(option) for option in options}
    reply_norm = _normalize(reply)
    for option, norm in normalized.items():
        if norm == reply_norm:
            return option
    found: list[tuple[int, int, str]] = []
    padded = f" {reply_norm} "
    for option, norm in normalized.items():
        if not norm:
            continue
        position = padded.find(f" {norm} ")
        if position != -1:
            found.append((position, -len(norm), option))
    if found:
        return min(found)[2]
    first_line = _normalize(reply.strip().splitlines()[0]) if reply.strip() else ""
    words = reply_norm.split()
    pieces = {first_line}
    for size in range(1, 5):
        pieces.update(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))
    best: tuple[float, str] | None = None
    for option, norm in normalized.items():
        for piece in pieces:
            ratio = difflib.SequenceMatcher(None, norm, piece).ratio()
            if ratio >= 0.8 and (best is None or ratio > best[0]):
                best = (ratio, option)
    return None if best is None else best[1]


def choose(
    backend: LLMBackend,
    messages: Sequence[Message | dict],
    options: Sequence[str],
    params: GenerationParams | None = None,
) -> str:
    """Pick one of ``options`` as the answer to the conversation.

    The options are listed in the question. Where the backend can score, the option with the
    highest log-likelihood as the whole reply wins (``complete=True``: the model cannot
    answer off the list, and a short option gets no advantage over a longer one it prefixes).
    Otherwise the model is asked to answer with one option and the reply is matched by
    :func:`match_option`.

    Parameters
    ----------
    backend : LLMBackend
        Who decides.
    messages : list of Message
        The conversation; its last user turn is the question.
    options : list of str
        Distinct, non-empty options.
    params : GenerationParams, optional
        Decoding settings for the asking fallback (default greedy, 32 tokens).

    Returns
    -------
    str
        One element of ``options``.

    Raises
    ------
    ChoiceError
        If the fallback reply matches no option (the message shows the reply and options).
    """
    options = list(options)
    if not options or any(not isinstance(o, str) or not o.strip() for o in options):
        raise LLMRequestError(f"options must be non-empty strings, got {options!r}")
    if len(set(options)) != len(options):
        raise LLMRequestError(f"options must be distinct, got {options!r}")
    conversation = as_messages(messages)
    listing = "Answer with exactly one of: " + ", ".join(options) + "."
    last = conversation[-1]
    if last.role == "user":
        conversation[-1] = Message.user(f"{last.content}\n{listing}")
    else:
        conversation.append(Message.user(listing))
    if len(options) == 1:
        return options[0]
    if backend.supports_scoring:
        try:
            scores = backend.score_choices(conversation, options, complete=True)
            return options[max(range(len(options)), key=scores.__getitem__)]
        except NotSupportedError:
            pass
    reply = backend.chat(conversation, params or GenerationParams(max_tokens=32))
    chosen = match_option(reply, options)
    if chosen is None:
        raise ChoiceError(f"the reply {reply[:200]!r} matches none of the options {options!r}")
    return chosen
