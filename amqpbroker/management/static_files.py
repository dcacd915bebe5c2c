"""The web page's files (``web/``), served by the management listener as RabbitMQ serves
its page: ``/`` is ``index.html``, assets under ``/js/``, ``/css/``, ``/img/``, and
``/favicon.ico``.  Every answer says ``Cache-Control: no-cache`` so that a new version of
the page is picked up; a path that is not one of the package's files (``..`` included,
however encoded) is 404 as any unknown path.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from aiohttp import web

from .http import not_found

WEB_ROOT = Path(__file__).resolve().parent / "web"
ASSET_FOLDERS = ("js", "css", "img")

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".json": "application/json",
}


def web_file(relative: str) -> Path | None:
    """The package file at ``relative`` (as requested, percent-encoded or not), or None
    when it is not a file under ``web/`` with a known type."""
    decoded = unquote(relative)
    parts = decoded.split("/")
    if any(part in ("", ".", "..") or "\\" in part or "\0" in part for part in parts):
        return None
    candidate = (WEB_ROOT / decoded).resolve()
    if not candidate.is_relative_to(WEB_ROOT) or not candidate.is_file():
        return None
    if candidate.suffix not in CONTENT_TYPES:
        return None
    return candidate


# The page runs only its own files: no inline script, nothing from elsewhere, never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


def file_response(path: Path, request: web.Request) -> web.Response:
    body = path.read_bytes()
    headers = {
        "Content-Type": CONTENT_TYPES[path.suffix],
        "Cache-Control": "no-cache",
        **SECURITY_HEADERS,
    }
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return web.Response(status=200, headers=headers)
    return web.Response(body=body, headers=headers)


async def index(request: web.Request) -> web.StreamResponse:
    return _serve("index.html", request)


async def favicon(request: web.Request) -> web.StreamResponse:
    return _serve("img/favicon.ico", request)


async def asset(request: web.Request) -> web.StreamResponse:
    # (the raw path, so that an encoded "%2e%2e" or "%2f" is judged after decoding once)
    raw = request.raw_path.split("?", 1)[0]
    return _serve(raw.removeprefix("/"), request)


def _serve(relative: str, request: web.Request) -> web.StreamResponse:
    path = web_file(relative)
    if path is None:
        raise not_found()
    return file_response(path, request)


def add_static_routes(app: web.Application) -> None:
    """``/``, ``/index.html``, ``/favicon.ico`` and ``/{js,css,img}/...`` (GET and HEAD)."""
    for path, handler in (("/", index), ("/index.html", index), ("/favicon.ico", favicon)):
        app.router.add_get(path, handler)
    folders = "|".join(ASSET_FOLDERS)
    app.router.add_get("/{folder:(?:" + folders + ")}/{rest:.+}", asset)
