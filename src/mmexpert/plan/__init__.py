"""Planning: scenario text -> activity vocabulary -> strategies -> sample specs.

* ``spec``: :class:`SampleSpec` (activity, description, motion program, captions, QA,
  scene, seed), the hand-off to the dataset engine.
"""

from mmexpert.plan.spec import QAPair, SampleSpec, SceneSpec

__all__ = ["QAPair", "SampleSpec", "SceneSpec"]
