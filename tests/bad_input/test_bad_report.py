"""``rdistill report`` and ``rdistill plot``: the run or sweep folder they read, formats, outputs."""

from __future__ import annotations

import pytest

from .conftest import check_refused, cases


def half_run(c):
    """What a data-loading failure used to leave: a folder with config.yaml and nothing else."""
    run = c.tmp / "half"
    run.mkdir()
    (run / "config.yaml").write_text((c.run() / "config.yaml").read_text())
    return run


def report(source, *extra):
    return lambda c: ["report", str(source(c)), "--output", str(c.tmp / "out" / "r.html"), *extra]


def plot(source, *extra):
    return lambda c: ["plot", str(source(c)), "--output-dir", str(c.tmp / "figs"), *extra]


def empty_folder(c):
    (c.tmp / "empty").mkdir()
    return c.tmp / "empty"


REPORT = cases(
    ("report-source-missing", report(lambda c: c.tmp / "nope"), "nope"),
    ("report-source-a-file", report(lambda c: c.write("f.txt", "x")), "f.txt"),
    ("report-source-empty-folder", report(empty_folder), "empty"),
    ("report-half-run", report(half_run), "half"),
    ("report-output-under-a-file", lambda c: ["report", str(c.run()), "--output",
                                              str(c.write("f.txt", "x") / "r.html")], "--output", "f.txt"),
    ("report-output-a-folder", lambda c: ["report", str(c.run()), "--output", str(c.tmp)], "--output", "folder"),
    ("plot-source-missing", plot(lambda c: c.tmp / "nope"), "nope"),
    ("plot-source-empty-folder", plot(empty_folder), "empty"),
    ("plot-half-run", plot(half_run), "half"),
    ("plot-format-unknown", plot(lambda c: c.run(), "--format", "gif"), "gif"),
    ("plot-format-empty", plot(lambda c: c.run(), "--format", ","), "--format"),
    ("plot-output-dir-a-file", lambda c: ["plot", str(c.run()), "--output-dir", str(c.write("f.txt", "x"))],
     "f.txt"),
)


@pytest.mark.parametrize("case", REPORT)
def test_report_and_plot_refuse(case, cli, ctx):
    check_refused(cli, ctx, case.build, case.needles)
