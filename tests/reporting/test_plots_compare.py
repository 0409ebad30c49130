"""Comparison figures draw what the data says; the ringed Pareto points are the optimal ones."""

import random

import numpy as np
import pytest
from matplotlib.figure import Figure

from rdistill.reporting import plots_compare
from rdistill.reporting.pareto import dominates
from rdistill.reporting.plots_compare import EfficiencyPoint, VariantPoint
from rdistill.reporting.style import PlotSkipped


def artists(figure: Figure, gid: str) -> list:
    return [a for a in figure.findobj() if a.get_gid() == gid]


@pytest.mark.parametrize("seed", range(3))
def test_pareto_marks_exactly_the_non_dominated_variants(seed):
    rng = random.Random(seed)
    n = 15
    names = [f"v{i}" for i in range(n)]
    costs = [rng.choice([5.0, 10.0, 20.0, 40.0, 80.0]) for _ in range(n)]
    accuracies = [rng.choice([0.6, 0.65, 0.7, 0.75, 0.8]) for _ in range(n)]
    figure = plots_compare.pareto_frontier(names, costs, accuracies, "latency (ms)")
    (front,) = artists(figure, "front")
    (everyone,) = artists(figure, "all")
    marked = {tuple(p) for p in front.get_offsets().tolist()}
    points = list(zip(costs, accuracies))
    expected = {p for p in points
                if not any(dominates(q, p, (False, True)) for q in points)}
    assert marked == expected
    assert len(everyone.get_offsets()) == n
    named = {t.get_text() for t in figure.axes[0].texts}
    assert named == {names[i] for i, p in enumerate(points) if p in expected}


def test_pareto_needs_two_variants():
    with pytest.raises(PlotSkipped):
        plots_compare.pareto_frontier(["a"], [1.0], [0.5], "cost")


def sweep_points():
    # alpha x rank grid: one line per rank.
    points = []
    for rank, offset in ((8, 0.0), (32, 0.02)):
        for alpha, acc, rouge in ((0.5, 0.70, 0.45), (1.0, 0.74, 0.44), (2.0, 0.75, 0.40)):
            points.append(VariantPoint(f"a{alpha}-r{rank}", alpha,
                                       {"label_accuracy": acc + offset, "rouge_l": rouge},
                                       group=f"finetune.r={rank}"))
    return points


def test_alpha_sensitivity_draws_one_line_per_group_per_metric():
    points = sweep_points()
    figure = plots_compare.alpha_sensitivity(points)
    for metric in ("label_accuracy", "rouge_l"):
        for group in ("finetune.r=8", "finetune.r=32"):
            (drawn,) = artists(figure, f"{metric}|{group}")
            members = sorted((p for p in points if p.group == group), key=lambda p: p.x)
            assert list(drawn.get_xdata()) == [p.x for p in members]
            assert list(drawn.get_ydata()) == [p.metrics[metric] for p in members]
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert len(visible) == 2  # only the metrics that exist get a panel
    assert all("loss.alpha" in ax.get_xlabel() for ax in visible)


def test_alpha_sensitivity_needs_two_alphas():
    with pytest.raises(PlotSkipped, match="loss.alpha"):
        plots_compare.alpha_sensitivity([VariantPoint("a", 1.0, {"label_accuracy": 0.5})])


def test_lora_rank_draws_accuracy_and_training_minutes():
    points = [VariantPoint(f"r{r}", r, {"label_accuracy": acc, "train_seconds": s})
              for r, acc, s in ((32, 0.75, 900.0), (8, 0.70, 600.0), (16, 0.73, 720.0))]
    figure = plots_compare.lora_rank(points)
    (acc,) = artists(figure, "label_accuracy|")
    (minutes,) = artists(figure, "train_minutes|")
    assert list(acc.get_xdata()) == [8, 16, 32]
    assert list(acc.get_ydata()) == [0.70, 0.73, 0.75]
    assert list(minutes.get_ydata()) == [10.0, 12.0, 15.0]
    assert figure.axes[0].get_xscale() == "log"
    assert "minutes" in figure.axes[1].get_ylabel()


def test_degradation_over_parameters_and_by_name():
    points = [VariantPoint("tiny", 30.0, {"label_accuracy": 0.6}),
              VariantPoint("base", 135.0, {"label_accuracy": 0.75})]
    figure = plots_compare.degradation(points)
    (drawn,) = artists(figure, "label_accuracy|")
    assert list(drawn.get_xdata()) == [30.0, 135.0] and list(drawn.get_ydata()) == [0.6, 0.75]
    assert figure.axes[0].get_xscale() == "log"
    by_name = plots_compare.degradation(
        [VariantPoint("tiny", 0, {"label_accuracy": 0.6}),
         VariantPoint("base", 1, {"label_accuracy": 0.75})], by_params=False)
    assert [t.get_text() for t in by_name.axes[0].get_xticklabels()] == ["tiny", "base"]


def test_efficiency_positions_and_sizes():
    points = [EfficiencyPoint("tiny", 0.6, 30.0, 8.0), EfficiencyPoint("base", 0.75, 135.0, 40.0)]
    figure = plots_compare.efficiency(points)
    (scatter,) = artists(figure, "variants")
    np.testing.assert_allclose(scatter.get_offsets(), [[8.0, 0.6], [40.0, 0.75]])
    sizes = scatter.get_sizes()
    assert sizes[0] < sizes[1]  # area grows with the parameter count
    assert {t.get_text() for t in figure.axes[0].texts} == {"tiny", "base"}
    assert "ms" in figure.axes[0].get_xlabel()


def test_radar_values_and_polygons():
    metrics = {"label_accuracy": 0.7, "macro_f1": 0.6, "rouge_l": None, "ece": 0.1, "n": 5}
    values = plots_compare.radar_values(metrics)
    assert values == {"label_accuracy": 0.7, "macro_f1": 0.6, "calibration": 0.9}
    figure = plots_compare.radar({"run": values, "other": {**values, "macro_f1": 0.2}})
    (drawn,) = artists(figure, "radar|other")
    assert list(drawn.get_ydata()) == [0.7, 0.2, 0.9, 0.7]  # closed polygon
    with pytest.raises(PlotSkipped, match="three metrics"):
        plots_compare.radar({"run": {"label_accuracy": 0.7, "macro_f1": 0.6}})


def test_radar_legend_of_long_variant_names_stays_inside_the_figure():
    values = {"label_accuracy": 0.4, "macro_f1": 0.3, "calibration": 0.9}
    names = [f"loss.alpha={a},loss.beta={b}" for a in (0.5, 1.0) for b in (0.25, 0.5, 1.0)]
    figure = plots_compare.radar({name: values for name in names})
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    (legend,) = figure.legends
    box, page = legend.get_window_extent(renderer), figure.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1  # no name cut at the edges
