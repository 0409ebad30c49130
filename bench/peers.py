"""rdistill's training step against the trainers a user would otherwise pick, same everything.

Same student (the recipe's, default SmolLM2-135M-Instruct), same LoRA (the recipe's r, alpha,
dropout, all linear layers), same e-SNLI rows (the recipe's training split of
``/work/shared/data``), same batch size, lengths, learning rate, precision and threads:

- ``rdistill``: ``RationaleTrainer`` as ``rdistill train`` builds it (LM head on target
  positions only, ``alpha * L_label + beta * L_explanation``, length-grouped batches);
- ``trl``: TRL's ``SFTTrainer`` as its documentation sets up completion-only loss: a
  prompt/completion dataset (prompt = rdistill's prompt text, completion = the label and
  explanation text after it), ``peft_config`` = the same LoRA, ``SFTConfig`` defaults
  otherwise (its default ``gradient_checkpointing=True``, random batches);
- ``trl_tuned``: the same with gradient checkpointing off and length-grouped batches
  (the fastest TRL setup we know of on a CPU, so the ratio is not won on defaults);
- ``plain``: ``transformers.Trainer`` + peft on rdistill's encoded rows, HF's own loss
  (token-mean CE, LM head over every position), the same arguments as ``rdistill``.

The loss span is the label + explanation tokens for all (TRL's completion also holds
the two marker words and the EOS, a few tokens more per row; ``loss_tokens_per_row``
says how many). Each peer runs in its own subprocess, one after another; examples/s is
``batch x timed steps`` over the seconds between the warm-up's end and the last step's
end; peak RSS is the child's. ``--equal-wall S`` trains each peer for S seconds instead
of a fixed number of steps and then scores label accuracy on ``--dev-rows`` dev rows with
rdistill's label scorer (the peers are trained on the same prompt text, so it reads
them alike).

    pip install 'rdistill[bench]'   # trl
    python bench/peers.py --output bench/results/peers.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEERS = ("rdistill", "trl", "trl_tuned", "plain")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--output", required=True, help="JSON file to write")
    p.add_argument("--recipe", default="configs/esnli-smollm2-lora.yaml")
    p.add_argument("--data-dir", default=os.environ.get("RDISTILL_DATA_DIR"))
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated, of {', '.join(PEERS)}")
    p.add_argument("--batch-size", type=int, default=None, help="default: the recipe's")
    p.add_argument("--steps", type=int, default=4, help="timed steps per peer")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--train-rows", type=int, default=400)
    p.add_argument("--equal-wall", type=float, default=None, metavar="SECONDS",
                   help="train each peer this long, then score dev label accuracy")
    p.add_argument("--dev-rows", type=int, default=100)
    p.add_argument("--peer", choices=PEERS, help=argparse.SUPPRESS)
    p.add_argument("--child-output", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    unknown = set(args.peers.split(",")) - set(PEERS)
    if unknown:
        p.error(f"--peers: unknown {sorted(unknown)}; choose from {', '.join(PEERS)}")
    return args


def recipe(args: argparse.Namespace, extra: list[str] = ()):
    from rdistill.methods.registry import load_recipe

    steps = 10**6 if args.equal_wall else args.warmup + args.steps
    # Equal wall time: no peer knows its step count ahead, so the schedule is a constant learning
    # rate (a warm-up ratio of the 10**6-step horizon would keep the rate near 0 for every peer).
    schedule = ["training.warmup_ratio=0", "training.lr_scheduler=constant_with_warmup"] if args.equal_wall else []
    overrides = [*args.overrides, f"data.train_size={args.train_rows}",
                 f"data.dev_size={args.dev_rows if args.equal_wall else 0}",
                 f"training.max_steps={steps}", "training.save_steps=1000000",
                 "training.logging_steps=1000000", "training.eval_steps=null", *schedule, *extra]
    if args.batch_size:
        overrides.append(f"training.batch_size={args.batch_size}")
    return load_recipe(args.recipe, overrides)


def clock_callback(wall_s: float | None):
    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        """Step-end times; stops training once ``wall_s`` seconds have passed."""

        def __init__(self) -> None:
            self.ends: list[float] = []
            self.start = 0.0

        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.ends.append(time.perf_counter())
            if wall_s is not None and self.ends[-1] - self.start >= wall_s:
                control.should_training_stop = True

    return Clock()


def build_trainer(peer: str, cfg, splits, model, tokenizer, out_dir: str):
    """The peer's trainer and the number of loss tokens per row it trains on."""
    from rdistill.methods.rationale.collator import RationaleCollator
    from rdistill.methods.rationale.dataset import encode_examples
    from rdistill.methods.rationale.trainer import RationaleTrainer
    from rdistill.models import apply_finetuning
    from rdistill.tasks.registry import get_task
    from rdistill.training.arguments import training_arguments

    task, f, t = get_task(cfg.data.dataset), cfg.finetune, cfg.training
    if peer.startswith("trl"):
        import datasets
        from peft import LoraConfig
        from trl import SFTConfig, SFTTrainer

        from rdistill.data.teachers import select_targets

        pairs, rng = [], random.Random(cfg.seed)  # the targets encode_examples draws
        for ex in splits.train:
            targets = select_targets(ex, source=cfg.data.explanation_source,
                                     multi_teacher=cfg.data.multi_teacher, rng=rng)
            for row in task.training_rows(ex, targets, with_label=True, with_explanation=bool(targets),
                                          order=cfg.loss.output_order, task_prefix=False):
                pairs.append({"prompt": row.prompt, "completion": "".join(text for text, _ in row.pieces)})
        tuned = {"gradient_checkpointing": False, "train_sampling_strategy": "group_by_length"}
        sft = SFTConfig(output_dir=out_dir, per_device_train_batch_size=t.batch_size, learning_rate=t.lr,
                        max_steps=t.max_steps, max_length=t.max_source_tokens + t.max_target_tokens,
                        completion_only_loss=True, bf16=t.precision == "bf16", use_cpu=True,
                        report_to=[], save_strategy="no", logging_steps=10**6, disable_tqdm=True,
                        seed=cfg.seed, warmup_steps=t.warmup_ratio, lr_scheduler_type=t.lr_scheduler,
                        **(tuned if peer == "trl_tuned" else {}))
        lora = LoraConfig(task_type="CAUSAL_LM", r=f.r, lora_alpha=f.alpha, lora_dropout=f.dropout,
                          target_modules=f.target_modules)
        trainer = SFTTrainer(model=model, args=sft, train_dataset=datasets.Dataset.from_list(pairs),
                             processing_class=tokenizer, peft_config=lora)
        first = trainer.train_dataset.select(range(min(64, len(trainer.train_dataset))))
        n = [sum(x != -100 for x in r["labels"]) for r in first]
        return trainer, statistics.mean(n)
    model, _ = apply_finetuning(model, "causal", f.mode, r=f.r, alpha=f.alpha, dropout=f.dropout,
                                target_modules=f.target_modules)
    rows = encode_examples(splits.train, cfg, task, tokenizer, is_seq2seq=False, seed=cfg.seed)
    loss_tokens = statistics.mean(sum(x != -100 for x in r["labels"]) for r in rows.rows[:64])
    collate = RationaleCollator(tokenizer.pad_token_id, is_seq2seq=False)
    args = training_arguments(cfg, out_dir, has_dev=False, group_by_length=t.group_by_length,
                              disable_tqdm=True)
    if peer == "rdistill":
        return RationaleTrainer(model=model, args=args, train_dataset=rows, data_collator=collate,
                                processing_class=tokenizer, alpha=cfg.loss.alpha, beta=cfg.loss.beta,
                                is_seq2seq=False, sparse_lm_head=t.sparse_lm_head), loss_tokens
    from transformers import Trainer

    def plain_collate(batch):
        out = collate(batch)
        out.pop("span_ids")
        return out

    return Trainer(model=model, args=args, train_dataset=rows, data_collator=plain_collate,
                   processing_class=tokenizer), loss_tokens


