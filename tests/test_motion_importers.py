"""Importers: the Bandai Namco BVH sample (skipped when absent) and HumanML3D arrays."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mmexpert.motion import Motion, bone_lengths_m
from mmexpert.motion.importers import (
    MotionImportError,
    facing_heading_rad,
    load_bvh,
    load_humanml3d,
    place_motion,
)
from mmexpert.motion.skeleton import JOINT_INDEX

MOCAP = Path(__file__).resolve().parents[2] / "shared" / "data" / "mocap-sample"
WALK = MOCAP / "dataset-1_walk_normal_001.bvh"
FEET = [JOINT_INDEX[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]


@pytest.fixture(scope="module")
def walk() -> Motion:
    if not WALK.is_file():
        pytest.skip(f"mocap sample absent: {WALK}")
    return load_bvh(WALK)


def test_bandai_walk_units_axes_and_floor(walk: Motion) -> None:
    assert walk.fps == pytest.approx(30.0)
    assert walk.num_frames == 195
    joints = walk.joints_m
    # z up, metres: head ~1.4-1.6 m, pelvis ~0.85-1.0 m above the floor
    assert 1.3 < np.median(joints[:, JOINT_INDEX["head"], 2]) < 1.7
    assert 0.8 < np.median(joints[:, JOINT_INDEX["pelvis"], 2]) < 1.05
    assert joints[:, FEET, 2].min() == pytest.approx(0.02, abs=1e-9)  # feet put on the floor
    # rigid skeleton: mapped bones keep their length (the interpolated spine2 aside)
    lengths = bone_lengths_m(joints)
    assert np.ptp(lengths[:, JOINT_INDEX["left_knee"] - 1]) < 1e-3
    assert np.ptp(lengths[:, JOINT_INDEX["right_elbow"] - 1]) < 1e-3
    # walks ~8 m at ~1.2 m/s
    pelvis = joints[:, JOINT_INDEX["pelvis"], :2]
    speed = np.linalg.norm(pelvis[-1] - pelvis[0]) / walk.duration_s
    assert 1.0 < speed < 1.5


def test_bandai_left_is_on_the_left(walk: Motion) -> None:
    joints = walk.joints_m
    heading = facing_heading_rad(joints)
    forward = np.stack([np.cos(heading), np.sin(heading)], axis=1)
    left_direction = np.stack([-forward[:, 1], forward[:, 0]], axis=1)  # z x forward
    for left, right in (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")):
        offset = joints[:, JOINT_INDEX[left], :2] - joints[:, JOINT_INDEX[right], :2]
        assert np.all(np.sum(offset * left_direction, axis=1) > 0.05)
    # and the person walks the way they face
    travel = joints[-1, JOINT_INDEX["pelvis"], :2] - joints[0, JOINT_INDEX["pelvis"], :2]
    assert np.dot(travel / np.linalg.norm(travel), forward[0]) > 0.95


def test_place_motion_moves_and_turns(walk: Motion) -> None:
    placed = place_motion(walk, (0.0, 3.0), -math.pi / 2)
    assert placed.joints_m[0, JOINT_INDEX["pelvis"], :2] == pytest.approx([0.0, 3.0], abs=1e-9)
    assert facing_heading_rad(placed.joints_m[:1])[0] == pytest.approx(-math.pi / 2, abs=1e-6)
    np.testing.assert_allclose(
        bone_lengths_m(placed.joints_m), bone_lengths_m(walk.joints_m), atol=1e-9
    )


def test_every_sample_clip_loads() -> None:
    clips = sorted(MOCAP.glob("*.bvh"))
    if not clips:
        pytest.skip(f"mocap sample absent: {MOCAP}")
    for clip in clips:
        motion = load_bvh(clip)
        assert motion.joints_m.shape[1:] == (22, 3) and motion.num_frames > 10, clip.name


def test_humanml3d_axes_and_rate() -> None:
    # a Y-up array: pelvis 0.9 m up, walking along +Z at 1 m/s, 20 fps
    frames = 40
    joints = np.zeros((frames, 22, 3))
    joints[:, :, 1] = 0.9
    joints[:, JOINT_INDEX["head"], 1] = 1.6
    for name in ("left_ankle", "right_ankle", "left_foot", "right_foot"):
        joints[:, JOINT_INDEX[name], 1] = 0.05
    joints[:, JOINT_INDEX["left_hip"], 0] = 0.1  # HumanML3D faces +Z: its left is +X
    joints[:, JOINT_INDEX["right_hip"], 0] = -0.1
    joints[:, :, 2] += (np.arange(frames) / 20.0)[:, None]
    motion = load_humanml3d(joints)
    assert motion.fps == 20.0
    head = motion.joints_m[:, JOINT_INDEX["head"]]
    assert head[0, 2] == pytest.approx(1.6 - 0.05 + 0.02)  # z up, feet at 2 cm
    # +Z forward becomes -y, and the person faces the way they walk
    velocity = motion.velocities_at(np.array([1.0]))[0, JOINT_INDEX["pelvis"]]
    assert velocity == pytest.approx([0.0, -1.0, 0.0], abs=1e-6)
    assert facing_heading_rad(motion.joints_m[:1])[0] == pytest.approx(-math.pi / 2)


def test_humanml3d_file_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "joints.npy"
    np.save(good, np.random.default_rng(0).normal(size=(10, 22, 3)))
    assert load_humanml3d(good).num_frames == 10
    features = tmp_path / "features.npy"
    np.save(features, np.zeros((10, 263)))
    with pytest.raises(MotionImportError, match="263"):
        load_humanml3d(features)
    with pytest.raises(MotionImportError, match="not found"):
        load_humanml3d(tmp_path / "missing.npy")
    with pytest.raises(MotionImportError, match="not found"):
        load_bvh(tmp_path / "missing.bvh")
    broken = tmp_path / "broken.bvh"
    broken.write_text("HIERARCHY\nROOT Hips\n{\n")
    with pytest.raises(MotionImportError):
        load_bvh(broken)
