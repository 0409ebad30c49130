from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from rdistill.data.esnli import LABELS, load_esnli, load_esnli_hub
from rdistill.errors import DataError

DROP = object()  # marks a key to delete from the base row


def test_labels_index_order() -> None:
    assert LABELS == ("entailment", "neutral", "contradiction")


def test_jsonl_loads_all_rows(esnli_file: Path) -> None:
    result = load_esnli(esnli_file)
    assert result.n_read == 5 and not result.skipped
    first = result.examples[0]
    assert first.uid == "esnli_valid:0"
    assert first.fields == {"premise": "Two women are embracing.",
                            "hypothesis": "Two sisters hug goodbye."}
    assert first.label == "neutral"
    assert first.explanations == ("They may not be sisters.", "Not goodbye.",
                                  "Hugging need not mean goodbye.")
    assert first.source == f"{esnli_file}:1"
    assert first.meta["row"] == "0"
    # int labels and label words both map to the words; empty explanations are dropped
    assert [e.label for e in result.examples] == [
        "neutral", "entailment", "contradiction", "entailment", "contradiction"]
    assert result.examples[1].explanations == ("Embracing is hugging.",)


def test_blank_lines_keep_line_numbers(write_jsonl, esnli_rows) -> None:
    path = write_jsonl([esnli_rows[0], "", esnli_rows[1]])
    examples = load_esnli(path).examples
    assert [e.source.rsplit(":", 1)[1] for e in examples] == ["1", "3"]
    assert [e.meta["row"] for e in examples] == ["0", "1"]


def test_csv_original_layout(write_csv, csv_row) -> None:
    path = write_csv([
        csv_row("123.jpg#0r1n", "neutral", "A man, tired, sits.", "He rests.", "Sitting, maybe.",
                "Tired men\nrest.", "Not sure."),
        csv_row("123.jpg#0r1e", "Entailment", "A man sits.", "A person sits.",
                "A man is a person."),
    ])
    first, second = load_esnli(path).examples
    assert first.uid == "123.jpg#0r1n"
    assert first.fields["premise"] == "A man, tired, sits."
    assert first.explanations == ("Sitting, maybe.", "Tired men\nrest.", "Not sure.")
    assert first.source == f"{path}:2"
    # the first row's quoted explanation spans two lines
    assert second.source == f"{path}:4"
    assert second.label == "entailment" and second.explanations == ("A man is a person.",)


def test_csv_train_layout_with_worker_id(write_csv) -> None:
    header = ["pairID", "WorkerId", "gold_label", "Sentence1", "Sentence2", "Explanation_1",
              "Sentence1_marked_1", "Sentence2_marked_1"]
    path = write_csv([["9r1c", "W1", "contradiction", "A cat.", "A dog.", "Cats are not dogs.",
                       "*cat*", "*dog*"]], header=header, name="esnli_train_1.csv")
    (example,) = load_esnli(path).examples
    assert example.uid == "9r1c" and example.explanations == ("Cats are not dogs.",)


def test_csv_missing_column(write_csv) -> None:
    path = write_csv([["1", "neutral", "A."]], header=["pairID", "gold_label", "Sentence1"])
    with pytest.raises(DataError, match=r"esnli_dev\.csv line 1: missing column\(s\) Sentence2"):
        load_esnli(path)


def test_csv_bad_label_names_line_and_column(write_csv, csv_row) -> None:
    path = write_csv([csv_row("1", "neutral", "A.", "B.", "x"), csv_row("2", "-", "A.", "B.", "x")])
    with pytest.raises(DataError, match=r"esnli_dev\.csv line 3: field 'gold_label' has value '-'"):
        load_esnli(path)


def test_csv_surplus_cells(write_csv, csv_row) -> None:
    path = write_csv([csv_row("1", "neutral", "A.", "B.", "x") + ["extra"]])
    with pytest.raises(DataError, match=r"line 2: row has 20 cells but the header has 19"):
        load_esnli(path)


