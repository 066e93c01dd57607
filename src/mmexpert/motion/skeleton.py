"""The 22-joint skeleton (SMPL / HumanML3D order) and subject anthropometry.

Segment lengths follow Winter's anthropometric table (D. A. Winter, *Biomechanics and Motor
Control of Human Movement*, 4th ed., 2009, Fig. 4.1): joint heights and segment lengths
are fixed fractions of the standing height ``H``. Widths (shoulders, hips, chest depth,
limb radii) scale with ``H`` and with the subject's build and sex.

Body frame used by every primitive: x to the person's right, y forward (the direction
the person faces), z up, pelvis at the origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)
"""Joint names in SMPL / HumanML3D order (22 joints)."""

PARENTS: tuple[int, ...] = (
    -1,
    0,
    0,
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    9,
    9,
    12,
    13,
    14,
    16,
    17,
    18,
    19,
)
"""Parent index of each joint (-1 for the root, the pelvis)."""

JOINT_INDEX: dict[str, int] = {name: index for index, name in enumerate(JOINT_NAMES)}
"""Joint name -> index into :data:`JOINT_NAMES`."""

NUM_JOINTS = len(JOINT_NAMES)

FOOT_JOINTS: tuple[int, ...] = tuple(
    JOINT_INDEX[name] for name in ("left_ankle", "right_ankle", "left_foot", "right_foot")
)
"""Joints that carry the body's weight when standing (ankles and toe joints)."""

Build = Literal["slim", "average", "heavy"]
AgeGroup = Literal["child", "adult", "elder"]
Sex = Literal["female", "male"]

# Width multipliers for the build (lengths do not change with build).
BUILD_WIDTH_SCALE: dict[str, float] = {"slim": 0.90, "average": 1.0, "heavy": 1.15}
"""Breadth, depth and limb-radius factor of each build."""


@dataclass(frozen=True)
class SubjectDimensions:
    """Segment lengths and widths of one subject [m].

    Lengths are joint-to-joint distances of the 22-joint skeleton; widths and radii are
    for body-surface models (ellipsoids / capsules around the bones).
    """

    height_m: float  # standing height H [m]
    pelvis_height_m: float  # pelvis joint above the floor when standing [m]
    hip_half_width_m: float  # pelvis joint to each hip joint, lateral [m]
    thigh_m: float  # hip to knee [m]
    shank_m: float  # knee to ankle [m]
    ankle_height_m: float  # ankle joint above the floor when standing [m]
    foot_forward_m: float  # ankle to toe (foot) joint, horizontal [m]
    foot_joint_height_m: float  # toe joint above the floor when standing [m]
    spine_lower_m: float  # pelvis to spine1 [m]
    spine_middle_m: float  # spine1 to spine2 [m]
    spine_upper_m: float  # spine2 to spine3 [m]
    neck_m: float  # spine3 to neck [m]
    head_m: float  # neck to head joint [m]
    head_top_m: float  # head joint to the top of the skull [m]
    collar_lateral_m: float  # spine3 to collar, lateral [m]
    collar_up_m: float  # spine3 to collar, vertical [m]
    shoulder_lateral_m: float  # collar to shoulder, lateral [m]
    upper_arm_m: float  # shoulder to elbow [m]
    forearm_m: float  # elbow to wrist [m]
    hand_m: float  # wrist to fingertip [m]
    shoulder_width_m: float  # biacromial breadth [m]
    hip_width_m: float  # bi-trochanteric breadth [m]
    chest_width_m: float  # chest breadth [m]
    chest_depth_m: float  # chest front-to-back depth [m]
    waist_depth_m: float  # abdomen front-to-back depth [m]
    head_radius_m: float  # head as a sphere [m]
    neck_radius_m: float  # [m]
    upper_arm_radius_m: float  # [m]
    forearm_radius_m: float  # [m]
    thigh_radius_m: float  # [m]
    shank_radius_m: float  # [m]
    foot_width_m: float  # [m]

    def segment_lengths_m(self) -> dict[str, float]:
        """Bone lengths keyed by ``"parent->child"`` joint names [m]."""
        offsets = rest_offsets_m(self)
        return {
            f"{JOINT_NAMES[PARENTS[j]]}->{JOINT_NAMES[j]}": float(np.linalg.norm(offsets[j]))
            for j in range(1, NUM_JOINTS)
        }


class SubjectError(ValueError):
    """A subject description outside the supported range."""


