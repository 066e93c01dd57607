"""Body segments as ellipsoids attached to the bones of the 22-joint skeleton.

Each segment is an ellipsoid whose local z axis runs along one bone (proximal joint to
distal joint), whose local x axis points to the person's right and y axis forward when the
body is in its reference pose. Sizes come from the subject's anthropometry
(:func:`body_dimensions`) and from the bone lengths of the clip itself, so an ellipsoid
always spans its bone even when imported motion capture has other proportions.

Segment frames (roll about the bone)
------------------------------------
A bone direction alone does not fix the roll of the ellipsoid about the bone, and a roll
that jumps from one frame to the next would slide the surface patches tangentially and
create spurious Doppler. Each segment therefore carries its frame down a kinematic tree:

* two root frames, ``hips`` (x from the left to the right hip, z along pelvis -> spine3)
  and ``shoulders`` (x from the left to the right shoulder, z along spine3 -> neck);
* each segment frame is its parent frame, rotated by the *minimal rotation* that takes
  the segment's reference direction (a fixed bone direction in the parent frame, chosen
  per segment) to the current bone direction:
  ``R = I + [v]x + [v]x^2 / (1 + c)`` with ``v = r x b``, ``c = r . b``.

The minimal rotation is smooth everywhere except when the bone points exactly opposite to
its reference direction; the references are chosen so that this would need an impossible
joint angle (e.g. the forearm folded backwards through the elbow).

Dimensions: Winter's segment-length ratios of the standing height (D. A. Winter,
*Biomechanics and Motor Control of Human Movement*, 4th ed., Wiley 2009, Fig. 4.1), and
breadths / depths / limb radii from :func:`mmexpert.motion.skeleton.subject_dimensions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from mmexpert.motion.skeleton import JOINT_NAMES, subject_dimensions

_J = {name: index for index, name in enumerate(JOINT_NAMES)}

ROOT_FRAMES: tuple[str, ...] = ("hips", "shoulders")
"""Names of the two root frames a segment can hang from."""


@dataclass(frozen=True)
class SegmentSpec:
    """One body segment: which bone carries it and how its frame is propagated."""

    name: str  # segment name, e.g. "left_forearm"
    proximal: str  # joint at the start of the carrying bone
    distal: str  # joint at the end of the carrying bone
    parent: str  # a root frame ("hips" | "shoulders") or an earlier segment's name
    reference_direction: tuple[float, float, float]  # bone direction, body frame, ref. pose


def _spec(name: str, proximal: str, distal: str, parent: str, ref: tuple) -> SegmentSpec:
    return SegmentSpec(name, proximal, distal, parent, ref)


# Reference directions are in the body frame (x right, y forward, z up) and are chosen far
# from any reachable opposite direction (see the module docstring).
SEGMENTS: tuple[SegmentSpec, ...] = (
    _spec("pelvis", "pelvis", "spine3", "hips", (0.0, -0.06, 1.0)),
    _spec("abdomen", "pelvis", "spine3", "hips", (0.0, -0.06, 1.0)),
    _spec("chest", "spine3", "neck", "shoulders", (0.0, 0.0, 1.0)),
    _spec("neck", "neck", "head", "shoulders", (0.0, 0.18, 1.0)),
    _spec("head", "neck", "head", "shoulders", (0.0, 0.18, 1.0)),
    _spec("left_upper_arm", "left_shoulder", "left_elbow", "shoulders", (-0.45, 0.45, -0.77)),
    _spec("right_upper_arm", "right_shoulder", "right_elbow", "shoulders", (0.45, 0.45, -0.77)),
    _spec("left_forearm", "left_elbow", "left_wrist", "left_upper_arm", (-0.3, 0.85, -0.43)),
    _spec("right_forearm", "right_elbow", "right_wrist", "right_upper_arm", (0.3, 0.85, -0.43)),
    _spec("left_hand", "left_elbow", "left_wrist", "left_forearm", (-0.3, 0.85, -0.43)),
    _spec("right_hand", "right_elbow", "right_wrist", "right_forearm", (0.3, 0.85, -0.43)),
    _spec("left_thigh", "left_hip", "left_knee", "hips", (0.0, 0.3, -0.95)),
    _spec("right_thigh", "right_hip", "right_knee", "hips", (0.0, 0.3, -0.95)),
    _spec("left_shank", "left_knee", "left_ankle", "left_thigh", (0.0, -0.3, -0.95)),
    _spec("right_shank", "right_knee", "right_ankle", "right_thigh", (0.0, -0.3, -0.95)),
    _spec("left_foot", "left_ankle", "left_foot", "left_shank", (0.0, 0.95, -0.3)),
    _spec("right_foot", "right_ankle", "right_foot", "right_shank", (0.0, 0.95, -0.3)),
)
"""The 17 body segments, parents before children."""

SEGMENT_NAMES: tuple[str, ...] = tuple(spec.name for spec in SEGMENTS)


@dataclass(frozen=True)
class BodyDimensions:
    """Breadths, depths and radii of one subject's body surface [m]."""

    height_m: float  # standing height H [m]
    hip_width_m: float  # bi-trochanteric breadth [m]
    chest_width_m: float  # chest breadth [m]
    chest_depth_m: float  # chest depth, front to back [m]
    waist_depth_m: float  # abdomen depth, front to back [m]
    head_radius_m: float  # head as a sphere [m]
    head_top_m: float  # head joint to the top of the skull [m]
    neck_radius_m: float  # [m]
    upper_arm_radius_m: float  # [m]
    forearm_radius_m: float  # [m]
    hand_length_m: float  # wrist to fingertip [m]
    thigh_radius_m: float  # [m]
    shank_radius_m: float  # [m]
    foot_width_m: float  # [m]


