"""What the planner hands to the dataset engine: one :class:`SampleSpec` per sample.

A spec is complete and self-contained: the motion program that will be synthesized, the
texts that describe it (so text and radar never disagree), the scene around the person
and the seed. The engine derives the sample key from it, the radar config and the
generator version, so the same spec always gives the same stored sample.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mmexpert.motion.program import MotionProgram

QuestionKind = Literal["category", "temporal", "intent", "detail"]


class QAPair(BaseModel):
    """One question about a sample and its answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: QuestionKind  # activity category, temporal structure, physical intent, detail
    question: str = Field(min_length=3)
    answer: str = Field(min_length=1)


class SceneSpec(BaseModel):
    """The surroundings of the person (radar mounting and room)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mount_height_m: float = Field(1.0, ge=0.2, le=3.0, description="radar height [m]")
    room: Literal["empty", "demo"] = "empty"  # see mmexpert.data.simulation rooms


class SampleSpec(BaseModel):
    """One sample to generate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    activity: str = Field(min_length=1)  # canonical activity name of the plan's vocabulary
    description: str = Field(min_length=3)  # the planner's one-sentence description
    program: MotionProgram  # what is synthesized
    captions: list[str] = Field(min_length=1)  # describe the synthesized motion
    qa: list[QAPair] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)  # strategy / variant tags
    scene: SceneSpec = Field(default_factory=SceneSpec)
    seed: int = Field(0, ge=0)  # motion style and receiver noise
