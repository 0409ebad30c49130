"""``rdistill teach``: the teach recipe, its data, prompt and teacher files, server settings, outputs."""

from __future__ import annotations

import pytest
import yaml

from .conftest import DELETE, check_refused, cases, esnli_rows, jsonl, set_dotted


def teach_dict(c) -> dict:
    return {"name": "toy-teach", "task": "esnli",
            "data": {"file": str(c.data()), "dev_size": 4, "test_size": 6, "split_by": "row", "limit": 2},
            "prompt": {"shots": 1}, "generation": {"max_tokens": 4},
            "teacher": {"backend": "local", "model": str(c.model_dir), "batch_size": 2}}


def with_tmp(value, tmp):
    """``{tmp}`` in the strings of ``value`` (nested lists and mappings too) -> the case's folder."""
    if isinstance(value, str):
        return value.format(tmp=tmp)
    if isinstance(value, list):
        return [with_tmp(v, tmp) for v in value]
    if isinstance(value, dict):
        return {k: with_tmp(v, tmp) for k, v in value.items()}
    return value


def teach(edits: dict | None = None, *extra: str, files: dict | None = None):
    """``teach`` of the toy recipe with ``edits`` (values may use ``{tmp}``) into OUT/teach."""
    def build(c):
        raw = teach_dict(c)
        for name, content in (files or {}).items():
            c.write(name, content)
        for key, value in (edits or {}).items():
            set_dotted(raw, key, with_tmp(value, c.tmp))
        config = c.write("teach.yaml", yaml.safe_dump(raw))
        return ["teach", str(config), "--output-dir", str(c.tmp / "out" / "teach"),
                *[a.format(tmp=c.tmp) for a in extra]]
    return build


def server(**teacher):
    settings = {"backend": "openai", "base_url": "http://127.0.0.1:8000/v1", "model": "m", **teacher}
    return teach({"teacher": {k: v for k, v in settings.items() if v is not DELETE}})


def file_teacher(content: str | bytes, name: str = "t.jsonl"):
    # rows: all with limit 2 annotates data:0 and data:1, the uids these files name
    return teach({"teacher": {"backend": "file", "files": [f"{{tmp}}/{name}"]}, "data.rows": "all"},
                 files={name: content})


