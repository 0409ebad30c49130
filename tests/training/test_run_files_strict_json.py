"""Every JSON file a run writes is valid JSON for strict parsers: no NaN / Infinity anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rdistill.cli import main


def _refuse_constant(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


def strict_json_problems(root: Path) -> list[str]:
    """``file: why`` for each .json / .jsonl file under ``root`` that a strict parser refuses."""
    problems = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".json", ".jsonl") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        documents = [line for line in text.splitlines() if line.strip()] if path.suffix == ".jsonl" else [text]
        for n, doc in enumerate(documents, 1):
            try:
                json.loads(doc, parse_constant=_refuse_constant)
            except ValueError as err:
                problems.append(f"{path.relative_to(root)} document {n}: {err}")
    return problems


def test_a_trained_and_evaluated_run_holds_strict_json_only(train_toy_run, tmp_path, capsys):
    run = train_toy_run(max_steps=3)
    assert main(["--quiet", "eval", str(run), "--output", str(run / "eval-again" / "metrics.json"),
                 "--no-judge"]) == 0
    files = [p for p in run.rglob("*") if p.suffix in (".json", ".jsonl")]
    names = {p.name for p in files}
    # the files worth checking are there: the trainer's, the run's, the evaluation's
    assert {"metrics.jsonl", "summary.json", "system.json", "rdistill.json", "trainer_state.json"} <= names
    assert any(p.suffix == ".jsonl" and "eval" in str(p.relative_to(run)) for p in files)
    assert strict_json_problems(run) == []

    # and the check itself catches what json.dumps writes for a NaN
    (run / "eval" / "bad.jsonl").write_text(json.dumps({"loss": float("nan")}) + "\n")
    (run / "bad.json").write_text(json.dumps({"x": [1.0, float("-inf")]}))
    assert [p.split(" document")[0] for p in strict_json_problems(run)] == ["bad.json", "eval/bad.jsonl"]


@pytest.mark.parametrize("text", ['{"a": NaN}', '[Infinity]', '{"b": -Infinity}'])
def test_the_strict_parser_refuses_every_non_finite_constant(tmp_path, text):
    (tmp_path / "x.json").write_text(text)
    assert len(strict_json_problems(tmp_path)) == 1
