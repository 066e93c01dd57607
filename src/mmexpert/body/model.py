"""The ellipsoid body model: skeleton motion in, radar scatterers over time out.

RCS model (documented choice)
-----------------------------
Each segment's ellipsoid has the geometric-optics RCS of :func:`ellipsoid_rcs_m2` for the
direction from its centre to the radar (V. C. Chen, *The Micro-Doppler Effect in Radar*),
scaled by the skin's power reflectivity (:mod:`mmexpert.body.materials`, 0.34 at 77 GHz).
That RCS is spread over the segment's patches in proportion to their projected area
towards the radar, ``area * max(0, n . u)``, so that the segment's patches add up to the
ellipsoid's RCS when nothing hides them (incoherently: the radar sums the patches with
their own phases, so their mean power adds). Patches hidden behind other segments keep
their share in ``rcs_m2`` but are masked out by ``visible``: an arm in front of the chest
removes the part of the chest's echo that it shadows instead of moving it elsewhere.

Projected-area weighting spreads a segment's echo over its whole lit side, which gives
the extended range-Doppler footprint of a real body; a specular-point model would put it
on one point per segment. Facet physical optics (coherent, with the phase of each facet)
would be the next step up in fidelity and is not implemented here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from mmexpert.body.ellipsoid import (
    ellipsoid_rcs_m2,
    ellipsoid_surface_area_m2,
    sample_ellipsoid_surface,
)
from mmexpert.body.materials import SKIN_POWER_REFLECTIVITY_77GHZ
from mmexpert.body.segments import (
    SEGMENT_NAMES,
    SegmentGeometry,
    body_dimensions,
    segment_geometry,
    segment_poses,
    typical_bone_lengths_m,
)
from mmexpert.body.visibility import facing_mask, occluded_mask
from mmexpert.motion.skeleton import BUILD_WIDTH_SCALE, JOINT_NAMES

# Winter (2009): thigh 0.245 H + shank 0.246 H; used to estimate H from a skeleton.
_LEG_LENGTH_FRACTION_OF_HEIGHT = 0.491
_MIN_RADAR_DISTANCE_M = 1e-3


class BodyError(ValueError):
    """Bad input to the body model (shapes, non-finite values, impossible settings)."""


@dataclass(frozen=True)
class BodyConfig:
    """Settings of the ellipsoid body model."""

    height_m: float | None = None  # standing height [m]; None: from thigh + shank lengths
    build: str = "average"  # "slim" | "average" | "heavy": scales breadths and radii
    sex: str = "male"  # "female" | "male": hip / shoulder breadth ratios
    patch_density_per_m2: float = 500.0  # surface patches per m^2 (about 4.5 cm spacing)
    min_patches_per_segment: int = 12  # so that hands and feet are more than a point
    occlusion: bool = True  # test lines of sight against the other segments
    # Power reflectivity |Gamma|^2 of the surface: skin at 77 GHz (materials.py); 1.0 gives
    # Chen's perfectly conducting ellipsoids.
    surface_power_reflectivity: float = SKIN_POWER_REFLECTIVITY_77GHZ
    patches_per_batch: int = 8192  # (frame, patch) pairs per occlusion batch (memory bound)

    def __post_init__(self) -> None:
        if self.height_m is not None and not (0.5 <= self.height_m <= 2.5):
            raise BodyError(f"height_m={self.height_m} outside the supported range [0.5, 2.5] m")
        if self.build not in BUILD_WIDTH_SCALE:
            raise BodyError(f"build={self.build!r} is not one of {sorted(BUILD_WIDTH_SCALE)}")
        if self.sex not in ("female", "male"):
            raise BodyError(f"sex={self.sex!r} is not 'female' or 'male'")
        if not (np.isfinite(self.patch_density_per_m2) and self.patch_density_per_m2 >= 1.0):
            raise BodyError(
                f"patch_density_per_m2={self.patch_density_per_m2} must be >= 1 patch per m^2"
            )
        if self.min_patches_per_segment < 1:
            raise BodyError(
                f"min_patches_per_segment={self.min_patches_per_segment} must be at least 1"
            )
        if not 0.0 <= self.surface_power_reflectivity <= 1.0:
            raise BodyError(
                f"surface_power_reflectivity={self.surface_power_reflectivity} must lie in [0, 1]"
            )
        if self.patches_per_batch < 1:
            raise BodyError(f"patches_per_batch={self.patches_per_batch} must be at least 1")


@dataclass(frozen=True)
class BodyScatterers:
    """Surface scatterers of one body over time: the hand-off to the radar scene.

    ``rcs_m2`` is the raw per-patch RCS (zero for back-facing patches, whose projected
    area is zero); ``visible`` also removes patches hidden behind other segments. Use
    :meth:`effective_rcs_m2` for what the radar sees.
    """

    times_s: np.ndarray  # float64 [T] sample times [s]
    positions_m: np.ndarray  # float64 [T, P, 3] patch centres, world frame [m]
    normals: np.ndarray  # float64 [T, P, 3] unit outward normals, world frame
    rcs_m2: np.ndarray  # float64 [T, P] raw RCS per patch [m^2]
    visible: np.ndarray  # bool [T, P] facing the radar and not occluded
    facing_radar: np.ndarray  # bool [T, P] facing the radar (back-face test only)
    patch_area_m2: np.ndarray  # float64 [P] patch areas [m^2]
    segment_index: np.ndarray  # int64 [P] segment of each patch
    segment_names: tuple[str, ...] = field(default=SEGMENT_NAMES)  # [S]

    @property
    def num_frames(self) -> int:
        """Number of time samples T."""
        return int(self.positions_m.shape[0])

    @property
    def num_patches(self) -> int:
        """Number of surface patches P."""
        return int(self.positions_m.shape[1])

    def effective_rcs_m2(self) -> np.ndarray:
        """float64 [T, P] RCS the radar sees: ``rcs_m2 * visible`` [m^2]."""
        return self.rcs_m2 * self.visible

    def total_rcs_m2(self) -> np.ndarray:
        """float64 [T] incoherent sum of the effective RCS over patches [m^2]."""
        return self.effective_rcs_m2().sum(axis=1)

    def visible_fraction(self) -> float:
        """Fraction of all (frame, patch) pairs that are visible."""
        return float(self.visible.mean())

    def facing_fraction(self) -> float:
        """Fraction of (frame, patch) pairs that face the radar (back-face culling only)."""
        return float(self.facing_radar.mean())


class MotionLike(Protocol):
    """Anything that samples joint positions at given times, e.g. ``mmexpert.motion.Motion``."""

    def positions_at(self, times_s: np.ndarray) -> np.ndarray:
        """float64 [N, 22, 3] joint positions [m] at ``times_s`` [N] [s]."""
        ...


@dataclass(frozen=True)
class BodyLayout:
    """Patch layout of one body: geometry plus the patches in their segment frames."""

    geometry: SegmentGeometry  # ellipsoid sizes and placements
    positions_local_m: np.ndarray  # float64 [P, 3] patch centres in their segment frame [m]
    normals_local: np.ndarray  # float64 [P, 3] unit normals in their segment frame
    patch_area_m2: np.ndarray  # float64 [P] [m^2]
    segment_index: np.ndarray  # int64 [P] segment of each patch (contiguous blocks)
    segment_start: np.ndarray  # int64 [S] index of each segment's first patch


class BodyModel:
    """Ellipsoid body: turns joint trajectories into radar scatterers.

    Parameters
    ----------
    config
        Model settings; defaults give an average adult whose height is read off the
        skeleton, at 500 patches per m^2, with occlusion.

    Examples
    --------
    >>> body = BodyModel(BodyConfig(height_m=1.75))
    >>> scatterers = body.scatter(joints_m, radar_position_m=np.zeros(3), times_s=times)
    >>> scatterers.effective_rcs_m2().shape  # (T, P)
    """

    def __init__(self, config: BodyConfig | None = None) -> None:
        self.config = config if config is not None else BodyConfig()

    def layout(self, joints_m: np.ndarray) -> BodyLayout:
        """Ellipsoid sizes and surface patches for a clip's skeleton.

        Parameters
        ----------
        joints_m
            float [T, 22, 3] joint positions [m]; bone lengths (median over frames) size
            the ellipsoids along their bones.

        Returns
        -------
        BodyLayout
            Patch count per segment: ``max(min_patches, round(area * density))``.
        """
        joints = _check_joints(joints_m)
        bone_lengths = typical_bone_lengths_m(joints)
        if np.any(bone_lengths < 1e-3):
            short = [n for n, b in zip(SEGMENT_NAMES, bone_lengths, strict=True) if b < 1e-3]
            raise BodyError(f"bones shorter than 1 mm (coincident joints) for segments {short}")
        height = subject_height_m(self.config, bone_lengths)
        dims = body_dimensions(height, self.config.build, self.config.sex)
        geometry = segment_geometry(dims, bone_lengths)
        areas = ellipsoid_surface_area_m2(geometry.semi_axes_m)
        counts = np.maximum(
            self.config.min_patches_per_segment,
            np.round(areas * self.config.patch_density_per_m2).astype(np.int64),
        )
        patches = [
            sample_ellipsoid_surface(axes, int(count))
            for axes, count in zip(geometry.semi_axes_m, counts, strict=True)
        ]
        return BodyLayout(
            geometry=geometry,
            positions_local_m=np.concatenate([p[0] for p in patches]),
            normals_local=np.concatenate([p[1] for p in patches]),
            patch_area_m2=np.concatenate([p[2] for p in patches]),
            segment_index=np.repeat(np.arange(len(SEGMENT_NAMES)), counts),
            segment_start=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
        )

    def scatter(
        self,
        joints_m: np.ndarray,
        radar_position_m: np.ndarray,
        times_s: np.ndarray,
    ) -> BodyScatterers:
        """Surface scatterers, their RCS and visibility for every frame of a skeleton.

        Parameters
        ----------
        joints_m
            float [T, 22, 3] joint positions, world frame [m], in the order of
            :data:`mmexpert.motion.skeleton.JOINT_NAMES` (SMPL / HumanML3D).
        radar_position_m
            float [3] radar position, or [T, 3] one per frame, world frame [m].
        times_s
            float [T] time of each frame [s], strictly increasing.

        Returns
        -------
        BodyScatterers
            Positions [T, P, 3], normals [T, P, 3], raw RCS [T, P], visibility [T, P].

        Raises
        ------
        BodyError
            On wrong shapes, non-finite values, non-increasing times, or a radar placed on
            the body surface.
        """
        joints, radar, times = check_scatter_inputs(joints_m, radar_position_m, times_s)
        layout = self.layout(joints)
        geometry = layout.geometry

        centers, rotations = segment_poses(joints, geometry)  # [T, S, 3], [T, S, 3, 3]
        segment = layout.segment_index
        patch_rotations = rotations[:, segment]  # [T, P, 3, 3]
        positions = centers[:, segment] + np.einsum(
            "tpik,pk->tpi", patch_rotations, layout.positions_local_m
        )
        normals = np.einsum("tpik,pk->tpi", patch_rotations, layout.normals_local)

        to_radar = radar[:, None, :] - positions  # [T, P, 3]
        distance = np.linalg.norm(to_radar, axis=-1)
        if np.any(distance < _MIN_RADAR_DISTANCE_M):
            raise BodyError("the radar lies on the body surface; place it away from the person")
        cosine = np.einsum("tpi,tpi->tp", normals, to_radar) / distance
        facing = facing_mask(positions, normals, radar)

        # Segment RCS from the direction centre -> radar in each segment's own frame.
        center_to_radar = radar[:, None, :] - centers  # [T, S, 3]
        direction_local = np.einsum("tsik,tsi->tsk", rotations, center_to_radar)
        segment_rcs = ellipsoid_rcs_m2(geometry.semi_axes_m[None], direction_local)  # [T, S]
        projected = layout.patch_area_m2[None, :] * np.maximum(cosine, 0.0)  # [T, P]
        rcs = self.config.surface_power_reflectivity * segment_rcs_share_m2(
            segment_rcs, segment, projected
        )

        visible = facing.copy()
        if self.config.occlusion:
            visible &= ~occluded_mask(
                positions,
                segment,
                radar,
                centers,
                rotations,
                geometry.semi_axes_m,
                candidates=facing,
                patches_per_batch=self.config.patches_per_batch,
            )
        return BodyScatterers(
            times_s=times,
            positions_m=positions,
            normals=normals,
            rcs_m2=rcs,
            visible=visible,
            facing_radar=facing,
            patch_area_m2=layout.patch_area_m2,
            segment_index=segment,
        )

    def scatter_motion(
        self,
        motion: MotionLike,
        times_s: Sequence[float] | np.ndarray,
        radar_position_m: np.ndarray,
    ) -> BodyScatterers:
        """Scatterers of a :class:`mmexpert.motion.Motion` sampled at given times.

        Parameters
        ----------
        motion
            Any object with ``positions_at(times_s) -> [N, 22, 3]`` [m].
        times_s
            float [N] sample times [s], strictly increasing.
        radar_position_m
            float [3] or [N, 3] radar position, world frame [m].

        Returns
        -------
        BodyScatterers
            As :meth:`scatter`.
        """
        times = np.asarray(times_s, dtype=np.float64)
        if times.ndim != 1 or times.size == 0:
            raise BodyError(f"times_s must be a non-empty 1-D array, got shape {times.shape}")
        return self.scatter(motion.positions_at(times), radar_position_m, times)


def subject_height_m(config: BodyConfig, bone_lengths_m: np.ndarray) -> float:
    """The configured height, or one estimated from the skeleton's legs.

    Parameters
    ----------
    config
        Body settings; ``height_m`` wins when given.
    bone_lengths_m
        float [S] carrying-bone length of each segment [m]
        (:func:`mmexpert.body.segments.typical_bone_lengths_m`).

    Returns
    -------
    float
        Standing height [m]: ``(thigh + shank) / 0.491`` (Winter), clipped to [0.5, 2.5].
    """
    if config.height_m is not None:
        return float(config.height_m)
    leg = 0.5 * sum(
        bone_lengths_m[SEGMENT_NAMES.index(f"{side}_{part}")]
        for side in ("left", "right")
        for part in ("thigh", "shank")
    )
    return float(np.clip(leg / _LEG_LENGTH_FRACTION_OF_HEIGHT, 0.5, 2.5))


def check_scatter_inputs(
    joints_m: np.ndarray, radar_position_m: np.ndarray, times_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate the inputs of a ``scatter`` call.

    Returns
    -------
    joints : float64 [T, 22, 3]
    radar : float64 [T, 3]
    times : float64 [T]

    Raises
    ------
    BodyError
        Naming the first problem found.
    """
    joints = _check_joints(joints_m)
    num_frames = joints.shape[0]
    times = np.asarray(times_s, dtype=np.float64)
    if times.shape != (num_frames,):
        raise BodyError(
            f"times_s must have shape [{num_frames}] (one per frame), got {times.shape}"
        )
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0.0):
        raise BodyError("times_s must be finite and strictly increasing")
    return joints, _check_radar(radar_position_m, num_frames), times


