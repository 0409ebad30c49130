import json

import pytest

from rdistill.errors import DataError
from rdistill.teachers.config import load_teach_config
from rdistill.teachers.teach import RATIONALES, teach


def _palm_files(tmp_path, esnli_file):
    rows = [json.loads(line) for line in esnli_file.read_text().splitlines()]
    words = ("entailment", "neutral", "contradiction")
    # every 7th completion has no answer statement; the rest answer gold
    raws = [f"Because {i}.\nAnswer: {words[r['label']]}\n\nPremise: spill" if i % 7 else f"Hmm {i}"
            for i, r in enumerate(rows)]
    a, b = tmp_path / "CoT_0.json", tmp_path / "CoT_1.json"
    a.write_text(json.dumps(raws[:25]))
    b.write_text(json.dumps(raws[25:]))
    return [str(a), str(b)]


def test_palm_files_convert_to_a_teacher_file(tmp_path, teach_raw, esnli_file):
    raw = teach_raw(backend="file", name="palm", files=_palm_files(tmp_path, esnli_file))
    raw["data"]["rows"] = "all"
    summary = teach(load_teach_config(None, raw=raw), tmp_path / "out", show_progress=False)
    lines = [json.loads(x) for x in (tmp_path / "out" / RATIONALES).read_text().splitlines()]
    assert len(lines) == 60 and summary["unparsed"] == 9 and summary["parsed"] == 51  # rows 0, 7, ..., 56
    assert summary["accuracy_vs_gold"] == pytest.approx(51 / 60)
    first = lines[1]
    assert (first["rationale"], first["raw"].startswith("Because 1."), first["teacher"]) == ("Because 1.", True, "palm")
    assert lines[0]["status"] == "unparsed" and lines[0]["usable"] is False


def test_jsonl_teacher_file_by_uid(tmp_path, teach_raw, esnli_file):
    src = tmp_path / "t.jsonl"
    src.write_text(json.dumps({"uid": "toy_esnli:0", "raw": "x\nAnswer: neutral"}) + "\n"
                   + json.dumps({"uid": "toy_esnli:1", "rationale": "y", "label": "entailment"}) + "\n"
                   + json.dumps({"uid": "other:5", "rationale": "z"}) + "\n")
    raw = teach_raw(backend="file", name="gpt", files=[str(src)])
    raw["data"]["rows"] = "all"
    summary = teach(load_teach_config(None, raw=raw), tmp_path / "out", show_progress=False)
    lines = {r["uid"]: r for r in map(json.loads, (tmp_path / "out" / RATIONALES).read_text().splitlines())}
    assert (lines["toy_esnli:0"]["label"], lines["toy_esnli:1"]["label"]) == ("neutral", "entailment")
    assert summary["failed"] == 58  # rows the file has no output for
    src.write_text(json.dumps({"uid": "toy_esnli:0", "text": "?"}) + "\n")
    with pytest.raises(DataError, match="t.jsonl line 1: needs 'raw'"):
        teach(load_teach_config(None, raw=raw), tmp_path / "out", show_progress=False)
