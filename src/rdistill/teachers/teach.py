"""``rdistill teach``: load rows, prompt a teacher through the cache, write the teacher file.

Output (both written atomically, so a crash never leaves a half file):

- ``rationales.jsonl``: one line per selected row, in data order, with ``uid``,
  ``teacher``, ``rationale``, ``label`` (null when unparsed or failed), ``raw``,
  ``prompt_hash`` (the cache key), ``tokens`` ({prompt, completion}), ``latency_s``,
  ``status`` (parsed / unparsed / failed) and ``usable`` (what training may use:
  parsed rows, plus unparsed ones with ``output.keep_unparsed``). It is the JSON-lines
  teacher file ``data.teacher_files`` accepts.
- ``teach_summary.json``: counts, accuracy against gold, tokens and time spent.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from rdistill.data.example import Example
from rdistill.data.paths import resolve_data_path
from rdistill.tasks.registry import get_task, load_dataset_file
from rdistill.data.splits import split_examples
from rdistill.io import check_writable, write_json_atomic, write_text_atomic
from rdistill.teachers.backend_file import file_outputs
from rdistill.teachers.cache import Result, TeacherCache, request_key
from rdistill.teachers.config import FileTeacher, LocalTeacher, TeachConfig, teacher_id, teacher_name
from rdistill.teachers.parsing import answers_match, parse_teacher_output
from rdistill.teachers.prompts import Template, load_template, render, select_shots, shots_for, strip_cue

log = logging.getLogger(__name__)
RATIONALES = "rationales.jsonl"
SUMMARY = "teach_summary.json"
CACHE = "teacher_cache.sqlite"
FAILED_EXAMPLES = 5  # failed rows whose reasons the summary keeps


def select_rows(cfg: TeachConfig, data_dir: str | None) -> tuple[list[Example], list[Example], int]:
    """``(rows to annotate, training rows for shots, rows in the data file)``.

    The split is the training recipe's (same sizes, seed and grouping), so the shots
    are training rows and never rows that the student is evaluated on.
    """
    d = cfg.data
    path = resolve_data_path(d.file, data_dir)
    loaded = load_dataset_file(d.dataset, path, skip_invalid=d.skip_invalid)
    examples = loaded.examples
    group = (lambda ex: ex.fields["premise"]) if d.split_by == "premise" else None
    if group and examples and "premise" not in examples[0].fields:
        group = None  # tasks without a premise split by row
    train, _dev, _test = split_examples(examples, dev_size=d.dev_size, test_size=d.test_size,
                                        seed=d.seed, group_key=group)
    if d.rows == "train":
        # Split order, as a training recipe takes them: limit N annotates exactly the rows
        # that data.train_size: N trains on.
        rows = list(train)
    else:
        rows = list(examples)
    return rows[: d.limit] if d.limit else rows, train, loaded.n_read


def _make_backend(cfg: TeachConfig):
    if isinstance(cfg.teacher, LocalTeacher):
        from rdistill.teachers.backend_local import LocalBackend

        return LocalBackend(cfg.teacher, cfg.generation, chat=cfg.prompt.chat)
    from rdistill.teachers.backend_openai import OpenAIBackend

    return OpenAIBackend(cfg.teacher, cfg.generation, chat=cfg.prompt.chat, seed=cfg.prompt.shot_seed)


def _record(ex: Example, cfg: TeachConfig, name: str, template: Template | None, *, raw: str | None,
            key: str | None, row: dict[str, Any] | None, rationale: str | None = None,
            label: str | None = None) -> dict[str, Any]:
    if raw is not None:
        rationale, label = parse_teacher_output(raw, cfg.task)
        if template is not None:
            rationale = strip_cue(rationale, template)
    labels = get_task(cfg.task).labels
    if label is not None and labels and label.strip().lower() not in labels:
        label = None  # a teacher file's answer outside the task's labels is no answer, as in raw text
    status = "failed" if raw is None and rationale is None else "parsed" if label else "unparsed"
    if status == "parsed" and not rationale:
        status, label = "unparsed", None
    usable = status == "parsed" or (status == "unparsed" and bool(rationale) and cfg.output.keep_unparsed)
    row = row or {}
    return {"uid": ex.uid, "teacher": name, "rationale": rationale or "", "label": label, "raw": raw,
            "prompt_hash": key, "tokens": {"prompt": row.get("prompt_tokens"),
                                           "completion": row.get("completion_tokens")},
            "latency_s": row.get("latency_s"), "status": status, "usable": usable,
            "gold": ex.label, "attempts": row.get("attempts")}


def _ask_teacher(cfg: TeachConfig, rows: list[Example], train: list[Example], cache_path: Path,
                 show_progress: bool) -> tuple[list[dict], dict[str, Any]]:
    template = load_template(cfg.task, cfg.prompt.template)
    pool = select_shots(train, cfg.prompt.shots, cfg.prompt.shot_seed)
    backend = _make_backend(cfg)
    tid, settings = teacher_id(cfg), cfg.generation.model_dump()
    keys, payloads = {}, {}
    for ex in rows:
        prompt = render(template, ex, shots_for(ex, pool, cfg.prompt.shots))
        payload = list(prompt.messages) if backend.chat else prompt.text
        keys[ex.uid] = key = request_key(tid, payload, settings)
        payloads.setdefault(key, (ex.uid, payload))
    name = teacher_name(cfg)
    stats: dict[str, Any] = {"requested": 0, "failed_this_run": 0}
    with TeacherCache(cache_path) as cache:
        done = cache.done(list(payloads))
        jobs = [(k, p) for k, (_, p) in payloads.items() if k not in done]
        stats["from_cache"] = len(payloads) - len(jobs)
        log.info("teach: %d distinct prompts, %d cached, %d to ask %s", len(payloads),
                 stats["from_cache"], len(jobs), name)
        bar = tqdm(total=len(jobs), desc=f"teach {name}", unit="row", disable=not show_progress)

        def on_start(key: str) -> None:
            cache.begin(key, tid, payloads[key][0], payloads[key][1], settings)

        def on_result(result: Result) -> None:
            cache.finish(result)
            stats["requested"] += 1
            stats["failed_this_run"] += result.status == "failed"
            bar.update(1)

        start = time.perf_counter()
        if jobs:
            backend.run(jobs, on_start, on_result)
        bar.close()
        stats["wall_s"] = time.perf_counter() - start
        stored = {k: cache.get(k) for k in payloads}
    records = []
    for ex in rows:
        row = stored[keys[ex.uid]] or {}
        raw = row.get("raw") if row.get("status") == "done" else None
        records.append(_record(ex, cfg, name, template, raw=raw, key=keys[ex.uid],
                               row=row if raw is not None else {"attempts": row.get("attempts")}))
    stats["failed_examples"] = [{"uid": ex.uid, "error": (stored[keys[ex.uid]] or {}).get("error") or "not answered"}
                                for ex, r in zip(rows, records) if r["status"] == "failed"][:FAILED_EXAMPLES]
    stats["shot_uids"] = [s.uid for s in pool[: cfg.prompt.shots]]
    stats["template"] = template.source
    stats["chat"] = backend.chat
    return records, stats


def _from_files(cfg: TeachConfig, rows: list[Example], n_rows: int, data_dir: str | None) -> list[dict]:
    assert isinstance(cfg.teacher, FileTeacher)
    files = [resolve_data_path(f, data_dir) for f in cfg.teacher.files]
    outputs = file_outputs(rows, files, n_rows)
    records = []
    for ex in rows:
        got = outputs.get(ex.uid, {})
        records.append(_record(ex, cfg, cfg.teacher.name, None, raw=got.get("raw"), key=None, row=None,
                               rationale=got.get("rationale"), label=got.get("label")))
    return records


def summarise(records: list[dict], cfg: TeachConfig, stats: dict[str, Any]) -> dict[str, Any]:
    status = Counter(r["status"] for r in records)
    parsed = [r for r in records if r["status"] == "parsed"]
    correct = sum(answers_match(cfg.task, r["label"], r["gold"]) for r in parsed)
    tokens = {k: sum(r["tokens"][k] or 0 for r in records) for k in ("prompt", "completion")}
    n = len(records)
    return {
        "teacher": records[0]["teacher"] if records else None, "task": cfg.task, "rows": n,
        "parsed": status["parsed"], "unparsed": status["unparsed"], "failed": status["failed"],
        "usable": sum(r["usable"] for r in records),
        "accuracy_vs_gold": correct / n if n else None,
        "accuracy_of_parsed": correct / len(parsed) if parsed else None,
        "tokens": tokens, "teacher_time_s": sum(r["latency_s"] or 0.0 for r in records), **stats,
    }


def failure_line(summary: dict[str, Any]) -> str:
    """Why ``teach`` exits 1, in one line: how many rows failed and the first reasons."""
    reasons = "; ".join(f"{f['uid']}: {' '.join(str(f['error']).split())[:160]}"
                        for f in summary.get("failed_examples", [])[:2])
    return (f"{summary['failed']} of {summary['rows']} rows failed (they are asked again on the next run)"
            + (f"; first: {reasons}" if reasons else ""))


def teach(cfg: TeachConfig, output_dir: str | Path, *, data_dir: str | None = None,
          show_progress: bool = True) -> dict[str, Any]:
    """Write ``rationales.jsonl`` and ``teach_summary.json`` into ``output_dir``; return the summary."""
    out = Path(output_dir)
    check_writable(out, "--output-dir")  # before the teacher is asked anything
    rows, train, n_rows = select_rows(cfg, data_dir)
    if isinstance(cfg.teacher, FileTeacher):
        records = _from_files(cfg, rows, n_rows, data_dir)
        stats = {"failed_examples": [{"uid": r["uid"], "error": "no output in the teacher files"}
                                     for r in records if r["status"] == "failed"][:FAILED_EXAMPLES]}
    else:
        cache_path = Path(cfg.output.cache) if cfg.output.cache else out / CACHE
        records, stats = _ask_teacher(cfg, rows, train, cache_path, show_progress)
    write_text_atomic(out / RATIONALES,
                      "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    summary = summarise(records, cfg, stats)
    write_json_atomic(out / SUMMARY, summary)
    return summary
