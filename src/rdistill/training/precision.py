"""``training.precision: auto``: bf16 autocast or fp32, whichever multiplies faster *here*.

CPU flags mislead: an AMD Zen 4 ran bf16 matmuls at 420 GFLOP/s against 190 for fp32,
while an Intel Xeon with AVX512-BF16 ran them at 135 against 251 (its bf16 training step
was 1.4x slower). So the choice comes from a short probe at run start: the step's own
matmul shapes (tokens of a batch x the model's hidden and feed-forward widths), timed
under bf16 autocast (which casts the frozen fp32 weights on every call, as a LoRA step
does) and in plain fp32, well under 2 s. On CUDA the answer is bf16 without a probe.

The probe runs once per process and shape (a sweep's runs share it), so the choice written
to ``system.json`` and the one ``TrainingArguments`` gets are the same; under several
processes only the main one probes, and its choice is broadcast to every rank.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from rdistill.config import RunConfig
from rdistill.training.distributed import main_process_says

log = logging.getLogger("rdistill.precision")

# bf16 must beat fp32 by this factor: it costs accuracy, so a tie (within the probe's
# noise on a shared machine) goes to fp32.
BF16_MARGIN = 1.10
# Widths used when the model's config cannot be read before loading (the loader then
# reports why): SmolLM2-135M, the default student.
DEFAULT_WIDTHS = (576, 1536)
PROBE_BUDGET_S = 1.5
MAX_PROBE_TOKENS = 2048


@dataclass(frozen=True)
class ProbeResult:
    """GFLOP/s of the step's matmuls in each mode, and what the probe timed."""

    fp32_gflops: float
    bf16_gflops: float
    shapes: tuple[tuple[int, int, int], ...]  # (tokens, in, out) of each timed matmul
    seconds: float


@dataclass(frozen=True)
class PrecisionChoice:
    setting: str  # what the recipe asked: auto, fp32, bf16, fp16
    choice: str   # what the run uses
    reason: str
    probe: ProbeResult | None = None

    def as_json(self) -> dict:
        out = asdict(self)
        if self.probe is not None:
            out["probe"]["shapes"] = [list(s) for s in self.probe.shapes]
        return out


