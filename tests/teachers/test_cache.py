import multiprocessing as mp
import sqlite3

from rdistill.teachers.cache import Result, TeacherCache, request_key


def test_key_depends_on_teacher_prompt_and_settings():
    k = request_key("local:m", "prompt", {"max_tokens": 8})
    assert k == request_key("local:m", "prompt", {"max_tokens": 8}) and len(k) == 64
    assert k != request_key("local:n", "prompt", {"max_tokens": 8})
    assert k != request_key("local:m", "prompt!", {"max_tokens": 8})
    assert k != request_key("local:m", "prompt", {"max_tokens": 9})


def test_results_accumulate_attempts_and_done_is_final(tmp_path):
    with TeacherCache(tmp_path / "c.sqlite") as cache:
        assert cache.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        cache.begin("k", "t", "u1", "p", {})
        cache.finish(Result("k", "failed", attempts=3, error="HTTP 500"))
        assert cache.done(["k"]) == {} and cache.get("k")["attempts"] == 3
        cache.begin("k", "t", "u1", "p", {})
        assert cache.get("k")["status"] == "pending"
        cache.finish(Result("k", "done", raw="out", prompt_tokens=5, completion_tokens=2, latency_s=0.1))
        cache.begin("k", "t", "u1", "p", {})  # a late duplicate request does not reopen it ...
        cache.finish(Result("k", "failed", error="x"))  # ... nor overwrite the answer
        row = cache.get("k")
        assert (row["status"], row["raw"], row["attempts"]) == ("done", "out", 4)


def _writer(path, start, n):
    with TeacherCache(path) as cache:
        for i in range(start, start + n):
            key = f"k{i}"
            cache.begin(key, "t", str(i), "prompt " * 50, {"max_tokens": 8})
            cache.finish(Result(key, "done", raw=f"answer {i}", latency_s=0.0))


def test_two_processes_write_concurrently_without_corruption(tmp_path):
    path = tmp_path / "c.sqlite"
    TeacherCache(path).close()
    ctx = mp.get_context("spawn")
    # Overlapping key ranges: both processes write keys 150..199.
    procs = [ctx.Process(target=_writer, args=(path, 0, 200)), ctx.Process(target=_writer, args=(path, 150, 200))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT COUNT(*), SUM(status = 'done') FROM requests").fetchone() == (350, 350)
    rows = dict(conn.execute("SELECT key, raw FROM requests"))
    assert all(rows[f"k{i}"] == f"answer {i}" for i in range(350))
