"""A sweep's results as tables: ``results.csv`` (every column) and the text the command line prints."""

from __future__ import annotations

import csv
import io
import json
from typing import Any


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def results_csv(results: list[dict[str, Any]]) -> str:
    """One row per variant: name, status, the overrides, the metrics, times, folder, error."""
    override_keys = list(dict.fromkeys(k for r in results for k in r["overrides"]))
    metric_keys = list(dict.fromkeys(k for r in results for k in r["metrics"]))
    columns = ["variant", "status", *override_keys, *metric_keys, "train_seconds", "wall_seconds",
               "run_dir", "error"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in results:
        cells = {**r["overrides"], **r["metrics"], **{k: r.get(k) for k in (
            "variant", "status", "train_seconds", "wall_seconds", "run_dir", "error")}}
        writer.writerow([_csv_cell(cells.get(c)) for c in columns])
    return buf.getvalue()


def results_table(results: list[dict[str, Any]]) -> str:
    """A compact text table of a sweep's results (results.csv has every column)."""
    def pct(x):
        return "-" if x is None else f"{100 * x:.1f}%"

    def num(x):
        return "-" if x is None else f"{x:.3f}"

    width = max([len(r["variant"]) for r in results] + [len("variant")])
    header = (f"{'variant':<{width}}  {'status':<11}  {'label acc':>9}  {'macro-F1':>8}  "
              f"{'ROUGE-L':>7}  {'train s':>8}")
    lines = [header]
    for r in results:
        m = r["metrics"]
        secs = "-" if r["train_seconds"] is None else f"{r['train_seconds']:.0f}"
        lines.append(f"{r['variant']:<{width}}  {r['status']:<11}  {pct(m.get('label_accuracy')):>9}  "
                     f"{num(m.get('macro_f1')):>8}  {num(m.get('rouge_l')):>7}  {secs:>8}")
    return "\n".join(lines)
