"""A redis-server of the test's own, on a free port, for tests that stop it (the shared one is never touched)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from typing import Optional

from live_engine import free_port

# What the engine asks of a Redis that holds queued usage (docs/failure-behaviour.md).
DURABLE = ["--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction"]


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="tokens-py-redis-")
        self.url = f"redis://127.0.0.1:{self.port}"
        self._process: Optional[subprocess.Popen[bytes]] = None

    def start(self, timeout: float = 10.0) -> "PrivateRedis":
        """Starts it (again: same port, same directory, so its append-only file is read back)."""
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", "", *DURABLE],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not self._pong():
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError(f"private redis on {self.port} did not start")
            time.sleep(0.02)
        return self

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final save."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(5)

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
