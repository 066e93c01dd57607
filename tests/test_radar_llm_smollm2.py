"""Radar LLM on the real embedded SmolLM2-135M-Instruct weights: forward, a few LoRA steps,
generation, and the chat template. Slow (about 45 s to load the GGUF on this CPU)."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("gguf", reason="loading the SmolLM2 GGUF needs the gguf package")

from mmexpert.models.radar_llm import CAPTION_PROMPT, RadarLLMConfig, ask, caption  # noqa: E402
from mmexpert.models.radar_llm_encoder import MapPatchEncoderConfig  # noqa: E402
from mmexpert.models.radar_llm_train import RadarTextData, train_radar_llm  # noqa: E402

warnings.filterwarnings("ignore", message=".*repetition_penalty.*")


@pytest.mark.slow
def test_smollm2_trains_and_generates(tmp_path: Path) -> None:
    from mmexpert.llm.errors import BackendUnavailableError
    from mmexpert.llm.local import smollm2_gguf_path

    try:
        smollm2_gguf_path()
    except BackendUnavailableError as error:
        pytest.skip(f"SmolLM2 weights absent: {error}")
    encoder = MapPatchEncoderConfig(
        views=("micro_doppler",),
        bins=(32,),
        window_frames=16,
        pooled_bins=8,
        patch_frames=4,
        token_dim=32,
    )
    config = RadarLLMConfig(
        base="smollm2",
        encoder=encoder,
        steps=4,
        batch_size=2,
        learning_rate=1e-3,
        log_every=2,
        checkpoint_every=100,
        split=None,
        cpu_threads=1,
        max_new_tokens=12,
    )
    rng = np.random.default_rng(0)
    radar = {"micro_doppler": torch.from_numpy(rng.random((2, 32, 16), dtype=np.float32))}
    captions = [["A man walks toward the radar."], ["A woman waves her right hand."]]
    data = RadarTextData(radar, captions, [[], []], ["a", "b"])
    started = time.perf_counter()
    report = train_radar_llm(config, "unused", tmp_path / "smol", data=data)
    total_s = time.perf_counter() - started
    assert np.isfinite(report.first_loss) and np.isfinite(report.last_loss)
    print(f"SmolLM2 radar LLM: load+train {total_s:.1f} s, {report.steps_per_s:.2f} steps/s")
    from mmexpert.models.radar_llm import load_radar_llm

    model = load_radar_llm(tmp_path / "smol")
    assert model.lm_dim == 576
    prompt = model.format_prompt(CAPTION_PROMPT)
    assert "<|im_start|>assistant" in prompt  # SmolLM2's chat template is used
    maps = {"micro_doppler": rng.normal(-60, 3, (32, 30)).astype(np.float32)}
    text = caption(model, maps)
    assert isinstance(text, str) and len(text) > 0
    assert "<radar>" not in text and "<|im_end|>" not in text
    answer = ask(model, maps, "Is the person moving?")
    assert isinstance(answer, str) and len(answer) > 0
