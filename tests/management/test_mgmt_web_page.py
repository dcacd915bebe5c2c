"""The web page's serving (``static_files.py``) and its login check (``POST
/api/page-login``), over HTTP against an embedded broker with management."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest
from mgmt_http import Api, q

from amqpbroker.management.static_files import CONTENT_TYPES, WEB_ROOT

ROOT = Path(__file__).resolve().parents[2]
WEB_FILES = sorted(p.relative_to(WEB_ROOT).as_posix() for p in WEB_ROOT.rglob("*") if p.is_file())


def test_the_root_is_the_page_with_no_cache(api: Api) -> None:
    reply = api.get("/", auth=False)
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert reply.headers["cache-control"] == "no-cache"
    assert reply.headers["content-security-policy"].startswith("default-src 'self';")
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert b'<script type="module" src="/js/main.js">' in reply.raw
    assert reply.raw == (WEB_ROOT / "index.html").read_bytes()
    head = api.call("HEAD", "/", auth=False)
    assert (head.status, head.raw, head.headers["content-length"]) == (
        200,
        b"",
        str(len(reply.raw)),
    )


@pytest.mark.parametrize("relative", [f for f in WEB_FILES if f != "index.html"])
def test_every_packaged_asset_is_served_with_its_type(api: Api, relative: str) -> None:
    reply = api.get("/" + relative, auth=False)
    assert reply.status == 200, relative
    assert reply.headers["content-type"] == CONTENT_TYPES[Path(relative).suffix]
    assert reply.headers["cache-control"] == "no-cache"
    assert reply.raw == (WEB_ROOT / relative).read_bytes()


def test_the_favicon_is_an_icon(api: Api) -> None:
    reply = api.get("/favicon.ico", auth=False)
    assert (reply.status, reply.headers["content-type"]) == (200, "image/x-icon")
    assert reply.raw[:4] == b"\0\0\1\0"  # (an ICO file's header)


@pytest.mark.parametrize(
    "path",
    [
        "/js/nosuch.js",
        "/css/",
        "/img",
        "/js/pages",  # (a folder)
        "/js/../../static_files.py",
        "/js/%2e%2e/%2e%2e/static_files.py",
        "/js/..%2f..%2fstatic_files.py",
        "/js/%2E%2E%2F%2E%2E%2Fapp.py",
        "/css/..%5c..%5capp.py",
        "/img/%00favicon.ico",
        "/js//etc/passwd",
        "/js/%2fetc%2fpasswd",
        "/img/favicon.ico%00.png",
        "/web/index.html",
        "/static_files.py",
    ],
)
def test_unknown_and_traversing_paths_are_404(api: Api, path: str) -> None:
    reply = api.get(path, auth=False)
    assert reply.status == 404, path
    assert b"import" not in reply.raw and b"passwd" not in reply.raw


def test_a_file_of_unknown_type_is_not_served(api: Api, tmp_path: Path) -> None:
    # (only the package's page files, by suffix: no stray source file under web/)
    assert all(Path(f).suffix in CONTENT_TYPES for f in WEB_FILES)
    assert api.get("/js/main.py", auth=False).status == 404


def test_the_api_paths_answer_as_before(api: Api) -> None:
    assert api.get("/api/nosuch/path", auth=False).status == 404
    assert api.get("/api/overview").status == 200
    assert api.get("/cli/rabbitmqadmin", auth=False).status == 404


def test_every_module_the_page_imports_is_packaged() -> None:
    """The page's ES modules import each other by relative path: a typo is a 404 in the
    browser, so every import names a packaged file."""
    for script in WEB_ROOT.rglob("*.js"):
        for target in re.findall(r'(?:from|import\()\s*"(\.[^"]+)"', script.read_text()):
            assert (script.parent / target).resolve().is_file(), (script.name, target)
    index = (WEB_ROOT / "index.html").read_text()
    for reference in re.findall(r'(?:href|src)="/([^"#]+)"', index):
        target = "img/favicon.ico" if reference == "favicon.ico" else reference
        assert (WEB_ROOT / target).is_file(), reference


def test_the_package_data_takes_every_page_file() -> None:
    """pyproject's package-data globs (what a wheel or sdist carries) cover web/."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["amqpbroker.management"]
    for relative in WEB_FILES:
        assert any(fnmatch.fnmatch(f"web/{relative}", g) for g in globs), relative


# -- the DOM contract (docs: issue 16's section C), checked in the sources ----------------------


def _words(text: str) -> list[str]:
    return text.split()


