"""``ManagementClient``: requests to a broker's management API, its failures turned into one
``ManagementApiError`` with a message for people and an exit code for scripts.

Where the API is: ``ApiSettings``, from the command line's options, else the environment
(``AMQPBROKER_MANAGEMENT_URL``, ``AMQPBROKER_USERNAME``, ``AMQPBROKER_PASSWORD``), else
RabbitMQ's defaults (http://127.0.0.1:15672, guest/guest).  Credentials in the URL
(``http://user:pass@host:15672``) count as given there.

Exit codes (sysexits, as RabbitMQ's CLI tools use them): 69 the API cannot be reached,
77 not authorised (401), 65 the broker refused the request (400, 404: the reason RabbitMQ
gives is in the message), 70 anything else (a 5xx, an answer that is not JSON).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

DEFAULT_URL = "http://127.0.0.1:15672"
DEFAULT_USERNAME = DEFAULT_PASSWORD = "guest"
ENV_URL, ENV_USERNAME, ENV_PASSWORD = (
    "AMQPBROKER_MANAGEMENT_URL",
    "AMQPBROKER_USERNAME",
    "AMQPBROKER_PASSWORD",
)

EX_DATAERR, EX_UNAVAILABLE, EX_SOFTWARE, EX_NOPERM = 65, 69, 70, 77


class ManagementApiError(Exception):
    """A request that did not succeed: ``str(error)`` says why, ``exit_code`` for the shell."""

    def __init__(self, message: str, exit_code: int, status: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.status = status


@dataclass(frozen=True)
class ApiSettings:
    url: str = DEFAULT_URL
    username: str = DEFAULT_USERNAME
    password: str = DEFAULT_PASSWORD
    timeout: float = 60.0

    @classmethod
    def resolve(
        cls,
        url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> ApiSettings:
        """Each setting from its argument, else the environment, else the URL's own
        credentials (for user and password), else the default."""
        url = url or environ.get(ENV_URL) or DEFAULT_URL
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ManagementApiError(f"not an http(s) URL: {url!r}", EX_DATAERR)
        url_user = unquote(parts.username) if parts.username is not None else None
        url_password = unquote(parts.password) if parts.password is not None else None
        netloc = parts.netloc.rpartition("@")[2]
        return cls(
            url=urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", "")),
            username=username or environ.get(ENV_USERNAME) or url_user or DEFAULT_USERNAME,
            password=password or environ.get(ENV_PASSWORD) or url_password or DEFAULT_PASSWORD,
        )

    def api_url(self, path: str) -> str:
        """``/definitions`` -> ``http://host:15672/api/definitions`` (a URL already ending
        in ``/api`` keeps it)."""
        base = self.url if self.url.endswith("/api") else self.url + "/api"
        return base + path


def vhost_segment(vhost: str) -> str:
    """A vhost as a path segment (``/`` is ``%2F``)."""
    return quote(vhost, safe="")


class ManagementClient:
    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings

    def request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        """The answer's body for ``method path`` (``/definitions``, under ``/api``)."""
        settings = self.settings
        token = base64.b64encode(f"{settings.username}:{settings.password}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
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

    def request_json(self, method: str, path: str, body: Any = None) -> Any:
        """``body`` sent as JSON (none if None); the answer's JSON (None if empty)."""
        sent = None if body is None else json.dumps(body).encode()
        raw = self.request(method, path, sent)
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
