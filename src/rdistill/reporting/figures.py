"""Which figures a run or a sweep gets, built from its loaded result files, and saving them.

A figure whose data is absent is skipped with its reason (logged, and listed in
the report) instead of failing the whole command.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from tqdm.auto import tqdm

from rdistill.errors import DataError
from rdistill.io import write_bytes_atomic
from rdistill.reporting import learning_curve, plots_compare, plots_run
from rdistill.reporting.pareto import pareto_front
from rdistill.reporting.plots_compare import EfficiencyPoint, VariantPoint
from rdistill.reporting.results import RunResult, SweepResult, SweepVariant
from rdistill.reporting.style import PlotSkipped, house_style

log = logging.getLogger(__name__)

FORMATS = ("png", "pdf")

CAPTIONS = {
    "training_curves": "Training curves of every loss term (train and eval).",
    "per_label": "Precision, recall and F1 per gold label.",
    "confusion_matrix": "Confusion matrix: gold label (rows) by predicted label (columns).",
    "reliability_diagram": "Reliability diagram: accuracy per confidence bin.",
    "error_breakdown": "Error breakdown by category.",
    "layer_similarity": "Layer-wise similarity of student and teacher representations.",
    "radar": "Metric profile across metrics (all 0-1, larger is better).",
    "alpha_sensitivity": "Sensitivity to the label-loss weight alpha.",
    "lora_rank": "LoRA rank against accuracy and training time.",
    "degradation": "Quality over student size.",
    "efficiency": "Efficiency: accuracy against latency and size.",
    "pareto": "Pareto frontier of accuracy against cost; optimal variants ringed.",
    "learning_curve": "Label accuracy against training rows, mean over seeds with 95 % intervals.",
    "latent_alpha": "Sensitivity to the distillation weight alpha (latent.alpha).",
    "layer_selection": "Metrics per set of distilled teacher layers (latent.layers).",
    "per_task": "Metrics per task (data.dataset).",
}


@dataclass
class FigureSet:
    figures: dict[str, Figure] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # figure name -> why


def _build(builders: dict[str, Callable[[], Figure]], show_progress: bool) -> FigureSet:
    result = FigureSet()
    for name, build in tqdm(builders.items(), desc="figures", disable=not show_progress,
                            leave=False):
        try:
            result.figures[name] = build()
        except PlotSkipped as reason:
            result.skipped[name] = str(reason)
            log.info("figure %s skipped: %s", name, reason)
    return result


def _need(value: Any, reason: str) -> Any:
    if not value:
        raise PlotSkipped(reason)
    return value


def flat_metrics(run: RunResult) -> dict:
    """The run's evaluation metrics: eval/metrics.json, else the summary's headline."""
    return run.eval_metrics or run.summary.get("eval") or {}


def _confusion(metrics: dict) -> Figure:
    block = _need(metrics.get("confusion_matrix"), "eval/metrics.json has no confusion_matrix")
    columns, matrix = block.get("labels") or [], block.get("matrix") or []
    # The gold rows are the label set; the extra "invalid" column exists only for predictions.
    return plots_run.confusion_matrix(columns[:len(matrix)], columns, matrix)


def _reliability(metrics: dict) -> Figure:
    block = _need(metrics.get("calibration"), "eval/metrics.json has no calibration block "
                  "(no label probabilities, or evaluated by an older rdistill)")
    return plots_run.reliability_diagram(block.get("reliability") or [], metrics.get("ece"))


def run_figures(run: RunResult, show_progress: bool = False) -> FigureSet:
    metrics = flat_metrics(run)
    builders: dict[str, Callable[[], Figure]] = {
        "training_curves": lambda: plots_run.training_curves(run.train_log),
        "per_label": lambda: plots_run.per_label_bars(
            _need(metrics.get("per_label"), "eval/metrics.json has no per_label scores")),
        "confusion_matrix": lambda: _confusion(metrics),
        "reliability_diagram": lambda: _reliability(metrics),
        "error_breakdown": lambda: plots_run.error_breakdown(
            _need(metrics.get("error_categories"), "eval/metrics.json has no error_categories "
                  "(evaluated by an older rdistill)")),
        "layer_similarity": lambda: plots_run.layer_similarity_heatmap(
            _need(run.layer_similarity, "no layer_similarity.json in the run folder")),
        "radar": lambda: plots_compare.radar({run.name: plots_compare.radar_values(metrics)}),
    }
    return _build(builders, show_progress)


def _number(value: Any) -> float | None:
    """Override values may arrive as strings from ``--set key=value``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN


def usable_variants(sweep: SweepResult) -> list[SweepVariant]:
    """Variants with an accuracy (label, else answer) to plot; failed or pending ones have none."""
    return [v for v in sweep.variants if v.accuracy() is not None]


def accuracy_label(variants: Sequence[SweepVariant]) -> str:
    """The accuracy axis' name: what every variant reports, else plain "accuracy"."""
    keys = {v.accuracy_key() for v in variants}
    return {frozenset({"label_accuracy"}): "label accuracy",
            frozenset({"answer_accuracy"}): "answer accuracy"}.get(frozenset(keys), "accuracy")


