"""Benchmark the dataset engine: samples per second by executor and worker count.

Generates the same plan (the example plan's specs with varied seeds, ``--clip-s`` seconds
each on ``iwr1843-udoppler``) into fresh stores with the serial executor, the local process
pool with 1 and 2 workers, and optionally Ray, and prints JSON.

Usage: ``python bench/bench_engine.py [--samples 4] [--clip-s 2.0] [--ray]``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from mmexpert.data.engine import generate, load_specs
from mmexpert.data.store import DatasetStore
from mmexpert.radar.presets import load_radar

PLAN = Path(__file__).resolve().parents[1] / "examples" / "plan_small.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4, help="samples per configuration")
    parser.add_argument("--clip-s", type=float, default=2.0, help="clip length [s]")
    parser.add_argument("--radar", default="iwr1843-udoppler", help="preset or TI .cfg")
    parser.add_argument("--ray", action="store_true", help="also run the Ray executor")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="pool sizes")
    args = parser.parse_args()

    radar = load_radar(args.radar)
    base = load_specs(PLAN)
    specs = [
        base[index % len(base)].model_copy(update={"seed": 1000 + index})
        for index in range(args.samples)
    ]
    num_frames = max(1, round(args.clip_s * radar.frame_rate_hz))
    configurations = [("serial", 1)] + [("process", workers) for workers in args.workers]
    if args.ray:
        configurations += [("ray", workers) for workers in args.workers]
    load_before = os.getloadavg()
    runs = []
    digests: dict[str, dict[str, str]] = {}
    for executor, workers in configurations:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            report = generate(
                specs,
                radar,
                Path(folder) / "ds",
                executor=executor,  # type: ignore[arg-type]
                workers=workers,
                progress=False,
                num_frames=num_frames,
            )
            wall_s = time.perf_counter() - started
            with DatasetStore.open(Path(folder) / "ds") as store:
                digests[f"{executor}-{workers}"] = {
                    record.sample_id: record.file_sha256 for record in store.records()
                }
        summary = report.to_dict()
        runs.append(
            {
                "executor": executor,
                "workers": workers,
                "generated": summary["generated"],
                "failed": summary["failed"],
                "wall_s": round(wall_s, 2),
                "startup_s": summary["startup_s"],
                "mean_sample_s": summary["mean_sample_s"],
                "samples_per_s": round(len(report.generated) / wall_s, 4),
                "samples_per_s_per_worker": round(len(report.generated) / wall_s / workers, 4),
                "clip_realtime_factor": round(
                    len(report.generated) * num_frames / radar.frame_rate_hz / wall_s, 4
                ),
            }
        )
    reference = next(iter(digests.values()))
    result = {
        "radar": radar.name,
        "clip_s": num_frames / radar.frame_rate_hz,
        "num_frames": num_frames,
        "samples": args.samples,
        "cpu_count": os.cpu_count(),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "identical_files_across_executors": all(item == reference for item in digests.values()),
        "runs": runs,
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
