"""Efficiency profile of a student: size, memory, latency, throughput and FLOPs, all measured.

- ``params_total`` / ``params_trainable``: counted on the loaded model (a LoRA
  run is profiled merged, as deployed, so trainable is what the run trained,
  read from its data summary).
- ``disk_mb``: the weights needed to run it (``*.safetensors``/``*.bin`` of
  the student folder, plus the base model's for an adapter);
  ``disk_mb_student_folder``: the run's own student folder.
- ``peak_memory_mb``: peak resident set size of this process (CPU), or peak
  allocated CUDA memory; both include loading the model.
- ``latency_ms_p50`` / ``_p95``: one example at a time (batch 1), the whole
  prediction (label scoring + explanation generation), after one warm-up.
- ``throughput_per_s``: examples per second at the best of the tried batch sizes.
- ``flops_per_example``: ``torch.utils.flop_counter.FlopCounterMode`` over the
  whole prediction of one example, averaged over a few examples;
  ``flops_forward_per_example``: the prompt forward alone (label scoring for label tasks).
"""

from __future__ import annotations

import logging
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from rdistill.data.example import Example
from rdistill.models.lora import count_parameters

log = logging.getLogger(__name__)

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


def weights_mb(folder: str | Path) -> float:
    """Megabytes (10^6 bytes) of weight files under ``folder``."""
    files = [f for f in Path(folder).rglob("*") if f.is_file() and f.name.endswith(_WEIGHT_SUFFIXES)]
    return sum(f.stat().st_size for f in files) / 1e6


def peak_memory_mb(device: torch.device | str = "cpu") -> float:
    """Peak allocated CUDA memory on a CUDA device, else the process's peak RSS, in MB."""
    if torch.device(device).type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 1e6
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return rss / 1e6 if sys.platform == "darwin" else rss * 1024 / 1e6


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of the aten ops ``fn`` runs (a multiply-add counts as 2)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (q in [0, 100]), as numpy's default."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def profile_predictor(predictor, examples: Sequence[Example], *, latency_examples: int = 20,
                      batch_sizes: Sequence[int] = (8, 32), flop_examples: int = 3) -> dict:
    """Latency, throughput and FLOPs of ``predictor`` (a ``prediction.Predictor``) on ``examples``."""
    if not examples:
        raise ValueError("profiling needs at least one example")
    device = predictor.model.device
    saved_batch, saved_progress = predictor.gen.batch_size, predictor.show_progress
    predictor.show_progress = False
    try:
        predictor.predict(examples[:1])  # warm-up: lazy inits, allocator
        times = []
        for ex in examples[:latency_examples]:
            _sync(device)
            t0 = time.perf_counter()
            predictor.predict([ex])
            _sync(device)
            times.append(time.perf_counter() - t0)
        throughput = {1: len(times) / sum(times)}
        for size in batch_sizes:
            rows = list(examples[: 2 * size])
            predictor.gen.batch_size = size
            _sync(device)
            t0 = time.perf_counter()
            predictor.predict(rows)
            _sync(device)
            throughput[size] = len(rows) / (time.perf_counter() - t0)
        predictor.gen.batch_size = 1
        sample = examples[:flop_examples]
        forward = [count_flops(lambda ex=ex: predictor.prompt_forward([ex])) for ex in sample]
        whole = [count_flops(lambda ex=ex: predictor.predict([ex])) for ex in sample]
    finally:
        predictor.gen.batch_size, predictor.show_progress = saved_batch, saved_progress
    best = max(throughput, key=throughput.get)
    return {
        "latency_ms_p50": 1000 * percentile(times, 50),
        "latency_ms_p95": 1000 * percentile(times, 95),
        "latency_examples": len(times),
        "throughput_per_s": throughput[best],
        "throughput_batch_size": best,
        "throughput_by_batch_size": {str(k): v for k, v in throughput.items()},
        "flops_per_example": statistics.fmean(whole),
        "flops_forward_per_example": statistics.fmean(forward),
        "flop_examples": len(sample),
    }


def teacher_params(name: str, trust_remote_code: bool = False) -> int:
    """Parameter count of a model from its config alone (built on the meta device: no weights read)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM

    from rdistill.models import resolve_model

    config = AutoConfig.from_pretrained(resolve_model(name), trust_remote_code=trust_remote_code)
    auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
    with torch.device("meta"):
        model = auto.from_config(config, trust_remote_code=trust_remote_code)
    return count_parameters(model)["params_total"]
