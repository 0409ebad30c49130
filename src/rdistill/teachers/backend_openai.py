"""Teacher backend: an OpenAI-compatible HTTP endpoint (``/v1/chat/completions`` or ``/v1/completions``).

``concurrency`` requests are in flight at once (asyncio + a semaphore), each with a
timeout. A request that gets 429, 5xx, a connection error, a timeout or a body that
is not the expected JSON is retried with exponential backoff and jitter; a
``Retry-After`` header sets the wait instead. After ``max_retries`` retries the row is
recorded ``failed`` (counted; asked again on the next run). The API key is read from the
environment variable *named* in the config and is never logged or stored.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from rdistill.errors import ConfigError
from rdistill.teachers.cache import Result
from rdistill.teachers.config import GenerationSettings, OpenAITeacher

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 429}) | frozenset(range(500, 600))


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: uniform in [d/2, d], d = min(cap, base * 2**(attempt-1))."""
    d = min(cap, base * 2 ** (attempt - 1))
    return d * (0.5 + 0.5 * rng.random())


class OpenAIBackend:
    def __init__(self, cfg: OpenAITeacher, settings: GenerationSettings, chat: str = "auto",
                 seed: int = 0):
        self.cfg = cfg
        self.settings = settings
        self.chat = cfg.endpoint == "chat" and chat == "auto"
        self.headers = {"Content-Type": "application/json"}
        if cfg.api_key_env:
            key = os.environ.get(cfg.api_key_env)
            if not key:
                raise ConfigError(f"teacher.api_key_env names ${cfg.api_key_env}, which is not set")
            self.headers["Authorization"] = f"Bearer {key}"
        base = cfg.base_url.rstrip("/")
        self.url = f"{base}/chat/completions" if self.chat else f"{base}/completions"
        self._rng = random.Random(seed)

    def body(self, payload: Any) -> dict[str, Any]:
        s = self.settings
        body: dict[str, Any] = {"model": self.cfg.model, "max_tokens": s.max_tokens,
                                "temperature": s.temperature}
        if s.stop:
            body["stop"] = list(s.stop)
        if self.chat:
            body["messages"] = list(payload)
        else:
            body["prompt"] = payload
        return body

    async def _once(self, client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[str, dict]:
        try:
            response = await client.post(self.url, json=body, headers=self.headers)
        except httpx.TransportError as err:  # connection refused/reset, timeouts
            raise _Retryable(f"{type(err).__name__}: {err}") from None
        if response.status_code in RETRY_STATUS:
            raise _Retryable(f"HTTP {response.status_code}: {response.text[:200]}",
                             parse_retry_after(response.headers.get("retry-after")))
        if response.status_code >= 400:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"]["content"] if self.chat else choice["text"]
            if not isinstance(text, str):
                raise TypeError("completion text is not a string")
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise _Retryable(f"malformed response ({type(err).__name__}): {response.text[:200]}") from None
        return text, data.get("usage") or {}

    async def _ask(self, client: httpx.AsyncClient, key: str, payload: Any) -> Result:
        body = self.body(payload)
        attempts = 0
        while True:
            attempts += 1
            start = time.perf_counter()
            try:
                text, usage = await self._once(client, body)
            except _Retryable as err:
                if attempts > self.cfg.max_retries:
                    return Result(key, "failed", attempts=attempts, error=str(err)[:500])
                wait = err.retry_after
                if wait is None:
                    wait = backoff_delay(attempts, self.cfg.backoff_base_s, self.cfg.backoff_max_s, self._rng)
                log.debug("retry %d of a request in %.2fs: %s", attempts, wait, err)
                await asyncio.sleep(wait)
                continue
            except RuntimeError as err:  # 4xx other than 408/429: asking again will not help now
                return Result(key, "failed", attempts=attempts, error=str(err)[:500])
            return Result(key, "done", raw=text, prompt_tokens=usage.get("prompt_tokens"),
                          completion_tokens=usage.get("completion_tokens"),
                          latency_s=time.perf_counter() - start, attempts=attempts)

    async def _run(self, jobs, on_start, on_result) -> None:
        gate = asyncio.Semaphore(self.cfg.concurrency)
        limits = httpx.Limits(max_connections=self.cfg.concurrency,
                              max_keepalive_connections=self.cfg.concurrency)
        async with httpx.AsyncClient(timeout=self.cfg.timeout_s, limits=limits) as client:
            async def one(key: str, payload: Any) -> None:
                async with gate:
                    on_start(key)
                    on_result(await self._ask(client, key, payload))

            await asyncio.gather(*(one(key, payload) for key, payload in jobs))

    def run(self, jobs: Sequence[tuple[str, Any]], on_start: Callable[[str], None],
            on_result: Callable[[Result], None]) -> None:
        """Answer ``(key, payload)`` jobs; callbacks run in this thread (the event loop's)."""
        asyncio.run(self._run(jobs, on_start, on_result))
