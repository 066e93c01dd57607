"""``mmexpert train llm``, ``mmexpert caption`` and ``mmexpert ask``: wiring of the radar LLM.

Register in ``cli.py`` with::

    from mmexpert.cli_llm_models import ask_command, caption_command, train_llm
    train_app.command("llm")(train_llm)        # train_app from mmexpert.cli_models
    app.command("caption")(caption_command)
    app.command("ask")(ask_command)

``python -m mmexpert.cli_llm_models train-llm|caption|ask ...`` runs them on their own.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from mmexpert.cli_common import console, err_console, fail, split_csv


def train_llm(
    data: Annotated[Path, typer.Option("--data", help="Dataset store folder.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (model, checkpoint/).")],
    base: Annotated[
        str,
        typer.Option(
            "--base",
            help="tiny (random 2-layer Llama), smollm2 (embedded weights), or a local Hugging "
            "Face id/folder such as Qwen/Qwen2.5-0.5B-Instruct (never downloaded).",
        ),
    ] = "tiny",
    stage: Annotated[
        int, typer.Option("--stage", min=1, max=2, help="1: captions; 2: captions + QA.")
    ] = 1,
    radar_model: Annotated[
        Path | None,
        typer.Option(
            "--radar-model",
            help="A model from `mmexpert train clip|classifier`: its radar tower becomes the "
            "frozen encoder (its views and window replace --views/--window).",
        ),
    ] = None,
    init: Annotated[
        Path | None, typer.Option("--init", help="Start from this trained model (stage 2).")
    ] = None,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Optimiser steps.")] = 200,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Turns per step.")] = 4,
    lr: Annotated[float, typer.Option("--lr", help="AdamW learning rate (LoRA).")] = 1e-3,
    projector_lr_scale: Annotated[
        float,
        typer.Option("--projector-lr-scale", help="Projector learning rate / --lr."),
    ] = 1.0,
    radar_noise: Annotated[
        float,
        typer.Option(
            "--radar-noise",
            help="Training noise on the radar tokens [feature standard deviations]; "
            "discourages memorising samples by their exact radar.",
        ),
    ] = 0.0,
    views: Annotated[
        str,
        typer.Option("--views", help="Comma-separated map views (micro_doppler,range_time,...)."),
    ] = "micro_doppler,range_time,azimuth_time",
    window: Annotated[int, typer.Option("--window", min=8, help="Time window [frames].")] = 64,
    split: Annotated[
        str, typer.Option("--split", help="Subset of the saved split to train on; 'all' = every.")
    ] = "train",
    device: Annotated[str, typer.Option("--device", help="cpu or cuda.")] = "cpu",
    dtype: Annotated[
        str, typer.Option("--dtype", help="LM weights: float32, bfloat16 or float16 (GPU).")
    ] = "float32",
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="torch CPU threads while training.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seeds everything random.")] = 0,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Ignore an existing checkpoint in --out.")
    ] = False,
) -> None:
    """Train the radar-conditioned LLM (projector + LoRA) on a dataset store."""
    from mmexpert.models.radar_llm import RadarLLMConfig, RadarLLMError, config_for_radar_model
    from mmexpert.models.radar_llm_encoder import MapPatchEncoderConfig
    from mmexpert.models.radar_llm_train import train_radar_llm

    view_bins = {"micro_doppler": 128, "range_time": 256, "azimuth_time": 128}
    chosen = split_csv(views)
    unknown = [name for name in chosen if name not in view_bins]
    if unknown or not chosen:
        raise fail(f"unknown views {unknown}; choose among {list(view_bins)}")
    patch = 8 if window % 8 == 0 else 4 if window % 4 == 0 else 1
    encoder = MapPatchEncoderConfig(
        views=chosen,
        bins=tuple(view_bins[name] for name in chosen),
        window_frames=window,
        patch_frames=patch,
        seed=seed,
    )
    try:
        config = RadarLLMConfig(
            base=base,
            stage=stage,
            encoder=encoder,
            steps=steps,
            batch_size=batch_size,
            learning_rate=lr,
            projector_lr_scale=projector_lr_scale,
            radar_noise=radar_noise,
            seed=seed,
            device=device,
            split=None if split == "all" else split,
            init_from=str(init) if init else None,
            cpu_threads=threads,
            dtype=dtype,
        )
        if radar_model is not None:
            config = config_for_radar_model(config, radar_model)
        config.validate()

        def show(record: dict[str, Any]) -> None:
            err_console.print(
                f"step {record['step']}/{record['steps']}  answer loss {record['loss']:.3f}  "
                f"{record['steps_per_s']:.2f} steps/s"
            )

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            report = train_radar_llm(config, data, out, progress=show, resume=not fresh)
    except RadarLLMError as error:
        raise fail(str(error)) from None
    summary = {
        key: str(value) if isinstance(value, Path) else value
        for key, value in asdict(report).items()
    }
    console.print_json(json.dumps(summary))


def _load_sample(target: str) -> Any:
    """A products ``.npz`` (its ``maps_db``) or ``STORE_DIR:SAMPLE_ID`` (the stored maps)."""
    from mmexpert.data.products import ProductsFileError, SimulationProducts

    path = Path(target)
    if path.is_file():
        try:
            return SimulationProducts.load(path).maps_db
        except ProductsFileError as error:
            raise fail(str(error)) from None
    if ":" not in target:
        raise fail(f"{target} is neither a products .npz file nor STORE_DIR:SAMPLE_ID")
    folder, sample_id = target.rsplit(":", 1)
    from mmexpert.data.store import DatasetStore
    from mmexpert.data.store_schema import StoreError

    try:
        with DatasetStore.open(folder) as store:
            return store.read(sample_id).arrays
    except (StoreError, KeyError, OSError) as error:
        raise fail(f"cannot read sample {sample_id!r} from {folder}: {error}") from None


def _load_model(model_dir: Path, device: str) -> Any:
    from mmexpert.models.radar_llm import RadarLLMError, load_radar_llm

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # transformers deprecation notes
            return load_radar_llm(model_dir, device=device)
    except RadarLLMError as error:
        raise fail(str(error)) from None


def caption_command(
    sample: Annotated[str, typer.Argument(help="Products .npz or STORE_DIR:SAMPLE_ID.")],
    model: Annotated[Path, typer.Option("--model", help="Trained radar LLM folder.")],
    device: Annotated[str, typer.Option("--device", help="cpu or cuda.")] = "cpu",
) -> None:
    """Describe the motion in a radar capture with a trained radar LLM."""
    from mmexpert.models.radar_llm import RadarLLMError, caption

    loaded = _load_model(model, device)
    maps = _load_sample(sample)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            console.print(caption(loaded, maps), markup=False, highlight=False)  # model text
    except RadarLLMError as error:
        raise fail(str(error)) from None


def ask_command(
    sample: Annotated[str, typer.Argument(help="Products .npz or STORE_DIR:SAMPLE_ID.")],
    question: Annotated[str, typer.Argument(help="The question about the motion.")],
    model: Annotated[Path, typer.Option("--model", help="Trained radar LLM folder.")],
    device: Annotated[str, typer.Option("--device", help="cpu or cuda.")] = "cpu",
) -> None:
    """Answer a question about a radar capture with a trained radar LLM."""
    from mmexpert.models.radar_llm import RadarLLMError, ask

    loaded = _load_model(model, device)
    maps = _load_sample(sample)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            console.print(ask(loaded, maps, question), markup=False, highlight=False)
    except RadarLLMError as error:
        raise fail(str(error)) from None


standalone_app = typer.Typer(
    help="Radar LLM commands.", no_args_is_help=True, rich_markup_mode=None
)
standalone_app.command("train-llm")(train_llm)
standalone_app.command("caption")(caption_command)
standalone_app.command("ask")(ask_command)

__all__ = ["ask_command", "caption_command", "standalone_app", "train_llm"]

if __name__ == "__main__":
    standalone_app()
