"""Training of the radar LLM: data from a dataset store, seeded loop, checkpoints and resume.

Layout of ``out_dir``::

    config.json  projector.pt  encoder.pt  adapter/  tokenizer/   final model (load_radar_llm)
    base/                                                         tiny base only
    checkpoint/  (same files + optimizer.pt, state.json)          latest resumable state
    train_log.jsonl                                               one line per log step

Since the encoder is frozen, its tokens are computed once per sample and cached in memory.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mmexpert.models.radar_llm import (
    CAPTION_PROMPT,
    RadarLLM,
    RadarLLMConfig,
    RadarLLMError,
    _device,
    build_radar_llm,
    load_radar_llm,
    prepare_radar,
)

CHECKPOINT_DIR = "checkpoint"


@dataclass(frozen=True)
class TextExample:
    """One supervised turn: which sample, the question, the answer."""

    sample_index: int
    question: str
    answer: str
    kind: str  # "caption" or the QA kind


@dataclass
class RadarTextData:
    """Samples of one split in memory.

    ``radar``: {view: float32 [samples, bins, window_frames]} normalised, and ``"mask"``
    bool [samples, window_frames] (True on real frames);
    ``captions`` and ``qa`` per sample; ``sample_ids``.
    """

    radar: dict[str, torch.Tensor]
    captions: list[list[str]]
    qa: list[list[dict[str, str]]]
    sample_ids: list[str]

    def __len__(self) -> int:
        return len(self.sample_ids)

    def examples(self, stage: int) -> list[TextExample]:
        """Stage 1: every caption; stage 2: every caption and every QA pair."""
        out = []
        for index in range(len(self)):
            out += [
                TextExample(index, CAPTION_PROMPT, text, "caption") for text in self.captions[index]
            ]
            if stage == 2:
                out += [
                    TextExample(index, pair["question"], pair["answer"], pair.get("kind", "qa"))
                    for pair in self.qa[index]
                ]
        return out

    def texts(self) -> list[str]:
        """Every caption, question and answer (tokenizer training for the tiny base)."""
        texts = [text for group in self.captions for text in group]
        for pairs in self.qa:
            texts += [pair["question"] for pair in pairs] + [pair["answer"] for pair in pairs]
        return texts


def load_radar_text_data(
    store_dir: str | Path,
    config: RadarLLMConfig,
    split: str | None = None,
    sample_ids: Sequence[str] | None = None,
) -> RadarTextData:
    """Read a store split into :class:`RadarTextData`.

    Parameters
    ----------
    store_dir
        A dataset store folder.
    config
        Views, window and normalisation.
    split
        Subset of ``config.split_name`` (e.g. ``"train"``), or None for every sample.
    sample_ids
        Explicit samples instead of a split.

    Raises
    ------
    RadarLLMError
        If the store is missing, the split is unknown or empty, or a sample has no caption.
    """
    from mmexpert.data.store import DatasetStore
    from mmexpert.data.store_schema import StoreError

    try:
        store = DatasetStore.open(store_dir)
    except (StoreError, OSError) as error:
        raise RadarLLMError(f"cannot open dataset store {store_dir}: {error}") from error
    try:
        if sample_ids is None and split is not None:
            try:
                sample_ids = store.split_ids(split, split_name=config.split_name)
            except (StoreError, KeyError) as error:
                raise RadarLLMError(
                    f"store {store_dir} has no split {config.split_name!r}/{split!r} ({error}); "
                    "save one with `mmexpert dataset split` or train on every sample "
                    "(split=None, CLI --split all)"
                ) from error
        records = store.records(sample_ids)
        if not records:
            raise RadarLLMError(f"no samples in {store_dir} for split {split!r}")
        windows: dict[str, list[torch.Tensor]] = {view: [] for view in (*config.views, "mask")}
        captions, qa, ids = [], [], []
        for record in records:
            present = [view for view in config.views if view in record.checksums]
            sample = store.read_record(record, arrays=present)
            prepared = prepare_radar(config, sample.arrays)
            for view in windows:
                windows[view].append(prepared[view][0])
            texts = [str(text) for text in record.metadata.get("captions") or []]
            if not texts:
                raise RadarLLMError(f"sample {record.sample_id} has no caption")
            captions.append(texts)
            qa.append([dict(pair) for pair in record.metadata.get("qa") or []])
            ids.append(record.sample_id)
    finally:
        store.close()
    radar = {view: torch.stack(items) for view, items in windows.items()}
    return RadarTextData(radar, captions, qa, ids)


@dataclass
class TrainReport:
    """What a training run did."""

    out_dir: Path
    steps: int  # optimiser steps done in total (including resumed ones)
    resumed_from_step: int  # 0 for a fresh run
    samples: int  # radar samples in the training split
    examples: int  # (question, answer) turns per epoch
    first_loss: float  # mean answer loss of the first log window
    last_loss: float  # mean answer loss of the last log window
    wall_s: float  # training-loop wall time of this call [s]
    steps_per_s: float  # optimiser steps per second of this call


def _encoder_tokens(model: RadarLLM, data: RadarTextData, batch: int = 32) -> torch.Tensor:
    """Frozen-encoder tokens of every sample, float32 [samples, tokens, enc_dim]."""
    chunks = []
    with torch.no_grad():
        for start in range(0, len(data), batch):
            radar = {view: tensor[start : start + batch] for view, tensor in data.radar.items()}
            chunks.append(model.encoder({k: v.to(model.device) for k, v in radar.items()}))
    return torch.cat(chunks)


def _optimizer(model: RadarLLM, config: RadarLLMConfig) -> torch.optim.AdamW:
    """AdamW over the trainable weights: LoRA at ``learning_rate``, the projector at
    ``learning_rate * projector_lr_scale``."""
    projector = [p for p in model.projector.parameters() if p.requires_grad]
    projector_ids = {id(p) for p in projector}
    lora = [p for p in model.parameters() if p.requires_grad and id(p) not in projector_ids]
    groups = [
        {"params": lora, "lr": config.learning_rate},
        {"params": projector, "lr": config.learning_rate * config.projector_lr_scale},
    ]
    return torch.optim.AdamW(
        [group for group in groups if group["params"]], weight_decay=config.weight_decay
    )


def _save_checkpoint(
    model: RadarLLM, optimizer: torch.optim.Optimizer, step: int, out_dir: Path
) -> None:
    tmp = out_dir / f".{CHECKPOINT_DIR}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save(tmp)
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    state = {"step": step}
    (tmp / "state.json").write_text(json.dumps(state))
    final = out_dir / CHECKPOINT_DIR
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)


def train_radar_llm(
    config: RadarLLMConfig,
    store_dir: str | Path,
    out_dir: str | Path,
    progress: Callable[[dict[str, Any]], None] | None = None,
    resume: bool = True,
    data: RadarTextData | None = None,
) -> TrainReport:
    """Train (or resume training) a radar LLM on a dataset store.

    Parameters
    ----------
    config
        Model and run settings (``stage`` picks captions or captions + QA).
    store_dir
        Dataset store with ``captions`` (and ``qa`` for stage 2) in its metadata.
    out_dir
        Output folder (layout in the module docstring).
    progress
        Called every ``log_every`` steps with ``{"step", "steps", "loss", "steps_per_s"}``.
    resume
        Continue from ``out_dir/checkpoint`` when it exists (same config required).
    data
        Pre-loaded data (skips reading the store).

    Returns
    -------
    TrainReport

    Raises
    ------
    RadarLLMError
        On bad data, a config that differs from the checkpoint's, or a missing device.
    """
    config.validate()
    _device(config.device)  # a missing GPU fails before the data is read
    threads = torch.get_num_threads()
    if config.cpu_threads is not None:
        torch.set_num_threads(config.cpu_threads)
    try:
        return _train(config, store_dir, Path(out_dir), progress, resume, data)
    finally:
        torch.set_num_threads(threads)


def _train(
    config: RadarLLMConfig,
    store_dir: str | Path,
    out: Path,
    progress: Callable[[dict[str, Any]], None] | None,
    resume: bool,
    data: RadarTextData | None,
) -> TrainReport:
    out.mkdir(parents=True, exist_ok=True)
    if data is None:
        data = load_radar_text_data(store_dir, config, split=config.split)
    examples = data.examples(config.stage)
    if not examples:
        raise RadarLLMError("no training examples (no captions / QA in the split)")
    checkpoint = out / CHECKPOINT_DIR
    start_step = 0
    torch.manual_seed(config.seed)
    if resume and (checkpoint / "state.json").is_file():
        saved = json.loads((checkpoint / "config.json").read_text())
        wanted = json.loads(json.dumps(config.to_dict()))
        if {**saved, "steps": config.steps} != {**wanted, "steps": config.steps}:
            raise RadarLLMError(
                f"{checkpoint} was written with a different config; use a new --out or resume=False"
            )
        model = load_radar_llm(checkpoint, device=config.device, trainable=True)
        model.config = config
        state = json.loads((checkpoint / "state.json").read_text())
        start_step = int(state["step"])
    elif config.init_from:
        model = load_radar_llm(config.init_from, device=config.device, trainable=True)
        if config.base == "tiny":
            shutil.copytree(Path(config.init_from) / "base", out / "base", dirs_exist_ok=True)
        init_config = model.config
        if (init_config.base, init_config.encoder) != (config.base, config.encoder):
            raise RadarLLMError(
                f"init_from {config.init_from} has base {init_config.base!r} / another encoder"
            )
        if init_config.normalize_projector != config.normalize_projector:
            raise RadarLLMError(
                f"init_from {config.init_from} has normalize_projector="
                f"{init_config.normalize_projector}; the new stage must use the same projector"
            )
        model.config = config
    else:
        model = build_radar_llm(config, texts=data.texts(), work_dir=out)
    model.train()
    model.encoder.eval()
    encoder_tokens = _encoder_tokens(model, data)  # (samples, tokens, enc_dim)
    if not start_step and not config.init_from:
        # A fresh projector standardises with this training set; resumed and stage-2 runs
        # keep the statistics saved with their projector.
        model.projector.fit_input_statistics(encoder_tokens)
    optimizer = _optimizer(model, config)
    if start_step and (checkpoint / "optimizer.pt").is_file():
        optimizer.load_state_dict(torch.load(checkpoint / "optimizer.pt", weights_only=True))
    feature_std = encoder_tokens.reshape(-1, encoder_tokens.shape[-1]).std(0)
    log_path = out / "train_log.jsonl"
    window_losses: list[float] = []
    first_loss = last_loss = float("nan")
    started = time.perf_counter()
    step = start_step
    for step in range(start_step + 1, config.steps + 1):
        # Each step's batch depends on (seed, step) only, so a resumed run sees the same batches.
        batch_generator = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
        chosen = torch.randperm(len(examples), generator=batch_generator)[: config.batch_size]
        picked = [examples[int(i)] for i in chosen]
        indices = torch.tensor([example.sample_index for example in picked])
        tokens = encoder_tokens[indices]
        if config.radar_noise > 0:
            noise = torch.randn(tokens.shape, generator=batch_generator)
            tokens = tokens + config.radar_noise * feature_std * noise.to(tokens)
        radar_embeds = model.project_tokens(tokens)
        terms = model.loss(radar_embeds, [e.question for e in picked], [e.answer for e in picked])
        optimizer.zero_grad(set_to_none=True)
        terms["answer_loss"].backward()
        optimizer.step()
        window_losses.append(float(terms["answer_loss"].detach()))
        if step % config.log_every == 0 or step == config.steps:
            mean_loss = float(np.mean(window_losses))
            window_losses = []
            if np.isnan(first_loss):
                first_loss = mean_loss
            last_loss = mean_loss
            elapsed = time.perf_counter() - started
            record = {
                "step": step,
                "steps": config.steps,
                "loss": mean_loss,
                "steps_per_s": (step - start_step) / max(elapsed, 1e-9),
            }
            with log_path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")
            if progress is not None:
                progress(record)
        if step % config.checkpoint_every == 0 or step == config.steps:
            _save_checkpoint(model, optimizer, step, out)
    wall_s = time.perf_counter() - started
    model.eval()
    model.save(out)
    done = max(step - start_step, 0)
    return TrainReport(
        out_dir=out,
        steps=max(step, start_step),
        resumed_from_step=start_step,
        samples=len(data),
        examples=len(examples),
        first_loss=first_loss,
        last_loss=last_loss,
        wall_s=wall_s,
        steps_per_s=done / wall_s if wall_s > 0 else float("nan"),
    )
