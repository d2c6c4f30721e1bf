"""Python client of the token engine.

    from tokens_client import TokenEngine

    engine = TokenEngine("http://127.0.0.1:3000", api_key)
    with engine.gate(user_id, "resume_upload", idempotency_key=f"resume:{upload_id}") as allowed:
        if allowed:
            analyse(upload)

See docs/clients.md in the engine's repository.
"""

from ._version import __version__
from .client import TokenEngine
from .dashboard import Affordable, Combo, Dashboard, FeatureUse, Recommendations, Upgrade
from .errors import TokenEngineConnectionError, TokenEngineError, UsageNotSettled, WebhookVerificationError
from .gate import Allowance, Gate
from .models import (
    Account,
    BalanceWarning,
    Check,
    Feature,
    Hold,
    LedgerEntry,
    LedgerPage,
    Loyalty,
    Period,
    Plan,
    PlanSummary,
    Release,
    UsageAccepted,
    UsageStatus,
)
from .retry import RetryEvent, RetryPolicy
from .webhooks import DEFAULT_TOLERANCE_SECONDS, WebhookEvent, sign_webhook, verify_webhook

__all__ = [
    "__version__",
    "TokenEngine",
    "Gate",
    "Allowance",
    "RetryPolicy",
    "RetryEvent",
    "TokenEngineError",
    "TokenEngineConnectionError",
    "UsageNotSettled",
    "WebhookVerificationError",
    "verify_webhook",
    "sign_webhook",
    "WebhookEvent",
    "DEFAULT_TOLERANCE_SECONDS",
    "Account",
    "BalanceWarning",
    "Check",
    "Feature",
    "Hold",
    "LedgerEntry",
    "LedgerPage",
    "Loyalty",
    "Period",
    "Plan",
    "PlanSummary",
    "Release",
    "UsageAccepted",
    "UsageStatus",
    "Dashboard",
    "FeatureUse",
    "Affordable",
    "Combo",
    "Recommendations",
    "Upgrade",
]
