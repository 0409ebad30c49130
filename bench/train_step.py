"""Time rdistill's training step as ``rdistill train`` runs it, against a plain HF step.

Batches: the recipe's own (default ``configs/esnli-smollm2-lora.yaml``, its LoRA, lengths,
loss weights), encoded by ``encode_examples``, collated by ``RationaleCollator`` and drawn in
the order the ``RationaleTrainer``'s train dataloader draws them (length-grouped, dynamic
padding), so the bench times the shapes training meets. Three timings on the same batches:

- ``rdistill``: the trainer's own ``compute_loss`` (LM head on target positions only, span
  loss, autocast as the run) + backward + grad clipping + AdamW step;
- ``plain``: ``model(input_ids, attention_mask, labels=labels).loss`` (HF token-mean CE, LM
  head over every position) + the same backward/clip/step; interleaved with ``rdistill``
  so that load from other work hits both alike;
- ``loop``: ``trainer.train()`` itself for warm-up + timed steps, seconds between step ends
  (what the progress bar shows), run first and twice: the first pass meets every batch
  shape for the first time (``loop_first_pass_step_s_all``: oneDNN builds kernels per
  shape) and records its batches, which the second pass (timed) and the two step kinds
  reuse. ``bench_over_loop`` = rdistill / loop; it should be ~1.

Why this bench once said 10.3 s per batch-16 step while training ran ~4.5 s: it timed the
first 16 rows of the file, padded to 16 x 117 = 1,872 positions for 1,307 real tokens,
while training's length-grouped batches of the same recipe hold ~1,120 tokens in ~1,170
positions (measured over the recipe's 312 batches). ``--batches first-rows`` times that old
batch again; the JSON gives the positions of every timed batch.

MFU: ``4 * N * T`` FLOPs per step (frozen base: forward 2NT + input-gradient backward 2NT;
N = base params with the tied embedding counted once, T = real tokens) over the matmul
peak measured in this process in the step's dtype (``2048^3`` matmuls, before and after).

Run (batch 16 on 2 cores: a few minutes)::

    python bench/train_step.py --output bench/results/train_step.json
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import resource
import statistics
import tempfile
import time

import torch
import transformers
from transformers import TrainerCallback

from rdistill.data.paths import resolve_data_path
from rdistill.data.esnli import load_esnli
from rdistill.io import write_json_atomic
from rdistill.methods.rationale.collator import RationaleCollator
from rdistill.methods.rationale.dataset import encode_examples
from rdistill.methods.rationale.trainer import RationaleTrainer
from rdistill.methods.registry import load_recipe
from rdistill.models import apply_finetuning, load_model, load_tokenizer
from rdistill.tasks.recipe_data import prepare_splits
from rdistill.tasks.registry import get_task
from rdistill.training.arguments import training_arguments
from rdistill.training.attention import AttentionChoice, resolve_attention, use_attention
from rdistill.training.precision import resolve_precision
from rdistill.training.threads import choose_threads

log = logging.getLogger("bench.train_step")
Batch = dict[str, torch.Tensor]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--output", required=True, help="JSON file to write")
    p.add_argument("--recipe", default="configs/esnli-smollm2-lora.yaml")
    p.add_argument("--data-dir", default=os.environ.get("RDISTILL_DATA_DIR"),
                   help="data root (default: $RDISTILL_DATA_DIR)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="recipe override, e.g. model.name=DIR (repeatable)")
    p.add_argument("--batch-size", type=int, default=None, help="default: the recipe's")
    p.add_argument("--steps", type=int, default=4, help="timed steps of each kind")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps of each kind")
    p.add_argument("--train-rows", type=int, default=400, help="rows encoded (batches drawn from)")
    p.add_argument("--batches", choices=("recipe", "first-rows"), default="recipe",
                   help="recipe: training's own batches; first-rows: the file's first rows, "
                        "as this bench timed before (see the docstring)")
    p.add_argument("--no-loop", action="store_true", help="skip timing trainer.train()")
    p.add_argument("--loop-only", action="store_true",
                   help="time trainer.train() only (no separate steps, no matmul peak)")
    p.add_argument("--compare-attention", action="store_true",
                   help="also time the rdistill step with the other attention kernel (sdpa / eager)")
    p.add_argument("--profile-steps", type=int, default=0,
                   help="then run this many rdistill steps under torch.profiler: where the time goes")
    args = p.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        p.error("--steps must be >= 1, --warmup >= 0")
    if args.loop_only and (args.no_loop or args.batches != "recipe"):
        p.error("--loop-only times the recipe's own loop: no --no-loop, no --batches first-rows")
    return args


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


class StepClock(TrainerCallback):
    """Seconds between consecutive step ends (the first from the start of training)."""

    def __init__(self) -> None:
        self.last = 0.0
        self.seconds: list[float] = []

    def on_train_begin(self, args, state, control, **kwargs):
        self.last = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        self.seconds.append(now - self.last)
        self.last = now


class RecordingTrainer(RationaleTrainer):
    """Keeps a copy of every training batch it computes a loss on (the loop's own batches)."""

    batches: list[Batch]

    def compute_loss(self, model, inputs, *args, **kwargs):
        if self.is_in_train:  # trainer.train()'s batches, not the separately timed ones
            self.batches.append({k: v.detach().clone() for k, v in inputs.items()})
        return super().compute_loss(model, inputs, *args, **kwargs)


def recipe_config(args: argparse.Namespace):
    steps = args.warmup + args.steps
    overrides = [*args.overrides, f"data.train_size={args.train_rows}", "data.dev_size=0",
                 f"training.max_steps={steps}", "training.save_steps=1000000",
                 "training.logging_steps=1000000", "training.eval_steps=null"]
    if args.batch_size:
        overrides.append(f"training.batch_size={args.batch_size}")
    return load_recipe(args.recipe, overrides)


def first_rows_batch(cfg, args, tokenizer, collator) -> Batch:
    """The old bench's batch: the file's first ``batch_size`` rows, one target each."""
    examples = load_esnli(resolve_data_path(cfg.data.train_file, args.data_dir)).examples
    rows = encode_examples(examples[: cfg.training.batch_size], cfg, get_task(cfg.data.dataset),
                           tokenizer, is_seq2seq=False, seed=cfg.seed)
    return collator(list(rows.rows)[: cfg.training.batch_size])


def step(trainer, model, optimizer, batch: Batch, kind: str) -> tuple[float, float]:
    """One forward + backward + clip + AdamW step; ``(seconds, loss)``."""
    t0 = time.perf_counter()
    if kind == "rdistill":
        loss = trainer.compute_loss(model, batch)
    else:
        with trainer.accelerator.autocast():
            loss = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                         labels=batch["labels"]).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - t0, float(loss.detach())


