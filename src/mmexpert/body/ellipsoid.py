"""Ellipsoid geometry and scattering: surface patches, surface area, monostatic RCS.

An ellipsoid here is given by its semi-axes ``(a, b, c)`` [m] along the local x, y, z axes
of its own frame; the local z axis is the bone direction (the long axis of a limb).

RCS (geometric optics, V. C. Chen, *The Micro-Doppler Effect in Radar*, Artech House,
2011, section on human-body models; Ruck et al., *Radar Cross Section Handbook*, 1970):

.. math::

    \\sigma = \\frac{\\pi a^2 b^2 c^2}
                   {(a^2 \\sin^2\\theta \\cos^2\\phi + b^2 \\sin^2\\theta \\sin^2\\phi
                     + c^2 \\cos^2\\theta)^2}

with :math:`(\\theta, \\phi)` the direction of incidence in the ellipsoid frame. With the
unit direction :math:`k = (\\sin\\theta\\cos\\phi, \\sin\\theta\\sin\\phi, \\cos\\theta)` the
denominator is :math:`(k^T \\mathrm{diag}(a^2, b^2, c^2) k)^2`, which is how it is computed.
It is the high-frequency (optics) limit, frequency independent, valid when the semi-axes
are many wavelengths long (at 77 GHz, lambda = 3.9 mm; a finger-sized radius is ~3 lambda).
"""

from __future__ import annotations

import math

import numpy as np

_GOLDEN_ANGLE_RAD = math.pi * (3.0 - math.sqrt(5.0))
_THOMSEN_EXPONENT = 1.6075  # Knud Thomsen's surface-area approximation, max error 1.061 %


def ellipsoid_rcs_m2(semi_axes_m: np.ndarray, directions_local: np.ndarray) -> np.ndarray:
    """Monostatic geometric-optics RCS of an ellipsoid seen from a direction.

    Parameters
    ----------
    semi_axes_m
        float [..., 3] semi-axes (a, b, c) along the local x, y, z axes [m].
    directions_local
        float [..., 3] direction from the ellipsoid towards the radar, in the ellipsoid's
        frame (need not be unit length; it is normalised here). Broadcasts with
        ``semi_axes_m``.

    Returns
    -------
    np.ndarray
        float64 [...] RCS sigma [m^2]. For a sphere of radius r this is pi r^2.
    """
    axes = np.asarray(semi_axes_m, dtype=np.float64)
    k = np.asarray(directions_local, dtype=np.float64)
    k = k / np.linalg.norm(k, axis=-1, keepdims=True)
    quadratic = np.sum(axes**2 * k**2, axis=-1)  # k^T diag(a^2, b^2, c^2) k  [m^2]
    return np.pi * np.prod(axes, axis=-1) ** 2 / quadratic**2


def ellipsoid_surface_area_m2(semi_axes_m: np.ndarray) -> np.ndarray:
    """Surface area of an ellipsoid (Knud Thomsen's formula, error below 1.1 %).

    .. math::

        S \\approx 4\\pi \\left(\\frac{(ab)^p + (ac)^p + (bc)^p}{3}\\right)^{1/p},
        \\quad p = 1.6075

    Parameters
    ----------
    semi_axes_m
        float [..., 3] semi-axes [m].

    Returns
    -------
    np.ndarray
        float64 [...] surface area [m^2] (exact for a sphere).
    """
    a, b, c = np.moveaxis(np.asarray(semi_axes_m, dtype=np.float64), -1, 0)
    p = _THOMSEN_EXPONENT
    return 4.0 * np.pi * (((a * b) ** p + (a * c) ** p + (b * c) ** p) / 3.0) ** (1.0 / p)


def fibonacci_sphere(num_points: int) -> np.ndarray:
    """Deterministic, nearly uniform points on the unit sphere (Fibonacci lattice).

    Parameters
    ----------
    num_points
        Number of points N (>= 1).

    Returns
    -------
    np.ndarray
        float64 [N, 3] unit vectors; point i has z = 1 - (2 i + 1) / N, so the lattice
        runs from the +z pole to the -z pole.
    """
    index = np.arange(num_points, dtype=np.float64)
    z = 1.0 - (2.0 * index + 1.0) / num_points
    radius = np.sqrt(np.clip(1.0 - z**2, 0.0, None))
    azimuth = _GOLDEN_ANGLE_RAD * index
    return np.stack([radius * np.cos(azimuth), radius * np.sin(azimuth), z], axis=-1)


def sample_ellipsoid_surface(
    semi_axes_m: np.ndarray, num_patches: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Surface patches of an ellipsoid: centres, outward normals and areas.

    The Fibonacci lattice on the unit sphere is mapped by ``x = diag(a, b, c) u``. That
    map stretches the area element by ``abc |u / (a, b, c)|``, so each patch gets the
    area ``(4 pi / N) abc |u / (a, b, c)|``; the areas then sum to the ellipsoid's area
    (to the lattice's quadrature error), and the outward normal is ``u / (a, b, c)``
    normalised.

    Parameters
    ----------
    semi_axes_m
        float [3] semi-axes (a, b, c) [m].
    num_patches
        Number of patches N (>= 1).

    Returns
    -------
    positions_local : np.ndarray
        float64 [N, 3] patch centres on the surface, ellipsoid frame [m].
    normals_local : np.ndarray
        float64 [N, 3] unit outward normals, ellipsoid frame.
    areas : np.ndarray
        float64 [N] patch areas [m^2].
    """
    axes = np.asarray(semi_axes_m, dtype=np.float64)
    unit = fibonacci_sphere(num_patches)
    gradient = unit / axes  # normal direction of x^2/a^2 + ... = 1 at x = axes * unit
    gradient_norm = np.linalg.norm(gradient, axis=-1)
    areas = (4.0 * np.pi / num_patches) * np.prod(axes) * gradient_norm
    return unit * axes, gradient / gradient_norm[:, None], areas
