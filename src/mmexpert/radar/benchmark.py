"""Synthesis benchmark: fast (NUFFT) against the exact reference on a body-sized scene.

Used by ``bench/bench_synth.py`` and the CLI (``mmexpert bench synth``). The radar is the
``iwr1843-udoppler`` preset (77 GHz, 70 MHz/us, 256 samples at 5.209 Msps, 1 TX x 4 RX,
128 loops per 20 ms frame); the scene is a person-sized cloud of moving scatterers.
"""

from __future__ import annotations

import dataclasses
import math
import os
import platform
import time
from typing import Any

import finufft
import numpy as np

from mmexpert.radar.config import (
    RadarConfig,
)
from mmexpert.radar.presets import load_radar
from mmexpert.radar.scene import ConstantVelocityScatterers, Scene, TrajectoryScatterers
from mmexpert.radar.synthesis import SynthesisOptions, beat_signal, simulate
from mmexpert.radar.synthesis_fast import CHIRPS_PER_BLOCK, NUFFT_EPS

SCENE_KINDS = ("trajectory", "constant-velocity")


def benchmark_radar() -> RadarConfig:
    """The radar of the benchmark: the ``iwr1843-udoppler`` preset (1 TX x 4 RX)."""
    return load_radar("iwr1843-udoppler")


def benchmark_scene(
    radar: RadarConfig,
    num_scatterers: int,
    duration_s: float,
    rng: np.random.Generator,
    kind: str = "trajectory",
) -> Scene:
    """A person-sized cloud of moving scatterers 3 m in front of the radar.

    Points fill a 0.5 x 0.3 x 1.7 m box walking away at 1 m/s; with ``kind="trajectory"``
    each point also swings (0.1-0.3 m at 0.5-2 Hz) and is handed over as 30 Hz samples,
    exactly as the body stage does.

    Parameters
    ----------
    radar : RadarConfig
        Its pose places the scene.
    num_scatterers : int
        Number of points.
    duration_s : float
        Time span the trajectories must cover [s].
    rng : numpy.random.Generator
    kind : {"trajectory", "constant-velocity"}
    """
    if kind not in SCENE_KINDS:
        raise ValueError(f"unknown benchmark scene kind {kind!r}; use one of {SCENE_KINDS}")
    local = rng.uniform([-0.25, 2.85, -0.85], [0.25, 3.15, 0.85], (num_scatterers, 3))
    start = radar.pose.to_world(local)
    walk = radar.pose.rotation @ np.array([0.0, 1.0, 0.0])  # 1 m/s along the boresight
    rcs = rng.uniform(1e-3, 1e-2, num_scatterers)
    if kind == "constant-velocity":
        velocities = walk[None] + rng.normal(0.0, 0.5, (num_scatterers, 3))
        return Scene([ConstantVelocityScatterers(start, velocities, rcs)])
    times = np.arange(-0.1, duration_s + 0.1, 1 / 30)
    amplitude = rng.uniform(0.1, 0.3, (1, num_scatterers, 1))
    freq = rng.uniform(0.5, 2.0, (1, num_scatterers, 1))
    phase = rng.uniform(0, 2 * np.pi, (1, num_scatterers, 3))
    swing = amplitude * np.sin(2 * np.pi * freq * times[:, None, None] + phase)
    positions = start[None] + times[:, None, None] * walk + swing
    return Scene([TrajectoryScatterers(times, positions, rcs)])


