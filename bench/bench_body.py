"""Benchmark: body scatterers with visibility for a 10 s clip at 30 fps (300 frames).

Run: ``python bench/bench_body.py [--repeats N] [--density PATCHES_PER_M2] [--body anny]``.
Prints one JSON object: seconds_per_clip (best of the repeats), patches, frames, visible_fraction,
facing_fraction (back-face culling alone) and the mean total RCS [m^2].

The clip is a procedural walk toward a radar at the origin (heading -y, 1.2 m/s, from 15 m
to 3 m), built here so that the benchmark does not depend on the motion library.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from mmexpert.body import BodyConfig, BodyModel
from mmexpert.body.segments import JOINT_NAMES

HEIGHT_M = 1.75
_J = {name: index for index, name in enumerate(JOINT_NAMES)}
# Standing pose, body frame (x right, y forward, z up), fractions of the height (Winter).
_STANDING = {
    "pelvis": (0.0, 0.0, 0.565),
    "left_hip": (-0.052, 0.0, 0.53),
    "right_hip": (0.052, 0.0, 0.53),
    "spine1": (0.0, -0.01, 0.625),
    "left_knee": (-0.052, 0.0, 0.285),
    "right_knee": (0.052, 0.0, 0.285),
    "spine2": (0.0, -0.01, 0.70),
    "left_ankle": (-0.052, 0.0, 0.039),
    "right_ankle": (0.052, 0.0, 0.039),
    "spine3": (0.0, -0.01, 0.73),
    "left_foot": (-0.052, 0.08, 0.013),
    "right_foot": (0.052, 0.08, 0.013),
    "neck": (0.0, -0.01, 0.83),
    "left_collar": (-0.04, -0.01, 0.785),
    "right_collar": (0.04, -0.01, 0.785),
    "head": (0.0, 0.0, 0.885),
    "left_shoulder": (-0.125, -0.01, 0.785),
    "right_shoulder": (0.125, -0.01, 0.785),
    "left_elbow": (-0.125, -0.01, 0.599),
    "right_elbow": (0.125, -0.01, 0.599),
    "left_wrist": (-0.125, -0.01, 0.453),
    "right_wrist": (0.125, -0.01, 0.453),
}


def _sagittal(angle: np.ndarray) -> np.ndarray:
    """Unit vectors [T, 3] in the body's y-z plane, angle from straight down, + forward."""
    return np.stack([np.zeros_like(angle), np.sin(angle), -np.cos(angle)], axis=-1)


def walking_clip(times_s: np.ndarray, speed_mps: float = 1.2) -> np.ndarray:
    """float64 [T, 22, 3] a procedural walk toward the radar at the origin [m]."""
    h = HEIGHT_M
    omega = 2.0 * math.pi * 0.9  # stride frequency [rad/s] (cadence 108 steps/min)
    standing = h * np.array([_STANDING[name] for name in JOINT_NAMES])
    joints = np.repeat(standing[None], len(times_s), axis=0)
    for side, phase in (("left", 0.0), ("right", math.pi)):
        cycle = omega * times_s + phase
        swing = 0.35 * np.sin(cycle)
        knee_flex = 0.6 * (0.5 - 0.5 * np.cos(cycle + 1.0))
        knee = joints[:, _J[f"{side}_hip"]] + 0.245 * h * _sagittal(swing)
        ankle = knee + 0.246 * h * _sagittal(swing - knee_flex)
        joints[:, _J[f"{side}_knee"]], joints[:, _J[f"{side}_ankle"]] = knee, ankle
        joints[:, _J[f"{side}_foot"]] = ankle + 0.084 * h * _sagittal(
            swing - knee_flex + 0.5 * math.pi
        )
        arm_swing = -0.4 * np.sin(cycle)
        elbow = joints[:, _J[f"{side}_shoulder"]] + 0.186 * h * _sagittal(arm_swing)
        joints[:, _J[f"{side}_elbow"]] = elbow
        joints[:, _J[f"{side}_wrist"]] = elbow + 0.146 * h * _sagittal(arm_swing + 0.35)
    joints[..., 2] += 0.01 * h * np.cos(2.0 * omega * times_s)[:, None]
    # Heading -y (facing the radar): rotate the body frame by pi about z, then walk in.
    joints[..., :2] *= -1.0
    joints[..., 1] += (15.0 - speed_mps * times_s)[:, None]
    return joints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best is kept")
    parser.add_argument("--density", type=float, default=BodyConfig().patch_density_per_m2)
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length [s]")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate [Hz]")
    parser.add_argument(
        "--body",
        choices=("ellipsoid", "anny"),
        default="ellipsoid",
        help="ellipsoid segments (default) or the optional anny mesh",
    )
    args = parser.parse_args()

    times = np.arange(round(args.seconds * args.fps)) / args.fps
    joints = walking_clip(times)
    radar_m = np.array([0.0, 0.0, 1.0])
    config = BodyConfig(height_m=HEIGHT_M, patch_density_per_m2=args.density)
    if args.body == "anny":
        from mmexpert.body.anny_body import AnnyBodyModel

        model = AnnyBodyModel(config)  # builds (or loads) the mesh before timing starts
    else:
        model = BodyModel(config)
    durations = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        scatterers = model.scatter(joints, radar_m, times)
        durations.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "seconds_per_clip": round(min(durations), 3),
                "patches": scatterers.num_patches,
                "frames": scatterers.num_frames,
                "visible_fraction": round(scatterers.visible_fraction(), 4),
                "facing_fraction": round(scatterers.facing_fraction(), 4),
                "mean_total_rcs_m2": round(float(scatterers.total_rcs_m2().mean()), 4),
                "patch_density_per_m2": args.density,
                "body": args.body,
            }
        )
    )


if __name__ == "__main__":
    main()
