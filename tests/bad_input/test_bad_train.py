"""``rdistill train``: the recipe, ``--set`` values, data files, teacher files, output folders."""

from __future__ import annotations

import json

import pytest

from .conftest import DELETE, EXPLAIN, LABELS, check_refused, cases, esnli_rows, jsonl

CSV_HEADER = "pairID,Sentence1,Sentence2,gold_label,Explanation_1\n"


def recipe(edits: dict, *extra: str):
    """``train`` on the toy recipe with ``edits`` (dotted key -> value) applied."""
    return lambda c: ["train", str(c.recipe(edits)), *extra]


def config_file(content: str | bytes, name: str = "recipe.yaml"):
    return lambda c: ["train", str(c.write(name, content))]


def override(*sets: str):
    return lambda c: ["train", str(c.recipe())] + [a for s in sets for a in ("--set", s)]


def data(rows_or_text, name: str = "bad.jsonl", **edits):
    def build(c):
        content = rows_or_text if isinstance(rows_or_text, (str, bytes)) else jsonl(rows_or_text)
        return ["train", str(c.recipe({"data.train_file": str(c.write(name, content)), **edits}))]
    return build


def rows_with(index: int, **changes):
    rows = esnli_rows()
    rows[index] = {k: v for k, v in {**rows[index], **changes}.items() if v is not DELETE}
    return rows


def teacher(content: str | bytes, name: str = "teacher.jsonl", **edits):
    def build(c):
        path = c.write(name, content(c) if callable(content) else content)
        return ["train", str(c.recipe({"data.teacher_files": [str(path)], "data.explanation_source": "palm",
                                       **edits}))]
    return build


def uid(i: int) -> str:
    return f"bad:{i}"  # the e-SNLI loader names rows <file stem>:<row>


RECIPE = cases(
    ("config-missing", lambda c: ["train", str(c.tmp / "nope.yaml")], "nope.yaml", "does not exist"),
    ("config-is-a-folder", lambda c: ["train", str(c.tmp)], "{tmp}", "folder"),
    ("config-empty", config_file(""), "recipe.yaml", "empty"),
    ("config-only-a-comment", config_file("# nothing yet\n"), "recipe.yaml", "empty"),
    ("config-binary-garbage", config_file(bytes(range(256)) * 8), "recipe.yaml", "not UTF-8"),
    ("config-latin-1", config_file("name: caf\xe9\n".encode("latin-1")), "line 1", "not UTF-8"),
    ("config-a-list", config_file("- name: toy\n- seed: 1\n"), "recipe.yaml", "mapping"),
    ("config-a-scalar", config_file("just some words\n"), "recipe.yaml", "mapping"),
    ("config-bad-yaml", config_file("name: toy\ndata: [unclosed\n"), "recipe.yaml", "not valid YAML", "line"),
    ("config-tab-indent", config_file("name: toy\ndata:\n\ttrain_file: x\n"), "recipe.yaml", "line 3"),
    ("config-duplicate-key", config_file("name: toy\nseed: 1\nseed: 2\n"), "line 3", "seed"),
    ("config-json-unclosed", config_file('{"name": "toy", "seed": 1'), "recipe.yaml", "not valid YAML"),
    ("unknown-top-level-key", recipe({"nmae": "x"}), "nmae: unknown key"),
    ("unknown-nested-key", recipe({"training.learning_rate": 1e-4}), "training.learning_rate: unknown key"),
    ("missing-data-section", recipe({"data": DELETE}), "data: Field required"),
    ("missing-train-file", recipe({"data.train_file": DELETE}), "data.train_file"),
    ("section-is-a-number", recipe({"training": 5}), "training"),
    ("section-is-a-list", recipe({"finetune": ["lora"]}), "finetune"),
    ("section-is-null", recipe({"data": None}), "data"),
    ("lr-is-a-word", recipe({"training.lr": "fast"}), "training.lr", "'fast'"),
    ("lr-is-zero", recipe({"training.lr": 0}), "training.lr"),
    ("bool-train-size", recipe({"data.train_size": True}), "data.train_size", "True"),
    ("bool-batch-size", recipe({"training.batch_size": True}), "training.batch_size", "True"),
    ("bool-max-steps", recipe({"training.max_steps": False}), "training.max_steps", "False"),
    ("bool-lr", recipe({"training.lr": True}), "training.lr", "True"),
    ("bool-lora-rank", recipe({"finetune.r": True}), "finetune.r", "True"),
    ("bool-seed", recipe({"seed": True}), "seed", "True"),
    ("bool-loss-alpha", recipe({"loss.alpha": True}), "loss.alpha", "True"),
    ("bool-max-new-tokens", recipe({"generation.max_new_tokens": True}), "generation.max_new_tokens"),
    ("float-batch-size", recipe({"training.batch_size": 1.5}), "training.batch_size", "1.5"),
    ("string-batch-size", recipe({"training.batch_size": "eight"}), "training.batch_size", "'eight'"),
    ("negative-batch-size", recipe({"training.batch_size": -1}), "training.batch_size", "-1"),
    ("zero-test-size", recipe({"data.test_size": 0}), "data.test_size", "0"),
    ("negative-dev-size", recipe({"data.dev_size": -3}), "data.dev_size", "-3"),
    ("negative-epochs", recipe({"training.epochs": -1}), "training.epochs"),
    ("dropout-one", recipe({"finetune.dropout": 1.0}), "finetune.dropout"),
    ("warmup-over-one", recipe({"training.warmup_ratio": 2}), "training.warmup_ratio"),
    ("enum-precision", recipe({"training.precision": "fp8"}), "training.precision", "'fp8'"),
    ("enum-finetune-mode", recipe({"finetune.mode": "qlora"}), "finetune.mode", "'qlora'"),
    ("enum-split-by", recipe({"data.split_by": "hypothesis"}), "data.split_by"),
    ("enum-model-kind", recipe({"model.kind": "encoder"}), "model.kind"),
    ("enum-scheduler", recipe({"training.lr_scheduler": "step"}), "training.lr_scheduler"),
    ("enum-explanation-source", recipe({"data.explanation_source": "gpt"}), "data.explanation_source"),
    ("unknown-method", recipe({"method": "magic"}), "method", "'magic'"),
    ("unknown-dataset", recipe({"data.dataset": "snli"}), "data.dataset", "snli"),
    ("loss-weights-both-zero", recipe({"loss.alpha": 0, "loss.beta": 0}), "loss"),
    ("infinite-alpha", recipe({"loss.alpha": float("inf")}), "loss.alpha"),
    ("nan-lr", recipe({"training.lr": float("nan")}), "training.lr"),
    ("name-climbs-out", recipe({"name": "../../x"}), "name", "'../../x'"),
    ("name-absolute", recipe({"name": "/tmp/x"}), "name", "'/tmp/x'"),
    ("teacher-source-without-files", recipe({"data.explanation_source": "palm"}), "data.teacher_files"),
    ("teacher-entry-bad-format", recipe({"data.teacher_files": [{"name": "t", "format": "csv", "files": ["x"]}]}),
     "data.teacher_files", "format"),
    ("section-of-another-method", recipe({"method": "rationale", "latent": {"mode": "sft"}}), "latent"),
)

