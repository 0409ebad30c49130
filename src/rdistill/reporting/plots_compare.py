"""Figures that compare runs (sweep variants): data in, ``Figure`` out, no file I/O.

Sensitivity plots take ``VariantPoint``s: the variant's value of the swept setting
(``x``), its metrics, and a ``group`` naming its other settings, so a grid sweep
(alpha x rank) draws one line per rank instead of a zig-zag through all of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

from rdistill.reporting.pareto import pareto_front
from rdistill.reporting.style import (
    PALETTE,
    PlotSkipped,
    label_points,
    new_figure,
    plain_log_ticks,
    styled,
)

# Metrics shown in comparisons, in this order; all are fractions in [0, 1].
METRIC_NAMES = {
    "label_accuracy": "label accuracy",
    "answer_accuracy": "answer accuracy",
    "macro_f1": "macro-F1",
    "rouge_l": "ROUGE-L F1",
    "bertscore_f1": "BERTScore F1",
    "bleu": "BLEU",
    "teacher_label_agreement": "teacher agreement",
}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


@dataclass(frozen=True)
class VariantPoint:
    name: str
    x: float
    metrics: Mapping[str, float] = field(default_factory=dict)
    group: str = ""


def _groups(points: Sequence[VariantPoint]) -> dict[str, list[VariantPoint]]:
    groups: dict[str, list[VariantPoint]] = {}
    for point in points:
        groups.setdefault(point.group, []).append(point)
    return {name: sorted(members, key=lambda p: p.x) for name, members in groups.items()}


def _present(points: Sequence[VariantPoint], candidates: Sequence[str]) -> list[str]:
    return [m for m in candidates if any(m in p.metrics for p in points)]


def _swept_ticks(ax, values: Sequence[float], log: bool) -> None:
    """Ticks exactly at the swept values, printed plainly, when they are far enough apart
    not to collide; otherwise the default locator (plain numbers on a log axis)."""
    ticks = sorted(set(values))
    if log:
        gaps = [math.log10(b / a) for a, b in zip(ticks, ticks[1:])]
        span = math.log10(ticks[-1] / ticks[0]) if ticks[0] > 0 else 0.0
    else:
        gaps = [b - a for a, b in zip(ticks, ticks[1:])]
        span = ticks[-1] - ticks[0]
    if span > 0 and len(ticks) <= 12 and min(gaps) >= 0.07 * span:
        ax.xaxis.set_ticks(ticks)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    elif log:
        plain_log_ticks(ax.xaxis)


def _metric_panels(points: Sequence[VariantPoint], metrics: Sequence[str], x_label: str,
                   title: str, *, log_x: bool = False,
                   tick_names: Mapping[float, str] | None = None) -> Figure:
    """One panel per metric, one line per group, x = the swept setting."""
    shown = _present(points, metrics)
    if not shown:
        raise PlotSkipped(f"no variant has any of {', '.join(metrics)}")
    n_cols = min(len(shown), 2)
    n_rows = math.ceil(len(shown) / n_cols)
    figure = new_figure(height_in=2.7 * n_rows + 0.6)
    axes = np.atleast_1d(figure.subplots(n_rows, n_cols, squeeze=False)).ravel()
    groups = _groups(points)
    for ax, metric in zip(axes, shown):
        for k, (group, members) in enumerate(groups.items()):
            members = [p for p in members if metric in p.metrics]
            ax.plot([p.x for p in members], [p.metrics[metric] for p in members],
                    marker=_MARKERS[k % len(_MARKERS)], color=PALETTE[k % len(PALETTE)],
                    markersize=4, linewidth=1.4, label=group or "defaults",
                    gid=f"{metric}|{group}")
        if log_x:
            ax.set_xscale("log")
        if tick_names:
            ax.set_xticks(list(tick_names), list(tick_names.values()), rotation=20, ha="right")
        else:
            _swept_ticks(ax, [p.x for p in points], log_x)
        ax.set_xlabel(x_label)
        ax.set_ylabel(f"{METRIC_NAMES.get(metric, metric)} (0-1)")
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    if len(groups) > 1:
        handles, labels = axes[0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside lower center", ncols=min(len(groups), 3),
                      frameon=False, title="other settings")
    figure.suptitle(title)
    return figure


SENSITIVITY_METRICS = ("label_accuracy", "macro_f1", "rouge_l", "bertscore_f1")


@styled
def alpha_sensitivity(points: Sequence[VariantPoint]) -> Figure:
    """Metrics against ``loss.alpha``, the weight of the label loss."""
    if len({p.x for p in points}) < 2:
        raise PlotSkipped("the sweep has fewer than two values of loss.alpha")
    return _metric_panels(points, SENSITIVITY_METRICS, "α (weight of the label loss, loss.alpha)",
                          "Sensitivity to the label-loss weight α")


# A latent run scores a written answer (answer accuracy) and, where it writes reasoning, its
# ROUGE-L; a rationale run in the same sweep brings its label accuracy.
LATENT_METRICS = ("answer_accuracy", "label_accuracy", "rouge_l")


@styled
def latent_alpha_sensitivity(points: Sequence[VariantPoint]) -> Figure:
    """Metrics against ``latent.alpha``, the weight of the distillation loss
    (``alpha * L_distill + (1 - alpha) * L_task``)."""
    if len({p.x for p in points}) < 2:
        raise PlotSkipped("the sweep has fewer than two values of latent.alpha")
    return _metric_panels(points, LATENT_METRICS, "α (weight of the distillation loss, latent.alpha)",
                          "Sensitivity to the distillation weight α")


@styled
def by_setting(points: Sequence[VariantPoint], names: Mapping[float, str], x_label: str,
               title: str) -> Figure:
    """Metrics per value of a setting without an order (the distilled layers, the task):
    ``x`` is the value's position in ``names``, whose texts label the ticks."""
    if len(names) < 2:
        raise PlotSkipped(f"the sweep has fewer than two values of {x_label}")
    return _metric_panels(points, LATENT_METRICS, x_label, title, tick_names=names)


