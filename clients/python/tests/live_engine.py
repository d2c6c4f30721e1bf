"""A real token engine for the client's tests: its own OS process, database, Redis prefix and keys.

Each test class starts one (``LiveEngine(...).start()``) and closes it at the end, which stops the
process and drops its database and Redis keys. Nothing of the engine is mocked.
"""

from __future__ import annotations

import collections
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple, TypeVar
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "clients" / "python"))

from tokens_client import RetryPolicy, TokenEngine  # noqa: E402

PG_URL = os.environ.get("TEST_PG_URL", "postgres://127.0.0.1:5432")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
T = TypeVar("T")


_built = False


def engine_command() -> List[str]:
    """What ``npm start`` runs, without npm in between (so SIGTERM reaches the engine itself): the build in dist/.

    The build is brought up to date once per run, as the engine's own test setup does (under a second
    when nothing changed). ``TOKENS_ENGINE_COMMAND`` runs something else (an installed copy).
    """
    global _built
    if os.environ.get("TOKENS_ENGINE_COMMAND"):
        return shlex.split(os.environ["TOKENS_ENGINE_COMMAND"])
    if not _built:
        build = subprocess.run(["node", "scripts/build.mjs"], cwd=ROOT, capture_output=True, text=True)
        if build.returncode != 0:
            raise RuntimeError(f"node scripts/build.mjs failed; the client's tests start what it builds:\n{build.stdout}{build.stderr}")
        _built = True
    return ["node", "dist/src/main.js"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Optional[T]], what: str, timeout: float = 10.0, interval: float = 0.025) -> T:
    """Polls ``check`` until it returns something other than None/False; fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Optional[BaseException] = None
    while True:
        try:
            value = check()
            if value is not None and value is not False:
                return value
        except Exception as error:  # noqa: BLE001 - kept for the failure message
            last = error
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}" + (f": {last!r}" if last else ""))
        time.sleep(interval)


def call(base_url: str, key: Optional[str], method: str, path: str, body: Any = None, timeout: float = 10.0) -> Tuple[int, Any]:
    """A raw request (for admin calls and health), answering (status, parsed body)."""
    headers = {"Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw, status = response.read(), response.status
    except urllib.error.HTTPError as refusal:
        raw, status = refusal.read(), refusal.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")


class LiveEngine:
    """One engine process. ``roles`` as ``TOKENS_ROLES``; ``env`` adds to or overrides the test settings."""

    def __init__(self, roles: str = "api,workers", env: Optional[Dict[str, str]] = None, *, share: Optional["LiveEngine"] = None) -> None:
        run_id = f"{int(time.time() * 1000):x}_{secrets.token_hex(4)}"
        self.owner = share is None
        self.database: str = share.database if share else f"tokens_test_py_{run_id}"
        self.prefix: str = share.prefix if share else f"tt_py_{run_id}"
        self.api_key: str = share.api_key if share else f"py-api-{secrets.token_hex(8)}"
        self.admin_key: str = share.admin_key if share else f"py-admin-{secrets.token_hex(8)}"
        base = dict(share.env) if share else {
            "DATABASE_URL": f"{PG_URL}/{self.database}",
            "REDIS_URL": REDIS_URL,
            "TOKENS_QUEUE_PREFIX": self.prefix,
            "TOKENS_API_KEYS": self.api_key,
            "TOKENS_ADMIN_KEYS": self.admin_key,
            "TOKENS_TEST_CLOCK": "on",
            "HOST": "127.0.0.1",
            "PORT": "0",
        }
        self.env: Dict[str, str] = {**base, **(env or {}), "TOKENS_ROLES": roles}
        self.roles = roles
        self.port: Optional[int] = None
        self.output: Deque[str] = collections.deque(maxlen=400)
        self._process: Optional[subprocess.Popen[str]] = None
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        assert self.port is not None, "this process has no api role"
        return f"http://127.0.0.1:{self.port}"

    def client(self, **options: Any) -> TokenEngine:
        return TokenEngine(self.base_url, self.api_key, **options)

    def raw_client(self) -> TokenEngine:
        """A client that sends each request once."""
        return self.client(retry=RetryPolicy.never())

    def start(self, timeout: float = 60.0) -> "LiveEngine":
        # The readiness line is logged at info; the rest of the output is kept for a failure's message.
        env = {**os.environ, "LOG_LEVEL": "info", **self.env}
        self._process = subprocess.Popen(
            engine_command(), cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace",
        )
        threading.Thread(target=self._read, args=(self._process,), daemon=True).start()
        if not self._ready.wait(timeout) or self._process.poll() is not None:
            self.stop()
            raise RuntimeError(f"the engine ({self.roles}) did not start:\n" + "\n".join(self.output))
        if self.port is not None:
            wait_for(lambda: call(self.base_url, None, "GET", "/health", timeout=2)[0] == 200, "/health to answer 200", timeout)
        return self

    def _read(self, process: "subprocess.Popen[str]") -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line.rstrip())
            if "token engine running" in line:
                try:
                    self.port = json.loads(line).get("port")
                except ValueError:
                    pass
                self._ready.set()

    def also(self, roles: str, env: Optional[Dict[str, str]] = None) -> "LiveEngine":
        """Another process of this engine (same database, prefix, keys) with other roles; not yet started."""
        return LiveEngine(roles, env, share=self)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (the engine drains), then SIGKILL if it has not exited within ``timeout`` s."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"\nthe engine ({self.roles}) did not drain within {timeout:g} s of SIGTERM; killed", file=sys.stderr)
            process.kill()
            process.wait(5)

    def close(self) -> None:
        """Stops the process; the engine that owns the database also drops it and its Redis keys."""
        self.stop()
        if self.owner:
            drop_database(self.database)
            forget_redis_prefix(self.env["REDIS_URL"], self.prefix)

    # Admin calls the tests make (the client is a service client: it has no admin key).
    def admin(self, method: str, path: str, body: Any = None) -> Tuple[int, Any]:
        return call(self.base_url, self.admin_key, method, path, body)

    def grant(self, user_id: str, tokens: int, reason: str = "test") -> None:
        status, body = self.admin("POST", f"/admin/api/accounts/{user_id}/grants", {"tokens": tokens, "reason": reason})
        assert status == 201, body


def _maintenance_url() -> str:
    parts = urlsplit(PG_URL)
    user = parts.username or "postgres"
    return f"postgres://{user}@{parts.hostname}:{parts.port or 5432}/postgres"


def drop_database(name: str) -> None:
    subprocess.run(
        ["psql", _maintenance_url(), "-qc", f'drop database if exists "{name}" with (force)'],
        check=True, capture_output=True, timeout=30,
    )


def forget_redis_prefix(redis_url: str, prefix: str) -> None:
    try:
        found = subprocess.run(["redis-cli", "-u", redis_url, "--scan", "--pattern", f"{prefix}:*"], check=True, capture_output=True, text=True, timeout=30)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return  # a private Redis already gone takes its keys with it
    keys = found.stdout.split()
    for i in range(0, len(keys), 500):
        subprocess.run(["redis-cli", "-u", redis_url, "del", *keys[i:i + 500]], check=True, capture_output=True, timeout=30)
