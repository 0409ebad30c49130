from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rdistill.data.esnli import load_esnli
from rdistill.data.example import TeacherRationale
from rdistill.tasks.palm import attach_palm_rationales, parse_palm, parse_palm_esnli
from rdistill.errors import DataError

SPILL = "\n\nPremise: Two women are embracing.\nHypothesis: Two women hug.\nReasonings: Emb"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The packages need not be from lunch.\nAnswer: neutral" + SPILL,
         ("The packages need not be from lunch.", "neutral")),
        ("Women are not men.\nAnswer: contradiction", ("Women are not men.", "contradiction")),
        ("A dog is an animal.\nAnswer: Entailment." + SPILL, ("A dog is an animal.", "entailment")),
        # spill-over truncated mid-word
        ("Women are not men.\nAnswer: contradiction\n\nPremi",
         ("Women are not men.", "contradiction")),
        # completion cut before the answer: rationale kept, label unknown
        ("A toddler is a child. A child is a person. A person is a",
         ("A toddler is a child. A child is a person. A person is a", None)),
        ("The boat is docked.\n", ("The boat is docked.", None)),
        # an answer that is not a label
        ("Hard to say.\nAnswer: maybe" + SPILL, ("Hard to say.", None)),
        # empty rationale: nothing to learn from, so no label either
        ("\nAnswer: neutral" + SPILL, ("", None)),
        ("", ("", None)),
        (SPILL, ("", None)),
        # an "Answer:" inside the spill-over must not be picked up
        ("No answer here." + SPILL + "\nAnswer: neutral", ("No answer here.", None)),
    ],
)
def test_parse_palm_esnli(raw: str, expected: tuple[str, str | None]) -> None:
    assert parse_palm_esnli(raw) == expected


def test_parse_palm_anli_and_cqa() -> None:
    anli = ("Being a senator implies a political career. So the answer is entailment."
            "\n\nPremise: Almost Sunrise is a 2016 film.")
    assert parse_palm(anli, "anli") == ("Being a senator implies a political career.", "entailment")
    cqa = ("Of the above choices, only math problem fits. So the answer is (d) math problem."
           "\n\nQ: What is this an example of?\nAnswer Choices:\n(a) horse")
    # The CQA label is the choice letter; the choice text after it is not part of it.
    assert parse_palm(cqa, "cqa") == ("Of the above choices, only math problem fits.", "d")
    assert parse_palm("Fits. So the answer is (D) math problem.", "cqa") == ("Fits.", "d")
    assert parse_palm("Nothing fits. So the answer is (f) none.", "cqa") == ("Nothing fits.", None)
    assert parse_palm("So the answer is (d)", "cqa") == ("", None)


def test_unknown_task_raises() -> None:
    with pytest.raises(KeyError):
        parse_palm("x", "gsm8k")


def _completions(n: int) -> list[str]:
    labels = ["neutral", "entailment", "neutral", "entailment", "contradiction"]
    return [f"Reason {i}.\nAnswer: {labels[i % 5]}" + SPILL for i in range(n)]


def test_attach_concatenates_files_in_order(esnli_file: Path, write_palm) -> None:
    examples = load_esnli(esnli_file).examples
    completions = _completions(5)
    files = [write_palm(completions[:3], "valid_CoT_0.json"),
             write_palm(completions[3:], "valid_CoT_1.json")]
    result = attach_palm_rationales(examples, files)
    assert [e.rationales for e in result.examples] == [
        (TeacherRationale("palm", f"Reason {i}.", label),)
        for i, label in enumerate(["neutral", "entailment", "neutral", "entailment",
                                   "contradiction"])
    ]
    # gold is neutral, entailment, contradiction, entailment, contradiction
    assert result.counts == {"palm label parsed": 5, "palm label agrees with gold": 4}
    assert examples[0].rationales == ()  # inputs are not modified


def test_attach_appends_to_existing_rationales(esnli_file: Path, write_palm) -> None:
    examples = load_esnli(esnli_file).examples
    other = TeacherRationale("local", "Mine.", "neutral")
    examples = [replace(e, rationales=(other,)) for e in examples]
    result = attach_palm_rationales(examples, [write_palm(_completions(5))], teacher="palm")
    assert [r.teacher for r in result.examples[0].rationales] == ["local", "palm"]


def test_attach_counts_unparseable(esnli_file: Path, write_palm) -> None:
    completions = _completions(5)
    completions[1] = "A toddler is a child. A child is"
    completions[2] = "\nAnswer: neutral" + SPILL
    result = attach_palm_rationales(load_esnli(esnli_file).examples, [write_palm(completions)])
    assert result.counts["palm label unparseable"] == 2
    assert result.counts["palm label parsed"] == 3
    assert result.examples[1].rationales[0].label is None
    assert len(result.examples) == 5


def test_misaligned_files_raise(esnli_file: Path, write_palm) -> None:
    examples = load_esnli(esnli_file).examples
    files = [write_palm(_completions(3), "valid_CoT_0.json"),
             write_palm(_completions(3), "valid_CoT_1.json")]
    with pytest.raises(DataError) as info:
        attach_palm_rationales(examples, files)
    message = str(info.value)
    assert "valid_CoT_0.json" in message and "valid_CoT_1.json" in message
    assert "6 completions" in message and "5 rows" in message


def test_alignment_uses_original_row_after_skipping(write_jsonl, esnli_rows, write_palm) -> None:
    esnli_rows[1]["label"] = 9
    loaded = load_esnli(write_jsonl(esnli_rows), skip_invalid=True)
    assert len(loaded.examples) == 4
    palm = write_palm(_completions(5))
    with pytest.raises(DataError, match="pass n_rows"):
        attach_palm_rationales(loaded.examples, [palm])
    result = attach_palm_rationales(loaded.examples, [palm], n_rows=loaded.n_read)
    assert [e.rationales[0].text for e in result.examples] == [
        "Reason 0.", "Reason 2.", "Reason 3.", "Reason 4."]


def test_non_string_completion(esnli_file: Path, write_palm) -> None:
    completions: list[object] = list(_completions(5))
    completions[3] = None
    palm = write_palm(completions)
    examples = load_esnli(esnli_file).examples
    with pytest.raises(DataError, match=r"valid_CoT_0\.json item 3: expected a completion string"):
        attach_palm_rationales(examples, [palm])
    result = attach_palm_rationales(examples, [palm], skip_invalid=True)
    assert len(result.examples) == 4
    assert result.skipped == {"palm completion not a string": 1}
    assert len(result.examples) + sum(result.skipped.values()) == result.n_read


@pytest.mark.parametrize(
    ("content", "message"),
    [('{"a": 1}', "expected one JSON array"), ('["a", ', "malformed JSON")],
)
def test_bad_palm_file(esnli_file: Path, tmp_path: Path, content: str, message: str) -> None:
    palm = tmp_path / "valid_CoT_0.json"
    palm.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        attach_palm_rationales(load_esnli(esnli_file).examples, [palm])


def test_missing_palm_file(esnli_file: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        attach_palm_rationales(load_esnli(esnli_file).examples, [tmp_path / "nope.json"])
