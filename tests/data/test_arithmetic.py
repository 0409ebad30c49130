from fractions import Fraction

import pytest

from rdistill.data.arithmetic import ArithmeticRefused, evaluate_arithmetic, format_number, try_arithmetic


@pytest.mark.parametrize("text, value", [
    ("( 84.0 / 2.0 )", Fraction(42)),
    ("( ( 17.0 + 15.0 ) + 2.0 )", Fraction(34)),
    ("0.1 + 0.2", Fraction(3, 10)),          # exact, not 0.30000000000000004
    ("-(3 - 5) * 2", Fraction(4)),
    ("7 / 2", Fraction(7, 2)),
    ("11 / 3", Fraction(11, 3)),
    ("3 × 4 ÷ 6", Fraction(2)),
    ("(491 - 21) / 10", Fraction(47)),
])
def test_evaluates_plain_arithmetic_exactly(text, value):
    assert evaluate_arithmetic(text) == value


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')", "2 ** 10", "abs(-3)", "x + 1", "1 / 0", "(1 + 2",
    "True + 1", "'a' * 3", "[1][0]", "1 if 1 else 2", "9" * 300, "-(" * 30 + "1" + ")" * 30,
])
def test_refuses_everything_else(text):
    with pytest.raises(ArithmeticRefused):
        evaluate_arithmetic(text)
    assert try_arithmetic(text) is None


@pytest.mark.parametrize("value, text", [
    (Fraction(42), "42"), (Fraction(-1, 2), "-0.5"), (Fraction(45, 8), "5.625"),
    (Fraction(11, 3), "11/3"), (Fraction(-7, 6), "-7/6"), (Fraction(1, 20), "0.05"), (Fraction(0), "0"),
])
def test_format_number_is_canonical(value, text):
    assert format_number(value) == text
