"""Human motion: the Motion type, motion programs, procedural primitives, importers.

==================  ===============================================================
module              contents
==================  ===============================================================
skeleton            JOINT_NAMES, PARENTS (SMPL / HumanML3D 22 joints),
                    subject_dimensions (Winter's anthropometric ratios)
motion              Motion: joints [T, 22, 3] [m] at fps, C1 sampling at any time
kinematics          forward kinematics, two-bone IK, grounding, foot planting
primitives/         37 parameterised primitives in a registry (list_primitives,
                    primitive_parameters); families: locomotion, exercise, combat,
                    gestures, posture
program             MotionProgram schema (Subject, Placement, Segment), synthesize
importers           load_bvh (bvhio; name tables), load_humanml3d, place_motion
external            ExternalMotionModel: text-to-motion via a command or HTTP
realism             joint-speed and cadence statistics vs real motion capture
==================  ===============================================================

World frame: right-handed, z up, metres, floor at z = 0, radar at the origin looking
along +y. References: D. A. Winter, *Biomechanics and Motor Control of Human Movement*
(2009) for segment ratios and gait curves; R. McN. Alexander, *Principles of Animal
Locomotion* (2003) for Froude-number gait scaling; Guo et al., *Generating Diverse and
Natural 3D Human Motions from Text* (CVPR 2022) for the HumanML3D joint format.
"""

from mmexpert.motion.external import ExternalModelError, ExternalMotionModel
from mmexpert.motion.importers import (
    MotionImportError,
    load_bvh,
    load_humanml3d,
    place_motion,
)
from mmexpert.motion.motion import Motion, MotionError
from mmexpert.motion.primitives import (
    PRIMITIVES,
    PrimitiveError,
    list_primitives,
    primitive_parameters,
)
from mmexpert.motion.program import (
    MotionProgram,
    Placement,
    ProgramError,
    Segment,
    Subject,
    parse_program,
    synthesize,
)
from mmexpert.motion.skeleton import (
    JOINT_NAMES,
    PARENTS,
    SubjectDimensions,
    bone_lengths_m,
    subject_dimensions,
)

__all__ = [
    "JOINT_NAMES",
    "PARENTS",
    "PRIMITIVES",
    "ExternalModelError",
    "ExternalMotionModel",
    "Motion",
    "MotionError",
    "MotionImportError",
    "MotionProgram",
    "Placement",
    "PrimitiveError",
    "ProgramError",
    "Segment",
    "Subject",
    "SubjectDimensions",
    "bone_lengths_m",
    "list_primitives",
    "load_bvh",
    "load_humanml3d",
    "parse_program",
    "place_motion",
    "primitive_parameters",
    "subject_dimensions",
    "synthesize",
]
