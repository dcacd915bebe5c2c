"""``ManagementClient``: requests to a broker's management API (``urllib``), its failures
turned into one ``ManagementApiError`` with a message for people and an exit code for
scripts (``settings.py`` says which)."""

from __future__ import annotations

import base64
import json
import socket
import urllib.error
import urllib.request
from typing import Any

from .settings import (
    EX_DATAERR,
    EX_NOPERM,
    EX_SOFTWARE,
    EX_UNAVAILABLE,
    ApiSettings,
    ManagementApiError,
)


class ManagementClient:
    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> bytes:
        """The answer's body for ``method path`` (``/definitions``, under ``/api``)."""
        settings = self.settings
        token = base64.b64encode(f"{settings.username}:{settings.password}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        headers.update(extra_headers or {})
        request = urllib.request.Request(
            settings.api_url(path), data=body, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.timeout) as response:
                answer: bytes = response.read()
                return answer
        except urllib.error.HTTPError as error:
            raise self._refused(method, path, error.code, error.read()) from None
        except (urllib.error.URLError, OSError) as error:
            raise self._unreachable(error) from None

    def get_json(self, path: str) -> Any:
        return self.request_json("GET", path)

    def request_json(
        self,
        method: str,
        path: str,
        body: Any = None,
        extra_headers: dict[str, str] | None = None,
    ) -> Any:
        """``body`` sent as JSON (none if None); the answer's JSON (None if empty)."""
        sent = None if body is None else json.dumps(body).encode()
        raw = self.request(method, path, sent, extra_headers)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ManagementApiError(
                f"{self.settings.url} answered {method} {path} with something that is not JSON",
                EX_SOFTWARE,
            ) from None

    def _unreachable(self, error: Exception) -> ManagementApiError:
        cause = getattr(error, "reason", error)
        if isinstance(cause, socket.timeout | TimeoutError):
            why = f"no answer within {self.settings.timeout:g} s"
        else:
            why = getattr(cause, "strerror", None) or str(cause)
        return ManagementApiError(
            f"cannot reach the management API at {self.settings.url}: {why}", EX_UNAVAILABLE
        )

    def _refused(self, method: str, path: str, status: int, raw: bytes) -> ManagementApiError:
        reason = _reason(raw)
        where = f"{method} {self.settings.api_url(path)}"
        if status == 401:
            return ManagementApiError(
                f"not authorised as '{self.settings.username}' ({reason or 'no credentials'}):"
                f" {where}",
                EX_NOPERM,
                status,
            )
        if status in (400, 404):
            shown = reason or ("not found" if status == 404 else "bad request")
            return ManagementApiError(f"{shown} ({status}: {where})", EX_DATAERR, status)
        return ManagementApiError(
            f"the broker answered {status}{': ' + reason if reason else ''} ({where})",
            EX_SOFTWARE,
            status,
        )


def _reason(raw: bytes) -> str:
    """The ``reason`` of RabbitMQ's error body (``{"error": ..., "reason": ...}``), as text."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace").strip()[:200]
    if not isinstance(body, dict):
        return ""
    reason = body.get("reason", body.get("error", ""))
    return reason if isinstance(reason, str) else json.dumps(reason)
