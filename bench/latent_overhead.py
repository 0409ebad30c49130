"""Time one LoRA training step of the same student on the same batch in three modes.

- plain:  LoRA SFT, token cross-entropy on the target (``latent.mode=sft``);
- cached: + hidden-state distillation with the teacher's states read from an extraction
          cache (the step includes reading and laying out the batch's cached states);
- online: + the same distillation with the teacher kept in memory and run every step.

Student: the teacher with every other block kept (``student_from_teacher``), LoRA r=16 on
all linear layers. Teacher: ``--teacher`` (default SmolLM2-135M-Instruct, 30 blocks).
Data: ``--batch-size`` synthetic multi-step arithmetic examples (in memory, fixed seed).
Each mode runs in its own subprocess so that its peak RSS (``ru_maxrss``) is its own: the
cached process never loads the teacher. The cache is extracted by a fourth subprocess
first. Warm-up steps are excluded; the median of ``--steps`` timed steps is reported.

    python bench/latent_overhead.py --output bench/results/latent_overhead.json
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("plain", "cached", "online")


def examples(n: int):
    from rdistill.data.example import Example

    rng = random.Random(0)
    out = []
    for i in range(n):
        a, b, c = rng.randint(10, 99), rng.randint(10, 99), rng.randint(2, 9)
        steps = (f"First, {a} apples plus {b} apples is {a + b} apples. Then each of the {c} baskets "
                 f"gets that many, so {a + b} times {c} is {(a + b) * c}. Finally we remove {a} apples, "
                 f"which leaves {(a + b) * c} minus {a}, that is {(a + b) * c - a} apples in total.")
        out.append(Example(uid=f"b{i}", label=str((a + b) * c - a), explanations=(steps,),
                           fields={"question": f"A farmer has {a} apples and buys {b} more. He fills {c} "
                                               f"baskets with that many apples each and then sells {a}. "
                                               "How many apples are left?"}))
    return out


def raw_config(args, mode: str, cache: Path) -> dict:
    latent = {"teacher": args.teacher, "student_from_teacher": "every_other", "cache_dir": str(cache),
              "layers": args.layers, "dtype": args.dtype, "loss": "mse", "alpha": 0.5,
              "max_prompt_tokens": 128, "max_target_tokens": 128, "extract_batch_size": args.batch_size}
    if mode == "plain":
        latent.update(mode="sft")
    else:
        latent.update(mode="latent", teacher_source="cache" if mode == "cached" else "online")
    return {"name": "bench", "seed": 0, "data": {"train_file": "in-memory"},
            "finetune": {"mode": "lora", "r": 16, "alpha": 32, "dropout": 0.0},
            "training": {"batch_size": args.batch_size, "max_steps": 1, "lr": 1e-4}, "latent": latent}


def worker(args) -> None:
    import torch

    from rdistill.methods.registry import load_recipe
    from rdistill.methods.latent.run import build_trainer, extract_cache

    torch.set_num_threads(args.threads) if args.threads else None
    work = Path(args.workdir)
    data = examples(args.batch_size)
    cfg = load_recipe(None, raw=raw_config(args, "cached" if args.worker == "extract" else args.worker,
                                           work / "cache"))
    if args.worker == "extract":
        t0 = time.perf_counter()
        manifest = extract_cache(cfg, examples=data)
        result = {"extract_s": time.perf_counter() - t0, "cache_stats": manifest["stats"]}
    else:
        trainer = build_trainer(cfg, work / args.worker, data)
        model = trainer.model
        model.train()
        optimizer = trainer.create_optimizer()
        dataset, collate = trainer.train_dataset, trainer.data_collator
        times = []
        for step in range(args.warmup + args.steps):
            t0 = time.perf_counter()
            batch = trainer._prepare_inputs(collate([dataset[i] for i in range(len(dataset))]))
            loss = trainer.compute_loss(model, batch)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if step >= args.warmup:
                times.append(time.perf_counter() - t0)
        tokens = int(batch["attention_mask"].sum())
        result = {"step_s": statistics.median(times), "step_times_s": times, "tokens_per_batch": tokens,
                  "loss": float(loss)}
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    (work / f"{args.worker}.json").write_text(json.dumps(result))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output", required=False, help="JSON file to write")
    p.add_argument("--teacher", default="smollm2-135m-instruct")
    p.add_argument("--layers", default="10-30", help="teacher layers stored and distilled")
    p.add_argument("--dtype", default="bf16", choices=("fp16", "bf16", "fp32"), help="cache dtype")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--worker", choices=("extract",) + MODES, help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    if not args.output:
        p.error("--output is required")
    passthrough = [f"--teacher={args.teacher}", f"--layers={args.layers}", f"--dtype={args.dtype}",
                   f"--batch-size={args.batch_size}", f"--steps={args.steps}", f"--warmup={args.warmup}"]
    passthrough += [f"--threads={args.threads}"] if args.threads else []
    with tempfile.TemporaryDirectory(prefix="latent-bench-") as work:
        runs = {}
        for name in ("extract",) + MODES:
            subprocess.run([sys.executable, __file__, f"--worker={name}", f"--workdir={work}", *passthrough],
                           check=True)
            runs[name] = json.loads((Path(work) / f"{name}.json").read_text())
    plain, cached, online = (runs[m]["step_s"] for m in MODES)
    result = {
        "plain_step_s": plain, "cached_step_s": cached, "online_step_s": online,
        "cached_over_plain": cached / plain, "online_over_plain": online / plain,
        **{f"peak_rss_mb_{m}": runs[m]["peak_rss_mb"] for m in MODES},
        "settings": {k: v for k, v in vars(args).items() if k not in ("worker", "workdir", "output")},
        "tokens_per_batch": runs["plain"]["tokens_per_batch"],
        "step_times_s": {m: runs[m]["step_times_s"] for m in MODES},
        "extract_s": runs["extract"]["extract_s"], "cache_stats": runs["extract"]["cache_stats"],
        "peak_rss_mb_extract": runs["extract"]["peak_rss_mb"],
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in list(result)[:8]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
