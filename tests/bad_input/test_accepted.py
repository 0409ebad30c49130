"""Inputs deliberately accepted (docs/commands.md, "Inputs deliberately accepted"), and the corpus
through a real process, where what reaches the terminal matters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import check_refused, esnli_rows, jsonl, recipe_dict, snapshot

SRC = Path(__file__).resolve().parents[2] / "src"


def test_teacher_file_label_outside_the_labels_is_an_unparsed_row(cli, ctx):
    """teach converts teacher outputs: an answer outside the task's labels is no answer (as in raw
    text), so the row is unparsed and not usable, never counted as parsed."""
    data = ctx.data()
    teacher = ctx.write("t.jsonl", jsonl([{"uid": "data:0", "rationale": "a dog is an animal", "label": "maybe"},
                                          {"uid": "data:1", "rationale": "a dog is an animal", "label": "Neutral"}]))
    config = ctx.write("teach.yaml", yaml.safe_dump({
        "task": "esnli", "data": {"file": str(data), "rows": "all", "limit": 2, "dev_size": 4, "test_size": 6},
        "teacher": {"backend": "file", "files": [str(teacher)]}}))
    result = cli(["teach", str(config), "--output-dir", str(ctx.tmp / "out")])
    assert result.code == 0, result.err
    summary = json.loads((ctx.tmp / "out" / "teach_summary.json").read_text())
    assert (summary["parsed"], summary["unparsed"], summary["usable"]) == (1, 1, 1)


def test_teach_says_why_rows_failed(cli, ctx):
    """Exit 1, not 2: the teacher file is written and failed rows are asked again on the next run;
    one line on stderr says how many failed and why."""
    config = ctx.write("teach.yaml", yaml.safe_dump({
        "task": "esnli", "data": {"file": str(ctx.data()), "limit": 2, "dev_size": 4, "test_size": 6},
        "prompt": {"shots": 0},
        # port 9 (discard) on this machine: nothing listens, the connection is refused at once
        "teacher": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m", "max_retries": 0}}))
    result = cli(["teach", str(config), "--output-dir", str(ctx.tmp / "out")])
    assert result.code == 1 and "Traceback" not in result.err
    (line,) = result.err.splitlines()
    assert "2 of 2 rows failed" in line and "ConnectError" in line
    summary = json.loads((ctx.tmp / "out" / "teach_summary.json").read_text())
    assert summary["failed"] == 2 and len(summary["failed_examples"]) == 2


def test_legacy_keys_of_old_run_folders_are_read(cli, ctx):
    """Run folders written before the renames stay loadable: training.tensorboard is read as
    tracking.tensorboard, and a latent: section without method: means method latent."""
    raw = recipe_dict(ctx.model_dir, ctx.data())
    raw["training"]["tensorboard"] = False
    config = ctx.write("old.yaml", yaml.safe_dump(raw))
    result = cli(["train", str(config), "--dry-run"])
    assert result.code == 0 and "tensorboard: false" in result.out
    raw = recipe_dict(ctx.model_dir, ctx.data())
    raw["latent"] = {"mode": "sft"}
    result = cli(["train", str(ctx.write("latent.yaml", yaml.safe_dump(raw))), "--dry-run"])
    assert result.code == 0 and "method: latent" in result.out


def test_esnli_json_lines_uid_fields_are_ignored(cli, ctx):
    """e-SNLI rows are named <file stem>:<row> (teacher arrays align by row), so a 'uid' field in a
    JSON-lines row, repeated or not, is not read; the CSV layout's pairID is, and must be unique."""
    rows = [{**r, "uid": "same"} for r in esnli_rows()]
    config = ctx.recipe({"data.train_file": str(ctx.write("d.jsonl", jsonl(rows)))})
    assert cli(["train", str(config), "--dry-run"]).code == 0
    from rdistill.tasks.registry import load_dataset_file

    uids = [ex.uid for ex in load_dataset_file("esnli", ctx.tmp / "d.jsonl").examples]
    assert len(set(uids)) == len(rows) and uids[0] == "d:0"


@pytest.mark.parametrize("argv, needle", [
    (["train", "{tmp}/garbage.yaml"], "not UTF-8"),
    (["predict", "{tmp}/nope"], "--premise"),
], ids=["garbage-config", "predict-without-input"])
def test_a_real_process_prints_one_line_and_no_traceback(argv, needle, ctx):
    """Without --quiet, through python -m: what a user's terminal shows (logging set up for real)."""
    ctx.write("garbage.yaml", bytes(range(256)) * 4)
    before = snapshot(ctx.tmp)
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "rdistill.cli", *[a.format(tmp=ctx.tmp) for a in argv]],
                          capture_output=True, text=True, env=env, cwd=ctx.tmp, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("rdistill: error: ") and needle in line
    assert snapshot(ctx.tmp) == before


def test_check_refused_catches_what_it_must(cli, ctx):
    """The corpus's own contract fails on an accepted input (here: a valid dry run)."""
    with pytest.raises(AssertionError, match="exit 0"):
        check_refused(cli, ctx, lambda c: ["train", str(c.recipe()), "--dry-run"], ())
