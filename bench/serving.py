"""Serve the student: the PyTorch path in fp32 and in bf16 (``generation.precision``) vs its
CTranslate2 export (int8, float32), same rows.

On the first ``--rows`` held-out e-SNLI rows of a trained run (its own split, rebuilt from
its config), each engine runs the whole prediction (label scored from the label words'
next-token logits, then the explanation generated greedily):

- ``examples_per_s``: every row in one ``predict`` call (length-sorted batches of the
  recipe's ``generation.batch_size``), the best of ``--repeats`` passes, engines
  interleaved so that load from other work hits them alike (every pass is in the JSON);
- ``latency_ms_p50`` / ``p95``: one row per call, the first ``--latency-rows`` rows;
- ``label_agreement``: share of rows whose label equals the fp32 PyTorch label (target >= 0.99);
- ``rouge_l_vs_pytorch``: ROUGE-L F1 of the explanations against the PyTorch explanations
  (target >= 0.9), and ``identical_explanations``: the share that are the same text.

The exports are written with ``rdistill export --format ctranslate2`` into a scratch folder
(``--keep-exports DIR`` keeps them). Without a trained run (``--run`` missing) the student is
the untrained SmolLM2-135M-Instruct with a freshly initialised LoRA, and the JSON says so.

Run (a few minutes at 50 rows on 2 cores)::

    python bench/serving.py --run runs/quickstart --rows 50 --data-dir ../shared/data \\
        --output bench/results/serving.json
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from rdistill.evaluation.rouge import rouge_l
from rdistill.io import write_json_atomic
from rdistill.methods.registry import export_run, load_recipe, run_predictor
from rdistill.tasks.recipe_data import prepare_splits

log = logging.getLogger("bench.serving")


def untrained_run(folder: Path, recipe: str) -> Path:
    """A run folder holding the recipe's base student with a fresh LoRA (B = 0: the base model)."""
    from rdistill.config import dump_config
    from rdistill.methods.rationale.pipeline import student_meta
    from rdistill.models import apply_finetuning, load_model, load_tokenizer
    from rdistill.training.run_folder import RunFolder, save_student

    cfg = load_recipe(recipe)
    run = RunFolder(folder)
    run.root.mkdir(parents=True, exist_ok=True)
    run.config.write_text(dump_config(cfg))
    model, kind = load_model(cfg.model.name)
    ft = cfg.finetune
    model, _ = apply_finetuning(model, kind, ft.mode, r=ft.r, alpha=ft.alpha, dropout=ft.dropout,
                                target_modules=ft.target_modules)
    save_student(model, load_tokenizer(cfg.model.name), run, student_meta(cfg, kind))
    return run.root


def _predict_timed(predictor, rows) -> tuple[float, list[dict]]:
    t0 = time.perf_counter()
    records = predictor.predict(rows)
    return time.perf_counter() - t0, records


def _latencies_ms(predictor, rows) -> list[float]:
    out = []
    for row in rows:
        t0 = time.perf_counter()
        predictor.predict([row])
        out.append(1000 * (time.perf_counter() - t0))
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _margin(probs: dict[str, float]) -> float:
    top, second = sorted(probs.values(), reverse=True)[:2]
    return top - second


