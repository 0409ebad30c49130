"""Each run figure draws exactly the numbers it is given (artists found by their gid)."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from rdistill.reporting import plots_run
from rdistill.reporting.results import LayerSimilarity
from rdistill.reporting.style import PlotSkipped


def artists(figure: Figure, gid: str) -> list:
    return [a for a in figure.findobj() if a.get_gid() == gid]


def line(figure: Figure, gid: str):
    (found,) = artists(figure, gid)
    return list(found.get_xdata()), list(found.get_ydata())


def test_training_curves_draw_every_loss_term_as_logged(fakes):
    figure = plots_run.training_curves(fakes.TRAIN_LOG)
    train = [r for r in fakes.TRAIN_LOG if "loss" in r and "train_runtime" not in r]
    evals = [r for r in fakes.TRAIN_LOG if "eval_loss" in r]
    for key in ("loss", "loss_label", "loss_expl"):
        assert line(figure, key) == ([r["step"] for r in train], [r[key] for r in train])
        assert line(figure, f"eval_{key}") == ([r["step"] for r in evals],
                                                [r[f"eval_{key}"] for r in evals])
    (ax,) = figure.axes
    assert ax.get_yscale() == "log"  # 8.0 / 0.4 spans more than a decade
    assert ax.get_xlabel() == "optimizer step" and "nats per token" in ax.get_ylabel()
    labels = ax.get_legend_handles_labels()[1]
    assert "train: label" in labels and "eval: explanation" in labels


def test_training_curves_without_losses_are_skipped():
    with pytest.raises(PlotSkipped):
        plots_run.training_curves([{"step": 1, "learning_rate": 0.1}])


def test_per_label_bar_heights_are_the_scores(fakes):
    per_label = fakes.eval_metrics()["per_label"]
    figure = plots_run.per_label_bars(per_label)
    for metric in ("precision", "recall", "f1"):
        heights = [bar.get_height() for bar in artists(figure, metric)]
        assert heights == [per_label[label][metric] for label in per_label]
    ticks = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert ticks[0] == "entailment\n(n = 2)"


def test_confusion_image_is_the_matrix(fakes):
    block = fakes.eval_metrics()["confusion_matrix"]
    rows = block["labels"][:3]
    figure = plots_run.confusion_matrix(rows, block["labels"], block["matrix"])
    (image,) = artists(figure, "confusion")
    np.testing.assert_array_equal(image.get_array(), np.array(block["matrix"]))
    cell_texts = [t.get_text() for t in figure.axes[0].texts]
    assert cell_texts[0] == "2\n100.0%" and cell_texts[3] == "0\n0.0%"
    with pytest.raises(PlotSkipped):
        plots_run.confusion_matrix(rows, block["labels"], [[1, 2]])


def test_reliability_bars_are_the_filled_bins(fakes):
    figure = plots_run.reliability_diagram(fakes.RELIABILITY, ece=0.12)
    filled = [b for b in fakes.RELIABILITY if b["count"]]
    bars = artists(figure, "accuracy")
    assert [b.get_height() for b in bars] == [b["accuracy"] for b in filled]
    assert [b.get_x() for b in bars] == [b["lower"] for b in filled]
    assert [round(b.get_width(), 9) for b in bars] == [0.25] * 3
    assert [b.get_height() for b in artists(figure, "counts")] == [b["count"] for b in filled]
    assert line(figure, "mean_confidence")[1] == [b["mean_confidence"] for b in filled]
    assert "ECE = 0.120" in figure.axes[0].get_title()
    with pytest.raises(PlotSkipped, match="no label probabilities"):
        plots_run.reliability_diagram([{"lower": 0, "upper": 1, "count": 0, "accuracy": None}])


def test_error_breakdown_bars_are_the_counts(fakes):
    categories = fakes.eval_metrics()["error_categories"]
    figure = plots_run.error_breakdown(categories)
    ax = figure.axes[0]
    widths = [p.get_width() for p in ax.patches]
    assert widths == list(categories.values())
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["correct", "label wrong"]
    assert "3 (50.0%)" in [t.get_text() for t in ax.texts]
    with pytest.raises(PlotSkipped):
        plots_run.error_breakdown({"correct": 0})


def test_layer_similarity_image_is_the_matrix(fakes):
    raw = fakes.LAYER_SIMILARITY
    sim = LayerSimilarity(raw["student_layers"], raw["teacher_layers"], raw["similarity"], "CKA")
    figure = plots_run.layer_similarity_heatmap(sim)
    (image,) = artists(figure, "similarity")
    np.testing.assert_allclose(image.get_array(), np.array(raw["similarity"]))
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == raw["teacher_layers"]
    assert [t.get_text() for t in ax.get_yticklabels()] == raw["student_layers"]
    assert ax.get_xlabel() == "teacher layer" and ax.get_ylabel() == "student layer"
