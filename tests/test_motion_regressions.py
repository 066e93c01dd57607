"""Regression tests for fixed motion bugs (one per bug)."""

import numpy as np
import pytest

from mmexpert.motion import JOINT_NAMES, synthesize

ELBOWS = [JOINT_NAMES.index("left_elbow"), JOINT_NAMES.index("right_elbow")]
WRISTS = [JOINT_NAMES.index("left_wrist"), JOINT_NAMES.index("right_wrist")]


@pytest.mark.parametrize(
    "primitive", ["wave", "raise_hands", "phone_to_ear", "drink", "boxing", "punch", "push"]
)
def test_arm_gestures_do_not_whip_the_elbow(primitive):
    # Bug: the wrist was blended in a straight line from the hanging pose to the gesture,
    # passing by the shoulder; the IK folded the arm and swung the elbow round at 6-7 m/s
    # while the wrist moved at 1-2 m/s, a micro-Doppler streak no person makes. With the
    # torso still, the elbow (closer to the shoulder) cannot outrun the wrist.
    motion = synthesize({"segments": [{"primitive": primitive}]}, fps=30.0)
    times = np.linspace(0.0, motion.duration_s, int(motion.duration_s * 100) + 1)
    speed = np.linalg.norm(motion.velocities_at(times), axis=-1)
    assert speed[:, ELBOWS].max() <= speed[:, WRISTS].max() * 1.05
