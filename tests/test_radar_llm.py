"""Radar LLM: placeholder expansion, answer-only labels, LoRA-only training, overfitting,
save/load, store training with resume, and bad inputs. A tiny Llama built from a config."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft", reason="the radar LLM needs peft")
pytest.importorskip("transformers")

from mmexpert.models.radar_llm import (  # noqa: E402
    CAPTION_PROMPT,
    IGNORE_INDEX,
    RadarLLMConfig,
    RadarLLMError,
    ask,
    build_radar_llm,
    caption,
    load_radar_llm,
    prepare_radar,
)
from mmexpert.models.radar_llm_encoder import MapPatchEncoderConfig  # noqa: E402
from mmexpert.models.radar_llm_train import (  # noqa: E402
    RadarTextData,
    load_radar_text_data,
    train_radar_llm,
)

warnings.filterwarnings("ignore", message=".*repetition_penalty.*")

CAPTIONS = [
    "a man walks toward the radar",
    "a woman waves her right hand",
    "a child jumps twice in place",
    "an old man sits down slowly",
]
QA = [
    {"kind": "category", "question": "What activity is it?", "answer": answer}
    for answer in ("walking", "waving", "jumping", "sitting")
]
ENCODER = MapPatchEncoderConfig(
    views=("micro_doppler", "range_time"),
    bins=(32, 24),
    window_frames=16,
    pooled_bins=8,
    patch_frames=4,
    token_dim=32,
)
TOKENS = 8  # 2 views x 16 / 4 patches
# LoRA on the input embeddings and the output head as well: the random tiny LM has no language.
TINY_TARGETS = ("q_proj", "v_proj", "embed_tokens", "lm_head")


def small_config(**overrides: object) -> RadarLLMConfig:
    values: dict[str, object] = {
        "encoder": ENCODER,
        "projector_hidden": 64,
        "lora_r": 16,
        "lora_alpha": 32,
        "lora_target_modules": TINY_TARGETS,
        "learning_rate": 1e-2,
        "cpu_threads": 1,
        "batch_size": 4,
        "log_every": 10,
        "checkpoint_every": 20,
        "tiny_vocab_size": 300,
        "split": None,
    }
    values.update(overrides)
    return RadarLLMConfig(**values)  # type: ignore[arg-type]


def maps_db(index: int, frames: int = 16) -> dict[str, np.ndarray]:
    """Distinct dB maps per sample: a bright ridge at a sample-specific bin."""
    rng = np.random.default_rng(index)
    out = {}
    for view, bins in zip(ENCODER.views, ENCODER.bins, strict=True):
        base = -60.0 + 3.0 * rng.standard_normal((bins, frames))
        base[(5 * index + 3) % bins, :] = 0.0
        base[:, (3 * index) % frames] += 20.0
        out[view] = base.astype(np.float32)
    return out


def memory_data() -> RadarTextData:
    config = small_config()
    prepared = [prepare_radar(config, maps_db(i)) for i in range(4)]
    radar = {key: torch.cat([p[key] for p in prepared]) for key in (*ENCODER.views, "mask")}
    return RadarTextData(
        radar, [[c] for c in CAPTIONS], [[pair] for pair in QA], [f"s{i}" for i in range(4)]
    )


@pytest.fixture(scope="module")
def model():
    return build_radar_llm(small_config(), texts=CAPTIONS)


def test_placeholder_expands_to_radar_embeddings_at_its_position(model) -> None:
    prompts = [model.prompt_ids(CAPTION_PROMPT), model.prompt_ids("What activity is it?")]
    answers = [model.answer_ids(CAPTIONS[0]), model.answer_ids("waving")]
    radar_embeds = torch.randn(2, TOKENS, model.lm_dim)
    merged = model.merge_inputs(prompts, radar_embeds, answers)
    for row in range(2):
        place = prompts[row].index(model.radar_token_id)
        assert int(merged.radar_start[row]) == place
        got = merged.inputs_embeds[row, place : place + TOKENS]
        torch.testing.assert_close(got, radar_embeds[row])
        # The text after the placeholder is shifted by TOKENS - 1 positions.
        embedding = model.language_model.get_input_embeddings()
        next_id = torch.tensor([prompts[row][place + 1]])
        torch.testing.assert_close(merged.inputs_embeds[row, place + TOKENS], embedding(next_id)[0])
        length = len(prompts[row]) + TOKENS - 1 + len(answers[row])
        assert int(merged.attention_mask[row].sum()) == length
    # Left padding (generation): the rows end at the same column.
    left = model.merge_inputs(prompts, radar_embeds, padding_side="left")
    assert left.attention_mask[:, -1].all()
    assert left.labels is None


def test_labels_mask_everything_but_answers(model) -> None:
    prompt = model.prompt_ids(CAPTION_PROMPT)
    answer = model.answer_ids(CAPTIONS[1])
    merged = model.merge_inputs([prompt], torch.zeros(1, TOKENS, model.lm_dim), [answer])
    labels = merged.labels[0]
    context = len(prompt) + TOKENS - 1
    assert (labels[:context] == IGNORE_INDEX).all()
    assert labels[context : context + len(answer)].tolist() == answer
    assert answer[-1] == model.tokenizer.eos_token_id
    assert model.tokenizer.decode(answer[:-1]).strip() == CAPTIONS[1]


def test_only_projector_and_lora_are_trainable(model) -> None:
    names = model.trainable_parameter_names()
    assert names
    for name in names:
        assert name.startswith("projector.") or ".lora_" in name, name
    assert any(name.startswith("projector.") for name in names)
    assert any(".lora_A." in name for name in names)
    assert any(".lora_embedding_A." in name for name in names)
    assert not any(p.requires_grad for p in model.encoder.parameters())
    base = model.language_model.get_base_model()
    frozen = [n for n, p in base.named_parameters() if "lora_" not in n]
    assert frozen and not any(dict(base.named_parameters())[n].requires_grad for n in frozen)


def test_overfits_four_samples_then_save_load_round_trip(tmp_path: Path) -> None:
    config = small_config(steps=60, stage=1)
    report = train_radar_llm(
        config, store_dir="unused", out_dir=tmp_path / "run", data=memory_data()
    )
    # Answer loss (nats per token) falls at least 20x from the first 10 steps to the last 10.
    assert report.last_loss < report.first_loss / 20, report
    trained = load_radar_llm(tmp_path / "run")
    generated = caption(trained, maps_db(2))
    assert generated == CAPTIONS[2]
    # Round trip: a second load generates exactly the same text for every sample.
    again = load_radar_llm(tmp_path / "run")
    for index in range(4):
        assert caption(again, maps_db(index)) == caption(trained, maps_db(index))
    assert (tmp_path / "run" / "adapter" / "adapter_config.json").is_file()
    assert (tmp_path / "run" / "checkpoint" / "state.json").is_file()


def test_bad_inputs_raise_clear_errors(model) -> None:
    config = model.config
    no_placeholder = model.tokenizer("Describe the motion.", add_special_tokens=False)["input_ids"]
    with pytest.raises(RadarLLMError, match="0 <radar> placeholders"):
        model.merge_inputs([no_placeholder], torch.zeros(1, TOKENS, model.lm_dim))
    twice = [*model.prompt_ids(CAPTION_PROMPT), model.radar_token_id]
    with pytest.raises(RadarLLMError, match="2 <radar> placeholders"):
        model.merge_inputs([twice], torch.zeros(1, TOKENS, model.lm_dim))
    with pytest.raises(RadarLLMError, match="radar_embeds must be"):
        model.merge_inputs([model.prompt_ids(CAPTION_PROMPT)], torch.zeros(1, TOKENS, 3))
    wrong_bins = maps_db(0)
    wrong_bins["micro_doppler"] = np.zeros((31, 16), np.float32)
    with pytest.raises(RadarLLMError, match=r"must be \[32, frames>0\]"):
        prepare_radar(config, wrong_bins)
    missing = {"micro_doppler": maps_db(0)["micro_doppler"]}
    with pytest.raises(RadarLLMError, match="lacks view 'range_time'"):
        caption(model, missing)
    with pytest.raises(RadarLLMError, match="NaN"):
        prepare_radar(config, {**maps_db(0), "range_time": np.full((24, 16), np.nan)})
    with pytest.raises(RadarLLMError, match="question is empty"):
        ask(model, maps_db(0), "  ")
    with pytest.raises(RadarLLMError, match="stage must be 1 or 2"):
        small_config(stage=3).validate()
    with pytest.raises(RadarLLMError, match="not a saved radar LLM"):
        load_radar_llm("/nonexistent/folder")
    if not torch.cuda.is_available():
        with pytest.raises(RadarLLMError, match="sees no CUDA GPU"):
            build_radar_llm(small_config(device="cuda"), texts=CAPTIONS)


def test_store_training_stage2_and_resume(tmp_path: Path) -> None:
    from mmexpert.data.store import DatasetStore
    from mmexpert.data.store_schema import Sample, radar_schema, sample_key

    store = DatasetStore.create(tmp_path / "store", radar_schema())
    full_bins = {"micro_doppler": 128, "range_time": 256, "azimuth_time": 128}
    for index in range(4):
        rng = np.random.default_rng(index)
        arrays = {
            view: (-60 + rng.standard_normal((bins, 20))).astype(np.float32)
            for view, bins in full_bins.items()
        }
        metadata = {
            "activity": QA[index]["answer"],
            "captions": [CAPTIONS[index]],
            "qa": [QA[index]],
        }
        store.put(Sample(sample_key("llm", index), arrays, metadata))
    ids = store.ids()
    store.save_split("default", {sid: "train" if i < 3 else "test" for i, sid in enumerate(ids)})
    store.close()
    encoder = MapPatchEncoderConfig(
        views=("micro_doppler", "range_time"),
        bins=(128, 256),
        window_frames=16,
        pooled_bins=8,
        patch_frames=4,
        token_dim=32,
    )
    config = small_config(
        encoder=encoder, split="train", stage=2, steps=6, checkpoint_every=3, log_every=3
    )
    data = load_radar_text_data(tmp_path / "store", config, split="train")
    assert len(data) == 3 and data.radar["range_time"].shape == (3, 256, 16)
    assert len(data.examples(2)) == 6 and len(data.examples(1)) == 3
    interrupted = train_radar_llm(
        RadarLLMConfig(**{**config.__dict__, "steps": 3}), tmp_path / "store", tmp_path / "a"
    )
    assert interrupted.steps == 3
    resumed = train_radar_llm(config, tmp_path / "store", tmp_path / "a")
    assert resumed.resumed_from_step == 3 and resumed.steps == 6
    straight = train_radar_llm(config, tmp_path / "store", tmp_path / "b")
    # Resume reproduces the uninterrupted run (seeded batches, saved optimiser state).
    first = load_radar_llm(tmp_path / "a").projector.state_dict()
    second = load_radar_llm(tmp_path / "b").projector.state_dict()
    for key in first:
        torch.testing.assert_close(first[key], second[key], rtol=1e-5, atol=1e-6)
    assert straight.last_loss == pytest.approx(resumed.last_loss, rel=1e-4)
    with pytest.raises(RadarLLMError, match="no samples"):
        load_radar_text_data(tmp_path / "store", config, split="validation")


def test_trained_radar_tower_as_frozen_encoder(tmp_path: Path) -> None:
    """A tower saved in the `mmexpert train classifier` format plugs in as the encoder."""
    from mmexpert.models.encoders import EncoderConfig
    from mmexpert.models.io import InputSettings, save_model
    from mmexpert.models.models import ClassifierConfig, build_model
    from mmexpert.models.radar_llm import config_for_radar_model

    tower_config = EncoderConfig(
        kind="vit",
        views=("micro_doppler", "range_time"),
        width=32,
        depth=1,
        heads=4,
        freq_patches=4,
        time_patch=4,
        view_bins=(("micro_doppler", 32), ("range_time", 24)),
    )
    torch.manual_seed(0)
    classifier = build_model(ClassifierConfig(encoder=tower_config, num_classes=4))
    inputs = InputSettings(
        views=("micro_doppler", "range_time"),
        window_frames=16,
        dynamic_range_db=40.0,
        max_points=32,
    )
    save_model(classifier, ["walking", "waving", "jumping", "sitting"], inputs, tmp_path / "tower")
    config = config_for_radar_model(small_config(steps=4, log_every=2), tmp_path / "tower")
    assert config.encoder.bins == (32, 24) and config.window_frames == 16
    # Frequency pooling: 2 views x 4 time patches, each the mean of its 4 frequency patches.
    from mmexpert.models.radar_llm_encoder import load_trained_radar_encoder

    pooled, _ = load_trained_radar_encoder(tmp_path / "tower")
    every, _ = load_trained_radar_encoder(tmp_path / "tower", pool_frequency=False)
    batch = {k: v[:2] for k, v in memory_data().radar.items()}
    with torch.no_grad():
        all_tokens, few_tokens = every(batch), pooled(batch)
    assert all_tokens.shape == (2, 2 * 4 * 4, 32) and few_tokens.shape == (2, 2 * 4, 32)
    expected = all_tokens.view(2, 2, 4, 4, 32).mean(2).reshape(2, 8, 32)
    torch.testing.assert_close(few_tokens, expected)
    report = train_radar_llm(config, "unused", tmp_path / "llm", data=memory_data())
    assert report.steps == 4 and np.isfinite(report.last_loss)
    trained = load_radar_llm(tmp_path / "llm")
    assert not (tmp_path / "llm" / "encoder.pt").exists()  # the tower stays in its folder
    names = trained.trainable_parameter_names()
    assert not names  # inference load: nothing trainable
    assert not any(p.requires_grad for p in trained.encoder.parameters())
    first = caption(trained, maps_db(1))
    assert first == caption(load_radar_llm(tmp_path / "llm"), maps_db(1))
    mismatched = RadarLLMConfig(**{**config.__dict__, "dynamic_range_db": 30.0})
    with pytest.raises(RadarLLMError, match="trained with inputs"):
        build_radar_llm(mismatched, texts=CAPTIONS)


def test_stage2_starts_from_stage1_and_batched_generation_matches(tmp_path: Path) -> None:
    stage1 = train_radar_llm(small_config(steps=60), "unused", tmp_path / "s1", data=memory_data())
    config2 = small_config(stage=2, steps=40, init_from=str(tmp_path / "s1"))
    stage2 = train_radar_llm(config2, "unused", tmp_path / "s2", data=memory_data())
    # Starting from the stage-1 weights, the caption turns are already learnt: the first
    # stage-2 losses sit well below a fresh start's first losses.
    assert stage2.first_loss < stage1.first_loss / 2, (stage1, stage2)
    model = load_radar_llm(tmp_path / "s2")
    assert ask(model, maps_db(3), QA[3]["question"]) == QA[3]["answer"]
    data = memory_data()
    # Left-padded batched generation gives the same greedy answers as one at a time.
    questions = [CAPTION_PROMPT, QA[1]["question"], CAPTION_PROMPT, QA[0]["question"]]
    batched = model.generate(data.radar, questions)
    single = [
        model.generate({k: v[i : i + 1] for k, v in data.radar.items()}, [q])[0]
        for i, q in enumerate(questions)
    ]
    assert batched == single
    with pytest.raises(RadarLLMError, match="another encoder"):
        other = MapPatchEncoderConfig(**{**ENCODER.to_dict(), "seed": 5})
        train_radar_llm(
            small_config(stage=2, steps=2, encoder=other, init_from=str(tmp_path / "s1")),
            "unused",
            tmp_path / "s3",
            data=memory_data(),
        )


def test_projector_standardises_inputs_and_matches_embedding_scale() -> None:
    """Closed form: after fitting, standardised inputs have per-feature mean 0 and std 1, and
    every projected token has exactly the RMS of the LM's token embeddings (gain 1)."""
    from mmexpert.models.radar_llm import RadarProjector, embedding_rms

    generator = torch.Generator().manual_seed(0)
    # A large shared offset with a small between-sample spread, like frozen map tokens.
    tokens = 5.0 + 0.1 * torch.randn(6, 10, 16, generator=generator)
    projector = RadarProjector(16, 32, 24, output_rms=0.02)
    projector.fit_input_statistics(tokens)
    standard = (tokens - projector.input_mean) / projector.input_std
    flat = standard.reshape(-1, 16)
    torch.testing.assert_close(flat.mean(0), torch.zeros(16), atol=1e-5, rtol=0)
    torch.testing.assert_close(flat.std(0), torch.ones(16), atol=1e-5, rtol=0)
    out = projector(tokens)
    rms = out.pow(2).mean(-1).sqrt()
    torch.testing.assert_close(rms, torch.full_like(rms, 0.02), rtol=1e-4, atol=0)
    weight = torch.full((5, 4), 3.0)
    assert embedding_rms(weight) == pytest.approx(3.0)
    plain = RadarProjector(16, 32, 24, normalize=False)
    assert not any(name.startswith("input_") for name, _ in plain.named_buffers())
    with pytest.raises(RadarLLMError, match=">= 2 tokens"):
        projector.fit_input_statistics(tokens[:1, :1])