def _rate(shapes, mode: str, deadline: float, repeats: int) -> float:
    """FLOP/s of ``F.linear`` over ``shapes`` (median of up to ``repeats`` passes, one untimed first).

    ``mode``: ``fp32``; ``autocast`` (fp32 tensors under bf16 autocast, as a LoRA step runs);
    ``bf16`` (bf16 tensors, as a student cast for prediction runs)."""
    dtype = torch.bfloat16 if mode == "bf16" else torch.float32
    tensors = [(torch.randn(m, k, dtype=dtype), torch.randn(n, k, dtype=dtype)) for m, k, n in shapes]
    flops = sum(2 * m * k * n for m, k, n in shapes)
    ctx = ((lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if mode == "autocast"
           else contextlib.nullcontext)
    samples: list[float] = []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        with ctx():
            for x, w in tensors:
                F.linear(x, w)
        if i:
            samples.append(flops / (time.perf_counter() - t0))
        if time.perf_counter() > deadline and samples:
            break
    return statistics.median(samples) if samples else flops / (time.perf_counter() - t0)


def probe_matmul(tokens: int, hidden: int, intermediate: int, *, budget_s: float = PROBE_BUDGET_S,
                 repeats: int = 3, bf16_mode: str = "autocast", rows: int | None = None) -> ProbeResult:
    """Time the feed-forward matmuls of a step (``tokens x hidden -> intermediate`` and back)
    in bf16 (``bf16_mode``: autocast for training, bf16 tensors for prediction) and in fp32.
    ``rows``: also time those matmuls for ``rows`` tokens at once, a decoding step of a batch.
    A quick small first round settles CPUs that emulate bf16 (10-100x slower), so that the
    full-size bf16 round never runs for seconds there."""
    t0 = time.perf_counter()
    deadline = t0 + budget_s
    small = ((min(tokens, 64), hidden, intermediate),)
    fp32_small = _rate(small, "fp32", deadline, 1)
    bf16_small = _rate(small, bf16_mode, deadline, 1)
    shapes = ((tokens, hidden, intermediate), (tokens, intermediate, hidden))
    if rows:
        shapes += ((rows, hidden, intermediate), (rows, intermediate, hidden))
    if bf16_small * 4 < fp32_small:
        fp32, bf16, shapes = fp32_small, bf16_small, small
    else:
        # Interleaved halves: a burst of load from elsewhere hits both modes alike.
        half = max(1, repeats // 2)
        fp32_a, bf16_a = _rate(shapes, "fp32", deadline, half), _rate(shapes, bf16_mode, deadline, half)
        fp32_b, bf16_b = _rate(shapes, "fp32", deadline, half), _rate(shapes, bf16_mode, deadline, half)
        fp32, bf16 = max(fp32_a, fp32_b), max(bf16_a, bf16_b)
    return ProbeResult(fp32_gflops=round(fp32 / 1e9, 1), bf16_gflops=round(bf16 / 1e9, 1),
                       shapes=shapes, seconds=round(time.perf_counter() - t0, 3))


def model_widths(cfg: RunConfig) -> tuple[int, int]:
    """``(hidden, feed-forward)`` widths of the recipe's student, read from its config alone."""
    from transformers import AutoConfig

    from rdistill.errors import ModelError
    from rdistill.models.loading import resolve_model

    try:
        config = AutoConfig.from_pretrained(resolve_model(cfg.model.name),
                                            trust_remote_code=cfg.model.trust_remote_code)
    except (OSError, ValueError, ModelError):
        return DEFAULT_WIDTHS
    config = getattr(config, "encoder", None) or config.get_text_config()
    hidden = getattr(config, "hidden_size", None) or getattr(config, "d_model", None)
    ffn = getattr(config, "intermediate_size", None) or getattr(config, "d_ff", None)
    if not hidden:
        return DEFAULT_WIDTHS
    return int(hidden), int(ffn or 4 * hidden)


def step_tokens(cfg: RunConfig) -> int:
    """Tokens of one micro-batch, rows taken half as long as their maximum (dynamic padding)."""
    t = cfg.training
    return max(16, min(MAX_PROBE_TOKENS, t.batch_size * (t.max_source_tokens + t.max_target_tokens) // 2))


_CHOICES: dict[tuple, PrecisionChoice] = {}


def resolve_precision(cfg: RunConfig, resumed: dict | None = None) -> PrecisionChoice:
    """The precision this run trains in (see the module docstring); explicit settings pass through.

    ``resumed``: the choice recorded in the resumed run's ``system.json``. A resumed ``auto`` run
    keeps it rather than probing again: a probe under other load could switch the precision
    halfway through a run, and the resumed run would no longer match an uninterrupted one."""
    setting = cfg.training.precision
    if setting != "auto":
        return PrecisionChoice(setting, setting, "set in the recipe")
    if torch.cuda.is_available():
        if torch.cuda.is_bf16_supported():
            return PrecisionChoice(setting, "bf16", "CUDA device with bf16")
        return PrecisionChoice(setting, "fp32", "CUDA device without bf16")
    key = (step_tokens(cfg), *model_widths(cfg), torch.get_num_threads())
    if resumed and resumed.get("setting") == "auto" and resumed.get("choice") in ("fp32", "bf16"):
        _CHOICES[key] = PrecisionChoice(setting, resumed["choice"], "kept from the run's first start "
                                        f"({resumed.get('reason', 'system.json')})")
    if key not in _CHOICES:
        # Under several processes the main one probes and every rank takes its answer: ranks that
        # probed on their own could train in different precisions near the margin.
        _CHOICES[key] = main_process_says(lambda: _probe_precision(setting, key))
    return _CHOICES[key]


def _probe_precision(setting: str, key: tuple) -> PrecisionChoice:
    probe = probe_matmul(*key[:3])
    choice = "bf16" if probe.bf16_gflops > BF16_MARGIN * probe.fp32_gflops else "fp32"
    reason = (f"matmul probe: bf16 autocast {probe.bf16_gflops} vs fp32 {probe.fp32_gflops} GFLOP/s "
              f"on {key[3]} threads")
    log.info("precision auto -> %s (%s, %.2f s)", choice, reason, probe.seconds)
    return PrecisionChoice(setting, choice, reason, probe)


def resolve_inference_precision(cfg: RunConfig) -> PrecisionChoice:
    """The dtype a student predicts in (``generation.precision``): ``auto`` casts the merged
    student to bf16 where a probe at prediction's shapes (a length-sorted batch of prompts, then
    one decoding step of that batch) runs bf16 matmuls >= 1.1x faster than fp32; bf16 on CUDA."""
    setting = cfg.generation.precision
    if setting != "auto":
        return PrecisionChoice(setting, setting, "set in the recipe")
    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        return PrecisionChoice(setting, "bf16" if bf16 else "fp32", f"CUDA device {'with' if bf16 else 'without'} bf16")
    batch = cfg.generation.batch_size
    tokens = max(16, min(MAX_PROBE_TOKENS, batch * cfg.training.max_source_tokens // 2))
    key = ("inference", tokens, *model_widths(cfg), torch.get_num_threads(), batch)
    if key not in _CHOICES:
        probe = probe_matmul(*key[1:4], bf16_mode="bf16", rows=batch)
        choice = "bf16" if probe.bf16_gflops > BF16_MARGIN * probe.fp32_gflops else "fp32"
        reason = (f"matmul probe: bf16 {probe.bf16_gflops} vs fp32 {probe.fp32_gflops} GFLOP/s "
                  f"on {key[4]} threads")
        _CHOICES[key] = PrecisionChoice(setting, choice, reason, probe)
        log.info("prediction precision auto -> %s (%s, %.2f s)", choice, reason, probe.seconds)
    return _CHOICES[key]


def inference_dtype(cfg: RunConfig) -> torch.dtype:
    """``torch.bfloat16`` or ``torch.float32``: what :func:`resolve_inference_precision` chose."""
    return torch.bfloat16 if resolve_inference_precision(cfg).choice == "bf16" else torch.float32
