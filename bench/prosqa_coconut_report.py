"""The table of the ProsQA COCONUT comparison (bench/prosqa_coconut.sh): accuracy with Wilson 95 %
intervals, generated tokens per answer, steps and wall time per variant, paired comparisons on
the shared held-out rows, and the held-out size a next run needs to separate each pair.

Every row is re-scored from its written answer (the latent evaluator read open-text answers as
none before ``parse_answer`` took the whole text; ``rescored_rows`` counts rows that changed).
Reads only run folders (``summary.json``, ``eval/metrics.predictions.jsonl``); writes
``results.csv``, ``results.json`` and ``accuracy_tokens.png`` under ``--out``:

    python bench/prosqa_coconut_report.py --runs /work/coconut-runs --out docs/sweeps/prosqa-coconut

Paired comparison of A and B on the rows both scored: ``b`` = rows A got right and B wrong,
``c`` the reverse; exact two-sided McNemar p (binomial on b + c discordant rows); a 95 % paired
bootstrap interval of acc(A) - acc(B) (rows resampled, fixed seed). ``n_needed``: held-out rows
for McNemar at 5 % / power 80 % if the observed difference and discordance held (Connor 1987).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
from pathlib import Path

from rdistill.data.answers import answers_match, normalize_answer
from rdistill.io import write_bytes_atomic, write_json_atomic, write_text_atomic
from rdistill.evaluation import stats
from rdistill.reporting.figures import figure_bytes

# variant -> (run folder under --runs, student blocks of 30, what it is)
VARIANTS = {
    "no-cot-sft": ("sft/runs/no-cot-sft", 30, "SmolLM2-135M + LoRA, question -> answer"),
    "cot-sft": ("sft/runs/cot-sft", 30, "SmolLM2-135M + LoRA, question -> steps + answer"),
    "coconut": ("coconut", 30, "SmolLM2-135M + LoRA, COCONUT curriculum, 3 thoughts"),
    "coconut-distill": ("coconut-distill", 15, "every other COCONUT block, distils its 3 thoughts"),
    "coconut-distill-full": ("coconut-distill-full", 30,
                             "SmolLM2-135M + LoRA (all blocks), distils COCONUT's 3 thoughts"),
    "logit-kd": ("cot-distill/runs/logit-kd", 15, "every other cot-sft block, CoT + top-20 logit KD"),
    "latent-cot": ("cot-distill/runs/latent-cot", 15, "every other cot-sft block, CoT + hidden states"),
    "logit-kd-full": ("cot-distill-full/runs/logit-kd", 30,
                      "SmolLM2-135M + LoRA (all blocks), CoT + top-20 logit KD"),
    "latent-cot-full": ("cot-distill-full/runs/latent-cot", 30,
                        "SmolLM2-135M + LoRA (all blocks), CoT + hidden states"),
}
PAIRS = (("coconut", "cot-sft"), ("coconut-distill", "no-cot-sft"), ("coconut-distill-full", "no-cot-sft"),
         ("coconut", "no-cot-sft"),
         ("cot-sft", "no-cot-sft"), ("coconut-distill", "coconut"), ("coconut-distill-full", "coconut"),
         ("latent-cot", "logit-kd"),
         ("logit-kd-full", "cot-sft"), ("latent-cot-full", "cot-sft"), ("latent-cot-full", "logit-kd-full"))


def wilson(k: int, n: int, z: float = stats.Z95) -> tuple[float, float]:
    """Wilson score interval of k successes in n trials (``rdistill.evaluation.stats``'); (0, 1) for n = 0."""
    return (0.0, 1.0) if n == 0 else stats.wilson(k, n, z)


mcnemar_exact = stats.mcnemar_p  # two-sided exact McNemar p
rows_needed = stats.rows_needed  # McNemar at 5 % / 80 % power (Connor 1987)


def paired_bootstrap(a: list[bool], b: list[bool], *, resamples: int = 10000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of mean(a) - mean(b), the rows resampled together."""
    rng, n = random.Random(seed), len(a)
    diffs = [x - y for x, y in zip(a, b)]
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]


def read_run(run: Path) -> dict | None:
    """Summary and predictions; every row re-scored alike: its written answer (``answer_text``, after
    ``###`` or ``Answer:``) against the gold sentence, as ``answers_match(kind="text")`` says."""
    preds, summary = run / "eval" / "metrics.predictions.jsonl", run / "summary.json"
    if not preds.is_file() or not summary.is_file():
        return None
    records = [json.loads(line) for line in preds.read_text().splitlines() if line.strip()]
    for r in records:
        r["stored_correct"] = bool(r.get("correct"))
        r["correct"] = answers_match(r.get("answer_text"), r["gold_label"], "text")
    return {"summary": json.loads(summary.read_text()), "records": records}


def offered(test_file: Path | None) -> dict[str, set[str]]:
    """uid -> the two answers the question offers (``"<root> is a <x>"``), from the held-out file."""
    if test_file is None:
        return {}
    rows = json.loads(test_file.read_text())
    out = {}
    for i, row in enumerate(rows):
        root = row["idx_to_symbol"][row["root"]]
        out[f"{test_file.stem}:{i}"] = {normalize_answer(f"{root} is a {row['idx_to_symbol'][k]}.", "text")
                                        for k in (row["target"], row["neg_target"])}
    return out


def variant_row(name: str, run: dict, blocks: int, what: str, options: dict[str, set[str]]) -> dict:
    records, summary = run["records"], run["summary"]
    n, k = len(records), sum(bool(r["correct"]) for r in records)
    lo, hi = wilson(k, n)
    invalid = sum(not (r.get("answer_text") or "").strip() for r in records)
    rescored = sum(r["correct"] != r["stored_correct"] for r in records)
    picked = [r for r in records if normalize_answer(r.get("answer_text"), "text") in options.get(r["uid"], ())]
    thoughts = [r.get("thoughts", 0) or 0 for r in records]
    return {"variant": name, "blocks": blocks, "what": what, "n": n, "correct": k, "accuracy": k / n,
            "wilson_lo": lo, "wilson_hi": hi, "invalid_rate": invalid / n, "rescored_rows": rescored,
            "offered_rate": len(picked) / n if options else None,
            "tokens_per_answer": sum(r["generated_tokens"] for r in records) / n,
            "thoughts_per_answer": sum(thoughts) / n, "steps": summary.get("global_step"),
            "train_seconds": summary.get("train_seconds"), "wall_seconds": summary.get("wall_seconds")}


def compare(name_a: str, a: dict, name_b: str, b: dict) -> dict:
    right_a = {r["uid"]: bool(r["correct"]) for r in a["records"]}
    right_b = {r["uid"]: bool(r["correct"]) for r in b["records"]}
    uids = sorted(set(right_a) & set(right_b))
    xs, ys = [right_a[u] for u in uids], [right_b[u] for u in uids]
    only_a = sum(x and not y for x, y in zip(xs, ys))
    only_b = sum(y and not x for x, y in zip(xs, ys))
    n = len(uids)
    diff = (only_a - only_b) / n
    lo, hi = paired_bootstrap(xs, ys)
    return {"a": name_a, "b": name_b, "n": n, "acc_a": sum(xs) / n, "acc_b": sum(ys) / n, "diff": diff,
            "a_only_right": only_a, "b_only_right": only_b, "mcnemar_p": mcnemar_exact(only_a, only_b),
            "diff_lo": lo, "diff_hi": hi, "n_needed": rows_needed(diff, (only_a + only_b) / n)}


def figure(rows: list[dict], path: Path) -> None:
    from rdistill.reporting.style import PALETTE, new_figure
    fig = new_figure(height_in=3.2)
    left, right = fig.subplots(1, 2, sharey=True)
    names = [r["variant"] for r in rows]
    ys = range(len(rows))
    acc = [100 * r["accuracy"] for r in rows]
    err = [[max(0.0, 100 * (r["accuracy"] - r["wilson_lo"])) for r in rows],
           [max(0.0, 100 * (r["wilson_hi"] - r["accuracy"])) for r in rows]]
    left.errorbar(acc, ys, xerr=err, fmt="o", color=PALETTE[0], capsize=3)
    left.axvline(50, color="0.5", linestyle="--", linewidth=0.8)
    left.set_xlim(0, 100)
    left.set_yticks(list(ys), names)
    left.invert_yaxis()
    left.set_xlabel("held-out accuracy, % (Wilson 95 %)")
    left.set_title("dashed: chance (50 %)", fontsize=8)
    right.barh(list(ys), [r["tokens_per_answer"] for r in rows], color=PALETTE[1])
    right.set_xlabel("generated tokens per answer")
    right.set_xlim(0, 1.35 * max(r["tokens_per_answer"] for r in rows))
    for y, r in zip(ys, rows):
        if r["thoughts_per_answer"]:
            right.text(r["tokens_per_answer"], y, f" +{r['thoughts_per_answer']:g} thoughts", va="center", fontsize=7)
    fig.tight_layout()
    write_bytes_atomic(path, figure_bytes(fig, "png"))


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--test-file", default=None, help="held-out ProsQA file: adds offered_rate (the answer is "
                   "one of the two the question offers)")
    args = p.parse_args(argv)
    options = offered(Path(args.test_file) if args.test_file else None)
    runs = {name: read_run(Path(args.runs) / sub) for name, (sub, _, _) in VARIANTS.items()}
    rows = [variant_row(name, run, VARIANTS[name][1], VARIANTS[name][2], options) for name, run in runs.items() if run]
    pairs = [compare(a, runs[a], b, runs[b]) for a, b in PAIRS if runs.get(a) and runs.get(b)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["variant"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(out / "results.csv", buffer.getvalue())
    result = {"variants": rows, "paired": pairs, "missing": [n for n, r in runs.items() if not r]}
    write_json_atomic(out / "results.json", result)
    if rows:
        figure(rows, out / "accuracy_tokens.png")
    for r in rows:
        print(f"{r['variant']:16} {100 * r['accuracy']:5.1f} % ({100 * r['wilson_lo']:.1f}-{100 * r['wilson_hi']:.1f})"
              f"  offered {r['offered_rate']}  tokens {r['tokens_per_answer']:.1f}  steps {r['steps']}  train {r['train_seconds']} s")
    for c in pairs:
        print(f"{c['a']} - {c['b']}: {100 * c['diff']:+.1f} pts ({100 * c['diff_lo']:+.1f} to {100 * c['diff_hi']:+.1f}),"
              f" b={c['a_only_right']} c={c['b_only_right']} p={c['mcnemar_p']:.3g} n_needed={c['n_needed']}")
    return result


if __name__ == "__main__":
    main()
