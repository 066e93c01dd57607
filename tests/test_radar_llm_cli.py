"""`train-llm`, `caption` and `ask` through the command line (tiny base, a 4-sample store)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")
from typer.testing import CliRunner

from mmexpert.cli_llm_models import standalone_app

CAPTIONS = ["a man walks", "a woman waves", "a child jumps", "a man sits"]


def flat(text: str) -> str:
    """Rich wraps error lines at the terminal width; compare with single spaces."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mmexpert.data.store import DatasetStore
    from mmexpert.data.store_schema import Sample, radar_schema, sample_key

    root = tmp_path_factory.mktemp("llm_cli") / "store"
    store = DatasetStore.create(root, radar_schema())
    bins = {"micro_doppler": 128, "range_time": 256, "azimuth_time": 128}
    for index, text in enumerate(CAPTIONS):
        rng = np.random.default_rng(index)
        arrays = {
            v: (-60 + rng.standard_normal((b, 24))).astype(np.float32) for v, b in bins.items()
        }
        qa = [{"kind": "category", "question": "What is it?", "answer": text.split()[-1]}]
        metadata = {"activity": text.split()[-1], "captions": [text], "qa": qa}
        store.put(Sample(sample_key("cli", index), arrays, metadata))
    store.close()
    return root


def test_train_caption_ask_round_trip(store_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "model"
    result = runner.invoke(
        standalone_app,
        [
            "train-llm",
            "--data",
            str(store_dir),
            "--out",
            str(out),
            "--stage",
            "2",
            "--steps",
            "3",
            "--split",
            "all",
            "--window",
            "16",
            "--threads",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["steps"] == 3 and report["samples"] == 4 and report["examples"] == 8
    from mmexpert.data.store import DatasetStore

    with DatasetStore.open(store_dir) as store:
        sample_id = store.ids()[0]
    target = f"{store_dir}:{sample_id}"
    captioned = runner.invoke(standalone_app, ["caption", "--model", str(out), target])
    assert captioned.exit_code == 0, captioned.output
    asked = runner.invoke(standalone_app, ["ask", "--model", str(out), target, "What is it?"])
    assert asked.exit_code == 0, asked.output


def test_clear_errors(store_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    missing_split = runner.invoke(
        standalone_app,
        ["train-llm", "--data", str(store_dir), "--out", str(tmp_path / "m"), "--steps", "1"],
    )
    assert missing_split.exit_code == 2
    assert "has no split" in flat(missing_split.output) and "--split all" in flat(
        missing_split.output
    )
    bad_view = runner.invoke(
        standalone_app,
        ["train-llm", "--data", str(store_dir), "--out", str(tmp_path / "m"), "--views", "sonar"],
    )
    assert bad_view.exit_code == 2 and "unknown views" in flat(bad_view.output)
    no_model = runner.invoke(standalone_app, ["caption", "--model", str(tmp_path), "x.npz"])
    assert no_model.exit_code == 2 and "not a saved radar LLM" in flat(no_model.output)


def test_train_on_a_trained_radar_tower(store_dir: Path, tmp_path: Path) -> None:
    """--radar-model: a saved classifier's radar tower is the frozen encoder; its views and
    window replace --views/--window, and the tower is referenced, not copied."""
    import torch

    from mmexpert.models.encoders import EncoderConfig
    from mmexpert.models.io import InputSettings, save_model
    from mmexpert.models.models import ClassifierConfig, build_model

    tower = EncoderConfig(
        kind="vit",
        views=("micro_doppler",),
        width=32,
        depth=1,
        heads=4,
        freq_patches=8,
        time_patch=4,
        view_bins=(("micro_doppler", 128),),
    )
    torch.manual_seed(0)
    classifier = build_model(ClassifierConfig(encoder=tower, num_classes=4))
    inputs = InputSettings(
        views=("micro_doppler",), window_frames=16, dynamic_range_db=40.0, max_points=32
    )
    save_model(classifier, ["walks", "waves", "jumps", "sits"], inputs, tmp_path / "tower")
    runner = CliRunner()
    out = tmp_path / "model"
    args = ["train-llm", "--data", str(store_dir), "--out", str(out), "--split", "all"]
    args += ["--radar-model", str(tmp_path / "tower"), "--steps", "2", "--threads", "1"]
    result = runner.invoke(standalone_app, [*args, "--radar-noise", "0.5"])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["radar_model"] == str((tmp_path / "tower").resolve())
    assert config["encoder"]["views"] == ["micro_doppler"]
    assert config["encoder"]["window_frames"] == 16 and config["radar_noise"] == 0.5
    assert not (out / "encoder.pt").exists()
    from mmexpert.data.store import DatasetStore

    with DatasetStore.open(store_dir) as store:
        first_id = store.ids()[0]
    captioned = runner.invoke(
        standalone_app, ["caption", "--model", str(out), f"{store_dir}:{first_id}"]
    )
    assert captioned.exit_code == 0, captioned.output
    if not torch.cuda.is_available():
        on_gpu = runner.invoke(standalone_app, [*args, "--device", "cuda", "--fresh"])
        assert on_gpu.exit_code == 2 and "sees no CUDA GPU" in flat(on_gpu.output)
