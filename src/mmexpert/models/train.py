"""Training of the radar-text model (``clip``) and the classifier, with checkpoints and resume.

``train(config, store_dir, out_dir)`` reads a dataset store, builds the model named by
``config.model`` (see :func:`~mmexpert.models.registry.list_models`), trains it and writes
``out_dir/model/`` (see :mod:`mmexpert.models.io`). After every epoch it writes
``out_dir/checkpoint.pt`` atomically; a later call with the same config resumes from it.

Determinism: everything random in epoch ``e`` (shuffle order, augmentations, caption choice,
dropout) is seeded from ``(seed, e)``, so a run interrupted at an epoch boundary and resumed
ends with the same weights as an uninterrupted run (tested).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.utils.data

from mmexpert.data.store import DatasetStore
from mmexpert.eval.leakage import check_split
from mmexpert.models.adapt import FeatureStats
from mmexpert.models.augment import (
    DEFAULT_CLIP_POINT_SIM2REAL,
    DEFAULT_POINT_SIM2REAL,
    DEFAULT_SIM2REAL,
    build_augmentations,
)
from mmexpert.models.inputs import (
    DEFAULT_DYNAMIC_RANGE_DB,
    DEFAULT_MAX_POINTS,
    POINTS_VIEW,
    RadarModelDataset,
    collate,
    load_raw_samples,
    stable_choice,
)
from mmexpert.models.io import InputSettings, atomic_torch_save, save_model
from mmexpert.models.models import ClassifierConfig, ClipConfig, ModelConfig, build_model
from mmexpert.models.predict import radar_features
from mmexpert.models.registry import model_config, with_views
from mmexpert.models.text import TextConfig

CHECKPOINT_NAME = "checkpoint.pt"
MODEL_FOLDER = "model"


class TrainingError(RuntimeError):
    """A training run that cannot start or resume (bad data, mismatched checkpoint...)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (saved in the checkpoint)."""

    model: str = "clip-vit-tiny"  # registry name (list_models())
    views: tuple[str, ...] | None = None  # override the config's views
    epochs: int = 10  # passes over the training samples
    batch_size: int = 32  # samples per step
    learning_rate: float = 1e-3  # peak AdamW learning rate
    weight_decay: float = 0.05  # AdamW weight decay
    warmup_fraction: float = 0.1  # linear warm-up share of the steps, then cosine decay
    seed: int = 0  # seeds initialisation, order, augmentation, captions, dropout
    window_frames: int = 64  # time window [frames] (1.28 s at 50 fps)
    dynamic_range_db: float = DEFAULT_DYNAMIC_RANGE_DB  # normalisation floor [dB]
    max_points: int = DEFAULT_MAX_POINTS  # points per frame for the point view
    augment: tuple[str, ...] | None = None  # registry names; None: family default
    split: str | None = None  # train on this subset of split_name (None: every sample)
    split_name: str = "default"  # which saved split of the store
    classes: tuple[str, ...] | None = None  # train only on these activities (None: all)
    text_trainable: str | None = None  # CLIP text tower: "frozen", "last_n", "full" (None: config)
    text_trainable_layers: int | None = None  # layers trained in "last_n" mode (None: config)
    device: str = "cpu"  # "cpu" or "cuda"
    threads: int | None = 1  # torch CPU threads (None: torch default); one is fastest for
    # the tiny configs on a shared machine (2 threads ran 40x slower under load here)
    max_epochs_this_run: int | None = None  # stop early leaving a checkpoint (time slicing)
    allow_leakage: bool = False  # train even if the split's test samples overlap training

    def identity(self) -> dict[str, Any]:
        """The fields that must match for a checkpoint to be resumed."""
        data = dataclasses.asdict(self)
        for transient in ("device", "threads", "max_epochs_this_run", "allow_leakage"):
            data.pop(transient)
        return json.loads(json.dumps(data))


@dataclass
class TrainResult:
    """What a :func:`train` call did."""

    model_dir: Path | None  # written when the last epoch finished
    epochs_done: int  # epochs completed so far (over all runs)
    resumed_from_epoch: int  # 0 for a fresh run
    history: list[dict[str, float]] = field(default_factory=list)  # per-epoch loss, time
    samples_per_s: float = 0.0  # training throughput of this call
    classes: list[str] = field(default_factory=list)


def _epoch_seed(seed: int, epoch: int, what: str) -> int:
    return stable_choice(2**62, what, seed, epoch)


def _lr_factor(step: int, total_steps: int, warmup_steps: int) -> float:
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _select_ids(store: DatasetStore, config: TrainConfig) -> list[str]:
    if config.split is None:
        ids = store.ids()
    else:
        try:
            ids = store.split_ids(config.split, split_name=config.split_name)
        except Exception as error:
            raise TrainingError(
                f"cannot read subset {config.split!r} of split {config.split_name!r}: {error}"
            ) from None
        _refuse_leaky_split(store, ids, config)
    if config.classes is not None:
        wanted = set(config.classes)
        ids = [record.sample_id for record in store.records(ids) if record.activity in wanted]
    if not ids:
        raise TrainingError("no training samples (check --split and the class list)")
    return ids


def _refuse_leaky_split(store: DatasetStore, train_ids: list[str], config: TrainConfig) -> None:
    """Exact leakage check (ids, programs, captions) against the split's ``test`` subset."""
    try:
        test_ids = store.split_ids("test", split_name=config.split_name)
    except Exception:  # a split without a test subset has nothing to leak into
        return
    if test_ids and config.split != "test":
        check_split(store, train_ids, test_ids, allow_leakage=config.allow_leakage, encoder=None)


