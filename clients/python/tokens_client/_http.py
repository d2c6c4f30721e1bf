"""One HTTP exchange with the engine over urllib: an answer, or an error saying why there is none."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from .errors import TokenEngineConnectionError, TokenEngineError
from .retry import parse_retry_after


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # The engine never redirects: following one would send the API key wherever the Location points.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


_opener = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


def exchange(method: str, url: str, path: str, headers: Mapping[str, str], body: Optional[bytes], timeout: float) -> Answer:
    """Sends one request; a 2xx is returned, anything else raised as :class:`TokenEngineError`."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))
    try:
        with _opener.open(request, timeout=timeout) as response:
            return Answer(response.status, _json(response.read()))
    except urllib.error.HTTPError as refusal:
        raise _refusal(method, path, refusal) from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, ssl.SSLError):
            # A certificate or TLS setting that is wrong stays wrong: not worth a retry.
            raise TokenEngineError("tls_failed", f"TLS with the engine failed: {reason}", method=method, path=path) from error
        never_sent = isinstance(reason, (ConnectionRefusedError, socket.gaierror))
        raise TokenEngineConnectionError(f"cannot reach the engine at {_origin(url)}: {reason}", not never_sent, method, path) from error
    except (socket.timeout, TimeoutError) as error:
        raise TokenEngineConnectionError(f"no answer from the engine at {_origin(url)} within {timeout:g} s", True, method, path) from error
    except (http.client.HTTPException, ConnectionError, OSError) as error:
        raise TokenEngineConnectionError(f"the connection to the engine at {_origin(url)} broke: {error!r}", True, method, path) from error


def _refusal(method: str, path: str, answer: urllib.error.HTTPError) -> TokenEngineError:
    try:
        raw = answer.read()
    except (OSError, http.client.HTTPException):
        raw = b""
    retry_after = parse_retry_after(answer.headers.get("Retry-After") if answer.headers else None)
    body = _json(raw)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        return TokenEngineError(error["code"], str(error.get("message", "")), answer.code, error.get("details"), retry_after, method, path)
    # Not the engine's shape: a proxy's page, a redirect the client does not follow.
    text = raw.decode("utf-8", "replace").strip()[:200] or answer.reason or ""
    return TokenEngineError("unexpected_response", f"HTTP {answer.code} not in the engine's error shape: {text}", answer.code, None, retry_after, method, path)


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return raw.decode("utf-8", "replace")


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
