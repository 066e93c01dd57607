"""Benchmark the radar LLM: caption metrics on a held-out synthetic split after a small run.

1. Plans ``--per-activity`` programs for each of ``--activities`` (template captions from
   :func:`mmexpert.plan.captions.canonical_caption`, QA from ``make_qa``; no LLM), simulates
   them with the dataset engine, and splits by sample (75 % train / 25 % test, stratified by
   activity, seeded).
2. Trains the radar LLM (stage 1, captions) on the train split.
3. Captions every test sample greedily and scores them against their reference captions with
   :func:`mmexpert.eval.text_metrics.caption_metrics`.

Prints JSON with the dataset size, training time and steps/s, the metrics, the activity named
in each caption against the truth, the teacher-forced caption NLL, and a few examples. Every
figure is also computed with the radar shuffled (each test sample gets the radar of a test
sample of another activity, :func:`other_activity_donors`): the gap between the two is the
evidence that the captions come from the radar rather than from the caption template alone.
``--qa-steps N`` adds stage 2 (captions + QA) and exact-match answer accuracy per question
kind, with the same control.

The split is re-saved over every sample the store holds, so a radar tower for
``--radar-model`` must be trained after the store stops growing (``--split train``).

``--radar-model DIR`` uses the radar tower of a model from ``mmexpert train clip|classifier``
as the frozen encoder (train it on the same store with ``--split train`` so it never saw the
test samples; ``--reuse-store`` keeps the store as it is). ``--plain-projector``,
``--projector-lr-scale`` and ``--radar-noise`` are the
knobs of the radar-use study (see :class:`mmexpert.models.radar_llm.RadarLLMConfig`).

Usage: ``python bench/bench_captions.py [--per-activity 8] [--steps 400] [--base tiny]
[--store DIR] [--out DIR] [--radar-model DIR] [--qa-steps N]``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_ACTIVITIES = ("walking", "waving", "squats", "falling", "sitting down", "jumping jacks")
# Word stem that names each default activity in the template captions (for the activity check).
ACTIVITY_WORDS = {
    "walking": "walk",
    "waving": "wave",
    "squats": "squat",
    "falling": "fall",
    "sitting down": "sit",
    "jumping jacks": "jumping jack",
}


def plan_specs(activities: list[str], per_activity: int, seed: int) -> list:
    """Template-captioned sample specs (no LLM)."""
    from mmexpert.plan.activities import ACTIVITIES
    from mmexpert.plan.captions import canonical_caption, make_qa
    from mmexpert.plan.programs import sample_program
    from mmexpert.plan.spec import SampleSpec

    rng = np.random.default_rng(seed)
    specs = []
    for name in activities:
        activity = ACTIVITIES[name]
        for index in range(per_activity):
            strategy = "single_action" if index % 2 == 0 else "speed_variant"
            try:
                program, tags, scene = sample_program(activity, strategy, rng)
            except ValueError:
                program, tags, scene = sample_program(activity, "single_action", rng)
            specs.append(
                SampleSpec(
                    activity=name,
                    description=canonical_caption(program),
                    program=program,
                    captions=[canonical_caption(program)],
                    qa=make_qa(program, activity, tags, rng),
                    tags=tags,
                    scene=scene,
                    seed=int(rng.integers(0, 2**31 - 1)),
                )
            )
    return specs


def split_store(store_dir: Path, activities: list[str], seed: int) -> dict[str, str]:
    """Save split ``default`` of the store: per activity, about 25 % of the samples to
    ``test``, the rest to ``train``, grouped so that samples sharing a motion program or a
    caption stay on one side (:func:`mmexpert.eval.leakage.leak_free_group_key`); returns
    ``{sample_id: subset}``. (A store that was generated twice from drifting plans held
    duplicate programs; a plain per-sample split put 20 of 48 test samples' twins in train.)
    """
    from mmexpert.data.splits import grouped_split
    from mmexpert.data.store import DatasetStore
    from mmexpert.eval.leakage import leak_free_group_key

    with DatasetStore.open(store_dir, mode="a") as store:
        assignment = {}
        for activity in activities:
            ids = set(store.query(activity=activity))
            metadata = [
                {**record.metadata, "sample_id": record.sample_id}
                for record in store.records(sorted(ids))
            ]
            split = grouped_split(metadata, leak_free_group_key(), test_fraction=0.25, seed=seed)
            assignment.update({sid: "test" for sid in split.test})
            assignment.update({sid: "train" for sid in split.train})
        store.save_split("default", assignment)
    return assignment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", nargs="+", default=list(DEFAULT_ACTIVITIES))
    parser.add_argument("--per-activity", type=int, default=8, help="samples per activity")
    parser.add_argument("--frames", type=int, default=64, help="radar frames per sample")
    parser.add_argument("--radar", default="iwr1843-udoppler", help="preset or TI .cfg")
    parser.add_argument("--steps", type=int, default=400, help="training steps")
    parser.add_argument("--lr", type=float, default=5e-3, help="learning rate")
    parser.add_argument("--base", default="tiny", help="tiny, smollm2 or a local HF model")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", type=Path, default=None, help="reuse/keep the dataset here")
    parser.add_argument("--out", type=Path, default=None, help="keep the model here")
    parser.add_argument("--no-embeddings", action="store_true", help="skip MiniLM cosine")
    parser.add_argument(
        "--qa-steps", type=int, default=0, help="then train stage 2 (captions + QA) this long"
    )
    parser.add_argument("--workers", type=int, default=2, help="simulation processes")
    parser.add_argument(
        "--reuse-store",
        action="store_true",
        help="use the samples already in --store as they are (no planning or simulation)",
    )
    parser.add_argument("--batch-size", type=int, default=4, help="turns per training step")
    parser.add_argument(
        "--radar-model", type=Path, default=None, help="trained CLIP/classifier as the encoder"
    )
    parser.add_argument(
        "--plain-projector",
        action="store_true",
        help="no input standardisation / output RMS scaling in the projector (old behaviour)",
    )
    parser.add_argument(
        "--projector-lr-scale", type=float, default=1.0, help="projector lr / LoRA lr"
    )
    parser.add_argument(
        "--radar-noise", type=float, default=0.0, help="token noise [feature std] in training"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from mmexpert.data.engine import generate
    from mmexpert.data.store import DatasetStore
    from mmexpert.eval.text_metrics import caption_metrics
    from mmexpert.models.radar_llm import (
        RadarLLMConfig,
        caption,
        config_for_radar_model,
        load_radar_llm,
    )
    from mmexpert.models.radar_llm_encoder import MapPatchEncoderConfig
    from mmexpert.models.radar_llm_train import load_radar_text_data, train_radar_llm
    from mmexpert.radar.presets import load_radar

    work = Path(tempfile.mkdtemp(prefix="bench_captions_"))
    store_dir = args.store or work / "store"
    out_dir = args.out or work / "model"
    started = time.perf_counter()
    if args.reuse_store:
        if not (store_dir / "store.json").is_file():
            parser.error(f"--reuse-store: no dataset store in {store_dir}")
        with DatasetStore.open(store_dir) as store:
            samples_total, samples_generated = len(store.ids()), 0
    else:
        specs = plan_specs(args.activities, args.per_activity, args.seed)
        generation = generate(
            specs,
            load_radar(args.radar),
            store_dir,
            workers=args.workers,
            progress=False,
            num_frames=args.frames,
        )
        samples_total, samples_generated = len(specs), len(generation.generated)
    generate_s = time.perf_counter() - started
    assignment = split_store(store_dir, args.activities, args.seed)
    with DatasetStore.open(store_dir) as store:
        bins = {
            view: int(store.read(next(iter(assignment))).arrays[view].shape[0])
            for view in ("micro_doppler", "range_time", "azimuth_time")
        }
    views = tuple(bins)
    config = RadarLLMConfig(
        base=args.base,
        stage=1,
        encoder=MapPatchEncoderConfig(
            views=views, bins=tuple(bins[v] for v in views), window_frames=64, seed=args.seed
        ),
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        projector_lr_scale=args.projector_lr_scale,
        normalize_projector=not args.plain_projector,
        radar_noise=args.radar_noise,
        seed=args.seed,
        log_every=50,
        checkpoint_every=args.steps,
        cpu_threads=args.threads,
    )
    if args.radar_model is not None:
        config = config_for_radar_model(config, args.radar_model)
        views = config.views
    started = time.perf_counter()
    report = train_radar_llm(config, store_dir, out_dir, resume=False)
    train_s = time.perf_counter() - started
    model = load_radar_llm(out_dir)
    test = load_radar_text_data(store_dir, config, split="test")
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    predictions = [caption(model, test_radar(test, views, i)) for i in range(len(test))]
    caption_s = time.perf_counter() - started
    with DatasetStore.open(store_dir) as store:
        activity_of = {
            record.sample_id: record.activity for record in store.records(test.sample_ids)
        }
    activities = [activity_of[sid] for sid in test.sample_ids]
    # Radar-blind control: each test caption generated from the radar of a test sample of
    # another activity. If the metrics stay the same, the model writes the template without
    # reading the radar.
    shift = other_activity_donors(activities)
    shuffled = [caption(model, test_radar(test, views, int(j))) for j in shift]

    def activity_accuracy(texts: list[str]) -> float | None:
        known = [(t, a) for t, a in zip(texts, activities, strict=True) if a in ACTIVITY_WORDS]
        if not known:
            return None
        hits = [
            ACTIVITY_WORDS[a] in t.lower()
            and not any(w in t.lower() for b, w in ACTIVITY_WORDS.items() if b != a)
            for t, a in known
        ]
        return round(float(np.mean(hits)), 4)

    train_captions = {
        c for group in load_radar_text_data(store_dir, config, "train").captions for c in group
    }
    metrics = caption_metrics(predictions, test.captions, embeddings=not args.no_embeddings)
    exact = float(np.mean([p in refs for p, refs in zip(predictions, test.captions, strict=True)]))
    result = {
        "base": args.base,
        "encoder": str(args.radar_model) if args.radar_model else "MapPatchEncoder (random)",
        "radar_tokens": int(model.encode_radar(test_radar(test, views, 0)).shape[1]),
        "projector": "plain" if args.plain_projector else "normalised",
        "projector_lr_scale": args.projector_lr_scale,
        "radar_noise": args.radar_noise,
        "learning_rate": args.lr,
        "radar": args.radar,
        "activities": args.activities,
        "samples_total": samples_total,
        "samples_generated": samples_generated,
        "train_samples": report.samples,
        "test_samples": len(test),
        "test_captions_seen_in_train": int(
            sum(c in train_captions for g in test.captions for c in g)
        ),
        "frames_per_sample": args.frames,
        "generate_s": round(generate_s, 1),
        "train_steps": report.steps,
        "batch_size": config.batch_size,
        "train_s": round(train_s, 1),
        "train_loop_steps_per_s": round(report.steps_per_s, 2),
        "first_loss": round(report.first_loss, 3),
        "last_loss": round(report.last_loss, 3),
        "caption_s_per_sample": round(caption_s / len(test), 3),
        "metrics": {k: round(v, 4) for k, v in metrics.items()},
        "exact_match": round(exact, 4),
        "test_caption_nll": round(caption_nll(model, test, np.arange(len(test))), 4),
        "activity_word_accuracy": activity_accuracy(predictions),
        "chance_activity_accuracy": round(1 / len(args.activities), 4),
        "radar_shuffled_control": {
            "metrics": {
                k: round(v, 4)
                for k, v in caption_metrics(shuffled, test.captions, embeddings=False).items()
            },
            "activity_word_accuracy": activity_accuracy(shuffled),
            "test_caption_nll": round(caption_nll(model, test, shift), 4),
            "donors_of_same_activity": round(
                float(
                    np.mean([activities[j] == a for j, a in zip(shift, activities, strict=True)])
                ),
                4,
            ),
        },
        "examples": [
            {"prediction": p, "reference": refs[0]}
            for p, refs in list(zip(predictions, test.captions, strict=True))[:4]
        ],
        "torch_threads": args.threads,
        "cpu_count": os.cpu_count(),
    }
    if args.qa_steps:
        result["stage2"] = stage2_qa(args, config, store_dir, out_dir, test, views, activities)
    print(json.dumps(result, indent=2))


def other_activity_donors(activities: list[str]) -> np.ndarray:
    """For each test sample, the index of another test sample whose radar replaces its own in
    the radar-shuffled control, chosen from another activity.

    Samples are ordered by activity and each takes the radar ``max class size`` places further
    along that order, so no sample keeps its own activity as long as no activity holds more
    than half the samples. (A plain roll by one kept the activity for 5 of 6 samples, since
    the store lists a split activity by activity, and hid most of the radar's effect.)

    Returns
    -------
    np.ndarray
        int [samples], donor index per sample.
    """
    order = np.argsort(np.asarray(activities), kind="stable")
    largest = max(activities.count(a) for a in set(activities))
    donors = np.empty(len(activities), dtype=int)
    donors[order] = order[np.roll(np.arange(len(order)), -largest)]
    return donors


def caption_nll(model: Any, test: Any, donors: np.ndarray, batch: int = 8) -> float:
    """Mean answer cross-entropy [nats/token] of the test reference captions given the radar
    of ``donors[i]`` for sample ``i`` (teacher forcing; a smoother read-out of radar use than
    greedy captions).

    Returns
    -------
    float
        Token-weighted mean over every (sample, reference caption) pair.
    """
    import torch

    from mmexpert.models.radar_llm import CAPTION_PROMPT

    pairs = [(i, text) for i, texts in enumerate(test.captions) for text in texts]
    total, tokens = 0.0, 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(pairs), batch):
            chunk = pairs[start : start + batch]
            rows = [int(donors[i]) for i, _ in chunk]
            radar = {key: value[rows] for key, value in test.radar.items()}
            terms = model.loss(
                model.encode_radar(radar), [CAPTION_PROMPT] * len(chunk), [t for _, t in chunk]
            )
            count = int(terms["answer_tokens"])
            total += float(terms["answer_loss"]) * count
            tokens += count
    return total / tokens


def test_radar(test: Any, views: tuple[str, ...], index: int) -> dict[str, Any]:
    """One test sample's prepared radar windows (batch of one)."""
    return {view: test.radar[view][index : index + 1] for view in (*views, "mask")}


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace(".", " ").replace(",", " ").split())


def stage2_qa(
    args: argparse.Namespace,
    config: Any,
    store_dir: Path,
    stage1_dir: Path,
    test: Any,
    views: tuple[str, ...],
    activities: list[str],
) -> dict[str, Any]:
    """Stage 2 from the stage-1 model; exact-match QA accuracy per question kind on the test
    split, with the same radar-shuffled control."""
    from dataclasses import replace

    from mmexpert.models.radar_llm import ask, load_radar_llm
    from mmexpert.models.radar_llm_train import train_radar_llm

    config2 = replace(config, stage=2, steps=args.qa_steps, init_from=str(stage1_dir))
    out2 = stage1_dir.parent / (stage1_dir.name + "_stage2")
    started = time.perf_counter()
    report = train_radar_llm(config2, store_dir, out2, resume=False)
    train_s = time.perf_counter() - started
    model = load_radar_llm(out2)
    shift = other_activity_donors(activities)
    per_kind: dict[str, list[bool]] = {}
    shuffled_kind: dict[str, list[bool]] = {}
    examples = []
    for index in range(len(test)):
        own = test_radar(test, views, index)
        other = test_radar(test, views, int(shift[index]))
        for pair in test.qa[index]:
            answer = ask(model, own, pair["question"])
            blind = ask(model, other, pair["question"])
            kind = pair.get("kind", "qa")
            per_kind.setdefault(kind, []).append(_normalise(answer) == _normalise(pair["answer"]))
            shuffled_kind.setdefault(kind, []).append(
                _normalise(blind) == _normalise(pair["answer"])
            )
            if len(examples) < 4:
                examples.append(
                    {"question": pair["question"], "answer": answer, "reference": pair["answer"]}
                )
    return {
        "train_steps": report.steps,
        "train_s": round(train_s, 1),
        "first_loss": round(report.first_loss, 3),
        "last_loss": round(report.last_loss, 3),
        "qa_exact_match": {k: round(float(np.mean(v)), 4) for k, v in per_kind.items()},
        "qa_exact_match_radar_shuffled": {
            k: round(float(np.mean(v)), 4) for k, v in shuffled_kind.items()
        },
        "qa_pairs": {k: len(v) for k, v in per_kind.items()},
        "examples": examples,
    }


if __name__ == "__main__":
    main()