def _agreement_by_margin(records: list[dict], reference: list[dict]) -> dict:
    """Label agreement split by how decided the PyTorch student is (top minus second label
    probability): quantization noise flips near-ties first."""
    out = {}
    for name, low, high in (("margin<0.05", 0, 0.05), ("0.05-0.2", 0.05, 0.2), ("margin>=0.2", 0.2, 2)):
        pairs = [(a, b) for a, b in zip(records, reference) if low <= _margin(b["label_probs"]) < high]
        out[name] = {"rows": len(pairs), "agreement": (sum(a["pred_label"] == b["pred_label"] for a, b in pairs)
                                                       / len(pairs)) if pairs else None}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/quickstart", help="a trained e-SNLI run (read only)")
    parser.add_argument("--recipe", default="configs/quickstart.yaml",
                        help="without a trained run: the recipe of the untrained student")
    parser.add_argument("--data-dir", help="data root (default $RDISTILL_DATA_DIR)")
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--latency-rows", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2, help="batched passes per engine (best kept)")
    parser.add_argument("--quantizations", default="int8,float32", help="CTranslate2 exports ('' for none)")
    parser.add_argument("--keep-exports", help="write the exports here instead of a scratch folder")
    parser.add_argument("--note", default="", help="the load condition, in words, for the JSON")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("transformers", "peft", "accelerate"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    scratch = tempfile.TemporaryDirectory(prefix="rdistill-serving-")
    work = Path(args.keep_exports or scratch.name)
    trained = (Path(args.run) / "summary.json").is_file()
    run = Path(args.run) if trained else untrained_run(work / "untrained-run", args.recipe)
    result: dict = {
        "run": str(run), "trained": trained,
        "student": ("the run's trained student" if trained else
                    "UNTRAINED: the recipe's base model with a freshly initialised LoRA (no trained run found)"),
        "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(), "loadavg_before": list(os.getloadavg()), "note": args.note,
    }
    # The reference is the fp32 student (rdistill's path before generation.precision); the
    # bf16 row is what generation.precision auto gives where bf16 multiplies faster.
    predictor, cfg = run_predictor(run, precision="fp32")
    engines = {"pytorch": predictor, "pytorch_bf16": run_predictor(run, precision="bf16")[0]}
    rows = prepare_splits(cfg, args.data_dir).test[: args.rows]
    result.update(rows=len(rows), rows_source="first rows of the run's held-out split",
                  batch_size=cfg.generation.batch_size, max_new_tokens=cfg.generation.max_new_tokens,
                  latency_rows=min(args.latency_rows, len(rows)), exports={})
    for quantization in filter(None, args.quantizations.split(",")):
        out = work / f"ct2-{quantization}"
        t0 = time.perf_counter()
        export_run(run, out, fmt="ctranslate2", quantization=quantization, overwrite=True)
        result["exports"][quantization] = {
            "seconds": time.perf_counter() - t0,
            "disk_mb": sum(f.stat().st_size for f in out.iterdir() if f.is_file()) / 1e6}
        engines[f"ctranslate2_{quantization}"] = run_predictor(out)[0]
    for engine in engines.values():
        engine.show_progress = False
        engine.predict(rows[:2])  # warm-up: first-call allocations, the stop-token table

    passes: dict[str, list[float]] = {name: [] for name in engines}
    records: dict[str, list[dict]] = {}
    for _ in range(args.repeats):
        for name, engine in engines.items():  # interleaved: drifting load hits every engine
            seconds, records[name] = _predict_timed(engine, rows)
            passes[name].append(seconds)
            log.info("%s: %d rows in %.1f s", name, len(rows), seconds)
    latency = {name: _latencies_ms(engine, rows[: args.latency_rows]) for name, engine in engines.items()}

    reference = records["pytorch"]
    result["pytorch_label_margin_median"] = statistics.median(_margin(r["label_probs"]) for r in reference)
    result["engines"] = {}
    for name in engines:
        recs = records[name]
        entry = {
            "batched_seconds_passes": passes[name],
            "examples_per_s": len(rows) / min(passes[name]),
            "latency_ms_p50": statistics.median(latency[name]),
            "latency_ms_p95": _percentile(latency[name], 0.95),
            "label_accuracy": sum(r["pred_label"] == r["gold_label"] for r in recs) / len(recs),
        }
        if name != "pytorch":
            entry["label_agreement"] = sum(a["pred_label"] == b["pred_label"]
                                           for a, b in zip(recs, reference)) / len(recs)
            entry["rouge_l_vs_pytorch"] = rouge_l([r["pred_explanation"] or "" for r in recs],
                                                  [[r["pred_explanation"] or ""] for r in reference])["rouge_l"]
            entry["label_agreement_by_pytorch_margin"] = _agreement_by_margin(recs, reference)
            entry["identical_explanations"] = sum(a["pred_explanation"] == b["pred_explanation"]
                                                  for a, b in zip(recs, reference)) / len(recs)
            base = result["engines"]["pytorch"]
            entry["examples_per_s_over_pytorch"] = entry["examples_per_s"] / base["examples_per_s"]
            entry["p50_speedup_over_pytorch"] = base["latency_ms_p50"] / entry["latency_ms_p50"]
        result["engines"][name] = entry
        log.info("%s: %s", name, entry)
    result["loadavg_after"] = list(os.getloadavg())
    result["targets"] = {"label_agreement": 0.99, "rouge_l_vs_pytorch": 0.9, "examples_per_s_over_pytorch": 5.0}
    write_json_atomic(args.output, result)
    scratch.cleanup()


if __name__ == "__main__":
    main()
