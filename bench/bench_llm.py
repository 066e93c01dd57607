"""Benchmark: the embedded SmolLM2 model (load time, generation speed, scoring, HTTP overhead).

Run: ``python bench/bench_llm.py [--threads 1 2] [--new-tokens 80] [--repeats 2]``.
Prints one JSON object: import_s, load_s (GGUF de-quantization and tokenizer), and per thread
count the best-of-repeats greedy generation speed [new tokens/s], the time to score three
one-word options [s], and the same generation through ``make_server`` + ``OpenAIBackend``
[new tokens/s]. The machine load average is recorded with the figures: on a shared machine
the thread count matters more than anything else.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from mmexpert.llm import GenerationParams, LocalBackend, Message, OpenAIBackend, make_server
from mmexpert.llm.openai_compat import OpenAIConfig

QUESTION = [Message.user("Describe, in one sentence, a person walking slowly toward a radar.")]
CHOICE_QUESTION = [Message.user("Which of these is a fruit?")]


def _best_speed(backend, params: GenerationParams, repeats: int) -> tuple[float, int]:
    best = 0.0
    tokens = 0
    for _ in range(repeats):
        start = time.perf_counter()
        reply = backend.generate(QUESTION, params)
        elapsed = time.perf_counter() - start
        tokens = reply.completion_tokens or 0
        best = max(best, tokens / elapsed)
    return best, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--new-tokens", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    start = time.perf_counter()
    import torch  # noqa: F401 - the import is part of the cold-start cost
    import transformers  # noqa: F401

    import_s = time.perf_counter() - start
    backend = LocalBackend(num_threads=args.threads[0])
    start = time.perf_counter()
    backend.loaded  # noqa: B018 - force the load
    load_s = time.perf_counter() - start
    params = GenerationParams(max_tokens=args.new_tokens)
    results = {}
    for threads in args.threads:
        runner = LocalBackend(num_threads=threads)
        speed, tokens = _best_speed(runner, params, args.repeats)
        start = time.perf_counter()
        runner.score_choices(CHOICE_QUESTION, ["apple", "hammer", "bicycle"])
        score_s = time.perf_counter() - start
        server = make_server(runner, port=0)
        server.start_in_thread()
        try:
            client = OpenAIBackend(OpenAIConfig(base_url=server.url, model="smollm2"))
            http_speed, _ = _best_speed(client, params, args.repeats)
        finally:
            server.shutdown()
            server.server_close()
        results[f"threads_{threads}"] = {
            "new_tokens": tokens,
            "tokens_per_s": round(speed, 2),
            "score_3_options_s": round(score_s, 3),
            "http_tokens_per_s": round(http_speed, 2),
        }
    print(
        json.dumps(
            {
                "model": backend.model_id,
                "import_s": round(import_s, 2),
                "load_s": round(load_s, 2),
                "cpu_count": os.cpu_count(),
                "load_average_1min": round(os.getloadavg()[0], 2),
                **results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
