"""GSM8K / SVAMP / AQuA-RAT / MATH loaders on small fixtures in the published layouts."""

from __future__ import annotations

import json

import pytest

from rdistill.data.aqua import load_aqua
from rdistill.data.competition_math import load_math
from rdistill.data.gsm8k import load_gsm8k
from rdistill.tasks.palm import attach_palm_rationales, parse_palm
from rdistill.tasks.registry import TASKS as LOADERS
from rdistill.data.svamp import load_svamp, readable_equation
from rdistill.errors import DataError

GSM8K_ROWS = [
    {"question": "Natalia sold clips to 48 friends in April and half as many in May. How many in all?",
     "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
               "Natalia sold 48+24 = <<48+24=72>>72 clips in all.\n#### 72"},
    {"question": "A farm has 1,000 hens and 80 more. How many?",
     "answer": "1000 + 80 = <<1000+80=1080>>1080\n#### 1,080"},
]
SVAMP_ROWS = [
    {"input": "Luke scored 84 points in 2 rounds.\nHow many points per round?", "label": "( 84.0 / 2.0 )"},
    {"input": "Julia played with 17, 15 and 2 kids.\nHow many kids?", "label": "( ( 17.0 + 15.0 ) + 2.0 )"},
    {"input": "Split 45 cakes among 8.\nHow much each?", "label": "( 45.0 / 8.0 )"},
]
AQUA_ROWS = [
    {"question": "Two ships are sailing in the sea. How far apart are they after 2 hours?",
     "options": ["A)21", "B)21.5", "C)22", "D)22.5", "E)23"],
     "rationale": "Distance = 11 * 2 = 22.\nANSWER: C", "correct": "C"},
    {"question": "What is 3 + 4?", "options": ["A)6", "B)7", "C)8", "D)9", "E)10"],
     "rationale": "3 + 4 = 7", "correct": "B"},
]
MATH_PROBLEMS = {
    "algebra/1.json": {"problem": "Solve $2x = 1$.", "level": "Level 1", "type": "Algebra",
                       "solution": "Divide by 2: $x = \\boxed{\\frac{1}{2}}$."},
    "geometry/7.json": {"problem": "Give the polar point.", "level": "Level 3", "type": "Geometry",
                        "solution": "It is $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$"},
}


def _jsonl(tmp_path, rows, name):
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_registry_knows_the_math_sets():
    assert {"gsm8k", "svamp", "aqua", "math"} <= set(LOADERS)


def test_gsm8k_steps_label_and_annotations(tmp_path):
    result = load_gsm8k(_jsonl(tmp_path, GSM8K_ROWS, "train.jsonl"))
    first, second = result.examples
    assert first.label == "72" and second.label == "1080"  # canonical: no thousands comma
    assert first.explanations == ("Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips in all.",)
    assert "<<48/2=24>>" in first.meta["annotated_steps"]
    assert second.meta["answer_text"] == "1,080"
    assert first.uid == "train:0" and first.fields == {"question": GSM8K_ROWS[0]["question"]}


def test_gsm8k_bad_rows_name_file_line_and_field(tmp_path):
    rows = [GSM8K_ROWS[0], {"question": "q?", "answer": "no final line"}, "{broken",
            {"question": "q?", "answer": "x\n#### many"}, {"answer": "1\n#### 1"}]
    path = _jsonl(tmp_path, rows, "train.jsonl")
    with pytest.raises(DataError, match=r"train.jsonl line 2: field 'answer' has no final '#### <number>'"):
        load_gsm8k(path)
    result = load_gsm8k(path, skip_invalid=True)
    assert len(result.examples) == 1 and result.n_read == 5
    assert result.skipped == {"no final answer: answer": 1, "malformed JSON": 1,
                              "bad value: answer": 1, "missing field: question": 1}


def test_svamp_label_is_the_equation_value(tmp_path):
    result = load_svamp(_jsonl(tmp_path, SVAMP_ROWS, "svamp_train.json"))
    assert [e.label for e in result.examples] == ["42", "34", "5.625"]
    assert result.examples[1].explanations == ("(17 + 15) + 2 = 34",)
    assert result.examples[1].meta["equation"] == "( ( 17.0 + 15.0 ) + 2.0 )"
    assert readable_equation("( 84.0 / 2.0 )") == "84 / 2"


