"""``mmexpert train clip|classifier``, ``mmexpert predict`` and ``mmexpert stress``: wiring of
mmexpert.models (and of mmexpert.eval.stress).

Register in ``cli.py`` with::

    from mmexpert.cli_models import predict_command, stress_command, train_app
    app.add_typer(train_app, name="train")
    app.command("predict")(predict_command)
    app.command("stress")(stress_command)
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mmexpert.cli_common import AdaptOption, console, err_console, fail, split_csv

train_app = typer.Typer(help="Train radar models on a dataset store.", no_args_is_help=True)

DataOption = Annotated[Path, typer.Option("--data", help="Dataset store folder.")]
OutOption = Annotated[Path, typer.Option("--out", help="Output folder (checkpoint, model/).")]
ViewsOption = Annotated[
    str | None,
    typer.Option(
        "--views",
        help="Comma-separated views: micro_doppler, range_time, azimuth_time, points "
        "(default: the model config's).",
    ),
]
EpochsOption = Annotated[int, typer.Option("--epochs", min=1, help="Training epochs.")]
DeviceOption = Annotated[str, typer.Option("--device", help="cpu or cuda.")]
BatchOption = Annotated[int, typer.Option("--batch-size", min=1, help="Samples per step.")]
LrOption = Annotated[float, typer.Option("--lr", help="Peak learning rate.")]
WindowOption = Annotated[int, typer.Option("--window", min=4, help="Time window [frames].")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seeds everything random.")]
SplitOption = Annotated[
    str | None, typer.Option("--split", help="Train on this subset of the saved split.")
]
ClassesOption = Annotated[
    str | None,
    typer.Option("--classes", help="Comma-separated activities to train on (default all)."),
]


def _csv(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return split_csv(text) or None


def _run(config: object, data: Path, out: Path) -> None:
    from mmexpert.data.store_schema import StoreError
    from mmexpert.models.augment import AugmentationError
    from mmexpert.models.inputs import ModelInputError
    from mmexpert.models.registry import UnknownModelError
    from mmexpert.models.text import TextEncoderUnavailableError
    from mmexpert.models.train import TrainingError, train

    if not data.is_dir():
        raise fail(f"dataset folder {data} does not exist")
    try:
        result = train(config, data, out)  # type: ignore[arg-type]
    except (
        TrainingError,
        StoreError,
        ModelInputError,
        UnknownModelError,
        AugmentationError,
        TextEncoderUnavailableError,
        ValueError,
    ) as error:
        raise fail(str(error)) from None
    last = result.history[-1] if result.history else {}
    err_console.print(
        f"epochs {result.epochs_done} (resumed from {result.resumed_from_epoch}), "
        f"last loss {last.get('loss', float('nan')):.4f}, {result.samples_per_s:.1f} samples/s; "
        f"model: {result.model_dir}"
    )


def _require_family(model: str, family: str, label: str) -> None:
    """Refuse a config name that the registry does not list under ``family``."""
    from mmexpert.models.registry import list_models

    if model not in list_models(family):
        raise fail(f"{model} is not a {label} config; choose one of {list_models(family)}")


@train_app.command("clip")
def train_clip(
    data: DataOption,
    out: OutOption,
    model: Annotated[
        str, typer.Option("--model", help="Config name (mmexpert.models.list_models()).")
    ] = "clip-vit-tiny",
    views: ViewsOption = None,
    epochs: EpochsOption = 10,
    batch_size: BatchOption = 32,
    lr: LrOption = 1e-3,
    window: WindowOption = 64,
    seed: SeedOption = 0,
    split: SplitOption = None,
    classes: ClassesOption = None,
    text_train: Annotated[
        str | None,
        typer.Option("--text-train", help="Text tower: frozen, last_n or full (default: config)."),
    ] = None,
    text_layers: Annotated[
        int | None, typer.Option("--text-layers", help="Layers trained with --text-train last_n.")
    ] = None,
    device: DeviceOption = "cpu",
) -> None:
    """Train the radar-text contrastive model (CLIP or SigLIP loss, per the config)."""
    from mmexpert.models.train import TrainConfig

    _require_family(model, "clip", "radar-text")
    config = TrainConfig(
        model=model,
        views=_csv(views),
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=lr,
        window_frames=window,
        seed=seed,
        split=split,
        classes=_csv(classes),
        text_trainable=text_train,
        text_trainable_layers=text_layers,
        device=device,
    )
    _run(config, data, out)


@train_app.command("classifier")
def train_classifier(
    data: DataOption,
    out: OutOption,
    model: Annotated[
        str, typer.Option("--model", help="Config name (mmexpert.models.list_models()).")
    ] = "classifier-vit-tiny",
    views: ViewsOption = None,
    epochs: EpochsOption = 20,
    batch_size: BatchOption = 32,
    lr: LrOption = 1e-3,
    window: WindowOption = 64,
    seed: SeedOption = 0,
    split: SplitOption = None,
    classes: ClassesOption = None,
    augment: Annotated[
        str | None,
        typer.Option(
            "--augment",
            help="Comma-separated augmentations (default: time_warp, doppler_scale, amplitude, "
            "noise, plus point ones with the points view); 'none' for none. Parameters: "
            "NAME:KEY=NUMBER:..., e.g. point_dropout:probability=0.7:rate=0.6.",
        ),
    ] = None,
    device: DeviceOption = "cpu",
) -> None:
    """Train a cross-entropy classifier on synthetic data, with sim-to-real augmentation."""
    from mmexpert.models.train import TrainConfig

    _require_family(model, "classifier", "classifier")
    from mmexpert.models.augment import AugmentationError, parse_augmentation

    augment_specs = None if augment is None else ()
    if augment not in (None, "none"):
        try:
            augment_specs = tuple(parse_augmentation(item) for item in _csv(augment) or ())
        except AugmentationError as error:
            raise fail(str(error)) from None
    config = TrainConfig(
        model=model,
        views=_csv(views),
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=lr,
        window_frames=window,
        seed=seed,
        split=split,
        classes=_csv(classes),
        augment=augment_specs,
        device=device,
    )
    _run(config, data, out)


ModelsOption = Annotated[
    list[Path],
    typer.Option(
        "--model",
        help="Saved model folder (out/model); several times: their ensemble (mean class "
        "probabilities).",
    ),
]


def predict_command(
    model: ModelsOption,
    data: Annotated[
        Path, typer.Option("--data", help="Dataset store folder or a products .npz file.")
    ],
    classes: ClassesOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    device: DeviceOption = "cpu",
) -> None:
    """Predict activities; CLIP models score --classes (text), classifiers their class list."""
    from mmexpert.data.products import ProductsFileError
    from mmexpert.data.store_schema import StoreError
    from mmexpert.models.io import ModelFileError
    from mmexpert.models.predict import PredictionError, predict

    try:
        rows = predict(model, data, _csv(classes), device=device)
    except (ModelFileError, PredictionError, ProductsFileError, StoreError) as error:
        raise fail(str(error)) from None
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    table = Table("sample", "prediction", "score", "stored activity")
    for row in rows:
        table.add_row(
            row["sample_id"],
            row["prediction"],
            f"{row['scores'][row['prediction']]:.3f}",
            str(row["activity"]),
        )
    console.print(table)
    labelled = [row for row in rows if row["activity"] in row["scores"]]
    if labelled:
        hits = sum(row["prediction"] == row["activity"] for row in labelled)
        console.print(f"accuracy {hits}/{len(labelled)} = {hits / len(labelled):.3f}")


def stress_command(
    model: ModelsOption,
    data: DataOption,
    split: Annotated[
        str | None, typer.Option("--split", help="Subset of the saved split (e.g. test).")
    ] = "test",
    seed: SeedOption = 0,
    repeats: Annotated[
        int, typer.Option("--repeats", min=1, help="Draws of each perturbing condition.")
    ] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    device: DeviceOption = "cpu",
    adapt: AdaptOption = "none",
    condition: Annotated[
        list[str] | None,
        typer.Option(
            "--condition",
            help="Score only under this condition, a name of the stress test or of "
            "`mmexpert feature-shift` (e.g. its closest gap); repeatable.",
        ),
    ] = None,
) -> None:
    """Held-out synthetic accuracy under real-like changes (elevation error, dropped points,
    slower people): compare models for real radar without real labels."""
    from mmexpert.data.store_schema import StoreError
    from mmexpert.eval.feature_shift import SHIFT_CONDITIONS
    from mmexpert.eval.stress import STRESS_CONDITIONS, stress_test
    from mmexpert.models.io import ModelFileError
    from mmexpert.models.predict import (
        PredictionError,
        evaluate_ensemble,
        load_inputs,
        load_models,
        member_views,
    )

    conditions = STRESS_CONDITIONS
    if condition:
        known = {**STRESS_CONDITIONS, **SHIFT_CONDITIONS}  # shared names are the same change
        unknown = [name for name in condition if name not in known]
        if unknown:
            raise fail(f"unknown --condition {unknown}; choose among {sorted(known)}")
        conditions = {name: known[name] for name in condition}
    try:
        members = load_models(model, device)
        raws = load_inputs(data, member_views(members), split)
        names = sorted({str(raw["activity"]) for raw in raws if raw.get("activity")})
        # names: CLIP only; adapt aligns each condition's clips together
        evaluate = partial(evaluate_ensemble, members, class_names=names, adapt=adapt)
        report = stress_test(evaluate, raws, conditions, seed=seed, repeats=repeats)
    except (ModelFileError, PredictionError, StoreError, ValueError) as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps({**report.to_json(), "adapt": adapt}))
        return
    title = f"stress test, {report.count} clips, {report.repeats} draws per condition"
    if len(members) > 1:
        title += f", ensemble of {len(members)} models"
    if adapt != "none":
        title += f", features aligned ({adapt})"
    table = Table("condition", "accuracy", "± std over draws", "macro-F1", title=title)
    for name, accuracy in report.accuracy.items():
        table.add_row(
            name, f"{accuracy:.3f}", f"{report.spread[name]:.3f}", f"{report.macro_f1[name]:.3f}"
        )
    table.add_row("mean", f"{report.mean_accuracy:.3f}", "", "", style="bold")
    console.print(table)


standalone_app = typer.Typer(
    name="mmexpert-models",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
standalone_app.add_typer(train_app, name="train")
standalone_app.command("predict")(predict_command)
standalone_app.command("stress")(stress_command)

if __name__ == "__main__":
    standalone_app()
