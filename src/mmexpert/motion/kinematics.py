"""Joint angles -> joint positions: forward kinematics, two-bone arm IK, grounding, foot planting.

Every primitive builds a :class:`PoseTrack`: local joint rotations (so bone lengths are
constant by construction), a horizontal root path, a heading and a lift above the floor.
:func:`pose_to_joints` turns a track into joint positions in a frame whose z = 0 is the
floor.

Rotation conventions (body frame: x right, y forward, z up; all angles [rad]):

* local rotation of joint ``j`` rotates its children's offsets, relative to the parent;
* ``set_euler(joint, rx, ry, rz)`` builds ``Rx(rx) @ Ry(ry) @ Rz(rz)``;
* a positive x rotation swings a downward bone forward (hip / shoulder / elbow flexion,
  knee *extension*) and an upward bone backward (trunk extension);
* a positive y rotation swings a downward bone to the person's left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.transform import Rotation

from mmexpert.motion.skeleton import (
    JOINT_INDEX,
    NUM_JOINTS,
    PARENTS,
    SubjectDimensions,
    rest_offsets_m,
)

FLIGHT_LIFT_M = 0.01
"""Lift above the grounded height at which the feet count as off the floor [m]."""

SOFT_FLOOR_M = 0.004
"""Temperature of the soft minimum that finds the lowest body point [m] (keeps the pelvis
height smooth when the supporting joint changes, e.g. heel to toe)."""


@dataclass(frozen=True)
class PoseTrack:
    """One primitive's motion in its own start frame (x right, y forward at the start)."""

    local_rotations: np.ndarray  # float64 [T, 22, 3, 3] joint rotations relative to parents
    root_xy_m: np.ndarray  # float64 [T, 2] pelvis horizontal displacement [m]
    heading_rad: np.ndarray  # float64 [T] turn relative to the start heading, ccw [rad]
    lift_m: np.ndarray  # float64 [T] pelvis height above its grounded height [m]

    @property
    def num_frames(self) -> int:
        """Number of frames T."""
        return int(self.root_xy_m.shape[0])


def euler_matrices(rx: np.ndarray, ry: np.ndarray, rz: np.ndarray) -> np.ndarray:
    """Rotation matrices ``Rx(rx) @ Ry(ry) @ Rz(rz)``.

    Parameters
    ----------
    rx, ry, rz
        float [T] angles [rad].

    Returns
    -------
    np.ndarray
        float64 [T, 3, 3].
    """
    angles = np.stack(np.broadcast_arrays(rx, ry, rz), axis=-1).reshape(-1, 3)
    return Rotation.from_euler("XYZ", angles).as_matrix()


def heading_matrices(heading_rad: np.ndarray) -> np.ndarray:
    """float64 [T, 3, 3] rotations about +z by ``heading_rad`` [rad]."""
    heading = np.atleast_1d(np.asarray(heading_rad, dtype=np.float64))
    cos, sin = np.cos(heading), np.sin(heading)
    matrices = np.zeros((len(heading), 3, 3))
    matrices[:, 0, 0], matrices[:, 0, 1] = cos, -sin
    matrices[:, 1, 0], matrices[:, 1, 1] = sin, cos
    matrices[:, 2, 2] = 1.0
    return matrices


