"""Radar-conditioned LLM (LLaVA-style) for captions and question answering.

A frozen radar encoder turns the map windows into tokens ``[batch, radar_tokens, enc_dim]``; a
two-layer MLP projector maps them into the embedding space of a Hugging Face causal LM; the
prompt holds one placeholder token ``<radar>`` that is replaced by the projected radar tokens in
the input embeddings. Only the answer tokens carry a loss (labels ``-100`` elsewhere). The LM is
adapted with LoRA (``peft``); the projector and the LoRA matrices are the only trained weights.

The projector standardises the frozen encoder's tokens with training-set statistics and emits
tokens at the RMS of the LM's word embeddings (:class:`RadarProjector`), so the radar enters
the LM at a known scale whatever the encoder and the LM. Whether a trained model reads the
radar is measured, not assumed: ``bench/bench_captions.py`` captions every test sample twice,
with its own radar and with the radar of a sample of another activity, and reports both.

* Stage 1 trains on captions (prompt ``"Describe the motion."``).
* Stage 2 trains on captions and the QA pairs of each sample; start it from a stage-1 model
  with ``RadarLLMConfig(init_from=...)``. Unlike LLaVA's stage 1, LoRA is trained in both
  stages (a tiny random LM has no language to keep frozen).

The LM's chat template is used when it has one; otherwise ``"<radar>\\nQuestion: ...\\nAnswer:"``.

Public API: :class:`RadarLLMConfig`, :class:`RadarLLM`, :func:`build_radar_llm`,
:func:`load_radar_llm`, :func:`prepare_radar`, :func:`caption`, :func:`ask`, and
:func:`mmexpert.models.radar_llm_train.train_radar_llm`.

Reference: Liu et al., "Visual Instruction Tuning" (LLaVA), NeurIPS 2023; Hu et al., "LoRA",
ICLR 2022.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mmexpert.data.loaders import crop_or_pad_time
from mmexpert.models.radar_llm_encoder import (
    MapPatchEncoder,
    MapPatchEncoderConfig,
    RadarEncoderError,
    RadarTokenEncoder,
    load_trained_radar_encoder,
)
from mmexpert.models.radar_llm_lm import (
    RADAR_TOKEN,
    TINY_BASE,
    RadarLLMError,
    load_base_lm,
    tiny_llama,
    train_tiny_tokenizer,
)

CAPTION_PROMPT = "Describe the motion."
TINY_LORA_TARGETS = ("q_proj", "v_proj", "embed_tokens", "lm_head")
IGNORE_INDEX = -100  # label value ignored by the cross-entropy
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
DEFAULT_DYNAMIC_RANGE_DB = 40.0  # floor = peak - 40 dB, as in mmexpert.models.inputs

__all__ = [
    "CAPTION_PROMPT",
    "RADAR_TOKEN",
    "RadarLLM",
    "RadarLLMConfig",
    "RadarLLMError",
    "ask",
    "build_radar_llm",
    "caption",
    "config_for_radar_model",
    "load_radar_llm",
    "prepare_radar",
]


@dataclass(frozen=True)
class RadarLLMConfig:
    """Everything that defines a radar LLM and its training run (saved as ``config.json``)."""

    base: str = TINY_BASE  # "tiny", "smollm2", or a local Hugging Face id / folder
    # Folder of a model trained by `mmexpert train clip|classifier`: its radar tower is the
    # frozen encoder (referenced, not copied). None: the built-in MapPatchEncoder.
    radar_model: str | None = None
    # With a ViT radar_model: average its frequency patches (views x time tokens, see
    # load_trained_radar_encoder); False feeds all views x freq x time tokens.
    pool_tower_frequency: bool = True
    stage: int = 1  # 1: captions; 2: captions + QA
    dtype: str = "float32"  # LM weights: "bfloat16" or "float16" for large models on a GPU
    encoder: MapPatchEncoderConfig = field(default_factory=MapPatchEncoderConfig)
    dynamic_range_db: float = DEFAULT_DYNAMIC_RANGE_DB  # map normalisation floor below peak [dB]
    projector_hidden: int = 256  # hidden width of the 2-layer MLP projector
    lora_r: int = 8  # LoRA rank
    lora_alpha: int = 16  # LoRA scale numerator (scale = alpha / r)
    lora_dropout: float = 0.0  # dropout on the LoRA path
    # None: peft's default for the model (q_proj, v_proj for Llama/Qwen); for the tiny base
    # TINY_LORA_TARGETS, since a random LM also needs to adapt its embeddings and output head.
    lora_target_modules: tuple[str, ...] | None = None
    steps: int = 200  # optimiser steps of this stage
    batch_size: int = 4  # examples per step
    learning_rate: float = 1e-3  # AdamW learning rate of the LoRA matrices
    # Projector learning rate = learning_rate * projector_lr_scale. The projector is new and
    # must move far; LoRA only nudges a working LM (LLaVA trains the projector alone first).
    projector_lr_scale: float = 1.0
    # Standardise encoder tokens with training statistics and scale projected tokens to the
    # LM's embedding RMS (see RadarProjector). False: the plain LLaVA MLP.
    normalize_projector: bool = True
    # Training-time augmentation of the cached encoder tokens: Gaussian noise of this many
    # standard deviations of each feature, so the LM cannot memorise a training sample by
    # its exact radar tokens (54 samples are memorised in a few hundred steps otherwise).
    radar_noise: float = 0.0
    weight_decay: float = 0.0  # AdamW weight decay
    seed: int = 0  # seeds weights, batch order and dropout
    device: str = "cpu"  # "cpu" or "cuda"
    checkpoint_every: int = 50  # steps between resumable checkpoints
    log_every: int = 10  # steps between progress reports
    split: str | None = "train"  # subset of a saved store split, or None for every sample
    split_name: str = "default"  # which saved split
    max_new_tokens: int = 48  # generation length limit [tokens]
    repetition_penalty: float = 1.1  # > 1 discourages loops; greedy decoding otherwise
    tiny_vocab_size: int = 512  # BPE vocabulary of the tiny base
    tiny_hidden_size: int = 64  # width of the tiny base
    tiny_layers: int = 2  # layers of the tiny base
    init_from: str | None = None  # a saved radar LLM to start from (stage 2 after stage 1)
    # torch CPU threads while training (restored afterwards); None keeps torch's setting. On a
    # busy 2-core box one thread ran the tiny model 13x faster (24 vs 1.8 steps/s).
    cpu_threads: int | None = None

    @property
    def views(self) -> tuple[str, ...]:
        return tuple(self.encoder.views)

    @property
    def window_frames(self) -> int:
        return self.encoder.window_frames

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["encoder"] = self.encoder.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RadarLLMConfig:
        values = dict(data)
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise RadarLLMError(f"unknown radar LLM config keys {sorted(unknown)}")
        if "encoder" in values:
            values["encoder"] = MapPatchEncoderConfig.from_dict(values["encoder"])
        if values.get("lora_target_modules") is not None:
            values["lora_target_modules"] = tuple(values["lora_target_modules"])
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise :class:`RadarLLMError` on impossible values."""
        if self.stage not in (1, 2):
            raise RadarLLMError(f"stage must be 1 or 2, got {self.stage}")
        for name in ("steps", "batch_size", "lora_r", "projector_hidden", "max_new_tokens"):
            if getattr(self, name) <= 0:
                raise RadarLLMError(f"{name} must be positive, got {getattr(self, name)}")
        if self.dtype not in _DTYPES:
            raise RadarLLMError(f"dtype must be one of {sorted(_DTYPES)}, got {self.dtype!r}")
        if self.device not in ("cpu", "cuda") and not self.device.startswith("cuda:"):
            raise RadarLLMError(f"device must be 'cpu' or 'cuda', got {self.device!r}")
        if not self.projector_lr_scale > 0:
            raise RadarLLMError(f"projector_lr_scale must be > 0, got {self.projector_lr_scale}")
        if not self.radar_noise >= 0:
            raise RadarLLMError(f"radar_noise must be >= 0, got {self.radar_noise}")