CONTRACT_IDS = _words("""
login username password login-button login-error menu whoami logout flash confirm
confirm-ok confirm-cancel refresh-interval updated totals queued queue-policy queue-ready
queue-unacked queue-total get-ackmode get-encoding get-count get-messages publish-payload
publish-routing-key publish-delivery-mode publish-headers publish-properties publish purge
delete-queue close-reason close-connection policy-form policy-vhost policy-name policy-pattern
policy-apply-to policy-priority policy-definition policy-save trace-vhost trace-toggle
trace-clear""")
CONTRACT_CLASSES = _words("""
list filter pager page-size page-prev page-next page-info ready unacked total
policy message payload properties headers redelivered tls chart journey event delete-policy
flash""")


def _sources() -> str:
    return "\n".join(
        p.read_text() for p in sorted(WEB_ROOT.rglob("*")) if p.suffix in (".js", ".html")
    )


def test_the_pages_sources_carry_the_dom_contract() -> None:
    """Every id and class the browser tests rely on is made somewhere (a rename here breaks
    them: this says so without a browser)."""
    sources = _sources()
    # (an id or class is given as a literal, maybe through a helper: count("queue-ready", ...))
    missing_ids = [i for i in CONTRACT_IDS if f'"{i}"' not in sources]
    classes = " ".join(re.findall(r'class(?:Name)?\s*[:=]\s*["`]([^"`]*)["`]', sources)).split()
    missing_classes = [c for c in CONTRACT_CLASSES if c not in classes and f'"{c}"' not in sources]
    assert (missing_ids, missing_classes) == ([], [])


def test_the_pages_sources_carry_the_contracts_texts_and_values() -> None:
    sources = _sources()
    for text in ("Overview", "Connections", "Channels", "Exchanges", "Queues", "Admin", "Trace"):
        assert f'"{text}", "#/' in sources, text  # (a menu link)
    assert '"Login")' in sources
    modes = ("ack_requeue_true", "ack_requeue_false", "reject_requeue_true", "reject_requeue_false")
    for value in (*modes, "auto", "base64", "queues", "exchanges", "all"):
        assert f'"{value}"' in sources, value
    for seconds in ("5", "10", "30", "0"):
        assert f'<option value="{seconds}">' in sources, seconds
    for text in (
        "Queue purged",
        "Message published.",
        "Message published, but not routed.",
        "Connection closed",
        "Policy set",
    ):
        assert f'"{text}"' in sources, text


# -- POST /api/page-login -------------------------------------------------------------------------


def _page_login(api: Api, body: object) -> object:
    reply = api.post("/api/page-login", body, auth=False)
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    return reply.body


def test_page_login_answers_the_users_name_and_tags(api: Api) -> None:
    assert _page_login(api, {"username": "guest", "password": "guest"}) == {
        "ok": True,
        "name": "guest",
        "tags": ["administrator"],
    }


def test_page_login_says_why_it_failed_with_200(api: Api, name: str) -> None:
    assert api.put(f"/api/users/{q(name)}", {"password": "pw", "tags": ""}).status == 201
    failed = {"ok": False, "reason": "Login failed"}
    assert _page_login(api, {"username": "guest", "password": "nope"}) == failed
    assert _page_login(api, {"username": "nosuch", "password": "x"}) == failed
    assert _page_login(api, {"username": "guest"}) == failed
    assert _page_login(api, {"username": 1, "password": 2}) == failed
    assert _page_login(api, {"username": name, "password": "pw"}) == {
        "ok": False,
        "reason": "Not management user",
    }
    reply = api.post("/api/page-login", raw=b"not json", auth=False)
    assert (reply.status, reply.body) == (200, failed)


def test_page_login_takes_every_management_tag(api: Api, name: str) -> None:
    for tag in ("management", "policymaker", "monitoring"):
        user = f"{name}-{tag}"
        assert api.put(f"/api/users/{q(user)}", {"password": "pw", "tags": tag}).status == 201
        assert _page_login(api, {"username": user, "password": "pw"}) == {
            "ok": True,
            "name": user,
            "tags": [tag],
        }


def test_page_login_is_post_only(api: Api) -> None:
    reply = api.get("/api/page-login", auth=False)
    assert (reply.status, reply.headers["allow"]) == (405, "POST, OPTIONS")


def test_page_login_counts_as_an_http_login_attempt(api: Api) -> None:
    node = q(api.get("/api/overview").body["node"])

    def failures() -> int:
        attempts = api.get(f"/api/auth/attempts/{node}").body
        return next(a["auth_attempts_failed"] for a in attempts if a["protocol"] == "http")

    before = failures()
    _page_login(api, {"username": "guest", "password": "nope"})
    assert failures() == before + 1
