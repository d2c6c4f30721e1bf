"""What the engine answers, as light typed objects.

Each object keeps the engine's whole answer in ``raw``: the contract grows only by adding fields, so a
field this version of the client does not name yet is still there to read. Times are aware UTC
``datetime`` objects; tokens are ``int``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Optional

Json = Mapping[str, Any]


def parse_time(value: str) -> datetime:
    """An ISO-8601 time of the engine (``2026-12-02T10:00:00.000Z``) as an aware datetime."""
    # datetime.fromisoformat reads a trailing "Z" only from Python 3.11 on.
    return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)


def _time(value: Optional[str]) -> Optional[datetime]:
    return parse_time(value) if value else None


@dataclass(frozen=True)
class Check:
    """The answer of ``POST /v1/check``: whether the user may use the feature now, at what cost.

    True in a boolean context when allowed. With ``reserve=True`` and allowed, ``reservation_id`` names
    the hold that keeps ``cost`` tokens (and the quoted price) for this use until ``expires_at``; a
    feature that costs nothing is allowed with nothing held (``reservation_id`` is ``None``).
    ``balance`` is what the user can spend after this check (the hold excluded). ``reason`` when not
    allowed: ``insufficient_tokens``, ``account_not_found``, ``unknown_feature``, ``feature_disabled``.
    """

    allowed: bool
    cost: int
    balance: int
    reason: Optional[str]
    reservation_id: Optional[str]
    expires_at: Optional[datetime]
    raw: Json = field(repr=False, compare=False)

    def __bool__(self) -> bool:
        return self.allowed

    @classmethod
    def from_json(cls, j: Json) -> Check:
        return cls(bool(j["allowed"]), int(j["cost"]), int(j["balance"]), j.get("reason"), j.get("reservationId"), _time(j.get("expiresAt")), j)


@dataclass(frozen=True)
class Release:
    """A hold given back (``status`` is ``released``, also when it already was)."""

    reservation_id: str
    status: str
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, j: Json) -> Release:
        return cls(j["reservationId"], j["status"], j)


@dataclass(frozen=True)
class UsageAccepted:
    """``POST /v1/usage`` took the event: it is queued and will be applied exactly once."""

    idempotency_key: str
    status: str
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, j: Json) -> UsageAccepted:
        return cls(j["idempotencyKey"], j["status"], j)


@dataclass(frozen=True)
class UsageStatus:
    """Where a usage event stands: ``queued``, ``applied`` (with ``balance_after``) or ``rejected`` (with ``reason``).

    ``cost`` is what it was charged (applied), would have been charged (rejected), or is quoted (queued).
    """

    idempotency_key: str
    user_id: str
    feature: str
    status: str
    cost: int
    balance_after: Optional[int]
    reason: Optional[str]
    occurred_at: Optional[datetime]
    raw: Json = field(repr=False, compare=False)

    @property
    def settled(self) -> bool:
        return self.status != "queued"

    @property
    def applied(self) -> bool:
        return self.status == "applied"

    @property
    def rejected(self) -> bool:
        return self.status == "rejected"

    @classmethod
    def from_json(cls, j: Json) -> UsageStatus:
        after = j.get("balanceAfter")
        return cls(
            j["idempotencyKey"], j["userId"], j["feature"], j["status"], int(j["cost"]),
            None if after is None else int(after), j.get("reason"), _time(j.get("occurredAt")), j,
        )


@dataclass(frozen=True)
class PlanSummary:
    id: str
    name: str
    monthly_tokens: int

    @classmethod
    def from_json(cls, j: Json) -> PlanSummary:
        return cls(j["id"], j["name"], int(j["monthlyTokens"]))


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @classmethod
    def from_json(cls, j: Json) -> Period:
        return cls(parse_time(j["start"]), parse_time(j["end"]))


@dataclass(frozen=True)
class BalanceWarning:
    """The highest warning level reached this period (90, 95 or 100) with the message to show the user."""

    level: int
    message: str

    @classmethod
    def from_json(cls, j: Optional[Json]) -> Optional[BalanceWarning]:
        return cls(int(j["level"]), j["message"]) if j else None


@dataclass(frozen=True)
class Loyalty:
    months: int
    bonus_percent: int
    next_months: Optional[int]
    next_bonus_percent: Optional[int]

    @classmethod
    def from_json(cls, j: Optional[Json]) -> Optional[Loyalty]:
        if not j:
            return None
        nxt = j.get("next") or {}
        return cls(int(j["months"]), int(j["bonusPercent"]), nxt.get("months"), nxt.get("bonusPercent"))


@dataclass(frozen=True)
class Account:
    """``GET /v1/accounts/{userId}``. ``balance`` is spendable now; tokens under holds are in ``held``."""

    user_id: str
    plan: PlanSummary
    email: Optional[str]
    balance: int
    held: int
    period: Period
    used_this_period: int
    allocated_this_period: int
    percent_used: int
    warning: Optional[BalanceWarning]
    loyalty: Optional[Loyalty]
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, j: Json) -> Account:
        return cls(
            j["userId"], PlanSummary.from_json(j["plan"]), j.get("email"), int(j["balance"]), int(j["held"]),
            Period.from_json(j["period"]), int(j["usedThisPeriod"]), int(j["allocatedThisPeriod"]),
            int(j["percentUsed"]), BalanceWarning.from_json(j.get("warning")), Loyalty.from_json(j.get("loyalty")), j,
        )


@dataclass(frozen=True)
class Feature:
    """A priced page or operation: ``cost`` is in force now (pricing rules applied), ``base_cost`` the list price."""

    key: str
    name: str
    enabled: bool
    base_cost: int
    cost: int
    tier: str
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, j: Json) -> Feature:
        return cls(j["key"], j["name"], bool(j["enabled"]), int(j["baseCost"]), int(j["cost"]), j["tier"], j)


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    monthly_tokens: int
    price_cents: Optional[int]
    currency: Optional[str]
    billing_interval: Optional[str]
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, j: Json) -> Plan:
        return cls(j["id"], j["name"], int(j["monthlyTokens"]), j.get("priceCents"), j.get("currency"), j.get("billingInterval"), j)


@dataclass(frozen=True)
class LedgerEntry:
    """One line of an account's ledger: a grant, use, hold, release, expiry or reversal, with the balance after it."""

    id: int
    kind: str
    amount: int
    held_delta: int
    balance_after: int
    held_after: int
    feature: Optional[str]
    cost: Optional[int]
    reservation_id: Optional[str]
    idempotency_key: Optional[str]
    occurred_at: datetime
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, j: Json) -> LedgerEntry:
        return cls(
            int(j["id"]), j["kind"], int(j["amount"]), int(j.get("heldDelta", 0)), int(j["balanceAfter"]),
            int(j.get("heldAfter", 0)), j.get("feature"), j.get("cost"), j.get("reservationId"),
            j.get("idempotencyKey"), parse_time(j["occurredAt"]), j,
        )


@dataclass(frozen=True)
class LedgerPage:
    """Entries newest first; pass ``next_cursor`` to :meth:`TokenEngine.ledger` for the next page (``None``: no more)."""

    entries: list[LedgerEntry]
    next_cursor: Optional[str]

    @classmethod
    def from_json(cls, j: Json) -> LedgerPage:
        return cls([LedgerEntry.from_json(e) for e in j["entries"]], j.get("nextCursor"))


@dataclass(frozen=True)
class Hold:
    """An open hold: ``cost`` tokens kept for a use of ``feature`` until ``expires_at``."""

    reservation_id: str
    feature: str
    cost: int
    expires_at: datetime
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, j: Json) -> Hold:
        return cls(j["reservationId"], j["feature"], int(j["cost"]), parse_time(j["expiresAt"]), j)