@styled
def degradation(points: Sequence[VariantPoint], *, by_params: bool = True) -> Figure:
    """Metrics against student size: parameters (log axis) or, without a profile, the
    student names in the given order."""
    if len({p.x for p in points}) < 2:
        raise PlotSkipped("the sweep has fewer than two student sizes")
    if by_params:
        return _metric_panels(points, SENSITIVITY_METRICS,
                              "student parameters (millions, log scale)",
                              "Quality over student size", log_x=True)
    names = {p.x: p.name for p in points}
    return _metric_panels(points, SENSITIVITY_METRICS, "student model", "Quality over student size",
                          tick_names=dict(sorted(names.items())))


@styled
def lora_rank(points: Sequence[VariantPoint], accuracy: str = "label_accuracy") -> Figure:
    """Accuracy (left axis; ``accuracy``: ``label_accuracy``, or ``answer_accuracy`` for latent
    runs) and training time (right axis) against the LoRA rank.

    Each point's metrics need ``accuracy`` and/or ``train_seconds``.
    """
    if len({p.x for p in points}) < 2:
        raise PlotSkipped("the sweep has fewer than two LoRA ranks (finetune.r)")
    figure = new_figure(height_in=3.9)
    ax = figure.add_subplot()
    time_ax = ax.twinx()
    time_ax.grid(False)
    time_ax.spines["right"].set_visible(True)
    groups = _groups(points)
    handles = []
    # Colour = the other settings, line style = the quantity: 2 + groups legend entries
    # instead of 2 x groups.
    for k, (group, members) in enumerate(groups.items()):
        colour = PALETTE[k % len(PALETTE)]
        acc = [p for p in members if accuracy in p.metrics]
        timed = [p for p in members if "train_seconds" in p.metrics]
        handles += ax.plot([p.x for p in acc], [p.metrics[accuracy] for p in acc], "-o",
                           color=colour, markersize=4, label=group or "defaults",
                           gid=f"{accuracy}|{group}")
        time_ax.plot([p.x for p in timed], [p.metrics["train_seconds"] / 60 for p in timed],
                     "--s", color=colour, markersize=4, alpha=0.8, gid=f"train_minutes|{group}")
    ax.set_xscale("log", base=2)
    _swept_ticks(ax, [p.x for p in points], log=True)
    ax.set_xlabel("LoRA rank r (log scale)")
    ax.set_ylabel(f"{METRIC_NAMES[accuracy]} (0-1), solid")
    time_ax.set_ylabel("training time (minutes), dashed")
    ax.set_title("LoRA rank: accuracy and training time")
    if len(groups) > 1:
        figure.legend(handles=handles, loc="outside lower center", ncols=min(len(groups), 3),
                      frameon=False, title="other settings")
    return figure


