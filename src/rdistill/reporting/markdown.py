"""A Markdown summary of a run or sweep, to paste into a README or a paper draft.

Text from result files is escaped: Markdown punctuation and HTML-significant
characters cannot start a link, a table cell, a tag or a script.
"""

from __future__ import annotations

import re

from rdistill.reporting import tables
from rdistill.reporting.figures import CAPTIONS, FigureSet, flat_metrics
from rdistill.reporting.results import RunResult, SweepResult

# Characters that start Markdown syntax anywhere in a line (emphasis, code, links, table
# cells, headings, strike-through). Line-start-only syntax (lists, numbered items) cannot
# occur: every line begins with the report's own text.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#|~])")


def md_escape(text: str) -> str:
    """Escape one line of text for Markdown: HTML entities first, then Markdown syntax;
    newlines become spaces so a table row stays one row."""
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = " ".join(text.split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_table(table: tables.Table) -> str:
    header = "| " + " | ".join(md_escape(h) or " " for h in table.headers) + " |"
    rule = "|" + "|".join("---" for _ in table.headers) + "|"
    body = ["| " + " | ".join(md_escape(cell) for cell in row) + " |" for row in table.rows]
    return "\n".join([header, rule, *body])


def _fenced(text: str, lang: str) -> str:
    # A fence longer than any backtick run inside cannot be closed by the content.
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def _figure_list(figures: FigureSet | None) -> list[str]:
    if figures is None:
        return []
    lines = [f"- {md_escape(CAPTIONS.get(name, name))}" for name in figures.figures]
    lines += [f"- not drawn: {md_escape(name)} ({md_escape(reason)})"
              for name, reason in figures.skipped.items()]
    return lines


def _run_sections(run: RunResult, level: str, figures: FigureSet | None) -> list[str]:
    metrics = flat_metrics(run)
    out = [f"{level} Metrics", "", md_table(tables.headline_table(metrics)), ""]
    for title, table in (("Per label", tables.per_label_table(metrics)),
                         ("Error categories", tables.error_table(metrics)),
                         ("Efficiency profile", tables.profile_table(run.profile))):
        if table is not None:
            out += [f"{level} {title}", "", md_table(table), ""]
    out += [f"{level} Training", "", md_table(tables.training_table(run)), ""]
    settings = tables.key_settings(run.config)
    if settings:
        out += [f"{level} Key settings", "",
                md_table(tables.Table(["key", "value"], [list(s) for s in settings])), ""]
    figure_lines = _figure_list(figures)
    if figure_lines:
        out += [f"{level} Figures (in the HTML report)", "", *figure_lines, ""]
    if run.config_text:
        out += [f"{level} Resolved config", "", _fenced(run.config_text, "yaml"), ""]
    return out


def render_markdown(result: RunResult | SweepResult, figures: FigureSet | None = None,
                    best_run_figures: FigureSet | None = None) -> str:
    """The summary; ``figures`` (and, for a sweep, ``best_run_figures``) only name the
    figures the HTML report shows."""
    if isinstance(result, RunResult):
        lines = [f"# rdistill report: {md_escape(result.name)}", "",
                 f"Run folder: {md_escape(str(result.path))}", "",
                 *_run_sections(result, "##", figures)]
        return "\n".join(lines).rstrip() + "\n"
    usable = len([v for v in result.variants if v.accuracy() is not None])
    lines = [f"# rdistill sweep report: {md_escape(result.name)}", "",
             f"Sweep folder: {md_escape(str(result.path))}; {usable} of {len(result.variants)} "
             "variants evaluated.", "", "## Variants", "", md_table(tables.sweep_table(result)), ""]
    figure_lines = _figure_list(figures)
    if figure_lines:
        lines += ["## Sweep figures (in the HTML report)", "", *figure_lines, ""]
    best, best_run = tables.best_variant(result)
    if best_run is not None:
        lines += [f"## Best variant by accuracy: {md_escape(best)}", "",
                  *_run_sections(best_run, "###", best_run_figures)]
    return "\n".join(lines).rstrip() + "\n"
