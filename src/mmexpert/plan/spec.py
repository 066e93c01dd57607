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


class RoomSpec(BaseModel):
    """A box-shaped room around the radar (at x = 0, y = 0, looking along +y)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    width_m: float = Field(5.0, ge=2.0, le=20.0, description="side walls at x = +-width/2 [m]")
    depth_m: float = Field(7.0, ge=2.0, le=30.0, description="back wall at y = depth [m]")
    side_wall_reflectivity: float = Field(
        0.0, ge=0.0, le=1.0, description="amplitude reflection of the right wall (0: absent)"
    )
    back_wall_reflectivity: float = Field(
        0.0, ge=0.0, le=1.0, description="amplitude reflection of the back wall (0: absent)"
    )
    furniture: int = Field(0, ge=0, le=20, description="static reflectors, placed by the seed")


NOISE_FIGURE_OFFSET_LIMITS_DB = (-6.0, 24.0)
"""The noise-figure offsets [dB] a scene accepts."""


class SceneSpec(BaseModel):
    """The surroundings of the person and the radar's mounting (domain randomization)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mount_height_m: float = Field(1.0, ge=0.2, le=3.0, description="radar height [m]")
    tilt_rad: float = Field(0.0, ge=-0.6, le=0.6, description="radar pitch, + up [rad]")
    noise_figure_offset_db: float = Field(
        0.0,
        ge=NOISE_FIGURE_OFFSET_LIMITS_DB[0],
        le=NOISE_FIGURE_OFFSET_LIMITS_DB[1],
        description="added to the device's noise figure [dB]",
    )
    # A named room of mmexpert.data.simulation ("empty", "demo") or a parametric one.
    room: Literal["empty", "demo"] | RoomSpec = "empty"


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