@dataclass(frozen=True)
class EfficiencyPoint:
    name: str
    accuracy: float
    params_millions: float
    latency_ms: float


@styled
def efficiency(points: Sequence[EfficiencyPoint], accuracy_label: str = "label accuracy") -> Figure:
    """Accuracy against latency, each marker's area proportional to the parameter count."""
    if len(points) < 2:
        raise PlotSkipped("fewer than two variants have accuracy, params_total and latency")
    figure = new_figure(height_in=4.0)
    ax = figure.add_subplot()
    largest = max(p.params_millions for p in points)
    area = [30 + 600 * p.params_millions / largest for p in points]
    ax.scatter([p.latency_ms for p in points], [p.accuracy for p in points], s=area,
               c=PALETTE[0], alpha=0.6, edgecolors="black", linewidths=0.5, gid="variants")
    for size in sorted({min(p.params_millions for p in points), largest}):
        ax.scatter([], [], s=30 + 600 * size / largest, c=PALETTE[0], alpha=0.6,
                   edgecolors="black", linewidths=0.5, label=f"{size:,.1f} M parameters")
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel("latency per example, median (ms, log scale)")
    ax.set_ylabel(f"{accuracy_label} (0-1)")
    ax.set_title("Efficiency: accuracy, latency and size")
    ax.legend(frameon=False, labelspacing=1.5, borderpad=1.0, loc="best")
    ax.margins(0.15)
    label_points(ax, [p.latency_ms for p in points], [p.accuracy for p in points],
                 [p.name for p in points], gap_pt=9)
    return figure


@styled
def pareto_frontier(names: Sequence[str], costs: Sequence[float], accuracies: Sequence[float],
                    cost_label: str, *, log_x: bool = True, accuracy_label: str = "label accuracy") -> Figure:
    """Accuracy against a cost; the non-dominated variants (lower cost, higher accuracy)
    are ringed, joined by the frontier and named. Artists: gid ``all`` and ``front``."""
    if len(names) < 2:
        raise PlotSkipped("fewer than two variants have both accuracy and a cost")
    front = pareto_front(list(zip(costs, accuracies)), maximize=(False, True))
    figure = new_figure(height_in=4.0)
    ax = figure.add_subplot()
    ax.scatter(costs, accuracies, s=22, color="#999999", label="dominated", gid="all", zorder=2)
    front_sorted = sorted(front, key=lambda i: costs[i])
    ax.scatter([costs[i] for i in front_sorted], [accuracies[i] for i in front_sorted], s=60,
               facecolors=PALETTE[1], edgecolors="black", linewidths=0.6,
               label="Pareto-optimal", gid="front", zorder=3)
    # The frontier is a staircase: between two optimal points only the cheaper one's
    # accuracy is reachable.
    ax.step([costs[i] for i in front_sorted], [accuracies[i] for i in front_sorted],
            where="post", color=PALETTE[1], linewidth=1, alpha=0.7, zorder=1)
    if log_x and min(costs) > 0:
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)
    ax.set_xlabel(cost_label)
    ax.set_ylabel(f"{accuracy_label} (0-1)")
    ax.set_title(f"Pareto frontier ({len(front)} of {len(names)} variants optimal)")
    ax.legend(frameon=False, loc="lower right")
    ax.margins(0.12)
    label_points(ax, [costs[i] for i in front_sorted], [accuracies[i] for i in front_sorted],
                 [names[i] for i in front_sorted])
    return figure


