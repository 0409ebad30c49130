"""Time the evaluation of a trained student: the whole held-out split, and batched vs one-at-a-time generation.

1. ``full``: ``evaluate_student`` on the run's held-out split (1,002 e-SNLI
   rows for the shipped recipes): label scoring, explanation generation,
   the simulatability judge (trained on first use, cached after; the JSON says
   which) and every metric. ``--metrics-output`` keeps its metrics JSON.
2. ``generation``: on the first ``--rows`` of the same split, explanation
   generation length-sorted in batches of ``--batch-size`` vs one example at a
   time (batch 1, no padding), same predicted labels as input, interleaved
   batched / single / batched so that load from other work hits both alike;
   the batched time is the mean of its two passes. ``identical_share`` is the
   share of explanations that are the same text both ways (padding can flip a
   near-tie in greedy decoding). Batched rows leave the batch as they stop
   (``rdistill.prediction.decoding``); the single loop is ``model.generate`` per row.
3. ``prefill``: the forward pass over the same prompts alone (no decoding),
   batched and one at a time. Both loops pay it, so ``single_seconds /
   batched_prefill_seconds`` bounds the speed-up even if batched decoding cost
   nothing: it tells whether a ratio is limited by the prompt or by decoding.

Run (about 12 minutes on 2 AVX2 cores for the SmolLM2 LoRA run)::

    python bench/eval_generation.py --run runs/esnli-smollm2-lora \\
        --output bench/results/eval_generation.json
"""

from __future__ import annotations

import argparse
import logging
import time

import torch

from rdistill.evaluation.evaluator import write_evaluation
from rdistill.evaluation.student_eval import evaluate_student, judge_settings
from rdistill.io import write_json_atomic
from rdistill.methods.registry import run_predictor
from rdistill.tasks.recipe_data import prepare_splits

log = logging.getLogger("bench.eval_generation")


def _time_explanations(predictor, rows, labels, batch_size: int) -> tuple[float, list[str]]:
    predictor.gen.batch_size = batch_size
    t0 = time.perf_counter()
    texts = predictor.explanations(rows, labels)
    return time.perf_counter() - t0, texts


@torch.no_grad()
def _time_prefill(predictor, rows, labels, batch_size: int) -> float:
    """Seconds of the forward pass over the explanation prompts (KV cache built, one logit row)."""
    contexts = sorted((predictor._explanation_context(ex, lab)[1] for ex, lab in zip(rows, labels)),
                      key=len)
    pad = predictor.pad_id
    t0 = time.perf_counter()
    for i in range(0, len(contexts), batch_size):
        chunk = contexts[i:i + batch_size]
        width = max(len(c) for c in chunk)
        ids = torch.tensor([[pad] * (width - len(c)) + c for c in chunk])
        mask = torch.tensor([[0] * (width - len(c)) + [1] * len(c) for c in chunk])
        predictor.model(input_ids=ids, attention_mask=mask, use_cache=True, logits_to_keep=1)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/esnli-smollm2-lora")
    parser.add_argument("--data-dir", help="data root (default $RDISTILL_DATA_DIR)")
    parser.add_argument("--rows", type=int, default=64, help="rows for batched vs single generation")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--skip-full", action="store_true", help="only the generation comparison")
    parser.add_argument("--metrics-output", help="write the full evaluation's metrics JSON here")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    predictor, cfg = run_predictor(args.run)
    splits = prepare_splits(cfg, args.data_dir)
    result = {"run": args.run, "threads": torch.get_num_threads(), "n_test_rows": len(splits.test),
              "max_new_tokens": cfg.generation.max_new_tokens}

    if not args.skip_full:
        settings = judge_settings(cfg)
        t0 = time.perf_counter()
        metrics, records = evaluate_student(predictor, splits.test, cfg, predictor.fmt.labels,
                                            train_examples=splits.train)
        seconds = time.perf_counter() - t0
        result["full"] = {
            "seconds": seconds,
            "predict_seconds": metrics["predict_seconds"],
            "rows": len(records),
            "rows_per_s": len(records) / seconds,
            # Includes training the three judges on a cold cache.
            "judge_seconds": metrics["judge_seconds"],
            "judge_model": settings.model,
            "label_accuracy": metrics["label_accuracy"],
        }
        log.info("full evaluation: %s", result["full"])
        if args.metrics_output:
            write_evaluation(metrics, records, args.metrics_output)

    rows = splits.test[: args.rows]
    labels = [max(p, key=p.get) for p in predictor.label_probabilities(rows)]
    batched_1, texts_batched = _time_explanations(predictor, rows, labels, args.batch_size)
    single, texts_single = _time_explanations(predictor, rows, labels, 1)
    batched_2, _ = _time_explanations(predictor, rows, labels, args.batch_size)
    batched = (batched_1 + batched_2) / 2
    result["generation"] = {
        "rows": len(rows),
        "batch_size": args.batch_size,
        "batched_seconds": batched,
        "batched_seconds_passes": [batched_1, batched_2],
        "single_seconds": single,
        "speedup": single / batched,
        "identical_share": sum(a == b for a, b in zip(texts_batched, texts_single)) / len(rows),
    }
    log.info("generation: %s", result["generation"])
    if not predictor.is_seq2seq:  # decoder-only students: the prompt is the decoder's prefix
        prefill_batched = _time_prefill(predictor, rows, labels, args.batch_size)
        prefill_single = _time_prefill(predictor, rows, labels, 1)
        result["prefill"] = {
            "batched_seconds": prefill_batched,
            "single_seconds": prefill_single,
            "share_of_single_generation": prefill_single / single,
            "share_of_batched_generation": prefill_batched / batched,
            "speedup_bound_if_decoding_were_free": single / prefill_batched,
        }
        log.info("prefill: %s", result["prefill"])
    write_json_atomic(args.output, result)


if __name__ == "__main__":
    main()
