"""Tables of results as plain strings, shared by the HTML and the Markdown report.

Cells are unescaped text; each writer escapes for its own format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rdistill.reporting.figures import flat_metrics, pareto_optimal, usable_variants
from rdistill.reporting.results import RunResult, SweepResult

MISSING = "–"

# Fractions people read as percentages; every other score stays a 0-1 number.
_PERCENT_KEYS = {"label_accuracy", "answer_accuracy", "invalid_rate", "teacher_label_agreement", "lexical_coverage"}

HEADLINE = (
    ("label_accuracy", "label accuracy"),
    ("answer_accuracy", "answer accuracy (open answers)"),
    ("macro_f1", "macro-F1"),
    ("rouge_l", "ROUGE-L F1 (vs human)"),
    ("bertscore_f1", "BERTScore F1 (vs human)"),
    ("bleu", "BLEU (0-1)"),
    ("ece", "ECE (lower is better)"),
    ("faithfulness", "faithfulness (judge)"),
    ("human_faithfulness", "faithfulness of human explanations"),
    ("judge_ceiling", "judge ceiling (held-out accuracy)"),
    ("las", "LAS (leakage-adjusted simulatability)"),
    ("lexical_consistency", "lexical consistency (baseline)"),
    ("lexical_coverage", "lexical coverage"),
    ("teacher_label_agreement", "agreement with teacher label"),
    ("teacher_rouge_l", "ROUGE-L F1 vs teacher"),
    ("teacher_bertscore_f1", "BERTScore F1 vs teacher"),
    ("invalid_rate", "invalid outputs"),
    ("n", "examples (n)"),
)

PROFILE = (
    ("params_total", "parameters, total", 1e-6, "M"),
    ("params_trainable", "parameters, trainable", 1e-6, "M"),
    ("disk_mb", "size on disk", 1.0, "MB"),
    ("peak_memory_mb", "peak memory", 1.0, "MB"),
    ("latency_ms_p50", "latency per example, median", 1.0, "ms"),
    ("latency_ms_p95", "latency per example, p95", 1.0, "ms"),
    ("throughput_per_s", "throughput", 1.0, "examples/s"),
    ("flops_per_example", "FLOPs per example", 1e-9, "GFLOP"),
)


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fmt_metric(key: str, value: Any) -> str:
    if not _is_number(value):
        return MISSING if value is None else str(value)
    if key in _PERCENT_KEYS:
        return f"{100 * value:.1f}%"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.3f}"


def fmt_setting(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def headline_table(metrics: Mapping) -> Table:
    # None means "does not apply" (no explanations, no teacher): a row of dashes is noise.
    rows = [[name, fmt_metric(key, metrics[key])] for key, name in HEADLINE
            if metrics.get(key) is not None]
    return Table(["metric", "value"], rows)


def per_label_table(metrics: Mapping) -> Table | None:
    per_label = metrics.get("per_label")
    if not isinstance(per_label, Mapping) or not per_label:
        return None
    rows = [[label, *(fmt_metric(k, scores.get(k)) for k in ("precision", "recall", "f1")),
             fmt_metric("support", scores.get("support"))]
            for label, scores in per_label.items() if isinstance(scores, Mapping)]
    return Table(["gold label", "precision", "recall", "F1", "support"], rows)


def error_table(metrics: Mapping) -> Table | None:
    categories = metrics.get("error_categories")
    if not isinstance(categories, Mapping) or not categories:
        return None
    total = sum(v for v in categories.values() if _is_number(v)) or 1
    return Table(["category", "examples", "share"],
                 [[name, fmt_metric("n", count), f"{100 * count / total:.1f}%"]
                  for name, count in categories.items() if _is_number(count)])


def confidence_table(metrics: Mapping) -> Table | None:
    block = metrics.get("calibration")
    buckets = block.get("accuracy_by_confidence") if isinstance(block, Mapping) else None
    if not buckets:
        return None
    rows = []
    for bucket in buckets:
        low_high = bucket.get("range") or [None, None]
        rows.append([str(bucket.get("bucket", "")),
                     MISSING if low_high[0] is None else f"{low_high[0]:.3f}-{low_high[1]:.3f}",
                     fmt_metric("n", bucket.get("count")),
                     fmt_metric("label_accuracy", bucket.get("accuracy"))])
    return Table(["confidence bucket", "confidence range", "examples", "accuracy"], rows)


def training_table(run: RunResult) -> Table:
    summary, system, metrics = run.summary, run.system, flat_metrics(run)
    seconds = summary.get("train_seconds")
    packages = system.get("packages") or {}
    device = ", ".join(map(str, system.get("gpus") or [])) or (
        f"CPU ({system['cpu_count']} cores)" if system.get("cpu_count") else None)
    items = [
        ("training time",
         None if seconds is None else f"{seconds / 60:.1f} min ({seconds:,.0f} s)"),
        ("optimizer steps", summary.get("global_step")),
        ("final training loss", summary.get("train_loss")),
        ("best checkpoint", summary.get("best_checkpoint")),
        ("best dev metric", summary.get("best_metric")),
        ("evaluation time", None if metrics.get("eval_seconds") is None
         else f"{metrics['eval_seconds']:,.0f} s"),
        ("device", device),
        ("seed", system.get("seed", run.config.get("seed"))),
        ("git commit", system.get("git_commit")),
        ("torch / transformers", " / ".join(str(packages[k]) for k in ("torch", "transformers")
                                           if k in packages) or None),
    ]
    return Table(["item", "value"], [[name, fmt_metric(name, value)] for name, value in items
                            if value is not None])


def profile_table(profile: Mapping | None) -> Table | None:
    if not profile:
        return None
    rows = [[name, f"{profile[key] * scale:,.2f} {unit}"]
            for key, name, scale, unit in PROFILE if _is_number(profile.get(key))]
    return Table(["measure", "value"], rows) if rows else None


_SWEEP_COLUMNS = (("label_accuracy", "accuracy"), ("macro_f1", "macro-F1"),
                  ("rouge_l", "ROUGE-L"), ("bertscore_f1", "BERTScore"))


def sweep_table(sweep: SweepResult) -> Table:
    """One row per variant, failed ones included; Pareto-optimal ones marked."""
    optimal = pareto_optimal(usable_variants(sweep))
    rows = []
    for v in sweep.variants:
        seconds = v.metric("train_seconds")
        params = v.metric("params_total")
        latency = v.metric("latency_ms_p50")
        rows.append([
            v.variant,
            v.status or MISSING,
            ", ".join(f"{k}={fmt_setting(val)}" for k, val in v.overrides.items()) or MISSING,
            # accuracy: the label accuracy, or the answer accuracy of open-answer / latent runs
            fmt_metric("label_accuracy", v.accuracy()),
            *(fmt_metric(key, v.metric(key)) for key, _ in _SWEEP_COLUMNS[1:]),
            MISSING if seconds is None else f"{seconds / 60:.1f}",
            MISSING if params is None else f"{params / 1e6:,.1f}",
            MISSING if latency is None else f"{latency:,.1f}",
            "yes" if v.variant in optimal else "",
        ])
    return Table(["variant", "status", "overrides", *(name for _, name in _SWEEP_COLUMNS),
                  "train (min)", "params (M)", "latency p50 (ms)", "Pareto-optimal"], rows)


def best_variant(sweep: SweepResult) -> tuple[str | None, RunResult | None]:
    """Name and run folder (None if not found) of the usable variant with the highest
    label accuracy, the first one on ties."""
    variants = usable_variants(sweep)
    if not variants:
        return None, None
    best = max(variants, key=lambda v: v.accuracy())
    return best.variant, best.run


def key_settings(config: Mapping) -> list[tuple[str, str]]:
    """The handful of settings a reader of a paper needs, from the resolved config."""
    wanted = ("model.name", "finetune.mode", "finetune.r", "loss.alpha", "loss.beta",
              "loss.output_order", "latent.mode", "latent.target", "latent.teacher", "latent.alpha",
              "latent.loss", "data.dataset", "data.explanation_source", "data.train_size",
              "training.epochs", "training.batch_size", "training.lr", "seed")
    if isinstance(config.get("latent"), Mapping):  # a latent run weighs its losses with latent.alpha
        wanted = tuple(k for k in wanted if not k.startswith("loss."))
    out = []
    for dotted in wanted:
        node: Any = config
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            out.append((dotted, fmt_setting(node)))
    return out
