"""The errors the client raises: the engine's refusals in the contract's terms, and failures to reach it."""

from __future__ import annotations

from typing import Any, Optional


class TokenEngineError(Exception):
    """The engine refused a request, or could not be asked.

    ``code`` is the contract's stable error code (``validation_failed``, ``unknown_feature``,
    ``account_not_found``, ``idempotency_conflict``, ``backlogged``, ``dependency_unavailable``, ...):
    branch on it, never on ``message``, which is for people. ``status`` is the HTTP status the engine
    answered with, or ``None`` when no answer came (see :class:`TokenEngineConnectionError`).
    ``details`` is whatever the engine attached (for ``validation_failed``, the fields and what is wrong
    with each). ``retry_after`` is the engine's ``Retry-After`` in seconds, when it sent one.
    ``attempts`` says how many times the request was sent before giving up.

    A refused request changed nothing in the engine: sending it again later is safe.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: Optional[int] = None,
        details: Any = None,
        retry_after: Optional[float] = None,
        method: Optional[str] = None,
        path: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details
        self.retry_after = retry_after
        self.method = method
        self.path = path
        self.attempts = 1

    @property
    def retryable(self) -> bool:
        """Whether the refusal passes with time (429 back-pressure, 503 a dependency down or a busy account)."""
        return self.status in (429, 503)

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method and self.path else ""
        status = f" (HTTP {self.status})" if self.status is not None else ""
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return f"{where}{self.code}{status}: {self.message}{tries}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, message={self.message!r})"


class TokenEngineConnectionError(TokenEngineError):
    """No answer came from the engine: refused connection, unknown host, timeout, connection cut.

    ``code`` is ``connection_failed`` and ``status`` is ``None``. ``sent`` says whether the request may
    have reached the engine (``False`` only when the connection was never made).
    """

    def __init__(self, message: str, sent: bool, method: Optional[str] = None, path: Optional[str] = None) -> None:
        super().__init__("connection_failed", message, None, None, None, method, path)
        self.sent = sent

    @property
    def retryable(self) -> bool:
        return True


class UsageNotSettled(TokenEngineError, TimeoutError):
    """:meth:`TokenEngine.wait_for_usage` gave up: the use is still queued (it will be applied later)."""

    def __init__(self, idempotency_key: str, waited: float) -> None:
        super().__init__(
            "usage_not_settled",
            f'usage "{idempotency_key}" was still queued after {waited:g} s; it stays queued and will be applied',
            details={"idempotencyKey": idempotency_key},
        )


class WebhookVerificationError(ValueError):
    """A webhook that is not the engine's, or not now: answer it with 400 and ignore its body."""
