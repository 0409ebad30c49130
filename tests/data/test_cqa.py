from __future__ import annotations

import pytest

from rdistill.data.cqa import LABELS, canonical_letter, cqa_example, load_cqa
from rdistill.data.json_rows import RawRow
from rdistill.errors import DataError

ROWS = [
    {"id": "q1", "question": "What is this an example of?",
     "choices": ["park", "coloring book", "garden center", "math problem", "gravity"],
     "answer": "math problem", "abstractive_explanation": "it is a sum",
     "extractive_explanation": "apples"},
    {"id": "q2", "question": "Where does a bum live?",
     "choices": ["bus depot", "beach", "train station", "bridge", "bridge"],
     "answer": "bridge", "abstractive_explanation": "bums live under bridges."},
    {"id": "q3", "question": "A bad person values what little?",
     "choices": ["excellent", "upright", "premium", "competent", "sincere"],
     "answer": "sincere", "abstractive_explanation": ""},
]


def test_loads_letters_choices_and_explanations(write_jsonl) -> None:
    path = write_jsonl(ROWS, name="cqa_train.json")
    result = load_cqa(path)
    assert result.n_read == 3 and not result.skipped
    first = result.examples[0]
    assert first.uid == "q1" and first.label == "d"
    assert first.fields == {"question": "What is this an example of?", "a": "park", "b": "coloring book",
                            "c": "garden center", "d": "math problem", "e": "gravity"}
    assert first.explanations == ("it is a sum",)
    # a duplicated answer is gold at its first occurrence, and counted
    assert result.examples[1].label == "d"
    assert result.counts == {"answer in several choices": 1}
    assert result.examples[2].label == "e" and result.examples[2].explanations == ()
    assert LABELS == ("a", "b", "c", "d", "e")


@pytest.mark.parametrize(("change", "message", "reason"), [
    ({"answer": "swamp"}, "field 'answer' is 'swamp', which is not one of the choices",
     "answer not among choices"),
    ({"choices": ["a", "b", "c", "d"]}, "field 'choices' has value .*expected a list of 5",
     "bad value: choices"),
    ({"choices": ["a", "b", "", "d", "e"]}, "field 'choices'", "bad value: choices"),
    ({"choices": None}, "missing field 'choices'", "missing field: choices"),
    ({"question": " "}, "field 'question' is empty", "empty field: question"),
    ({"id": 5}, "field 'id' has value 5", "bad value: id"),
])
def test_bad_row_names_file_line_field_or_is_counted(write_jsonl, change, message, reason) -> None:
    path = write_jsonl([ROWS[0], {**ROWS[2], **change}], name="cqa_train.json")
    with pytest.raises(DataError, match=f"line 2: {message}"):
        load_cqa(path)
    result = load_cqa(path, skip_invalid=True)
    assert result.skipped == {reason: 1} and [e.uid for e in result.examples] == ["q1"]


def test_hub_layout() -> None:
    # A row as the Hub data set `commonsense_qa` yields it (offline: no download in tests).
    row = {"id": "h1", "question": "Q?", "question_concept": "x",
           "choices": {"label": ["A", "B", "C", "D", "E"], "text": ["v", "w", "x", "y", "z"]},
           "answerKey": "C"}
    example, _ = cqa_example(RawRow(0, "commonsense_qa (train) row 0", "hub:x", row))
    assert example.label == "c" and example.fields["c"] == "x" and example.explanations == ()
    with pytest.raises(Exception, match="field 'answerKey' has value ''"):
        cqa_example(RawRow(0, "w", "s", {**row, "answerKey": ""}))


def test_canonical_letter_maps_duplicate_choice_to_first(write_jsonl) -> None:
    dup = load_cqa(write_jsonl(ROWS, name="cqa_train.json")).examples[1]  # ..., bridge, bridge
    assert canonical_letter(dup, "e") == "d"
    assert canonical_letter(dup, "C") == "c"
    assert canonical_letter(dup, "z") == "z"
