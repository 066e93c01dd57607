"""The planner: a scenario sentence -> a validated, deduplicated, balanced dataset plan.

Stages (mmExpert's shape, DESIGN.md section 8 for the small model):

1. ``plan.vocabulary``: the LLM lists activity names; they are matched to the activity table
   (:mod:`mmexpert.plan.activities`) by sentence-embedding similarity, with
   :func:`mmexpert.llm.choose` deciding between two equally close entries. Activities the
   scenario names literally are always in. Names that match nothing are reported.
2. ``plan.strategies``: the LLM rates each enumerated strategy low / medium / high by scoring
   the three options (defaults where the backend cannot score).
3. Quotas: activities get equal shares, each activity's share is split over its applicable
   strategies by weight (largest remainder, exact sums).
4. ``plan.paraphrase``: in batches, each sample's motion program is drawn (seeded), its
   canonical caption generated from the program, the LLM paraphrases it, and paraphrases are
   kept only if they keep the key facts and stay close in meaning to the canonical caption.
   Near-duplicate samples are resampled.
5. Repair: subtasks left short (dedup, invalid draws) get more attempts with widened
   parameter ranges, then other strategies of the same activity.
6. QA: four pairs per sample, answers read off the program.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mmexpert.llm import (
    CacheMiss,
    GenerationParams,
    LLMBackend,
    LLMError,
    Message,
    StructuredOutputError,
    choose,
    complete_structured,
)
from mmexpert.motion import MotionProgram, ProgramError
from mmexpert.plan.activities import ACTIVITIES, ACTIVITY_TABLE, Activity
from mmexpert.plan.captions import (
    KeyFacts,
    canonical_caption,
    contradiction,
    key_facts,
    make_qa,
)
from mmexpert.plan.encoder import SentenceEncoder, make_encoder
from mmexpert.plan.programs import DISTANCE_SPAN_M, NOISE_FIGURE_OFFSET_SPAN_DB, sample_program
from mmexpert.plan.spec import SampleSpec, SceneSpec
from mmexpert.plan.strategies import (
    RELEVANCE_WEIGHTS,
    STRATEGIES,
    apportion,
    strategy_primitives,
)

SYSTEM_PROMPT = (
    "You help design datasets for human activity recognition with a millimetre-wave radar. "
    "Answer briefly and stay on topic."
)


VOCABULARY_QUESTION = (
    "List the distinct human activities (body movements) the radar must recognise in this "
    'scenario, as short names, in JSON: {"activities": [...]}'
)
FEW_SHOT_SCENARIO = "a radar beside a swimming pool that recognises diving and swimming strokes."
FEW_SHOT_ANSWER = '{"activities": ["diving", "swimming freestyle", "swimming backstroke"]}'


class PlanError(ValueError):
    """A plan cannot be made (no activity recognised, quotas impossible, bad arguments)."""


# ---------------------------------------------------------------- plan data model


class VocabularyEntry(BaseModel):
    """One activity of the plan's vocabulary, grounded in primitives."""

    model_config = ConfigDict(extra="forbid")

    name: str  # canonical name (activity table)
    synonyms: list[str]
    primitives: list[str]
    source: Literal["scenario", "llm", "contrast"]  # why it is in the plan
    proposed_as: list[str] = Field(default_factory=list)  # the LLM's names mapped to it
    similarity: float = 1.0  # best cosine of a proposed name to the entry


class UnmatchedActivity(BaseModel):
    """An LLM-proposed name that matches no table entry closely enough."""

    model_config = ConfigDict(extra="forbid")

    name: str
    closest: str
    similarity: float


class Vocabulary(BaseModel):
    """The activity vocabulary and what was left out."""

    model_config = ConfigDict(extra="forbid")

    activities: list[VocabularyEntry]
    unmatched: list[UnmatchedActivity] = Field(default_factory=list)
    suggested: list[str] = Field(default_factory=list)  # LLM matches not used (see stage 1)
    llm_names: list[str] = Field(default_factory=list)  # the LLM's raw list