def test_svamp_refuses_non_arithmetic_labels(tmp_path):
    rows = [SVAMP_ROWS[0], {"input": "q", "label": "__import__('os').getcwd()"}, {"input": "q", "label": "( 1.0 / 0.0 )"}]
    path = _jsonl(tmp_path, rows, "svamp_train.json")
    with pytest.raises(DataError, match=r"svamp_train.json line 2: field 'label' .* not a plain arithmetic"):
        load_svamp(path)
    result = load_svamp(path, skip_invalid=True)
    assert result.skipped == {"bad value: label": 2} and len(result.examples) == 1


def test_svamp_palm_answers_are_evaluated_expressions(tmp_path):
    examples = load_svamp(_jsonl(tmp_path, SVAMP_ROWS, "svamp_train.json")).examples
    palm = tmp_path / "train_CoT_0.json"
    palm.write_text(json.dumps([
        "Luke scored 84 points in 2 rounds. 84 / 2 = 42. The answer is (84 / 2).\n\nQ: There are 120 /",
        "17 + 15 + 2 = 35. The answer is (17 + 15 + 3).\n\nQ: next",   # wrong teacher
        "45 / 8 is 5.625. The answer is ((45 / 8",                      # cut mid-expression
    ]))
    result = attach_palm_rationales(examples, [palm], task="svamp")
    rationales = [e.rationales[0] for e in result.examples]
    assert rationales[0].text == "Luke scored 84 points in 2 rounds. 84 / 2 = 42."
    assert [r.label for r in rationales] == ["42", "35", None]
    assert result.counts == {"palm label parsed": 2, "palm label unparseable": 1,
                             "palm label agrees with gold": 1}
    assert parse_palm("So 7. The answer is 7.", "svamp") == ("So 7.", "7")


def test_aqua_options_label_and_rationale(tmp_path):
    result = load_aqua(_jsonl(tmp_path, AQUA_ROWS, "train.json"))
    first = result.examples[0]
    assert first.label == "C" and first.meta["correct_option"] == "22"
    assert first.fields["options"].splitlines() == ["A) 21", "B) 21.5", "C) 22", "D) 22.5", "E) 23"]
    assert first.explanations == ("Distance = 11 * 2 = 22.\nANSWER: C",)


@pytest.mark.parametrize("change, message, reason", [
    ({"correct": "F"}, r"field 'correct' is 'F'; expected one of the option letters A, B, C, D, E",
     "bad value: correct"),
    ({"options": ["A)1", "C)2"]}, r"field 'options' item 1 is 'C\)2'; expected it to start with 'B\)'",
     "bad value: options"),
    ({"options": "A)1"}, r"field 'options' has value 'A\)1'", "bad value: options"),
    ({"rationale": ""}, r"field 'rationale' is empty", "empty field: rationale"),
])
def test_aqua_bad_rows(tmp_path, change, message, reason):
    path = _jsonl(tmp_path, [AQUA_ROWS[1], {**AQUA_ROWS[0], **change}], "train.json")
    with pytest.raises(DataError, match=r"train.json line 2: " + message):
        load_aqua(path)
    assert load_aqua(path, skip_invalid=True).skipped == {reason: 1}


def test_math_folder_layout(tmp_path):
    root = tmp_path / "MATH" / "train"
    for rel, problem in MATH_PROBLEMS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(json.dumps(problem))
    result = load_math(root)
    by_uid = {e.uid: e for e in result.examples}
    assert set(by_uid) == {"algebra/1", "geometry/7"}
    assert by_uid["algebra/1"].label == "0.5" and by_uid["algebra/1"].meta["boxed"] == "\\frac{1}{2}"
    assert by_uid["geometry/7"].label == "(3,\\frac{\\pi}{2})"
    assert by_uid["geometry/7"].meta["level"] == "Level 3" and by_uid["geometry/7"].meta["type"] == "Geometry"


def test_math_jsonl_layout_and_missing_boxed(tmp_path):
    rows = [MATH_PROBLEMS["algebra/1.json"], {**MATH_PROBLEMS["algebra/1.json"], "solution": "x is 1/2"}]
    path = _jsonl(tmp_path, rows, "math_train.jsonl")
    with pytest.raises(DataError, match=r"math_train.jsonl line 2: field 'solution' has no non-empty \\boxed"):
        load_math(path)
    result = load_math(path, skip_invalid=True)
    assert [e.uid for e in result.examples] == ["math_train:0"]
    assert result.skipped == {"no boxed answer: solution": 1}


def test_a_json_array_is_refused_by_name(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(GSM8K_ROWS))
    with pytest.raises(DataError, match="one JSON array, not JSON lines"):
        load_gsm8k(path)
