"""One self-contained HTML report: metrics tables, embedded figures, the config, and a
searchable, filterable table of examples. Opens offline: no CDN, no external file.

Every string from result files, data or models goes through Jinja2's autoescape; the
page's Content-Security-Policy admits only its own inline style and script (by hash).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from rdistill import __version__
from rdistill.reporting import tables
from rdistill.reporting.figures import (
    CAPTIONS,
    FigureSet,
    flat_metrics,
    figure_bytes,
    pareto_cost,
    usable_variants,
)
from rdistill.reporting.results import RunResult, SweepResult
from rdistill.reporting.style import PlotSkipped

TEMPLATES = Path(__file__).parent / "templates"

# A browser stays responsive with a few thousand rows; the full file is one click away.
MAX_EXAMPLES = 5000

# Prediction-record keys that are outputs or scores; every other string field is an input.
_OUTPUT_KEYS = {"uid", "gold_label", "pred_label", "label_probs", "pred_explanation", "references",
                "teacher_label", "teacher_rationale", "rouge_l", "bertscore_f1", "teacher_rouge_l",
                "teacher_bertscore_f1", "lexical_cue_label", "error_category", "explanation_label"}
_FIRST_INPUTS = ("premise", "hypothesis", "question", "context")


def _inputs(record: Mapping) -> list[tuple[str, str]]:
    keys = [k for k, v in record.items() if k not in _OUTPUT_KEYS and isinstance(v, str)]
    keys.sort(key=lambda k: (_FIRST_INPUTS.index(k) if k in _FIRST_INPUTS else len(_FIRST_INPUTS)))
    return [(k, record[k]) for k in keys]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _example_row(record: Mapping) -> dict:
    probs = record.get("label_probs") if isinstance(record.get("label_probs"), Mapping) else {}
    pred = record.get("pred_label")
    confidence = probs.get(pred) if pred is not None else None
    rouge = record.get("rouge_l")
    references = record.get("references")
    return {
        "uid": _text(record.get("uid")),
        "inputs": _inputs(record),
        "gold": _text(record.get("gold_label")),
        "pred": "invalid" if pred is None else str(pred),
        "wrong": pred != record.get("gold_label"),
        "confidence": f"{confidence:.2f}" if isinstance(confidence, (int, float)) else "",
        "explanation": _text(record.get("pred_explanation")),
        "references": [str(r) for r in references] if isinstance(references, list) else [],
        "teacher_label": _text(record.get("teacher_label")),
        "teacher_rationale": _text(record.get("teacher_rationale")),
        "category": _text(record.get("error_category")),
        "rouge": f"{rouge:.3f}" if isinstance(rouge, (int, float)) else "",
    }


def examples_context(predictions: Sequence[Mapping], limit: int = MAX_EXAMPLES) -> dict | None:
    if not predictions:
        return None
    rows = [_example_row(record) for record in predictions[:limit]]
    return {
        "rows": rows,
        "total": len(predictions),
        "gold_values": sorted({r["gold"] for r in rows}),
        "pred_values": sorted({r["pred"] for r in rows}),
        "categories": sorted({r["category"] for r in rows if r["category"]}),
        "has_explanations": any(r["explanation"] for r in rows),
        "has_teacher": any(r["teacher_label"] or r["teacher_rationale"] for r in rows),
        "has_rouge": any(r["rouge"] for r in rows),
    }


def _figure_items(figures: FigureSet) -> list[dict]:
    return [{"name": name, "caption": CAPTIONS.get(name, name),
             "png_base64": base64.b64encode(figure_bytes(figure, "png")).decode("ascii")}
            for name, figure in figures.figures.items()]


def run_context(run: RunResult, heading: str, figures: FigureSet) -> dict:
    metrics = flat_metrics(run)
    settings = [list(setting) for setting in tables.key_settings(run.config)]
    return {
        "heading": heading,
        "path": str(run.path),
        "headline": tables.headline_table(metrics),
        "per_label": tables.per_label_table(metrics),
        "errors": tables.error_table(metrics),
        "confidence": tables.confidence_table(metrics),
        "training": tables.training_table(run),
        "profile": tables.profile_table(run.profile),
        "settings": tables.Table(["key", "value"], settings) if settings else None,
        "figures": _figure_items(figures),
        "skipped": figures.skipped,
        "config_text": run.config_text,
        "examples": examples_context(run.predictions),
    }


def _sweep_context(sweep: SweepResult, figures: FigureSet) -> dict:
    usable = usable_variants(sweep)
    try:
        cost = pareto_cost(usable)[2]
    except PlotSkipped:
        cost = "none reported"
    return {"table": tables.sweep_table(sweep), "usable": len(usable), "total": len(sweep.variants),
            "figures": _figure_items(figures), "skipped": figures.skipped, "cost": cost}


def _hash(source: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode()


def render_html(result: RunResult | SweepResult, figures: FigureSet,
                best_run_figures: FigureSet | None = None) -> str:
    """The report as one HTML string, figures embedded as base64 PNG.

    ``figures``: the run's figures, or the sweep's; for a sweep, ``best_run_figures``
    are those of its most accurate variant, whose run gets its own section.
    """
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined)
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    js = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    if isinstance(result, SweepResult):
        sweep = _sweep_context(result, figures)
        best, best_run = tables.best_variant(result)
        runs = ([run_context(best_run, f"Best variant by accuracy: {best}",
                             best_run_figures or FigureSet())]
                if best_run is not None else [])
        kind = "sweep"
    else:
        sweep, runs = None, [run_context(result, f"Run: {result.name}", figures)]
        kind = "run"
    return env.get_template("report.html.j2").render(
        title=result.name, kind=kind, source=str(result.path), version=__version__,
        sweep=sweep, runs=runs,
        # Our own files, not data: inserted verbatim so that their CSP hashes match.
        css=Markup(css), js=Markup(js), style_hash=_hash(css), script_hash=_hash(js),
    )
