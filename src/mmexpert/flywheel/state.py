"""The flywheel's persisted state: per-class plan settings, revisions, round records.

Everything here is a pydantic model written as JSON with :func:`write_json_atomic` (a
temporary file renamed into place), so a crash leaves either the old or the new file, never
a half-written one. ``DIR/flywheel.json`` is the index; ``DIR/round_XX/state.json`` holds a
round's phases, metrics, analysis and the revisions it made for the next round.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PHASES: tuple[str, ...] = ("planned", "generated", "trained", "evaluated", "revised")
"""The phases of a round, in order (a stopping round ends after ``evaluated``)."""

Phase = Literal["planned", "generated", "trained", "evaluated", "revised"]
RevisionSource = Literal["code", "llm"]

INDEX_NAME = "flywheel.json"
STATE_NAME = "state.json"
PLAN_NAME = "plan.json"


class FlywheelError(RuntimeError):
    """A flywheel run that cannot start or continue (bad arguments, mismatched state...)."""


class ClassPlan(BaseModel):
    """How the next round draws samples of one activity.

    ``widen_level`` 0 draws the activity table's natural parameter ranges; 1 draws the
    primitive's full range for unconstrained parameters and stretches the natural ranges
    half-way to the full range; 2 stretches them all the way and also widens the scene
    randomization (radar height, tilt, noise figure, furniture) and favours varied subjects.
    """

    model_config = ConfigDict(extra="forbid")

    activity: str
    quota: int = Field(ge=0)
    widen_level: int = Field(0, ge=0, le=2)
    # primitive -> parameter -> [low, high]: separation constraints against look-alikes
    ranges: dict[str, dict[str, tuple[float, float]]] = Field(default_factory=dict)
    strategy_boost: dict[str, float] = Field(default_factory=dict)  # strategy -> multiplier
    separate_from: list[str] = Field(default_factory=list)  # activities it was confused with
    llm_descriptions: bool = False  # ask the LLM for extra descriptions of its new samples


class Revision(BaseModel):
    """One change to the plan, with who decided it."""

    model_config = ConfigDict(extra="forbid")

    source: RevisionSource  # "code": decided from the analysis; "llm": written by the LLM
    kind: Literal["quota", "widen", "separate", "descriptions", "llm_fallback"]
    activity: str
    detail: str


class ConfusedPair(BaseModel):
    """``true`` samples predicted as ``predicted``."""

    model_config = ConfigDict(extra="forbid")

    true: str
    predicted: str
    count: int
    rate: float  # count / samples of ``true``


class Misclassified(BaseModel):
    """A misclassified validation sample, with what it showed."""

    model_config = ConfigDict(extra="forbid")

    sample_id: str
    activity: str
    predicted: str
    caption: str
    program: str  # primitives and parameters, compact


class Evaluation(BaseModel):
    """Metrics of one model on one validation set."""

    model_config = ConfigDict(extra="forbid")

    accuracy: float
    macro_f1: float
    per_class: dict[str, float]
    confusion: list[list[int]]
    classes: list[str]
    count: int


class Analysis(BaseModel):
    """What the evaluation says: weak classes, confused pairs, misclassified samples."""

    model_config = ConfigDict(extra="forbid")

    per_class: dict[str, float]
    weak: list[str]
    confused: list[ConfusedPair]
    misclassified: list[Misclassified]


class RoundState(BaseModel):
    """Everything one round did (``DIR/round_XX/state.json``)."""

    model_config = ConfigDict(extra="forbid")

    round: int
    phases: list[Phase] = Field(default_factory=list)
    settings: list[ClassPlan] = Field(default_factory=list)  # what this round planned with
    sample_ids: list[str] = Field(default_factory=list)  # this round's samples (store ids)
    train_ids: int = 0  # samples trained on (all rounds so far)
    generation: dict[str, Any] = Field(default_factory=dict)
    llm_report: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)
    synthetic: Evaluation | None = None
    real: Evaluation | None = None
    real_error: str | None = None
    analysis: Analysis | None = None
    revisions: list[Revision] = Field(default_factory=list)  # code, made after this round
    llm_revisions: list[Revision] = Field(default_factory=list)  # made planning this round
    next_settings: list[ClassPlan] = Field(default_factory=list)
    timings_s: dict[str, float] = Field(default_factory=dict)

    def done(self, phase: str) -> bool:
        """True once ``phase`` has finished."""
        return phase in self.phases


class RoundSummary(BaseModel):
    """One line of the index."""

    model_config = ConfigDict(extra="forbid")

    round: int
    phases: list[Phase]
    samples_new: int
    samples_total: int
    synthetic_accuracy: float | None = None
    real_accuracy: float | None = None
    revisions_code: int = 0
    revisions_llm: int = 0


class FlywheelIndex(BaseModel):
    """``DIR/flywheel.json``: the run's configuration, its rounds and why it stopped."""

    model_config = ConfigDict(extra="forbid")

    config: dict[str, Any]
    classes: list[str] = Field(default_factory=list)
    base_weights: dict[str, float] = Field(default_factory=dict)  # round-0 strategy weights
    population: str = "any"  # who the scenario's subjects are
    validation_ids: list[str] = Field(default_factory=list)  # the validation samples
    rounds: list[RoundSummary] = Field(default_factory=list)
    stop_reason: str | None = None
    best_round: int | None = None


Model = TypeVar("Model", bound=BaseModel)


def write_json_atomic(path: str | os.PathLike[str], data: BaseModel | dict | list) -> Path:
    """Write JSON through a temporary file renamed into place (atomic on POSIX).

    Parameters
    ----------
    path
        Target file; its folder is created.
    data
        A pydantic model or JSON-able data.

    Returns
    -------
    Path
        The written file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", "utf-8")
    temporary.replace(target)
    return target


def read_json_model(path: str | os.PathLike[str], model: type[Model]) -> Model:
    """Read a file written by :func:`write_json_atomic` into ``model``.

    Raises
    ------
    FlywheelError
        Naming the file when it is unreadable or does not match the model.
    """
    try:
        return model.model_validate_json(Path(path).read_text("utf-8"))
    except OSError as error:
        raise FlywheelError(f"cannot read {path}: {error}") from None
    except ValidationError as error:
        raise FlywheelError(f"{path} is not a valid {model.__name__}: {str(error)[:400]}") from None
