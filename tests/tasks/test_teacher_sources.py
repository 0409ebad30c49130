"""Several teachers on one data set, and the per-teacher report (values worked out by hand)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rdistill.methods.registry import load_recipe
from rdistill.data.cqa import load_cqa
from rdistill.data.esnli import load_esnli
from rdistill.tasks.teacher_report import teacher_report
from rdistill.tasks.teacher_sources import TeacherSpec, attach_teachers, read_usage, teacher_specs
from rdistill.errors import ConfigError, DataError

# Gold of the first four fixture rows: neutral, entailment, contradiction, entailment.
PALM = ["A.\nAnswer: contradiction", "B.\nAnswer: entailment", "C.\nAnswer: maybe",
        "D.\nAnswer: entailment", "E.\nAnswer: neutral"]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def two_teachers(tmp_path, write_palm, esnli_rows, write_jsonl):
    data = write_jsonl(esnli_rows[:4])
    palm = write_palm(PALM[:4])
    local = _jsonl(tmp_path / "local.jsonl", [
        {"uid": "esnli_valid:0", "teacher": "x", "rationale": "a", "label": "Neutral", "tokens": 10,
         "latency_s": 0.5},
        {"uid": "esnli_valid:1", "rationale": "b", "label": "contradiction",
         "tokens": {"prompt": 5, "completion": 7}, "latency_s": 1.5},
        {"uid": "esnli_valid:2", "rationale": "c", "label": "contradiction"},
    ])
    return data, [TeacherSpec("palm", "palm", (palm,)), TeacherSpec("local", "jsonl", (local,))]


def test_attach_names_each_teacher_in_order(two_teachers) -> None:
    data, specs = two_teachers
    loaded = load_esnli(data)
    examples, summary, usage = attach_teachers(loaded.examples, specs, task="esnli", n_rows=loaded.n_read)
    assert [[(r.teacher, r.label) for r in ex.rationales] for ex in examples] == [
        [("palm", "contradiction"), ("local", "neutral")],  # "Neutral" is lower-cased
        [("palm", "entailment"), ("local", "contradiction")],
        [("palm", None), ("local", "contradiction")],
        [("palm", "entailment")],  # the local teacher has no line for this row
    ]
    assert summary["local"]["counts"] == {"local label parsed": 3, "local no rationale": 1}
    assert summary["palm"]["counts"]["palm label unparseable"] == 1
    assert usage["local"].tokens == 22 and usage["local"].rows_with_tokens == 2
    assert usage["local"].tokens_by_kind == {"prompt": 5, "completion": 7}
    assert usage["local"].latency_s == 2.0 and "palm" not in usage


def test_report_by_hand(two_teachers) -> None:
    data, specs = two_teachers
    loaded = load_esnli(data)
    examples, _, usage = attach_teachers(loaded.examples, specs, task="esnli", n_rows=loaded.n_read)
    report = teacher_report(examples, ["palm", "local"], usage)
    palm, local = report["teachers"]["palm"], report["teachers"]["local"]
    assert report["rows"] == 4
    # palm: 4 rows covered, 3 parsed; right on rows 1 and 3 (entailment)
    assert (palm["rows_covered"], palm["coverage"], palm["labels_parsed"], palm["parse_rate"]) == (4, 1.0, 3, 0.75)
    assert (palm["correct"], palm["accuracy"], palm["accuracy_parsed"]) == (2, 0.5, pytest.approx(2 / 3))
    # local: rows 0-2 covered and parsed; right on rows 0 and 2
    assert (local["rows_covered"], local["coverage"], local["parse_rate"]) == (3, 0.75, 1.0)
    assert (local["correct"], local["accuracy"]) == (2, pytest.approx(2 / 3))
    # both parsed on rows 0 and 1: (contradiction, neutral), (entailment, contradiction) -> 0 of 2
    assert palm["agreement"] == {"local": {"rows": 2, "rate": 0.0}}
    assert local["agreement"] == {"palm": {"rows": 2, "rate": 0.0}}
    assert (local["tokens"], local["tokens_per_row"], local["latency_s"], local["latency_s_per_row"]) == (
        22, 11.0, 2.0, 1.0)
    assert "tokens" not in palm  # PaLM arrays carry no cost


def test_report_agreement_and_empty_denominators(esnli_rows, write_jsonl, write_palm, tmp_path) -> None:
    data = write_jsonl(esnli_rows)
    loaded = load_esnli(data)
    specs = [TeacherSpec("p1", "palm", (write_palm(PALM, name="a.json"),)),
             TeacherSpec("p2", "palm", (write_palm(PALM, name="b.json"),)),
             TeacherSpec("none", "jsonl", (_jsonl(tmp_path / "none.jsonl", []),))]
    examples, _, _ = attach_teachers(loaded.examples, specs, task="esnli", n_rows=5)
    report = teacher_report(examples, ["p1", "p2", "none"], {})
    # identical teachers agree on all 4 rows both parsed
    assert report["teachers"]["p1"]["agreement"]["p2"] == {"rows": 4, "rate": 1.0}
    assert report["teachers"]["none"]["agreement"]["p1"] == {"rows": 0, "rate": None}
    assert (report["teachers"]["none"]["rows_covered"], report["teachers"]["none"]["accuracy"]) == (0, None)


def test_cqa_teacher_letters_count_duplicate_choices_as_gold(write_jsonl, tmp_path) -> None:
    row = {"id": "q2", "question": "Where does a bum live?",
           "choices": ["bus depot", "beach", "train station", "bridge", "bridge"], "answer": "bridge"}
    loaded = load_cqa(write_jsonl([row], name="cqa.json"))
    teacher = _jsonl(tmp_path / "t.jsonl", [{"uid": "q2", "rationale": "Under bridges.", "label": "E"}])
    examples, _, _ = attach_teachers(loaded.examples, [TeacherSpec("t", "jsonl", (teacher,))],
                                     task="cqa", n_rows=1)
    assert examples[0].rationales[0].label == "d"
    assert teacher_report(examples, ["t"])["teachers"]["t"]["accuracy"] == 1.0


def test_jsonl_errors_name_the_teacher_and_file(esnli_rows, write_jsonl, tmp_path) -> None:
    loaded = load_esnli(write_jsonl(esnli_rows))
    other = _jsonl(tmp_path / "other.jsonl", [{"uid": "nope", "rationale": "r", "label": None}])
    with pytest.raises(DataError, match="teacher 'x' .*other.jsonl.*1 uid\\(s\\) not in the data"):
        attach_teachers(loaded.examples, [TeacherSpec("x", "jsonl", (other,))], task="esnli", n_rows=5)
    bad = _jsonl(tmp_path / "bad.jsonl", [{"uid": "esnli_valid:0", "rationale": "r", "tokens": -3}])
    with pytest.raises(DataError, match="bad.jsonl line 1: field 'tokens' is -3"):
        read_usage([bad])
    a = _jsonl(tmp_path / "a.jsonl", [{"uid": "esnli_valid:0", "rationale": "r"}])
    with pytest.raises(DataError, match="uid 'esnli_valid:0' also appears in an earlier file of teacher 'x'"):
        attach_teachers(loaded.examples, [TeacherSpec("x", "jsonl", (a, a))], task="esnli", n_rows=5)


def test_config_entries_become_named_teachers(tmp_path) -> None:
    raw = {"data": {"train_file": "esnli/esnli_valid.json", "explanation_source": "palm",
                    "multi_teacher": "majority",
                    "teacher_files": ["esnli/palm/valid_CoT_0.json", "esnli/palm/valid_CoT_1.json",
                                      {"name": "smol", "format": "jsonl", "files": ["smol.jsonl"]}]}}
    cfg = load_recipe(None, raw=raw)
    specs = teacher_specs(cfg.data.teacher_files, lambda f: tmp_path / f)
    assert [(s.name, s.format, [p.name for p in s.files]) for s in specs] == [
        ("palm", "palm", ["valid_CoT_0.json", "valid_CoT_1.json"]), ("smol", "jsonl", ["smol.jsonl"])]
    raw["data"]["teacher_files"].append({"name": "palm", "format": "palm", "files": ["x.json"]})
    with pytest.raises(ConfigError, match="teacher name\\(s\\) palm used more than once"):
        load_recipe(None, raw=raw)
    raw["data"]["teacher_files"][-1] = {"name": "p", "format": "csv", "files": ["x.json"]}
    with pytest.raises(ConfigError, match="teacher_files"):
        load_recipe(None, raw=raw)
