import pytest

from rdistill.teachers.parsing import answers_match, parse_teacher_output
from rdistill.teachers.prompts import load_template, strip_cue


@pytest.mark.parametrize("task, raw, rationale, label", [
    # e-SNLI in completion mode: the prompt ended with "Reasonings:", the spill-over is cut
    ("esnli", " A dog is an animal.\nAnswer: entailment\n\nPremise: x", "A dog is an animal.", "entailment"),
    ("esnli", "Reasonings: It may not be.\nAnswer: Neutral.", "Reasonings: It may not be.", "neutral"),
    ("esnli", "I think it is entailment.", "I think it is entailment.", None),   # no answer statement
    ("esnli", "Because.\nAnswer: maybe", "Because.", None),                     # outside the label set
    ("anli", "A: He left. So the answer is contradiction.", "A: He left.", "contradiction"),
    ("cqa", "A: Apples fall. So the answer is (d) math problem.\n\nQ: next", "A: Apples fall.", "d"),
    ("svamp", "A: 84 / 2 = 42. The answer is 42.", "A: 84 / 2 = 42.", "42"),
    ("gsm8k", "She pays 3 * 400 = 1200. The answer is $1,200.00.", "She pays 3 * 400 = 1200.", "1200"),
    ("gsm8k", "The answer is unknown.", "", None),
])
def test_parse_per_task(task, raw, rationale, label):
    assert parse_teacher_output(raw, task) == (rationale, label)


def test_chat_answers_lose_the_repeated_cue():
    template = load_template("esnli")
    assert template.cue == "Reasonings:"
    rationale, label = parse_teacher_output("Reasonings: A dog is an animal.\nAnswer: entailment", "esnli")
    assert (strip_cue(rationale, template), label) == ("A dog is an animal.", "entailment")


def test_numbers_and_matching():
    assert parse_teacher_output("So -3.50 dollars. The answer is -3.50 dollars.", "gsm8k")[1] == "-3.5"
    assert parse_teacher_output("The answer is no digits.", "gsm8k")[1] is None
    assert answers_match("gsm8k", "1200", "1,200") and answers_match("svamp", "42.0", "42")
    assert answers_match("esnli", "Neutral", "neutral") and not answers_match("esnli", None, "neutral")
