"""The bad-input corpus: what a new user would feed every command, and what each must answer.

Every case builds its inputs under ``tmp_path`` (the working directory too, so that a
default output such as ``runs/<name>`` is caught), runs ``rdistill.cli.main(argv)`` in
process and asserts (``refused``): exit status 2, exactly one message line on stderr,
naming what is wrong (the file, line, key or value), no traceback, and nothing new
under ``tmp_path`` (no run folder, no output file, no empty folder). Inputs that are
deliberately accepted are listed in docs/commands.md ("Inputs deliberately accepted")
and have their own tests.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from rdistill.cli import main

LABELS = ("entailment", "neutral", "contradiction")
HYPS = ("an animal runs", "a happy dog runs", "a cat sleeps")
EXPLAIN = ("a dog is an animal", "the dog may not be happy", "a dog is not a cat")


def esnli_rows(n: int = 40) -> list[dict]:
    """A learnable toy e-SNLI (the hypothesis decides the label), as JSON-lines rows."""
    rng = random.Random(0)
    rows = []
    for i in range(n):
        label = rng.randrange(3)
        rows.append({"premise": f"the dog number {i} runs", "hypothesis": HYPS[label], "label": label,
                     "explanation_1": EXPLAIN[label], "explanation_2": EXPLAIN[label] + " here"})
    return rows


def jsonl(rows: list) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def recipe_dict(model_dir: Path, train_file: Path | str, **training: Any) -> dict:
    return {
        "name": "toy", "seed": 3,
        "data": {"train_file": str(train_file), "dev_size": 4, "test_size": 6, "split_by": "row"},
        "model": {"name": str(model_dir)},
        "finetune": {"mode": "full"},
        "training": {"max_steps": 1, "batch_size": 4, "lr": 5e-3, "logging_steps": 1, "save_steps": 10,
                     "warmup_ratio": 0.0, "group_by_length": False, **training},
        "tracking": {"tensorboard": False},
        "generation": {"max_new_tokens": 4, "batch_size": 4},
        "evaluation": {"bertscore": False, "judge": False},
    }


def set_dotted(raw: dict, key: str, value: Any) -> None:
    """``raw["a"]["b"] = value`` for ``"a.b"``; the value ``DELETE`` removes the key."""
    *parents, last = key.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
    if value is DELETE:
        node.pop(last, None)
    else:
        node[last] = value


DELETE = object()


@dataclass
class Ctx:
    """What a case builds its inputs with; every path lies under ``tmp``."""

    tmp: Path
    model_dir: Path
    _run: Callable[[], Path] | None = None
    notes: dict = field(default_factory=dict)

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
        return path

    def data(self, rows: list | None = None, name: str = "data.jsonl") -> Path:
        return self.write(name, jsonl(esnli_rows() if rows is None else rows))

    def recipe(self, edits: dict[str, Any] | None = None, *, name: str = "recipe.yaml",
               raw: dict | None = None) -> Path:
        """A valid toy recipe with ``edits`` (dotted key -> value) applied."""
        raw = raw or recipe_dict(self.model_dir, self.notes.get("data") or self.data())
        for key, value in (edits or {}).items():
            set_dotted(raw, key, value)
        return self.write(name, yaml.safe_dump(raw, sort_keys=False))

    def run(self) -> Path:
        """A copy of a trained toy run (tiny causal student, one step), free to damage."""
        assert self._run is not None, "this case needs the trained_run fixture"
        return self._run()


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, tiny_causal_dir) -> Path:
    """One toy run trained once for the whole corpus (copied by the cases that need it)."""
    root = tmp_path_factory.mktemp("corpus_run")
    data = root / "data.jsonl"
    data.write_text(jsonl(esnli_rows()))
    config = root / "recipe.yaml"
    config.write_text(yaml.safe_dump(recipe_dict(tiny_causal_dir, data)))
    assert main(["--quiet", "train", str(config), "--output-dir", str(root / "run")]) == 0
    return root / "run"


@pytest.fixture
def ctx(tmp_path, tiny_causal_dir, monkeypatch, request) -> Ctx:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RDISTILL_DATA_DIR", raising=False)

    def copy_run() -> Path:
        source = request.getfixturevalue("trained_run")
        target = tmp_path / "run"
        if not target.exists():
            shutil.copytree(source, target)
        return target

    return Ctx(tmp_path, tiny_causal_dir, copy_run)


@pytest.fixture
def cli(capsys) -> Callable[[list[str]], Outcome]:
    def call(argv: list[str]) -> Outcome:
        capsys.readouterr()
        try:
            code = main(["--quiet", *argv])
        except SystemExit as exit_:  # argparse refusing a flag
            code = exit_.code
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return call


def check_refused(cli, ctx: Ctx, build: Callable[[Ctx], list[str]], needles: tuple[str, ...]) -> Outcome:
    """Build the case's inputs, run it, and assert the corpus contract."""
    argv = build(ctx)
    before = snapshot(ctx.tmp)
    result = cli(argv)
    assert "Traceback" not in result.err + result.out, result.err
    assert result.code == 2, f"exit {result.code}; stderr: {result.err!r}; stdout: {result.out[-500:]!r}"
    lines = [line for line in result.err.splitlines() if line.strip()]
    messages = [line for line in lines if ": error: " in line]
    assert len(messages) == 1, f"expected one message line, got: {result.err!r}"
    if not lines[0].startswith("usage:"):  # argparse prints its usage above its one message
        assert len(lines) == 1, f"expected one message line, got: {result.err!r}"
    message = messages[0]
    for needle in needles:
        assert needle.format_map(_Paths(ctx)) in message, f"{needle!r} not in {message!r}"
    assert snapshot(ctx.tmp) == before, f"left behind: {sorted(snapshot(ctx.tmp) - before)}"
    return result


class _Paths(dict):
    """``{tmp}`` in a needle is the case's folder."""

    def __init__(self, ctx: Ctx):
        super().__init__(tmp=str(ctx.tmp))


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Ctx], list[str]]
    needles: tuple[str, ...]


def cases(*rows: tuple) -> list:
    """``(id, build, needle, ...)`` rows -> pytest params with readable ids."""
    return [pytest.param(Case(row[0], row[1], tuple(row[2:])), id=row[0]) for row in rows]
