"""Training throughput (samples/s) of every registered tiny config on CPU.

Builds (or reuses) a small simulated store, loads it into memory, and times full training
steps (data transform + forward + backward + AdamW step) after a warm-up, for each model
config and thread count. Prints one JSON object. Example::

    python bench/bench_train.py --frames 64 --steps 10 --threads 1,2

Point models are timed once per ``--point-spans`` value (``frames_per_token``: frames pooled
into one token), side by side: 1 is one PointNet set per frame, 6 the registry default.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from pathlib import Path

import torch

MODELS = [
    "classifier-cnn-tiny",
    "classifier-vit-tiny",
    "classifier-points-tiny",
    "clip-vit-tiny",
    "clip-cnn-tiny",
    "clip-points-tiny",
]


def time_steps(
    config: object, raws: list, frames: int, batch_size: int, steps: int, warmup: int
) -> float:
    """Training samples per second of a model config over ``steps`` timed steps."""
    from mmexpert.models.augment import DEFAULT_SIM2REAL, build_augmentations
    from mmexpert.models.inputs import RadarModelDataset, collate
    from mmexpert.models.models import ClassifierConfig, build_model

    classes = sorted({raw["activity"] for raw in raws})
    if isinstance(config, ClassifierConfig):
        config = dataclasses.replace(config, num_classes=len(classes))
        augment = build_augmentations(DEFAULT_SIM2REAL)
    else:
        augment = []
    torch.manual_seed(0)
    model = build_model(config).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    dataset = RadarModelDataset(
        raws, config.encoder.views, classes, window_frames=frames, augment=augment
    )
    elapsed = 0.0
    for step in range(warmup + steps):
        started = time.perf_counter()
        indices = [(step * batch_size + i) % len(dataset) for i in range(batch_size)]
        batch = collate([dataset[i] for i in indices])
        loss = model(batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step >= warmup:
            elapsed += time.perf_counter() - started
    return steps * batch_size / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=64, help="window [frames]")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", default="1", help="comma-separated torch thread counts")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--dir", type=Path, default=Path("/tmp/mmexpert_bench_train"))
    parser.add_argument("--point-spans", default="1,6", help="frames_per_token values to time")
    args = parser.parse_args()
    from mmexpert.data.store import DatasetStore
    from mmexpert.models.inputs import load_raw_samples
    from mmexpert.models.registry import model_config
    from mmexpert.models.synthetic import build_synthetic_store

    store_dir = build_synthetic_store(
        args.dir / f"store_{args.frames}",
        ["walking", "jumping jacks", "squats", "waving"],
        4,
        num_frames=args.frames,
        workers=2,
    )
    with DatasetStore.open(store_dir) as store:
        raws = load_raw_samples(store)
    results = []
    spans = [int(value) for value in args.point_spans.split(",")]
    for threads in [int(value) for value in args.threads.split(",")]:
        torch.set_num_threads(threads)
        for name in args.models.split(","):
            config = model_config(name)
            for span in spans if "points" in config.encoder.views else [None]:
                if span is not None:
                    encoder = dataclasses.replace(config.encoder, frames_per_token=span)
                    config = dataclasses.replace(config, encoder=encoder)
                rate = time_steps(
                    config, raws, args.frames, args.batch_size, args.steps, args.warmup
                )
                row = {"model": name, "threads": threads, "samples_per_s": round(rate, 1)}
                if span is not None:
                    row["frames_per_token"] = span
                results.append(row)
    print(
        json.dumps(
            {
                "what": "(transform + forward + backward + AdamW) steps per second x batch size",
                "window_frames": args.frames,
                "batch_size": args.batch_size,
                "timed_steps": args.steps,
                "views": "config defaults: micro_doppler for vit/cnn, points for points",
                "cpu": platform.processor() or platform.machine(),
                "torch": torch.__version__,
                "results": results,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
