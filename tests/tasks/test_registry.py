from __future__ import annotations

import pytest

from rdistill.data.example import Example
from rdistill.tasks.registry import TASKS, get_task

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
    with pytest.raises(KeyError, match="known tasks: anli, aqua, cqa, esnli, gsm8k, math, svamp"):
        get_task("snli")
