"""Compare synthesized motion with real motion capture and plot it (docs/motion_realism.png).

Usage::

    python examples/motion_realism.py [--mocap DIR] [--out docs/motion_realism.png]

``--mocap`` defaults to ``../shared/data/mocap-sample`` next to the repository.

For walk, run, wave, punch and kick it synthesizes the programs in
``mmexpert.motion.realism.SYNTHETIC_PROGRAMS`` (same activity, duration and repetitions as
the real clips), computes joint-speed statistics and cadence for both, prints the table
and draws one panel per activity: the real clips' values (dots), the accepted band (bar)
and the synthetic value (diamond, green inside the band, red outside).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from mmexpert.motion.realism import (
    HIGH_FACTOR,
    LOW_FACTOR,
    NOISE_FLOOR_MPS,
    compare_with_real,
    format_table,
)

REPO = Path(__file__).resolve().parents[1]
SHORT = {
    "wrist_median_mps": "wrist\nmedian",
    "wrist_p95_mps": "wrist\np95",
    "ankle_median_mps": "ankle\nmedian",
    "ankle_p95_mps": "ankle\np95",
    "pelvis_median_mps": "pelvis\nmedian",
    "pelvis_p95_mps": "pelvis\np95",
    "cadence_steps_per_s": "cadence\n[steps/s]",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mocap", type=Path, default=REPO.parent / "shared" / "data" / "mocap-sample"
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "motion_realism.png")
    arguments = parser.parse_args()
    if not arguments.mocap.is_dir():
        raise SystemExit(f"mocap sample not found: {arguments.mocap}")
    rows = compare_with_real(arguments.mocap)
    print(format_table(rows))
    activities = list(dict.fromkeys(row.activity for row in rows))
    figure, axes = plt.subplots(len(activities), 1, figsize=(9, 2.3 * len(activities)))
    for axis, activity in zip(axes, activities, strict=True):
        selected = [row for row in rows if row.activity == activity]
        for index, row in enumerate(selected):
            axis.plot(
                [index, index],
                [max(row.low, 0.0), row.high],
                color="0.75",
                lw=8,
                solid_capstyle="butt",
                label="accepted band" if index == 0 else None,
            )
            axis.plot(
                [index] * len(row.real),
                row.real,
                "o",
                color="tab:blue",
                ms=5,
                label="real clips" if index == 0 else None,
            )
            axis.plot(
                index,
                row.synthetic,
                "D",
                ms=8,
                color="tab:green" if row.passed else "tab:red",
                label="synthetic" if index == 0 else None,
            )
        axis.set_xticks(range(len(selected)), [SHORT[row.stat] for row in selected], fontsize=8)
        axis.set_ylabel("m/s")
        axis.set_title(activity, loc="left", fontsize=10)
        axis.grid(axis="y", alpha=0.3)
    axes[0].legend(loc="upper right", fontsize=8, ncol=3)
    figure.suptitle(
        f"Synthetic vs real joint speeds (band: [{LOW_FACTOR} min - {NOISE_FLOOR_MPS}, "
        f"{HIGH_FACTOR} max + {NOISE_FLOOR_MPS}] m/s; cadence without the offset)",
        fontsize=10,
    )
    figure.tight_layout()
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(arguments.out, dpi=110)
    print(f"wrote {arguments.out}")


if __name__ == "__main__":
    main()
