"""Gait and subject kinematics against published ranges.

* Adult walking: 1.6-2.0 steps/s at 1.2-1.4 m/s (Winter 2009; Bohannon 1997 comfortable
  gait speed ~1.3-1.4 m/s for adults under 60); running 2.6-3.2 steps/s.
* Children take quicker, shorter steps; elders walk slower with shorter strides and a
  smaller range of motion.
* Quiet breathing moves the chest a few millimetres at 0.2-0.3 Hz.
"""

from __future__ import annotations

import numpy as np
import pytest

from mmexpert.motion import Subject, subject_dimensions, synthesize
from mmexpert.motion.realism import cadence_steps_per_s
from mmexpert.motion.skeleton import JOINT_INDEX

ADULT = {"age_group": "adult", "height_m": 1.75}
CHILD = {"age_group": "child", "height_m": 1.2}
ELDER = {"age_group": "elder", "height_m": 1.7}


def walk(subject: dict, primitive: str = "walk_forward", duration: float = 6.0, **parameters):
    return synthesize(
        {
            "subject": subject,
            "segments": [
                {"primitive": primitive, "parameters": parameters, "duration_s": duration}
            ],
        }
    )


def mean_speed(motion) -> float:
    pelvis = motion.joints_m[:, JOINT_INDEX["pelvis"], :2]
    return float(np.linalg.norm(pelvis[-1] - pelvis[0]) / motion.duration_s)


def test_adult_walk_cadence_and_speed() -> None:
    motion = walk(ADULT)
    assert 1.6 <= cadence_steps_per_s(motion) <= 2.0
    assert 1.2 <= mean_speed(motion) <= 1.45


def test_requested_speed_is_met() -> None:
    for speed in (0.6, 1.0, 1.8):
        assert mean_speed(walk(ADULT, speed_mps=speed)) == pytest.approx(speed, rel=0.1)


def test_adult_run_cadence_and_speed() -> None:
    motion = walk(ADULT, "run", 3.0)
    assert 2.6 <= cadence_steps_per_s(motion) <= 3.2
    assert 2.5 <= mean_speed(motion) <= 3.8


def test_children_step_quicker_and_shorter_elders_slower() -> None:
    results = {}
    for label, subject in (("child", CHILD), ("adult", ADULT), ("elder", ELDER)):
        motion = walk(subject)
        cadence = cadence_steps_per_s(motion)
        results[label] = (cadence, mean_speed(motion), mean_speed(motion) / cadence)
    assert results["child"][0] > results["adult"][0] + 0.2  # quicker steps
    assert results["child"][2] < 0.8 * results["adult"][2]  # shorter steps
    assert results["elder"][1] < 0.85 * results["adult"][1]  # slower
    assert results["elder"][2] < 0.9 * results["adult"][2]  # shorter steps


def test_elders_have_reduced_range_of_motion_and_more_sway() -> None:
    def knee_range(subject: dict) -> float:
        joints = walk(subject, duration=4.0).joints_m
        hip, knee, ankle = (
            joints[:, JOINT_INDEX[n]] for n in ("left_hip", "left_knee", "left_ankle")
        )
        thigh, shank = knee - hip, ankle - knee
        cos = (
            np.sum(thigh * shank, -1)
            / np.linalg.norm(thigh, axis=-1)
            / np.linalg.norm(shank, axis=-1)
        )
        return float(np.ptp(np.arccos(np.clip(cos, -1, 1))))

    assert knee_range(ELDER) < 0.85 * knee_range(ADULT)

    def sway(subject: dict) -> float:
        # lateral head excursion (the person faces the radar along -y, so lateral is x;
        # breathing moves the chest front-to-back only)
        head = walk(subject, "stand", 10.0).joints_m[:, JOINT_INDEX["head"], 0]
        return float(np.ptp(head))

    assert sway(ELDER) > 1.3 * sway(ADULT)


def test_stance_foot_does_not_skate() -> None:
    motion = walk(ADULT, duration=4.0)
    for toe in ("left_foot", "right_foot"):
        position = motion.joints_m[:, JOINT_INDEX[toe]]
        speed = np.linalg.norm(np.diff(position[:, :2], axis=0), axis=1) * motion.fps
        on_floor = position[1:, 2] < position[:, 2].min() + 0.01
        # a foot on the floor moves at < 0.25 m/s (vs 1.35 m/s walking speed)
        assert np.median(speed[on_floor]) < 0.25


def test_arms_swing_opposite_to_legs() -> None:
    joints = walk(ADULT, duration=4.0).joints_m
    pelvis = joints[:, JOINT_INDEX["pelvis"]]
    forward = pelvis[-1, :2] - pelvis[0, :2]
    forward /= np.linalg.norm(forward)

    def ahead(name: str) -> np.ndarray:
        return (joints[:, JOINT_INDEX[name], :2] - pelvis[:, :2]) @ forward

    correlation = np.corrcoef(
        ahead("left_wrist") - ahead("right_wrist"), ahead("left_ankle") - ahead("right_ankle")
    )[0, 1]
    assert correlation < -0.7


def test_breathing_moves_the_chest_millimetres_at_quarter_hertz() -> None:
    motion = walk(ADULT, "stand", 20.0, breathing_rate_hz=0.25)
    # relative to the pelvis, so the slower postural sway of the whole trunk drops out
    chest = motion.joints_m[:, JOINT_INDEX["spine3"]] - motion.joints_m[:, JOINT_INDEX["pelvis"]]
    centred = chest - chest.mean(axis=0)
    excursion = np.ptp(centred, axis=0).max()
    assert 0.001 < excursion < 0.02  # a few millimetres
    spectrum = np.abs(np.fft.rfft(centred[:, 1] * np.hanning(len(centred)), 8192))
    frequencies = np.fft.rfftfreq(8192, 1 / motion.fps)
    assert frequencies[np.argmax(spectrum[1:]) + 1] == pytest.approx(0.25, abs=0.04)


def test_subject_dimensions_follow_height_and_build() -> None:
    tall = subject_dimensions(Subject(height_m=1.9))
    short = subject_dimensions(Subject(height_m=1.5))
    assert tall.thigh_m / short.thigh_m == pytest.approx(1.9 / 1.5)
    assert tall.thigh_m == pytest.approx(0.245 * 1.9)  # Winter: hip-knee 0.245 H
    heavy = subject_dimensions(Subject(build="heavy"))
    slim = subject_dimensions(Subject(build="slim"))
    assert heavy.chest_width_m > 1.2 * slim.chest_width_m
    assert heavy.thigh_m == slim.thigh_m  # build changes widths, not lengths
    female = subject_dimensions(Subject(sex="female"))
    male = subject_dimensions(Subject(sex="male"))
    assert female.hip_width_m / female.shoulder_width_m > male.hip_width_m / male.shoulder_width_m
    motion = walk({"height_m": 1.9}, "stand", 1.0)
    head_top = motion.joints_m[0, JOINT_INDEX["head"], 2] + tall.head_top_m
    assert head_top == pytest.approx(1.9, abs=0.06)  # standing height is reproduced