def body_dimensions(height_m: float, build: str = "average", sex: str = "male") -> BodyDimensions:
    """Surface dimensions of a subject.

    Parameters
    ----------
    height_m
        Standing height [m].
    build
        "slim" | "average" | "heavy": scales the breadths, depths and radii.
    sex
        "female" | "male".

    Returns
    -------
    BodyDimensions
        From :func:`mmexpert.motion.skeleton.subject_dimensions` (one anthropometry for
        skeleton and body).
    """
    dims = subject_dimensions(SimpleNamespace(height_m=height_m, build=build, sex=sex))
    return BodyDimensions(
        height_m=float(height_m),
        hip_width_m=dims.hip_width_m,
        chest_width_m=dims.chest_width_m,
        chest_depth_m=dims.chest_depth_m,
        waist_depth_m=dims.waist_depth_m,
        head_radius_m=dims.head_radius_m,
        head_top_m=dims.head_top_m,
        neck_radius_m=dims.neck_radius_m,
        upper_arm_radius_m=dims.upper_arm_radius_m,
        forearm_radius_m=dims.forearm_radius_m,
        hand_length_m=dims.hand_m,
        thigh_radius_m=dims.thigh_radius_m,
        shank_radius_m=dims.shank_radius_m,
        foot_width_m=dims.foot_width_m,
    )


@dataclass(frozen=True)
class SegmentGeometry:
    """Ellipsoid size and placement of every segment for one subject and one clip.

    The centre of segment s is ``proximal + center_fraction[s] * bone`` where ``bone`` is
    the proximal -> distal vector of that frame.
    """

    semi_axes_m: np.ndarray  # float64 [S, 3] (x: lateral, y: depth, z: along the bone) [m]
    center_fraction: np.ndarray  # float64 [S] centre position along the bone [bone lengths]


def typical_bone_lengths_m(joints_m: np.ndarray) -> np.ndarray:
    """Median length over the clip of each segment's carrying bone.

    Parameters
    ----------
    joints_m
        float [T, 22, 3] joint positions [m].

    Returns
    -------
    np.ndarray
        float64 [S] bone lengths [m], rounded to 0.1 mm so that chunks of one clip give the
        same geometry (hence the same patch layout).
    """
    proximal, distal = _bone_joint_indices()
    lengths = np.linalg.norm(joints_m[:, distal] - joints_m[:, proximal], axis=-1)
    return np.round(np.median(lengths, axis=0), 4)


