"""The Markdown summary: tables that stay tables, and data text that cannot become markup."""

from rdistill.reporting.figures import FigureSet, run_figures
from rdistill.reporting.markdown import md_escape, md_table, render_markdown
from rdistill.reporting.results import load_run, load_sweep
from rdistill.reporting.tables import Table


def test_escape_neutralises_html_and_markdown_syntax():
    assert md_escape("<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"
    assert md_escape("a | b") == "a \\| b"
    assert md_escape("[link](http://x) *em* `code` _u_") == (
        "\\[link\\](http://x) \\*em\\* \\`code\\` \\_u\\_")
    assert md_escape("two\nlines") == "two lines"
    assert md_escape("74.9% 0.750 a-b") == "74.9% 0.750 a-b"  # numbers stay readable


def test_table_rows_keep_their_column_count():
    table = md_table(Table(["a", "b"], [["x|y", "1"], ["line\nbreak", "2"]]))
    lines = table.splitlines()
    assert lines[1] == "|---|---|"
    assert all(line.replace("\\|", "").count("|") == 3 for line in lines)


def test_run_summary_has_metrics_figures_and_config(run_dir):
    run = load_run(run_dir)
    text = render_markdown(run, run_figures(run))
    assert text.startswith("# rdistill report: toy\n")
    assert "| label accuracy | 50.0% |" in text
    assert "| entailment | 0.600 | 0.700 | 0.650 | 2 |" in text
    assert "- Reliability diagram: accuracy per confidence bin." in text
    assert "```yaml\nname: toy" in text


def test_hostile_names_and_config_stay_text(tmp_path, fakes):
    name = "<img src=x onerror=alert(1)> | `x`"
    cfg = fakes.config(name)
    cfg["data"]["note"] = "```\n# not a heading"
    run = load_run(fakes.write_run(tmp_path / "r", name, cfg=cfg))
    text = render_markdown(run, FigureSet(skipped={"radar": "<b>why</b>"}))
    prose, fenced = text.split("````yaml\n")  # a fence longer than the backticks inside
    assert "<img" not in prose and "&lt;img src=x onerror=alert(1)&gt; \\| \\`x\\`" in prose
    assert "&lt;b&gt;why&lt;/b&gt;" in prose
    # Inside a code block Markdown shows everything literally: the config stays verbatim.
    assert fenced.rstrip().endswith("\n````") and "note: '```" in fenced


def test_sweep_summary_lists_variants_and_the_best_run(sweep_dir):
    text = render_markdown(load_sweep(sweep_dir))
    assert "9 of 10 variants evaluated" in text
    assert "| a1\\.0-r32 |" not in text and "| a1.0-r32 | ok |" in text
    assert "| broken | failed |" in text
    assert "## Best variant by accuracy: a1.0-r32" in text
    row = next(line for line in text.splitlines() if line.startswith("| tiny |"))
    assert row.rstrip().endswith("| yes |")  # Pareto-optimal: the cheapest variant