# (edit of a valid row, or a raw line) -> expected message, skip reason
BAD_ROWS = [
    ({"label": 7}, "field 'label' has value 7; expected one of 0, 1, 2 or "
     "entailment, neutral, contradiction", "bad value: label"),
    ({"label": -1}, "field 'label' has value -1", "bad value: label"),
    ({"label": "x"}, "field 'label' has value 'x'", "bad value: label"),
    ({"label": True}, "field 'label' has value True", "bad value: label"),
    ({"label": DROP}, "missing field 'label'", "missing field: label"),
    ({"premise": DROP}, "missing field 'premise'", "missing field: premise"),
    ({"premise": None}, "missing field 'premise'", "missing field: premise"),
    ({"hypothesis": "  "}, "field 'hypothesis' is empty", "empty field: hypothesis"),
    ({"premise": 3}, "field 'premise' has value 3", "bad value: premise"),
    ('{"premise": "A", "hypothesis": ', "malformed JSON", "malformed JSON"),
    ("[1, 2]", "expected a JSON object, got list", "not a JSON object"),
]


def _bad_row(base: dict[str, object], edit: dict[str, object] | str) -> dict[str, object] | str:
    if isinstance(edit, str):
        return edit
    row = {**base, **edit}
    return {k: v for k, v in row.items() if v is not DROP}


@pytest.mark.parametrize(("edit", "message", "reason"), BAD_ROWS)
def test_bad_row_raises_with_file_line_field(write_jsonl, esnli_rows, edit, message, reason):
    path = write_jsonl([esnli_rows[0], esnli_rows[1], _bad_row(esnli_rows[2], edit), esnli_rows[3]])
    with pytest.raises(DataError) as info:
        load_esnli(path)
    assert f"{path} line 3: {message}" in str(info.value)


@pytest.mark.parametrize(("edit", "message", "reason"), BAD_ROWS)
def test_skip_invalid_counts_reason(write_jsonl, esnli_rows, edit, message, reason) -> None:
    path = write_jsonl([esnli_rows[0], esnli_rows[1], _bad_row(esnli_rows[2], edit), esnli_rows[3]])
    result = load_esnli(path, skip_invalid=True)
    assert result.n_read == 4
    assert dict(result.skipped) == {reason: 1}
    assert len(result.examples) + sum(result.skipped.values()) == result.n_read
    # the original row index survives skipping, for row-aligned teacher files
    assert [e.meta["row"] for e in result.examples] == ["0", "1", "3"]
    assert [e.uid for e in result.examples] == ["esnli_valid:0", "esnli_valid:1", "esnli_valid:3"]
    assert "skipped 1" in result.summary()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        load_esnli(tmp_path / "nope.json")


def test_json_array_is_rejected_with_hint(write_palm) -> None:
    path = write_palm(["a\nAnswer: neutral"], name="esnli_valid.json")
    with pytest.raises(DataError, match="one JSON array"):
        load_esnli(path)


def test_unknown_suffix_sniffs_content(write_jsonl, write_csv, esnli_rows, csv_row) -> None:
    assert load_esnli(write_jsonl(esnli_rows[:1], name="rows.txt")).n_read == 1
    assert load_esnli(write_csv([csv_row("1", "neutral", "A.", "B.")], name="x.dat")).n_read == 1


def test_hub_loader_with_fake_datasets(monkeypatch, esnli_rows) -> None:
    calls = []

    def fake_load_dataset(name: str, split: str) -> list[dict[str, object]]:
        calls.append((name, split))
        return [esnli_rows[0], {**esnli_rows[1], "label": -1}]

    fake = types.SimpleNamespace(load_dataset=fake_load_dataset)
    monkeypatch.setitem(sys.modules, "datasets", fake)
    result = load_esnli_hub("validation", skip_invalid=True)
    assert calls == [("esnli", "validation")]
    assert [e.uid for e in result.examples] == ["esnli:validation:0"]
    assert result.skipped == {"bad value: label": 1}
    with pytest.raises(DataError, match=r"esnli \(validation\) row 1: field 'label'"):
        load_esnli_hub("validation")


def test_hub_failure_is_a_data_error(monkeypatch) -> None:
    def offline(name: str, split: str) -> None:
        raise ConnectionError("offline")

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=offline))
    with pytest.raises(DataError, match="network access or a cached copy"):
        load_esnli_hub("train")
