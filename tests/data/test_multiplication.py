"""iCoT multiplication: the line layout, its generator, the loader, and the 1,000 published rows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rdistill.data.multiplication import (INCONSISTENT, check_multiplication_row, generate_multiplication,
                                          load_multiplication, multiplication_line, multiplication_steps,
                                          parse_operands)
from rdistill.data.paths import DATA_DIR_ENV
from rdistill.errors import DataError

# The first two published rows (2365 * 4347 and 5196 * 7446), hand-checked.
ROWS = [
    "5 6 3 2 * 7 4 3 4||5 5 5 6 1 + 0 0 6 4 9 0 ( 5 5 1 1 1 1 ) + 0 0 5 9 0 7 0 ( 5 5 6 0 2 8 0 ) "
    "+ 0 0 0 0 6 4 9 0 #### 5 5 6 0 8 2 0 1",
    "6 9 1 5 * 6 4 4 7||6 7 1 1 3 + 0 4 8 7 0 2 ( 6 1 0 9 3 2 ) + 0 0 4 8 7 0 2 ( 6 1 4 7 1 3 2 ) "
    "+ 0 0 0 2 7 3 6 3 #### 6 1 4 9 8 6 8 3",
]


def _write(tmp_path: Path, lines: list[str], name: str = "4_by_4_mult_valid.txt") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_line_reproduces_published_rows():
    assert multiplication_line(2365, 4347) == ROWS[0]
    assert multiplication_line(5196, 7446) == ROWS[1]
    assert 2365 * 4347 == 10280655


def test_small_and_large_widths():
    assert multiplication_line(12, 34) == "2 1 * 4 3||8 4 0 + 0 6 3 0 #### 8 0 4 0"
    assert multiplication_line(7, 8) == "7 * 8||6 5 #### 6 5"
    steps = multiplication_steps(123, 456)
    assert steps == ["8 3 7 0", "+ 0 5 1 6 0 ( 8 8 8 6 0 )", "+ 0 0 2 9 4 0"]  # 738, 6150, 49200
    with pytest.raises(ValueError, match="same number of digits"):
        multiplication_line(12, 345)


def test_check_finds_wrong_steps_and_answer():
    assert check_multiplication_row(ROWS[0]) == []
    wrong_answer = ROWS[0].replace("#### 5 5 6 0 8 2 0 1", "#### 5 5 6 0 8 2 0 2")
    assert check_multiplication_row(wrong_answer) == ["answer 20280655 is not 2365 * 4347 = 10280655"]
    wrong_step = ROWS[0].replace("( 5 5 1 1 1 1 )", "( 5 5 1 1 1 2 )")
    assert check_multiplication_row(wrong_step) == [
        "step 1 is '+ 0 0 6 4 9 0 ( 5 5 1 1 1 2 )', expected '+ 0 0 6 4 9 0 ( 5 5 1 1 1 1 )'"]
    assert "no '||'" in check_multiplication_row("1 2 * 3 4 #### 1")[0]
    assert "without leading zeros" in check_multiplication_row("1 0 * 3 4||x #### 1")[0]


def test_generator_is_deterministic_valid_and_in_range():
    lines = generate_multiplication(200, seed=3)
    assert lines == generate_multiplication(200, seed=3)
    assert lines != generate_multiplication(200, seed=4)
    assert all(check_multiplication_row(line) == [] for line in lines)
    operands = [parse_operands(line.split("||")[0]) for line in lines]
    assert all(1000 <= x <= 9999 for pair in operands for x in pair)
    assert all(check_multiplication_row(line) == [] for line in generate_multiplication(20, seed=0, digits=6))


def test_loader_steps_label_and_fields(tmp_path):
    result = load_multiplication(_write(tmp_path, ROWS))
    first = result.examples[0]
    assert first.uid == "4_by_4_mult_valid:0" and first.source.endswith("4_by_4_mult_valid.txt:1")
    assert first.fields == {"question": "5 6 3 2 * 7 4 3 4"}
    assert first.label == "5 5 6 0 8 2 0 1"
    assert first.steps == ("5 5 5 6 1", "+ 0 0 6 4 9 0 ( 5 5 1 1 1 1 )", "+ 0 0 5 9 0 7 0 ( 5 5 6 0 2 8 0 )",
                           "+ 0 0 0 0 6 4 9 0")
    assert first.explanations == (" ".join(first.steps),)
    assert first.meta["a"] == "2365" and first.meta["b"] == "4347"
    assert not result.counts


def test_loader_bad_rows_name_file_line_and_field(tmp_path):
    rows = [ROWS[0], "5 6 3 2 * 7 4 3 4 5 5 5 #### 1", "", "5 6 x 2 * 7 4 3 4||5 5 #### 1",
            "5 6 3 2 * 7 4 3 4||5 5 5 6 1 #### ", "5 6 3 2 * 7 4 3 4||5 5 5 6 1 + ( #### 1",
            ROWS[1].replace("#### 6", "#### 7")]
    path = _write(tmp_path, rows)
    with pytest.raises(DataError, match=r"4_by_4_mult_valid.txt line 2: no '\|\|' between question and steps"):
        load_multiplication(path)
    result = load_multiplication(path, skip_invalid=True)
    assert result.n_read == 6 and len(result.examples) == 2  # the blank line is no row
    assert result.skipped == {"missing field: steps": 1, "bad value: question": 1, "empty field: answer": 1,
                              "bad value: steps": 1}
    assert result.counts == {INCONSISTENT: 1}  # wrong arithmetic is kept, and counted


@pytest.mark.real_data
def test_every_published_row_is_reproduced_byte_for_byte():
    root = os.environ.get(DATA_DIR_ENV)
    if not root:
        pytest.skip(f"{DATA_DIR_ENV} is not set")
    path = Path(root) / "icot" / "4_by_4_mult_valid.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1000
    for line in lines:
        a, b = parse_operands(line.split("||")[0])
        assert int(line.split("#### ")[1].replace(" ", "")[::-1]) == a * b
        assert multiplication_line(a, b) == line
        assert check_multiplication_row(line) == []
    result = load_multiplication(path)
    assert result.n_read == len(result.examples) == 1000 and not result.counts
    assert {len(e.steps) for e in result.examples} == {4}
