"""Reflectivity of the body surface.

Chen's ellipsoid model treats the body as a perfect conductor. Skin is a lossy dielectric:
at normal incidence a plane wave reflects the power fraction

.. math::

    |\\Gamma|^2 = \\left| \\frac{1 - \\sqrt{\\varepsilon_r}}{1 + \\sqrt{\\varepsilon_r}} \\right|^2

(Fresnel). Dry skin at 77 GHz has a relative permittivity of about 6.6 - 8.9j (Gabriel,
Lau and Gabriel, "The dielectric properties of biological tissues: III. Parametric models
for the dielectric spectrum of tissues", Phys. Med. Biol. 41, 1996, Cole-Cole model
evaluated at 77 GHz), which gives |Gamma|^2 = 0.34: a human returns about a third of the
power that a metal body of the same shape would. Clothing at millimetre waves is largely
transparent and is neglected.
"""

from __future__ import annotations

import numpy as np

SKIN_PERMITTIVITY_77GHZ: complex = 6.6 - 8.9j
"""Relative permittivity of dry skin at 77 GHz (Gabriel et al. 1996), approximately."""


def fresnel_power_reflectivity(relative_permittivity: complex) -> float:
    """Power reflection coefficient at normal incidence from air onto a half-space.

    Parameters
    ----------
    relative_permittivity
        Complex relative permittivity of the medium (negative imaginary part for loss,
        ``exp(+j omega t)`` convention); 1 gives 0, a large value tends to 1 (a conductor).

    Returns
    -------
    float
        |Gamma|^2 in [0, 1].
    """
    root = np.sqrt(complex(relative_permittivity))
    return float(abs((1.0 - root) / (1.0 + root)) ** 2)


SKIN_POWER_REFLECTIVITY_77GHZ: float = fresnel_power_reflectivity(SKIN_PERMITTIVITY_77GHZ)
"""|Gamma|^2 of dry skin at 77 GHz, normal incidence (about 0.34)."""
