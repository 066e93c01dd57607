"""New descriptions of weak or confused classes, written by the LLM and filtered.

This is the one part of a revision the LLM makes. The embedded SmolLM2-135M can rewrite a
sentence but not reason about radar data, so it is given a sample's canonical caption
(generated from its motion program) and asked for rewrites, as JSON (structured output with
repair and retries, :func:`mmexpert.llm.complete_structured`); every rewrite then passes the
planner's paraphrase filter: no contradicted fact (counts, sides, directions, another
activity named, a dropped action; :func:`mmexpert.plan.captions.contradiction`) and a
sentence-embedding cosine to the caption at or above the encoder's ``paraphrase_keep``
threshold. What fails is counted by reason and never used; an LLM error leaves the sample
with its canonical caption and is recorded as a visible fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field, field_validator

from mmexpert.llm import (
    CacheMiss,
    GenerationParams,
    LLMBackend,
    LLMError,
    Message,
    StructuredOutputError,
    complete_structured,
)
from mmexpert.plan import SampleSpec
from mmexpert.plan.captions import contradiction, key_facts
from mmexpert.plan.encoder import SentenceEncoder

SYSTEM_PROMPT = (
    "You help design datasets for human activity recognition with a millimetre-wave radar. "
    "Answer briefly and stay on topic."
)
EXAMPLE_CAPTION = "A tall man waves his left hand 3 times, 2.5 metres in front of the radar."
EXAMPLE_REPLY = (
    '{"descriptions": ["A tall man, 2.5 metres from the radar, waves his left hand 3 times.", '
    '"Standing 2.5 metres in front of the radar, a tall man waves 3 times with his left '
    'hand."]}'
)


class Descriptions(BaseModel):
    """The LLM's reply: rewritten descriptions."""

    descriptions: list[str] = Field(min_length=1)

    @field_validator("descriptions", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        texts = [" ".join(str(item).split()).strip().strip('"') for item in value]
        return list(dict.fromkeys(t for t in texts if 4 <= len(t.split()) <= 45))[:8]


@dataclass
class DescriptionReport:
    """What the LLM description step did in one round."""

    requested: int = 0  # samples asked about
    kept: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # by reason
    failures: list[str] = field(default_factory=list)  # LLM errors / unparseable replies
    examples: list[str] = field(default_factory=list)  # a few kept descriptions

    def to_dict(self) -> dict[str, object]:
        """JSON-able form (saved in the round state)."""
        return {
            "requested": self.requested,
            "kept": self.kept,
            "rejected": dict(sorted(self.rejected.items())),
            "failures": self.failures[:10],
            "examples": self.examples[:6],
        }


def _prompt(spec: SampleSpec, count: int, confused_with: list[str]) -> list[Message]:
    # no JSON skeleton in the question: SmolLM2 copied '{"descriptions": [...]}' verbatim
    # (5 of 20 requests in the documented run); it follows the worked example instead
    hint = ""
    if confused_with:
        hint = (
            f" It is often mistaken for {', '.join(confused_with)}; keep it clearly about "
            f"{spec.activity}."
        )
    question = (
        "Rewrite this description of one person in {n} different ways. Keep every fact: who, "
        "what they do, how many times, which hand or side, which direction, how far.{hint} "
        'Reply in JSON with a "descriptions" list.\n\nDescription: {caption}'
    )
    return [
        Message.system(SYSTEM_PROMPT),
        Message.user(question.format(n=2, hint="", caption=EXAMPLE_CAPTION)),
        Message.assistant(EXAMPLE_REPLY),
        Message.user(question.format(n=count, hint=hint, caption=spec.captions[0])),
    ]


def describe(
    spec: SampleSpec,
    backend: LLMBackend,
    encoder: SentenceEncoder,
    vocabulary: list[str],
    count: int,
    report: DescriptionReport,
    confused_with: list[str] | None = None,
) -> SampleSpec:
    """``spec`` with up to ``count`` filtered LLM descriptions added to its captions.

    Parameters
    ----------
    spec
        A sample whose first caption is the canonical one.
    backend
        The LLM.
    encoder
        Sentence encoder of the paraphrase filter (its ``paraphrase_keep`` threshold).
    vocabulary
        The run's classes (a description naming another one is rejected).
    count
        Descriptions asked for.
    report
        Updated in place: kept, rejected by reason, failures.
    confused_with
        Activities this class was mistaken for (named in the prompt).

    Returns
    -------
    SampleSpec
        The same spec when nothing survives the filter or the LLM fails.
    """
    report.requested += 1
    params = GenerationParams(temperature=0.7, top_p=0.95, seed=spec.seed, max_tokens=50 * count)
    try:
        reply = complete_structured(
            backend,
            _prompt(spec, count, confused_with or []),
            Descriptions,
            max_attempts=2,
            stage="flywheel.describe",
            params=params,
            include_schema=False,
        )
    except CacheMiss:
        raise
    except (StructuredOutputError, LLMError) as error:
        report.failures.append(f"{spec.activity}: {str(error)[:200]}")
        return spec
    caption = spec.captions[0]
    facts = key_facts(caption, spec.activity, spec.program)
    candidates = [text if text.endswith((".", "!")) else text + "." for text in reply.descriptions]
    vectors = encoder.encode([caption, *candidates])
    kept: list[str] = []
    for text, vector in zip(candidates, vectors[1:], strict=True):
        reason = contradiction(text, facts, vocabulary)
        if not reason and " ".join(text.lower().split()) == " ".join(caption.lower().split()):
            reason = "copies the caption"
        if not reason and float(vector @ vectors[0]) < encoder.thresholds.paraphrase_keep:
            reason = "meaning drifted (cosine below threshold)"
        if reason:
            report.rejected[reason] = report.rejected.get(reason, 0) + 1
            continue
        kept.append(text)
        if len(kept) == count:
            break
    report.kept += len(kept)
    report.examples.extend(kept[: max(0, 6 - len(report.examples))])
    if not kept:
        return spec
    return spec.model_copy(update={"captions": [caption, *kept]})
