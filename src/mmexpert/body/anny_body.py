"""Optional high-fidelity body: the ``anny`` parametric mesh skinned to the 22-joint skeleton.

``anny`` (NAVER, Apache-2.0, MakeHuman assets CC0; PyPI ``anny``) gives a 13,718-vertex,
27,420-triangle body. It is optional: install it with
``pip install --no-deps anny`` plus ``roma trimesh safetensors pyyaml requests``. Its
first model build takes about a minute here (older releases: about 4) and writes a cache
of about 800 MB (``ANNY_CACHE_DIR``, default ``~/.cache/anny``); later builds take well
under a second.

How the mesh follows our skeleton
---------------------------------
1. The rest mesh (default phenotype, with sex and build mapped to anny's ``gender`` and
   ``weight``) is scaled to the subject's height, and our 22 joints are read off anny's
   bone heads in the rest pose (table ``_ANNY_JOINTS``).
2. Anny's skinning weights are summed per body segment (table ``_ANNY_BONE_SEGMENT``),
   giving each vertex weights over our 17 segments.
3. Each segment moves by the affine map that takes its rest frame to its current frame
   (:func:`mmexpert.body.segments.segment_poses`, the same roll-continuous frames as the
   ellipsoid body) and stretches it along the bone to the clip's bone length; vertices
   are blended with their weights (linear blend skinning).

Patches, RCS and visibility
---------------------------
Patches are mesh vertices picked by farthest-point sampling to the configured density;
each carries the area of the mesh vertices nearest to it and their mean normal. RCS per
segment is the same ellipsoid RCS as :class:`~mmexpert.body.model.BodyModel` (so the two
bodies agree in level), spread over the segment's patches by projected area. Visibility
is back-face culling plus a depth buffer of the whole mesh (vertices and triangle
centroids) seen from the radar (:mod:`mmexpert.body.zbuffer`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from mmexpert.body.ellipsoid import ellipsoid_rcs_m2
from mmexpert.body.model import (
    BodyConfig,
    BodyError,
    BodyModel,
    BodyScatterers,
    MotionLike,
    check_scatter_inputs,
    segment_rcs_share_m2,
    subject_height_m,
)
from mmexpert.body.segments import (
    JOINT_NAMES,
    SEGMENT_NAMES,
    SegmentGeometry,
    segment_poses,
    typical_bone_lengths_m,
)
from mmexpert.body.zbuffer import depth_buffer_visible

# Our joints at anny bone heads (default rig).
_ANNY_JOINTS: dict[str, str] = {
    "pelvis": "root",
    "left_hip": "upperleg01.L",
    "right_hip": "upperleg01.R",
    "spine1": "spine04",
    "left_knee": "lowerleg01.L",
    "right_knee": "lowerleg01.R",
    "spine2": "spine03",
    "left_ankle": "foot.L",
    "right_ankle": "foot.R",
    "spine3": "spine02",
    "left_foot": "toe3-1.L",
    "right_foot": "toe3-1.R",
    "neck": "neck01",
    "left_collar": "clavicle.L",
    "right_collar": "clavicle.R",
    "head": "head",
    "left_shoulder": "upperarm01.L",
    "right_shoulder": "upperarm01.R",
    "left_elbow": "lowerarm01.L",
    "right_elbow": "lowerarm01.R",
    "left_wrist": "wrist.L",
    "right_wrist": "wrist.R",
}

# Anny bone-name prefix -> our segment (side suffix .L / .R -> left_ / right_).
_ANNY_BONE_SEGMENT: dict[str, str] = {
    "root": "pelvis",
    "pelvis": "pelvis",
    "spine05": "pelvis",
    "spine04": "abdomen",
    "spine03": "abdomen",
    "spine02": "chest",
    "spine01": "chest",
    "clavicle": "chest",
    "shoulder01": "upper_arm",
    "upperarm": "upper_arm",
    "lowerarm": "forearm",
    "wrist": "hand",
    "finger": "hand",
    "metacarpal": "hand",
    "upperleg": "thigh",
    "lowerleg": "shank",
    "foot": "foot",
    "toe": "foot",
    "neck": "neck",
    "head": "head",
    "eye": "head",
}

_BUILD_TO_ANNY_WEIGHT = {"slim": 0.3, "average": 0.5, "heavy": 0.8}


def _segment_of_bone(label: str) -> int:
    side = ""
    name = label
    if label.endswith((".L", ".R")):
        side = "left_" if label.endswith(".L") else "right_"
        name = label[:-2]
    for prefix, segment in _ANNY_BONE_SEGMENT.items():
        if name.startswith(prefix):
            full = segment if segment in SEGMENT_NAMES else side + segment
            if full in SEGMENT_NAMES:
                return SEGMENT_NAMES.index(full)
    raise BodyError(f"anny bone {label!r} has no body segment in the mapping table")


@dataclass(frozen=True)
class AnnyRest:
    """The anny body in its rest pose, in our body frame (x right, y forward, z up) [m]."""

    vertices_m: np.ndarray  # float64 [V, 3] rest vertices, feet at z = 0 [m]
    faces: np.ndarray  # int64 [F, 3] triangles (counter-clockwise seen from outside)
    joints_m: np.ndarray  # float64 [22, 3] our joints in the rest pose [m]
    segment_weights: np.ndarray  # float64 [V, S] skinning weights over our segments

    @property
    def height_m(self) -> float:
        """Standing height of the rest mesh [m]."""
        return float(np.ptp(self.vertices_m[:, 2]))


@functools.lru_cache(maxsize=4)
def load_anny_rest(sex: str = "male", build: str = "average") -> AnnyRest:
    """Build the anny rest mesh and map it onto our skeleton and segments.

    Parameters
    ----------
    sex
        "female" | "male" (anny ``gender`` 0 | 1).
    build
        "slim" | "average" | "heavy" (anny ``weight`` 0.3 | 0.5 | 0.8).

    Returns
    -------
    AnnyRest
        Unscaled rest body (anny's default height, about 1.63 m).

    Raises
    ------
    BodyError
        When ``anny`` (or torch) is not installed.
    """
    try:
        import anny
        import torch
    except ImportError as error:
        raise BodyError(
            "the optional anny body needs the 'anny' package: pip install --no-deps anny "
            "roma trimesh safetensors pyyaml requests"
        ) from error
    model = anny.Anny()
    phenotype = {
        "gender": 0.0 if sex == "female" else 1.0,
        "weight": _BUILD_TO_ANNY_WEIGHT[build],
    }
    with torch.no_grad():
        output = model(phenotype_kwargs=phenotype)
    # Anny faces -y with its left at +x; turning it by pi about z gives our body frame.
    flip = np.array([-1.0, -1.0, 1.0])
    vertices = output["rest_vertices"][0].double().numpy() * flip
    heads = output["rest_bone_heads"][0].double().numpy() * flip
    labels = list(model.bone_labels)
    floor = vertices[:, 2].min()
    vertices[:, 2] -= floor
    heads[:, 2] -= floor
    joints = np.stack([heads[labels.index(_ANNY_JOINTS[name])] for name in JOINT_NAMES])

    bone_to_segment = np.array([_segment_of_bone(label) for label in labels])
    bone_index = model.vertex_bone_indices.numpy()  # [V, K]
    bone_weight = model.vertex_bone_weights.double().numpy()  # [V, K]
    weights = np.zeros((vertices.shape[0], len(SEGMENT_NAMES)))
    rows = np.repeat(np.arange(vertices.shape[0]), bone_index.shape[1])
    np.add.at(weights, (rows, bone_to_segment[bone_index.ravel()]), bone_weight.ravel())
    weights /= weights.sum(axis=1, keepdims=True)
    faces = model.get_triangular_faces().numpy().astype(np.int64)
    return AnnyRest(vertices_m=vertices, faces=faces, joints_m=joints, segment_weights=weights)


def _vertex_normals_and_areas(
    vertices_m: np.ndarray, faces: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Area-weighted vertex normals [V, 3] and vertex areas [V] (a third of each face)."""
    corners = vertices_m[faces]  # [F, 3, 3]
    cross = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    face_area = 0.5 * np.linalg.norm(cross, axis=1)
    normals = np.zeros_like(vertices_m)
    areas = np.zeros(vertices_m.shape[0])
    for corner in range(3):
        np.add.at(normals, faces[:, corner], cross)
        np.add.at(areas, faces[:, corner], face_area / 3.0)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return normals, areas


def farthest_point_sample(points: np.ndarray, count: int) -> np.ndarray:
    """Indices [count] of points spread evenly by farthest-point sampling.

    Deterministic: starts at the highest point (largest z).
    """
    chosen = np.empty(count, dtype=np.int64)
    chosen[0] = int(np.argmax(points[:, 2]))
    nearest = np.linalg.norm(points - points[chosen[0]], axis=1)
    for index in range(1, count):
        chosen[index] = int(np.argmax(nearest))
        nearest = np.minimum(nearest, np.linalg.norm(points - points[chosen[index]], axis=1))
    return chosen


@dataclass(frozen=True)
class AnnyPatches:
    """Surface patches of the scaled rest mesh."""

    positions_m: np.ndarray  # float64 [P, 3] rest positions [m]
    normals: np.ndarray  # float64 [P, 3] rest unit normals
    area_m2: np.ndarray  # float64 [P] [m^2]
    segment_weights: np.ndarray  # float64 [P, S] skinning weights
    segment_index: np.ndarray  # int64 [P] dominant segment


def anny_patches(rest: AnnyRest, scale: float, density_per_m2: float) -> AnnyPatches:
    """Patches on the rest mesh scaled by ``scale`` at about ``density_per_m2``."""
    vertices = rest.vertices_m * scale
    normals, areas = _vertex_normals_and_areas(vertices, rest.faces)
    count = int(
        min(vertices.shape[0], max(len(SEGMENT_NAMES), round(areas.sum() * density_per_m2)))
    )
    chosen = farthest_point_sample(vertices, count)
    cell = cKDTree(vertices[chosen]).query(vertices)[1]  # nearest patch of each vertex
    area = np.bincount(cell, weights=areas, minlength=count)
    normal = np.zeros((count, 3))
    np.add.at(normal, cell, normals * areas[:, None])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    weights = rest.segment_weights[chosen]
    segment = np.argmax(weights, axis=1)
    order = np.argsort(segment, kind="stable")
    return AnnyPatches(
        positions_m=vertices[chosen][order],
        normals=normal[order],
        area_m2=area[order],
        segment_weights=weights[order],
        segment_index=segment[order],
    )


class AnnyBodyModel:
    """The anny mesh body, driven by a 22-joint skeleton; same output as :class:`BodyModel`.

    Parameters
    ----------
    config
        Same settings as the ellipsoid body (height, build, sex, density, occlusion,
        reflectivity); ``patches_per_batch`` is not used.
    pixel_size_m
        Depth-buffer pixel at the body's distance [m] (see :mod:`mmexpert.body.zbuffer`).
    depth_tolerance_m
        Depth-buffer tolerance [m].
    frames_per_chunk
        Frames skinned and depth-buffered together (memory ~ 8 MB per frame).

    Raises
    ------
    BodyError
        At construction when ``anny`` is not installed.
    """

    def __init__(
        self,
        config: BodyConfig | None = None,
        pixel_size_m: float = 0.025,
        depth_tolerance_m: float = 0.03,
        frames_per_chunk: int = 32,
    ) -> None:
        self.config = config if config is not None else BodyConfig()
        self.pixel_size_m = float(pixel_size_m)
        self.depth_tolerance_m = float(depth_tolerance_m)
        self.frames_per_chunk = int(frames_per_chunk)
        self.rest = load_anny_rest(self.config.sex, self.config.build)
        # The ellipsoid body supplies the segment RCS, so the two bodies agree in level.
        self._ellipsoids = BodyModel(self.config)
        self._patches: dict[float, AnnyPatches] = {}  # by mesh scale

    def scatter(
        self,
        joints_m: np.ndarray,
        radar_position_m: np.ndarray,
        times_s: np.ndarray,
    ) -> BodyScatterers:
        """Surface scatterers of the mesh body for every frame of a skeleton.

        Parameters, returns and errors as :meth:`BodyModel.scatter`.
        """
        joints, radar, times = check_scatter_inputs(joints_m, radar_position_m, times_s)
        bone_lengths = typical_bone_lengths_m(joints)
        height = subject_height_m(self.config, bone_lengths)
        scale = height / self.rest.height_m
        scale = round(scale, 4)  # chunks of one clip share one patch layout
        if scale not in self._patches:
            self._patches[scale] = anny_patches(self.rest, scale, self.config.patch_density_per_m2)
        patches = self._patches[scale]

        rest_joints = self.rest.joints_m[None] * scale
        at_joint = SegmentGeometry(
            semi_axes_m=np.ones((len(SEGMENT_NAMES), 3)),
            center_fraction=np.zeros(len(SEGMENT_NAMES)),
        )
        rest_origin, rest_frame = segment_poses(rest_joints, at_joint)  # [1, S, 3(,3)]
        origin, frame = segment_poses(joints, at_joint)  # [T, S, 3], [T, S, 3, 3]
        stretch = bone_lengths / typical_bone_lengths_m(rest_joints)  # [S]
        # Affine map per segment: x -> A x + b, A = W_t diag(1, 1, k) W_rest^T.
        rotation = np.einsum("tsij,skj->tsik", frame, rest_frame[0])  # W_t W_rest^T
        stretched = frame.copy()
        stretched[..., 2] *= stretch[None, :, None]
        linear = np.einsum("tsij,skj->tsik", stretched, rest_frame[0])
        offset = origin - np.einsum("tsij,sj->tsi", linear, rest_origin[0])

        positions = _skin(patches.positions_m, patches.segment_weights, linear, offset)
        normals = _skin(patches.normals, patches.segment_weights, rotation, None)
        normals /= np.linalg.norm(normals, axis=-1, keepdims=True)

        to_radar = radar[:, None, :] - positions
        distance = np.linalg.norm(to_radar, axis=-1)
        if np.any(distance < 1e-3):
            raise BodyError("the radar lies on the body surface; place it away from the person")
        cosine = np.einsum("tpi,tpi->tp", normals, to_radar) / distance
        facing = cosine > 0.0

        layout = self._ellipsoids.layout(joints)
        centers, rotations = segment_poses(joints, layout.geometry)
        direction_local = np.einsum("tsik,tsi->tsk", rotations, radar[:, None, :] - centers)
        segment_rcs = ellipsoid_rcs_m2(layout.geometry.semi_axes_m[None], direction_local)
        projected = patches.area_m2[None, :] * np.maximum(cosine, 0.0)
        rcs = self.config.surface_power_reflectivity * segment_rcs_share_m2(
            segment_rcs, patches.segment_index, projected
        )

        visible = facing.copy()
        if self.config.occlusion:
            vertices = self.rest.vertices_m * scale
            weights = self.rest.segment_weights
            for start in range(0, joints.shape[0], self.frames_per_chunk):
                chunk = slice(start, start + self.frames_per_chunk)
                skinned = _skin(vertices, weights, linear[chunk], offset[chunk])  # [t, V, 3]
                centroids = skinned[:, self.rest.faces].mean(axis=2)  # [t, F, 3]
                surface = np.concatenate([skinned, centroids], axis=1)
                visible[chunk] &= depth_buffer_visible(
                    positions[chunk],
                    surface,
                    radar[chunk],
                    self.pixel_size_m,
                    self.depth_tolerance_m,
                )
        return BodyScatterers(
            times_s=times,
            positions_m=positions,
            normals=normals,
            rcs_m2=rcs,
            visible=visible,
            facing_radar=facing,
            patch_area_m2=patches.area_m2,
            segment_index=patches.segment_index,
        )

    def scatter_motion(
        self,
        motion: MotionLike,
        times_s: Sequence[float] | np.ndarray,
        radar_position_m: np.ndarray,
    ) -> BodyScatterers:
        """As :meth:`BodyModel.scatter_motion`."""
        times = np.asarray(times_s, dtype=np.float64)
        if times.ndim != 1 or times.size == 0:
            raise BodyError(f"times_s must be a non-empty 1-D array, got shape {times.shape}")
        return self.scatter(motion.positions_at(times), radar_position_m, times)


def _skin(
    points: np.ndarray, weights: np.ndarray, linear: np.ndarray, offset: np.ndarray | None
) -> np.ndarray:
    """Linear blend skinning: float64 [T, N, 3] from rest points [N, 3], weights [N, S],
    per-segment linear maps [T, S, 3, 3] and offsets [T, S, 3] (None: vectors)."""
    num_frames, num_segments = linear.shape[:2]
    blended = np.matmul(weights, linear.reshape(num_frames, num_segments, 9))  # [T, N, 9]
    blended = blended.reshape(num_frames, -1, 3, 3)
    moved = np.einsum("tnij,nj->tni", blended, points)
    if offset is not None:
        moved += np.matmul(weights, offset)  # [T, N, 3]
    return moved