def forward_kinematics(
    offsets_m: np.ndarray,
    local_rotations: np.ndarray,
    root_position_m: np.ndarray,
    root_orientation: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Joint positions and world rotations from local rotations.

    Parameters
    ----------
    offsets_m
        float [22, 3] rest offsets from each parent [m].
    local_rotations
        float [T, 22, 3, 3] rotation of each joint relative to its parent.
    root_position_m
        float [T, 3] pelvis position [m].
    root_orientation
        float [T, 3, 3] extra rotation applied before the pelvis rotation (the heading);
        identity when omitted.

    Returns
    -------
    positions : np.ndarray
        float64 [T, 22, 3] joint positions [m].
    world_rotations : np.ndarray
        float64 [T, 22, 3, 3] world rotation of each joint.
    """
    num_frames = local_rotations.shape[0]
    positions = np.zeros((num_frames, NUM_JOINTS, 3))
    world = np.zeros((num_frames, NUM_JOINTS, 3, 3))
    world[:, 0] = local_rotations[:, 0]
    if root_orientation is not None:
        world[:, 0] = root_orientation @ local_rotations[:, 0]
    positions[:, 0] = root_position_m
    for joint in range(1, NUM_JOINTS):
        parent = PARENTS[joint]
        positions[:, joint] = positions[:, parent] + world[:, parent] @ offsets_m[joint]
        world[:, joint] = world[:, parent] @ local_rotations[:, joint]
    return positions, world


def ground_clearances_m(dims: SubjectDimensions) -> np.ndarray:
    """Smallest height of each joint above the floor when that joint touches it [m].

    Feet: their standing heights; other joints: the thickness of the flesh around them,
    so a person lying down rests on the back / side rather than on the joint centres.

    Returns
    -------
    np.ndarray
        float64 [22] clearances [m].
    """
    h = dims.height_m
    clearance = np.full(NUM_JOINTS, 0.03 * h)
    for name in ("left_ankle", "right_ankle"):
        clearance[JOINT_INDEX[name]] = dims.ankle_height_m
    for name in ("left_foot", "right_foot"):
        clearance[JOINT_INDEX[name]] = dims.foot_joint_height_m
    for name in ("pelvis", "spine1", "spine2", "spine3"):
        clearance[JOINT_INDEX[name]] = 0.5 * dims.waist_depth_m
    clearance[JOINT_INDEX["head"]] = dims.head_radius_m
    clearance[JOINT_INDEX["neck"]] = 0.05 * h
    for name in ("left_wrist", "right_wrist", "left_elbow", "right_elbow"):
        clearance[JOINT_INDEX[name]] = dims.forearm_radius_m
    return clearance


def grounded_height_m(joints_body_m: np.ndarray, clearances_m: np.ndarray) -> np.ndarray:
    """Pelvis height that puts the lowest body point on the floor (soft minimum).

    Parameters
    ----------
    joints_body_m
        float [T, 22, 3] joint positions with the pelvis at z = 0 [m].
    clearances_m
        float [22] per-joint clearances [m] (:func:`ground_clearances_m`).

    Returns
    -------
    np.ndarray
        float64 [T] pelvis height [m]; the soft minimum never lets a joint below its
        clearance.
    """
    depth = joints_body_m[..., 2] - clearances_m  # [T, 22] height above floor, pelvis at 0
    lowest = depth.min(axis=1, keepdims=True)
    soft = lowest[:, 0] - SOFT_FLOOR_M * np.log(
        np.sum(np.exp(-(depth - lowest) / SOFT_FLOOR_M), axis=1)
    )
    return -soft


def pose_to_joints(
    track: PoseTrack, dims: SubjectDimensions, offsets_m: np.ndarray | None = None
) -> np.ndarray:
    """Joint positions of a track in its start frame, standing on the floor z = 0.

    Returns
    -------
    np.ndarray
        float64 [T, 22, 3] joint positions [m].
    """
    offsets = rest_offsets_m(dims) if offsets_m is None else offsets_m
    heading = heading_matrices(track.heading_rad)
    origin = np.zeros((track.num_frames, 3))
    body, _ = forward_kinematics(offsets, track.local_rotations, origin, heading)
    height = grounded_height_m(body, ground_clearances_m(dims)) + track.lift_m
    body[..., 0] += track.root_xy_m[:, None, 0]
    body[..., 1] += track.root_xy_m[:, None, 1]
    body[..., 2] += height[:, None]
    return body


def planted_root_xy(
    track: PoseTrack,
    dims: SubjectDimensions,
    smoothing_s: float = 0.08,
    fps: float = 30.0,
) -> np.ndarray:
    """Horizontal pelvis path that keeps the supporting foot still on the floor.

    The supporting foot is the lower one (a sigmoid weight on the height difference with a
    1 cm width, so the hand-over is smooth). While the track's lift exceeds
    :data:`FLIGHT_LIFT_M` (flight phases of running and jumping) the pelvis keeps its
    velocity. The pelvis moves by minus the supporting
    foot's motion relative to it, so the root advance matches the stride and the feet do
    not skate.

    Parameters
    ----------
    track
        A track whose ``root_xy_m`` is ignored (its heading is used).
    dims
        Subject dimensions.
    smoothing_s
        Gaussian smoothing of the pelvis velocity [s].
    fps
        Frame rate of the track [Hz].

    Returns
    -------
    np.ndarray
        float64 [T, 2] pelvis displacement [m], starting at (0, 0).
    """
    still = PoseTrack(
        track.local_rotations,
        np.zeros_like(track.root_xy_m),
        track.heading_rad,
        np.zeros_like(track.lift_m),
    )
    joints = pose_to_joints(still, dims)
    sides = []
    for ankle, toe in (("left_ankle", "left_foot"), ("right_ankle", "right_foot")):
        contact = 0.5 * (joints[:, JOINT_INDEX[ankle]] + joints[:, JOINT_INDEX[toe]])
        height = np.minimum(
            joints[:, JOINT_INDEX[ankle], 2] - dims.ankle_height_m,
            joints[:, JOINT_INDEX[toe], 2] - dims.foot_joint_height_m,
        )
        sides.append((contact[:, :2], height))
    (left_xy, left_z), (right_xy, right_z) = sides
    left_weight = 1.0 / (1.0 + np.exp(-(right_z - left_z) / 0.01))
    left_step = np.diff(left_xy, axis=0)
    right_step = np.diff(right_xy, axis=0)
    weight = 0.5 * (left_weight[1:] + left_weight[:-1])[:, None]
    root_step = -(weight * left_step + (1.0 - weight) * right_step)  # [T-1, 2]
    # flight (lift above the floor): no foot pushes, the pelvis keeps its velocity
    lift = 0.5 * (track.lift_m[1:] + track.lift_m[:-1])
    contact = 1.0 / (1.0 + np.exp((lift - FLIGHT_LIFT_M) / (0.25 * FLIGHT_LIFT_M)))
    if np.any(contact < 0.99):
        carried = np.zeros(2)
        for frame in range(len(root_step)):
            root_step[frame] = contact[frame] * root_step[frame] + (1 - contact[frame]) * carried
            carried = root_step[frame]
    if smoothing_s > 0:
        root_step = gaussian_filter1d(root_step, smoothing_s * fps, axis=0, mode="nearest")
    return np.vstack([np.zeros((1, 2)), np.cumsum(root_step, axis=0)])


def two_bone_ik(
    shoulder_m: np.ndarray,
    target_m: np.ndarray,
    pole: np.ndarray,
    upper_m: float,
    lower_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Upper-limb world frames and elbow flexion reaching a target (two-bone IK).

    The upper-arm frame has local -z along the bone and local +y toward the side the
    forearm bends to, which matches the rest pose (arm down, forearm flexing forward).

    Parameters
    ----------
    shoulder_m, target_m
        float [T, 3] shoulder and wrist-target positions [m].
    pole
        float [T, 3] or [3]: direction the elbow points to (e.g. down and back).
    upper_m, lower_m
        Bone lengths [m].

    Returns
    -------
    upper_frames : np.ndarray
        float64 [T, 3, 3] world rotation of the upper arm.
    elbow_flexion_rad : np.ndarray
        float64 [T] elbow flexion [rad] (0 = straight).
    """
    reach = target_m - shoulder_m
    distance = np.linalg.norm(reach, axis=-1)
    distance = np.clip(distance, abs(upper_m - lower_m) + 1e-3, upper_m + lower_m - 1e-4)
    direction = reach / np.maximum(np.linalg.norm(reach, axis=-1, keepdims=True), 1e-9)
    pole = np.broadcast_to(np.asarray(pole, dtype=np.float64), reach.shape)
    bend = pole - np.sum(pole * direction, axis=-1, keepdims=True) * direction
    bend /= np.maximum(np.linalg.norm(bend, axis=-1, keepdims=True), 1e-9)
    cos_shoulder = (upper_m**2 + distance**2 - lower_m**2) / (2 * upper_m * distance)
    shoulder_angle = np.arccos(np.clip(cos_shoulder, -1.0, 1.0))
    upper_dir = np.cos(shoulder_angle)[:, None] * direction + np.sin(shoulder_angle)[:, None] * bend
    cos_elbow = (upper_m**2 + lower_m**2 - distance**2) / (2 * upper_m * lower_m)
    elbow_flexion = np.pi - np.arccos(np.clip(cos_elbow, -1.0, 1.0))
    # the forearm bends away from the pole side of the upper arm
    side = -bend - np.sum(-bend * upper_dir, axis=-1, keepdims=True) * upper_dir
    side /= np.maximum(np.linalg.norm(side, axis=-1, keepdims=True), 1e-9)
    axis_z = -upper_dir
    axis_y = side
    axis_x = np.cross(axis_y, axis_z)
    frames = np.stack([axis_x, axis_y, axis_z], axis=-1)
    return frames, elbow_flexion


def nlerp_rotations(first: np.ndarray, second: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Blend rotation matrices by normalised quaternion interpolation.

    Parameters
    ----------
    first, second
        float [T, J, 3, 3] rotations.
    weight
        float [T] weight of ``second`` in [0, 1].

    Returns
    -------
    np.ndarray
        float64 [T, J, 3, 3] blended rotations.
    """
    shape = first.shape
    quat_a = _continuous_quaternions(Rotation.from_matrix(first.reshape(-1, 3, 3)), shape)
    quat_b = _continuous_quaternions(Rotation.from_matrix(second.reshape(-1, 3, 3)), shape)
    # One hemisphere per joint for the whole fade: choosing it frame by frame flips the
    # blend where the two rotations are ~180 deg apart, a jump of the limb in one frame.
    sign = np.where(np.sum(quat_a * quat_b, axis=(0, 2), keepdims=True) < 0, -1.0, 1.0)
    w = np.asarray(weight, dtype=np.float64)[:, None, None]
    blended = (1.0 - w) * quat_a + w * sign * quat_b
    blended /= np.linalg.norm(blended, axis=-1, keepdims=True)
    return Rotation.from_quat(blended.reshape(-1, 4)).as_matrix().reshape(shape)


def _continuous_quaternions(rotations: Rotation, shape: tuple[int, ...]) -> np.ndarray:
    """Quaternions float [T, J, 4] of rotations [T * J], sign-aligned frame to frame."""
    quats = rotations.as_quat().reshape(shape[0], shape[1], 4)
    agree = np.sum(quats[1:] * quats[:-1], axis=-1) >= 0  # [T - 1, J]
    signs = np.cumprod(np.where(agree, 1.0, -1.0), axis=0)
    quats[1:] *= signs[..., None]
    return quats


def smoothstep(x: np.ndarray) -> np.ndarray:
    """C2 ramp from 0 to 1 over x in [0, 1] (quintic ``6x^5 - 15x^4 + 10x^3``)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (x * (6.0 * x - 15.0) + 10.0)