def build_config(config: TrainConfig, classes: Sequence[str]) -> ClipConfig | ClassifierConfig:
    """The model config of a run: the registry entry, its views, its class count."""
    model_cfg = model_config(config.model)
    if config.views is not None:
        model_cfg = with_views(model_cfg, config.views)
    if isinstance(model_cfg, ClassifierConfig):
        model_cfg = dataclasses.replace(model_cfg, num_classes=len(classes))
    elif config.text_trainable is not None or config.text_trainable_layers is not None:
        text = model_cfg.text
        text = TextConfig(
            trainable=config.text_trainable or text.trainable,
            trainable_layers=(
                text.trainable_layers
                if config.text_trainable_layers is None
                else config.text_trainable_layers
            ),
            max_tokens=text.max_tokens,
        )
        model_cfg = dataclasses.replace(model_cfg, text=text)
    window = config.window_frames
    if window > model_cfg.encoder.max_frames:
        raise TrainingError(f"window_frames {window} exceeds max_frames of {config.model}")
    return model_cfg


def default_augmentations(model_cfg: ModelConfig, views: Sequence[str]) -> tuple[str, ...]:
    """The augmentations a model trains with unless told otherwise: a classifier gets the
    map ones (and the point ones when it reads points); a CLIP model gets elevation error
    and dropout when it reads points, and nothing on maps alone."""
    if isinstance(model_cfg, ClassifierConfig):
        names = DEFAULT_SIM2REAL
        return names + DEFAULT_POINT_SIM2REAL if POINTS_VIEW in views else names
    return DEFAULT_CLIP_POINT_SIM2REAL if POINTS_VIEW in views else ()


def train(
    config: TrainConfig,
    store_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    progress: bool = True,
) -> TrainResult:
    """Train (or resume) a model on a dataset store.

    Parameters
    ----------
    config
        The run (see :class:`TrainConfig`).
    store_dir
        Dataset store folder.
    out_dir
        Output folder: ``checkpoint.pt`` during training, ``model/`` at the end.
    progress
        Show a rich progress bar.

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingError
        On an empty selection, a single class for a classifier, or a checkpoint written by
        a different config.
    LeakageError
        If ``config.split`` is used and its ``test`` subset shares samples, motion programs
        or captions with the training samples (unless ``allow_leakage``).
    """
    if config.epochs < 1 or config.batch_size < 1:
        raise TrainingError("epochs and batch_size must be >= 1")
    if config.device.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError("device 'cuda' requested but torch sees no CUDA GPU")
    previous_threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        return _train(config, store_dir, out_dir, progress)
    finally:
        torch.set_num_threads(previous_threads)