def _co_varying(variants: Sequence[SweepVariant], key: str, other: str) -> bool:
    """True when ``other`` changes one-to-one with ``key`` (LoRA alpha set to 2 r, say),
    so it names no separate series."""
    forward: dict = {}
    backward: dict = {}
    for v in variants:
        a, b = repr(v.setting(key)), repr(v.setting(other))
        if forward.setdefault(a, b) != b or backward.setdefault(b, a) != a:
            return False
    return True


def _sweeping(variants: Sequence[SweepVariant], prefix: str) -> list[SweepVariant]:
    """Variants that override a key starting with ``prefix``, plus the baselines (no
    overrides): a variant that changed something else says nothing about this key."""
    return [v for v in variants
            if not v.overrides or any(k.startswith(prefix) for k in v.overrides)]


def _points(variants: Sequence[SweepVariant], key: str, x_of: Callable[[SweepVariant], Any],
            metrics: Sequence[str], exclude_prefix: str | None = None) -> list[VariantPoint]:
    """Points at x = ``x_of(variant)``, grouped by the overrides other than ``key``."""
    with_x = [v for v in _sweeping(variants, exclude_prefix or key) if _number(x_of(v)) is not None]
    points = []
    for v in with_x:
        others = [k for k in sorted(v.overrides) if k != key
                  and not (exclude_prefix and k.startswith(exclude_prefix))
                  and not _co_varying(with_x, key, k)]
        points.append(VariantPoint(
            name=v.variant, x=_number(x_of(v)),
            metrics={m: v.metric(m) for m in metrics if v.metric(m) is not None},
            group=", ".join(f"{k}={v.overrides[k]}" for k in others)))
    return points


def _alpha(variants: Sequence[SweepVariant]) -> Figure:
    return plots_compare.alpha_sensitivity(_points(
        variants, "loss.alpha", lambda v: v.setting("loss.alpha"),
        plots_compare.SENSITIVITY_METRICS))


def _lora_rank(variants: Sequence[SweepVariant]) -> Figure:
    lora = [v for v in variants if v.setting("finetune.mode") in (None, "lora")]
    # Latent runs have no label: their answer accuracy stands in.
    accuracy = next((v.accuracy_key() for v in lora if v.accuracy_key()), "label_accuracy")
    return plots_compare.lora_rank(_points(
        lora, "finetune.r", lambda v: v.setting("finetune.r"), (accuracy, "train_seconds")), accuracy)


def _latent_alpha(variants: Sequence[SweepVariant]) -> Figure:
    return plots_compare.latent_alpha_sensitivity(_points(
        variants, "latent.alpha", lambda v: v.setting("latent.alpha"), plots_compare.LATENT_METRICS))


