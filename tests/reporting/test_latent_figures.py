"""Latent sweeps get the figures a paper on the method shows: sensitivity to the distillation
weight (latent.alpha), the distilled layers, the LoRA rank, and accuracy per task."""

from __future__ import annotations

import json
from pathlib import Path

from rdistill.reporting.figures import sweep_figures
from rdistill.reporting.results import load_sweep


def latent_sweep(root: Path, fakes, rows: list[tuple[str, dict, float]]) -> Path:
    """A sweep folder whose runs score written answers (``answer_accuracy``, no label)."""
    results = []
    for variant, overrides, accuracy in rows:
        metrics = {"answer_accuracy": accuracy, "rouge_l": 0.4, "n": 200}
        fakes.write_run(root / "runs" / variant, variant, metrics=metrics)
        results.append({"variant": variant, "overrides": overrides, "run_dir": f"runs/{variant}",
                        "status": "ok", "metrics": metrics, "train_seconds": 100.0 + len(results)})
    (root / "results.json").write_text(json.dumps(results))
    return root


def lines(figure, metric: str) -> dict:
    return {a.get_gid(): list(a.get_ydata()) for a in figure.findobj()
            if (a.get_gid() or "").startswith(metric + "|")}


def test_latent_alpha_sweep_plots_answer_accuracy_per_rank(tmp_path, fakes):
    rows = [(f"a{a}-r{r}", {"latent.alpha": a, "finetune.r": r}, acc)
            for (a, r, acc) in [(0.0, 8, 0.10), (0.5, 8, 0.14), (1.0, 8, 0.05),
                                (0.0, 32, 0.12), (0.5, 32, 0.18), (1.0, 32, 0.06)]]
    figures = sweep_figures(load_sweep(latent_sweep(tmp_path / "s", fakes, rows)))
    assert "alpha_sensitivity" in figures.skipped  # loss.alpha: the rationale weight, not swept
    accuracy = lines(figures.figures["latent_alpha"], "answer_accuracy")
    assert accuracy == {"answer_accuracy|finetune.r=8": [0.10, 0.14, 0.05],
                        "answer_accuracy|finetune.r=32": [0.12, 0.18, 0.06]}
    # the LoRA-rank figure reads the answer accuracy too, one line per latent.alpha
    by_rank = lines(figures.figures["lora_rank"], "answer_accuracy")
    assert by_rank["answer_accuracy|latent.alpha=0.5"] == [0.14, 0.18]


def test_layer_selection_and_tasks_are_named_on_the_axis(tmp_path, fakes):
    rows = [("l-10-20-30", {"latent.layers": [10, 20, 30]}, 0.20),
            ("l-last4", {"latent.layers": "last:4"}, 0.25),
            ("l-30", {"latent.layers": [30]}, 0.15),
            ("svamp", {"data.dataset": "svamp"}, 0.07),
            ("gsm8k", {"data.dataset": "gsm8k"}, 0.02)]
    figures = sweep_figures(load_sweep(latent_sweep(tmp_path / "s", fakes, rows)))
    layers = figures.figures["layer_selection"]
    ticks = [t.get_text() for t in layers.axes[0].get_xticklabels()]
    assert ticks == ["10, 20, 30", "last:4", "30"]
    assert lines(layers, "answer_accuracy") == {"answer_accuracy|": [0.20, 0.25, 0.15]}
    tasks = figures.figures["per_task"]
    assert [t.get_text() for t in tasks.axes[0].get_xticklabels()] == ["svamp", "gsm8k"]
    assert lines(tasks, "answer_accuracy") == {"answer_accuracy|": [0.07, 0.02]}


def test_a_rationale_sweep_skips_the_latent_figures(sweep_dir):
    figures = sweep_figures(load_sweep(sweep_dir))
    assert {"latent_alpha", "layer_selection", "per_task"} <= set(figures.skipped)
