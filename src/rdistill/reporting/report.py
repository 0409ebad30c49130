"""What ``rdistill plot`` and ``rdistill report`` do: load the folder, draw, write files."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from rdistill.errors import DataError
from rdistill.io import write_text_atomic
from rdistill.reporting.figures import (
    FORMATS,
    FigureSet,
    result_figures,
    run_figures,
    save_figures,
)
from rdistill.reporting.html import render_html
from rdistill.reporting.markdown import render_markdown
from rdistill.reporting.results import SweepResult, load_results
from rdistill.reporting.tables import best_variant

log = logging.getLogger(__name__)


def write_figures(source: str | Path, output_dir: str | Path | None = None,
                  formats: Sequence[str] = FORMATS,
                  show_progress: bool = False) -> tuple[list[Path], dict[str, str]]:
    """Every figure the folder's data allows, as ``<output_dir>/<name>.<fmt>``
    (default ``SOURCE/figures``); returns the written paths and the skipped figures."""
    result = load_results(source)
    figures = result_figures(result, show_progress)
    paths = save_figures(figures, Path(output_dir or Path(source) / "figures"), formats,
                         show_progress)
    return paths, figures.skipped


def write_report(source: str | Path, output: str | Path,
                 show_progress: bool = False) -> tuple[Path, Path]:
    """``output`` (HTML) and the Markdown summary next to it (same name, ``.md``)."""
    html_path = Path(output)
    if html_path.suffix.lower() not in (".html", ".htm"):
        raise DataError(f"--output {output}: give an .html file name (the Markdown summary "
                        "is written next to it with the suffix .md)")
    result = load_results(source)
    figures = result_figures(result, show_progress)
    best_run_figures: FigureSet | None = None
    if isinstance(result, SweepResult):
        _, best_run = best_variant(result)
        if best_run is not None:
            best_run_figures = run_figures(best_run, show_progress)
    md_path = html_path.with_suffix(".md")
    write_text_atomic(html_path, render_html(result, figures, best_run_figures))
    write_text_atomic(md_path, render_markdown(result, figures, best_run_figures))
    log.info("report written: %s and %s", html_path, md_path)
    return html_path, md_path