def _train(
    config: TrainConfig,
    store_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    progress: bool,
) -> TrainResult:
    torch.use_deterministic_algorithms(True, warn_only=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    with DatasetStore.open(store_dir) as store:
        ids = _select_ids(store, config)
        probe = build_config(config, ["_"])
        views = probe.encoder.views
        raws = load_raw_samples(store, ids, views)
        # real recordings are resampled to this rate before a model sees them
        rates = store.frame_rates_hz(ids) - {None}
    frame_rate_hz = rates.pop() if len(rates) == 1 else None
    classes = list(config.classes) if config.classes else sorted({r["activity"] for r in raws})
    model_cfg = build_config(config, classes)
    if isinstance(model_cfg, ClassifierConfig) and len(classes) < 2:
        raise TrainingError(f"a classifier needs at least two classes, found {classes}")
    augment_names = config.augment
    if augment_names is None:
        augment_names = default_augmentations(model_cfg, views)
    # the augmentations actually used, so a checkpoint made under other defaults is refused
    identity = json.loads(json.dumps({**config.identity(), "augment": list(augment_names)}))
    dataset = RadarModelDataset(
        raws,
        views,
        classes,
        window_frames=config.window_frames,
        crop="random",
        augment=build_augmentations(augment_names),
        seed=config.seed,
        dynamic_range_db=config.dynamic_range_db,
        max_points=config.max_points,
    )

    torch.manual_seed(config.seed)
    model = build_model(model_cfg).to(config.device)
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    decay = [p for p in trainable if p.ndim >= 2]
    no_decay = [p for p in trainable if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=config.learning_rate,
    )
    steps_per_epoch = math.ceil(len(dataset) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    warmup_steps = max(1, round(config.warmup_fraction * total_steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _lr_factor(step, total_steps, warmup_steps)
    )

    start_epoch, history = 0, []
    checkpoint_path = out / CHECKPOINT_NAME
    if checkpoint_path.is_file():
        checkpoint = torch.load(checkpoint_path, map_location=config.device, weights_only=False)
        if checkpoint["train_config"] != identity:
            raise TrainingError(
                f"{checkpoint_path} was written by a different training config; use another "
                "--out folder or delete the checkpoint"
            )
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        start_epoch, history = int(checkpoint["epoch"]), list(checkpoint["history"])

    inputs = InputSettings(
        tuple(views),
        config.window_frames,
        config.dynamic_range_db,
        config.max_points,
        frame_rate_hz=frame_rate_hz,
    )
    last_epoch = config.epochs
    if config.max_epochs_this_run is not None:
        last_epoch = min(last_epoch, start_epoch + config.max_epochs_this_run)
    started, seen = time.perf_counter(), 0
    with _progress(progress, (last_epoch - start_epoch) * steps_per_epoch) as advance:
        for epoch in range(start_epoch, last_epoch):
            dataset.set_epoch(epoch)
            torch.manual_seed(_epoch_seed(config.seed, epoch, "torch"))
            order = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch, "order"))
            loader = torch.utils.data.DataLoader(
                dataset,
                batch_size=config.batch_size,
                shuffle=True,
                generator=order,
                collate_fn=collate,
                drop_last=False,
            )
            model.train()
            epoch_started, loss_sum, batches = time.perf_counter(), 0.0, 0
            for batch in loader:
                batch = {
                    key: value.to(config.device) if isinstance(value, torch.Tensor) else value
                    for key, value in batch.items()
                }
                output = model(batch)
                optimizer.zero_grad(set_to_none=True)
                output["loss"].backward()
                torch.nn.utils.clip_grad_norm_(trainable, 1.0)
                optimizer.step()
                scheduler.step()
                loss_sum += float(output["loss"].detach())
                batches += 1
                seen += len(batch["sample_id"])
                advance(f"epoch {epoch + 1}/{config.epochs} loss {loss_sum / batches:.3f}")
            history.append(
                {
                    "epoch": epoch + 1,
                    "loss": loss_sum / max(batches, 1),
                    "seconds": time.perf_counter() - epoch_started,
                }
            )
            atomic_torch_save(
                {
                    "train_config": identity,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "epoch": epoch + 1,
                    "history": history,
                    "classes": classes,
                },
                checkpoint_path,
            )
    elapsed = time.perf_counter() - started
    epochs_done = history[-1]["epoch"] if history else start_epoch
    model_dir = None
    if epochs_done >= config.epochs:
        # statistics of the unaugmented centre windows: the source of test-time alignment
        features = radar_features(model, inputs, raws, config.batch_size)
        stats = FeatureStats.of(features.cpu().numpy()) if len(raws) >= 2 else None
        model_dir = save_model(model, classes, inputs, out / MODEL_FOLDER, stats)
    return TrainResult(
        model_dir=model_dir,
        epochs_done=int(epochs_done),
        resumed_from_epoch=start_epoch,
        history=history,
        samples_per_s=seen / elapsed if elapsed > 0 else 0.0,
        classes=classes,
    )


class _progress:  # noqa: N801 (a context manager used like a function)
    """A rich progress bar over steps, or a no-op; yields ``advance(description)``."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total, self.bar = enabled, total, None

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda description: None
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self.bar.start()
        task = self.bar.add_task("training", total=self.total)

        def advance(description: str) -> None:
            self.bar.update(task, advance=1, description=description)

        return advance

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.stop()