TEACH = cases(
    ("config-missing", lambda c: ["teach", str(c.tmp / "nope.yaml"), "--output-dir", str(c.tmp / "o")],
     "nope.yaml"),
    ("config-empty", lambda c: ["teach", str(c.write("t.yaml", "")), "--output-dir", str(c.tmp / "o")], "t.yaml",
     "empty"),
    ("config-binary", lambda c: ["teach", str(c.write("t.yaml", bytes(range(256)))), "--output-dir",
                                 str(c.tmp / "o")], "t.yaml", "not UTF-8"),
    ("config-a-list", lambda c: ["teach", str(c.write("t.yaml", "[1, 2]")), "--output-dir", str(c.tmp / "o")],
     "mapping"),
    ("no-teacher-section", teach({"teacher": DELETE}), "teacher"),
    ("unknown-backend", teach({"teacher.backend": "gpt"}), "teacher", "'gpt'"),
    ("unknown-task", teach({"task": "snli"}), "task", "'snli'"),
    ("unknown-key", teach({"prompt.shotz": 2}), "prompt.shotz: unknown key"),
    ("negative-shots", teach({"prompt.shots": -1}), "prompt.shots", "-1"),
    ("bool-shots", teach({"prompt.shots": True}), "prompt.shots", "True"),
    ("bool-max-tokens", teach({"generation.max_tokens": True}), "generation.max_tokens", "True"),
    ("bool-limit", teach({"data.limit": True}), "data.limit", "True"),
    ("negative-temperature", teach({"generation.temperature": -0.5}), "generation.temperature"),
    ("stop-not-a-list", teach({"generation.stop": 5}), "generation.stop"),
    ("bad-chat-mode", teach({"prompt.chat": "always"}), "prompt.chat", "'always'"),
    ("bad-rows", teach({"data.rows": "test"}), "data.rows", "'test'"),
    ("local-batch-size-zero", teach({"teacher.batch_size": 0}), "teacher.local.batch_size"),
    ("local-bad-dtype", teach({"teacher.dtype": "int8"}), "teacher.local.dtype"),
    ("local-model-missing", teach({"teacher.model": "{tmp}/no-model"}), "no-model"),
    ("set-bad-yaml", teach(None, "--set", "prompt.shots=[1"), "prompt.shots=[1", "not valid YAML"),
    ("set-unknown-key", teach(None, "--set", "generation.top_p=0.9"), "generation.top_p: unknown key"),
    ("data-file-missing", teach({"data.file": "{tmp}/nope.jsonl"}), "nope.jsonl"),
    ("data-file-empty", teach({"data.file": "{tmp}/e.jsonl"}, files={"e.jsonl": ""}), "e.jsonl", "no rows"),
    ("data-file-bad-row", teach({"data.file": "{tmp}/b.jsonl"},
                                files={"b.jsonl": jsonl(esnli_rows(3) + [{"premise": "x"}])}), "b.jsonl", "line 4"),
    ("data-file-latin-1", teach({"data.file": "{tmp}/b.jsonl"},
                                files={"b.jsonl": '{"premise": "caf\xe9"}\n'.encode("latin-1")}), "b.jsonl",
     "not UTF-8"),
    ("data-relative-without-data-dir", teach({"data.file": "esnli/x.jsonl"}), "esnli/x.jsonl", "--data-dir"),
    ("template-missing", teach({"prompt.template": "{tmp}/nope.txt"}), "nope.txt"),
    ("template-latin-1", teach({"prompt.template": "{tmp}/t.txt"}, files={"t.txt": "caf\xe9".encode("latin-1")}),
     "t.txt", "not UTF-8"),
    ("output-dir-is-a-file", lambda c: teach()(c)[:-1] + [str(c.write("f.txt", "x"))], "f.txt"),
    ("output-dir-under-a-file", lambda c: teach()(c)[:-1] + [str(c.write("f.txt", "x") / "o")], "f.txt"),
    ("file-teacher-missing", teach({"teacher": {"backend": "file", "files": ["{tmp}/nope.jsonl"]}}), "nope.jsonl"),
    ("file-teacher-no-files", teach({"teacher": {"backend": "file", "files": []}}), "teacher.file.files"),
    ("file-teacher-truncated", file_teacher('{"uid": "data:0", "raw": "a dog'), "t.jsonl", "line 1"),
    ("file-teacher-no-uid", file_teacher(jsonl([{"raw": "x"}])), "t.jsonl", "line 1", "uid"),
    ("file-teacher-neither-raw-nor-rationale", file_teacher(jsonl([{"uid": "data:0"}])), "t.jsonl", "line 1",
     "raw"),
    ("file-teacher-label-a-number", file_teacher(jsonl([{"uid": "data:0", "rationale": "r", "label": 2}])),
     "t.jsonl", "line 1", "label"),
    ("file-teacher-palm-too-short", file_teacher('["a.\\nAnswer: neutral"]', name="t.json"), "t.json", "40"),
    ("file-teacher-latin-1", file_teacher('{"uid": "caf\xe9"}\n'.encode("latin-1")), "t.jsonl", "not UTF-8"),
)

SERVER = cases(
    ("base-url-not-a-url", server(base_url="notaurl"), "teacher.openai.base_url", "'notaurl'"),
    ("base-url-no-scheme", server(base_url="127.0.0.1:8000/v1"), "teacher.openai.base_url"),
    ("base-url-ftp", server(base_url="ftp://127.0.0.1/v1"), "teacher.openai.base_url", "ftp"),
    ("base-url-empty", server(base_url=""), "teacher.openai.base_url"),
    ("base-url-port-out-of-range", server(base_url="http://127.0.0.1:99999/v1"), "teacher.openai.base_url",
     "99999"),
    ("base-url-port-not-a-number", server(base_url="http://127.0.0.1:eighty/v1"), "teacher.openai.base_url"),
    ("base-url-missing", server(base_url=DELETE), "teacher.openai.base_url"),
    ("model-missing", server(model=DELETE), "teacher.openai.model"),
    ("api-key-env-unset", server(api_key_env="RDISTILL_TEST_NO_SUCH_KEY"), "RDISTILL_TEST_NO_SUCH_KEY"),
    ("concurrency-zero", server(concurrency=0), "teacher.openai.concurrency"),
    ("timeout-zero", server(timeout_s=0), "teacher.openai.timeout_s"),
    ("timeout-bool", server(timeout_s=True), "teacher.openai.timeout_s", "True"),
    ("retries-negative", server(max_retries=-1), "teacher.openai.max_retries"),
    ("endpoint-unknown", server(endpoint="embeddings"), "teacher.openai.endpoint", "'embeddings'"),
)


@pytest.mark.parametrize("case", TEACH + SERVER)
def test_teach_refuses(case, cli, ctx, monkeypatch):
    monkeypatch.delenv("RDISTILL_TEST_NO_SUCH_KEY", raising=False)
    check_refused(cli, ctx, case.build, case.needles)
