"""Small synthetic datasets for tests, benchmarks and the unseen-class protocol.

:func:`synthetic_specs` draws, for each activity of the planner's vocabulary, programs with
varied parameters, subjects and placements (``plan.programs.sample_program``), keeps only the
activity's own segment (lead-ins such as "walk to the chair" are dropped so that a short clip
shows the activity), and captions each with the template caption of the program and a
rephrasing of it (so captions are specific to a sample, as the planner's are).
:func:`build_synthetic_store` simulates them with the dataset engine (real FMCW simulation
and device chain; no random maps).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mmexpert.plan.activities import ACTIVITIES
from mmexpert.plan.captions import canonical_caption
from mmexpert.plan.programs import sample_program
from mmexpert.plan.spec import SampleSpec

DEFAULT_RADAR = "iwr1843-udoppler"  # 50 frames/s micro-Doppler preset


def synthetic_specs(
    activities: Sequence[str], per_activity: int, seed: int = 0
) -> list[SampleSpec]:
    """``per_activity`` specs for each activity name of the planner's vocabulary.

    Parameters
    ----------
    activities
        Names of :data:`~mmexpert.plan.activities.ACTIVITIES` (e.g. ``"jumping jacks"``).
    per_activity
        Samples per activity.
    seed
        The only source of randomness.

    Returns
    -------
    list of SampleSpec
        Activity-major order.

    Raises
    ------
    KeyError
        For an activity outside the vocabulary (the message lists the vocabulary).
    """
    unknown = [name for name in activities if name not in ACTIVITIES]
    if unknown:
        raise KeyError(f"unknown activities {unknown}; vocabulary: {sorted(ACTIVITIES)}")
    rng = np.random.default_rng(seed)
    specs = []
    for name in activities:
        activity = ACTIVITIES[name]
        for index in range(per_activity):
            program, tags, scene = sample_program(activity, "single_action", rng)
            if len(program.segments) > 1:  # keep the activity, drop its lead-in
                program = program.model_copy(update={"segments": program.segments[-1:]})
            caption = canonical_caption(program)
            specs.append(
                SampleSpec(
                    activity=name,
                    description=caption,
                    program=program,
                    captions=[caption, "The radar sees " + caption[0].lower() + caption[1:]],
                    tags=tags,
                    scene=scene,
                    seed=int(rng.integers(0, 2**31 - 1)) + index,
                )
            )
    return specs


def build_synthetic_store(
    out_dir: str | os.PathLike[str],
    activities: Sequence[str],
    per_activity: int,
    num_frames: int = 48,
    seed: int = 0,
    workers: int = 1,
    radar: str = DEFAULT_RADAR,
) -> Path:
    """Simulate :func:`synthetic_specs` into a dataset store (resumes if present).

    Parameters
    ----------
    out_dir
        Store folder.
    activities, per_activity, seed
        See :func:`synthetic_specs`.
    num_frames
        Radar frames per clip (50 frames/s with the default preset).
    workers
        Engine processes (1 runs serially in this process).
    radar
        Radar preset name.

    Returns
    -------
    Path
        The store folder.
    """
    from mmexpert.data.engine import generate
    from mmexpert.radar.presets import load_radar

    specs = synthetic_specs(activities, per_activity, seed)
    report = generate(
        specs,
        load_radar(radar),
        out_dir,
        executor="serial" if workers <= 1 else "process",
        workers=workers,
        progress=False,
        num_frames=num_frames,
    )
    if report.failed:
        raise RuntimeError(f"simulation failed for {len(report.failed)} specs: {report.failed[0]}")
    return Path(out_dir)
