"""Which figures a run or sweep gets, what is skipped and why, and the files written."""

import json

import pytest

from rdistill.errors import DataError
from rdistill.reporting.figures import (
    parse_formats,
    pareto_optimal,
    run_figures,
    save_figures,
    sweep_figures,
    usable_variants,
)
from rdistill.reporting.results import load_run, load_sweep

RUN_FIGURES = {"training_curves", "per_label", "confusion_matrix", "reliability_diagram",
               "error_breakdown", "layer_similarity", "radar"}
SWEEP_FIGURES = {"alpha_sensitivity", "lora_rank", "degradation", "efficiency", "pareto", "radar"}


def accuracy_lines(figure) -> set:
    return {a.get_gid() for a in figure.findobj()
            if (a.get_gid() or "").startswith("label_accuracy|")}


def test_complete_run_gets_every_run_figure(run_dir):
    figures = run_figures(load_run(run_dir))
    assert set(figures.figures) == RUN_FIGURES and figures.skipped == {}


def test_label_only_run_from_an_older_evaluator_skips_with_reasons(tmp_path, fakes):
    metrics = fakes.eval_metrics(explanations=False)
    del metrics["calibration"], metrics["error_categories"]
    run = fakes.write_run(tmp_path / "label-only", metrics=metrics)
    figures = run_figures(load_run(run))
    assert set(figures.skipped) == {"reliability_diagram", "error_breakdown", "layer_similarity"}
    assert "calibration" in figures.skipped["reliability_diagram"]
    assert "layer_similarity.json" in figures.skipped["layer_similarity"]
    assert "radar" in figures.figures  # accuracy, macro-F1, 1 - ECE, teacher agreement


def test_sweep_gets_every_sweep_figure(sweep_dir):
    figures = sweep_figures(load_sweep(sweep_dir))
    assert set(figures.figures) == SWEEP_FIGURES, figures.skipped


def test_alpha_plot_groups_by_rank_and_leaves_out_other_students(sweep_dir):
    figure = sweep_figures(load_sweep(sweep_dir)).figures["alpha_sensitivity"]
    gids = accuracy_lines(figure)
    # finetune.alpha changes with finetune.r, so it stays in the group name; the model-size
    # variants never set loss.alpha and are not on this plot; "base" sets nothing (defaults).
    assert gids == {"label_accuracy|finetune.alpha=16, finetune.r=8",
                    "label_accuracy|finetune.alpha=64, finetune.r=32", "label_accuracy|"}


def test_lora_rank_groups_drop_the_co_varying_lora_alpha(sweep_dir):
    figure = sweep_figures(load_sweep(sweep_dir)).figures["lora_rank"]
    gids = accuracy_lines(figure)
    assert gids == {"label_accuracy|loss.alpha=0.5", "label_accuracy|loss.alpha=1.0",
                    "label_accuracy|loss.alpha=2.0", "label_accuracy|"}


def test_degradation_uses_parameters_of_the_students(sweep_dir):
    figure = sweep_figures(load_sweep(sweep_dir)).figures["degradation"]
    (line,) = [a for a in figure.findobj() if a.get_gid() == "label_accuracy|"]
    assert list(line.get_xdata()) == [30.0, 60.0, 137.0]
    assert list(line.get_ydata()) == [0.60, 0.66, 0.73]


def test_pareto_uses_latency_and_marks_the_optimal_variants(sweep_dir):
    sweep = load_sweep(sweep_dir)
    assert pareto_optimal(usable_variants(sweep)) == {"tiny", "small", "a1.0-r8", "a2.0-r8",
                                                       "a1.0-r32"}
    figure = sweep_figures(sweep).figures["pareto"]
    assert "latency" in figure.axes[0].get_xlabel()


def test_failed_variants_are_left_out_and_too_few_skip(tmp_path, fakes):
    sweep_dir = fakes.write_sweep(tmp_path / "s", rows=fakes.SWEEP[:1])
    sweep = load_sweep(sweep_dir)
    assert [v.variant for v in usable_variants(sweep)] == ["base"]
    figures = sweep_figures(sweep)
    assert set(figures.figures) == {"radar"}  # one run's metric profile is still drawable
    assert {"alpha_sensitivity", "lora_rank", "degradation", "efficiency", "pareto"} <= set(
        figures.skipped)


def test_sweep_without_profiles_falls_back_to_training_time(sweep_dir):
    for profile in sweep_dir.glob("runs/*/profile.json"):
        profile.unlink()
    sweep = load_sweep(sweep_dir)
    figures = sweep_figures(sweep)
    assert "profile.json" in figures.skipped["efficiency"]
    assert "training time" in figures.figures["pareto"].axes[0].get_xlabel()
    # Without parameter counts the students are placed by name, in sweep order.
    ticks = [t.get_text() for t in figures.figures["degradation"].axes[0].get_xticklabels()]
    assert ticks == ["base", "tiny", "small"]


def test_no_usable_variant_at_all(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(
        [{"variant": "x", "overrides": {}, "status": "failed", "metrics": {}}]))
    figures = sweep_figures(load_sweep(tmp_path))
    assert figures.figures == {} and "no variant" in figures.skipped["sweep"]


def test_saved_files_are_png_and_pdf(run_dir, tmp_path):
    figures = run_figures(load_run(run_dir))
    paths = save_figures(figures, tmp_path / "figs", ("png", "pdf"))
    assert len(paths) == 2 * len(RUN_FIGURES)
    for path in paths:
        head = path.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") if path.suffix == ".png" else head.startswith(b"%PDF")
    assert not list((tmp_path / "figs").glob(".*.tmp"))  # atomic writes leave no temp files
    # Embedded TrueType, not Type 3: journals' PDF checks reject Type 3 fonts.
    pdf = (tmp_path / "figs" / "training_curves.pdf").read_bytes()
    assert b"/FontFile2" in pdf and b"/Type3" not in pdf


def test_format_list_is_validated():
    assert parse_formats("png, PDF") == ("png", "pdf")
    with pytest.raises(DataError, match="--format"):
        parse_formats("png,jpg")


def test_sweep_of_open_answer_runs_is_ranked_by_answer_accuracy(tmp_path):
    """Latent / math runs have answer_accuracy and no label accuracy: still a table, a Pareto
    plot on training time with its axis named for what it shows, and a best variant."""
    from rdistill.reporting.tables import best_variant, sweep_table

    rows = [("no-cot", 0.10, 300), ("cot", 0.20, 310), ("latent", 0.25, 400), ("kd", 0.15, 500)]
    (tmp_path / "results.json").write_text(json.dumps([
        {"variant": name, "overrides": {"latent.mode": name}, "status": "done", "train_seconds": seconds,
         "metrics": {"answer_accuracy": acc, "invalid_rate": 0.0, "n": 200, "label_accuracy": None}}
        for name, acc, seconds in rows]))
    sweep = load_sweep(tmp_path)
    assert [v.variant for v in usable_variants(sweep)] == ["no-cot", "cot", "latent", "kd"]
    assert pareto_optimal(usable_variants(sweep)) == {"no-cot", "cot", "latent"}
    figure = sweep_figures(sweep).figures["pareto"]
    assert figure.axes[0].get_ylabel() == "answer accuracy (0-1)"
    assert best_variant(sweep)[0] == "latent"
    table = sweep_table(sweep)
    accuracy = table.headers.index("accuracy")
    assert [row[accuracy] for row in table.rows] == ["10.0%", "20.0%", "25.0%", "15.0%"]