class StrategyWeight(BaseModel):
    """A strategy with the relevance the LLM gave it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    relevance: Literal["low", "medium", "high", "default"]
    weight: float


class Subtask(BaseModel):
    """Samples of one activity under one strategy."""

    model_config = ConfigDict(extra="forbid")

    activity: str
    strategy: str
    quota: int
    produced: int = 0


class PlanReport(BaseModel):
    """What happened while planning."""

    model_config = ConfigDict(extra="forbid")

    backend: str
    encoder: str
    thresholds: dict[str, float]
    llm_calls: int = 0
    llm_failures: list[str] = Field(default_factory=list)
    paraphrases_requested: int = 0
    paraphrases_kept: int = 0
    paraphrases_rejected: dict[str, int] = Field(default_factory=dict)  # by reason
    rejected_examples: list[str] = Field(default_factory=list)  # a few, for inspection
    duplicates_resampled: int = 0
    invalid_programs: int = 0
    repairs: int = 0
    counts_by_activity: dict[str, int] = Field(default_factory=dict)
    counts_by_tag: dict[str, int] = Field(default_factory=dict)


Population = Literal["any", "elder", "child", "adult"]

POPULATION_WORDS: dict[str, tuple[str, ...]] = {
    "elder": (
        "elderly",
        "senior",
        "seniors",
        "old people",
        "older adults",
        "aged",
        "grandma",
        "grandpa",
        "grandmother",
        "grandfather",
        "retirement",
        "nursing home",
    ),
    "child": ("child", "children", "kid", "kids", "toddler", "toddlers", "pupils", "school"),
}
"""Scenario words that say who the subjects are."""


def scenario_population(scenario: str) -> Population:
    """Who the scenario is about: "elder", "child" or "any" (word match, documented above)."""
    text = f" {_normalize(scenario)} "
    for population, words in POPULATION_WORDS.items():
        if any(f" {_normalize(word)} " in text for word in words):
            return population  # type: ignore[return-value]
    return "any"


class Plan(BaseModel):
    """A dataset plan: what :func:`mmexpert.data.engine.load_specs` reads (``samples``)."""

    model_config = ConfigDict(extra="forbid")

    scenario: str
    count: int
    seed: int
    population: Population = "any"  # who the subjects mostly are
    # span of the scenes' noise-figure offsets [dB]; None: planned before it was recorded
    noise_figure_span_db: tuple[float, float] | None = None
    # span of the person's start distance [m]; None: planned before it was recorded (1-5 m)
    distance_span_m: tuple[float, float] | None = None
    vocabulary: Vocabulary
    strategies: list[StrategyWeight]
    subtasks: list[Subtask]
    samples: list[SampleSpec]
    report: PlanReport
    timings_s: dict[str, float] = Field(default_factory=dict, exclude=True)  # not saved

    def report_lines(self) -> list[str]:
        """How the plan was made, as plain text lines: who the subjects are, LLM calls and
        the paraphrase / duplicate filters, activities left out and LLM suggestions."""
        lines = []
        if self.population != "any":
            lines.append(f"subjects: mostly {self.population} (the scenario says so)")
        report = self.report
        lines.append(
            f"LLM calls {report.llm_calls}, failures {len(report.llm_failures)}; paraphrases "
            f"kept {report.paraphrases_kept}, rejected {sum(report.paraphrases_rejected.values())}"
            f"; near-duplicates resampled {report.duplicates_resampled}; repairs {report.repairs}"
        )
        for unmatched in self.vocabulary.unmatched:
            lines.append(
                f"unmatched activity {unmatched.name!r} (closest {unmatched.closest!r}, cosine "
                f"{unmatched.similarity:.2f}): not in the motion library, left out"
            )
        if self.vocabulary.suggested:
            lines.append(f"LLM suggested, not used: {', '.join(self.vocabulary.suggested)}")
        return lines


# ---------------------------------------------------------------- LLM stages


class ActivityList(BaseModel):
    """The LLM's reply to the vocabulary question."""

    activities: list[str] = Field(min_length=1)

    @field_validator("activities", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        cleaned = []
        for item in value:
            if isinstance(item, dict):  # e.g. {"name": "walking", ...}
                item = item.get("name") or item.get("activity") or ""
            text = " ".join(str(item).strip().strip(".").split()).lower()
            if len(text) >= 3 and len(text.split()) <= 6 and len(text) <= 60:
                cleaned.append(text)
        # a small model loops ("jumping", "jumping", ...): keep the first 12 distinct names
        return list(dict.fromkeys(cleaned))[:12]


def _normalize(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower().replace("-", " ")).split())


