"""Where a broker's management API is and how a request to it fails, without importing an
HTTP client (the command line imports this at start).

Where the API is: ``ApiSettings``, from the command line's options, else the environment
(``AMQPBROKER_MANAGEMENT_URL``, ``AMQPBROKER_USERNAME``, ``AMQPBROKER_PASSWORD``), else
RabbitMQ's defaults (http://127.0.0.1:15672, guest/guest).  Credentials in the URL
(``http://user:pass@host:15672``) count as given there.

Exit codes (sysexits, as RabbitMQ's CLI tools use them): 69 the API cannot be reached,
77 not authorised (401), 65 the broker refused the request (400, 404: the reason RabbitMQ
gives is in the message), 70 anything else (a 5xx, an answer that is not JSON).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
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