def subject_dimensions(subject: object) -> SubjectDimensions:
    """Segment lengths and widths of a subject from its height, build and sex.

    Parameters
    ----------
    subject
        Anything with ``height_m`` [m], ``build`` ("slim" | "average" | "heavy") and
        ``sex`` ("female" | "male") attributes, e.g. :class:`mmexpert.motion.Subject`.

    Returns
    -------
    SubjectDimensions
        Lengths from Winter's ratios of the height; widths also scaled by build and sex
        (females: hips 6 % wider, shoulders 6 % narrower relative to height).
    """
    height = float(subject.height_m)  # type: ignore[attr-defined]
    build = str(subject.build)  # type: ignore[attr-defined]
    sex = str(subject.sex)  # type: ignore[attr-defined]
    if not 0.5 <= height <= 2.5:
        raise SubjectError(f"height_m={height} outside the supported range [0.5, 2.5] m")
    if build not in BUILD_WIDTH_SCALE:
        raise SubjectError(f"build={build!r} is not one of {sorted(BUILD_WIDTH_SCALE)}")
    if sex not in ("female", "male"):
        raise SubjectError(f"sex={sex!r} is not 'female' or 'male'")
    width = BUILD_WIDTH_SCALE[build]
    hip_sex, shoulder_sex = (1.06, 0.94) if sex == "female" else (1.0, 1.0)
    h = height
    return SubjectDimensions(
        height_m=h,
        pelvis_height_m=0.565 * h,
        hip_half_width_m=0.052 * h * hip_sex * (0.5 + 0.5 * width),
        thigh_m=0.245 * h,  # Winter: hip 0.530 H, knee 0.285 H
        shank_m=0.246 * h,  # knee 0.285 H, ankle 0.039 H
        ankle_height_m=0.039 * h,
        foot_forward_m=0.080 * h,
        foot_joint_height_m=0.013 * h,
        spine_lower_m=0.060 * h,
        spine_middle_m=0.075 * h,
        spine_upper_m=0.030 * h,
        neck_m=0.100 * h,  # neck joint at ~0.83 H (chin 0.870 H)
        head_m=0.055 * h,
        head_top_m=0.115 * h,  # top of the skull at H (head joint ~0.885 H)
        collar_lateral_m=0.040 * h,
        collar_up_m=0.055 * h,
        shoulder_lateral_m=0.085 * h * shoulder_sex,  # biacromial 0.259 H
        upper_arm_m=0.186 * h,  # shoulder 0.818 H, elbow 0.630 H
        forearm_m=0.146 * h,  # wrist 0.485 H
        hand_m=0.108 * h,
        shoulder_width_m=0.259 * h * shoulder_sex * width,
        hip_width_m=0.191 * h * hip_sex * width,
        chest_width_m=0.174 * h * width,
        chest_depth_m=0.120 * h * width,
        waist_depth_m=0.110 * h * width**1.5,
        head_radius_m=0.060 * h,
        neck_radius_m=0.030 * h * width,
        upper_arm_radius_m=0.025 * h * width,
        forearm_radius_m=0.020 * h * width,
        thigh_radius_m=0.040 * h * width,
        shank_radius_m=0.028 * h * width,
        foot_width_m=0.055 * h,
    )


def rest_offsets_m(dims: SubjectDimensions) -> np.ndarray:
    """Rest-pose offset of every joint from its parent, in the body frame.

    The rest pose stands upright with the arms hanging down beside the body, palms in.

    Returns
    -------
    np.ndarray
        float64 [22, 3] offsets [m]; row 0 (pelvis) is zero.
    """
    d = dims
    hip_drop = d.pelvis_height_m - (d.thigh_m + d.shank_m + d.ankle_height_m)
    offsets = {
        "left_hip": (-d.hip_half_width_m, 0.0, -hip_drop),
        "right_hip": (d.hip_half_width_m, 0.0, -hip_drop),
        "spine1": (0.0, -0.01 * d.height_m, d.spine_lower_m),
        "left_knee": (0.0, 0.0, -d.thigh_m),
        "right_knee": (0.0, 0.0, -d.thigh_m),
        "spine2": (0.0, 0.0, d.spine_middle_m),
        "left_ankle": (0.0, 0.0, -d.shank_m),
        "right_ankle": (0.0, 0.0, -d.shank_m),
        "spine3": (0.0, 0.0, d.spine_upper_m),
        "left_foot": (0.0, d.foot_forward_m, d.foot_joint_height_m - d.ankle_height_m),
        "right_foot": (0.0, d.foot_forward_m, d.foot_joint_height_m - d.ankle_height_m),
        "neck": (0.0, 0.0, d.neck_m),
        "left_collar": (-d.collar_lateral_m, 0.0, d.collar_up_m),
        "right_collar": (d.collar_lateral_m, 0.0, d.collar_up_m),
        "head": (0.0, 0.01 * d.height_m, d.head_m),
        "left_shoulder": (-d.shoulder_lateral_m, 0.0, 0.0),
        "right_shoulder": (d.shoulder_lateral_m, 0.0, 0.0),
        "left_elbow": (0.0, 0.0, -d.upper_arm_m),
        "right_elbow": (0.0, 0.0, -d.upper_arm_m),
        "left_wrist": (0.0, 0.0, -d.forearm_m),
        "right_wrist": (0.0, 0.0, -d.forearm_m),
    }
    result = np.zeros((NUM_JOINTS, 3))
    for name, offset in offsets.items():
        result[JOINT_INDEX[name]] = offset
    return result


def bone_lengths_m(joints_m: np.ndarray) -> np.ndarray:
    """Length of every bone (joint to parent) in every frame.

    Parameters
    ----------
    joints_m
        float [T, 22, 3] joint positions [m].

    Returns
    -------
    np.ndarray
        float64 [T, 21] bone lengths [m] for joints 1..21.
    """
    parents = np.asarray(PARENTS[1:])
    return np.linalg.norm(joints_m[:, 1:] - joints_m[:, parents], axis=-1)
