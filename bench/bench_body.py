"""Benchmark: body scatterers with visibility for a 10 s clip at 30 fps (300 frames).

Run: ``python bench/bench_body.py [--repeats N] [--density PATCHES_PER_M2] [--body anny]``.
Prints one JSON object: seconds_per_clip (best of the repeats), patches, frames, visible_fraction,
facing_fraction (back-face culling alone) and the mean total RCS [m^2].

The clip is the motion library's ``walk_forward`` toward a radar at the origin (1.2 m/s, from
15 m to 3 m), the radar 1 m above the floor.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from mmexpert.body import BodyConfig, BodyModel
from mmexpert.motion import synthesize

HEIGHT_M = 1.75


def walking_clip(seconds: float, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Times [T] [s] and joints [T, 22, 3] [m]: the motion library's walk toward the radar
    (an adult 1.75 m tall starting 15 m away, facing the radar at the origin)."""
    program = {
        "subject": {"height_m": HEIGHT_M},
        "placement": {"start_xy_m": [0.0, 15.0]},
        "segments": [
            {"primitive": "walk_forward", "parameters": {"speed_mps": 1.2}, "duration_s": seconds}
        ],
    }
    motion = synthesize(program, fps=fps)
    times = np.arange(round(seconds * fps)) / fps
    return times, motion.positions_at(times)


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

    times, joints = walking_clip(args.seconds, args.fps)
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
