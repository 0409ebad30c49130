"""``rdistill export``: the run folder it reads and the folder it writes."""

from __future__ import annotations

import pytest

from .conftest import check_refused, cases


def export_to(target):
    return lambda c: ["export", str(c.run()), "--output", str(target(c))]


def notes(c):
    (c.tmp / "mine").mkdir()
    (c.tmp / "mine" / "notes.txt").write_text("keep")
    return c.tmp / "mine"


EXPORT = cases(
    ("run-missing", lambda c: ["export", str(c.tmp / "nope"), "--output", str(c.tmp / "out")], "nope"),
    ("run-without-config", lambda c: ["export", str((c.tmp / "e").mkdir() or c.tmp / "e"), "--output",
                                      str(c.tmp / "out")], "config.yaml"),
    ("output-non-empty-folder", export_to(notes), "--output", "not empty"),
    ("output-non-empty-with-overwrite", lambda c: export_to(notes)(c) + ["--overwrite"], "--output"),
    ("output-is-a-file", export_to(lambda c: c.write("f.txt", "x")), "--output", "f.txt"),
    ("output-is-the-run", export_to(lambda c: c.run()), "--output", "overlaps"),
    ("output-inside-the-run", export_to(lambda c: c.run() / "exported"), "--output", "overlaps"),
    ("output-holds-the-run", export_to(lambda c: c.tmp), "--output"),
    ("output-under-a-file", export_to(lambda c: c.write("f.txt", "x") / "out"), "--output", "f.txt"),
    ("run-meta-truncated", lambda c: [
        "export", str(_cut(c.run() / "student" / "rdistill.json")), "--output", str(c.tmp / "out")], "rdistill.json"),
)


def _cut(path):
    path.write_text(path.read_text()[:10])
    return path.parent.parent


@pytest.mark.parametrize("case", EXPORT)
def test_export_refuses(case, cli, ctx):
    check_refused(cli, ctx, case.build, case.needles)