def run_synth_benchmark(
    num_scatterers: int = 2000,
    num_frames: int = 5,
    *,
    num_threads: int = 2,
    exact_loops: int = 4,
    repeats: int = 3,
    scene_kind: str = "trajectory",
    seed: int = 0,
) -> dict[str, Any]:
    """Time fast and exact synthesis side by side and compare them.

    The fast method synthesizes ``num_frames`` whole frames (best of ``repeats`` runs after
    a warm-up); the exact reference runs on the first ``exact_loops`` loops of every frame
    (it is about 1,000x slower) and its time per frame is extrapolated linearly in chirps.
    The error is measured on exactly those chirps.

    Parameters
    ----------
    num_scatterers : int
        Moving scatterers in the scene.
    num_frames : int
        Frames per timed run.
    num_threads : int
        Worker threads of the fast method.
    exact_loops : int
        Loops per frame evaluated by the exact reference (<= the radar's loops).
    repeats : int
        Timed repetitions of the fast run.
    scene_kind : {"trajectory", "constant-velocity"}
        See :func:`benchmark_scene`.
    seed : int
        Seeds the scene and the noise.

    Returns
    -------
    dict
        JSON-able figures: ``realtime_factor`` (frame period / wall time per frame of the
        full fast ``simulate`` call, noise and ADC included), ``fast_ms_per_frame``,
        ``fast_synthesis_ms_per_frame`` (noise-free beat signal only),
        ``exact_ms_per_frame`` (extrapolated), ``rel_rms_error`` and run details.
    """
    if num_frames < 1 or repeats < 1 or num_scatterers < 1:
        raise ValueError("num_frames, repeats and num_scatterers must be >= 1")
    rng = np.random.default_rng(seed)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    radar = benchmark_radar()
    exact_loops = max(1, min(exact_loops, radar.frame.num_loops))
    period = radar.frame.frame_period_s
    scene = benchmark_scene(radar, num_scatterers, num_frames * period, rng, scene_kind)
    times = radar.chirp_start_times_s(num_frames)
    fast_options = SynthesisOptions(method="fast", num_threads=num_threads)

    beat_signal(radar, scene, times[:1], fast_options)  # warm-up (plans, caches)
    synthesis_s, simulate_s = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        fast = beat_signal(radar, scene, times, fast_options)
        synthesis_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        simulate(radar, scene, num_frames, rng, method="fast", num_threads=num_threads)
        simulate_s.append(time.perf_counter() - start)

    # Exact reference on the first loops of every frame: a radar with fewer loops has
    # exactly the same chirp times for those loops.
    short_radar = dataclasses.replace(
        radar, frame=dataclasses.replace(radar.frame, num_loops=exact_loops)
    )
    short_times = short_radar.chirp_start_times_s(num_frames)
    start = time.perf_counter()
    exact = beat_signal(short_radar, scene, short_times, SynthesisOptions(method="exact"))
    exact_s = time.perf_counter() - start
    fast_subset = fast[:, :exact_loops]
    error = float(np.linalg.norm(fast_subset - exact) / np.linalg.norm(exact))

    fast_ms = 1e3 * min(simulate_s) / num_frames
    exact_ms = 1e3 * exact_s / num_frames * radar.frame.num_loops / exact_loops
    return {
        "benchmark": "synthesis",
        "radar": radar.name,
        "scene": scene_kind,
        "num_scatterers": num_scatterers,
        "num_paths": scene.num_paths,
        "num_frames": num_frames,
        "frame_period_ms": 1e3 * period,
        "threads": num_threads,
        "cpu_count": os.cpu_count(),
        # Other processes on a shared machine slow the fast path; read the figures with it.
        "load_average_1min_before": load_before,
        "realtime_factor": 1e3 * period / fast_ms,
        "fast_ms_per_frame": fast_ms,
        "fast_ms_per_frame_median": 1e3 * float(np.median(simulate_s)) / num_frames,
        "fast_synthesis_ms_per_frame": 1e3 * min(synthesis_s) / num_frames,
        "exact_ms_per_frame": exact_ms,
        "exact_extrapolated": exact_loops < radar.frame.num_loops,
        "exact_measured_loops_per_frame": exact_loops,
        "speedup": exact_ms / fast_ms,
        "rel_rms_error": error,
        "rel_rms_error_on": f"{num_frames} frames x {exact_loops} loops x all RX and samples",
        "method": {
            "fast": (
                "finufft type-1 1-D per (chirp, TX, RX), complex64, "
                f"eps={NUFFT_EPS:g}; float64 per-point geometry, float32 per-antenna "
                f"excess; {CHIRPS_PER_BLOCK}-chirp blocks over {num_threads} threads"
            ),
            "exact": "direct float64 sum over (chirp, RX, sample, path)",
            "fast_timing": f"best of {repeats} runs of simulate() incl. noise and ADC",
        },
        "versions": {
            "numpy": np.__version__,
            "finufft": getattr(finufft, "__version__", "unknown"),
            "python": platform.python_version(),
        },
        "samples_per_frame": int(math.prod(radar.chirp_start_times_s(1).shape))
        * len(radar.antennas.rx_positions_m)
        * radar.profile.num_adc_samples,
    }