def scenario_mentions(scenario: str) -> list[str]:
    """Table activities whose canonical name or a synonym occurs literally in ``scenario``.

    Longer phrases win over shorter ones inside them ("jumping jacks" is not also
    "jumping"). Returns canonical names in order of first mention.
    """
    text = f" {_normalize(scenario)} "
    spans: list[tuple[int, int, str]] = []
    for activity in ACTIVITY_TABLE:
        for name in dict.fromkeys((activity.name, *activity.synonyms)):
            for form in (name, f"{name}s", f"{name}es"):  # "waves", "claps", "punches"
                phrase = f" {_normalize(form)} "
                position = text.find(phrase)
                while position >= 0:
                    spans.append((position, position + len(phrase) - 1, activity.name))
                    position = text.find(phrase, position + 1)
    taken: list[tuple[int, int, str]] = []
    for start, end, owner in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0])):
        if all(end <= other_start or start >= other_end for other_start, other_end, _ in taken):
            taken.append((start, end, owner))
    return list(dict.fromkeys(owner for _, _, owner in sorted(taken)))


class _Planner:
    """State shared by the stages of one :func:`make_plan` call."""

    def __init__(
        self, scenario: str, backend: LLMBackend, encoder: SentenceEncoder, report: PlanReport
    ) -> None:
        self.scenario = scenario
        self.backend = backend
        self.encoder = encoder
        self.report = report
        self._table_texts: list[str] = []
        self._table_owner: list[str] = []
        for activity in ACTIVITY_TABLE:
            for text in dict.fromkeys((activity.name, *activity.synonyms)):
                self._table_texts.append(text)
                self._table_owner.append(activity.name)
        self._table_vectors: np.ndarray | None = None

    # -------------------------------------------------------------- vocabulary

    def match(self, name: str) -> tuple[str, float, list[tuple[str, float]]]:
        """Best table entry for a proposed name: (canonical, cosine, ranked candidates)."""
        normalized = _normalize(name)
        for text, owner in zip(self._table_texts, self._table_owner, strict=True):
            if _normalize(text) == normalized:
                return owner, 1.0, [(owner, 1.0)]
        if self._table_vectors is None:
            self._table_vectors = self.encoder.encode(self._table_texts)
        vector = self.encoder.encode([name])[0]
        cosines = self._table_vectors @ vector
        best: dict[str, float] = {}
        for owner, cosine in zip(self._table_owner, cosines, strict=True):
            best[owner] = max(best.get(owner, -1.0), float(cosine))
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        return ranked[0][0], ranked[0][1], ranked

    def vocabulary(self) -> Vocabulary:
        """Stage 1: the activity vocabulary."""
        mentioned = scenario_mentions(self.scenario)
        messages = [
            Message.system(SYSTEM_PROMPT),
            # one worked example (in a domain the table does not cover, so that a copied
            # answer is reported as unmatched instead of slipping in): SmolLM2 copies the
            # "<text>" placeholders of a schema hint, but follows an example's format
            Message.user(f"Scenario: {FEW_SHOT_SCENARIO}\n{VOCABULARY_QUESTION}"),
            Message.assistant(FEW_SHOT_ANSWER),
            Message.user(f"Scenario: {self.scenario}\n{VOCABULARY_QUESTION}"),
        ]
        llm_names: list[str] = []
        self.report.llm_calls += 1
        try:
            reply = complete_structured(
                self.backend,
                messages,
                ActivityList,
                max_attempts=3,
                stage="plan.vocabulary",
                params=GenerationParams(max_tokens=60),
                include_schema=False,
            )
            llm_names = list(dict.fromkeys(reply.activities))
        except StructuredOutputError as error:
            if not mentioned:
                raise
            self.report.llm_failures.append(
                f"plan.vocabulary: no valid list after {error.attempts} attempts; using the "
                f"{len(mentioned)} activities the scenario names (last reply: "
                f"{error.raw_reply[:120]!r})"
            )
        thresholds = self.encoder.thresholds
        matched: dict[str, VocabularyEntry] = {}
        unmatched: list[UnmatchedActivity] = []
        for name in llm_names:
            owner, cosine, ranked = self.match(name)
            if cosine < thresholds.activity_match:
                unmatched.append(
                    UnmatchedActivity(name=name, closest=owner, similarity=round(cosine, 3))
                )
                continue
            if (
                len(ranked) > 1
                and ranked[1][1] >= thresholds.activity_match
                and cosine - ranked[1][1] < thresholds.activity_margin
                and self.backend.supports_scoring
            ):
                question = [
                    Message.system(SYSTEM_PROMPT),
                    Message.user(f'Which activity does "{name}" mean?'),
                ]
                self.report.llm_calls += 1
                try:
                    owner = choose(self.backend, question, [ranked[0][0], ranked[1][0]])
                except CacheMiss:
                    raise
                except LLMError as error:
                    self.report.llm_failures.append(f"plan.vocabulary.choose: {error}")
                cosine = dict(ranked)[owner]
            entry = matched.get(owner)
            if entry is None:
                activity = ACTIVITIES[owner]
                entry = VocabularyEntry(
                    name=owner,
                    synonyms=list(activity.synonyms),
                    primitives=[use.primitive for use in activity.uses],
                    source="llm",
                    similarity=round(cosine, 3),
                )
                matched[owner] = entry
            if name not in entry.proposed_as:
                entry.proposed_as.append(name)
            if name not in entry.synonyms and name != owner:
                entry.synonyms.append(name)
        entries: list[VocabularyEntry] = []
        suggested: list[str] = []
        if len(mentioned) >= 2:
            # an explicit scenario: its named activities are the classes; other LLM picks
            # are suggestions only (a small model adds plausible but unwanted classes)
            for name in mentioned:
                entry = matched.get(name) or self._entry(name, "scenario")
                entry.source = "scenario"
                entries.append(entry)
            suggested = [name for name in matched if name not in mentioned]
        else:
            for name in mentioned:
                entries.append(matched.get(name) or self._entry(name, "scenario"))
                if name in matched:
                    entries[-1].source = "scenario"
            entries += [entry for name, entry in matched.items() if name not in mentioned]
            # a scenario about one activity ("fall detection") needs negatives: its
            # look-alikes, which a detector must not confuse with it
            anchors = mentioned or [entry.name for entry in entries]
            if len(anchors) == 1:
                for other in ACTIVITIES[anchors[0]].confusable:
                    if all(entry.name != other for entry in entries):
                        entries.append(self._entry(other, "contrast"))
        if not entries:
            listing = (
                ", ".join(
                    f"{u.name!r} (closest {u.closest!r}, {u.similarity:.2f})" for u in unmatched
                )
                or "none"
            )
            raise PlanError(
                f"no activity of the motion library matches the scenario {self.scenario!r}; "
                f"the LLM proposed: {listing}. Name activities such as "
                f"{', '.join(a.name for a in ACTIVITY_TABLE[:8])}."
            )
        return Vocabulary(
            activities=entries, unmatched=unmatched, suggested=suggested, llm_names=llm_names
        )

    @staticmethod
    def _entry(name: str, source: Literal["scenario", "llm", "contrast"]) -> VocabularyEntry:
        activity = ACTIVITIES[name]
        return VocabularyEntry(
            name=name,
            synonyms=list(activity.synonyms),
            primitives=[use.primitive for use in activity.uses],
            source=source,
        )

    # -------------------------------------------------------------- strategies

    def strategies(self, vocabulary: Vocabulary) -> list[StrategyWeight]:
        """Stage 2: weight each enumerated strategy."""
        if not self.backend.supports_scoring:
            return [
                StrategyWeight(name=s.name, relevance="default", weight=s.default_weight)
                for s in STRATEGIES.values()
            ]
        names = ", ".join(entry.name for entry in vocabulary.activities)
        options = list(RELEVANCE_WEIGHTS)

        def question(scenario: str, activities: str, description: str) -> list[Message]:
            return [
                Message.system(SYSTEM_PROMPT),
                Message.user(
                    f"Scenario: {scenario}\nActivities: {activities}\n"
                    f"How important are {description} for this dataset?\n"
                    f"Answer with exactly one of: {', '.join(options)}."
                ),
            ]

        # contextual calibration (Zhao et al., ICML 2021): a small model prefers some
        # answers whatever the question; subtract its scores on a content-free question
        self.report.llm_calls += 1
        try:
            prior = self.backend.score_choices(
                question("N/A", "N/A", "N/A"), options, complete=True
            )
        except CacheMiss:
            raise
        except LLMError as error:
            self.report.llm_failures.append(f"plan.strategies (calibration): {error}")
            prior = [0.0] * len(options)
        weights = []
        for strategy in STRATEGIES.values():
            self.report.llm_calls += 1
            try:
                scores = self.backend.score_choices(
                    question(self.scenario, names, strategy.description), options, complete=True
                )
                if len(scores) != len(options):
                    raise LLMError(f"{len(scores)} scores for {len(options)} options")
                calibrated = [score - base for score, base in zip(scores, prior, strict=True)]
                relevance = options[int(np.argmax(calibrated))]
                weights.append(
                    StrategyWeight(
                        name=strategy.name,
                        relevance=relevance,  # type: ignore[arg-type]
                        weight=RELEVANCE_WEIGHTS[relevance],
                    )
                )
            except CacheMiss:
                raise
            except LLMError as error:
                self.report.llm_failures.append(f"plan.strategies ({strategy.name}): {error}")
                weights.append(
                    StrategyWeight(
                        name=strategy.name, relevance="default", weight=strategy.default_weight
                    )
                )
        return weights

    # -------------------------------------------------------------- paraphrases

    def paraphrase(
        self,
        caption: str,
        activity: str,
        program_facts: KeyFacts,
        vocabulary: list[str],
        count: int,
        seed: int,
    ) -> list[str]:
        """Stage 4: up to ``count`` filtered LLM paraphrases of ``caption``."""
        if count <= 0:
            return []
        kept: list[str] = []
        kept_vectors: list[np.ndarray] = []
        caption_vector = self.encoder.encode([caption])[0]
        thresholds = self.encoder.thresholds
        for attempt in range(2):
            messages = [
                Message.system(SYSTEM_PROMPT),
                Message.user(
                    f"Rewrite this sentence in {count} different ways. Keep every fact: who, "
                    "what they do, how many times, which hand or side, which direction. "
                    "Write one sentence per line, nothing else.\n\n"
                    f"Sentence: {caption}"
                ),
            ]
            params = GenerationParams(
                temperature=0.8, top_p=0.95, seed=seed + attempt, max_tokens=45 * count
            )
            self.report.llm_calls += 1
            self.report.paraphrases_requested += count
            try:
                raw = self.backend.chat(messages, params)
            except CacheMiss:
                raise
            except LLMError as error:
                self.report.llm_failures.append(f"plan.paraphrase: {error}")
                continue
            candidates = _split_lines(raw)
            if not candidates:
                self._reject("empty or unparseable reply", raw)
                continue
            vectors = self.encoder.encode(candidates)
            for text, vector in zip(candidates, vectors, strict=True):
                reason = contradiction(text, program_facts, vocabulary)
                cosine = float(vector @ caption_vector)
                if not reason and _normalize(text) == _normalize(caption):
                    reason = "copies the caption"
                if not reason and cosine < thresholds.paraphrase_keep:
                    reason = "meaning drifted (cosine below threshold)"
                duplicate = any(float(vector @ v) >= thresholds.duplicate for v in kept_vectors)
                if not reason and duplicate:
                    reason = "near-duplicate of a kept paraphrase"
                if reason:
                    self._reject(reason, f"{text} [cos {cosine:.2f}]")
                    continue
                kept.append(text)
                kept_vectors.append(vector)
                if len(kept) == count:
                    break
            if kept:
                break
        self.report.paraphrases_kept += len(kept)
        return kept

    def _reject(self, reason: str, text: str) -> None:
        rejected = self.report.paraphrases_rejected
        rejected[reason] = rejected.get(reason, 0) + 1
        if len(self.report.rejected_examples) < 12:
            self.report.rejected_examples.append(f"{reason}: {text[:160]}")