def segment_rcs_share_m2(
    segment_rcs_m2: np.ndarray,
    patch_segment: np.ndarray,
    projected_area_m2: np.ndarray,
) -> np.ndarray:
    """Spread each segment's RCS over its patches in proportion to projected area.

    Parameters
    ----------
    segment_rcs_m2
        float [T, S] RCS of each segment [m^2].
    patch_segment
        int [P] segment of each patch.
    projected_area_m2
        float [T, P] patch area times max(0, cos incidence) [m^2].

    Returns
    -------
    np.ndarray
        float64 [T, P] RCS per patch [m^2]; each segment's patches sum to its RCS (zero
        where the segment shows no lit area).
    """
    num_segments = segment_rcs_m2.shape[1]
    membership = np.zeros((patch_segment.size, num_segments))
    membership[np.arange(patch_segment.size), patch_segment] = 1.0
    projected_sum = projected_area_m2 @ membership  # [T, S]
    share = projected_area_m2 / np.maximum(
        projected_sum[:, patch_segment], np.finfo(np.float64).tiny
    )
    return segment_rcs_m2[:, patch_segment] * share


def _check_joints(joints_m: np.ndarray) -> np.ndarray:
    joints = np.asarray(joints_m, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (len(JOINT_NAMES), 3):
        raise BodyError(
            f"joints_m must have shape [T, {len(JOINT_NAMES)}, 3] (SMPL joint order), "
            f"got {joints.shape}"
        )
    if joints.shape[0] == 0:
        raise BodyError("joints_m has no frames")
    if not np.all(np.isfinite(joints)):
        raise BodyError("joints_m contains NaN or infinite values")
    return joints


def _check_radar(radar_position_m: np.ndarray, num_frames: int) -> np.ndarray:
    radar = np.asarray(radar_position_m, dtype=np.float64)
    if radar.shape == (3,):
        radar = np.broadcast_to(radar, (num_frames, 3))
    elif radar.shape != (num_frames, 3):
        raise BodyError(
            f"radar_position_m must have shape [3] or [{num_frames}, 3], got {radar.shape}"
        )
    if not np.all(np.isfinite(radar)):
        raise BodyError("radar_position_m contains NaN or infinite values")
    return radar