class RadarProjector(nn.Module):
    """Two-layer MLP: [batch, tokens, enc_dim] -> [batch, tokens, lm_dim] (LLaVA-1.5), with
    optional normalisation on both sides.

    With ``normalize=True``:

    * input: each encoder feature is standardised with the mean and standard deviation of the
      training tokens (:meth:`fit_input_statistics`). Frozen radar tokens share a large common
      part (the average map, position codes): on the caption benchmark the per-feature mean is
      twice the between-sample spread, so an unnormalised MLP starts nearly blind to what tells
      samples apart.
    * output: each projected token is RMS-normalised and scaled to ``output_rms``, the RMS of
      the LM's token embeddings, times a learnt per-channel gain (initially 1). Radar tokens
      then enter the LM at the scale of word embeddings instead of an arbitrary one. Measured
      on the caption benchmark's map tokens: a fresh plain MLP emits 4.8x the embedding RMS
      of the random tiny Llama (770x after training) and 0.7x SmolLM2's (2.1x after).

    The statistics are buffers, saved with the weights.

    Parameters
    ----------
    encoder_dim, hidden_dim, lm_dim
        Widths of the encoder tokens, the hidden layer and the LM embeddings.
    output_rms
        Target RMS of the projected tokens (the LM's embedding RMS).
    normalize
        False: the plain LLaVA MLP (kept to reproduce the old behaviour in ablations).
    """

    def __init__(
        self,
        encoder_dim: int,
        hidden_dim: int,
        lm_dim: int,
        output_rms: float = 1.0,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        self.normalize = normalize
        self.layers = nn.Sequential(
            nn.Linear(encoder_dim, hidden_dim), nn.GELU(), nn.Linear(hidden_dim, lm_dim)
        )
        if normalize:
            self.register_buffer("input_mean", torch.zeros(encoder_dim))
            self.register_buffer("input_std", torch.ones(encoder_dim))
            self.register_buffer("output_rms", torch.tensor(float(output_rms)))
            self.gain = nn.Parameter(torch.ones(lm_dim))

    @torch.no_grad()
    def fit_input_statistics(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        """Set the input standardisation from training tokens.

        Parameters
        ----------
        tokens
            float [samples, tokens, enc_dim], the frozen encoder's output on the training set.
        mask
            Optional bool [samples, tokens]: False on tokens to leave out (padding).
        """
        if not self.normalize:
            return
        flat = tokens.reshape(-1, tokens.shape[-1]).float()
        if mask is not None:
            flat = flat[mask.reshape(-1)]
        if flat.shape[0] < 2:
            raise RadarLLMError("fitting the projector's input statistics needs >= 2 tokens")
        std = flat.std(0)
        floor = 1e-3 * float(std.max()) + 1e-12  # constant features stay ~0, not blown up
        self.input_mean.copy_(flat.mean(0).to(self.input_mean))
        self.input_std.copy_(std.clamp_min(floor).to(self.input_std))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if not self.normalize:
            return self.layers(tokens)
        hidden = self.layers((tokens - self.input_mean) / self.input_std)
        rms = hidden.pow(2).mean(-1, keepdim=True).add(1e-6).rsqrt()
        return hidden * rms * self.output_rms * self.gain


@dataclass
class MergedInputs:
    """LM inputs after placeholder expansion (all on the model's device).

    ``inputs_embeds`` float [batch, length, lm_dim]; ``attention_mask`` int64 [batch, length];
    ``labels`` int64 [batch, length] or None; ``radar_start`` int64 [batch]: index of the first
    radar embedding in each row.
    """

    inputs_embeds: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor | None
    radar_start: torch.Tensor


class RadarLLM(nn.Module):
    """Frozen radar encoder + trainable projector + LoRA-adapted causal LM.

    Parameters
    ----------
    config
        The model configuration.
    encoder
        Frozen radar encoder (:class:`RadarTokenEncoder` contract).
    language_model
        A ``peft.PeftModel`` around a Hugging Face causal LM.
    tokenizer
        Its tokenizer, holding the added ``<radar>`` special token.
    projector
        Optional pre-built projector (else a fresh seeded one).
    """

    def __init__(
        self,
        config: RadarLLMConfig,
        encoder: RadarTokenEncoder,
        language_model: Any,
        tokenizer: Any,
        projector: RadarProjector | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(False)
        self.encoder.eval()
        self.language_model = language_model
        self.tokenizer = tokenizer
        self.radar_token_id = _radar_token_id(tokenizer)
        embeddings = language_model.get_input_embeddings()
        self.lm_dim = int(embeddings.weight.shape[1])
        self.vocab_rows = int(embeddings.weight.shape[0])
        if projector is None:
            with torch.random.fork_rng():
                torch.manual_seed(config.seed)
                projector = RadarProjector(
                    encoder.token_dim,
                    config.projector_hidden,
                    self.lm_dim,
                    output_rms=embedding_rms(embeddings.weight),
                    normalize=config.normalize_projector,
                )
        self.projector = projector.to(embeddings.weight.device, embeddings.weight.dtype)
        self.eos_token_ids = _stop_token_ids(tokenizer)

    # -- prompts ----------------------------------------------------------------------------
    def format_prompt(self, question: str) -> str:
        """The prompt text, with one ``<radar>`` placeholder, ending where the answer starts."""
        user = f"{RADAR_TOKEN}\n{question.strip()}"
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True
            )
        return f"{user}\nAnswer:"

    def prompt_ids(self, question: str) -> list[int]:
        """Token ids of :meth:`format_prompt` (BOS first when the tokenizer has one and the
        chat template does not add it)."""
        text = self.format_prompt(question)
        ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        bos = self.tokenizer.bos_token_id
        if bos is not None and (not ids or ids[0] != bos) and not self._has_template:
            ids = [bos, *ids]
        return ids

    def answer_ids(self, answer: str) -> list[int]:
        """Token ids of the answer, closed by the end-of-turn / EOS token."""
        text = answer.strip() if self._has_template else " " + answer.strip()
        ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        return [*ids, self.eos_token_ids[0]]

    @property
    def _has_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    # -- radar ------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.projector.layers[0].weight.device

    def encode_radar(self, radar: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Radar windows -> projected tokens.

        Parameters
        ----------
        radar
            ``{view: float32 [batch, bins, window_frames]}``, normalised (see
            :func:`prepare_radar`).

        Returns
        -------
        torch.Tensor
            [batch, radar_tokens, lm_dim] in the LM's dtype.
        """
        with torch.no_grad():
            tokens = self.encoder({k: v.to(self.device) for k, v in radar.items()})
        return self.projector(tokens.to(self.projector.layers[0].weight.dtype))

    def project_tokens(self, encoder_tokens: torch.Tensor) -> torch.Tensor:
        """Projector only, for cached frozen-encoder outputs [batch, tokens, enc_dim]."""
        return self.projector(encoder_tokens.to(self.device, self.projector.layers[0].weight.dtype))

    # -- placeholder expansion --------------------------------------------------------------
    def merge_inputs(
        self,
        prompt_ids: Sequence[Sequence[int]],
        radar_embeds: torch.Tensor,
        answer_ids: Sequence[Sequence[int]] | None = None,
        padding_side: str = "right",
    ) -> MergedInputs:
        """Expand each prompt's single ``<radar>`` token into the radar embeddings.

        Parameters
        ----------
        prompt_ids
            Per row, the prompt token ids (exactly one ``<radar>`` each).
        radar_embeds
            float [batch, radar_tokens, lm_dim].
        answer_ids
            Per row, the answer token ids appended after the prompt (training), or None.
        padding_side
            ``"right"`` for training, ``"left"`` for generation.

        Returns
        -------
        MergedInputs
            Row length = prompt + radar_tokens - 1 + answer, padded to the longest row; labels
            are the answer ids and ``-100`` on the prompt, the radar tokens and padding.

        Raises
        ------
        RadarLLMError
            If a prompt has no placeholder or more than one, or the batch sizes differ.
        """
        if radar_embeds.ndim != 3 or radar_embeds.shape[-1] != self.lm_dim:
            raise RadarLLMError(
                f"radar_embeds must be [batch, tokens, {self.lm_dim}], got "
                f"{tuple(radar_embeds.shape)}"
            )
        if len(prompt_ids) != radar_embeds.shape[0]:
            raise RadarLLMError(
                f"{len(prompt_ids)} prompts but {radar_embeds.shape[0]} radar inputs"
            )
        if answer_ids is not None and len(answer_ids) != len(prompt_ids):
            raise RadarLLMError(f"{len(prompt_ids)} prompts but {len(answer_ids)} answers")
        embedding = self.language_model.get_input_embeddings()
        pad_id = self.tokenizer.pad_token_id
        pad_id = 0 if pad_id is None or pad_id >= self.vocab_rows else pad_id
        rows, label_rows, starts = [], [], []
        for row, ids in enumerate(prompt_ids):
            ids = list(ids)
            places = [i for i, token in enumerate(ids) if token == self.radar_token_id]
            if len(places) != 1:
                raise RadarLLMError(
                    f"prompt {row} holds {len(places)} {RADAR_TOKEN} placeholders; exactly one "
                    "is needed (format prompts with RadarLLM.format_prompt)"
                )
            answer = list(answer_ids[row]) if answer_ids is not None else []
            if self.radar_token_id in answer:
                raise RadarLLMError(f"answer {row} holds the {RADAR_TOKEN} placeholder")
            place = places[0]
            before = torch.tensor(ids[:place], dtype=torch.long, device=self.device)
            after = torch.tensor(ids[place + 1 :] + answer, dtype=torch.long, device=self.device)
            text_before = embedding(before)  # (place, d)
            text_after = embedding(after)  # (rest, d)
            rows.append(torch.cat([text_before, radar_embeds[row], text_after], dim=0))
            radar_count = radar_embeds.shape[1]
            ignored = place + radar_count + len(ids) - place - 1
            label_rows.append([IGNORE_INDEX] * ignored + answer)
            starts.append(place)
        length = max(row.shape[0] for row in rows)
        batch = len(rows)
        dtype = rows[0].dtype
        inputs = torch.zeros(batch, length, self.lm_dim, dtype=dtype, device=self.device)
        pad_embedding = embedding(torch.tensor([pad_id], device=self.device))[0]
        inputs[:] = pad_embedding.detach()
        mask = torch.zeros(batch, length, dtype=torch.long, device=self.device)
        labels = torch.full((batch, length), IGNORE_INDEX, dtype=torch.long, device=self.device)
        radar_start = torch.zeros(batch, dtype=torch.long)
        for index, row in enumerate(rows):
            offset = length - row.shape[0] if padding_side == "left" else 0
            inputs[index, offset : offset + row.shape[0]] = row
            mask[index, offset : offset + row.shape[0]] = 1
            labels[index, offset : offset + row.shape[0]] = torch.tensor(label_rows[index])
            radar_start[index] = offset + starts[index]
        return MergedInputs(inputs, mask, labels if answer_ids is not None else None, radar_start)

    # -- training and generation ------------------------------------------------------------
    def loss(
        self,
        radar_embeds: torch.Tensor,
        questions: Sequence[str],
        answers: Sequence[str],
    ) -> dict[str, torch.Tensor]:
        """Answer-only cross-entropy.

        Returns
        -------
        dict
            ``{"answer_loss": scalar tensor, "answer_tokens": int64 scalar}``.
        """
        merged = self.merge_inputs(
            [self.prompt_ids(q) for q in questions],
            radar_embeds,
            [self.answer_ids(a) for a in answers],
        )
        output = self.language_model(
            inputs_embeds=merged.inputs_embeds,
            attention_mask=merged.attention_mask,
            labels=merged.labels,
        )
        assert merged.labels is not None
        return {
            "answer_loss": output.loss,
            "answer_tokens": (merged.labels != IGNORE_INDEX).sum(),
        }

    @torch.no_grad()
    def generate(
        self,
        radar: Mapping[str, torch.Tensor],
        questions: Sequence[str],
        max_new_tokens: int | None = None,
        repetition_penalty: float | None = None,
    ) -> list[str]:
        """Greedy answers to ``questions`` about the radar inputs (one question per row).

        Parameters
        ----------
        radar
            ``{view: float32 [batch, bins, window_frames]}`` (see :func:`prepare_radar`).
        questions
            One question per row.
        max_new_tokens
            Length limit [tokens] (default ``config.max_new_tokens``).
        repetition_penalty
            Default ``config.repetition_penalty``.

        Returns
        -------
        list of str
            Decoded answers without special tokens, stopped at EOS / end of turn.
        """
        was_training = self.training
        self.eval()
        try:
            radar_embeds = self.encode_radar(radar)
            merged = self.merge_inputs(
                [self.prompt_ids(q) for q in questions], radar_embeds, padding_side="left"
            )
            with warnings.catch_warnings():
                # The penalty applies to generated tokens only when the prompt is embeddings;
                # that is intended (the prompt holds the radar, not text to avoid repeating).
                warnings.filterwarnings("ignore", message=".*repetition_penalty.*")
                output = self._generate_ids(merged, max_new_tokens, repetition_penalty)
        finally:
            self.train(was_training)
        texts = self.tokenizer.batch_decode(output, skip_special_tokens=True)
        return [text.strip() for text in texts]

    def _generate_ids(
        self, merged: MergedInputs, max_new_tokens: int | None, repetition_penalty: float | None
    ) -> torch.Tensor:
        """New token ids [batch, new_tokens] (greedy; stops at EOS / end of turn)."""
        suppressed = [self.radar_token_id] if self.radar_token_id < self.vocab_rows else None
        pad = self.tokenizer.pad_token_id
        return self.language_model.generate(
            inputs_embeds=merged.inputs_embeds,
            attention_mask=merged.attention_mask,
            max_new_tokens=max_new_tokens or self.config.max_new_tokens,
            do_sample=False,
            repetition_penalty=repetition_penalty or self.config.repetition_penalty,
            eos_token_id=self.eos_token_ids,
            pad_token_id=pad if pad is not None else self.eos_token_ids[0],
            suppress_tokens=suppressed,
            temperature=None,
            top_p=None,
            top_k=None,
        )

    def train(self, mode: bool = True) -> RadarLLM:
        """Train mode for projector and LM; the frozen encoder always stays in eval mode."""
        super().train(mode)
        self.encoder.eval()
        return self

    def trainable_parameter_names(self) -> list[str]:
        """Names of the parameters the optimiser updates (projector and LoRA only)."""
        return [name for name, p in self.named_parameters() if p.requires_grad]

    # -- persistence ------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write ``config.json``, ``projector.pt``, ``encoder.pt``, ``adapter/`` (peft) and
        ``tokenizer/``; the tiny base also goes to ``base/``."""
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        (target / "config.json").write_text(json.dumps(self.config.to_dict(), indent=2))
        torch.save(self.projector.state_dict(), target / "projector.pt")
        if self.config.radar_model is None:  # a trained tower stays in its own folder
            torch.save(self.encoder.state_dict(), target / "encoder.pt")
        self.language_model.save_pretrained(target / "adapter")
        self.tokenizer.save_pretrained(target / "tokenizer")
        return target


def embedding_rms(weight: torch.Tensor) -> float:
    """Root mean square of a token-embedding matrix [vocab, dim] (the scale radar tokens are
    projected to)."""
    return float(weight.detach().float().pow(2).mean().sqrt())


def _radar_token_id(tokenizer: Any) -> int:
    token_id = tokenizer.convert_tokens_to_ids(RADAR_TOKEN)
    if token_id is None or token_id == tokenizer.unk_token_id:
        raise RadarLLMError(f"the tokenizer has no {RADAR_TOKEN} token; add it first")
    return int(token_id)


def _stop_token_ids(tokenizer: Any) -> list[int]:
    """EOS first, then the chat template's end-of-turn token when it differs."""
    stops = []
    if tokenizer.eos_token_id is not None:
        stops.append(int(tokenizer.eos_token_id))
    for token in ("<|im_end|>", "<|end|>", "<|eot_id|>"):
        token_id = tokenizer.convert_tokens_to_ids(token)
        known = token in tokenizer.get_vocab() and token_id != tokenizer.unk_token_id
        if known and isinstance(token_id, int) and token_id not in stops:
            stops.append(token_id)
    if not stops:
        raise RadarLLMError("the tokenizer has no EOS token")
    return stops


def config_for_radar_model(config: RadarLLMConfig, folder: str | Path) -> RadarLLMConfig:
    """``config`` set up to use the radar tower of a trained CLIP / classifier model: its
    views, window and normalisation replace the built-in encoder's."""
    try:
        tower, inputs = load_trained_radar_encoder(
            folder, pool_frequency=config.pool_tower_frequency
        )
    except RadarEncoderError as error:
        raise RadarLLMError(str(error)) from error
    views = tuple(inputs["views"])  # type: ignore[arg-type]
    encoder = replace(
        config.encoder,
        views=views,
        bins=tuple(tower.bins[view] for view in views),
        window_frames=int(inputs["window_frames"]),  # type: ignore[arg-type]
    )
    return replace(
        config,
        radar_model=str(Path(folder).resolve()),
        encoder=encoder,
        dynamic_range_db=float(inputs["dynamic_range_db"]),  # type: ignore[arg-type]
    )


def _make_encoder(config: RadarLLMConfig) -> RadarTokenEncoder:
    """The frozen encoder the config names (trained tower or built-in patch encoder)."""
    if config.radar_model is None:
        return MapPatchEncoder(config.encoder)
    try:
        encoder, inputs = load_trained_radar_encoder(
            config.radar_model, device=config.device, pool_frequency=config.pool_tower_frequency
        )
    except RadarEncoderError as error:
        raise RadarLLMError(str(error)) from error
    expected = {
        "views": config.views,
        "window_frames": config.window_frames,
        "dynamic_range_db": config.dynamic_range_db,
    }
    if inputs != expected:
        raise RadarLLMError(
            f"radar model {config.radar_model} was trained with inputs {inputs}, the radar LLM "
            f"config has {expected}; build the config with config_for_radar_model()"
        )
    return encoder


def _add_radar_token(tokenizer: Any) -> None:
    tokenizer.add_special_tokens({"additional_special_tokens": [RADAR_TOKEN]})
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token


def _wrap_lora(config: RadarLLMConfig, base_model: Any) -> Any:
    from peft import LoraConfig, get_peft_model

    targets = config.lora_target_modules
    if targets is None and config.base == TINY_BASE:
        targets = TINY_LORA_TARGETS
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(targets) if targets else None,
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(base_model, lora)
    except ValueError as error:
        raise RadarLLMError(
            f"peft has no default LoRA targets for this model; set lora_target_modules ({error})"
        ) from error


def build_radar_llm(
    config: RadarLLMConfig,
    texts: Sequence[str] = (),
    encoder: RadarTokenEncoder | None = None,
    work_dir: str | Path | None = None,
) -> RadarLLM:
    """A fresh radar LLM (base LM + new LoRA + new projector).

    Parameters
    ----------
    config
        Model configuration.
    texts
        Training texts, needed by the ``"tiny"`` base to train its tokenizer.
    encoder
        Frozen radar encoder; default a :class:`MapPatchEncoder` from ``config.encoder``.
    work_dir
        For the ``"tiny"`` base: its random base weights and tokenizer are saved to
        ``work_dir/base`` so the trained model can be reloaded.

    Returns
    -------
    RadarLLM
        On ``config.device``; only projector and LoRA parameters require gradients.
    """
    config.validate()
    device = _device(config.device)  # before any weights are loaded
    if config.base == TINY_BASE:
        tokenizer = train_tiny_tokenizer(
            [*texts, CAPTION_PROMPT, "Question: Answer:"], config.tiny_vocab_size
        )
        base_model = tiny_llama(tokenizer, config.seed, config.tiny_hidden_size, config.tiny_layers)
        if work_dir is not None:
            base_model.save_pretrained(Path(work_dir) / "base")
            tokenizer.save_pretrained(Path(work_dir) / "base")
    else:
        base_model, tokenizer = load_base_lm(config.base, dtype=_DTYPES[config.dtype])
    _add_radar_token(tokenizer)
    for parameter in base_model.parameters():
        parameter.requires_grad_(False)
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        language_model = _wrap_lora(config, base_model)
        encoder = encoder if encoder is not None else _make_encoder(config)
        model = RadarLLM(config, encoder, language_model, tokenizer)
    return model.to(device)


def _device(name: str) -> torch.device:
    """The torch device, or :class:`RadarLLMError` when CUDA is asked for but absent."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RadarLLMError(
            f"device {name!r} requested but this torch build sees no CUDA GPU "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'none'}); "
            "use --device cpu"
        )
    return torch.device(name)


def load_radar_llm(
    folder: str | Path,
    device: str | None = None,
    trainable: bool = False,
    encoder: RadarTokenEncoder | None = None,
) -> RadarLLM:
    """Load a model written by :meth:`RadarLLM.save` / ``train_radar_llm``.

    Parameters
    ----------
    folder
        The saved folder.
    device
        Override the saved device (``"cpu"`` or ``"cuda"``).
    trainable
        Keep LoRA trainable (resume / stage 2); default inference only.
    encoder
        The frozen encoder, if it is not the built-in :class:`MapPatchEncoder`.

    Raises
    ------
    RadarLLMError
        If the folder is not a saved radar LLM.
    """
    from peft import PeftModel

    root = Path(folder)
    config_path = root / "config.json"
    if not config_path.is_file():
        raise RadarLLMError(f"{root} is not a saved radar LLM (no config.json)")
    config = RadarLLMConfig.from_dict(json.loads(config_path.read_text()))
    if device is not None:
        config = replace(config, device=device)
    target_device = _device(config.device)  # before any weights are loaded
    tiny_dir = _tiny_base_dir(root) if config.base == TINY_BASE else None
    base_model, _ = load_base_lm(config.base, tiny_dir=tiny_dir, dtype=_DTYPES[config.dtype])
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(root / "tokenizer", local_files_only=True)
    for parameter in base_model.parameters():
        parameter.requires_grad_(False)
    language_model = PeftModel.from_pretrained(base_model, root / "adapter", is_trainable=trainable)
    if encoder is None:
        encoder = _make_encoder(config)
        if config.radar_model is None:
            encoder.load_state_dict(torch.load(root / "encoder.pt", weights_only=True))
    model = RadarLLM(config, encoder, language_model, tokenizer)
    model.projector.load_state_dict(torch.load(root / "projector.pt", weights_only=True))
    model.projector.requires_grad_(trainable)
    return model.to(target_device)


def _tiny_base_dir(root: Path) -> Path:
    """The tiny base lives in the run folder (``base/``) or, for checkpoints, one level up."""
    for candidate in (root / "base", root.parent / "base"):
        if (candidate / "config.json").is_file():
            return candidate
    raise RadarLLMError(f"no tiny base model next to {root} (expected {root / 'base'})")


# -- inputs -----------------------------------------------------------------------------------
def prepare_radar(
    config: RadarLLMConfig,
    maps_db: Mapping[str, np.ndarray],
) -> dict[str, torch.Tensor]:
    """Crop/pad and normalise one sample's dB maps for the model.

    Parameters
    ----------
    config
        The model configuration (views, bins, window, dynamic range).
    maps_db
        ``{view: float [bins, frames] [dB]}`` holding at least the model's views.

    Returns
    -------
    dict
        ``{view: float32 tensor [1, bins, window_frames]}`` in [0, 1], and ``"mask"`` bool
        [1, window_frames].

    Raises
    ------
    RadarLLMError
        On a missing view or a map of the wrong shape.
    """
    from mmexpert.models.inputs import normalize_db_map

    out: dict[str, torch.Tensor] = {}
    mask = None
    for view, bins in zip(config.encoder.views, config.encoder.bins, strict=True):
        if view not in maps_db:
            raise RadarLLMError(f"radar sample lacks view {view!r} (has {sorted(maps_db)})")
        array = np.asarray(maps_db[view])
        if array.ndim != 2 or array.shape[0] != bins or array.shape[1] == 0:
            raise RadarLLMError(
                f"view {view!r} must be [{bins}, frames>0] [dB], got shape {array.shape}"
            )
        if not np.isfinite(array).all():
            raise RadarLLMError(f"view {view!r} holds NaN or infinite values")
        window, mask = crop_or_pad_time(array.astype(np.float32), config.window_frames)
        out[view] = torch.from_numpy(normalize_db_map(window, mask, config.dynamic_range_db))[None]
    assert mask is not None
    out["mask"] = torch.from_numpy(mask)[None]
    return out


def _radar_of(model: RadarLLM, sample: Any) -> dict[str, torch.Tensor]:
    if isinstance(sample, Mapping) and all(
        isinstance(sample.get(view), torch.Tensor) and sample[view].ndim == 3
        for view in model.config.views
    ):
        return dict(sample)
    maps = getattr(sample, "maps_db", sample)  # SimulationProducts or a dict of dB maps
    if not isinstance(maps, Mapping):
        raise RadarLLMError(
            "sample must be a dict of dB maps {view: [bins, frames]}, SimulationProducts, or "
            "prepared tensors {view: [batch, bins, window]}"
        )
    return prepare_radar(model.config, maps)


def caption(model: RadarLLM, sample: Any) -> str:
    """Describe the motion in one radar sample.

    Parameters
    ----------
    model
        A trained radar LLM.
    sample
        ``{view: [bins, frames]}`` dB maps, a ``SimulationProducts``, or prepared tensors.

    Returns
    -------
    str
        The generated caption.
    """
    return ask(model, sample, CAPTION_PROMPT)


def ask(model: RadarLLM, sample: Any, question: str) -> str:
    """Answer a question about one radar sample (inputs as in :func:`caption`)."""
    if not question or not question.strip():
        raise RadarLLMError("the question is empty")
    if RADAR_TOKEN in question:
        raise RadarLLMError(f"the question must not contain {RADAR_TOKEN}; it is added for you")
    try:
        radar = _radar_of(model, sample)
        return model.generate(radar, [question])[0]
    except RadarEncoderError as error:
        raise RadarLLMError(str(error)) from error