OVERRIDES = cases(
    ("set-without-equals", override("training.lr"), "training.lr", "key.sub=value"),
    ("set-empty-key", override("=3"), "'=3'", "empty key"),
    ("set-bad-yaml", override("training.lr=[1"), "training.lr=[1", "not valid YAML"),
    ("set-unknown-key", override("training.lrr=1"), "training.lrr: unknown key"),
    ("set-into-a-value", override("seed.x=1"), "seed.x=1", "'seed' is a value"),
    ("set-section-to-number", override("training=5"), "training"),
    ("set-bool-train-size", override("data.train_size=true"), "data.train_size", "True"),
    ("set-bool-epochs", override("training.epochs=yes"), "training.epochs", "True"),
    ("set-word-batch-size", override("training.batch_size=eight"), "training.batch_size", "'eight'"),
    ("set-negative-batch-size", override("training.batch_size=-4"), "training.batch_size", "-4"),
    ("set-infinite-alpha", override("loss.alpha=.inf"), "loss.alpha"),
    ("set-bad-enum", override("training.precision=fp8"), "training.precision", "'fp8'"),
    ("set-name-climbs-out", override("name=../escape"), "name", "../escape"),
)

DATA = cases(
    ("data-missing", lambda c: ["train", str(c.recipe({"data.train_file": str(c.tmp / "nope.jsonl")}))],
     "nope.jsonl", "not found"),
    ("data-is-a-folder", lambda c: ["train", str(c.recipe({"data.train_file": str(c.tmp)}))], "{tmp}"),
    ("data-relative-without-data-dir", lambda c: ["train", str(c.recipe({"data.train_file": "esnli/x.jsonl"}))],
     "esnli/x.jsonl", "--data-dir"),
    ("data-relative-not-under-data-dir",
     lambda c: ["train", str(c.recipe({"data.train_file": "x.jsonl"})), "--data-dir", str(c.tmp)],
     "x.jsonl", "--data-dir"),
    ("data-empty-file", data(""), "bad.jsonl", "no rows"),
    ("data-blank-lines", data("\n\n  \n"), "bad.jsonl", "no rows"),
    ("data-truncated-line", data(jsonl(esnli_rows())[:-20]), "bad.jsonl", "line 40", "malformed JSON"),
    ("data-json-array", data(json.dumps(esnli_rows()), name="bad.json"), "bad.json", "one JSON array"),
    ("data-line-is-a-list", data(rows_with(3) [:3] + [[1, 2]] + esnli_rows()[4:]), "bad.jsonl", "line 4"),
    ("data-missing-premise", data(rows_with(5, premise=DELETE)), "bad.jsonl", "line 6", "premise"),
    ("data-missing-label", data(rows_with(5, label=DELETE)), "bad.jsonl", "line 6", "label"),
    ("data-unknown-label-word", data(rows_with(7, label="maybe")), "bad.jsonl", "line 8", "maybe"),
    ("data-label-out-of-range", data(rows_with(7, label=7)), "bad.jsonl", "line 8", "7"),
    ("data-label-bool", data(rows_with(7, label=True)), "bad.jsonl", "line 8", "True"),
    ("data-premise-a-number", data(rows_with(2, premise=5)), "bad.jsonl", "line 3", "premise"),
    ("data-empty-premise", data(rows_with(2, premise="  ")), "bad.jsonl", "line 3", "premise"),
    ("data-latin-1", data(jsonl(esnli_rows()).encode() + '{"premise": "caf\xe9"}\n'.encode("latin-1")),
     "bad.jsonl", "line 41", "not UTF-8"),
    ("data-repeated-pair-id", data(CSV_HEADER + "".join(f"{'p1' if i < 2 else f'p{i}'},{r['premise']},{r['hypothesis']},"
                                                      f"{LABELS[r['label']]},{EXPLAIN[r['label']]}\n"
                                                      for i, r in enumerate(esnli_rows())), name="bad.csv"),
     "bad.csv", "'p1'"),
    ("data-too-few-rows", data(esnli_rows(5)), "data.test_size=6", "5 examples"),
    ("data-csv-without-columns", data("a,b\n1,2\n", name="bad.csv"), "bad.csv"),
)

