"""Time one LoRA training step: plain HF causal-LM loss vs rdistill's sparse-head span loss.

Both steps run on the SAME batch: the first ``--batch-size`` rows of
``esnli/esnli_valid.json`` with the human ``explanation_1`` as target, laid out
predict-then-explain by rdistill's own ``encode_examples`` + ``RationaleCollator``.
The student is ``--model`` with LoRA (r=16, all linear layers) from ``apply_finetuning``.

- plain:    ``model(input_ids, attention_mask, labels=labels).loss`` (HF token-mean CE,
            LM head over every position) + backward + AdamW step;
- rdistill: ``TargetOnlyLM`` (LM head on target positions only) +
            ``rationale_loss(alpha=1, beta=0.5)`` + backward + AdamW step.

Warm-up steps are excluded; timed steps of the two kinds are interleaved so that
load from other work on a shared machine hits both alike; medians are reported.
The matmul peak (median of 2048^3 ``torch.matmul`` in the step's dtype) is measured
in the same process, before and after the steps.

FLOPs: ``4 * N * T`` per step (frozen base: forward 2NT + input-gradient backward
2NT), N = all base-model params with the embedding counted once (the tied LM head
multiplies by it), T = non-pad tokens. Ignored: attention score/value matmuls, LoRA
adapter FLOPs, pad positions. The rdistill step runs the LM head on target tokens
only, so it *executes* fewer FLOPs (``flops_executed_rdistill``); ``mfu`` and
``mfu_plain`` both use the same useful-work count, so their ratio is the speedup.

Run (batch 16 fp32: ~4 min on 2 AVX2 cores; bf16 needs native bf16 matmul,
AVX512-BF16 or AMX, and is refused without it unless ``--force``)::

    python bench/train_step.py --output bench/results/train_step.json --precision fp32
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import resource
import statistics
import time
from collections.abc import Callable

import peft
import torch
import transformers

from rdistill.config import load_config
from rdistill.data.esnli import load_esnli
from rdistill.data.paths import resolve_data_path
from rdistill.tasks.registry import get_task
from rdistill.io import write_json_atomic
from rdistill.losses import IGNORE_INDEX, rationale_loss
from rdistill.models import apply_finetuning, load_model, load_tokenizer
from rdistill.methods.rationale.collator import RationaleCollator
from rdistill.methods.rationale.dataset import encode_examples
from rdistill.training.student_forward import TargetOnlyLM

log = logging.getLogger("bench.train_step")
DATA_FILE = "esnli/esnli_valid.json"
ALPHA, BETA, LR = 1.0, 0.5, 3e-4
MIN_BF16_FLOPS = 50e9  # below this, bf16 is emulated, not native

Batch = dict[str, torch.Tensor]
LossFn = Callable[[torch.nn.Module, Batch], torch.Tensor]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--output", required=True, help="JSON file to write")
    p.add_argument("--data-dir", default=os.environ.get("RDISTILL_DATA_DIR"),
                   help="data root holding esnli/ (default: $RDISTILL_DATA_DIR)")
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=5, help="timed steps of each kind")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps of each kind")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    p.add_argument("--force", action="store_true", help="run bf16 even without native bf16 matmul")
    args = p.parse_args(argv)
    if args.batch_size < 1 or args.steps < 1 or args.warmup < 0:
        p.error("--batch-size and --steps must be >= 1, --warmup >= 0")
    return args


def autocast(precision: str) -> contextlib.AbstractContextManager:
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def matmul_peak_samples(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> list[float]:
    """FLOP/s of ``repeats`` timed ``n^3`` matmuls (after one untimed) in ``dtype``."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.matmul(a, b)
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.matmul(a, b)
        samples.append(2 * n**3 / (time.perf_counter() - t0))
    return samples


def build_batch(args: argparse.Namespace, tokenizer) -> Batch:
    """The collated batch: one predict-then-explain row per example."""
    overrides = [f"loss.alpha={ALPHA}", f"loss.beta={BETA}", "loss.output_order=predict_explain",
                 f"model.name={args.model}", f"training.precision={args.precision}"]
    cfg = load_config(None, overrides, raw={"data": {"train_file": DATA_FILE,
                                                     "explanation_source": "human"}})
    path = resolve_data_path(cfg.data.train_file, args.data_dir)
    examples = load_esnli(path).examples[: args.batch_size]
    rows = encode_examples(examples, cfg, get_task("esnli"), tokenizer,
                           is_seq2seq=False, seed=cfg.seed)
    if len(rows) != args.batch_size:
        raise SystemExit(f"expected {args.batch_size} rows (one per example), got {len(rows)}: "
                         f"{dict(rows.counts)}")
    return RationaleCollator(tokenizer.pad_token_id, is_seq2seq=False)(list(rows.rows))


def plain_loss(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                 labels=batch["labels"]).loss


def rdistill_loss(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    token_losses = TargetOnlyLM(model)(batch["input_ids"], batch["attention_mask"],
                                       batch["labels"])["token_losses"]
    return rationale_loss(token_losses, batch["span_ids"], alpha=ALPHA, beta=BETA)[0]


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: Batch,
               loss_fn: LossFn, precision: str) -> tuple[float, float]:
    """One forward + backward + AdamW step; returns ``(seconds, loss)``."""
    t0 = time.perf_counter()
    with autocast(precision):
        loss = loss_fn(model, batch)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - t0, float(loss.detach())


