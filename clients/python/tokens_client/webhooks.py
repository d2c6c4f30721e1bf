"""Verifying the engine's webhooks (``tokens.warning``, ``tokens.alert``) as Standard Webhooks specifies.

The engine signs each POST with the ``whsec_`` secret it is configured with
(``TOKENS_NOTIFY_WEBHOOK_SECRET``): ``webhook-id`` (stable across retries: dedupe on it),
``webhook-timestamp`` (seconds) and ``webhook-signature`` (``v1,`` and the base64 HMAC-SHA256 of
``{id}.{timestamp}.{body}``; several space-separated while a secret is being rotated).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping, Optional, Protocol, Tuple, Union

from .errors import WebhookVerificationError
from .models import parse_time

#: How far a webhook's timestamp may lie from now, either way (the Standard Webhooks libraries' default).
DEFAULT_TOLERANCE_SECONDS = 5 * 60

_PREFIX = "whsec_"
_DIGITS = re.compile(r"^[0-9]+$")



class Headers(Protocol):
    """Anything with ``items()`` of header names and values: a dict, ``http.server``'s or Flask's headers."""

    def items(self) -> Iterable[Tuple[str, Any]]: ...


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook: ``type`` (``tokens.warning``, ``tokens.alert``), when it happened, and its ``data``.

    ``id`` is the ``webhook-id``: the same for every retry of one notification, so a receiver that has
    seen it already acknowledges it again and does nothing more.
    """

    id: str
    type: str
    timestamp: Optional[datetime]
    data: Mapping[str, Any]
    raw: Mapping[str, Any] = field(repr=False, compare=False)


def _key(secret: str) -> bytes:
    encoded = secret[len(_PREFIX):] if secret.startswith(_PREFIX) else secret
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the webhook secret is not whsec_ followed by base64 (the engine's TOKENS_NOTIFY_WEBHOOK_SECRET)") from None
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def sign_webhook(secret: str, msg_id: str, timestamp: int, body: Union[bytes, str]) -> str:
    """The ``webhook-signature`` value the engine sends for this message (``v1,<base64>``): for a receiver's own tests."""
    payload = body.encode("utf-8") if isinstance(body, str) else body
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode("utf-8") + payload, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def _lowercase(headers: Headers) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def verify_webhook(
    secret: str,
    body: Union[bytes, str],
    headers: Headers,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: Optional[float] = None,
) -> WebhookEvent:
    """Checks that ``body`` was sent by the engine, now, and returns it parsed.

    ``body`` must be the raw bytes received (not re-encoded JSON: one byte changed fails the check).
    ``headers`` is any mapping of the request's headers (a dict, ``http.server``'s ``self.headers``,
    Flask's ``request.headers``), looked up in any case. ``now`` (seconds since the epoch) is for tests.

    Raises :class:`WebhookVerificationError` when a header is missing, the timestamp lies more than
    ``tolerance`` seconds from now (a replay of an old message), or no ``v1`` signature matches; answer
    400 and ignore the body then. Raises ``ValueError`` when ``secret`` itself is malformed (a
    configuration mistake, not a bad request).
    """
    found = _lowercase(headers)
    msg_id = found.get("webhook-id")
    stamp = found.get("webhook-timestamp")
    signatures = found.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        missing = [n for n, v in (("webhook-id", msg_id), ("webhook-timestamp", stamp), ("webhook-signature", signatures)) if not v]
        raise WebhookVerificationError(f"missing header: {', '.join(missing)}")
    if not _DIGITS.match(stamp.strip()):
        raise WebhookVerificationError("webhook-timestamp is not a number of seconds")
    timestamp = int(stamp.strip())
    current = time.time() if now is None else now
    if current - timestamp > tolerance:
        raise WebhookVerificationError(f"webhook-timestamp is {current - timestamp:.0f} s old (more than {tolerance:g} s): a replay?")
    if timestamp - current > tolerance:
        raise WebhookVerificationError(f"webhook-timestamp is {timestamp - current:.0f} s ahead of this clock (more than {tolerance:g} s)")

    expected = sign_webhook(secret, msg_id, timestamp, body).split(",", 1)[1].encode("ascii")
    matched = False
    for versioned in signatures.split(" "):
        version, _, signature = versioned.partition(",")
        # Every candidate is compared, in constant time, so timing says nothing about which one was close.
        if version == "v1" and hmac.compare_digest(signature.encode("utf-8"), expected):
            matched = True
    if not matched:
        raise WebhookVerificationError("no webhook-signature matches this body and secret")

    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        message = json.loads(text)
    except ValueError:
        raise WebhookVerificationError("the signed body is not JSON") from None
    if not isinstance(message, dict):
        raise WebhookVerificationError("the signed body is not a JSON object")
    when = message.get("timestamp")
    return WebhookEvent(msg_id, str(message.get("type", "")), parse_time(when) if isinstance(when, str) else None, message.get("data") or {}, message)