_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.):]|\(\d+\)|[a-z][.)])\s*", re.IGNORECASE)
_LABEL = re.compile(r"^\s*(?:[A-Za-z]+\s+){0,3}[A-Za-z]*\s*\d*\s*:\s+")
"""A short label before a colon ("Rewrite:", "Said Sentence 1:")."""


def _split_lines(raw: str) -> list[str]:
    """Candidate sentences of a paraphrase reply (bullets, quotes and chatter removed)."""
    out = []
    for line in raw.replace("\r", "").split("\n"):
        text = _BULLET.sub("", line)
        text = _LABEL.sub("", text).strip().strip('"').strip("'").strip()
        if not text or text.endswith(":") or text.startswith(("{", "[", "<", "```")):
            continue
        lower = text.lower()
        if lower.startswith(("here are", "here is", "sure", "note")):
            continue
        words = text.split()
        if not 4 <= len(words) <= 45:
            continue
        if not text.endswith((".", "!")):
            text += "."
        out.append(text[0].upper() + text[1:])
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------- the pipeline


def _sample_seed(seed: int, *keys: int) -> int:
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0] & 0x7FFFFFFF)


def _ordered_span(span: tuple[float, float], what: str, unit: str) -> tuple[float, float]:
    """``(low, high)`` of a span option; PlanError when it is reversed."""
    low, high = span
    if low > high:
        raise PlanError(f"{what} span {low}..{high} {unit}: the low end exceeds the high end")
    return low, high


