"""Visibility of surface patches from the radar: back-face culling and occlusion.

A patch reflects only if it faces the radar (``n . u > 0`` with ``u`` the unit vector from
the patch to the radar) and if the segment from the patch to the radar crosses no other
ellipsoid. The ray test is exact for ellipsoids: in the frame of ellipsoid ``s`` scaled by
its semi-axes, the ray ``x(t) = p + t u`` becomes ``o + t d`` and meets the unit sphere
where

.. math::

    (d \\cdot d)\\, t^2 + 2 (o \\cdot d)\\, t + (o \\cdot o - 1) = 0.

The patch is hidden by ``s`` when the discriminant is positive and the interval between
the roots overlaps ``(eps, |radar - p|)``. A patch *inside* another ellipsoid (where two
segments overlap at a joint) has one negative and one positive root and is therefore
hidden too, which is right: it is not on the body's outer surface. A patch is never
tested against its own ellipsoid, which is convex, so back-face culling covers it.

Everything is vectorised over (frame, patch) pairs and ellipsoids at once (arrays of
shape [pairs, ellipsoids]), in batches of pairs to bound memory; only the pairs that face
the radar need testing, which halves the work.
"""

from __future__ import annotations

import numpy as np

OCCLUSION_EPSILON_M = 1e-6
"""Hits closer to the patch than this are the patch's own surface contact, not occlusion [m]."""


def facing_mask(
    positions_m: np.ndarray, normals: np.ndarray, radar_positions_m: np.ndarray
) -> np.ndarray:
    """Patches whose outward normal points towards the radar.

    Parameters
    ----------
    positions_m
        float [T, P, 3] patch centres, world frame [m].
    normals
        float [T, P, 3] unit outward normals, world frame.
    radar_positions_m
        float [T, 3] radar position in each frame, world frame [m].

    Returns
    -------
    np.ndarray
        bool [T, P]: ``n . (radar - p) > 0``.
    """
    to_radar = radar_positions_m[:, None, :] - positions_m
    return np.einsum("tpi,tpi->tp", normals, to_radar) > 0.0


def occluded_mask(
    positions_m: np.ndarray,
    patch_segment: np.ndarray,
    radar_positions_m: np.ndarray,
    centers_m: np.ndarray,
    rotations: np.ndarray,
    semi_axes_m: np.ndarray,
    candidates: np.ndarray | None = None,
    patches_per_batch: int = 8192,
) -> np.ndarray:
    """Patches whose line of sight to the radar crosses another ellipsoid.

    Parameters
    ----------
    positions_m
        float [T, P, 3] patch centres, world frame [m].
    patch_segment
        int [P] index of the ellipsoid each patch lies on (excluded from its own test);
        -1 for a point that belongs to no ellipsoid.
    radar_positions_m
        float [T, 3] radar position per frame, world frame [m].
    centers_m
        float [T, S, 3] ellipsoid centres, world frame [m].
    rotations
        float [T, S, 3, 3] rotations ellipsoid frame -> world (columns are the local axes).
    semi_axes_m
        float [S, 3] semi-axes along the local x, y, z axes [m].
    candidates
        bool [T, P] the (frame, patch) pairs to test, e.g. those facing the radar; None
        tests all. Untested pairs are reported as not occluded.
    patches_per_batch
        (frame, patch) pairs tested together; memory grows as ``patches_per_batch * S``.

    Returns
    -------
    np.ndarray
        bool [T, P]: True where some other ellipsoid blocks the path to the radar.
    """
    positions = np.asarray(positions_m, dtype=np.float64)
    num_frames, num_patches, _ = positions.shape
    num_segments = semi_axes_m.shape[0]
    inverse_axes = 1.0 / np.asarray(semi_axes_m, dtype=np.float64)  # [S, 3]
    own_segment = np.asarray(patch_segment)[:, None] == np.arange(num_segments)[None, :]
    if candidates is None:
        candidates = np.ones((num_frames, num_patches), dtype=bool)
    frame_of, patch_of = np.nonzero(candidates)  # [K] each
    occluded = np.zeros((num_frames, num_patches), dtype=bool)
    for start in range(0, frame_of.size, patches_per_batch):
        frame = frame_of[start : start + patches_per_batch]  # [k]
        patch = patch_of[start : start + patches_per_batch]
        points = positions[frame, patch]  # [k, 3]
        to_radar = radar_positions_m[frame] - points
        distance = np.linalg.norm(to_radar, axis=-1)  # [k]
        direction = to_radar / distance[:, None]
        frames = rotations[frame]  # [k, S, 3, 3]
        # Local coordinates are R^T (world): local_j = sum_i world_i * R[i, j].
        offset = points[:, None, :] - centers_m[frame]  # [k, S, 3]
        origin = np.einsum("ksi,ksij->ksj", offset, frames) * inverse_axes
        ray = np.einsum("ki,ksij->ksj", direction, frames) * inverse_axes
        quad_a = np.einsum("ksj,ksj->ks", ray, ray)
        quad_b = np.einsum("ksj,ksj->ks", origin, ray)  # half of the linear coefficient
        quad_c = np.einsum("ksj,ksj->ks", origin, origin) - 1.0
        discriminant = quad_b**2 - quad_a * quad_c
        root = np.sqrt(np.maximum(discriminant, 0.0))
        t_near = (-quad_b - root) / quad_a
        t_far = (-quad_b + root) / quad_a
        hit = (
            (discriminant > 0.0)
            & (t_far > OCCLUSION_EPSILON_M)
            & (t_near < distance[:, None])
            & ~own_segment[patch]
        )
        occluded[frame, patch] = hit.any(axis=-1)
    return occluded