def test_projector_scale_set_from_lm_and_statistics_from_training_data(tmp_path: Path) -> None:
    from mmexpert.models.radar_llm import embedding_rms
    from mmexpert.models.radar_llm_train import _encoder_tokens, _optimizer

    config = small_config(steps=2, projector_lr_scale=10.0)
    report = train_radar_llm(config, "unused", tmp_path / "run", data=memory_data())
    assert report.steps == 2
    trained = load_radar_llm(tmp_path / "run")
    base_rms = embedding_rms(trained.language_model.get_input_embeddings().weight)
    assert float(trained.projector.output_rms) == pytest.approx(base_rms, rel=1e-6)
    tokens = _encoder_tokens(trained, memory_data()).reshape(-1, config.encoder.token_dim)
    torch.testing.assert_close(trained.projector.input_mean, tokens.mean(0))
    groups = _optimizer(load_radar_llm(tmp_path / "run", trainable=True), config).param_groups
    assert [group["lr"] for group in groups] == [config.learning_rate, 10 * config.learning_rate]
    with pytest.raises(RadarLLMError, match="projector_lr_scale"):
        small_config(projector_lr_scale=0.0).validate()
    with pytest.raises(RadarLLMError, match="radar_noise"):
        small_config(radar_noise=-1.0).validate()


def test_radar_noise_training_is_seeded(tmp_path: Path) -> None:
    config = small_config(steps=4, radar_noise=0.5, log_every=2)
    first = train_radar_llm(config, "unused", tmp_path / "a", data=memory_data())
    second = train_radar_llm(config, "unused", tmp_path / "b", data=memory_data())
    quiet = train_radar_llm(
        small_config(steps=4, log_every=2), "unused", tmp_path / "c", data=memory_data()
    )
    assert first.last_loss == pytest.approx(second.last_loss, rel=1e-6)
    assert first.last_loss != pytest.approx(quiet.last_loss, rel=1e-6)
