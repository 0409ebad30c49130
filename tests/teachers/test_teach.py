import json

import pytest

from rdistill.tasks.registry import load_dataset_file
from rdistill.data.splits import split_examples
from rdistill.data.teacher_file import attach_teacher_jsonl, read_teacher_jsonl
from rdistill.teachers.cache import TeacherCache
from rdistill.teachers.config import load_teach_config
from rdistill.teachers.teach import CACHE, RATIONALES, SUMMARY, teach


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_local_teacher_writes_one_line_per_training_row_and_resumes(tmp_path, teach_raw, esnli_file,
                                                                    monkeypatch):
    cfg = load_teach_config(None, raw=teach_raw())
    out = tmp_path / "out"
    summary = teach(cfg, out, show_progress=False)
    rows = _lines(out / RATIONALES)
    examples = load_dataset_file("esnli", esnli_file).examples
    train, dev, test = split_examples(examples, dev_size=6, test_size=9, seed=3)
    # rows: "train" -> exactly the 45 training rows, in split order (a recipe's train[:train_size]), each once
    assert [r["uid"] for r in rows] == [ex.uid for ex in train]
    assert summary["rows"] == 45 and summary["requested"] == 45 and summary["from_cache"] == 0
    assert summary["parsed"] + summary["unparsed"] + summary["failed"] == 45
    assert {r["teacher"] for r in rows} == {cfg.teacher.model.rsplit("/", 1)[-1]}
    for r in rows:
        assert set(r) >= {"uid", "teacher", "rationale", "label", "raw", "prompt_hash", "tokens", "latency_s"}
        assert r["tokens"]["completion"] <= 6 and r["tokens"]["prompt"] > 20
        assert r["usable"] == (r["status"] == "parsed")
    assert json.loads((out / SUMMARY).read_text())["rows"] == 45
    # A second run asks nothing (it does not even load the model): every row comes from
    # the cache, output identical.
    import rdistill.teachers.backend_local as backend_local

    monkeypatch.setattr(backend_local, "load_model",
                        lambda *a, **k: pytest.fail("model loaded for a fully cached run"))
    before = (out / RATIONALES).read_text()
    again = teach(cfg, out, show_progress=False)
    assert again["requested"] == 0 and again["from_cache"] == 45
    assert (out / RATIONALES).read_text() == before
    with TeacherCache(out / CACHE) as cache:
        assert cache.counts() == {"done": 45}
        attempts = cache.conn.execute("SELECT SUM(attempts) FROM requests").fetchone()[0]
    assert attempts == 45


def test_shots_come_from_the_training_split_only(tmp_path, teach_raw, esnli_file):
    raw = teach_raw()
    raw["data"]["rows"] = "all"
    raw["prompt"]["shots"] = 5
    summary = teach(load_teach_config(None, raw=raw), tmp_path, show_progress=False)
    examples = load_dataset_file("esnli", esnli_file).examples
    train, dev, test = split_examples(examples, dev_size=6, test_size=9, seed=3)
    assert summary["rows"] == 60  # every row annotated ...
    train_uids = {ex.uid for ex in train}
    assert len(summary["shot_uids"]) == 5 and set(summary["shot_uids"]) <= train_uids  # ... shots from train
    # and no prompt shows an eval row as a worked example: each eval row appears in its own prompt only
    with TeacherCache(tmp_path / CACHE) as cache:
        prompts = [p for (p,) in cache.conn.execute("SELECT prompt FROM requests")]
    for ex in dev + test:
        marker = f"Premise: {ex.fields['premise']}\n"
        assert sum(json.loads(p).count(marker) for p in prompts) == 1


def test_output_is_a_teacher_file_training_reads(tmp_path, teach_raw, esnli_file):
    raw = teach_raw()
    raw["output"] = {"keep_unparsed": True}
    teach(load_teach_config(None, raw=raw), tmp_path, show_progress=False)
    rows = _lines(tmp_path / RATIONALES)
    usable = {r["uid"] for r in rows if r["usable"]}
    assert read_teacher_jsonl(tmp_path / RATIONALES).keys() == usable
    attached = attach_teacher_jsonl(load_dataset_file("esnli", esnli_file).examples, tmp_path / RATIONALES)
    assert sum(1 for ex in attached.examples if ex.rationales) == len(usable)
