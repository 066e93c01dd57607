"""The data-generation flywheel: plan -> generate -> train -> evaluate -> analyse -> revise.

==============  ===================================================================
module          contents
==============  ===================================================================
loop            FlywheelConfig, Flywheel, run_flywheel, stop_decision
sampling        draw_specs (per-class quota, widened and separated ranges, wider
                scenes), revised_activity, uniform_settings, split_range
revise          analyse (weak classes, confused pairs, misclassified samples),
                revise_settings (decisions by code), separation_ranges
describe        describe: LLM descriptions of weak/confused classes, structured
                output, the planner's paraphrase filter
state           ClassPlan, Revision, RoundState, FlywheelIndex, Analysis,
                Evaluation; atomic JSON; FlywheelError
report          write_report (report.md, accuracy-per-round and confusion PNGs)
recipe          RunOptions, run_recipe, RecipeError, evaluate_real_folder: the
                one-shot plan -> generate -> train -> evaluate of ``mmexpert run``
==============  ===================================================================
"""

from mmexpert.flywheel.loop import Flywheel, FlywheelConfig, run_flywheel, stop_decision
from mmexpert.flywheel.revise import analyse, revise_settings, separation_ranges
from mmexpert.flywheel.sampling import draw_specs, revised_activity, uniform_settings
from mmexpert.flywheel.state import (
    Analysis,
    ClassPlan,
    ConfusedPair,
    Evaluation,
    FlywheelError,
    FlywheelIndex,
    Revision,
    RoundState,
)

__all__ = [
    "Analysis",
    "ClassPlan",
    "ConfusedPair",
    "Evaluation",
    "Flywheel",
    "FlywheelConfig",
    "FlywheelError",
    "FlywheelIndex",
    "Revision",
    "RoundState",
    "analyse",
    "draw_specs",
    "revise_settings",
    "revised_activity",
    "run_flywheel",
    "separation_ranges",
    "stop_decision",
    "uniform_settings",
]