RADAR_METRICS = ("label_accuracy", "answer_accuracy", "macro_f1", "rouge_l", "bertscore_f1", "bleu",
                 "calibration", "teacher_label_agreement")


def radar_values(metrics: Mapping) -> dict[str, float]:
    """The radar's axes from a flat metrics dict: ECE enters as calibration = 1 - ECE so
    that, like every other axis, larger is better."""
    values = {k: float(metrics[k]) for k in RADAR_METRICS
              if isinstance(metrics.get(k), (int, float)) and not isinstance(metrics.get(k), bool)}
    ece = metrics.get("ece")
    if isinstance(ece, (int, float)) and not isinstance(ece, bool):
        values["calibration"] = 1.0 - float(ece)
    return values


@styled
def radar(series: Mapping[str, Mapping[str, float]], max_series: int = 8) -> Figure:
    """One polygon per run over the metrics every run has (values in [0, 1]).

    ``series``: ``{run name: radar_values(...)}``; at most ``max_series`` are drawn.
    """
    names = list(series)[:max_series]
    axes_keys = [k for k in RADAR_METRICS if names and all(k in series[n] for n in names)]
    if len(axes_keys) < 3:
        raise PlotSkipped("fewer than three metrics are shared by every run")
    angles = np.linspace(0, 2 * np.pi, len(axes_keys), endpoint=False)
    figure = new_figure(height_in=4.8, width_in=5.6)
    ax = figure.add_subplot(projection="polar")
    for k, name in enumerate(names):
        values = [series[name][key] for key in axes_keys]
        colour = PALETTE[k % len(PALETTE)]
        ax.plot(np.append(angles, angles[0]), values + values[:1], color=colour, linewidth=1.4,
                label=name, gid=f"radar|{name}")
        if len(names) <= 3:  # more overlapping fills turn into one muddy blob
            ax.fill(angles, values, color=colour, alpha=0.12)
    labels = [{**METRIC_NAMES, "calibration": "calibration\n(1 - ECE)"}[key] for key in axes_keys]
    ax.set_xticks(angles, labels)
    ax.tick_params(axis="x", pad=6)
    # Anchor each metric name on the side facing the circle, so long names grow outwards.
    for label, angle in zip(ax.get_xticklabels(), angles):
        cos = math.cos(angle)
        label.set_horizontalalignment("left" if cos > 0.1 else "right" if cos < -0.1 else "center")
    ax.set_ylim(0, 1)
    ax.set_yticks([0.25, 0.5, 0.75, 1.0], ["0.25", "0.5", "0.75", "1"], fontsize=7, color="#555555")
    # Radial labels halfway between two metric axes, where they cross the fewest lines.
    ax.set_rlabel_position(180 / len(axes_keys))
    shown = "" if len(names) == len(series) else f", first {len(names)} of {len(series)} runs"
    ax.set_title(f"Metric profile (all axes 0-1, larger is better{shown})", pad=14)
    # Sweep variant names run long ("loss.alpha=0.5,loss.beta=0.25"): fewer columns so
    # the legend stays inside the figure.
    longest = max(len(name) for name in names)
    columns = 3 if longest <= 20 else 2 if longest <= 34 else 1
    figure.legend(loc="outside lower center", ncols=min(len(names), columns), frameon=False)
    return figure