def segment_geometry(dims: BodyDimensions, bone_lengths_m: np.ndarray) -> SegmentGeometry:
    """Ellipsoid semi-axes and centre placement of every segment.

    Parameters
    ----------
    dims
        The subject's surface dimensions.
    bone_lengths_m
        float [S] length of each segment's carrying bone [m]
        (:func:`typical_bone_lengths_m`).

    Returns
    -------
    SegmentGeometry
        Semi-axes [S, 3] and centre fractions [S], in :data:`SEGMENT_NAMES` order.
    """
    h = dims.height_m
    length = dict(zip(SEGMENT_NAMES, np.asarray(bone_lengths_m, dtype=np.float64), strict=True))
    head_axial = 1.1 * dims.head_radius_m
    hand_axial = 0.5 * dims.hand_length_m
    # Limbs overlap their neighbours a little (axial semi-axis 0.55 of the bone) so that the
    # surface has no gaps at the joints; the overlapped patches are hidden by occlusion.
    table = {
        # name: (centre fraction, (lateral, depth, axial) semi-axes [m])
        "pelvis": (-0.12, (0.5 * dims.hip_width_m, 0.6 * dims.waist_depth_m, 0.075 * h)),
        "abdomen": (
            0.67,
            (0.5 * dims.chest_width_m, 0.5 * dims.waist_depth_m, 0.45 * length["abdomen"]),
        ),
        "chest": (0.2, (0.55 * dims.chest_width_m, 0.5 * dims.chest_depth_m, 0.1 * h)),
        "neck": (
            0.2,
            (dims.neck_radius_m, dims.neck_radius_m, max(0.6 * length["neck"], 0.03 * h)),
        ),
        "head": (
            1.0 + (dims.head_top_m - head_axial) / length["head"],
            (0.8 * dims.head_radius_m, dims.head_radius_m, head_axial),
        ),
        "thigh": (0.5, (1.1 * dims.thigh_radius_m, 1.1 * dims.thigh_radius_m, None)),
        "shank": (0.5, (dims.shank_radius_m, dims.shank_radius_m, None)),
        "upper_arm": (0.5, (dims.upper_arm_radius_m, dims.upper_arm_radius_m, None)),
        "forearm": (0.5, (dims.forearm_radius_m, 0.85 * dims.forearm_radius_m, None)),
    }
    semi_axes = np.zeros((len(SEGMENTS), 3))
    center_fraction = np.zeros(len(SEGMENTS))
    for index, spec in enumerate(SEGMENTS):
        kind = spec.name.removeprefix("left_").removeprefix("right_")
        bone = length[spec.name]
        if kind == "hand":
            # Palm normal along x for the reference pose (palms facing the thighs).
            fraction = 1.0 + hand_axial / bone
            axes = (0.009 * h, 0.025 * h, hand_axial)  # thickness, breadth (ANSUR-like)
        elif kind == "foot":
            # Heel 0.04 H behind the ankle to toe tip 0.115 H ahead (Winter foot 0.152 H).
            fraction = 0.45
            axes = (0.5 * dims.foot_width_m, 0.02 * h, 0.0775 * h)
        else:
            fraction, (lateral, depth, axial) = table[kind]
            axes = (lateral, depth, 0.55 * bone if axial is None else axial)
        semi_axes[index] = axes
        center_fraction[index] = fraction
    return SegmentGeometry(semi_axes_m=semi_axes, center_fraction=center_fraction)


def _bone_joint_indices() -> tuple[np.ndarray, np.ndarray]:
    proximal = np.array([_J[spec.proximal] for spec in SEGMENTS])
    distal = np.array([_J[spec.distal] for spec in SEGMENTS])
    return proximal, distal


