"""Figures about one run: data in, ``Figure`` out, no file I/O.

Each function draws exactly the numbers it is given (read from the run's result
files) and raises ``PlotSkipped`` when they are absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from rdistill.reporting.results import LayerSimilarity
from rdistill.reporting.style import (
    PALETTE,
    PlotSkipped,
    new_figure,
    percent,
    plain_log_ticks,
    styled,
)

# Readable names for the loss terms the trainer logs (train/loss_label, ...).
_LOSS_NAMES = {"loss": "total", "loss_label": "label", "loss_expl": "explanation",
               "loss_latent": "latent"}
_ERROR_NAMES = {"correct": "correct", "label_error": "label wrong",
                "explanation_error": "explanation wrong", "both": "both wrong",
                "invalid": "invalid output"}
_ERROR_COLOURS = {"correct": PALETTE[2], "label_error": PALETTE[1],
                  "explanation_error": PALETTE[4], "both": PALETTE[3], "invalid": "#777777"}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def loss_series(train_log: Sequence[Mapping]) -> dict[str, tuple[list[float], list[float]]]:
    """``{key: (steps, values)}`` for every loss term in the log, train and eval.

    Train rows carry ``loss``; eval rows ``eval_loss``. The Trainer's closing row
    (with ``train_runtime``) holds whole-run averages, not a point on the curve.
    """
    series: dict[str, tuple[list[float], list[float]]] = {}
    for row in train_log:
        if "train_runtime" in row or not _is_number(row.get("step")):
            continue
        for key, value in row.items():
            is_loss = key.startswith("loss") or key.startswith("eval_loss")
            if is_loss and _is_number(value):
                steps, values = series.setdefault(key, ([], []))
                steps.append(float(row["step"]))
                values.append(float(value))
    return series


def _loss_label(key: str) -> str:
    split, term = ("eval", key[len("eval_"):]) if key.startswith("eval_") else ("train", key)
    return f"{split}: {_LOSS_NAMES.get(term, term.removeprefix('loss_'))}"


@styled
def training_curves(train_log: Sequence[Mapping]) -> Figure:
    """Every logged loss term against the optimizer step; train solid, eval dashed."""
    series = loss_series(train_log)
    if not series:
        raise PlotSkipped("metrics.jsonl has no loss values")
    figure = new_figure()
    ax = figure.add_subplot()
    terms = sorted({key.removeprefix("eval_") for key in series},
                   key=lambda t: (list(_LOSS_NAMES).index(t) if t in _LOSS_NAMES else 99, t))
    for colour, term in zip(PALETTE * 2, terms):
        for key, style in ((term, "-"), (f"eval_{term}", "--")):
            if key in series:
                steps, values = series[key]
                ax.plot(steps, values, style, color=colour, marker="o" if style == "--" else None,
                        markersize=3, linewidth=1.4, label=_loss_label(key), gid=key)
    values = [v for _, vs in series.values() for v in vs]
    # Early losses are 10-50x the final ones: on a linear axis the end of training is a flat line.
    if min(values) > 0 and max(values) / min(values) > 10:
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy (nats per token, log scale)" if ax.get_yscale() == "log"
                  else "cross-entropy (nats per token)")
    ax.set_title("Training curves")
    ax.legend(ncols=2 if len(series) > 4 else 1, frameon=False)
    return figure


@styled
def error_breakdown(categories: Mapping[str, int]) -> Figure:
    """Count (and share) of examples in each error category, one horizontal bar each."""
    total = sum(int(v) for v in categories.values() if _is_number(v))
    if not categories or total == 0:
        raise PlotSkipped("eval/metrics.json has no error_categories")
    names = list(categories)
    counts = [int(categories[name]) for name in names]
    figure = new_figure(height_in=0.45 * len(names) + 1.2)
    ax = figure.add_subplot()
    y = np.arange(len(names))
    bars = ax.barh(y, counts, color=[_ERROR_COLOURS.get(n, PALETTE[0]) for n in names], height=0.6)
    ax.bar_label(bars, labels=[f"{c} ({percent(c / total)})" for c in counts], padding=3,
                 fontsize=8)
    ax.set_yticks(y, [_ERROR_NAMES.get(n, n) for n in names])
    ax.invert_yaxis()  # first category on top, as listed in the metrics file
    ax.set_xlim(0, max(counts) * 1.25)  # room for the bar labels
    ax.set_xlabel(f"examples (count, of n = {total})")
    ax.set_ylabel("error category")
    ax.set_title("Error breakdown")
    ax.grid(axis="y", visible=False)
    return figure


@styled
def reliability_diagram(bins: Sequence[Mapping], ece: float | None = None) -> Figure:
    """Accuracy per confidence bin against the diagonal, with the bin counts below.

    ``bins``: the ``calibration.reliability`` list of ``{lower, upper, count,
    accuracy, mean_confidence}``; empty bins (count 0) are not drawn.
    """
    filled = [b for b in bins if b.get("count") and _is_number(b.get("accuracy"))]
    if not filled:
        raise PlotSkipped("eval/metrics.json has no calibration.reliability bins "
                          "(no label probabilities)")
    figure = new_figure(height_in=4.6, width_in=4.6)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    lefts = [b["lower"] for b in filled]
    widths = [b["upper"] - b["lower"] for b in filled]
    top.bar(lefts, [b["accuracy"] for b in filled], width=widths, align="edge",
            color=PALETTE[0], edgecolor="white", linewidth=0.5, label="accuracy", gid="accuracy")
    confident = [b for b in filled if _is_number(b.get("mean_confidence"))]
    # The marker's height is what the model claimed, the bar's what it achieved: the gap
    # between them is the bin's miscalibration.
    top.plot([(b["lower"] + b["upper"]) / 2 for b in confident],
             [b["mean_confidence"] for b in confident], "_", color=PALETTE[1], markersize=9,
             markeredgewidth=2, label="mean confidence of bin", gid="mean_confidence")
    top.plot([0, 1], [0, 1], ":", color="#444444", linewidth=1, label="perfect calibration")
    top.set_ylim(0, 1)
    top.set_xlim(0, 1)
    top.set_ylabel("accuracy (fraction correct)")
    title = "Reliability diagram"
    top.set_title(f"{title} (ECE = {ece:.3f})" if _is_number(ece) else title)
    top.legend(loc="upper left", frameon=False)
    bottom.bar(lefts, [b["count"] for b in filled], width=widths, align="edge",
               color="#888888", edgecolor="white", linewidth=0.5, gid="counts")
    bottom.set_ylabel("examples")
    bottom.set_xlabel("confidence (probability of the predicted label)")
    return figure


@styled
def confusion_matrix(row_labels: Sequence[str], column_labels: Sequence[str],
                     matrix: Sequence[Sequence[int]]) -> Figure:
    """Counts of gold (rows) x predicted (columns) labels, each cell annotated."""
    counts = np.asarray(matrix, dtype=float)
    if counts.size == 0 or counts.shape != (len(row_labels), len(column_labels)):
        raise PlotSkipped("eval/metrics.json has no usable confusion_matrix")
    figure = new_figure(height_in=0.55 * len(row_labels) + 1.9,
                        width_in=0.95 * len(column_labels) + 2.6)
    ax = figure.add_subplot()
    image = ax.imshow(counts, cmap="Blues", vmin=0, gid="confusion")
    row_totals = counts.sum(axis=1)
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            share = counts[i, j] / row_totals[i] if row_totals[i] else 0.0
            dark = counts[i, j] > 0.55 * counts.max()
            ax.text(j, i, f"{int(counts[i, j])}\n{percent(share)}", ha="center", va="center",
                    fontsize=7.5, color="white" if dark else "black")
    ax.set_xticks(range(len(column_labels)), column_labels, rotation=20, ha="right")
    ax.set_yticks(range(len(row_labels)), row_labels)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("gold label")
    ax.set_title("Confusion matrix (count, % of gold row)")
    ax.grid(False)
    figure.colorbar(image, ax=ax, label="examples (count)", shrink=0.85)
    return figure


@styled
def per_label_bars(per_label: Mapping[str, Mapping[str, float]]) -> Figure:
    """Precision, recall and F1 for each label, grouped by label."""
    labels = [name for name, scores in per_label.items() if isinstance(scores, Mapping)]
    if not labels:
        raise PlotSkipped("eval/metrics.json has no per_label scores")
    figure = new_figure(height_in=3.4)
    ax = figure.add_subplot()
    x = np.arange(len(labels))
    width = 0.26
    for k, (metric, colour) in enumerate(zip(("precision", "recall", "f1"), PALETTE)):
        heights = [float(per_label[label].get(metric) or 0.0) for label in labels]
        bars = ax.bar(x + (k - 1) * width, heights, width, color=colour,
                      label="F1" if metric == "f1" else metric, gid=metric)
        if metric == "f1":
            ax.bar_label(bars, fmt="%.2f", padding=2, fontsize=7)
    ax.set_xticks(x, [f"{label}\n(n = {per_label[label].get('support', '?')})" for label in labels])
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("score (0-1)")
    ax.set_xlabel("gold label (support)")
    ax.set_title("Per-label precision, recall and F1")
    ax.legend(ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)
    ax.grid(axis="x", visible=False)
    return figure


@styled
def layer_similarity_heatmap(similarity: LayerSimilarity) -> Figure:
    """Similarity of every student layer (rows) to every teacher layer (columns)."""
    values = np.asarray(similarity.similarity, dtype=float)
    if values.size == 0:
        raise PlotSkipped("layer_similarity.json has an empty matrix")
    n_rows, n_cols = values.shape
    figure = new_figure(height_in=min(0.35 * n_rows + 1.6, 8.0),
                        width_in=min(0.4 * n_cols + 2.6, 9.0))
    ax = figure.add_subplot()
    image = ax.imshow(values, cmap="viridis", aspect="auto", gid="similarity")
    if n_rows * n_cols <= 144:  # beyond 12 x 12 the numbers no longer fit their cells
        threshold = values.min() + 0.6 * (values.max() - values.min())
        for i in range(n_rows):
            for j in range(n_cols):
                ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=6.5,
                        color="black" if values[i, j] > threshold else "white")
    ax.set_xticks(range(n_cols), similarity.teacher_layers, rotation=90 if n_cols > 12 else 0)
    ax.set_yticks(range(n_rows), similarity.student_layers)
    ax.set_xlabel("teacher layer")
    ax.set_ylabel("student layer")
    ax.set_title("Layer-wise representation similarity")
    ax.grid(False)
    figure.colorbar(image, ax=ax, label=f"similarity ({similarity.measure or 'unitless'})")
    return figure
