"""Paired comparison of recipes on the held-out rows they share (``rdistill compare --paired``).

Two variants scored on the same rows are compared row by row, not by their two accuracies:
a row either both get right or wrong says nothing about the difference, so the paired test
separates much smaller differences than two overlapping Wilson intervals can. Against the
first recipe (the baseline), each other recipe's runs are matched to the baseline's by seed
(each seed may hold its own test rows), rows by ``uid``; then ``rdistill.evaluation.stats``: the mean
per-row difference with a bootstrap interval resampling rows within each seed, McNemar's
exact test, a verdict ("no difference" when the interval holds 0), and the rows a next run
would need to separate the two if the observed difference held.

Reads ``RUN/eval/metrics.predictions.jsonl`` (written by ``train``), or another predictions file
inside every run folder (``predictions``: e.g. ``eval/full.predictions.jsonl`` that
``rdistill eval RUN --output RUN/eval/full.json`` wrote on more held-out rows): a row is right
when its ``correct`` is true (answer tasks) or its ``pred_label`` equals its ``gold_label``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import yaml

from rdistill.errors import DataError
from rdistill.evaluation.stats import paired_comparison, row_right, wilson
from rdistill.training.run_folder import RunFolder

PREDICTIONS = Path("eval") / "metrics.predictions.jsonl"


def run_seed(run_dir: Path) -> int | None:
    config = RunFolder(run_dir).config
    if not config.is_file():
        return None
    seed = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("seed")
    return seed if isinstance(seed, int) else None


def right_per_row(run_dir: str | Path, predictions: str | Path = PREDICTIONS) -> dict[str, bool]:
    """``uid -> right`` for every scored row of a run; a row without what it takes is refused.

    ``predictions``: the predictions file, relative to the run folder."""
    if Path(predictions).is_absolute():
        raise DataError(f"--predictions {predictions}: give a path inside each run folder "
                        f"(e.g. {PREDICTIONS}), not an absolute one")
    path = Path(run_dir) / predictions
    if not path.is_file():
        raise DataError(f"{run_dir}: no {predictions} (train or evaluate the run first; "
                        "--paired compares the runs row by row)")
    right: dict[str, bool] = {}
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path} line {line_no}: malformed JSON ({err.msg})") from None
        if not isinstance(row, dict) or "uid" not in row:
            raise DataError(f"{path} line {line_no}: key 'uid' missing")
        uid = str(row["uid"])
        if uid in right:
            raise DataError(f"{path} line {line_no}: uid {uid!r} scored twice")
        ok = row_right(row)
        if ok is None:
            raise DataError(f"{path} line {line_no}: neither 'correct' nor 'pred_label' and 'gold_label'")
        right[uid] = ok
    return right


def _pairs(base_runs: Sequence[str], runs: Sequence[str]) -> list[tuple[str, str, int | None]]:
    """(run, baseline run, seed) matched by seed; one run each is a pair whatever the seeds."""
    base = {run_seed(Path(r)): r for r in base_runs}
    ours = {run_seed(Path(r)): r for r in runs}
    shared = [s for s in ours if s in base]
    if shared:
        return [(ours[s], base[s], s) for s in shared]
    if len(base_runs) == 1 and len(runs) == 1:
        return [(runs[0], base_runs[0], None)]
    raise DataError(f"no seed in common between {', '.join(runs)} (seeds {sorted(ours, key=str)}) and the "
                    f"baseline {', '.join(base_runs)} (seeds {sorted(base, key=str)}): a paired comparison "
                    "matches the runs of one seed")


def paired_against_baseline(recipes: Sequence[dict], predictions: str | Path = PREDICTIONS) -> list[dict]:
    """One entry per recipe after the first: its paired comparison with the first.

    ``recipes``: as ``compare_runs`` groups them (``name``, ``runs``); ``predictions``: the
    predictions file read in every run folder.
    """
    baseline, correct = recipes[0], {}

    def rows(run: str) -> dict[str, bool]:
        if run not in correct:
            correct[run] = right_per_row(run, predictions)
        return correct[run]

    entries = []
    for recipe in recipes[1:]:
        strata, seeds, ours_right, base_right = [], [], 0, 0
        for run, base_run, seed in _pairs(baseline["runs"], recipe["runs"]):
            a, b = rows(run), rows(base_run)
            uids = sorted(set(a) & set(b))
            if not uids:
                raise DataError(f"{run} and {base_run} share no scored row (uid): a paired comparison "
                                "needs the same held-out rows (same data, split and seed)")
            strata.append([int(a[u]) - int(b[u]) for u in uids])
            seeds.append(seed)
            ours_right += sum(a[u] for u in uids)
            base_right += sum(b[u] for u in uids)
        result = paired_comparison(strata)
        n = result["rows"]
        # Two recipes of one name (a recipe run with --set): told apart by their first run's folder.
        name = recipe["name"] if recipe["name"] != baseline["name"] else Path(recipe["runs"][0]).name
        entries.append({"name": name, "baseline": baseline["name"], "seeds": seeds,
                        "accuracy": ours_right / n, "accuracy_wilson": wilson(ours_right, n),
                        "baseline_accuracy": base_right / n, "baseline_wilson": wilson(base_right, n),
                        **result})
    return entries


def _points(x: float) -> str:
    return f"{100 * x:+.1f}"


def markdown_paired(entries: Sequence[dict]) -> str:
    """The paired comparisons as a Markdown table (accuracies on the shared rows only)."""
    header = ["run", "vs", "rows", "accuracy", "baseline", "difference (95 % bootstrap)",
              "only run / only baseline right", "McNemar p", "verdict", "rows to separate"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for e in entries:
        seeds = ", ".join("?" if s is None else str(s) for s in sorted(
            e["seeds"], key=lambda s: (s is None, s if isinstance(s, int) else 0, str(s))))
        cells = [e["name"], e["baseline"], f"{e['rows']:,} (seed{'s' if len(e['seeds']) > 1 else ''} {seeds})",
                 f"{100 * e['accuracy']:.1f} % ({100 * e['accuracy_wilson'][0]:.1f}-"
                 f"{100 * e['accuracy_wilson'][1]:.1f})",
                 f"{100 * e['baseline_accuracy']:.1f} %",
                 f"{_points(e['difference'])} ({_points(e['low'])} to {_points(e['high'])})",
                 f"{e['better']} / {e['worse']}", f"{e['mcnemar_p']:.3f}", e["verdict"],
                 "–" if e["rows_needed"] is None else f"~{e['rows_needed']:,}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
