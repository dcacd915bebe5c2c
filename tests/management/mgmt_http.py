"""A tiny synchronous HTTP client for the management API tests (http.client: what they
check is the bytes on the wire, status, headers and JSON body)."""

from __future__ import annotations

import base64
import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlparse


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None


def q(name: str) -> str:
    """A path segment as RabbitMQ's clients send it (``/`` is ``%2F``)."""
    return quote(name, safe="")


class Api:
    def __init__(self, base_url: str, user: str = "guest", password: str = "guest") -> None:
        parts = urlparse(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.user, self.password = user, password

    def as_user(self, user: str, password: str) -> Api:
        return Api(f"http://{self.host}:{self.port}/", user, password)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        auth: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if auth:
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            sent["Authorization"] = f"Basic {token}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            return Reply(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()

    def get(self, path: str, **options: Any) -> Reply:
        return self.call("GET", path, **options)

    def put(self, path: str, body: Any = None, **options: Any) -> Reply:
        return self.call("PUT", path, body, **options)

    def post(self, path: str, body: Any = None, **options: Any) -> Reply:
        return self.call("POST", path, body, **options)

    def delete(self, path: str, **options: Any) -> Reply:
        return self.call("DELETE", path, **options)
