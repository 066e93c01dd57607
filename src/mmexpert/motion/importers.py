"""Importers: BVH motion capture and HumanML3D ``new_joints`` arrays -> :class:`Motion`.

Both sources are Y-up; our world frame is z-up and right-handed. The axis change is the
proper rotation ``(x, y, z)_src -> (x, -z, y)_world``. Feet are put on the floor (the
lowest toe joint over the clip at ``floor_clearance_m``), and :func:`place_motion` turns
and moves a clip so that the person starts at a given spot facing a given heading.

BVH files are read with the PyPI package ``bvhio`` (per-frame world joint positions);
any skeleton is mapped to our 22 joints by a name table (:data:`BVH_NAME_TABLES`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from mmexpert.motion.motion import Motion
from mmexpert.motion.skeleton import FOOT_JOINTS, JOINT_INDEX, JOINT_NAMES

HUMANML3D_FPS = 20.0
"""Frame rate of HumanML3D ``new_joints`` arrays [Hz]."""

Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
"""Rotation taking Y-up source coordinates to our z-up world: ``world = M @ source``."""

# Our joint name -> candidate BVH joint names (first present wins). Joints missing from a
# skeleton (e.g. spine2 in the Bandai Namco rig) are interpolated, see _fill_spine.
BVH_NAME_TABLES: dict[str, tuple[str, ...]] = {
    "pelvis": ("Hips", "hip", "pelvis", "mixamorig:Hips"),
    "left_hip": ("UpperLeg_L", "LeftUpLeg", "LeftHip", "lThigh", "mixamorig:LeftUpLeg"),
    "right_hip": ("UpperLeg_R", "RightUpLeg", "RightHip", "rThigh", "mixamorig:RightUpLeg"),
    "spine1": ("Spine", "abdomen", "mixamorig:Spine"),
    "left_knee": ("LowerLeg_L", "LeftLeg", "LeftKnee", "lShin", "mixamorig:LeftLeg"),
    "right_knee": ("LowerLeg_R", "RightLeg", "RightKnee", "rShin", "mixamorig:RightLeg"),
    "spine2": ("Spine1", "chest", "mixamorig:Spine1"),
    "left_ankle": ("Foot_L", "LeftFoot", "LeftAnkle", "lFoot", "mixamorig:LeftFoot"),
    "right_ankle": ("Foot_R", "RightFoot", "RightAnkle", "rFoot", "mixamorig:RightFoot"),
    "spine3": ("Chest", "Spine2", "chest2", "mixamorig:Spine2"),
    "left_foot": ("Toes_L", "LeftToeBase", "LeftToe", "mixamorig:LeftToeBase"),
    "right_foot": ("Toes_R", "RightToeBase", "RightToe", "mixamorig:RightToeBase"),
    "neck": ("Neck", "neck", "mixamorig:Neck"),
    "left_collar": ("Shoulder_L", "LeftShoulder", "lCollar", "mixamorig:LeftShoulder"),
    "right_collar": ("Shoulder_R", "RightShoulder", "rCollar", "mixamorig:RightShoulder"),
    "head": ("Head", "head", "mixamorig:Head"),
    "left_shoulder": ("UpperArm_L", "LeftArm", "lShldr", "mixamorig:LeftArm"),
    "right_shoulder": ("UpperArm_R", "RightArm", "rShldr", "mixamorig:RightArm"),
    "left_elbow": ("LowerArm_L", "LeftForeArm", "lForeArm", "mixamorig:LeftForeArm"),
    "right_elbow": ("LowerArm_R", "RightForeArm", "rForeArm", "mixamorig:RightForeArm"),
    "left_wrist": ("Hand_L", "LeftHand", "lHand", "mixamorig:LeftHand"),
    "right_wrist": ("Hand_R", "RightHand", "rHand", "mixamorig:RightHand"),
}
_INTERPOLABLE = ("spine1", "spine2", "spine3")


class MotionImportError(ValueError):
    """A motion file that cannot be read or mapped to the 22-joint skeleton."""


def load_bvh(
    path: str | Path,
    unit_m: float = 0.01,
    floor_clearance_m: float = 0.02,
    name_table: dict[str, tuple[str, ...]] | None = None,
) -> Motion:
    """Read a BVH file into a :class:`Motion` in our world frame.

    Parameters
    ----------
    path
        BVH file (Y up, as the format's convention).
    unit_m
        Length of one BVH unit [m] (0.01 for centimetres, as the Bandai Namco data).
    floor_clearance_m
        Height of the lowest toe joint over the whole clip after grounding [m].
    name_table
        Our joint name -> candidate BVH joint names; default :data:`BVH_NAME_TABLES`.

    Returns
    -------
    Motion
        joints float64 [T, 22, 3] [m] at the file's frame rate.
    """
    try:
        with warnings.catch_warnings():  # bvhio imports PyGLM the deprecated way
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            import bvhio
    except ModuleNotFoundError as error:  # pragma: no cover - dependency missing
        raise MotionImportError(
            "reading BVH needs the package 'bvhio' (pip install bvhio)"
        ) from error
    path = Path(path)
    if not path.is_file():
        raise MotionImportError(f"BVH file not found: {path}")
    _check_bvh_structure(path)
    try:
        container = bvhio.readAsBvh(str(path))
        root = bvhio.readAsHierarchy(str(path))
    except Exception as error:
        raise MotionImportError(f"cannot parse BVH file {path}: {error}") from error
    fps = 1.0 / float(container.FrameTime)
    num_frames = int(container.FrameCount)
    joints_by_name = {joint.Name: joint for joint, _, _ in root.layout()}
    table = BVH_NAME_TABLES if name_table is None else name_table
    mapping: dict[int, object] = {}
    for ours, candidates in table.items():
        found = next((joints_by_name[name] for name in candidates if name in joints_by_name), None)
        if found is not None:
            mapping[JOINT_INDEX[ours]] = found
        elif ours not in _INTERPOLABLE:
            raise MotionImportError(
                f"{path.name}: no BVH joint for {ours!r} (tried {list(candidates)}); "
                f"joints present: {sorted(joints_by_name)}"
            )
    source = np.full((num_frames, len(JOINT_NAMES), 3), np.nan)
    for frame in range(num_frames):
        root.loadPose(frame)
        for index, joint in mapping.items():
            position = joint.PositionWorld  # type: ignore[attr-defined]
            source[frame, index] = (position.x, position.y, position.z)
    joints = _fill_spine(source) * unit_m
    fps = round(fps, 3)  # BVH stores 1 / fps with limited digits (0.0333333 -> 30.00003)
    return Motion(ground(joints @ Y_UP_TO_Z_UP.T, floor_clearance_m), fps)


def load_humanml3d(
    path_or_array: str | Path | np.ndarray,
    fps: float = HUMANML3D_FPS,
    floor_clearance_m: float = 0.02,
) -> Motion:
    """Read a HumanML3D ``new_joints`` array ([T, 22, 3], metres, Y up) into a Motion.

    Parameters
    ----------
    path_or_array
        ``.npy`` file or the array itself, float [T, 22, 3] [m], Y up.
    fps
        Frame rate [Hz]; HumanML3D uses 20.
    floor_clearance_m
        Height of the lowest toe joint over the clip after grounding [m].

    Returns
    -------
    Motion
        joints float64 [T, 22, 3] [m], z up.
    """
    if isinstance(path_or_array, np.ndarray):
        array = path_or_array
    else:
        path = Path(path_or_array)
        if not path.is_file():
            raise MotionImportError(f"HumanML3D file not found: {path}")
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as error:
            raise MotionImportError(f"cannot read {path} as a .npy array: {error}") from error
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 3 or array.shape[1:] != (len(JOINT_NAMES), 3):
        raise MotionImportError(
            f"HumanML3D joints must have shape [T, 22, 3], got {array.shape} "
            "(the 263-dim feature vectors are not joint positions)"
        )
    if not np.all(np.isfinite(array)):
        raise MotionImportError("HumanML3D joints contain NaN or infinite values")
    return Motion(ground(array @ Y_UP_TO_Z_UP.T, floor_clearance_m), fps)


def ground(joints_m: np.ndarray, floor_clearance_m: float = 0.02) -> np.ndarray:
    """Shift a clip vertically so its lowest foot joint over all frames is at the clearance.

    Parameters
    ----------
    joints_m
        float [T, 22, 3] joint positions [m], z up.
    floor_clearance_m
        Target height of the lowest foot joint [m].

    Returns
    -------
    np.ndarray
        float64 [T, 22, 3] shifted positions [m].
    """
    lowest = float(np.min(joints_m[:, list(FOOT_JOINTS), 2]))
    shifted = np.array(joints_m, dtype=np.float64)
    shifted[..., 2] += floor_clearance_m - lowest
    return shifted


def facing_heading_rad(joints_m: np.ndarray) -> np.ndarray:
    """Heading the person faces in each frame, from the hip line (z up world).

    Parameters
    ----------
    joints_m
        float [T, 22, 3] joint positions [m].

    Returns
    -------
    np.ndarray
        float64 [T] heading [rad], angle of the facing direction from +x, counter-clockwise.
    """
    right = joints_m[:, JOINT_INDEX["right_hip"]] - joints_m[:, JOINT_INDEX["left_hip"]]
    # forward = z x right, for x right / y forward / z up
    forward_x, forward_y = -right[:, 1], right[:, 0]
    return np.arctan2(forward_y, forward_x)


def place_motion(motion: Motion, start_xy_m: tuple[float, float], heading_rad: float) -> Motion:
    """Turn and move a clip so the pelvis starts at ``start_xy_m`` facing ``heading_rad``.

    Parameters
    ----------
    motion
        Any motion in the world frame.
    start_xy_m
        Pelvis position in the first frame, horizontal [m].
    heading_rad
        Facing direction in the first frame [rad] from +x, counter-clockwise
        (``-pi/2`` faces a radar at the origin from a spot on the +y axis).

    Returns
    -------
    Motion
        The moved clip; heights and the frame rate are unchanged.
    """
    joints = motion.joints_m
    turn = heading_rad - float(facing_heading_rad(joints[:1])[0])
    cos, sin = np.cos(turn), np.sin(turn)
    rotation = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
    pelvis0 = joints[0, JOINT_INDEX["pelvis"]].copy()
    pelvis0[2] = 0.0
    moved = (joints - pelvis0) @ rotation.T
    moved[..., 0] += start_xy_m[0]
    moved[..., 1] += start_xy_m[1]
    return Motion(moved, motion.fps)


def _check_bvh_structure(path: Path) -> None:
    """Refuse files bvhio cannot parse (it loops forever on a truncated hierarchy)."""
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        raise MotionImportError(f"cannot read {path}: {error}") from error
    header, _, motion = text.partition("MOTION")
    if not header.lstrip().startswith("HIERARCHY"):
        raise MotionImportError(f"{path.name}: not a BVH file (no HIERARCHY section)")
    if header.count("{") != header.count("}") or header.count("{") == 0:
        raise MotionImportError(f"{path.name}: unbalanced braces in the BVH hierarchy")
    if "Frames:" not in motion or "Frame Time:" not in motion:
        raise MotionImportError(f"{path.name}: no MOTION section with Frames / Frame Time")


def _fill_spine(joints: np.ndarray) -> np.ndarray:
    """Interpolate missing spine joints between the pelvis and the neck."""
    filled = joints.copy()
    chain = [JOINT_INDEX[name] for name in ("pelvis", "spine1", "spine2", "spine3", "neck")]
    known = [i for i, j in enumerate(chain) if not np.isnan(filled[0, j, 0])]
    for position, joint in enumerate(chain):
        if np.isnan(filled[0, joint, 0]):
            below = max(i for i in known if i < position)
            above = min(i for i in known if i > position)
            weight = (position - below) / (above - below)
            filled[:, joint] = (1 - weight) * filled[:, chain[below]] + weight * filled[
                :, chain[above]
            ]
    return filled