def run_peer(args: argparse.Namespace) -> dict:
    """One peer, in this (child) process."""
    import torch

    from rdistill.methods.rationale.predictor import rationale_predictor
    from rdistill.models import load_model, load_tokenizer
    from rdistill.tasks.recipe_data import prepare_splits

    cfg = recipe(args)
    if isinstance(cfg.training.num_threads, int):
        torch.set_num_threads(cfg.training.num_threads)
    splits = prepare_splits(cfg, args.data_dir)
    tokenizer = load_tokenizer(cfg.model.name)
    model, _ = load_model(cfg.model.name, dtype=torch.float32)
    trainer, loss_tokens = build_trainer(args.peer, cfg, splits, model, tokenizer,
                                         tempfile.mkdtemp(prefix=f"bench-peers-{args.peer}-"))
    clock = clock_callback(args.equal_wall)
    trainer.add_callback(clock)
    trainer.train()
    ends = clock.ends
    start = ends[args.warmup - 1] if args.warmup else clock.start
    step_s = [b - a for a, b in zip([clock.start, *ends], ends)]
    result = {
        "peer": args.peer, "steps_run": len(ends), "timed_steps": len(ends) - args.warmup,
        "examples_per_s": round(cfg.training.batch_size * (len(ends) - args.warmup) / (ends[-1] - start), 4),
        "step_s_all": [round(s, 3) for s in step_s],
        "step_s_median": round(statistics.median(step_s[args.warmup:]), 4),
        "loss_tokens_per_row": round(float(loss_tokens), 2),
        "gradient_checkpointing": bool(trainer.args.gradient_checkpointing),
        "sampling": str(trainer.args.train_sampling_strategy),
        "bf16": bool(trainer.args.bf16), "torch_threads": torch.get_num_threads(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if args.equal_wall:
        model = trainer.model.eval()
        predictor = rationale_predictor(model, tokenizer, "causal", cfg)
        probs = predictor.label_probabilities(splits.dev)
        right = sum(ex.label == max(p, key=p.get) for ex, p in zip(splits.dev, probs))
        result.update(dev_label_accuracy=round(right / len(splits.dev), 4), dev_rows=len(splits.dev),
                      examples_seen=cfg.training.batch_size * len(ends))
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.peer:
        result = run_peer(args)
        Path(args.child_output).write_text(json.dumps(result))
        return 0
    from rdistill.io import write_json_atomic
    from rdistill.training.precision import resolve_precision
    from rdistill.training.threads import choose_threads

    # One precision and thread count for all peers, chosen here as a run would choose them.
    cfg = recipe(args)
    threads = choose_threads(cfg.training.num_threads)
    if threads.threads:
        import torch

        torch.set_num_threads(threads.threads)
    precision = resolve_precision(cfg)
    shared = [f"training.precision={precision.choice}",
              f"training.num_threads={threads.threads if threads.threads else 'null'}"]
    work = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    peers: dict[str, dict] = {}
    for peer in args.peers.split(","):
        out = work / f"{peer}.json"
        cmd = [sys.executable, __file__, "--output", str(out), "--peer", peer, "--child-output", str(out),
               "--recipe", args.recipe, "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--train-rows", str(args.train_rows), "--dev-rows", str(args.dev_rows)]
        cmd += [x for o in [*args.overrides, *shared] for x in ("--set", o)]
        cmd += ["--batch-size", str(args.batch_size)] if args.batch_size else []
        cmd += ["--equal-wall", str(args.equal_wall)] if args.equal_wall else []
        cmd += ["--data-dir", args.data_dir] if args.data_dir else []
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        peers[peer] = json.loads(out.read_text())
        peers[peer]["wall_s"] = round(time.perf_counter() - t0, 1)
        print(f"{peer}: {peers[peer]['examples_per_s']} examples/s, {peers[peer]['peak_rss_mb']} MB", flush=True)
    base = peers.get("rdistill", {}).get("examples_per_s")
    result = {
        "peers": peers,
        "rdistill_over": {p: round(base / r["examples_per_s"], 3) for p, r in peers.items()
                          if base and p != "rdistill"},
        "recipe": args.recipe, "overrides": args.overrides, "model": cfg.model.name,
        "batch_size": cfg.training.batch_size, "steps": args.steps, "warmup": args.warmup,
        "train_rows": args.train_rows, "equal_wall_s": args.equal_wall,
        "precision": precision.as_json(), "threads": threads.as_json(),
        "cpu_count": os.cpu_count(), "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
    }
    write_json_atomic(args.output, result)
    print(f"rdistill examples/s over each peer: {result['rdistill_over']} -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
