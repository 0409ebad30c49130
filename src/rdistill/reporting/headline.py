"""The one-line results the command line prints: a run's headline metrics, the mean over seeds."""

from __future__ import annotations


def headline(metrics: dict) -> str:
    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f}%"

    def num(x):
        return "n/a" if x is None else f"{x:.4f}"

    if metrics.get("answer_accuracy") is not None:  # math tasks: open answers
        return (f"answer accuracy {pct(metrics['answer_accuracy'])} | no answer {pct(metrics.get('invalid_rate'))}"
                f" | ROUGE-L {num(metrics.get('rouge_l'))} | n={metrics.get('n')}")
    return (f"label accuracy {pct(metrics.get('label_accuracy'))} | macro-F1 {num(metrics.get('macro_f1'))}"
            f" | ROUGE-L {num(metrics.get('rouge_l'))} | BERTScore F1 {num(metrics.get('bertscore_f1'))}"
            f" | n={metrics.get('n')}")


def headline_seeds(summary: dict) -> str:
    def cell(key):
        mean, std = summary["mean"].get(key), summary["std"].get(key)
        return "n/a" if mean is None else f"{mean:.4f} ± {std:.4f}" if std is not None else f"{mean:.4f}"

    return (f"mean ± std over {summary['n_runs']} runs: label accuracy {cell('label_accuracy')}"
            f" | macro-F1 {cell('macro_f1')} | ROUGE-L {cell('rouge_l')}")
