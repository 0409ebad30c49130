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
from rdistill.reporting.headline import headline, headline_seeds


def _setup_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    # Library chatter is not the user's business (fontTools logs every table of a PDF's fonts).
    for noisy in ("transformers", "peft", "accelerate", "httpx", "urllib3", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    # --quiet also silences the libraries' own bars ("Loading weights", downloads): through the
    # environment before they are imported, through their switch once they are.
    if quiet:
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        (hf_logging.disable_progress_bar if quiet else hf_logging.enable_progress_bar)()


def cmd_train(args) -> int:
    from rdistill.config import dump_config
    from rdistill.methods.base import TrainRequest
    from rdistill.methods.registry import load_recipe, train_recipe
    from rdistill.training.distributed import is_main_process

    cfg = load_recipe(args.config, args.set)
    if args.dry_run:
        sys.stdout.write(dump_config(cfg))
        return 0
    out = args.output_dir or os.path.join("runs", cfg.name)
    summary = train_recipe(cfg, out, TrainRequest(data_dir=args.data_dir, resume=args.resume,
                                                  show_progress=not args.quiet))
    if not is_main_process():  # under accelerate launch: one summary, from the main process
        return 0
    print(f"{cfg.method}: {summary['global_step']} steps, train loss {summary['train_loss']:.4f}"
          + (f" | {headline(summary['eval'])}" if summary.get("eval") else ""))
    print(f"run folder: {Path(out).resolve()}")
    return 0


def cmd_eval(args) -> int:
    from rdistill.evaluation.seeds import aggregate
    from rdistill.io import check_output_file, write_json_atomic
    from rdistill.methods.base import EvalRequest
    from rdistill.methods.registry import evaluate_run

    output = Path(args.output)
    check_output_file(output, "--output")  # before the evaluation, not after it
    several = len(args.run_dirs) > 1
    results = {}
    for run_dir in args.run_dirs:
        # Several runs (seeds of one recipe): each gets its own file next to the summary.
        out = output.with_name(f"{output.stem}.{Path(run_dir).name}.json") if several else output
        metrics = evaluate_run(run_dir, EvalRequest(
            output=str(out), data_file=args.data_file, limit=args.limit, skip_invalid=args.skip_invalid,
            teacher_files=tuple(args.teacher_file), data_dir=args.data_dir, judge=not args.no_judge,
            show_progress=not args.quiet, overrides=tuple(args.set)))
        results[str(out)] = metrics
        print(f"{run_dir}: {headline(metrics)}")
    if several:
        summary = {"runs": list(results), **aggregate(list(results.values()))}
        write_json_atomic(output, summary)
        print(headline_seeds(summary))
    print(f"metrics: {output.resolve()}")
    return 0


def _cell(value) -> str:
    """One tab-separated cell: tabs, newlines and terminal escapes written as escapes, so that an
    input's uid or a generated text can never forge output lines or drive the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))


def cmd_predict(args) -> int:
    from rdistill.data.example import Example
    from rdistill.data.inputs import read_prediction_inputs

    if args.input:
        examples = read_prediction_inputs(args.input)
    elif args.question:
        examples = [Example(uid="1", label="", fields={"question": args.question})]
    elif args.premise and args.hypothesis:
        examples = [Example(uid="1", label="", fields={"premise": args.premise,
                                                      "hypothesis": args.hypothesis})]
    else:
        raise DataError("give --premise and --hypothesis (or --question for math runs), or --input FILE.jsonl")
    from rdistill.methods.registry import run_predictor

    predictor, _ = run_predictor(args.run_dir, show_progress=not (args.quiet or not args.input))
    for rec in predictor.predict(examples):
        if "label_probs" not in rec:  # a written answer (math, latent runs): no label probabilities
            text = rec.get("generated", rec.get("output"))
            print(json.dumps({"uid": rec["uid"], "pred_label": rec["pred_label"],
                              "pred_explanation": rec["pred_explanation"], "generated": text})
                  if args.json else f"{_cell(rec['uid'])}\t{_cell(rec['pred_label'])}\t{text!r}")
            continue
        conf = rec["label_probs"][rec["pred_label"]]
        if args.json:
            print(json.dumps({k: rec[k] for k in ("uid", "pred_label", "label_probs", "pred_explanation")}))
        else:
            expl = rec["pred_explanation"]
            print(f"{_cell(rec['uid'])}\t{rec['pred_label']} ({conf:.2f})"
                  + (f"\t{_cell(expl)}" if expl is not None else ""))
    return 0


def cmd_profile(args) -> int:
    from rdistill.io import check_output_file, write_json_atomic
    from rdistill.methods.profile import check_profile_target, profile_target
    from rdistill.training.run_folder import RunFolder

    is_run = RunFolder(Path(args.target)).student_meta.is_file()
    if args.output is None and not is_run:
        raise DataError("--output is required when profiling a model rather than a run folder")
    output = args.output or str(Path(args.target) / "profile.json")
    check_output_file(output, "--output")
    sizes = [b.strip() for b in args.batch_sizes.split(",") if b.strip()]
    if not sizes or not all(b.isdigit() and int(b) >= 1 for b in sizes):
        raise DataError(f"--batch-sizes must be whole numbers >= 1 separated by commas, got {args.batch_sizes!r}")
    check_profile_target(args.target, is_run, args.device)
    result = profile_target(args.target, data_file=args.data_file, data_dir=args.data_dir,
                            teacher=args.teacher, teacher_param_count=args.teacher_params,
                            n_examples=args.examples, latency_examples=args.latency_examples,
                            batch_sizes=[int(b) for b in sizes], device=args.device)
    write_json_atomic(output, result)
    ratio = result["compression_ratio"]
    print(f"params {result['params_total']:,} ({result['params_trainable']:,} trained)"
          f" | disk {result['disk_mb']:.1f} MB | peak memory {result['peak_memory_mb']:.0f} MB"
          f" | latency p50 {result['latency_ms_p50']:.0f} ms, p95 {result['latency_ms_p95']:.0f} ms"
          f" | {result['throughput_per_s']:.2f} ex/s at batch {result['throughput_batch_size']}"
          f" | {result['flops_per_example'] / 1e9:.1f} GFLOP/example"
          + (f" | compression {ratio:.1f}x" if ratio else ""))
    print(f"profile: {Path(output).resolve()}")
    return 0


def cmd_compare(args) -> int:
    from rdistill.evaluation.compare import compare_runs, markdown_table
    from rdistill.io import check_output_file, write_json_atomic, write_text_atomic

    if args.predictions and not args.paired:
        raise DataError("--predictions names the file --paired reads; give --paired as well")
    if args.output:
        check_output_file(args.output, "--output")
    result = compare_runs(args.run_dirs, paired=args.paired, predictions=args.predictions)
    table = markdown_table(result)
    print(table, end="")
    if args.output:
        write_json_atomic(args.output, result)
        write_text_atomic(Path(args.output).with_suffix(".md"), table)
        print(f"comparison: {Path(args.output).resolve()} (+ .md)")
    return 0


def cmd_export(args) -> int:
    from rdistill.methods.registry import export_run

    out = export_run(args.run_dir, args.output, fmt=args.format, quantization=args.quantization,
                     overwrite=args.overwrite)
    print(f"model folder ({args.format}): {out.resolve()}")
    return 0


def cmd_plot(args) -> int:
    from rdistill.io import check_writable
    from rdistill.reporting.figures import parse_formats
    from rdistill.reporting.report import write_figures

    if args.output_dir:
        check_writable(args.output_dir, "--output-dir")
    paths, skipped = write_figures(args.source, args.output_dir, parse_formats(args.format),
                                   show_progress=not args.quiet)
    where = Path(paths[0]).parent.resolve() if paths else "-"
    print(f"{len(paths)} files in {where}" + (f"; skipped (no data): {', '.join(skipped)}"
                                              if skipped else ""))
    return 0


def cmd_report(args) -> int:
    from rdistill.io import check_output_file
    from rdistill.reporting.report import write_report

    check_output_file(args.output, "--output")
    html_path, md_path = write_report(args.source, args.output, show_progress=not args.quiet)
    print(f"report: {html_path.resolve()}\nsummary: {md_path.resolve()}")
    return 0


def cmd_sweep(args) -> int:
    from rdistill.reporting.sweep_results import results_table
    from rdistill.sweep import describe_plan, plan_sweep, run_sweep, split_values

    plan = plan_sweep(args.config, args.grid, args.set, split_values(args.only) if args.only else None)
    out = Path(args.output_dir or os.path.join("sweeps", plan.name))
    if args.dry_run:
        print(describe_plan(plan, out))
        return 0
    results = run_sweep(plan, out, data_dir=args.data_dir, show_progress=not args.quiet)
    print(f"{results_table(results)}\nresults: {(out / 'results.csv').resolve()}")
    # 1, not 2: the sweep itself ran; some variants did not (their errors are in results.json).
    return 1 if any(r["status"] == "failed" for r in results) else 0


def cmd_teach(args) -> int:
    from rdistill.teachers.config import load_teach_config

    cfg = load_teach_config(args.config, args.set)
    if args.dry_run:
        import yaml

        sys.stdout.write(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
        return 0
    from rdistill.teachers.teach import RATIONALES, failure_line, teach

    s = teach(cfg, args.output_dir, data_dir=args.data_dir, show_progress=not args.quiet)
    acc = "n/a" if s["accuracy_vs_gold"] is None else f"{100 * s['accuracy_vs_gold']:.1f}%"
    print(f"{s['teacher']}: {s['rows']} rows | parsed {s['parsed']} | unparsed {s['unparsed']}"
          f" | failed {s['failed']} | accuracy vs gold {acc}")
    print(f"teacher file: {(Path(args.output_dir) / RATIONALES).resolve()}")
    # 1: the file is written, but some rows failed (asked again on the next run).
    if s["failed"]:
        print(f"rdistill: {failure_line(s)}", file=sys.stderr)
    return 1 if s["failed"] else 0


def cmd_extract(args) -> int:
    from rdistill.methods.latent.run import cache_folder, extract_cache
    from rdistill.methods.registry import load_recipe
    from rdistill.training.distributed import is_main_process

    # --output-dir is latent.cache_dir: the one name training reads the cache from.
    sets = args.set + ([f"latent.cache_dir={args.output_dir}"] if args.output_dir else [])
    cfg = load_recipe(args.config, sets)
    manifest = extract_cache(cfg, data_dir=args.data_dir, show_progress=not args.quiet)
    if not is_main_process():  # under accelerate launch: one summary, from the main process
        return 0
    stats = manifest["stats"]
    kd = stats["kd_bytes_per_token"]
    print(f"{manifest['data']['n_examples']} examples | {stats['bytes_total'] / 1e6:.1f} MB | "
          f"{stats['bytes_per_example'] / 1e3:.1f} kB/example | "
          f"{stats['hidden_bytes_per_position']:.0f} B/position" + (f" | top-k {kd:.0f} B/token" if kd else ""))
    print(f"cache: {cache_folder(cfg).resolve()}")
    return 0


def _positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def _recipe_parser(sub, name: str, help: str, set_example: str, output_help: str, *,
                   output_required: bool = False):
    """A subcommand that reads a YAML recipe: CONFIG, --set, --output-dir, --data-dir."""
    p = sub.add_parser(name, help=help)
    p.add_argument("config")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help=f"override a config value, e.g. --set {set_example} (repeatable)")
    p.add_argument("--output-dir", required=output_required, help=output_help)
    p.add_argument("--data-dir", help="root for relative data paths (default $RDISTILL_DATA_DIR)")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rdistill", description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="no progress bars or info logs")
    sub = parser.add_subparsers(dest="command", required=True)

    p = _recipe_parser(sub, "train", "train a student from a YAML recipe", "training.lr=1e-4",
                       "run folder (default runs/<name>)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=cmd_train)

    p = _recipe_parser(sub, "teach", "write teacher rationales (local LLM, HTTP endpoint or files)",
                       "teacher.concurrency=8", "gets rationales.jsonl, teach_summary.json, the cache",
                       output_required=True)
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=cmd_teach)

    p = _recipe_parser(sub, "extract", "run the teacher once and cache its hidden states / top-k logits",
                       "latent.top_k=20", "cache folder: sets latent.cache_dir (train with the same "
                       "--set latent.cache_dir=DIR; default latent_cache/<name>)")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("eval", help="evaluate trained runs (e.g. seeds of a recipe) on a data file")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--data-file", help="e-SNLI JSON lines or original CSV (default: the run's "
                   "own held-out split, rebuilt from its config)")
    p.add_argument("--limit", type=_positive_int, help="the first N rows of --data-file")
    p.add_argument("--skip-invalid", action="store_true", help="skip and count bad rows")
    p.add_argument("--output", required=True, help="metrics JSON (predictions go next to it); "
                   "with several runs, their mean/std (each run's file: OUTPUT-STEM.RUN.json)")
    p.add_argument("--teacher-file", action="append", default=[], metavar="PATH",
                   help="teacher rationales of the evaluated rows: PaLM .json files (row-aligned, "
                   "in order) or a JSON-lines file (uid, rationale, label); repeatable")
    p.add_argument("--data-dir", help="data root for the run's training rows (the judge's training "
                   "data; default $RDISTILL_DATA_DIR)")
    p.add_argument("--no-judge", action="store_true", help="skip the simulatability judge")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="score with other decoding "
                   "/ metric settings its method reads, e.g. generation.num_beams=4 (repeatable)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("profile", help="params, disk, memory, latency, throughput, FLOPs")
    p.add_argument("target", metavar="RUN_DIR_OR_MODEL")
    p.add_argument("--output", help="profile JSON (default RUN_DIR/profile.json, read by compare)")
    p.add_argument("--data-file", help="e-SNLI rows to run on (default: the run's held-out split)")
    p.add_argument("--data-dir", help="data root for the run's files (default $RDISTILL_DATA_DIR)")
    p.add_argument("--teacher", help="teacher model (alias, folder, Hub id) for the compression ratio")
    p.add_argument("--teacher-params", type=_positive_int, help="teacher parameter count, e.g. 540000000000")
    p.add_argument("--examples", type=_positive_int, default=64, help="rows used for throughput (default 64)")
    p.add_argument("--latency-examples", type=_positive_int, default=20, help="rows timed at batch 1")
    p.add_argument("--batch-sizes", default="8,32", help="batch sizes tried for throughput")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("compare", help="one table of every metric across runs (seeds: mean ± std)")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--output", help="comparison JSON (a Markdown table goes next to it)")
    p.add_argument("--paired", action="store_true",
                   help="also compare each recipe with the first row by row on the held-out rows both "
                        "scored: difference with a 95 %% bootstrap interval, McNemar p, verdict")
    p.add_argument("--predictions", metavar="PATH", help="with --paired: the predictions file inside "
                   "each run folder (default eval/metrics.predictions.jsonl)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("predict", help="label + explanation for new inputs")
    p.add_argument("run_dir")
    p.add_argument("--premise")
    p.add_argument("--hypothesis")
    p.add_argument("--question", help="a math question (runs trained on gsm8k, svamp, aqua, math)")
    p.add_argument("--input", help="JSON-lines file with premise/hypothesis per line")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("export", help="a trained run as a model folder (LoRA merged): hf, or ctranslate2 to serve")
    p.add_argument("run_dir")
    p.add_argument("--output", required=True, help="a new (or empty) folder to write")
    p.add_argument("--overwrite", action="store_true", help="replace a previous export at --output")
    p.add_argument("--format", choices=("hf", "ctranslate2"), default="hf", help="hf (default) or ctranslate2")
    p.add_argument("--quantization", choices=("int8", "int8_float32", "float32"), help="ctranslate2 weights (int8)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("plot", help="figures (PNG, PDF) of a run or a sweep folder")
    p.add_argument("source", metavar="RUN_OR_SWEEP")
    p.add_argument("--output-dir", help="where to write (default SOURCE/figures)")
    p.add_argument("--format", default="png,pdf", help="comma-separated: png, pdf, svg")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("report", help="one self-contained HTML report + a Markdown summary")
    p.add_argument("source", metavar="RUN_OR_SWEEP")
    p.add_argument("--output", required=True, help="FILE.html (FILE.md is written next to it)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("sweep", help="train every variant of a grid / sweep: block, collect results")
    p.add_argument("config")
    p.add_argument("--grid", nargs="+", action="extend", default=[], metavar="KEY=V1,V2",
                   help="values to sweep, e.g. --grid loss.alpha=0.5,1 finetune.r=8,16 (every combination)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value for every variant (repeatable)")
    p.add_argument("--output-dir", help="sweep folder (default sweeps/<sweep name>)")
    p.add_argument("--data-dir", help="root for relative data paths (default $RDISTILL_DATA_DIR)")
    p.add_argument("--only", metavar="NAME[,NAME]", help="train just these named variants of the sweep block")
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
