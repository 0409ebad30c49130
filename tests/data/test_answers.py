"""Answer extraction and comparison on tricky outputs; expected values worked out by hand."""

import pytest

from rdistill.data.answers import (answers_match, boxed_contents, extract_answer, final_answer,
                                         normalize_answer, parse_choice)


@pytest.mark.parametrize("output, text, rule", [
    ("48/2 = 24 clips.\n48+24 = 72 in all.\n#### 72", "72", "####"),
    ("#### 5\nthen #### 1,080\n", "1,080", "####"),                 # the last #### wins
    ("so \\boxed{\\frac{1}{\\sqrt{2}}} done", "\\frac{1}{\\sqrt{2}}", "boxed"),  # nested braces
    ("\\boxed{3} and later \\boxed{\\dfrac{3}{4}}", "\\dfrac{3}{4}", "boxed"),
    ("84 / 2 = 42. The answer is (84 / 2).\n\nQ: next", "(84 / 2)", "answer is"),
    ("The answer is 3.75. Next, 9 apples", "3.75", "answer is"),       # decimal point is no sentence end
    ("answer: $1,250.50", "$1,250.50", "answer is"),
    ("She has 12 and gives 5, so 7 remain", "7", "last number"),
    ("10-5=5", "5", "last number"),                                  # no "-5" from "10-5"
    ("it fell to -3 degrees", "-3", "last number"),
    ("so 1,000 people", "1,000", "last number"),
    ("no digits here", None, None),
    ("", None, None),
])
def test_extract_answer(output, text, rule):
    found = extract_answer(output)
    assert (found.text, found.rule) == (text, rule)


@pytest.mark.parametrize("text, canonical", [
    ("1,000", "1000"), ("$1,250.50", "1250.5"), ("\\$5", "5"), ("25%", "25"), ("25\\%", "25"),
    ("72 clips", "72"), ("12 dollars per hour", "12"), ("42.0", "42"), ("2.50", "2.5"),
    (".5", "0.5"), ("-3", "-3"), ("−3", "-3"), ("3/4", "0.75"), ("-6/4", "-1.5"), ("2/3", "2/3"),
    ("\\frac{3}{4}", "0.75"), ("\\dfrac{3}{4}", "0.75"), ("\\tfrac12", "0.5"), ("-\\frac{1}{3}", "-1/3"),
    ("\\frac{-3}{4}", "-0.75"), ("x = 5", "5"), ("90^\\circ", "90"), ("5\\text{ cm}", "5"),
    ("(84 / 2)", "42"), ("(16 * 17) * 4", "1088"), ("1/0", None), ("abc", None), (None, None),
    ("2 ** 8", None),
])
def test_normalize_number(text, canonical):
    assert normalize_answer(text, "number") == canonical


def test_normalize_expression_falls_back_to_compact_latex():
    assert normalize_answer("\\left( 3, \\dfrac{\\pi}{2} \\right)", "expression") == "(3,\\frac{\\pi}{2})"
    assert normalize_answer("\\frac{1}{2}", "expression") == "0.5"


@pytest.mark.parametrize("text, letter", [
    ("C", "C"), ("(c)", "C"), ("C) 21", "C"), ("E.", "E"), ("the option (B) is right", "B"),
    ("42", None), ("F", None),
])
def test_parse_choice(text, letter):
    assert parse_choice(text) == letter


@pytest.mark.parametrize("pred, gold, kind, same", [
    ("1,080", "1080", "number", True),
    ("42.0", "42", "number", True),
    ("42.00001", "42", "number", False),          # integer golds are exact
    ("3.6667", "11/3", "number", True),            # |3.6667 - 11/3| = 3.3e-5 <= 1e-4 * 11/3
    ("3.67", "11/3", "number", False),             # off by 3.3e-3
    ("\\frac{11}{3}", "11/3", "number", True),
    ("-0.5", "-\\frac{1}{2}", "number", True),
    ("0.5", "-0.5", "number", False),
    (None, "3", "number", False),
    ("(c)", "C", "choice", True),
    ("B", "C", "choice", False),
    ("\\dfrac{\\pi}{2}", "\\frac{\\pi}{2}", "expression", True),
    ("x^2+1", "x^{2}+1", "expression", False),     # no symbolic algebra: strings differ
    ("0.50", "\\frac12", "expression", True),
])
def test_answers_match(pred, gold, kind, same):
    assert answers_match(pred, gold, kind) is same


def test_final_answer_for_choice_falls_back_to_the_last_option():
    assert final_answer("It must be 12, which is (D) here", "choice")[0] == "D"
    assert final_answer("#### B", "choice")[0] == "B"
    assert final_answer("A train leaves at 3", "choice")[0] is None  # an article is no option


def test_boxed_without_braces_and_unbalanced():
    assert boxed_contents("\\boxed 5$") == "5"
    assert boxed_contents("\\boxed{2} then \\boxed{3") == "2"  # the unbalanced last one is skipped