def _value_name(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _by_setting(variants: Sequence[SweepVariant], key: str, x_label: str, title: str) -> Figure:
    """Metrics per value of ``key`` (values without an order, in sweep order)."""
    swept = [v for v in _sweeping(variants, key) if v.setting(key) is not None]
    names = list(dict.fromkeys(_value_name(v.setting(key)) for v in swept))
    points = _points(swept, key, lambda v: names.index(_value_name(v.setting(key))),
                     plots_compare.LATENT_METRICS)
    return plots_compare.by_setting(points, dict(enumerate(names)), x_label, title)


def _student(v: SweepVariant) -> tuple:
    """What makes two students different models: the name and any model.* override."""
    return (v.setting("model.name"),
            *sorted((k, repr(val)) for k, val in v.overrides.items() if k.startswith("model.")))


def _degradation(variants: Sequence[SweepVariant]) -> Figure:
    variants = _sweeping(variants, "model.")
    students = list(dict.fromkeys(_student(v) for v in variants))
    if len(students) < 2:
        raise PlotSkipped("all variants use the same student model")
    metrics = plots_compare.SENSITIVITY_METRICS
    if all(v.metric("params_total") is not None for v in variants):
        return plots_compare.degradation(_points(
            variants, "model.name", lambda v: v.metric("params_total") / 1e6, metrics,
            exclude_prefix="model."))
    # Without profile.json there is no size to put on the axis: students in sweep order.
    points = _points(variants, "model.name", lambda v: students.index(_student(v)), metrics,
                     exclude_prefix="model.")
    return plots_compare.degradation(points, by_params=False)


def _efficiency(variants: Sequence[SweepVariant]) -> Figure:
    points = [EfficiencyPoint(v.variant, v.accuracy(),
                              v.metric("params_total") / 1e6, v.metric("latency_ms_p50"))
              for v in variants
              if v.metric("params_total") is not None and v.metric("latency_ms_p50") is not None]
    if len(points) < 2:
        raise PlotSkipped("fewer than two variants have profile.json (params_total, "
                          "latency_ms_p50); run `rdistill profile` on them")
    return plots_compare.efficiency(points, accuracy_label=accuracy_label(variants))


# Cost axis for the Pareto plot, best first: what a deployment pays, else what training paid.
_COSTS = (("latency_ms_p50", 1.0, "latency per example, median (ms, log scale)"),
          ("params_total", 1e-6, "parameters (millions, log scale)"),
          ("train_seconds", 1 / 60, "training time (minutes, log scale)"))


def pareto_cost(variants: Sequence[SweepVariant]) -> tuple[str, float, str, list[SweepVariant]]:
    """``(metric key, scale, axis label, variants that have it)`` of the first cost at least
    two variants report; the Pareto plot and the report's table use the same one."""
    for key, scale, label in _COSTS:
        costed = [v for v in variants if v.metric(key) is not None]
        if len(costed) >= 2:
            return key, scale, label, costed
    raise PlotSkipped("fewer than two variants have a cost (latency, parameters or train time)")


def pareto_optimal(variants: Sequence[SweepVariant]) -> set[str]:
    """Names of the variants no other variant beats on both accuracy and cost."""
    try:
        key, _, _, costed = pareto_cost(variants)
    except PlotSkipped:
        return set()
    front = pareto_front([(v.metric(key), v.accuracy()) for v in costed],
                         maximize=(False, True))
    return {costed[i].variant for i in front}


def _pareto(variants: Sequence[SweepVariant]) -> Figure:
    key, scale, label, costed = pareto_cost(variants)
    return plots_compare.pareto_frontier(
        [v.variant for v in costed], [v.metric(key) * scale for v in costed],
        [v.accuracy() for v in costed], label, accuracy_label=accuracy_label(costed))


def _radar(variants: Sequence[SweepVariant]) -> Figure:
    # Most accurate first: when there are too many to draw, the best ones are kept.
    ranked = sorted(variants, key=lambda v: -v.accuracy())
    return plots_compare.radar({v.variant: plots_compare.radar_values(v.metrics) for v in ranked})


def sweep_figures(sweep: SweepResult, show_progress: bool = False) -> FigureSet:
    variants = usable_variants(sweep)
    if not variants:
        return FigureSet(skipped={"sweep": "no variant has a label or answer accuracy yet"})
    builders: dict[str, Callable[[], Figure]] = {
        "alpha_sensitivity": lambda: _alpha(variants),
        "lora_rank": lambda: _lora_rank(variants),
        "degradation": lambda: _degradation(variants),
        "efficiency": lambda: _efficiency(variants),
        "pareto": lambda: _pareto(variants),
        "radar": lambda: _radar(variants),
        "learning_curve": lambda: _learning_curve(variants),
        "latent_alpha": lambda: _latent_alpha(variants),
        "layer_selection": lambda: _by_setting(variants, "latent.layers",
                                               "distilled teacher layers (latent.layers)",
                                               "Which teacher layers to distil"),
        "per_task": lambda: _by_setting(variants, "data.dataset", "task (data.dataset)",
                                        "Accuracy per task"),
    }
    return _build(builders, show_progress)


def _learning_curve(variants: Sequence[SweepVariant]) -> Figure:
    if not any(learning_curve.SIZE_KEY in v.overrides for v in variants):
        raise PlotSkipped(f"the sweep does not vary {learning_curve.SIZE_KEY}")
    return learning_curve.learning_curve(learning_curve.curve_points(learning_curve.curve_runs(variants)))


def result_figures(result: RunResult | SweepResult, show_progress: bool = False) -> FigureSet:
    if isinstance(result, SweepResult):
        return sweep_figures(result, show_progress)
    return run_figures(result, show_progress)


def figure_bytes(figure: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    # Fixed metadata keeps the PDF byte-identical across runs (no creation date).
    metadata = {"CreationDate": None} if fmt == "pdf" else {"Software": None}
    # 200 dpi: sharp in print at full page width (1280 px), still small (~100 kB) as PNG.
    with house_style():
        figure.savefig(buffer, format=fmt, metadata=metadata, dpi=200)
    return buffer.getvalue()


def parse_formats(text: str) -> tuple[str, ...]:
    formats = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    bad = [f for f in formats if f not in ("png", "pdf", "svg")]
    if bad or not formats:
        raise DataError(f"--format {text!r}: allowed formats are png, pdf, svg "
                        "(comma-separated, e.g. --format png,pdf)")
    return formats


def save_figures(figures: FigureSet, out_dir: str | Path, formats: Sequence[str] = FORMATS,
                 show_progress: bool = False) -> list[Path]:
    """Write each figure as ``out_dir/<name>.<fmt>`` (atomically); returns the paths."""
    written = []
    for name, figure in tqdm(figures.figures.items(), desc="saving figures", leave=False,
                             disable=not show_progress):
        for fmt in formats:
            path = Path(out_dir) / f"{name}.{fmt}"
            write_bytes_atomic(path, figure_bytes(figure, fmt))
            written.append(path)
    return written
