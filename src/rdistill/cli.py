"""``rdistill`` command line: parse, load the config, call the library, set the exit code.

User errors (bad config, bad data row, missing model) print one message and
exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from rdistill.errors import DataError, RdistillError

log = logging.getLogger("rdistill")


def _setup_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    # transformers/peft chatter is not the user's business unless they ask (-v is not offered yet).
    for noisy in ("transformers", "peft", "accelerate", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _headline(metrics: dict) -> str:
    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f}%"

    def num(x):
        return "n/a" if x is None else f"{x:.4f}"

    return (f"label accuracy {pct(metrics.get('label_accuracy'))} | macro-F1 {num(metrics.get('macro_f1'))}"
            f" | ROUGE-L {num(metrics.get('rouge_l'))} | BERTScore F1 {num(metrics.get('bertscore_f1'))}"
            f" | n={metrics.get('n')}")


def cmd_train(args) -> int:
    from rdistill.config import dump_config, load_config

    cfg = load_config(args.config, args.set)
    if args.dry_run:
        sys.stdout.write(dump_config(cfg))
        return 0
    from rdistill.training.run import train

    out = args.output_dir or os.path.join("runs", cfg.name)
    metrics = train(cfg, out, data_dir=args.data_dir, resume=args.resume, show_progress=not args.quiet)
    print(_headline(metrics))
    print(f"run folder: {Path(out).resolve()}")
    return 0


def _read_inputs(path: str) -> list:
    """Premise/hypothesis pairs from a JSON-lines file (``label`` optional)."""
    from rdistill.data.example import Example

    examples = []
    p = Path(path)
    if not p.is_file():
        raise DataError(f"input file '{p}' does not exist")
    for line_no, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{p} line {line_no}: not valid JSON ({e.msg})") from None
        for key in ("premise", "hypothesis"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise DataError(f"{p} line {line_no}: field '{key}' is missing or empty")
        examples.append(Example(uid=str(row.get("uid", line_no)), label=str(row.get("label", "")),
                                fields={"premise": row["premise"], "hypothesis": row["hypothesis"]}))
    return examples


def _predictor(run_dir: str, quiet: bool):
    from rdistill.prediction import Predictor, settings_for
    from rdistill.runs import load_student
    from rdistill.training.run import task_format

    model, tokenizer, kind, cfg = load_student(run_dir)
    fmt = task_format(cfg)
    return Predictor(model, tokenizer, fmt, is_seq2seq=kind == "seq2seq", settings=settings_for(cfg),
                     generation=cfg.generation, show_progress=not quiet), cfg, fmt


def cmd_eval(args) -> int:
    from rdistill.data.registry import load_dataset_file
    from rdistill.evaluation import evaluate_predictions, write_evaluation

    predictor, cfg, fmt = _predictor(args.run_dir, args.quiet)
    result = load_dataset_file(cfg.data.dataset, Path(args.data_file), skip_invalid=args.skip_invalid)
    examples = result.examples[: args.limit] if args.limit else result.examples
    records = predictor.predict(examples)
    metrics = evaluate_predictions(records, fmt.labels,
                                   bertscore=cfg.evaluation.bertscore and predictor.s.explain,
                                   bertscore_model=cfg.evaluation.bertscore_model,
                                   bertscore_layer=cfg.evaluation.bertscore_layer)
    metrics["data_file"] = str(args.data_file)
    metrics["skipped_rows"] = dict(result.skipped)
    write_evaluation(metrics, records, Path(args.output))
    print(_headline(metrics))
    print(f"metrics: {Path(args.output).resolve()}")
    return 0


def cmd_predict(args) -> int:
    from rdistill.data.example import Example

    if args.input:
        examples = _read_inputs(args.input)
    elif args.premise and args.hypothesis:
        examples = [Example(uid="1", label="", fields={"premise": args.premise,
                                                      "hypothesis": args.hypothesis})]
    else:
        raise DataError("give --premise and --hypothesis, or --input FILE.jsonl")
    predictor, _, _ = _predictor(args.run_dir, args.quiet or not args.input)
    for rec in predictor.predict(examples):
        conf = rec["label_probs"][rec["pred_label"]]
        if args.json:
            print(json.dumps({k: rec[k] for k in ("uid", "pred_label", "label_probs", "pred_explanation")}))
        else:
            expl = rec["pred_explanation"]
            print(f"{rec['uid']}\t{rec['pred_label']} ({conf:.2f})" + (f"\t{expl}" if expl is not None else ""))
    return 0


def cmd_sweep(args) -> int:
    from rdistill.sweep import describe_plan, plan_sweep, results_table, run_sweep

    plan = plan_sweep(args.config, args.grid, args.set)
    out = Path(args.output_dir or os.path.join("sweeps", plan.name))
    if args.dry_run:
        print(describe_plan(plan, out))
        return 0
    results = run_sweep(plan, out, data_dir=args.data_dir, show_progress=not args.quiet)
    print(results_table(results))
    print(f"results: {(out / 'results.csv').resolve()}")
    # 1, not 2: the sweep itself ran; some variants did not (their errors are in results.json).
    return 1 if any(r["status"] == "failed" for r in results) else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rdistill", description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="no progress bars or info logs")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a student from a YAML recipe")
    p.add_argument("config")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set training.lr=1e-4 (repeatable)")
    p.add_argument("--output-dir", help="run folder (default runs/<name>)")
    p.add_argument("--data-dir", help="root for relative data paths (default $RDISTILL_DATA_DIR)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="evaluate a trained run on a data file")
    p.add_argument("run_dir")
    p.add_argument("--data-file", required=True, help="e-SNLI JSON lines or original CSV")
    p.add_argument("--limit", type=int)
    p.add_argument("--skip-invalid", action="store_true", help="skip and count bad rows")
    p.add_argument("--output", required=True, help="metrics JSON (predictions go next to it)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("predict", help="label + explanation for new inputs")
    p.add_argument("run_dir")
    p.add_argument("--premise")
    p.add_argument("--hypothesis")
    p.add_argument("--input", help="JSON-lines file with premise/hypothesis per line")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("sweep", help="train every variant of a grid / sweep: block, collect results")
    p.add_argument("config")
    p.add_argument("--grid", nargs="+", action="extend", default=[], metavar="KEY=V1,V2",
                   help="values to sweep, e.g. --grid loss.alpha=0.5,1 finetune.r=8,16 (every combination)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value for every variant (repeatable)")
    p.add_argument("--output-dir", help="sweep folder (default sweeps/<sweep name>)")
    p.add_argument("--data-dir", help="root for relative data paths (default $RDISTILL_DATA_DIR)")
    p.add_argument("--dry-run", action="store_true", help="list the variants and their state, train nothing")
    p.set_defaults(func=cmd_sweep)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.quiet)
    try:
        return args.func(args)
    except RdistillError as e:
        print(f"rdistill: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rdistill: interrupted (resume with --resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