# Operator families of a step (self CPU time of each aten op, grouped by name).
OP_KINDS = (
    ("matmul", ("aten::mm", "aten::addmm", "aten::bmm", "aten::_addmm_activation", "aten::baddbmm",
                "mkldnn", "onednn")),
    ("attention", ("scaled_dot_product", "flash_attention", "aten::_softmax", "aten::softmax")),
    ("cast_copy", ("aten::copy_", "aten::_to_copy", "aten::to", "aten::clone", "aten::contiguous",
                   "aten::empty", "aten::zeros", "aten::fill_", "aten::zero_")),
    ("optimizer", ("aten::_foreach", "aten::addcdiv", "aten::addcmul", "aten::lerp", "aten::sqrt",
                   "Optimizer", "clip_grad")),
    ("loss", ("log_softmax", "nll_loss", "cross_entropy", "aten::gather", "aten::scatter")),
    ("elementwise_norm", ("aten::mul", "aten::add", "aten::div", "aten::pow", "aten::rsqrt", "aten::mean",
                          "aten::silu", "aten::neg", "aten::sub", "aten::exp", "aten::sum", "aten::where",
                          "aten::embedding", "aten::threshold", "aten::sigmoid", "aten::cos", "aten::sin")),
)


def op_kind(name: str) -> str:
    for kind, prefixes in OP_KINDS:
        if any(name.startswith(p) or p in name for p in prefixes):
            return kind
    return "other"