def _normalize(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def _root_frame(right_m: np.ndarray, left_m: np.ndarray, up_vector: np.ndarray) -> np.ndarray:
    """Frame [T, 3, 3] with columns x (left -> right), y (forward), z (up)."""
    x_axis = _normalize(right_m - left_m)
    y_axis = _normalize(np.cross(up_vector, x_axis))
    z_axis = np.cross(x_axis, y_axis)
    return np.stack([x_axis, y_axis, z_axis], axis=-1)


def _reference_frame(direction: np.ndarray) -> np.ndarray:
    """Frame [3, 3] with z along ``direction`` and x as close as possible to body x."""
    z_axis = _normalize(np.asarray(direction, dtype=np.float64))
    x_axis = _normalize(np.array([1.0, 0.0, 0.0]) - z_axis[0] * z_axis)
    return np.stack([x_axis, np.cross(z_axis, x_axis), z_axis], axis=-1)


def _minimal_rotation(from_unit: np.ndarray, to_unit: np.ndarray) -> np.ndarray:
    """Rotations [T, 3, 3] taking ``from_unit`` [3] to ``to_unit`` [T, 3] about their normal."""
    v = np.cross(from_unit, to_unit)  # [T, 3]
    cosine = to_unit @ from_unit  # [T]
    skew = np.zeros((*v.shape[:-1], 3, 3))
    skew[..., 0, 1], skew[..., 0, 2] = -v[..., 2], v[..., 1]
    skew[..., 1, 0], skew[..., 1, 2] = v[..., 2], -v[..., 0]
    skew[..., 2, 0], skew[..., 2, 1] = -v[..., 1], v[..., 0]
    # 1 + c -> 0 only for a bone exactly opposite its reference (an impossible joint angle).
    scale = 1.0 / np.maximum(1.0 + cosine, 1e-9)
    return np.eye(3) + skew + (skew @ skew) * scale[..., None, None]


def segment_poses(joints_m: np.ndarray, geometry: SegmentGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Centre and orientation of every segment's ellipsoid in every frame.

    Parameters
    ----------
    joints_m
        float [T, 22, 3] joint positions, world frame [m].
    geometry
        Segment sizes and placements (:func:`segment_geometry`).

    Returns
    -------
    centers_m : np.ndarray
        float64 [T, S, 3] ellipsoid centres, world frame [m].
    rotations : np.ndarray
        float64 [T, S, 3, 3] rotation segment frame -> world; column k is the segment's
        local axis k in world coordinates (z: along the bone).
    """
    joints = np.asarray(joints_m, dtype=np.float64)
    proximal, distal = _bone_joint_indices()
    bones = joints[:, distal] - joints[:, proximal]  # [T, S, 3]
    centers = joints[:, proximal] + geometry.center_fraction[None, :, None] * bones
    bone_units = _normalize(bones)
    roots = {
        "hips": _root_frame(
            joints[:, _J["right_hip"]],
            joints[:, _J["left_hip"]],
            joints[:, _J["spine3"]] - joints[:, _J["pelvis"]],
        ),
        "shoulders": _root_frame(
            joints[:, _J["right_shoulder"]],
            joints[:, _J["left_shoulder"]],
            joints[:, _J["neck"]] - joints[:, _J["spine3"]],
        ),
    }
    reference_frames = {spec.name: _reference_frame(spec.reference_direction) for spec in SEGMENTS}
    world_frames: dict[str, np.ndarray] = {}
    for index, spec in enumerate(SEGMENTS):
        if spec.parent in roots:
            parent_world, parent_reference = roots[spec.parent], np.eye(3)
        else:
            parent_world = world_frames[spec.parent]
            parent_reference = reference_frames[spec.parent]
        own_reference = reference_frames[spec.name]
        reference_in_parent = parent_reference.T @ own_reference  # [3, 3]
        bone_in_parent = np.einsum("tij,ti->tj", parent_world, bone_units[:, index])
        rotation = _minimal_rotation(reference_in_parent[:, 2], bone_in_parent)
        world_frames[spec.name] = parent_world @ rotation @ reference_in_parent
    rotations = np.stack([world_frames[name] for name in SEGMENT_NAMES], axis=1)
    return centers, rotations
