"""Visibility against an arbitrary surface by a depth buffer seen from the radar.

For surfaces that are not unions of ellipsoids (the optional mesh body), an exact ray
test against every triangle is too costly in numpy (patches x triangles x frames). This
module renders the surface as a cloud of dense samples into a depth buffer in the radar's
view: per frame, points are projected on a plane perpendicular to the line radar -> body
(perspective, ``u = (r . e1) / (r . e0)``), binned into square pixels of a given size at
the body's distance, and each pixel keeps the smallest range. A query point is visible if
its range is within a tolerance of its pixel's nearest range.

Accuracy: exact up to the pixel size. The surface samples must be denser than the pixels
(otherwise a hole lets a hidden point through), and near silhouettes a pixel shared by a
near and a far surface hides the far one, so the error is confined to a band about one
pixel wide around occluding contours. Tested against the exact ellipsoid ray test.
"""

from __future__ import annotations

import numpy as np

from mmexpert.body.model import BodyError

MAX_PIXELS_PER_AXIS = 4096
"""A wider view means the radar is inside or right next to the body."""


def depth_buffer_visible(
    query_m: np.ndarray,
    surface_m: np.ndarray,
    radar_positions_m: np.ndarray,
    pixel_size_m: float = 0.025,
    depth_tolerance_m: float = 0.03,
) -> np.ndarray:
    """Which query points are the nearest surface along their line of sight.

    Parameters
    ----------
    query_m
        float [T, P, 3] points to test, world frame [m] (normally on the surface).
    surface_m
        float [T, Q, 3] dense samples of the whole occluding surface, world frame [m].
    radar_positions_m
        float [T, 3] radar position per frame, world frame [m].
    pixel_size_m
        Pixel edge at the distance of the surface's centroid [m]; larger than the
        spacing of the surface samples.
    depth_tolerance_m
        A point within this range behind its pixel's nearest sample still counts as
        visible [m] (the surface's own depth spread inside one pixel).

    Returns
    -------
    np.ndarray
        bool [T, P] visible from the radar. Points behind the radar are not visible.

    Raises
    ------
    BodyError
        When the surface would need more than ``MAX_PIXELS_PER_AXIS`` pixels per axis.
    """
    query = np.asarray(query_m, dtype=np.float64)
    surface = np.asarray(surface_m, dtype=np.float64)
    radar = np.asarray(radar_positions_m, dtype=np.float64)
    num_frames = query.shape[0]
    centroid = surface.mean(axis=1)  # [T, 3]
    axis = centroid - radar
    distance = np.linalg.norm(axis, axis=-1)  # [T]
    e0 = axis / distance[:, None]
    helper = np.where(
        (np.abs(e0[:, 2]) < 0.9)[:, None], np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])
    )
    e1 = np.cross(e0, helper)
    e1 /= np.linalg.norm(e1, axis=-1, keepdims=True)
    e2 = np.cross(e1, e0)
    pixel_angle = pixel_size_m / distance  # [T] tangent-plane units per pixel

    def project(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        relative = points - radar[:, None, :]
        forward = np.einsum("tpi,ti->tp", relative, e0)
        ahead = forward > 1e-6
        safe = np.where(ahead, forward, 1.0)
        u = np.einsum("tpi,ti->tp", relative, e1) / safe / pixel_angle[:, None]
        v = np.einsum("tpi,ti->tp", relative, e2) / safe / pixel_angle[:, None]
        return np.floor(u).astype(np.int64), np.floor(v).astype(np.int64), ahead, relative

    surface_u, surface_v, surface_ahead, surface_rel = project(surface)
    query_u, query_v, query_ahead, query_rel = project(query)
    surface_range = np.linalg.norm(surface_rel, axis=-1)
    query_range = np.linalg.norm(query_rel, axis=-1)

    # One flat buffer for all frames; pixel indices are offset per frame so that they
    # start at zero, and queries outside the surface's pixel box see no occluder.
    big = np.iinfo(np.int64).max // 4
    u_min = np.where(surface_ahead, surface_u, big).min(axis=1)  # [T]
    v_min = np.where(surface_ahead, surface_v, big).min(axis=1)
    u_span = int((np.where(surface_ahead, surface_u, -big).max(axis=1) - u_min).max()) + 1
    v_span = int((np.where(surface_ahead, surface_v, -big).max(axis=1) - v_min).max()) + 1
    if max(u_span, v_span) > MAX_PIXELS_PER_AXIS:
        raise BodyError(
            f"the body spans {max(u_span, v_span)} depth-buffer pixels seen from the radar "
            f"(limit {MAX_PIXELS_PER_AXIS}): the radar is too close to the body"
        )
    frame_offset = (np.arange(num_frames) * (u_span * v_span))[:, None]

    def flat_index(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        iu, iv = u - u_min[:, None], v - v_min[:, None]
        inside = (iu >= 0) & (iu < u_span) & (iv >= 0) & (iv < v_span)
        return frame_offset + np.where(inside, iu * v_span + iv, 0), inside

    nearest = np.full(num_frames * u_span * v_span, np.inf)
    surface_index, surface_inside = flat_index(surface_u, surface_v)
    keep = surface_inside & surface_ahead
    np.minimum.at(nearest, surface_index[keep], surface_range[keep])
    query_index, query_inside = flat_index(query_u, query_v)
    occluder_range = np.where(query_inside, nearest[query_index], np.inf)
    return query_ahead & (query_range <= occluder_range + depth_tolerance_m)
