import email.utils
import random

import pytest

from rdistill.errors import ConfigError
from rdistill.teachers.backend_openai import OpenAIBackend, backoff_delay, parse_retry_after
from rdistill.teachers.config import GenerationSettings, OpenAITeacher


def _cfg(**kw):
    return OpenAITeacher(backend="openai", base_url="http://127.0.0.1:9/v1/", model="m", **kw)


def test_retry_after_seconds_or_http_date():
    assert parse_retry_after("2") == 2.0 and parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("-3") == 0.0
    date = email.utils.formatdate(1000.0 + 30, usegmt=True)
    assert parse_retry_after(date, now=1000.0) == pytest.approx(30.0)


def test_backoff_doubles_with_jitter_and_a_cap():
    rng = random.Random(0)
    for attempt, full in [(1, 1.0), (2, 2.0), (3, 4.0), (8, 10.0)]:
        delays = [backoff_delay(attempt, 1.0, 10.0, rng) for _ in range(200)]
        assert full / 2 <= min(delays) and max(delays) <= full
        assert max(delays) - min(delays) > full / 4  # jittered, not constant


def test_request_body_url_and_key_from_the_named_variable(monkeypatch):
    monkeypatch.setenv("RDISTILL_TEST_KEY", "sk-secret")
    settings = GenerationSettings(max_tokens=7, stop=["\n\n"])
    chat = OpenAIBackend(_cfg(api_key_env="RDISTILL_TEST_KEY"), settings)
    assert chat.url == "http://127.0.0.1:9/v1/chat/completions"
    assert chat.headers["Authorization"] == "Bearer sk-secret"
    assert chat.body([{"role": "user", "content": "hi"}]) == {
        "model": "m", "max_tokens": 7, "temperature": 0.0, "stop": ["\n\n"],
        "messages": [{"role": "user", "content": "hi"}]}
    text = OpenAIBackend(_cfg(endpoint="completions"), settings)
    assert text.url.endswith("/v1/completions") and text.body("p")["prompt"] == "p"
    assert "Authorization" not in text.headers
    monkeypatch.delenv("RDISTILL_TEST_KEY")
    with pytest.raises(ConfigError, match=r"\$RDISTILL_TEST_KEY, which is not set"):
        OpenAIBackend(_cfg(api_key_env="RDISTILL_TEST_KEY"), settings)


def test_unreachable_server_rows_fail_after_max_retries():
    backend = OpenAIBackend(_cfg(max_retries=2, backoff_base_s=0.01, timeout_s=2), GenerationSettings())
    results = []
    backend.run([("k1", [{"role": "user", "content": "x"}])], lambda k: None, results.append)
    assert [(r.key, r.status, r.attempts) for r in results] == [("k1", "failed", 3)]
    assert "ConnectError" in results[0].error
