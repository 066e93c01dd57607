"""Always-true properties of every primitive in the registry, for children, adults and elders.

Limits (stated, with sources):

* bone lengths constant within 1 mm (forward kinematics);
* ankles / toe joints never below the floor: z >= -1 cm;
* joint speed limits: wrists, ankles and toes < 15 m/s (elite boxers' fists reach
  9 +/- 2 m/s, Walilko et al., Br J Sports Med 39:710, 2005; taekwondo kicks 10-16 m/s,
  Pieter & Pieter 1995); pelvis < 12.5 m/s (peak sprint speed of the fastest sprinters,
  ~12.3 m/s); every joint < 15 m/s.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from mmexpert.motion import JOINT_NAMES, PRIMITIVES, bone_lengths_m, synthesize
from mmexpert.motion.skeleton import JOINT_INDEX

LIMB_LIMIT_MPS = 15.0
PELVIS_LIMIT_MPS = 12.5
SUBJECTS = {
    "child": {"age_group": "child", "height_m": 1.2, "build": "slim", "sex": "female"},
    "adult": {"age_group": "adult", "height_m": 1.75},
    "elder": {"age_group": "elder", "height_m": 1.62, "build": "heavy", "sex": "female"},
}


def random_parameters(name: str, rng: np.random.Generator) -> dict:
    """Uniform draw of every declared parameter within its range."""
    values = {}
    for spec in PRIMITIVES[name].parameters:
        if spec.kind == "choice":
            values[spec.name] = str(rng.choice(spec.choices))
        elif spec.kind == "int":
            values[spec.name] = int(rng.integers(spec.minimum, spec.maximum + 1))
        elif spec.kind == "float":
            values[spec.name] = float(rng.uniform(spec.minimum, spec.maximum))
    return values


def check_invariants(motion, label: str) -> None:
    joints = motion.joints_m
    lengths = bone_lengths_m(joints)
    drift = np.ptp(lengths, axis=0).max()
    assert drift < 1e-3, f"{label}: bone length varies by {drift * 1000:.2f} mm"
    feet = [JOINT_INDEX[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
    lowest = joints[:, feet, 2].min()
    assert lowest >= -0.01, f"{label}: a foot joint at z = {lowest:.3f} m is below the floor"
    speeds = motion.joint_speeds_mps()
    worst = int(speeds.max(axis=0).argmax())
    assert speeds.max() < LIMB_LIMIT_MPS, (
        f"{label}: {JOINT_NAMES[worst]} reaches {speeds.max():.1f} m/s"
    )
    assert speeds[:, JOINT_INDEX["pelvis"]].max() < PELVIS_LIMIT_MPS, f"{label}: pelvis too fast"


@pytest.mark.parametrize("age", sorted(SUBJECTS))
@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_defaults_keep_invariants(name: str, age: str) -> None:
    motion = synthesize({"subject": SUBJECTS[age], "segments": [{"primitive": name}]})
    check_invariants(motion, f"{name}/{age}")


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_random_parameters_keep_invariants(name: str) -> None:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    for draw in range(3):
        age = ("child", "adult", "elder")[draw]
        parameters = random_parameters(name, rng)
        shortest = PRIMITIVES[name].minimum_duration_s(PRIMITIVES[name].resolve(parameters))
        duration = float(rng.uniform(max(1.5, shortest), shortest + 5.0))
        program = {
            "subject": SUBJECTS[age],
            "segments": [{"primitive": name, "parameters": parameters, "duration_s": duration}],
        }
        check_invariants(synthesize(program, rng=draw), f"{name}/{age}/{parameters}")


def test_sequences_of_random_primitives_keep_invariants() -> None:
    rng = np.random.default_rng(7)
    names = sorted(PRIMITIVES)
    for trial in range(6):
        chosen = rng.choice(names, size=4)
        segments = []
        for name in map(str, chosen):
            parameters = random_parameters(name, rng)
            shortest = PRIMITIVES[name].minimum_duration_s(PRIMITIVES[name].resolve(parameters))
            segments.append(
                {"primitive": name, "parameters": parameters, "duration_s": max(2.0, shortest)}
            )
        motion = synthesize({"segments": segments}, rng=trial)
        check_invariants(motion, f"sequence {list(chosen)}")


def test_positions_at_is_c1_at_frame_boundaries() -> None:
    motion = synthesize(
        {
            "segments": [
                {"primitive": "walk_forward", "duration_s": 2.0},
                {"primitive": "punch", "duration_s": 2.0},
            ]
        }
    )
    frames = motion.times_s[1:-1]
    epsilon = 1e-6
    before = motion.velocities_at(frames - epsilon)
    after = motion.velocities_at(frames + epsilon)
    assert np.abs(after - before).max() < 1e-3  # [m/s]; a step would be ~0.1 m/s or more
    # the velocity is the derivative of the positions (central difference, 1 us)
    numeric = (motion.positions_at(frames + epsilon) - motion.positions_at(frames - epsilon)) / (
        2 * epsilon
    )
    np.testing.assert_allclose(numeric, motion.velocities_at(frames), atol=1e-4)
