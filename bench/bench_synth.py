"""Benchmark FMCW synthesis: fast (NUFFT) vs exact reference, in one run.

Usage: ``python bench/bench_synth.py [--json] [--scatterers 2000] [--frames 5]``
"""

from __future__ import annotations

import argparse
import json

from mmexpert.radar.benchmark import SCENE_KINDS, run_synth_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    parser.add_argument("--scatterers", type=int, default=2000, help="moving scatterers")
    parser.add_argument("--frames", type=int, default=5, help="frames per timed run")
    parser.add_argument("--threads", type=int, default=2, help="fast-method worker threads")
    parser.add_argument("--exact-loops", type=int, default=4, help="loops/frame run exactly")
    parser.add_argument("--repeats", type=int, default=3, help="timed fast runs (best kept)")
    parser.add_argument("--scene", choices=SCENE_KINDS, default="trajectory")
    args = parser.parse_args()
    result = run_synth_benchmark(
        args.scatterers,
        args.frames,
        num_threads=args.threads,
        exact_loops=args.exact_loops,
        repeats=args.repeats,
        scene_kind=args.scene,
    )
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(
        f"{result['radar']}, {result['num_scatterers']} scatterers ({result['scene']}), "
        f"{result['threads']} threads\n"
        f"  fast : {result['fast_ms_per_frame']:8.1f} ms/frame "
        f"(synthesis only {result['fast_synthesis_ms_per_frame']:.1f}), "
        f"realtime x{result['realtime_factor']:.2f}\n"
        f"  exact: {result['exact_ms_per_frame']:8.1f} ms/frame"
        f"{' (extrapolated)' if result['exact_extrapolated'] else ''}\n"
        f"  rel RMS error fast vs exact: {result['rel_rms_error']:.2e}"
    )


if __name__ == "__main__":
    main()
