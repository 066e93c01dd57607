"""Body: a skeleton's motion turned into radar scatterers over time.

Contents
--------
:mod:`mmexpert.body.model`
    :class:`BodyModel` (settings in :class:`BodyConfig`): ``scatter(joints_m [T, 22, 3],
    radar_position_m [3] | [T, 3], times_s [T])`` and ``scatter_motion(motion, times_s,
    radar_position_m)`` return :class:`BodyScatterers` with ``positions_m`` float64
    [T, P, 3], ``normals`` [T, P, 3], raw ``rcs_m2`` float64 [T, P], ``visible`` bool
    [T, P] and ``effective_rcs_m2()`` = rcs x visible, the hand-off to the radar scene.
:mod:`mmexpert.body.segments`
    17 ellipsoid segments (head, neck, chest, abdomen, pelvis, upper arms, forearms,
    hands, thighs, shanks, feet) on the 22-joint SMPL skeleton, sized from the subject's
    anthropometry (Winter 2009 ratios), with roll-continuous segment frames.
:mod:`mmexpert.body.ellipsoid`
    Ellipsoid RCS ``sigma = pi a^2 b^2 c^2 / (a^2 sin^2(t) cos^2(p) + b^2 sin^2(t) sin^2(p)
    + c^2 cos^2(t))^2``, surface area, and Fibonacci-lattice surface patches.
:mod:`mmexpert.body.visibility`
    Back-face culling and exact ray-ellipsoid occlusion, vectorised over (frame, patch)
    pairs and segments.
:mod:`mmexpert.body.materials`
    Fresnel power reflectivity of skin (0.34 at 77 GHz) that scales the conductor RCS.
:mod:`mmexpert.body.zbuffer`
    Depth-buffer visibility against any sampled surface (used by the mesh body; agrees
    with the exact ellipsoid test on 94 % of (frame, patch) pairs).
:mod:`mmexpert.body.anny_body`
    Optional: :class:`~mmexpert.body.anny_body.AnnyBodyModel`, the ``anny`` parametric
    mesh (13,718 vertices) skinned to the same segment frames, same output type. Needs
    ``pip install --no-deps anny`` plus roma, trimesh, safetensors, pyyaml, requests.

References
----------
* V. C. Chen, *The Micro-Doppler Effect in Radar*, Artech House, 2011 (ellipsoid body
  segments and their RCS).
* D. A. Winter, *Biomechanics and Motor Control of Human Movement*, 4th ed., Wiley, 2009
  (segment lengths as fractions of height).
* S. Gabriel, R. W. Lau and C. Gabriel, "The dielectric properties of biological
  tissues: III", Phys. Med. Biol. 41, 1996 (skin permittivity).
* F. V. Schultz, R. C. Burgener and S. King, "Measurement of the radar cross section of
  a man", Proc. IRE 46, 1958 (0.5-1.2 m^2 at 9.4 GHz).
* J. Fortuny-Guasch and J.-M. Chareau, *Radar Cross Section Measurements of Pedestrian
  Dummies and Humans in the 24/77 GHz Frequency Bands*, JRC report EUR 25762 EN, 2013
  (human RCS at 77 GHz close to that at 24 GHz).
"""

from mmexpert.body.model import BodyConfig, BodyError, BodyLayout, BodyModel, BodyScatterers
from mmexpert.body.segments import SEGMENT_NAMES, SEGMENTS, SegmentSpec

__all__ = [
    "SEGMENTS",
    "SEGMENT_NAMES",
    "BodyConfig",
    "BodyError",
    "BodyLayout",
    "BodyModel",
    "BodyScatterers",
    "SegmentSpec",
]
