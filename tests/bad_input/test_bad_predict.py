"""``rdistill predict``: its inputs (flags, ``--input`` files) and the run folder it reads."""

from __future__ import annotations

import pytest

from .conftest import check_refused, cases, jsonl

GOOD = {"premise": "A dog runs.", "hypothesis": "An animal moves."}


def predict(*flags: str):
    return lambda c: ["predict", str(c.run()), *flags]


def with_input(content: str | bytes, name: str = "in.jsonl"):
    return lambda c: ["predict", str(c.run()), "--input", str(c.write(name, content))]


def damaged(name: str, content: str | bytes | None):
    def build(c):
        run = c.run()
        path = run / name
        if content is None:
            path.unlink()
        else:
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return ["predict", str(run), "--premise", "A", "--hypothesis", "B"]
    return build


def meta_changed(**changes):
    def build(c):
        import json

        meta = c.run() / "student" / "rdistill.json"
        meta.write_text(json.dumps({**json.loads(meta.read_text()), **changes}))
        return ["predict", str(c.run()), "--premise", "A", "--hypothesis", "B"]
    return build


PREDICT = cases(
    ("no-input-at-all", predict(), "--premise"),
    ("premise-without-hypothesis", predict("--premise", "A dog runs."), "--hypothesis"),
    ("input-missing", lambda c: ["predict", str(c.run()), "--input", str(c.tmp / "nope.jsonl")], "nope.jsonl"),
    ("input-is-a-folder", lambda c: ["predict", str(c.run()), "--input", str(c.tmp)], "{tmp}"),
    ("input-empty", with_input(""), "in.jsonl", "no rows"),
    ("input-blank-lines", with_input("\n \n"), "in.jsonl", "no rows"),
    ("input-latin-1", with_input('{"premise": "caf\xe9", "hypothesis": "x"}\n'.encode("latin-1")),
     "in.jsonl", "line 1", "not UTF-8"),
    ("input-binary", with_input(bytes(range(256))), "in.jsonl", "not UTF-8"),
    ("input-truncated", with_input(jsonl([GOOD, GOOD])[:-8]), "in.jsonl", "line 2"),
    ("input-line-is-a-list", with_input(jsonl([GOOD, ["A", "B"]])), "in.jsonl", "line 2"),
    ("input-missing-hypothesis", with_input(jsonl([GOOD, {"premise": "A cat."}])), "in.jsonl", "line 2",
     "hypothesis"),
    ("input-premise-a-number", with_input(jsonl([{"premise": 3, "hypothesis": "x"}])), "in.jsonl", "line 1",
     "premise"),
    ("run-missing", lambda c: ["predict", str(c.tmp / "nope"), "--premise", "A", "--hypothesis", "B"], "nope"),
    ("run-config-missing", damaged("config.yaml", None), "config.yaml"),
    ("run-config-garbage", damaged("config.yaml", b"\x00\xff\x00"), "config.yaml"),
    ("run-meta-missing", damaged("student/rdistill.json", None), "rdistill.json"),
    ("run-meta-truncated", damaged("student/rdistill.json", '{"method": "ratio'), "rdistill.json"),
    ("run-meta-without-base-model", damaged("student/rdistill.json", '{"finetune": "full", "kind": "causal"}'),
     "rdistill.json", "base_model"),
    ("run-meta-wrong-kind", meta_changed(kind="encoder"), "kind", "'encoder'"),
    ("run-meta-finetune-a-number", meta_changed(finetune=3), "finetune"),
    ("run-weights-empty", damaged("student/model.safetensors", b""), "student"),
    ("run-model-config-garbage", damaged("student/config.json", "{not json"), "student"),
)


@pytest.mark.parametrize("case", PREDICT)
def test_predict_refuses(case, cli, ctx):
    check_refused(cli, ctx, case.build, case.needles)