TEACHERS = cases(
    ("teacher-file-missing", lambda c: ["train", str(c.recipe({"data.teacher_files": [str(c.tmp / "t.json")],
                                                               "data.explanation_source": "palm"}))], "t.json"),
    ("teacher-palm-truncated", teacher('["a dog is an animal.\\nAnswer: entailment", "tr', name="t.json"),
     "t.json", "line 1", "malformed JSON"),
    ("teacher-palm-not-an-array", teacher('{"rows": []}', name="t.json"), "t.json", "array"),
    ("teacher-palm-too-few", teacher(json.dumps(["x.\nAnswer: neutral"] * 3), name="t.json"), "t.json", "40"),
    ("teacher-jsonl-unknown-uid", teacher(jsonl([{"uid": "nobody", "rationale": "r", "label": "neutral"}])),
     "teacher.jsonl", "'nobody'"),
    ("teacher-jsonl-label-outside-labels", teacher(jsonl([{"uid": uid(0), "rationale": "r", "label": "maybe"}])),
     "teacher.jsonl", "line 1", "'maybe'"),
    ("teacher-jsonl-missing-rationale", teacher(jsonl([{"uid": uid(0), "label": "neutral"}])),
     "teacher.jsonl", "line 1", "rationale"),
    ("teacher-jsonl-truncated", teacher('{"uid": "bad:0", "rationale": "r", "lab'), "teacher.jsonl", "line 1"),
    ("teacher-jsonl-uid-twice", teacher(jsonl([{"uid": uid(0), "rationale": "r"}] * 2)), "teacher.jsonl", "line 2"),
    ("teacher-jsonl-label-a-number", teacher(jsonl([{"uid": uid(0), "rationale": "r", "label": 1}])),
     "teacher.jsonl", "line 1", "label"),
)

OUTPUTS = cases(
    ("output-dir-is-a-file", lambda c: ["train", str(c.recipe()), "--output-dir", str(c.write("f.txt", "x"))],
     "f.txt"),
    ("output-dir-under-a-file",
     lambda c: ["train", str(c.recipe()), "--output-dir", str(c.write("f.txt", "x") / "run")], "f.txt"),
    ("model-folder-missing", recipe({"model.name": "/nonexistent/model-folder"}), "/nonexistent/model-folder"),
)


@pytest.mark.parametrize("case", RECIPE + OVERRIDES + DATA + TEACHERS + OUTPUTS)
def test_train_refuses(case, cli, ctx):
    # teacher rows name the data file's rows: the default data file is bad.jsonl in DATA cases only
    if case.id.startswith("teacher-"):
        ctx.notes["data"] = ctx.write("bad.jsonl", jsonl(esnli_rows()))
    check_refused(cli, ctx, case.build, case.needles)
