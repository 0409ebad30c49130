"""GSM8K-Aug (equation-only steps) and the steps of plain GSM8K rows."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rdistill.data.gsm8k import load_gsm8k
from rdistill.data.gsm8k_aug import (INCONSISTENT, check_gsm8k_aug_row, equation_problem, equation_steps,
                                     load_gsm8k_aug)
from rdistill.data.paths import DATA_DIR_ENV
from rdistill.errors import DataError

ROWS = [
    "John cuts his grass to 2 inches. It grows .5 inches per month. How much per year?"
    "||<<4-2=2>> <<2/.5=4>> <<12/4=3>> <<100*3=300>> #### 300",
    "A farm has 5,000 hens.||<<5000*1=5000>> #### 5,000",
    "Alan handed out 150 tickets. How many?|| #### 26",
]


def _write(tmp_path: Path, lines: list[str], name: str = "gsm8k_aug_valid.txt") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_equation_problem_accepts_rounding_and_names_errors():
    assert equation_problem("<<4-2=2>>") is None
    assert equation_problem("<<2/.5=4>>") is None
    assert equation_problem("<<10/3=3.33>>") is None  # rounded down to the decimals shown
    assert equation_problem("<<10/3=3.34>>") is None  # rounded up (GSM8K rounds some counts up)
    assert equation_problem("<<10/3=3.35>>") == "<<10/3=3.35>>: the left side is 10/3, not 3.35"
    assert equation_problem("<<4-2=3>>") == "<<4-2=3>>: the left side is 2, not 3"
    assert "not plain arithmetic" in equation_problem("<<__import__('os')=1>>")
    assert "not plain arithmetic" in equation_problem("<<5%*2=1>>")
    assert "exactly one '='" in equation_problem("<<1=1=1>>")
    assert "not a plain number" in equation_problem("<<2*3=x>>")


def test_check_names_every_problem():
    assert check_gsm8k_aug_row(ROWS[0]) == []
    assert check_gsm8k_aug_row(ROWS[2]) == ["no equations"]
    assert check_gsm8k_aug_row("q||<<2*3=7>> <<7+1=8>> #### 9") == [
        "<<2*3=7>>: the left side is 6, not 7", "the last result <<7+1=8>> is not the answer 9"]
    assert "text outside" in check_gsm8k_aug_row("q||<<1+1=2>> so 2 #### 2")[0]


def test_equation_steps_refuses_prose():
    assert equation_steps("<<1+1=2>> <<2*2=4>>") == ("<<1+1=2>>", "<<2*2=4>>")
    assert equation_steps("") == ()


def test_loader_steps_label_and_counts(tmp_path):
    result = load_gsm8k_aug(_write(tmp_path, ROWS))
    first, second, third = result.examples
    assert first.steps == ("<<4-2=2>>", "<<2/.5=4>>", "<<12/4=3>>", "<<100*3=300>>")
    assert first.explanations == ("<<4-2=2>> <<2/.5=4>> <<12/4=3>> <<100*3=300>>",)
    assert first.fields == {"question": ROWS[0].split("||")[0]} and first.label == "300"
    assert first.uid == "gsm8k_aug_valid:0" and first.source.endswith("gsm8k_aug_valid.txt:1")
    assert second.label == "5000" and second.meta["answer_text"] == "5,000"  # canonical, as data.gsm8k
    assert third.steps == () and third.explanations == ()  # kept, and counted as inconsistent
    assert result.counts == {INCONSISTENT: 1}


def test_loader_bad_rows_name_file_line_and_field(tmp_path):
    rows = [ROWS[0], "q? <<1+1=2>> #### 2", "q?||<<1+1=2>> 2", "q?||<<1+1=2>> #### many",
            "q?||<<1+1=2>> and so #### 2", "||<<1+1=2>> #### 2"]
    path = _write(tmp_path, rows)
    with pytest.raises(DataError, match=r"gsm8k_aug_valid.txt line 2: no '\|\|' between question and steps"):
        load_gsm8k_aug(path)
    result = load_gsm8k_aug(path, skip_invalid=True)
    assert result.n_read == 6 and len(result.examples) == 1
    assert result.skipped == {"missing field: steps": 1, "missing field: answer": 1, "bad value: answer": 1,
                              "bad value: steps": 1, "empty field: question": 1}


def test_plain_gsm8k_steps_are_its_annotations_in_order(tmp_path):
    row = {"question": "Natalia sold 48 clips in April and half as many in May. How many in all?",
           "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
                     "Natalia sold 48+24 = <<48+24=72>>72 clips in all.\n#### 72"}
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps({"question": "q?", "answer": "It is 3.\n#### 3"}) + "\n")
    first, second = load_gsm8k(path).examples
    assert first.steps == ("<<48/2=24>>", "<<48+24=72>>")
    assert first.explanations == ("Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips in all.",)
    assert second.steps == ()


def _data_file(*parts: str) -> Path:
    root = os.environ.get(DATA_DIR_ENV)
    if not root:
        pytest.skip(f"{DATA_DIR_ENV} is not set")
    path = Path(root).joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.mark.real_data
def test_published_rows_and_their_inconsistencies():
    path = _data_file("icot", "gsm8k_aug_valid.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    problems = {i: check_gsm8k_aug_row(line) for i, line in enumerate(lines)}
    failing = {i: p for i, p in problems.items() if p}
    # Measured on the published file: every equation holds; 6 rows have no equation at all
    # (equation-solving questions), 28 end on a result that is not the answer (a dropped last
    # step, or a rounded answer such as <<768/50=15.36>> #### 15).
    assert not [p for ps in failing.values() for p in ps if p.startswith("<<")]
    assert sorted(i for i, p in failing.items() if p == ["no equations"]) == [89, 186, 327, 411, 445, 468]
    assert sum("is not the answer" in p[0] for p in failing.values()) == 28
    assert len(failing) == 34
    result = load_gsm8k_aug(path)
    assert result.n_read == len(result.examples) == 500  # inconsistent rows are kept
    assert result.counts == {INCONSISTENT: 34}
    assert sum(len(e.steps) for e in result.examples) == 1573  # 3.15 equations a row
    assert all("," not in e.label for e in result.examples)


@pytest.mark.real_data
def test_gsm8k_train_steps_are_its_calculator_annotations():
    result = load_gsm8k(_data_file("gsm8k", "train.jsonl"))
    first = result.examples[0]
    assert first.steps == ("<<48/2=24>>", "<<48+24=72>>")
    assert all(e.meta["annotated_steps"].count("<<") == len(e.steps) for e in result.examples)
