"""Planning: scenario text -> activity vocabulary -> strategies -> quotas -> sample specs.

Follows the shape of mmExpert's data-generation flywheel (vocabulary rewrite, planning
strategies, subtasks with quotas, batched descriptions with dedup, repair), adapted to a
small embedded LLM (DESIGN.md section 8): the LLM proposes activity names and weights
enumerated strategies, while programs, canonical captions and QA answers are generated from
the motion library, so text never disagrees with the radar; LLM paraphrases are kept only
when they keep the key facts and stay close in meaning (sentence-embedding cosine).

==============  ===================================================================
module          contents
==============  ===================================================================
spec            SampleSpec, QAPair, SceneSpec: the hand-off to the dataset engine
activities      ACTIVITY_TABLE / ACTIVITIES: activity names and synonyms grounded in
                motion primitives (weights, parameter ranges, lead-ins, intent,
                body parts, confusable activities); check_table
strategies      STRATEGIES (enumerated), apportion (largest remainder),
                strategy_primitives
programs        sample_program: a validated MotionProgram, tags and scene per draw
captions        canonical_caption, key_facts, contradiction, make_qa
encoder         MiniLMEncoder (all-MiniLM-L6-v2, offline), NgramEncoder (lexical,
                for dry runs), SimilarityThresholds, make_encoder
planner         make_plan, Plan, PlanReport, Vocabulary, save_plan, load_plan,
                PlanError
==============  ===================================================================

References: Reimers & Gurevych, Sentence-BERT (EMNLP 2019); Allal et al., SmolLM2
(arXiv:2502.02737, 2025).
"""

from mmexpert.plan.activities import ACTIVITIES, ACTIVITY_TABLE, Activity, PrimitiveUse
from mmexpert.plan.captions import canonical_caption, key_facts, make_qa
from mmexpert.plan.encoder import (
    ENCODERS,
    EncoderUnavailableError,
    MiniLMEncoder,
    NgramEncoder,
    SimilarityThresholds,
    make_encoder,
)
from mmexpert.plan.planner import (
    Plan,
    PlanError,
    PlanReport,
    StrategyWeight,
    Subtask,
    Vocabulary,
    VocabularyEntry,
    load_plan,
    make_plan,
    save_plan,
    scenario_mentions,
)
from mmexpert.plan.programs import sample_program
from mmexpert.plan.spec import QAPair, RoomSpec, SampleSpec, SceneSpec
from mmexpert.plan.strategies import STRATEGIES, Strategy, apportion

__all__ = [
    "ACTIVITIES",
    "ACTIVITY_TABLE",
    "ENCODERS",
    "STRATEGIES",
    "Activity",
    "EncoderUnavailableError",
    "MiniLMEncoder",
    "NgramEncoder",
    "Plan",
    "PlanError",
    "PlanReport",
    "PrimitiveUse",
    "QAPair",
    "RoomSpec",
    "SampleSpec",
    "SceneSpec",
    "SimilarityThresholds",
    "Strategy",
    "StrategyWeight",
    "Subtask",
    "Vocabulary",
    "VocabularyEntry",
    "apportion",
    "canonical_caption",
    "key_facts",
    "load_plan",
    "make_encoder",
    "make_plan",
    "make_qa",
    "sample_program",
    "save_plan",
    "scenario_mentions",
]
