"""``engine.gate(...)``: a page's use of a feature, charged only if the page succeeds."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Optional, Type

from .errors import TokenEngineError
from .models import UsageAccepted, UsageStatus

if TYPE_CHECKING:
    from .client import TokenEngine

log = logging.getLogger("tokens_client")

_REFUSALS = {
    "insufficient_tokens": "Not enough tokens: {feature} costs {cost} and {balance} remain. Upgrade or wait for renewal.",
    "account_not_found": "There is no token account for this user yet.",
    "unknown_feature": "{feature} is not in the engine's catalog.",
    "feature_disabled": "{feature} is switched off for now.",
}


@dataclass
class Allowance:
    """What a gated page may do: true in a boolean context when the page may run.

    ``cost`` is what the use costs (held from entry when allowed), ``balance`` what the user can still
    spend besides it, ``reason`` why not when not allowed (``insufficient_tokens``, ``account_not_found``,
    ``unknown_feature``, ``feature_disabled``; or why the engine rejected the use already recorded under
    this key, with ``replayed`` true), and
    ``message`` a sentence for the user. A feature that costs nothing is allowed with nothing held
    (``reservation_id`` is ``None``) and its use is still recorded, so analytics count it.

    ``replayed`` is true when a use under this idempotency key was recorded already (a page rerun, a
    second tab): the page may run again and nothing more is charged. ``metadata`` may be added to during
    the block; it is recorded with the use. After a recorded use, ``usage`` is the engine's receipt.
    :meth:`cancel` ends the use without charging (the user gave up, the page decided not to run).
    """

    allowed: bool
    user_id: str
    feature: str
    idempotency_key: str
    cost: int
    balance: int
    reason: Optional[str] = None
    reservation_id: Optional[str] = None
    expires_at: Optional[datetime] = None
    replayed: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    usage: Optional[UsageAccepted] = None
    cancelled: bool = False
    _release: Optional[Callable[[Allowance], None]] = field(default=None, repr=False, compare=False)

    def __bool__(self) -> bool:
        return self.allowed

    def cancel(self) -> None:
        """Ends the use without charging: the hold is released now and nothing is recorded on leaving."""
        if self.cancelled:
            return
        self.cancelled = True
        if self.allowed and not self.replayed and self.reservation_id and self._release is not None:
            self._release(self)

    @property
    def message(self) -> str:
        if self.allowed:
            return f"{self.feature} costs {self.cost} tokens; {self.balance} remain besides."
        template = _REFUSALS.get(self.reason or "", "This feature cannot be used now ({reason}).")
        return template.format(feature=self.feature, cost=self.cost, balance=self.balance, reason=self.reason)


class Gate:
    """The context manager :meth:`TokenEngine.gate` returns; ``with`` yields an :class:`Allowance`.

    Entering asks whether a use under this key was recorded already (then nothing is held or charged
    again), else reserves the cost. Leaving normally records the use naming the hold; leaving with an
    exception (any, ``KeyboardInterrupt`` included) releases the hold and lets the exception go on;
    leaving when not allowed, or after :meth:`Allowance.cancel`, records nothing. If recording fails even after
    the client's retries, the hold is released and the error raised: send the same use again later with
    :meth:`TokenEngine.record_usage` and the same key, and it is charged once.
    """

    def __init__(
        self,
        engine: "TokenEngine",
        user_id: str,
        feature: str,
        idempotency_key: str,
        metadata: Optional[Mapping[str, Any]],
        ttl_seconds: Optional[int],
    ) -> None:
        if not idempotency_key:
            raise ValueError("idempotency_key is required: it names this use, so a retry is charged once")
        self._engine = engine
        self._user_id = user_id
        self._feature = feature
        self._key = idempotency_key
        self._metadata = dict(metadata or {})
        self._ttl = ttl_seconds
        self._allowance: Optional[Allowance] = None

    def __enter__(self) -> Allowance:
        prior = self._recorded()
        if prior is not None:
            self._allowance = self._replay(prior)
        else:
            check = self._engine.check(self._user_id, self._feature, reserve=True, ttl_seconds=self._ttl)
            self._allowance = Allowance(
                check.allowed, self._user_id, self._feature, self._key, check.cost, check.balance,
                check.reason, check.reservation_id, check.expires_at, metadata=dict(self._metadata),
                _release=self._release_now,
            )
        return self._allowance

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]) -> Literal[False]:
        allowance = self._allowance
        if allowance is None or not allowance.allowed or allowance.replayed or allowance.cancelled:
            return False
        if exc is not None:
            self._release_quietly(allowance)
            return False
        try:
            allowance.usage = self._engine.record_usage(
                self._user_id, self._feature, self._key,
                reservation_id=allowance.reservation_id, metadata=allowance.metadata or None,
            )
        except TokenEngineError as error:
            if error.code == "idempotency_conflict" and self._same_use(self._recorded()):
                # Another run of this page recorded the same use first: it is paid once; give ours back.
                allowance.replayed = True
                self._release_quietly(allowance)
                return False
            self._release_quietly(allowance)
            raise
        return False

    def _recorded(self) -> Optional[UsageStatus]:
        try:
            return self._engine.usage_status(self._key)
        except TokenEngineError as error:
            if error.code == "usage_not_found":
                return None
            raise

    def _same_use(self, status: Optional[UsageStatus]) -> bool:
        return status is not None and status.user_id == self._user_id and status.feature == self._feature

    def _replay(self, prior: UsageStatus) -> Allowance:
        if not self._same_use(prior):
            raise TokenEngineError(
                "idempotency_conflict",
                f'idempotency key "{self._key}" already names a use of {prior.feature} by {prior.user_id}; give this use a key of its own',
                details={"idempotencyKey": self._key, "userId": prior.user_id, "feature": prior.feature},
            )
        balance = self._engine.check(self._user_id, self._feature).balance
        if prior.rejected:
            return Allowance(False, self._user_id, self._feature, self._key, prior.cost, balance, prior.reason, replayed=True)
        return Allowance(True, self._user_id, self._feature, self._key, prior.cost, balance, replayed=True)

    def _release_now(self, allowance: Allowance) -> None:
        if allowance.reservation_id:
            self._engine.release(allowance.reservation_id)

    def _release_quietly(self, allowance: Allowance) -> None:
        # Never hides the page's own exception: a hold that cannot be released now expires by itself.
        if not allowance.reservation_id:
            return
        try:
            self._engine.release(allowance.reservation_id)
        except TokenEngineError as error:
            if error.code not in ("reservation_closed", "reservation_not_found"):
                log.warning("tokens_client: could not release hold %s (%s); it expires by itself", allowance.reservation_id, error)