def profile_steps(trainer, model, optimizer, batches: list[Batch], n: int) -> dict:
    """``n`` rdistill steps under ``torch.profiler`` (cycling through ``batches`` when there are
    fewer): seconds by operator family (self CPU time, summed over the steps), their shares, the
    top operators, and the tokens each profiled step saw (for MFU over exactly these steps)."""
    from torch.profiler import ProfilerActivity, profile

    batches = (batches * n)[:n]
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        for batch in batches:
            step(trainer, model, optimizer, batch, "rdistill")
        wall = time.perf_counter() - t0
    by_kind: dict[str, float] = {kind: 0.0 for kind, _ in OP_KINDS}
    by_kind["other"] = 0.0
    ops = []
    for event in prof.key_averages():
        seconds = event.self_cpu_time_total / 1e6
        by_kind[op_kind(event.key)] += seconds
        ops.append((seconds, event.key, event.count))
    total = sum(by_kind.values())
    return {
        "steps": n, "tokens_per_step": [int(b["attention_mask"].sum()) for b in batches],
        "wall_seconds": round(wall, 3), "self_seconds_total": round(total, 3),
        "seconds_by_kind": {k: round(v, 3) for k, v in by_kind.items()},
        "share_by_kind": {k: round(v / total, 4) for k, v in by_kind.items()} if total else None,
        "top_ops": [{"op": name, "self_seconds": round(s, 3), "calls": c}
                    for s, name, c in sorted(ops, reverse=True)[:15]],
    }


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    cfg = recipe_config(args)
    threads = choose_threads(cfg.training.num_threads)
    if threads.threads:
        torch.set_num_threads(threads.threads)
    precision = resolve_precision(cfg)
    attention = resolve_attention(cfg)
    dtype = torch.bfloat16 if precision.choice == "bf16" else torch.float32
    torch.manual_seed(0)
    peak_before = [] if args.loop_only else matmul_peak_samples(dtype)

    splits = prepare_splits(cfg, args.data_dir)
    tokenizer = load_tokenizer(cfg.model.name)
    model, kind = load_model(cfg.model.name, dtype=torch.float32)
    if kind != "causal":
        raise SystemExit(f"model {cfg.model.name!r} is {kind}; this bench needs a decoder-only model")
    n_params = sum(p.numel() for p in model.parameters())  # tied weights counted once
    f = cfg.finetune
    use_attention(model, attention)
    model, counts = apply_finetuning(model, kind, f.mode, r=f.r, alpha=f.alpha, dropout=f.dropout,
                                     target_modules=f.target_modules)
    rows = encode_examples(splits.train, cfg, get_task(cfg.data.dataset), tokenizer,
                           is_seq2seq=False, seed=cfg.seed)
    collator = RationaleCollator(tokenizer.pad_token_id, is_seq2seq=False)
    out_dir = tempfile.mkdtemp(prefix="bench-train-step-")
    trainer = RecordingTrainer(
        model=model, args=training_arguments(cfg, out_dir, has_dev=False,
                                             group_by_length=cfg.training.group_by_length,
                                             disable_tqdm=True),
        train_dataset=rows, data_collator=collator, processing_class=tokenizer,
        alpha=cfg.loss.alpha, beta=cfg.loss.beta, is_seq2seq=False,
        sparse_lm_head=cfg.training.sparse_lm_head)
    trainer.batches = []
    n_steps = args.warmup + args.steps
    loop_s: list[float] = []
    if args.batches == "first-rows":
        batches = [first_rows_batch(cfg, args, tokenizer, collator)] * n_steps
    elif args.no_loop:
        batches = [b for b, _ in zip(trainer.get_train_dataloader(), range(n_steps))]
    first_pass_s: list[float] = []
    loop_matches = None
    if not args.no_loop:
        # The loop twice: the first pass meets each batch shape for the first time (oneDNN
        # builds its kernels per shape, bf16 most of all) and records the batches; the second
        # (same seed, same batches) is timed warm, as the separate steps below are.
        clock = StepClock()
        trainer.add_callback(clock)
        # The train sampler draws from torch's global RNG: the same seed, the same batches.
        transformers.set_seed(cfg.seed)
        trainer.train()
        first_pass_s, recorded = clock.seconds[args.warmup:], trainer.batches
        clock.seconds, trainer.batches = [], []
        transformers.set_seed(cfg.seed)
        trainer.train()
        loop_s = clock.seconds[args.warmup:]
        loop_matches = [b["input_ids"].shape for b in trainer.batches] == [b["input_ids"].shape for b in recorded]
        log.info("trainer.train() steps: first pass %s, second %s", [round(s, 2) for s in first_pass_s],
                 [round(s, 2) for s in loop_s])
        if args.batches == "recipe":
            batches = recorded[:n_steps]

    if args.loop_only:
        write_json_atomic(args.output, {
            "loop_step_s": round(statistics.median(loop_s), 4), "loop_step_s_all": [round(t, 4) for t in loop_s],
            "loop_first_pass_step_s_all": [round(t, 4) for t in first_pass_s],
            "torch_threads": torch.get_num_threads(), "threads": threads.as_json(),
            "precision": precision.as_json(), "batch_size": cfg.training.batch_size,
            "loop_positions_per_batch": [b["input_ids"].numel() for b in trainer.batches[args.warmup:]]})
        return 0
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    # name -> (step kind, attention kernel); --compare-attention: the rdistill step again with
    # the other kernel, interleaved with the others on the same batches.
    other = {"sdpa": "eager", "eager": "sdpa"}[attention.choice]
    kinds = {"rdistill": ("rdistill", attention.choice), "plain": ("plain", attention.choice)}
    if args.compare_attention:
        kinds[f"rdistill_{other}"] = ("rdistill", other)
    optimizers = {k: torch.optim.AdamW(trainable, lr=cfg.training.lr) for k in kinds}
    times: dict[str, list[float]] = {k: [] for k in kinds}
    losses: dict[str, list[float]] = {k: [] for k in kinds}
    for i, batch in enumerate(batches):
        for name, (kind_of_step, kernel) in kinds.items():
            use_attention(model, AttentionChoice("bench", kernel, "bench"))
            seconds, loss = step(trainer, model, optimizers[name], batch, kind_of_step)
            losses[name].append(loss)
            if i >= args.warmup:
                times[name].append(seconds)
            log.info("%s step %d%s: %.2f s, loss %.4f, shape %s", name, i,
                     " (warm-up)" if i < args.warmup else "", seconds, loss,
                     tuple(batch["input_ids"].shape))
    peak_after = matmul_peak_samples(dtype)
    profile = (profile_steps(trainer, model, optimizers["rdistill"], batches[args.warmup:], args.profile_steps)
               if args.profile_steps else None)

    timed = batches[args.warmup:]
    tokens = [int(b["attention_mask"].sum()) for b in timed]
    positions = [b["input_ids"].numel() for b in timed]
    targets = [int((b["labels"][:, 1:] != -100).sum()) for b in timed]
    plain_s, rdistill_s = statistics.median(times["plain"]), statistics.median(times["rdistill"])
    peak = statistics.median(peak_before + peak_after)
    flops = [4 * n_params * t for t in tokens]
    mfu = statistics.median(fl / s / peak for fl, s in zip(flops, times["rdistill"]))
    mfu_plain = statistics.median(fl / s / peak for fl, s in zip(flops, times["plain"]))
    finite = all(math.isfinite(x) for xs in losses.values() for x in xs)
    if profile is not None:
        # The MFU the step would reach if everything but its matmuls took no time.
        matmul_s = profile["seconds_by_kind"]["matmul"]
        profiled_flops = 4 * n_params * sum(profile["tokens_per_step"])
        profile["mfu_if_only_matmuls"] = (round(profiled_flops / matmul_s / peak, 4)
                                          if matmul_s else None)
        # The same steps' MFU with the profiler on: the like-for-like partner of the bound above
        # (the timed steps' "mfu" ran without the profiler's overhead, on other batches).
        profile["mfu_profiled"] = round(profiled_flops / profile["wall_seconds"] / peak, 4)
    result = {
        "recipe": args.recipe, "overrides": args.overrides, "batches": args.batches,
        "model": cfg.model.name, "batch_size": cfg.training.batch_size,
        "precision": precision.as_json(), "attention": attention.as_json(), "threads": threads.as_json(),
        "torch_threads": torch.get_num_threads(),
        "plain_step_s": round(plain_s, 4), "rdistill_step_s": round(rdistill_s, 4),
        "speedup": round(plain_s / rdistill_s, 3),
        # The run's kernel over the other one, same batches, interleaved (--compare-attention).
        "other_attention": ({"kernel": other, "step_s": round(statistics.median(times[f"rdistill_{other}"]), 4),
                             "step_s_all": [round(t, 4) for t in times[f"rdistill_{other}"]],
                             "speedup_of_run_kernel": round(statistics.median(times[f"rdistill_{other}"]) / rdistill_s, 3)}
                            if args.compare_attention else None),
        "loop_step_s": round(statistics.median(loop_s), 4) if loop_s else None,
        "bench_over_loop": round(rdistill_s / statistics.median(loop_s), 3) if loop_s else None,
        "mfu": round(mfu, 4), "mfu_plain": round(mfu_plain, 4),
        "matmul_peak_flops": round(peak), "matmul_peak_dtype": str(dtype).removeprefix("torch."),
        "matmul_peak_flops_before": round(statistics.median(peak_before)),
        "matmul_peak_flops_after": round(statistics.median(peak_after)),
        "params_base": n_params, "params_trainable": counts["params_trainable"],
        "tokens_per_batch": tokens, "positions_per_batch": positions, "targets_per_batch": targets,
        "steps": args.steps, "warmup": args.warmup,
        "plain_step_s_all": [round(t, 4) for t in times["plain"]],
        "rdistill_step_s_all": [round(t, 4) for t in times["rdistill"]],
        "loop_step_s_all": [round(t, 4) for t in loop_s],
        "loop_first_pass_step_s_all": [round(t, 4) for t in first_pass_s],
        # recipe: the timed steps reuse the batches trainer.train() drew; first-rows: not.
        "same_batches_as_loop": bool(loop_matches) and args.batches == "recipe",
        "loop_positions_per_batch": [b["input_ids"].numel() for b in trainer.batches[args.warmup:]],
        "losses_finite": finite, "profile": profile,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "torch_version": torch.__version__, "transformers_version": transformers.__version__,
        "cpu_count": os.cpu_count(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
    }
    write_json_atomic(args.output, result)
    log.info("%s b%d: plain %.2f s, rdistill %.2f s (loop %s s), speedup %.2fx | mfu %.1f%% "
             "(plain %.1f%%) of %.0f GFLOP/s | -> %s", precision.choice, cfg.training.batch_size,
             plain_s, rdistill_s, result["loop_step_s"], plain_s / rdistill_s, 100 * mfu,
             100 * mfu_plain, peak / 1e9, args.output)
    return 0 if finite else 1


if __name__ == "__main__":
    raise SystemExit(main())