def check_noise_figure_span(span_db: tuple[float, float]) -> None:
    """Refuse a noise-figure span [dB] that is reversed or that a scene spec cannot hold.

    Raises
    ------
    PlanError
        Naming the bad bound.
    """
    low, high = _ordered_span(span_db, "noise-figure", "dB")
    for bound in (low, high):
        try:
            SceneSpec(noise_figure_offset_db=bound)
        except ValidationError as error:
            reason = error.errors()[0]["msg"]
            raise PlanError(f"noise-figure offset {bound} dB: {reason}") from None


MAX_PLANNED_DISTANCE_M = 15.0  # farthest start distance a plan may ask for [m]


def check_distance_span(span_m: tuple[float, float]) -> None:
    """Refuse a start-distance span [m] that is reversed or outside 0.5-15 m.

    Raises
    ------
    PlanError
        Naming the bad bound.
    """
    low, high = _ordered_span(span_m, "distance", "m")
    if not (low >= 0.5 and high <= MAX_PLANNED_DISTANCE_M):  # NaN fails too
        raise PlanError(
            f"distance span {low}..{high} m: a person starts 0.5-{MAX_PLANNED_DISTANCE_M:g} m "
            "from the radar"
        )


def make_plan(
    scenario: str,
    count: int,
    backend: LLMBackend,
    seed: int = 0,
    encoder: SentenceEncoder | None = None,
    progress: bool = True,
    paraphrases: int = 2,
    batch_size: int = 8,
    noise_figure_span_db: tuple[float, float] = NOISE_FIGURE_OFFSET_SPAN_DB,
    distance_span_m: tuple[float, float] = DISTANCE_SPAN_M,
) -> Plan:
    """Plan ``count`` samples for ``scenario``.

    Parameters
    ----------
    scenario : str
        The application, in one or a few sentences.
    count : int
        Number of samples (>= 1); the plan has exactly this many.
    backend : LLMBackend
        The LLM (wrap it in :class:`~mmexpert.llm.CachedBackend` to replay).
    seed : int
        Seeds every random draw; with the same LLM replies the plan is identical.
    encoder : SentenceEncoder, optional
        Default: :class:`~mmexpert.plan.encoder.MiniLMEncoder`.
    progress : bool
        Show a progress bar on stderr.
    paraphrases : int
        LLM paraphrases asked per sample (0: canonical captions only).
    batch_size : int
        Samples drawn and deduplicated together.
    noise_figure_span_db : (float, float)
        The scenes' noise-figure offsets are uniform over this span [dB]
        (``mmexpert calibrate`` finds a device's).
    distance_span_m : (float, float)
        The person starts this far from the radar [m], log-uniform (the realism report's
        ``mover_range`` shows where the person of real recordings is).

    Returns
    -------
    Plan
        Vocabulary, strategy weights, quotas, samples and the report.

    Raises
    ------
    PlanError
        Bad arguments, no recognisable activity, or quotas impossible to fill.
    StructuredOutputError
        The vocabulary stage got no valid reply and the scenario names no activity.
    """
    if count < 1:
        raise PlanError(f"count must be >= 1, got {count}")
    if not scenario.strip():
        raise PlanError("the scenario is empty")
    if seed < 0:
        raise PlanError(f"seed must be >= 0, got {seed}")
    check_noise_figure_span(noise_figure_span_db)
    check_distance_span(distance_span_m)
    encoder = encoder or make_encoder("minilm")
    thresholds = encoder.thresholds
    report = PlanReport(
        backend=f"{backend.name}:{backend.model_id}",
        encoder=encoder.name,
        thresholds={
            "activity_match": thresholds.activity_match,
            "paraphrase_keep": thresholds.paraphrase_keep,
            "duplicate": thresholds.duplicate,
        },
    )
    planner = _Planner(scenario, backend, encoder, report)
    population = scenario_population(scenario)
    timings: dict[str, float] = {}

    start = time.perf_counter()
    vocabulary = planner.vocabulary()
    timings["vocabulary"] = time.perf_counter() - start
    start = time.perf_counter()
    strategies = planner.strategies(vocabulary)
    timings["strategies"] = time.perf_counter() - start

    # quotas: equal per activity, then by strategy weight over the applicable strategies
    names = [entry.name for entry in vocabulary.activities]
    per_activity = apportion(count, [1.0] * len(names))
    weight_of = {s.name: s.weight for s in strategies}
    subtasks: list[Subtask] = []
    for name, share in zip(names, per_activity, strict=True):
        applicable = [s for s in STRATEGIES if strategy_primitives(ACTIVITIES[name], s)]
        for strategy, quota in zip(
            applicable, apportion(share, [weight_of[s] for s in applicable]), strict=True
        ):
            if quota > 0:
                subtasks.append(Subtask(activity=name, strategy=strategy, quota=quota))

    start = time.perf_counter()
    accepted_keys: set[str] = set()
    accepted_vectors: list[np.ndarray] = []
    drafts: list[tuple[int, Activity, str, MotionProgram, list[str], SceneSpec, int]] = []

    def draw(subtask_index: int, slot: int, strategy: str, widen: bool, attempts: int) -> bool:
        activity = ACTIVITIES[subtasks[subtask_index].activity]
        for attempt in range(attempts):
            sample_seed = _sample_seed(seed, subtask_index, slot, attempt, int(widen))
            rng = np.random.default_rng(sample_seed)
            try:
                program, tags, scene = sample_program(
                    activity,
                    strategy,
                    rng,
                    widen=widen,
                    population=population,
                    noise_figure_span_db=noise_figure_span_db,
                    distance_span_m=distance_span_m,
                )
            except ProgramError:
                report.invalid_programs += 1
                continue
            caption = canonical_caption(program)
            key = _normalize(caption)
            vector = encoder.encode([caption])[0]
            if key in accepted_keys or any(
                float(vector @ other) >= thresholds.duplicate for other in accepted_vectors
            ):
                report.duplicates_resampled += 1
                continue
            accepted_keys.add(key)
            accepted_vectors.append(vector)
            drafts.append((subtask_index, activity, caption, program, tags, scene, sample_seed))
            subtasks[subtask_index].produced += 1
            return True
        return False

    for index, subtask in enumerate(subtasks):
        for slot in range(subtask.quota):
            draw(index, slot, subtask.strategy, widen=False, attempts=4)

    # repair: under-represented subtasks get more, wider draws; then other strategies
    for index, subtask in enumerate(subtasks):
        slot = subtask.quota
        while subtask.produced < subtask.quota and slot < subtask.quota + 40:
            if draw(index, slot, subtask.strategy, widen=True, attempts=1):
                report.repairs += 1
            slot += 1
        if subtask.produced < subtask.quota:
            activity = ACTIVITIES[subtask.activity]
            for strategy in STRATEGIES:
                while subtask.produced < subtask.quota and strategy_primitives(activity, strategy):
                    if not draw(index, slot, strategy, widen=True, attempts=20):
                        break
                    report.repairs += 1
                    slot += 1
        if subtask.produced < subtask.quota:
            raise PlanError(
                f"cannot fill the quota of {subtask.quota} for {subtask.activity!r} "
                f"({subtask.strategy}): only {subtask.produced} distinct samples found; the "
                "activity's motion space is too small for this count"
            )
    timings["programs"] = time.perf_counter() - start

    # paraphrases and QA, in the drafts' deterministic order
    start = time.perf_counter()
    drafts.sort(key=lambda d: (d[0], d[6]))
    samples: list[SampleSpec] = []
    iterator = range(0, len(drafts), batch_size)
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task("paraphrasing", total=len(drafts))
    try:
        for batch_start in iterator:
            for draft in drafts[batch_start : batch_start + batch_size]:
                _, activity, caption, program, tags, scene, sample_seed = draft
                facts = key_facts(caption, activity.name, program)
                extra = planner.paraphrase(
                    caption, activity.name, facts, names, paraphrases, sample_seed
                )
                qa = make_qa(program, activity, tags, np.random.default_rng(sample_seed + 1))
                samples.append(
                    SampleSpec(
                        activity=activity.name,
                        description=caption,
                        program=program,
                        captions=[caption, *extra],
                        qa=qa,
                        tags=tags,
                        scene=scene,
                        seed=sample_seed,
                    )
                )
                if bar is not None:
                    bar.advance(task)
    finally:
        if bar is not None:
            bar.stop()
    timings["paraphrase"] = time.perf_counter() - start

    report.counts_by_activity = dict(Counter(s.activity for s in samples))
    report.counts_by_tag = dict(sorted(Counter(t for s in samples for t in s.tags).items()))
    if len(samples) != count:
        raise PlanError(f"internal: planned {len(samples)} samples instead of {count}")
    plan = Plan(
        scenario=scenario,
        count=count,
        seed=seed,
        population=population,
        noise_figure_span_db=noise_figure_span_db,
        distance_span_m=distance_span_m,
        vocabulary=vocabulary,
        strategies=strategies,
        subtasks=subtasks,
        samples=samples,
        report=report,
    )
    plan.timings_s = {k: round(v, 3) for k, v in timings.items()}
    return plan


def save_plan(plan: Plan, path: str | Path) -> Path:
    """Write ``plan`` as indented JSON (timings are not saved, so replays are byte-identical)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(plan.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n"
    temporary = target.with_suffix(target.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(target)
    return target


def load_plan(path: str | Path) -> Plan:
    """Read a plan written by :func:`save_plan`.

    Raises
    ------
    PlanError
        If the file is unreadable or not a valid plan.
    """
    try:
        return Plan.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise PlanError(f"cannot read plan {path}: {error}") from None
    except ValueError as error:
        raise PlanError(f"{path} is not a valid plan: {str(error)[:600]}") from None
