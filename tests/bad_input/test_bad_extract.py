"""``rdistill extract``: the latent recipe's teacher settings and the cache folder."""

from __future__ import annotations

import pytest

from .conftest import check_refused, cases


def extract(latent: dict | None = None, *extra: str, method: str = "latent"):
    def build(c):
        settings = {"teacher": str(c.model_dir), "cache_dir": str(c.tmp / "cache"), "layers": "last:1",
                    "dtype": "fp32", **(latent or {})}
        edits = {"method": method, "data.dataset": "gsm8k", "data.train_file": str(c.write(
            "gsm.jsonl", '{"question": "two plus two?", "answer": "2 + 2 = 4\\n#### 4"}\n' * 12)),
            "data.dev_size": 2, "data.test_size": 2}
        if method == "latent":
            edits["latent"] = settings
        return ["extract", str(c.recipe(edits)), *[a.format(tmp=c.tmp) for a in extra]]
    return build


EXTRACT = cases(
    ("not-a-latent-recipe", extract(method="rationale"), "latent"),
    ("layers-not-a-spec", extract({"layers": "last:x"}), "latent.layers", "last:x"),
    ("layers-negative", extract({"layers": [-1]}), "latent.layers"),
    ("top-k-negative", extract({"top_k": -2}), "latent.top_k", "-2"),
    ("top-k-bool", extract({"top_k": True}), "latent.top_k", "True"),
    ("alpha-over-one", extract({"alpha": 1.5}), "latent.alpha", "1.5"),
    ("dtype-unknown", extract({"dtype": "int4"}), "latent.dtype", "'int4'"),
    ("logit-kd-without-top-k", extract({"mode": "logit_kd"}), "top_k"),
    ("teacher-folder-missing", extract({"teacher": "/nonexistent/teacher"}), "/nonexistent/teacher"),
    ("cache-dir-a-file", lambda c: extract({"cache_dir": str(c.write("f.txt", "x"))})(c), "f.txt"),
    ("output-dir-under-a-file", lambda c: extract()(c) + ["--output-dir", str(c.write("f.txt", "x") / "c")],
     "f.txt"),
)


@pytest.mark.parametrize("case", EXTRACT)
def test_extract_refuses(case, cli, ctx):
    check_refused(cli, ctx, case.build, case.needles)
