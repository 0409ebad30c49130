"""One table of every metric across run folders; seeds of one recipe become mean ± std.

Reads only files: ``RUN/eval/metrics.json`` (required), ``RUN/summary.json``
and ``RUN/profile.json`` (from ``rdistill profile RUN``; optional). Runs whose
resolved configs differ only in ``seed`` and ``name`` are one recipe. Against
the first recipe: ``compression_ratio`` = its params / this one's, and
``speedup`` = its p50 latency / this one's (None without profiles).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import yaml

from rdistill.errors import DataError
from rdistill.evaluation.paired import PREDICTIONS, markdown_paired, paired_against_baseline
from rdistill.evaluation.seeds import mean_std
from rdistill.training.run_folder import RunFolder

COLUMNS = (
    "label_accuracy", "macro_f1", "rouge_l", "bertscore_f1", "bleu", "ece", "faithfulness", "las",
    "lexical_consistency", "teacher_label_agreement", "teacher_rouge_l", "invalid_rate",
    "train_seconds", "params_total", "disk_mb", "latency_ms_p50", "throughput_per_s",
    "flops_per_example",
)


def _read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path} line {err.lineno}: malformed JSON ({err.msg})") from None


def recipe_key(config_path: Path) -> str:
    """Hash of the resolved config without ``seed`` and ``name``: equal for seeds of one recipe."""
    if not config_path.is_file():
        return f"no-config:{config_path.parent}"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    config = {k: v for k, v in config.items() if k not in ("seed", "name")}
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def run_row(run_dir: str | Path) -> dict:
    """Flat numbers of one run: eval metrics, train time, profile."""
    paths = RunFolder(Path(run_dir))
    metrics = _read_json(paths.eval_metrics)
    if metrics is None:
        raise DataError(f"{run_dir}: no {paths.eval_metrics.relative_to(paths.root)} (train or "
                        "evaluate the run first)")
    summary = _read_json(paths.summary) or {}
    profile = _read_json(paths.root / "profile.json") or {}
    row = {"run": str(run_dir), "name": summary.get("name", Path(run_dir).name),
           "recipe": recipe_key(paths.config)}
    for key in COLUMNS:
        value = metrics.get(key, summary.get(key, profile.get(key)))
        row[key] = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return row


def compare_runs(run_dirs: Sequence[str | Path], *, paired: bool = False,
                 predictions: str | Path | None = None) -> dict:
    """``{"recipes": [...], "runs": [...]}``; each recipe has ``runs``, ``n``, and per column
    ``{"mean", "std"}`` (std None for one run) plus ``compression_ratio`` and ``speedup``.
    ``paired``: also ``"paired"``, each later recipe against the first on the rows both scored
    (``rdistill.evaluation.paired``), read from ``predictions`` in each run folder (default
    ``eval/metrics.predictions.jsonl``)."""
    rows = [run_row(d) for d in run_dirs]
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["recipe"], []).append(row)
    recipes = []
    for key, members in groups.items():
        entry = {"recipe": key, "name": members[0]["name"], "runs": [m["run"] for m in members],
                 "n": len(members)}
        for column in COLUMNS:
            values = [m[column] for m in members if m[column] is not None]
            mean, std = mean_std(values) if values else (None, None)
            entry[column] = {"mean": mean, "std": std}
        recipes.append(entry)
    first = recipes[0]
    for entry in recipes:
        entry["compression_ratio"] = _ratio(first["params_total"]["mean"], entry["params_total"]["mean"])
        entry["speedup"] = _ratio(first["latency_ms_p50"]["mean"], entry["latency_ms_p50"]["mean"])
    result = {"baseline": first["name"], "recipes": recipes, "runs": rows}
    if paired:
        if len(recipes) < 2:
            raise DataError("--paired needs runs of at least two recipes (the first is the baseline); "
                            f"all {len(rows)} runs given are seeds of {first['name']}")
        predictions = predictions or PREDICTIONS
        result["paired"] = paired_against_baseline(recipes, predictions)
        result["paired_predictions"] = str(predictions)
    return result


def _ratio(reference: float | None, value: float | None) -> float | None:
    return reference / value if reference and value else None


def _cell(stat: dict, column: str) -> str:
    mean, std = stat["mean"], stat["std"]
    if mean is None:
        return "–"
    if column in ("params_total", "flops_per_example"):
        text = f"{mean / 1e6:.1f}M" if column == "params_total" else f"{mean / 1e9:.2f}G"
        return text
    digits = 1 if column in ("train_seconds", "latency_ms_p50", "disk_mb") else 4
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def markdown_table(result: dict) -> str:
    """The comparison as a Markdown table (columns with no value in any recipe left out)."""
    recipes = result["recipes"]
    columns = [c for c in COLUMNS if any(r[c]["mean"] is not None for r in recipes)]
    header = ["run", "seeds", *columns, "compression", "speed-up"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for r in recipes:
        extra = [f"{r[k]:.2f}x" if r[k] else "–" for k in ("compression_ratio", "speedup")]
        cells = [r["name"], str(r["n"]), *(_cell(r[c], c) for c in columns), *extra]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    if result.get("paired"):
        table += (f"\nPaired with {result['baseline']} on the held-out rows both scored "
                  f"(`{result['paired_predictions']}`):\n\n")
        table += markdown_paired(result["paired"])
    return table
