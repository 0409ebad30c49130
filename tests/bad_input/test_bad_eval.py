"""``rdistill eval`` and ``rdistill compare``: run folders and their files, data and teacher files, outputs."""

from __future__ import annotations

import pytest

from .conftest import check_refused, cases, esnli_rows, jsonl


def eval_run(*extra: str, damage=None):
    """``eval`` of a copy of the toy run, damaged by ``damage(ctx, run)`` first."""
    def build(c):
        run = c.run()
        if damage:
            damage(c, run)
        return ["eval", str(run), "--output", str(c.tmp / "out" / "m.json"), "--no-judge",
                *[a.format(tmp=c.tmp) for a in extra]]
    return build


def cut(name: str, keep: float = 0.5):
    def damage(c, run):
        path = run / name
        path.write_bytes(path.read_bytes()[: int(len(path.read_bytes()) * keep)])
    return damage


def replace(name: str, content: str | bytes):
    def damage(c, run):
        (run / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return damage


def remove(name: str):
    def damage(c, run):
        import shutil

        path = run / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return damage


def append(name: str, text: str):
    def damage(c, run):
        with open(run / name, "a") as f:
            f.write(text)
    return damage


def with_files(files: dict, *extra: str):
    def build(c):
        for name, content in files.items():
            c.write(name, content)
        return eval_run(*extra)(c)
    return build


def with_file(name: str, content: str | bytes, *extra: str):
    def build(c):
        c.write(name, content)
        return eval_run(*extra)(c)
    return build


EVAL = cases(
    ("run-missing", lambda c: ["eval", str(c.tmp / "nope"), "--output", str(c.tmp / "m.json")], "nope"),
    ("run-is-a-file", lambda c: ["eval", str(c.write("f.txt", "x")), "--output", str(c.tmp / "m.json")],
     "f.txt"),
    ("run-empty-folder", lambda c: ["eval", str((c.tmp / "empty").mkdir() or c.tmp / "empty"), "--output",
                                    str(c.tmp / "m.json")], "config.yaml is missing"),
    ("run-config-truncated", eval_run(damage=cut("config.yaml", 0.3)), "config.yaml"),
    ("run-config-binary", eval_run(damage=replace("config.yaml", bytes(range(256)))), "config.yaml", "not UTF-8"),
    ("run-config-empty", eval_run(damage=replace("config.yaml", "")), "config.yaml", "empty"),
    ("run-config-a-list", eval_run(damage=replace("config.yaml", "- a\n")), "config.yaml", "mapping"),
    ("run-config-unknown-key", eval_run(damage=append("config.yaml", "colour: red\n")), "colour: unknown key"),
    ("run-config-edited", eval_run(damage=append("config.yaml", "# a comment: still valid YAML\n")),
     "config.yaml", "changed since the run finished"),
    ("run-student-missing", eval_run(damage=remove("student")), "student"),
    ("run-student-meta-truncated", eval_run(damage=cut("student/rdistill.json")), "rdistill.json"),
    ("run-student-meta-a-list", eval_run(damage=replace("student/rdistill.json", "[1, 2]")), "rdistill.json"),
    ("run-student-weights-truncated", eval_run(damage=cut("student/model.safetensors", 0.1)), "student"),
    ("run-student-weights-missing", eval_run(damage=remove("student/model.safetensors")), "student"),
    ("output-under-a-file", lambda c: ["eval", str(c.run()), "--output", str(c.write("f.txt", "x") / "m.json")],
     "--output", "f.txt"),
    ("output-is-a-folder", lambda c: ["eval", str(c.run()), "--output", str((c.tmp / "d").mkdir() or c.tmp / "d")],
     "--output", "folder"),
    ("data-file-missing", eval_run("--data-file", "{tmp}/nope.jsonl"), "nope.jsonl"),
    ("data-file-empty", with_file("d.jsonl", "", "--data-file", "{tmp}/d.jsonl"), "d.jsonl", "no rows"),
    ("data-file-truncated", with_file("d.jsonl", jsonl(esnli_rows(5))[:-9], "--data-file", "{tmp}/d.jsonl"),
     "d.jsonl", "line 5"),
    ("data-file-bad-label", with_file("d.jsonl", jsonl([{**esnli_rows(1)[0], "label": "perhaps"}]),
                                      "--data-file", "{tmp}/d.jsonl"), "d.jsonl", "line 1", "perhaps"),
    ("data-file-latin-1", with_file("d.jsonl", '{"premise": "caf\xe9"}\n'.encode("latin-1"),
                                    "--data-file", "{tmp}/d.jsonl"), "d.jsonl", "not UTF-8"),
    ("data-file-a-folder", eval_run("--data-file", "{tmp}"), "{tmp}"),
    ("teacher-file-without-data-file", eval_run("--teacher-file", "{tmp}/t.jsonl"), "--teacher-file"),
    ("teacher-file-missing", with_file("d.jsonl", jsonl(esnli_rows(3)), "--data-file", "{tmp}/d.jsonl",
                                       "--teacher-file", "{tmp}/t.jsonl"), "t.jsonl"),
    ("teacher-file-truncated", with_files({"d.jsonl": jsonl(esnli_rows(3)), "t.jsonl": '{"uid": "d:0", "ration'},
                                          "--data-file", "{tmp}/d.jsonl", "--teacher-file", "{tmp}/t.jsonl"),
     "t.jsonl", "line 1"),
    ("teacher-file-label-outside-labels",
     with_files({"d.jsonl": jsonl(esnli_rows(3)), "t.jsonl": jsonl([{"uid": "d:0", "rationale": "r", "label": "yes"}])},
                "--data-file", "{tmp}/d.jsonl", "--teacher-file", "{tmp}/t.jsonl"), "t.jsonl", "line 1", "'yes'"),
    ("limit-zero", eval_run("--limit", "0"), "--limit", "'0'"),
    ("limit-negative", eval_run("--limit", "-1"), "--limit", "'-1'"),
    ("limit-a-word", eval_run("--limit", "all"), "--limit", "'all'"),
)

COMPARE = cases(
    ("compare-run-missing", lambda c: ["compare", str(c.tmp / "nope")], "nope"),
    ("compare-output-under-a-file",
     lambda c: ["compare", str(c.run()), "--output", str(c.write("f.txt", "x") / "cmp.json")], "f.txt"),
    ("compare-run-without-eval", lambda c: ["compare", str(remove_eval(c.run()))], "eval"),
    ("compare-eval-metrics-truncated",
     lambda c: ["compare", str(damaged(c.run(), cut("eval/metrics.json")))], "metrics.json"),
)


def remove_eval(run):
    import shutil

    shutil.rmtree(run / "eval")
    (run / "summary.json").unlink()
    return run


def damaged(run, damage):
    damage(None, run)
    return run


@pytest.mark.parametrize("case", EVAL + COMPARE)
def test_eval_and_compare_refuse(case, cli, ctx):
    check_refused(cli, ctx, case.build, case.needles)
