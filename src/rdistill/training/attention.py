"""``model.attention: auto``: the attention kernel a student trains with, whichever runs the
step's attention (forward + backward) faster *here*.

Measured on a 2-core AMD EPYC (Zen 4), bf16 autocast, the main e-SNLI recipe's batches (16 rows,
SmolLM2-135M + LoRA), one thread: PyTorch's fused ``sdpa`` kernel spent 19.5 % of the step in
its CPU flash-attention backward, and the whole step took 7.67 s with ``sdpa`` against 5.80 s
with ``eager`` attention (matmul, softmax, matmul), 1.32x (``bench/train_step.py
--compare-attention``). Long sequences favour the fused kernel (eager keeps a T x T matrix per
head: at ProsQA's 368-token rows the probe times sdpa 168 ms vs eager 209 ms), and machines
differ, so ``auto`` times both at the step's shape at run start (well under a second, once per
process and shape; under several processes the main one decides for all) and keeps ``sdpa``,
the library's default, on a tie, on CUDA, and where eager would keep more than 10 % of the
machine's memory for the backward (a step-by-step ANLI run, 16 x 320 tokens, was killed for
memory with eager beside two other jobs on 24 GB). Prediction
always uses ``sdpa`` (:func:`rdistill.training.run_folder.inference_model`), so a run scores
the same in memory and reloaded.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from rdistill.config import RunConfig
from rdistill.training.distributed import main_process_says

log = logging.getLogger("rdistill.attention")

# eager must beat sdpa by this factor (a tie on a noisy machine keeps the library's default).
EAGER_MARGIN = 1.10
# eager keeps a T x T matrix per head and layer for the backward: at most this share of memory.
EAGER_MEMORY_SHARE = 0.10
PROBE_BUDGET_S = 0.8


@dataclass(frozen=True)
class AttentionChoice:
    setting: str  # auto, sdpa, eager
    choice: str   # what the run trains with
    reason: str
    sdpa_ms: float | None = None
    eager_ms: float | None = None
    shape: tuple[int, int, int, int] | None = None  # (batch, heads, tokens, head_dim)

    def as_json(self) -> dict:
        out = asdict(self)
        out["shape"] = list(self.shape) if self.shape else None
        return out


def _eager(q, k, v, mask):
    scores = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5 + mask
    return torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v


def _sdpa(q, k, v, mask):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def _ms(fn, q, k, v, mask, deadline: float, repeats: int = 3) -> float:
    """Median milliseconds of forward + backward (one untimed first)."""
    samples = []
    for i in range(repeats + 1):
        q.grad = k.grad = v.grad = None
        t0 = time.perf_counter()
        fn(q, k, v, mask).sum().backward()
        if i:
            samples.append(1000 * (time.perf_counter() - t0))
        if time.perf_counter() > deadline and samples:
            break
    return statistics.median(samples)


def probe_attention(batch: int, heads: int, tokens: int, head_dim: int, dtype: torch.dtype, *,
                    budget_s: float = PROBE_BUDGET_S) -> tuple[float, float]:
    """``(sdpa_ms, eager_ms)``: forward + backward of one layer's attention at this shape, with a
    causal additive mask as the model passes it, interleaved so that load hits both alike."""
    deadline = time.perf_counter() + budget_s
    q, k, v = (torch.randn(batch, heads, tokens, head_dim, dtype=dtype, requires_grad=True) for _ in range(3))
    mask = torch.full((tokens, tokens), float("-inf")).triu(1).to(dtype)[None, None].expand(batch, 1, -1, -1)
    half = deadline - budget_s / 2
    sdpa_a, eager_a = _ms(_sdpa, q, k, v, mask, half, 1), _ms(_eager, q, k, v, mask, half, 1)
    sdpa_b, eager_b = _ms(_sdpa, q, k, v, mask, deadline, 1), _ms(_eager, q, k, v, mask, deadline, 1)
    return min(sdpa_a, sdpa_b), min(eager_a, eager_b)


_CHOICES: dict[tuple, AttentionChoice] = {}


def attention_shape(cfg: RunConfig) -> tuple[int, int, int, int, int] | None:
    """(batch, heads, tokens, head_dim, layers) of one training micro-batch (rows half their
    maximum), from the student's config alone; None when it cannot be read (the loader reports
    why) or the student is an encoder-decoder."""
    from transformers import AutoConfig

    from rdistill.errors import ModelError
    from rdistill.models.loading import resolve_model

    try:
        config = AutoConfig.from_pretrained(resolve_model(cfg.model.name),
                                            trust_remote_code=cfg.model.trust_remote_code)
    except (OSError, ValueError, ModelError):
        return None
    if getattr(config, "is_encoder_decoder", False):
        return None
    text = config.get_text_config()
    heads = getattr(text, "num_attention_heads", None)
    if not heads or not getattr(text, "hidden_size", None):
        return None
    head_dim = int(getattr(text, "head_dim", None) or text.hidden_size // heads)
    layers = int(getattr(text, "num_hidden_layers", None) or 1)
    t = cfg.training
    return t.batch_size, int(heads), max(8, (t.max_source_tokens + t.max_target_tokens) // 2), head_dim, layers


def eager_attention_bytes(batch: int, heads: int, max_tokens: int, layers: int) -> int:
    """What eager attention keeps for the backward pass at the longest rows: the fp32 softmax
    output and its bf16 / fp32 copy, batch x heads x T x T per layer (~6 bytes an element);
    the fused kernel keeps one number per row and head."""
    return 6 * batch * heads * max_tokens * max_tokens * layers


def memory_bytes() -> int:
    """Physical memory of this machine (``os.sysconf``); 0 where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def resolve_attention(cfg: RunConfig, resumed: dict | None = None) -> AttentionChoice:
    """The attention kernel the run trains with (see the module docstring). ``resumed``: the
    choice in the resumed run's ``system.json``, kept so that a resumed run trains as it began."""
    from rdistill.training.precision import resolve_precision

    setting = cfg.model.attention
    if setting != "auto":
        return AttentionChoice(setting, setting, "set in the recipe")
    if torch.cuda.is_available():
        return AttentionChoice(setting, "sdpa", "CUDA device: fused kernel")
    found = attention_shape(cfg)
    if found is None:
        return AttentionChoice(setting, "sdpa", "not a decoder-only config with attention heads: "
                               "the library's default")
    *shape, layers = found
    shape = tuple(shape)
    dtype = torch.bfloat16 if resolve_precision(cfg).choice == "bf16" else torch.float32
    key = (*shape, layers, dtype, torch.get_num_threads())
    if resumed and resumed.get("setting") == "auto" and resumed.get("choice") in ("sdpa", "eager"):
        _CHOICES[key] = AttentionChoice(setting, resumed["choice"], "kept from the run's first start",
                                        resumed.get("sdpa_ms"), resumed.get("eager_ms"), shape)
    if key not in _CHOICES:
        # Under several processes the main one decides and every rank takes its answer: ranks
        # that probed on their own could train with different kernels near the margin.
        max_tokens = cfg.training.max_source_tokens + cfg.training.max_target_tokens
        _CHOICES[key] = main_process_says(lambda: _decide(setting, shape, layers, max_tokens, dtype))
    return _CHOICES[key]


