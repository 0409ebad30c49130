"""``rdistill profile``: its target (run folder or model), flags and output."""

from __future__ import annotations

import pytest

from .conftest import check_refused, cases


def profile(*flags: str):
    return lambda c: ["profile", str(c.run()), *[f.format(tmp=c.tmp) for f in flags]]


PROFILE = cases(
    ("target-missing", lambda c: ["profile", str(c.tmp / "nope"), "--output", str(c.tmp / "p.json")], "nope"),
    ("model-without-output", lambda c: ["profile", str(c.model_dir)], "--output"),
    ("batch-sizes-words", profile("--batch-sizes", "a,b"), "--batch-sizes", "'a,b'"),
    ("batch-sizes-zero", profile("--batch-sizes", "0,8"), "--batch-sizes", "0"),
    ("batch-sizes-empty", profile("--batch-sizes", ","), "--batch-sizes"),
    ("examples-zero", profile("--examples", "0"), "--examples", "'0'"),
    ("examples-a-word", profile("--examples", "many"), "--examples", "'many'"),
    ("latency-examples-negative", profile("--latency-examples", "-3"), "--latency-examples", "'-3'"),
    ("teacher-params-negative", profile("--teacher-params", "-5"), "--teacher-params", "'-5'"),
    ("output-under-a-file", lambda c: ["profile", str(c.run()), "--output", str(c.write("f.txt", "x") / "p.json")],
     "--output", "f.txt"),
    ("output-a-folder", profile("--output", "{tmp}"), "--output", "folder"),
    ("data-file-missing", profile("--data-file", "{tmp}/nope.jsonl", "--output", "{tmp}/p.json"), "nope.jsonl"),
    ("device-unknown", profile("--device", "tpu", "--output", "{tmp}/p.json"), "--device", "tpu"),
)


@pytest.mark.parametrize("case", PROFILE)
def test_profile_refuses(case, cli, ctx):
    check_refused(cli, ctx, case.build, case.needles)
