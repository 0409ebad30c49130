"""Time one COCONUT training step per curriculum stage against one CoT-SFT step on the same rows.

Rows: ``--batch-size`` synthetic chained additions ("3 + 5 + 2 + 7 = ?", one step per
partial sum, ``--max-stage`` steps each, fixed seed), laid out by
``rdistill.methods.coconut.curriculum.encode_row`` and batched by ``CoconutCollator``.

- cot:       stage-0 rows (every step as text) as rdistill's CoT SFT trains them: one pass,
             LM head on target positions only (``training.student_forward.TargetOnlyLM``),
             token-mean CE; so the ratio measures the thoughts, not the LM head;
- stage k:   the same rows at stage k through ``coconut_forward``: ``k * c`` thoughts,
             i.e. ``k * c + 1`` backbone passes over one KV cache (stage 0: one pass,
             LM head on target positions only). Stage ``max_stage`` is all-latent.

Each step = forward + backward + AdamW step. Warm-up steps are excluded; timed steps
of all kinds are interleaved so that load from other work hits them alike; medians are
reported. ``cost_over_cot[k] = coconut_step_s[k] / cot_step_s``.

Student: ``--model PATH`` (a causal LM folder) or, by default, a random Llama of
``--layers`` x ``--hidden`` with a WordPiece tokenizer trained on the rows (offline).

    python bench/coconut_step.py --output bench/results/coconut_step.json
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import string
import time

import torch
import transformers

from rdistill.io import write_json_atomic
from rdistill.methods.coconut.collator import CoconutCollator
from rdistill.methods.coconut.curriculum import encode_row
from rdistill.methods.coconut.thoughts import coconut_forward
from rdistill.methods.coconut.tokens import add_coconut_tokens, make_token_rows_trainable
from rdistill.models import apply_finetuning, load_model, load_tokenizer
from rdistill.training.student_forward import TargetOnlyLM

log = logging.getLogger("bench.coconut_step")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--output", required=True, help="JSON file to write (atomically)")
    p.add_argument("--model", default=None, help="causal LM folder; default: a random Llama")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--finetune", choices=("lora", "full"), default="lora")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--c-thoughts", type=int, default=2)
    p.add_argument("--max-stage", type=int, default=3)
    p.add_argument("--steps", type=int, default=5, help="timed steps of each kind")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps of each kind")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    if min(args.batch_size, args.c_thoughts, args.max_stage, args.steps) < 1 or args.warmup < 0:
        p.error("--batch-size, --c-thoughts, --max-stage and --steps must be >= 1, --warmup >= 0")
    return args


def synthetic_rows(n: int, n_steps: int, seed: int = 0) -> list[tuple[str, tuple[str, ...], str]]:
    """``(question, steps, answer)``: chained additions with one step per partial sum."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        terms = [rng.randint(1, 99) for _ in range(n_steps + 1)]
        steps, total = [], terms[0]
        for term in terms[1:]:
            steps.append(f"{total} + {term} = {total + term}")
            total += term
        rows.append((" + ".join(map(str, terms)) + " = ?", tuple(steps), str(total)))
    return rows


def random_student(layers: int, hidden: int, corpus: list[str]):
    """A random Llama with a WordPiece tokenizer trained on ``corpus`` (no network)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.trainers import WordPieceTrainer

    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    backend.train_from_iterator(corpus, WordPieceTrainer(
        vocab_size=1000, special_tokens=["[PAD]", "[UNK]", "[BOS]", "[EOS]"],
        initial_alphabet=list(string.ascii_lowercase + string.digits + string.punctuation)))
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]",
                                                     unk_token="[UNK]", bos_token="[BOS]", eos_token="[EOS]")
    config = transformers.LlamaConfig(
        hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
        num_attention_heads=max(hidden // 32, 1), num_key_value_heads=max(hidden // 64, 1),
        vocab_size=len(tokenizer), max_position_embeddings=1024, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(config), tokenizer


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    rows = synthetic_rows(args.batch_size, args.max_stage)
    if args.model:
        model, _ = load_model(args.model, kind="causal")
        tokenizer = load_tokenizer(args.model)
    else:
        model, tokenizer = random_student(args.layers, args.hidden,
                                          [q + " " + " ".join(s) + " ### " + a for q, s, a in rows * 4])
    tokens = add_coconut_tokens(tokenizer, model)
    if args.finetune == "lora":
        model, _ = apply_finetuning(model, "causal", "lora", r=16, alpha=32, dropout=0.0)
    make_token_rows_trainable(model, tokens.ids)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    collator = CoconutCollator(pad_token_id=tokenizer.pad_token_id)
    batches = {stage: collator([encode_row(tokenizer, q, s, a, stage, args.c_thoughts, tokens=tokens,
                                           max_stage=args.max_stage).as_features() for q, s, a in rows])
               for stage in range(args.max_stage + 1)}

    def cot_step() -> None:
        b = batches[0]
        labels = b["labels"]
        token_losses = TargetOnlyLM(model)(b["input_ids"], b["attention_mask"], labels)["token_losses"]
        loss = token_losses.sum() / (labels[:, 1:] != -100).sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def coconut_step(stage: int):
        def run() -> None:
            coconut_forward(model, **batches[stage]).loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        return run

    kinds = {"cot": cot_step, **{str(k): coconut_step(k) for k in batches}}
    times: dict[str, list[float]] = {name: [] for name in kinds}
    for i in range(args.warmup + args.steps):
        for name, step in kinds.items():  # interleaved: shared-machine load hits every kind alike
            t0 = time.perf_counter()
            step()
            if i >= args.warmup:
                times[name].append(time.perf_counter() - t0)
    cot = statistics.median(times["cot"])
    coconut = {k: statistics.median(times[k]) for k in kinds if k != "cot"}
    result = {
        "model": args.model or f"random llama {args.layers}x{args.hidden}",
        "finetune": args.finetune, "batch_size": args.batch_size, "c_thoughts": args.c_thoughts,
        "max_stage": args.max_stage, "threads": args.threads, "steps": args.steps, "warmup": args.warmup,
        "tokens_per_row": {k: round(b["attention_mask"].sum().item() / args.batch_size, 1)
                           for k, b in batches.items()},
        "thoughts_per_row": {k: round(b["thought_positions"].sum().item() / args.batch_size, 2)
                             for k, b in batches.items()},
        "cot_step_s": round(cot, 5),
        "coconut_step_s": {k: round(v, 5) for k, v in coconut.items()},
        "cost_over_cot": {k: round(v / cot, 3) for k, v in coconut.items()},
        "torch": torch.__version__, "transformers": transformers.__version__,
    }
    write_json_atomic(args.output, result)
    log.info("cot %.4fs; coconut by stage %s; cost over cot %s", cot, result["coconut_step_s"],
             result["cost_over_cot"])
    return result


if __name__ == "__main__":
    main()
