"""When and how long the client waits before sending a refused request again."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Optional

from .errors import TokenEngineConnectionError, TokenEngineError

# Statuses a proxy in front of the engine answers when the engine may or may not have seen the request.
_MAYBE_SEEN = (502, 504)


@dataclass(frozen=True)
class RetryPolicy:
    """How a request the engine refused for now is sent again.

    Sent again: a 429 (``backlogged``: the engine's queue is full) or a 503 (``dependency_unavailable``,
    ``account_busy``) on any call, since a refused request changed nothing; and, for calls that are
    safe to repeat (reads, releases, a usage event under its idempotency key, a check without a
    reservation), a lost connection or a timeout. A ``check`` that reserves is sent again only when the
    connection was never made, so one page view never holds tokens twice.

    The wait is the engine's ``Retry-After`` when it sends one (plus up to 10 % of jitter), else an
    exponential backoff from ``base_delay`` doubling up to ``max_delay``, half of it random (so that
    many pages refused at once do not come back at once). At most ``max_attempts`` sends in all, within
    ``max_elapsed`` seconds: a wait that would end past that budget is not started, and the last
    refusal is raised at once.
    """

    max_attempts: int = 4
    max_elapsed: float = 30.0
    base_delay: float = 0.2
    max_delay: float = 5.0

    @classmethod
    def never(cls) -> "RetryPolicy":
        """Send each request once: every refusal is raised as it comes."""
        return cls(max_attempts=1)

    def retries(self, error: TokenEngineError, repeatable: bool) -> bool:
        """Whether this refusal is worth sending again (the budget aside)."""
        if isinstance(error, TokenEngineConnectionError):
            return repeatable or not error.sent
        if error.status in (429, 503):
            return True
        return repeatable and error.status in _MAYBE_SEEN

    def delay(self, attempt: int, retry_after: Optional[float], rng: random.Random) -> float:
        """Seconds to wait after the ``attempt``-th send was refused."""
        if retry_after is not None:
            return retry_after + rng.uniform(0, min(1.0, retry_after * 0.1))
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class RetryEvent:
    """Passed to ``on_retry`` before each wait: what was refused, and how long the client now waits."""

    method: str
    path: str
    attempt: int
    delay: float
    error: TokenEngineError


def parse_retry_after(value: Optional[str], now: Optional[datetime] = None) -> Optional[float]:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date (RFC 9110); ``None`` if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
