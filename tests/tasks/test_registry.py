from __future__ import annotations

import pytest

from rdistill.data.example import Example
from rdistill.tasks.registry import get_task

NLI = Example(uid="1", fields={"premise": "A dog runs.", "hypothesis": "An animal moves."},
              label="entailment")
CQA = Example(uid="q", fields={"question": "Where does a bum live?", "a": "bus depot", "b": "beach",
                               "c": "train station", "d": "bridge", "e": "bridge"}, label="d")


def test_esnli_prompt_is_byte_identical_to_trained_runs() -> None:
    # Every e-SNLI student so far was trained on exactly this text: it must never change.
    expected = ("Premise: A dog runs.\nHypothesis: An animal moves.\n"
                "Does the premise entail, contradict, or is it neutral to the hypothesis?\n")
    assert get_task("esnli").prompt(NLI) == expected
    assert get_task("anli").prompt(NLI) == expected


def test_cqa_prompt_lists_lettered_choices() -> None:
    assert get_task("cqa").prompt(CQA) == (
        "Question: Where does a bum live?\nAnswer choices:\n(a) bus depot\n(b) beach\n"
        "(c) train station\n(d) bridge\n(e) bridge\nWhich choice answers the question?\n")


def test_label_sets() -> None:
    assert get_task("esnli").labels == ("entailment", "neutral", "contradiction")
    assert get_task("anli").labels == ("entailment", "neutral", "contradiction")
    assert get_task("cqa").labels == ("a", "b", "c", "d", "e")
    assert get_task("cqa").label_text("d") == " d"
    assert [get_task(n).hub_name for n in ("esnli", "anli", "cqa")] == ["esnli", "anli", "commonsense_qa"]
    assert get_task("gsm8k").labels == () and get_task("gsm8k").answer_kind == "number"
    assert get_task("aqua").answer_kind == "choice"


def test_unknown_task() -> None:
    with pytest.raises(KeyError, match="known tasks: anli, aqua, cqa, esnli, gsm8k, gsm8k_aug, math, multiplication, prosqa, svamp"):
        get_task("snli")


def test_step_tasks_lay_out_reasoning_then_answer_and_compare_whole_answers():
    from rdistill.data.answers import answers_match, final_answer
    from rdistill.data.example import Example

    prosqa = get_task("prosqa")
    ex = Example(uid="p0", fields={"question": "Tom is a wumpus. Every wumpus is a rempus. Is Tom a rempus or "
                                               "a lempus?"}, label="Tom is a rempus.",
                 steps=("Tom is a wumpus.", "Every wumpus is a rempus."),
                 explanations=("Tom is a wumpus.\nEvery wumpus is a rempus.",))
    (row,) = prosqa.training_rows(ex, list(ex.explanations), with_label=True, with_explanation=True,
                                  order="predict_explain", task_prefix=False)
    text = "".join(piece for piece, _ in row.pieces)
    assert text == "Answer: Tom is a wumpus.\nEvery wumpus is a rempus.\n#### Tom is a rempus."
    assert row.prompt.endswith("Reason step by step; give the final answer.\n")
    assert answers_match(final_answer(text, "text")[0], ex.label, "text")
    assert not answers_match("Tom is a lempus.", ex.label, "text")
    # a multiplication answer is a digit sequence: never read as one number
    assert answers_match("5 5 6 0 8 2 0 1", "5 5 6 0 8 2 0 1 .", "text")
    assert not answers_match("5 5 6 0 8 2 0 2", "5 5 6 0 8 2 0 1", "text")
    assert get_task("gsm8k_aug").answer_kind == "number"