def _decide(setting: str, shape: tuple, layers: int, max_tokens: int, dtype: torch.dtype) -> AttentionChoice:
    """The memory guard, then the probe (see the module docstring)."""
    need, total = eager_attention_bytes(shape[0], shape[1], max_tokens, layers), memory_bytes()
    if total and need > EAGER_MEMORY_SHARE * total:
        # Measured: a step-by-step ANLI run (16 x 320 tokens) with eager attention was killed for
        # memory at 14.4 GB beside two other jobs on a 24 GB machine.
        return AttentionChoice(setting, "sdpa", f"eager attention would keep {need / 1e9:.1f} GB for the "
                               f"backward at the longest rows, over {EAGER_MEMORY_SHARE:.0%} of the "
                               f"{total / 1e9:.0f} GB of memory", shape=shape)
    sdpa_ms, eager_ms = probe_attention(*shape, dtype)
    choice = "eager" if sdpa_ms > EAGER_MARGIN * eager_ms else "sdpa"
    reason = f"probe: sdpa {sdpa_ms:.1f} ms vs eager {eager_ms:.1f} ms (forward + backward)"
    log.info("attention auto -> %s (%s)", choice, reason)
    return AttentionChoice(setting, choice, reason, round(sdpa_ms, 2), round(eager_ms, 2), shape)


def use_attention(model, choice: AttentionChoice) -> None:
    """Switch a decoder-only ``model`` (a Hugging Face model, or a peft model around one) to the
    chosen kernel; encoder-decoder students keep the library's default."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if getattr(base.config, "is_encoder_decoder", False):
        return
    if getattr(base.config, "_attn_implementation", None) != choice.choice:
        base.set_attn_implementation(choice.choice)
