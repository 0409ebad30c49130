from __future__ import annotations

import pytest

from rdistill.data.anli import anli_example, load_anli
from rdistill.data.json_rows import RawRow
from rdistill.errors import DataError

ROWS = [
    {"uid": "u-1", "premise": "Zeffirelli was a senator.", "hypothesis": "He had a political career.",
     "label": 0, "reason": "A senator has a political career."},
    {"uid": "u-2", "premise": "The album came out in 2012.", "hypothesis": "It came out in 2013.",
     "label": 2, "reason": ""},
    {"uid": "u-3", "premise": "He saw combat.", "hypothesis": "He killed someone.", "label": 1},
]


def test_loads_rows_with_esnli_label_encoding(write_jsonl) -> None:
    path = write_jsonl(ROWS, name="anli1_valid.json")
    result = load_anli(path)
    assert result.n_read == 3 and not result.skipped
    assert [e.uid for e in result.examples] == ["u-1", "u-2", "u-3"]
    # 0 entailment, 1 neutral, 2 contradiction (as in the PaLM answers of the same rows)
    assert [e.label for e in result.examples] == ["entailment", "contradiction", "neutral"]
    first = result.examples[0]
    assert first.fields == {"premise": "Zeffirelli was a senator.",
                            "hypothesis": "He had a political career."}
    # the annotator's reason is the human explanation; empty or absent gives none
    assert [e.explanations for e in result.examples] == [("A senator has a political career.",), (), ()]
    assert first.source == f"{path}:1" and first.meta["row"] == "0"


@pytest.mark.parametrize(("change", "message", "reason"), [
    ({"label": 3}, "field 'label' has value 3", "bad value: label"),
    ({"label": None}, "field 'label' has value None", "bad value: label"),
    ({"premise": ""}, "field 'premise' is empty", "empty field: premise"),
    ({"uid": None}, "missing field 'uid'", "missing field: uid"),
    ({"hypothesis": 7}, "field 'hypothesis' has value 7", "bad value: hypothesis"),
])
def test_bad_row_names_file_line_field_or_is_counted(write_jsonl, change, message, reason) -> None:
    bad = {**ROWS[1], **change}
    path = write_jsonl([ROWS[0], bad, ROWS[2]], name="anli1_valid.json")
    with pytest.raises(DataError, match=f"{path} line 2: {message}"):
        load_anli(path)
    result = load_anli(path, skip_invalid=True)
    assert result.n_read == 3 and result.skipped == {reason: 1}
    # the skipped row keeps its index: rows after it still align with the PaLM file
    assert [e.meta["row"] for e in result.examples] == ["0", "2"]


def test_malformed_json_and_json_array(write_jsonl, tmp_path) -> None:
    path = write_jsonl([ROWS[0], "{not json"], name="anli1_valid.json")
    with pytest.raises(DataError, match="line 2: malformed JSON"):
        load_anli(path)
    array = tmp_path / "valid_CoT_0.json"
    array.write_text('["a completion"]')
    with pytest.raises(DataError, match="one JSON array, not JSON lines"):
        load_anli(array)
    with pytest.raises(DataError, match="not found"):
        load_anli(tmp_path / "missing.json")


def test_hub_row_layout_is_the_same() -> None:
    # A row as the Hub data set `anli` yields it (offline: no download in tests).
    hub_row = {"uid": "0fd0abfb", "premise": "P.", "hypothesis": "H.", "label": 1, "reason": ""}
    example, note = anli_example(RawRow(4, "anli (dev_r1) row 4", "hub:anli/dev_r1:4", hub_row))
    assert (example.uid, example.label, example.explanations, note) == ("0fd0abfb", "neutral", (), None)
