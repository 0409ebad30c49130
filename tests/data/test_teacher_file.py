import json

import pytest

from rdistill.data.example import Example
from rdistill.data.teacher_file import attach_teacher_jsonl, read_teacher_jsonl
from rdistill.errors import DataError


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _examples():
    return [Example(uid=u, fields={"premise": "p", "hypothesis": "h"}, label="neutral") for u in "abc"]


def test_attach_by_uid_counts_rows_without_a_rationale(tmp_path):
    path = _write(tmp_path / "t.jsonl", [{"uid": "a", "rationale": "r1", "label": "neutral", "teacher": "gemma"},
                                         {"uid": "c", "rationale": "r3", "label": None}])
    result = attach_teacher_jsonl(_examples(), path)
    a, b, c = result.examples
    assert a.rationales[0].teacher == "gemma" and a.rationales[0].text == "r1"
    assert b.rationales == ()
    assert c.rationales[0].teacher == "t" and c.rationales[0].label is None
    assert result.counts == {"teacher label parsed": 1, "teacher label unparseable": 1,
                             "no teacher rationale": 1}


@pytest.mark.parametrize("row, message", [
    ("{not json", "line 2: not valid JSON"),
    ({"rationale": "r"}, "line 2: field 'uid'"),
    ({"uid": "b", "rationale": ""}, "line 2: field 'rationale'"),
    ({"uid": "b", "rationale": "r", "label": 1}, "line 2: field 'label'"),
    ({"uid": "a", "rationale": "r"}, "line 2: uid 'a' appears twice"),
])
def test_bad_rows_name_file_line_and_field(tmp_path, row, message):
    path = _write(tmp_path / "t.jsonl", [{"uid": "a", "rationale": "r"}, row])
    with pytest.raises(DataError, match=message):
        read_teacher_jsonl(path)


def test_unknown_uid_is_an_error(tmp_path):
    path = _write(tmp_path / "t.jsonl", [{"uid": "zzz", "rationale": "r"}])
    with pytest.raises(DataError, match="not in the data, e.g. 'zzz'"):
        attach_teacher_jsonl(_examples(), path)
