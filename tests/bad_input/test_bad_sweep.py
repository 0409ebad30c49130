"""``rdistill sweep``: the recipe's sweep block, ``--grid`` and ``--set`` values, the sweep folder."""

from __future__ import annotations

import pytest

from .conftest import check_refused, cases


def sweep(edits: dict | None = None, *extra: str):
    return lambda c: ["sweep", str(c.recipe(edits)), "--output-dir", str(c.tmp / "sweep"), *extra]


SWEEP = cases(
    ("nothing-to-sweep", sweep(), "nothing to sweep"),
    ("grid-unknown-key", sweep(None, "--grid", "training.lrr=1,2"), "training.lrr"),
    ("grid-without-values", sweep(None, "--grid", "training.lr="), "training.lr"),
    ("grid-without-equals", sweep(None, "--grid", "training.lr"), "training.lr"),
    ("grid-bad-value", sweep(None, "--grid", "training.batch_size=4,eight"), "training.batch_size", "eight"),
    ("grid-bool-value", sweep(None, "--grid", "data.train_size=true,10"), "data.train_size", "true"),
    ("grid-name", sweep(None, "--grid", "name=a,b"), "'name' cannot be swept"),
    ("block-grid-empty-values", sweep({"sweep": {"grid": {"loss.alpha": []}}}), "loss.alpha", "no values"),
    ("block-grid-unknown-key", sweep({"sweep": {"grid": {"loss.alhpa": [1, 2]}}}), "loss.alhpa"),
    ("block-variant-bad-name", sweep({"sweep": {"variants": {"a b/c": {"loss.alpha": 1}}}}), "a b/c"),
    ("block-not-a-mapping", sweep({"sweep": [1, 2]}), "sweep"),
    ("set-also-swept", sweep(None, "--grid", "loss.alpha=0.5,1", "--set", "loss.alpha=2"), "loss.alpha"),
    ("output-dir-a-file", lambda c: ["sweep", str(c.recipe()), "--grid", "loss.alpha=0.5,1", "--output-dir",
                                     str(c.write("f.txt", "x"))], "f.txt"),
    ("config-missing", lambda c: ["sweep", str(c.tmp / "nope.yaml"), "--grid", "loss.alpha=1,2"], "nope.yaml"),
)


@pytest.mark.parametrize("case", SWEEP)
def test_sweep_refuses(case, cli, ctx):
    check_refused(cli, ctx, case.build, case.needles)
