"""The user's token dashboard (``GET /v1/accounts/{userId}/dashboard``): what a "My tokens" page shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from .models import BalanceWarning, Json, Loyalty, Period, PlanSummary, parse_time


@dataclass(frozen=True)
class FeatureUse:
    """A feature the user used this period: how many times, for how many tokens."""

    feature: str
    name: str
    uses: int
    tokens: int

    @classmethod
    def from_json(cls, j: Json) -> FeatureUse:
        return cls(j["feature"], j["name"], int(j["uses"]), int(j["tokens"]))


@dataclass(frozen=True)
class Affordable:
    """One of the user's usual features, and how many more uses of it the balance covers."""

    feature: str
    name: str
    cost: int
    uses: int

    @classmethod
    def from_json(cls, j: Json) -> Affordable:
        return cls(j["feature"], j["name"], int(j["cost"]), int(j["uses"]))


@dataclass(frozen=True)
class Combo:
    """A mix of the user's usual features that fits the remaining balance (``tokens`` spent, ``leftover`` not)."""

    items: list[Affordable]
    tokens: int
    leftover: int

    @classmethod
    def from_json(cls, j: Json) -> Combo:
        return cls([Affordable.from_json(i) for i in j["items"]], int(j["tokens"]), int(j["leftover"]))


@dataclass(frozen=True)
class Upgrade:
    """The plan that would cover the projected use, with what it adds (``message`` and ``adds`` are for people)."""

    plan: str
    name: str
    monthly_tokens: int
    extra_tokens_per_month: int
    message: str
    adds: list[str]

    @classmethod
    def from_json(cls, j: Optional[Json]) -> Optional[Upgrade]:
        if not j:
            return None
        return cls(j["plan"], j["name"], int(j["monthlyTokens"]), int(j["extraTokensPerMonth"]), j["message"], list(j["adds"]))


@dataclass(frozen=True)
class Recommendations:
    fits_remaining: list[Affordable]
    combo: Combo
    upgrade: Optional[Upgrade]

    @classmethod
    def from_json(cls, j: Json) -> Recommendations:
        return cls([Affordable.from_json(f) for f in j["fitsRemaining"]], Combo.from_json(j["combo"]), Upgrade.from_json(j.get("upgrade")))


@dataclass(frozen=True)
class Dashboard:
    """Plan, used/allocated/percent this period, days until renewal, most used features, recommendations."""

    user_id: str
    plan: PlanSummary
    used: int
    allocated: int
    percent_used: int
    balance: int
    held: int
    warning: Optional[BalanceWarning]
    loyalty: Optional[Loyalty]
    period: Period
    days_until_renewal: int
    projected_use: int
    runs_out_at: Optional[datetime]
    most_used_features: list[FeatureUse]
    recommendations: Recommendations
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, j: Json) -> Dashboard:
        runs_out = j.get("runsOutAt")
        return cls(
            j["userId"], PlanSummary.from_json(j["plan"]), int(j["used"]), int(j["allocated"]), int(j["percentUsed"]),
            int(j["balance"]), int(j["held"]), BalanceWarning.from_json(j.get("warning")), Loyalty.from_json(j.get("loyalty")),
            Period.from_json(j["period"]), int(j["daysUntilRenewal"]), int(j["projectedUse"]),
            parse_time(runs_out) if runs_out else None,
            [FeatureUse.from_json(f) for f in j["mostUsedFeatures"]], Recommendations.from_json(j["recommendations"]), j,
        )