def ce_agreement(model: torch.nn.Module, batch: Batch, precision: str) -> float:
    """|HF token-mean CE - mean of rdistill's sparse per-token CE|, same weights, eval mode."""
    model.eval()
    with torch.no_grad(), autocast(precision):
        dense = plain_loss(model, batch)
        token_losses = TargetOnlyLM(model)(
            batch["input_ids"], batch["attention_mask"], batch["labels"])["token_losses"]
    model.train()
    n_targets = (batch["labels"][:, 1:] != IGNORE_INDEX).sum()
    return abs(float(dense) - float(token_losses.sum() / n_targets))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    if not args.data_dir:
        raise SystemExit("no data directory: pass --data-dir DIR or set $RDISTILL_DATA_DIR")
    torch.manual_seed(0)
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    probe = statistics.median(matmul_peak_samples(dtype, n=512, repeats=3))
    if dtype == torch.bfloat16 and probe < MIN_BF16_FLOPS and not args.force:
        # Without AVX512-BF16/AMX, torch falls back to a scalar bf16 GEMM (~1-10 GFLOP/s):
        # a step would take many minutes and measure the fallback, not the method.
        raise SystemExit(f"bf16 matmul runs at {probe / 1e9:.1f} GFLOP/s on this CPU (capability "
                         f"{torch.backends.cpu.get_cpu_capability()}); use --precision fp32, "
                         "or --force to time it anyway")
    peak_before = matmul_peak_samples(dtype)

    tokenizer = load_tokenizer(args.model)
    model, kind = load_model(args.model, dtype=torch.float32)
    if kind != "causal":
        raise SystemExit(f"--model {args.model!r} is {kind}; this bench needs a decoder-only model")
    n_params = sum(p.numel() for p in model.parameters())  # parameters() counts tied weights once
    head_params = model.get_output_embeddings().weight.numel()
    model, counts = apply_finetuning(model, kind, "lora", r=16, target_modules="all-linear")
    model.train()
    batch = build_batch(args, tokenizer)
    tokens = int(batch["attention_mask"].sum())
    # Positions whose hidden state predicts a target (what the sparse LM head runs on).
    targets = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
    flops = 4 * n_params * tokens
    flops_rdistill = 4 * (n_params - head_params) * tokens + 4 * head_params * targets
    log.info("batch %s: %d tokens (%d target), padded %s | N=%s params, %s trainable",
             args.batch_size, tokens, targets, tuple(batch["input_ids"].shape),
             f"{n_params:,}", f"{counts['params_trainable']:,}")

    ce_diff = ce_agreement(model, batch, args.precision)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizers = {name: torch.optim.AdamW(trainable, lr=LR) for name in ("plain", "rdistill")}
    loss_fns = {"plain": plain_loss, "rdistill": rdistill_loss}
    times: dict[str, list[float]] = {"plain": [], "rdistill": []}
    losses: dict[str, list[float]] = {"plain": [], "rdistill": []}
    for step in range(args.warmup + args.steps):
        for name in ("plain", "rdistill"):
            seconds, loss = train_step(model, optimizers[name], batch, loss_fns[name],
                                       args.precision)
            losses[name].append(loss)
            if step >= args.warmup:
                times[name].append(seconds)
            log.info("%s step %d%s: %.2f s, loss %.4f", name, step,
                     " (warm-up)" if step < args.warmup else "", seconds, loss)
    peak_after = matmul_peak_samples(dtype)

    plain_s, rdistill_s = statistics.median(times["plain"]), statistics.median(times["rdistill"])
    peak = statistics.median(peak_before + peak_after)
    finite = all(math.isfinite(x) for xs in losses.values() for x in xs)
    result = {
        "plain_step_s": round(plain_s, 4),
        "rdistill_step_s": round(rdistill_s, 4),
        "speedup": round(plain_s / rdistill_s, 3),
        "mfu": round(flops / rdistill_s / peak, 4),
        "mfu_plain": round(flops / plain_s / peak, 4),
        "mfu_rdistill_executed": round(flops_rdistill / rdistill_s / peak, 4),
        "matmul_peak_flops": round(peak),
        "matmul_peak_flops_before": round(statistics.median(peak_before)),
        "matmul_peak_flops_after": round(statistics.median(peak_after)),
        "flops_per_step": flops,
        "flops_executed_rdistill": flops_rdistill,
        "params_base": n_params,
        "params_lm_head": head_params, "params_trainable": counts["params_trainable"],
        "tokens_per_batch": tokens, "target_tokens_per_batch": targets,
        "padded_shape": list(batch["input_ids"].shape),
        "batch_size": args.batch_size,
        "steps": args.steps, "warmup": args.warmup,
        "plain_step_s_all": [round(t, 4) for t in times["plain"]],
        "rdistill_step_s_all": [round(t, 4) for t in times["rdistill"]],
        "losses_finite": finite,
        "plain_losses": [round(x, 4) for x in losses["plain"]],
        "rdistill_losses": [round(x, 4) for x in losses["rdistill"]],
        "sparse_vs_dense_ce_abs_diff": round(ce_diff, 6),
        "precision": args.precision,
        "model": args.model,
        "torch_threads": torch.get_num_threads(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "torch_version": torch.__version__, "transformers_version": transformers.__version__,
        "peft_version": peft.__version__,
        "cpu_count": os.cpu_count(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
    }
    write_json_atomic(args.output, result)
    log.info("%s b%d: plain %.2f s, rdistill %.2f s, speedup %.2fx | mfu %.1f%% (plain %.1f%%) "
             "of %.0f GFLOP/s | losses finite: %s | -> %s", args.precision, args.batch_size,
             plain_s, rdistill_s, plain_s / rdistill_s, 100 * result["mfu"],
             100 * result["mfu_plain"], peak / 1e9, finite, args.output)
    return 0 if finite else 1


if __name__ == "__main__":
    raise SystemExit(main())
