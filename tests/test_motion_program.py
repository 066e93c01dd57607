"""Motion programs: strict validation with located errors, determinism, transitions, placement."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mmexpert.motion import (
    PRIMITIVES,
    MotionProgram,
    ProgramError,
    list_primitives,
    parse_program,
    primitive_parameters,
    synthesize,
)
from mmexpert.motion.importers import facing_heading_rad
from mmexpert.motion.skeleton import JOINT_INDEX

PELVIS = JOINT_INDEX["pelvis"]


def test_registry_has_at_least_30_primitives_with_json_specs() -> None:
    assert len(PRIMITIVES) >= 30
    specs = list_primitives()
    assert json.loads(json.dumps(specs)) == specs  # JSON-able as is
    for spec in specs:
        for parameter in spec["parameters"]:
            assert parameter["type"] in ("float", "int", "choice", "bool")
            if parameter["type"] in ("float", "int"):
                assert parameter["min"] < parameter["max"]
            else:
                assert parameter["choices"]
    names = {spec["name"] for spec in specs}
    required = {
        "walk_forward", "walk_backward", "walk_sideways", "walk_turn", "walk_circle", "run",
        "jog_in_place", "jump_vertical", "jump_forward", "jumping_jacks", "squat", "lunge",
        "punch", "kick", "wave", "raise_hands", "clap", "arm_circles", "bend_pick_up",
        "sit_down", "stand_up", "lie_down", "fall_forward", "fall_backward", "fall_sideways",
        "get_up", "stretch", "swipe_left", "swipe_right", "push", "pull", "knock",
        "circle_gesture", "drink", "phone_to_ear", "stand",
    }  # fmt: skip
    assert required <= names
    wave = {p["name"]: p for p in primitive_parameters("wave")}
    assert wave["hand"]["choices"] == ["left", "right", "both"]


@pytest.mark.parametrize(
    ("program", "fragments"),
    [
        (
            {"segments": [{"primitive": "moonwalk"}]},
            ["segment 0", "unknown primitive", "moonwalk", "walk_forward"],
        ),
        (
            {
                "segments": [
                    {"primitive": "stand"},
                    {"primitive": "wave", "parameters": {"tempo_hz": 9.0}},
                ]
            },
            ["segment 1", "'wave'", "tempo_hz", "[0.5, 4.0]", "Hz"],
        ),
        (
            {"segments": [{"primitive": "wave", "parameters": {"speed": 1.0}}]},
            ["segment 0", "unknown parameter", "speed", "tempo_hz"],
        ),
        (
            {"segments": [{"primitive": "wave", "parameters": {"hand": "middle"}}]},
            ["segment 0", "hand", "['left', 'right', 'both']"],
        ),
        (
            {
                "segments": [
                    {"primitive": "kick", "parameters": {"repetitions": 8}, "duration_s": 2.0}
                ]
            },
            ["segment 0", "kick", "too short", "7.20"],
        ),
        ({"segments": [{"primitive": "stand"}], "colour": "red"}, ["colour", "Extra inputs"]),
        (
            {"subject": {"height_m": 3.5}, "segments": [{"primitive": "stand"}]},
            ["subject.height_m"],
        ),
        ({"subject": {"age_group": "teen"}, "segments": [{"primitive": "stand"}]}, ["age_group"]),
        ({"segments": []}, ["segments"]),
        (
            {"segments": [{"primitive": "squat", "parameters": {"repetitions": 2.5}}]},
            ["repetitions", "int"],
        ),
    ],
)
def test_invalid_programs_name_the_problem(program: dict, fragments: list[str]) -> None:
    with pytest.raises(ProgramError) as caught:
        parse_program(program)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from: {message}"


def test_json_round_trip_and_defaults() -> None:
    text = json.dumps({"segments": [{"primitive": "walk_forward", "duration_s": 2.0}]})
    program = parse_program(text)
    assert isinstance(program, MotionProgram)
    assert program.placement.start_xy_m == (0.0, 3.0)
    assert program.placement.initial_heading_rad() == pytest.approx(-math.pi / 2)  # faces the radar
    again = parse_program(program.model_dump_json())
    assert again == program


def test_deterministic_for_a_seed_and_varied_across_seeds() -> None:
    program = {"segments": [{"primitive": "walk_forward", "duration_s": 2.0}]}
    first = synthesize(program, rng=3).joints_m
    np.testing.assert_array_equal(first, synthesize(program, rng=3).joints_m)
    other = synthesize(program, rng=4).joints_m
    assert np.abs(first - other).max() > 0.005  # the take differs (posture, gait phase)
    pelvis_gap = np.abs(first[:, PELVIS] - other[:, PELVIS]).max()
    assert pelvis_gap < 0.2  # but it is the same walk along the same path


def test_default_person_faces_and_walks_toward_the_radar() -> None:
    motion = synthesize({"segments": [{"primitive": "walk_forward", "duration_s": 2.0}]})
    pelvis = motion.joints_m[:, PELVIS]
    assert pelvis[0, :2] == pytest.approx([0.0, 3.0], abs=0.02)
    assert facing_heading_rad(motion.joints_m[:1])[0] == pytest.approx(-math.pi / 2, abs=0.15)
    travel = pelvis[-1, :2] - pelvis[0, :2]
    assert travel[1] < -2.0 and abs(travel[0]) < 0.2  # ~1.35 m/s toward the radar


def test_heading_and_start_are_applied() -> None:
    program = {
        "placement": {"start_xy_m": [1.0, 4.0], "heading_rad": 0.0},
        "segments": [{"primitive": "walk_forward", "duration_s": 2.0}],
    }
    pelvis = synthesize(program).joints_m[:, PELVIS]
    travel = pelvis[-1, :2] - pelvis[0, :2]
    assert pelvis[0, :2] == pytest.approx([1.0, 4.0], abs=0.02)
    assert travel[0] > 2.0 and abs(travel[1]) < 0.2  # heading 0 = along +x


def test_transitions_keep_position_and_velocity_continuous() -> None:
    program = {
        "segments": [
            {"primitive": "walk_forward", "duration_s": 2.0},
            {"primitive": "wave", "duration_s": 2.0},
            {"primitive": "squat", "duration_s": 4.0},
            {"primitive": "run", "duration_s": 2.0},
        ]
    }
    motion = synthesize(program)
    # frame-to-frame steps never jump: the largest step stays within human speeds
    step_speed = np.linalg.norm(np.diff(motion.joints_m, axis=0), axis=-1) * motion.fps
    assert step_speed.max() < 15.0
    # pelvis acceleration stays below 4 g everywhere, boundaries included (running foot
    # strikes give 2-3 g; a position or velocity step at a boundary would give far more)
    velocity = np.diff(motion.joints_m[:, PELVIS], axis=0) * motion.fps
    acceleration = np.linalg.norm(np.diff(velocity, axis=0), axis=-1) * motion.fps  # [m/s^2]
    assert acceleration.max() < 40.0


def test_waypoint_path_is_followed() -> None:
    program = {
        "placement": {
            "start_xy_m": [0.0, 2.0],
            "heading_rad": 0.0,
            "path": [[2.0, 2.0], [2.0, 5.0]],
        },
        "segments": [{"primitive": "walk_forward", "duration_s": 5.0}],
    }
    motion = synthesize(program)
    pelvis = motion.joints_m[:, PELVIS, :2]
    # at least 5 m walked: past the corner and up the second leg, corners rounded
    assert pelvis[-1, 0] == pytest.approx(2.0, abs=0.15)
    assert pelvis[-1, 1] > 4.0
    corner_distance = np.linalg.norm(pelvis - np.array([2.0, 2.0]), axis=1).min()
    assert corner_distance < 0.3
    # the body turns with the path: facing +y at the end
    assert facing_heading_rad(motion.joints_m[-1:])[0] == pytest.approx(math.pi / 2, abs=0.25)


def test_bad_fps_is_refused() -> None:
    with pytest.raises(ProgramError, match="fps"):
        synthesize({"segments": [{"primitive": "stand"}]}, fps=0.5)


@pytest.mark.parametrize("hand", ["left", "right"])
def test_handedness_and_gesture_height(hand: str) -> None:
    motion = synthesize(
        {"segments": [{"primitive": "wave", "parameters": {"hand": hand}, "duration_s": 3.0}]}
    )
    middle = motion.joints_m[len(motion.joints_m) // 2]
    other = "right" if hand == "left" else "left"
    assert middle[JOINT_INDEX[f"{hand}_wrist"], 2] > middle[JOINT_INDEX["head"], 2] - 0.15
    assert middle[JOINT_INDEX[f"{other}_wrist"], 2] < middle[JOINT_INDEX["pelvis"], 2]
    # the person faces the radar (-y), so their left hand is at +x
    sign = 1.0 if hand == "left" else -1.0
    assert sign * middle[JOINT_INDEX[f"{hand}_wrist"], 0] > 0.2


@pytest.mark.parametrize(("tempo_hz", "height_m"), [(2.0, 0.1), (1.5, 0.2), (2.5, 0.05)])
def test_hops_in_place_repeat_at_their_tempo_and_rise_by_their_height(tempo_hz, height_m):
    subject = {"age_group": "adult", "height_m": 1.75}
    parameters = {"tempo_hz": tempo_hz, "height_m": height_m}
    segment = {"primitive": "hop_in_place", "parameters": parameters, "duration_s": 6.0}
    pelvis_z = synthesize({"subject": subject, "segments": [segment]}, fps=60.0).joints_m[:, 0, 2]
    standing = synthesize(
        {"subject": subject, "segments": [{"primitive": "stand", "duration_s": 2.0}]}, fps=60.0
    ).joints_m[:, 0, 2]
    spectrum = np.abs(np.fft.rfft(pelvis_z - pelvis_z.mean()))
    frequencies = np.fft.rfftfreq(len(pelvis_z), 1 / 60.0)
    assert abs(frequencies[spectrum.argmax()] - tempo_hz) < 1 / 6.0  # one FFT bin of 6 s
    # ballistic rise of the pelvis plus at most ~8 cm from rising onto the toes in flight
    rise = pelvis_z.max() - standing.mean()
    assert height_m - 0.01 <= rise <= height_m + 0.08


def test_a_large_change_of_posture_fades_slowly_enough():
    # lying on the floor after a fall, then walking: a 0.3 s fade flung the wrist at 28 m/s
    segments = [
        {"primitive": "fall_forward", "parameters": {"fall_time_s": 0.65}, "duration_s": 2.0},
        {"primitive": "walk_turn", "parameters": {"turn_rad": 2.8, "speed_mps": 1.7}},
    ]
    motion = synthesize({"segments": segments}, rng=4)
    speeds = motion.joint_speeds_mps()
    assert speeds.max() < 10.0  # [m/s]; a walk's wrist stays below ~5 m/s
