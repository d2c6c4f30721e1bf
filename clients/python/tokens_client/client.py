"""``TokenEngine``: the engine's service API (``/v1``) for a page or a service."""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Optional, TypeVar, Union
from urllib.parse import quote, urlencode

from ._version import __version__
from ._http import exchange
from .dashboard import Dashboard
from .errors import TokenEngineError, UsageNotSettled
from .gate import Gate
from .models import Account, Check, Feature, Hold, LedgerPage, Plan, Release, UsageAccepted, UsageStatus
from .retry import RetryEvent, RetryPolicy

log = logging.getLogger("tokens_client")

T = TypeVar("T")
When = Union[datetime, str, int, float]


def _segment(value: str) -> str:
    return quote(value, safe="")


def _instant(value: When) -> str:
    """An occurredAt for the engine; a naive datetime is refused rather than guessed to be local or UTC."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, timezone.utc)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("occurred_at must be an aware datetime (datetime.now(timezone.utc)), epoch seconds, or an ISO-8601 string")
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TokenEngine:
    """A client of one token engine, safe to share between threads (each call is one or more HTTP requests).

    ``base_url`` is where the engine answers (``http://tokens.internal:3000``), ``api_key`` one of its
    ``TOKENS_API_KEYS``. ``timeout`` bounds each network wait of one attempt, in seconds. ``retry`` says
    how refusals that pass with time are sent again (:class:`RetryPolicy`; ``RetryPolicy.never()`` to
    raise at once), and ``on_retry`` is called before each wait (to log or count them).

    Every refusal is raised as :class:`TokenEngineError` with the contract's ``code``, ``status`` and
    ``message``; expected outcomes are values (a check that is not allowed, a use that was rejected).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float = 10.0,
        *,
        retry: Optional[RetryPolicy] = None,
        on_retry: Optional[Callable[[RetryEvent], None]] = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        if not api_key:
            raise ValueError("api_key is required: one of the engine's TOKENS_API_KEYS")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry if retry is not None else RetryPolicy()
        self.on_retry = on_retry
        self._api_key = api_key
        self._random = random.Random()

    def __repr__(self) -> str:
        return f"TokenEngine({self.base_url!r})"  # never the key

    # Gating a feature ---------------------------------------------------------------------------------

    def check(self, user_id: str, feature: str, reserve: bool = False, ttl_seconds: Optional[int] = None) -> Check:
        """Whether ``user_id`` may use ``feature`` now, at what cost (``POST /v1/check``).

        With ``reserve=True`` and allowed, the cost is held for this use until it is recorded with
        ``reservation_id=check.reservation_id``, released, or ``ttl_seconds`` pass (default 300). A check
        that reserves is never sent twice on a connection that may have reached the engine.
        """
        body: dict[str, Any] = {"userId": user_id, "feature": feature}
        if reserve:
            body["reserve"] = True
        if ttl_seconds is not None:
            body["ttlSeconds"] = ttl_seconds
        return self._call("POST", "/v1/check", body, Check.from_json, repeatable=not reserve)

    def release(self, reservation_id: str) -> Release:
        """Gives a hold's tokens back (``DELETE /v1/reservations/{id}``); releasing twice is fine.

        Raises ``reservation_closed`` (409) if the hold was already used or expired.
        """
        return self._call("DELETE", f"/v1/reservations/{_segment(reservation_id)}", None, Release.from_json)

    def gate(
        self,
        user_id: str,
        feature: str,
        *,
        idempotency_key: str,
        metadata: Optional[Mapping[str, Any]] = None,
        ttl_seconds: Optional[int] = None,
    ) -> Gate:
        """Charges one use of ``feature`` for what the ``with`` block does, only if it succeeds::

            with engine.gate(user_id, "resume_upload", idempotency_key=f"resume:{upload_id}") as allowed:
                if not allowed:
                    show(allowed.message)   # not enough tokens, ...; nothing is held or charged
                else:
                    analyse(upload)         # the cost is held meanwhile

        On entry the cost is reserved. When the block ends normally the use is recorded under
        ``idempotency_key``, spending the hold at the price quoted on entry; when it raises, the hold is
        released and the exception goes on. See :class:`~tokens_client.gate.Allowance`.
        """
        return Gate(self, user_id, feature, idempotency_key, metadata, ttl_seconds)

    # Reporting uses ------------------------------------------------------------------------------------

    def record_usage(
        self,
        user_id: str,
        feature: str,
        idempotency_key: str,
        occurred_at: Optional[When] = None,
        reservation_id: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> UsageAccepted:
        """Reports one use (``POST /v1/usage``); it is queued and applied once, whatever the retries.

        ``idempotency_key`` names the use: sending the same use again (a retry, a replayed job) with the
        same key and the same fields is accepted and charged once; the same key with other fields is
        refused (``idempotency_conflict``). ``occurred_at`` (an aware datetime, epoch seconds or ISO-8601;
        default: when the engine accepts it) sets the price it is charged at. ``reservation_id`` spends
        a hold from :meth:`check` instead of the balance. Follow it with :meth:`wait_for_usage` to learn
        whether it was applied or rejected.
        """
        body: dict[str, Any] = {"userId": user_id, "feature": feature, "idempotencyKey": idempotency_key}
        if occurred_at is not None:
            body["occurredAt"] = _instant(occurred_at)
        if reservation_id is not None:
            body["reservationId"] = reservation_id
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return self._call("POST", "/v1/usage", body, UsageAccepted.from_json)

    def usage_status(self, idempotency_key: str) -> UsageStatus:
        """Where a reported use stands (``GET /v1/usage/{key}``): queued, applied or rejected."""
        return self._call("GET", f"/v1/usage/{_segment(idempotency_key)}", None, UsageStatus.from_json)

    def wait_for_usage(self, idempotency_key: str, timeout: float = 10.0, interval: float = 0.05) -> UsageStatus:
        """Polls :meth:`usage_status` until the use is applied or rejected; raises :class:`UsageNotSettled` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        pause = interval
        while True:
            status = self.usage_status(idempotency_key)
            if status.settled:
                return status
            if time.monotonic() + pause > deadline:
                raise UsageNotSettled(idempotency_key, timeout)
            time.sleep(pause)
            pause = min(pause * 1.5, 1.0)

    # Accounts and catalog ------------------------------------------------------------------------------

    def create_account(self, user_id: str, plan: Optional[str] = None, email: Optional[str] = None) -> Account:
        """Opens an account with its first period allocated (``POST /v1/accounts``; default plan ``free_starter``).

        An account that exists already is returned as it is (nothing more is granted).
        """
        body: dict[str, Any] = {"userId": user_id}
        if plan is not None:
            body["plan"] = plan
        if email is not None:
            body["email"] = email
        return self._call("POST", "/v1/accounts", body, Account.from_json)

    def account(self, user_id: str) -> Account:
        """Balance, holds, plan, period, use this period and warning (``GET /v1/accounts/{userId}``)."""
        return self._call("GET", f"/v1/accounts/{_segment(user_id)}", None, Account.from_json)

    def dashboard(self, user_id: str) -> Dashboard:
        """The user's token dashboard: use, renewal, most used features, recommendations."""
        return self._call("GET", f"/v1/accounts/{_segment(user_id)}/dashboard", None, Dashboard.from_json)

    def ledger(self, user_id: str, limit: Optional[int] = None, cursor: Optional[str] = None) -> LedgerPage:
        """One page of the account's ledger, newest first (``limit`` up to 500, default 50)."""
        query = urlencode({k: v for k, v in (("limit", limit), ("cursor", cursor)) if v is not None})
        return self._call("GET", f"/v1/accounts/{_segment(user_id)}/ledger" + (f"?{query}" if query else ""), None, LedgerPage.from_json)

    def holds(self, user_id: str) -> list[Hold]:
        """The account's open holds (``GET /v1/accounts/{userId}/holds``)."""
        return self._call("GET", f"/v1/accounts/{_segment(user_id)}/holds", None, lambda j: [Hold.from_json(h) for h in j["holds"]])

    def features(self) -> list[Feature]:
        """The catalog: every feature with its cost in force now and its tier."""
        return self._call("GET", "/v1/features", None, lambda j: [Feature.from_json(f) for f in j["features"]])

    def plans(self) -> list[Plan]:
        return self._call("GET", "/v1/plans", None, lambda j: [Plan.from_json(p) for p in j["plans"]])

    # Transport -----------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Optional[Mapping[str, Any]], read: Callable[[Any], T], repeatable: bool = True) -> T:
        """Sends until answered or out of attempts; the body (and so its idempotency key) is the same each time."""
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": f"tokens-client-python/{__version__}",
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        policy = self.retry
        deadline = time.monotonic() + policy.max_elapsed
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = exchange(method, self.base_url + path, path.split("?", 1)[0], headers, payload, self.timeout)
                break
            except TokenEngineError as error:
                error.attempts = attempt
                if attempt >= policy.max_attempts or not policy.retries(error, repeatable):
                    raise
                delay = policy.delay(attempt, error.retry_after, self._random)
                if time.monotonic() + delay > deadline:
                    raise
                event = RetryEvent(method, error.path or path, attempt, delay, error)
                log.info("tokens_client: %s refused (%s); sending it again in %.2f s", f"{method} {event.path}", error.code, delay)
                if self.on_retry is not None:
                    self.on_retry(event)
                time.sleep(delay)
        try:
            return read(answer.body)
        except (KeyError, TypeError, ValueError) as error:
            raise TokenEngineError("unexpected_response", f"HTTP {answer.status} with a body this client cannot read: {error!r}", answer.status, None, None, method, path) from error
