"""Security headers on every response, and the write API's token defences.

Security headers are checked as a table over every kind of response the app gives: pages,
error pages, feeds for readers and for browsers, JSON, static files, 304s. Tokens: every
failure looks the same, repeated failures are throttled per address and recover after the
window, writes log the token's name and never its secret, the database holds digests only,
and oversized headers and bodies are refused.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets as stdlib_secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from app.access import Access
from app.articles import Articles
from app.errors import AuthenticationFailed
from app.renderer import FeedRenderer
from app.services import Services
from app.services import build_services
from app.storage.schema import upgrade_database
from app.storage.tables import ApiTokenRow
from app.web.security import FEED_POLICY
from app.web.security import OTHER_POLICY
from app.web.security import PAGE_POLICY
from app.web.security import FailureLimiter
from app.web.security import content_policy
from app.web.security import header_bytes
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.factories import api_article
from tests.factories import article_input
from tests.live import serve

ARTICLES = "/api/v1/articles"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
MAX_FAILURES = 3
WINDOW = 60
MAX_BODY = 2048
PROBLEM = "application/problem+json"
# Headers, limits and the limiter never touch the database: SQLite is enough for them.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


@pytest.fixture
def overrides(database_url: str) -> dict[str, Any]:
    """A small failure budget and body limit, so that 429 and 413 are cheap to reach."""
    return settings_for(
        database_url,
        api_auth_max_failures=MAX_FAILURES,
        api_auth_failure_window_seconds=WINDOW,
        api_max_body_bytes=MAX_BODY,
    )


@pytest.fixture
def published(articles: Articles, renderer: FeedRenderer, clock: FakeClock) -> str:
    """One public article in the category "Política", feeds rendered; its slug."""
    article = articles.create_article(
        article_input(slug="seguranca", published_at=clock() - timedelta(hours=1)), clock()
    )
    renderer.render_due_feeds(clock())
    return article.slug


def from_address(address: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": address}}


# -- security headers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    status: int
    policy: str | None
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    authenticated: bool = False
    data: bytes | None = None


BIG = "x" * 9000
HEADER_CASES = [
    Case("home page", "/", 200, PAGE_POLICY),
    Case("permalink page", "/articles/seguranca", 200, PAGE_POLICY),
    Case("category listing", "/category/politica", 200, PAGE_POLICY),
    Case("404 page", "/articles/nenhum", 404, PAGE_POLICY),
    Case("404 listing", "/category/nenhuma", 404, PAGE_POLICY),
    Case("405 page", "/", 405, PAGE_POLICY, method="POST"),
    Case("431 page", "/", 431, PAGE_POLICY, headers=(("X-Big", BIG),)),
    Case("RSS for readers", "/feed.rss", 200, FEED_POLICY),
    Case("Atom for readers", "/feed.atom", 200, FEED_POLICY),
    Case("RSS for browsers", "/feed.rss", 200, FEED_POLICY, headers=(("Accept", BROWSER_ACCEPT),)),
    Case(
        "Atom for browsers", "/feed.atom", 200, FEED_POLICY, headers=(("Accept", BROWSER_ACCEPT),)
    ),
    Case("category feed", "/category/politica/feed.atom", 200, FEED_POLICY),
    Case("JSON Feed", "/feed.json", 200, OTHER_POLICY),
    Case("feed HEAD", "/feed.rss", 200, FEED_POLICY, method="HEAD"),
    Case("missing feed", "/category/nenhuma/feed.rss", 404, PAGE_POLICY),
    Case("431 feed", "/feed.rss", 431, PAGE_POLICY, headers=(("X-Big", BIG),)),
    Case("feed stylesheet", "/static/feed.xsl", 200, FEED_POLICY),
    Case("site stylesheet", "/static/style.css", 200, OTHER_POLICY),
    Case("demo image", "/static/demo/farm.svg", 200, OTHER_POLICY),
    Case("API 401", ARTICLES, 401, OTHER_POLICY),
    Case("API list", ARTICLES, 200, OTHER_POLICY, authenticated=True),
    Case(
        "API 413",
        ARTICLES,
        413,
        OTHER_POLICY,
        method="POST",
        authenticated=True,
        headers=(("Content-Type", "application/json"),),
        data=b"x" * (MAX_BODY + 65_537),
    ),
    Case("API 431", ARTICLES, 431, OTHER_POLICY, headers=(("X-Big", BIG),), authenticated=True),
    Case("API 404", f"{ARTICLES}/nenhum", 404, OTHER_POLICY, method="DELETE", authenticated=True),
    Case("health", "/healthz", 200, OTHER_POLICY),
]


@SQLITE_ONLY
@pytest.mark.parametrize("case", HEADER_CASES, ids=[case.name for case in HEADER_CASES])
def test_every_response_carries_the_security_headers(
    client: FlaskClient, auth: dict[str, str], published: str, case: Case
) -> None:
    headers = dict(case.headers)
    if case.authenticated:
        headers.update(auth)
    response = client.open(
        case.path, method=case.method, headers=headers, data=case.data, buffered=True
    )

    assert response.status_code == case.status, response.data[:300]
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, name
    assert response.headers.get("Content-Security-Policy") == case.policy
    assert len(response.headers.getlist("Content-Security-Policy")) == 1


def _etag_of(client: FlaskClient, path: str, **headers: str) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return str(response.headers["ETag"])


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("path", "accept"),
    [("/", None), ("/articles/seguranca", None), ("/feed.rss", None),
     ("/feed.atom", BROWSER_ACCEPT), ("/feed.json", None)],
)  # fmt: skip
def test_a_304_keeps_the_headers_and_never_changes_the_stored_policy(
    client: FlaskClient, published: str, path: str, accept: str | None
) -> None:
    extra = {"Accept": accept} if accept else {}
    full = client.get(path, headers=extra)
    etag = _etag_of(client, path, **extra)

    response = client.get(path, headers={**extra, "If-None-Match": etag})

    assert response.status_code == 304
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value
    # A 304 updates the stored response's headers (RFC 9111 4.3.4): it may repeat the
    # policy of the 200 but must never carry another one.
    policy = response.headers.get("Content-Security-Policy")
    assert policy in (None, full.headers["Content-Security-Policy"])


@SQLITE_ONLY
def test_an_unexpected_error_page_carries_the_security_headers(
    app: Flask, client: FlaskClient
) -> None:
    def explode() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/explode", "explode", explode)

    response = client.get("/explode")

    assert response.status_code == 500
    assert response.headers["Content-Security-Policy"] == PAGE_POLICY
    for name, value in ALWAYS.items():
        assert response.headers[name] == value


@SQLITE_ONLY
def test_a_header_set_by_a_view_is_kept(app: Flask, client: FlaskClient) -> None:
    def framed() -> tuple[str, int, dict[str, str]]:
        return "ok", 200, {"X-Frame-Options": "SAMEORIGIN"}

    app.add_url_rule("/framed", "framed", framed)

    response = client.get("/framed")

    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]


POLICY_TABLE = [
    ("text/html; charset=utf-8", 200, PAGE_POLICY),
    ("TEXT/HTML", 404, PAGE_POLICY),
    ("application/xhtml+xml", 200, PAGE_POLICY),
    ("application/xml; charset=utf-8", 200, FEED_POLICY),
    ("text/xml", 200, FEED_POLICY),
    ("application/rss+xml; charset=utf-8", 200, FEED_POLICY),
    ("application/atom+xml; charset=utf-8", 200, FEED_POLICY),
    ("application/xslt+xml", 200, FEED_POLICY),
    ("application/feed+json; charset=utf-8", 200, OTHER_POLICY),
    ("application/problem+json", 401, OTHER_POLICY),
    ("text/css", 200, OTHER_POLICY),
    ("image/svg+xml", 200, OTHER_POLICY),
    (None, 204, OTHER_POLICY),
    (None, 304, None),
    ("text/html; charset=utf-8", 304, PAGE_POLICY),
]


@pytest.mark.parametrize(("content_type", "status", "policy"), POLICY_TABLE)
def test_the_policy_follows_the_media_type(
    content_type: str | None, status: int, policy: str | None
) -> None:
    assert content_policy(content_type, status) == policy


@pytest.mark.parametrize("policy", [PAGE_POLICY, FEED_POLICY])
def test_the_document_policies_forbid_what_the_site_never_needs(policy: str) -> None:
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["style-src"] == "'self'"  # no inline style, no style attributes
    assert directives["img-src"] == "'self' https:"  # lead images live on other origins
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy and "data:" not in policy and "*" not in policy
    # Pages need no script; feeds need their same-origin XSLT, which browsers load as one.
    assert directives["script-src"] == ("'none'" if policy == PAGE_POLICY else "'self'")


# -- oversized requests -------------------------------------------------------------------


@SQLITE_ONLY
def test_headers_just_under_the_limits_pass(client: FlaskClient, published: str) -> None:
    one = {"X-Big": "x" * (8192 - len("X-Big: "))}
    assert client.get("/", headers=one).status_code == 200
    many = {f"X-Part-{i}": "x" * 3000 for i in range(9)}  # about 27 KiB
    assert client.get("/", headers=many).status_code == 200


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("name", "headers"),
    [
        ("one header over 8 KiB", {"X-Big": "x" * (8192 - len("X-Big: ") + 1)}),
        ("a long referer", {"Referer": "https://example.org/" + "b" * 9000}),
        ("all headers over 32 KiB", {f"X-Part-{i}": "x" * 4000 for i in range(9)}),
    ],
)
def test_oversized_headers_get_431(
    client: FlaskClient, auth: dict[str, str], name: str, headers: dict[str, str]
) -> None:
    response = client.post(ARTICLES, json=api_article(), headers={**auth, **headers})
    assert response.status_code == 431
    assert response.content_type == PROBLEM
    assert response.get_json()["status"] == 431
    listed = client.get(ARTICLES, headers=auth).get_json()
    assert listed["total"] == 0  # refused before anything was done


@SQLITE_ONLY
def test_a_real_server_refuses_oversized_headers_with_431(app: Flask, published: str) -> None:
    with serve(app) as live:
        big = live.request("GET", "/", {"X-Big": "y" * 20_000})
        fine = live.request("GET", "/")
        feed = live.request("GET", "/feed.rss", {"X-Big": "y" * 20_000})
    assert big.status == 431
    assert big.headers["content-type"].startswith("text/html")
    assert big.headers["content-security-policy"] == PAGE_POLICY
    assert fine.status == 200
    assert feed.status == 431  # the feed fast path does not take oversized requests


@SQLITE_ONLY
def test_an_oversized_body_gets_413_before_it_is_read(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    response = client.post(
        ARTICLES,
        data=b"{" + b" " * (MAX_BODY + 65_536) + b"}",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.content_type == PROBLEM


# -- tokens -------------------------------------------------------------------------------


def test_every_kind_of_bad_token_gets_the_very_same_401(
    app: Flask, client: FlaskClient, access: Access, clock: FakeClock
) -> None:
    _, revoked = access.create_token("revogado", clock())
    access.revoke_token("revogado", clock())
    _, expired = access.create_token("vencido", clock() - timedelta(hours=2), timedelta(hours=1))
    _, active = access.create_token("ativo", clock())
    key_id = active.split("_")[1]
    kinds = {
        "missing": None,
        "empty": "",
        "basic scheme": "Basic dXNlcjpwYXNz",
        "empty bearer": "Bearer ",
        "malformed": "Bearer abc123",
        "wrong": "Bearer bst_" + "A" * 43,
        "wrong key id": "Bearer bst_" + "0" * 16 + "_" + "A" * 43,
        "right key id, wrong secret": f"Bearer bst_{key_id}_" + "A" * 43,
        "overlong": "Bearer bst_" + "A" * 300,
        "revoked": f"Bearer {revoked}",
        "expired": f"Bearer {expired}",
        "secret without scheme": active,
        "secret with another scheme": f"Token {active}",
        "secret with a suffix": f"Bearer {active}x",
    }
    answers: dict[str, tuple[int, str, str, Any]] = {}
    for number, (kind, header) in enumerate(kinds.items()):
        headers = {} if header is None else {"Authorization": header}
        # One address per kind: this test is about the answer, not the failure budget.
        response = client.get(ARTICLES, headers=headers, **from_address(f"192.0.2.{number}"))
        answers[kind] = (
            response.status_code,
            response.content_type,
            response.headers.get("WWW-Authenticate", ""),
            response.get_json(),
        )

    first = answers["missing"]
    assert first[0] == 401 and first[1] == PROBLEM
    assert first[2] == 'Bearer realm="broadsheet"'
    assert {kind: answer for kind, answer in answers.items() if answer != first} == {}


@SQLITE_ONLY
def test_repeated_failures_are_throttled_per_address_and_recover(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    assert app.extensions["broadsheet"].clock is clock
    wrong = {"Authorization": "Bearer bst_wrongwrongwrong"}
    attacker = from_address("203.0.113.7")
    for _ in range(MAX_FAILURES):
        assert client.get(ARTICLES, headers=wrong, **attacker).status_code == 401

    throttled = client.get(ARTICLES, headers=wrong, **attacker)
    assert throttled.status_code == 429
    assert throttled.content_type == PROBLEM
    assert throttled.headers["Retry-After"] == str(WINDOW)
    # Even the right token is refused while the address is throttled: otherwise guessing
    # would go on, and a right guess would still be told apart.
    assert client.get(ARTICLES, headers=auth, **attacker).status_code == 429
    # Other addresses are not affected.
    assert client.get(ARTICLES, headers=auth, **from_address("198.51.100.1")).status_code == 200
    assert client.get(ARTICLES, headers=wrong, **from_address("198.51.100.2")).status_code == 401

    clock.advance(seconds=WINDOW - 1)
    still = client.get(ARTICLES, headers=auth, **attacker)
    assert still.status_code == 429
    assert still.headers["Retry-After"] == "1"

    clock.advance(seconds=1)
    assert client.get(ARTICLES, headers=auth, **attacker).status_code == 200
    assert client.get(ARTICLES, headers=wrong, **attacker).status_code == 401


@SQLITE_ONLY
def test_successes_do_not_count_and_the_window_slides(
    client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    wrong = {"Authorization": "Bearer bst_wrong"}
    for _ in range(MAX_FAILURES - 1):
        assert client.get(ARTICLES, headers=wrong).status_code == 401
        for _ in range(5):
            assert client.get(ARTICLES, headers=auth).status_code == 200
        clock.advance(seconds=20)
    # Failures at t=0 and t=20; at t=40 one more reaches the limit.
    assert client.get(ARTICLES, headers=wrong).status_code == 401
    assert client.get(ARTICLES, headers=auth).headers["Retry-After"] == "20"
    clock.advance(seconds=20)  # t=60: the failure at t=0 has left the window
    assert client.get(ARTICLES, headers=wrong).status_code == 401
    assert client.get(ARTICLES, headers=auth).status_code == 429


@SQLITE_ONLY
def test_a_write_logs_the_token_name_and_never_the_secret(
    client: FlaskClient, token: str, auth: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong_secret = "bst_" + "Q" * 43

    created = client.post(ARTICLES, json=api_article(), headers=auth)
    path = f"{ARTICLES}/{created.get_json()['id']}"
    etag = created.headers["ETag"]
    client.patch(path, json={"title": "Outro"}, headers={**auth, "If-Match": etag})
    client.delete(path, headers=auth)
    client.get(ARTICLES, headers={"Authorization": f"Bearer {wrong_secret}"})

    assert created.status_code == 201
    messages = [record.getMessage() for record in caplog.records]
    writes = [message for message in messages if "api write=" in message]
    assert [message.split()[1] for message in writes] == [
        "write=create",
        "write=update",
        "write=delete",
    ]
    assert all(message.endswith("token=tests") for message in writes)
    assert any("api authentication failed" in message for message in messages)
    for message in messages:
        assert token not in message
        assert token.removeprefix("bst_") not in message
        assert wrong_secret not in message


def test_a_token_works_until_it_expires_then_gets_the_same_401_as_any_other(
    app: Flask, access: Access, clock: FakeClock
) -> None:
    _, secret = access.create_token("por-uma-hora", clock(), timedelta(hours=1))
    with serve(app) as live:

        def get(token: str) -> tuple[int, dict[str, str], bytes]:
            response = live.request("GET", ARTICLES, {"Authorization": f"Bearer {token}"})
            # Each answer has its own date and request id; nothing else may differ.
            headers = {
                k: v for k, v in response.headers.items() if k not in ("date", "x-request-id")
            }
            return response.status, headers, response.body

        assert get(secret)[0] == 200
        clock.advance(minutes=59, seconds=59)
        assert get(secret)[0] == 200
        clock.advance(seconds=1)
        expired = get(secret)
        unknown = get("bst_" + "0" * 16 + "_" + "A" * 43)
    assert expired[0] == 401
    assert expired == unknown


def test_tokens_made_before_key_ids_keep_working_after_the_migration(
    tmp_path: Path, clock: FakeClock
) -> None:
    services = build_services(
        settings_for(f"sqlite:///{tmp_path / 'old.db'}"), clock=clock, environ={}
    )
    upgrade_database(services.database, "0004")
    legacy = "bst_" + stdlib_secrets.token_urlsafe(32)  # the shape tokens had then
    digest = hashlib.sha256(legacy.encode()).hexdigest()
    with services.database.engine.begin() as connection:
        connection.execute(
            ApiTokenRow.__table__.insert().values(
                name="antigo", token_hash=digest, created_at=clock()
            )
        )
    services.operations.migrate()
    try:
        assert services.access.authenticate(legacy, clock()).name == "antigo"
        for wrong in (legacy[:-1] + ("B" if legacy[-1] != "B" else "C"), legacy + "x"):
            with pytest.raises(AuthenticationFailed):
                services.access.authenticate(wrong, clock())
        listing = services.access.list_tokens()
        assert [(t.name, t.expires_at, t.active(clock())) for t in listing] == [
            ("antigo", None, True)
        ]
        services.access.revoke_token("antigo", clock())
        with pytest.raises(AuthenticationFailed):
            services.access.authenticate(legacy, clock())
    finally:
        services.database.dispose()


def test_the_database_holds_only_the_digest_of_each_secret(
    app: Flask, services: Services, clock: FakeClock
) -> None:
    secrets = [services.access.create_token(name, clock())[1] for name in ("cms", "importador")]

    with services.database.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM api_tokens ORDER BY name")).mappings().all()

    assert [row["name"] for row in rows] == ["cms", "importador"]
    for row, secret in zip(rows, secrets, strict=True):
        assert re.fullmatch(r"[0-9a-f]{64}", row["token_hash"])
        assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
        # The key id is the token's one part that is not secret, and it is all that is.
        assert secret == f"bst_{row['key_id']}_{secret.split('_', 2)[2]}"
        assert re.fullmatch(r"[0-9a-f]{16}", row["key_id"])
        for value in row.values():
            assert secret.removeprefix("bst_") not in str(value)


# -- the limiter and the header sizes on their own -----------------------------------------

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_limiter_counts_a_sliding_window() -> None:
    limiter = FailureLimiter(3, timedelta(seconds=60))
    for second in (0, 10, 20):
        assert limiter.retry_after("a", at(second)) == 0
        limiter.record_failure("a", at(second))
    assert limiter.retry_after("a", at(20)) == 40
    assert limiter.retry_after("a", at(59.5)) == 1
    assert limiter.retry_after("a", at(60)) == 0  # the failure at 0 has left the window
    limiter.record_failure("a", at(60))
    assert limiter.retry_after("a", at(60)) == 10
    assert limiter.retry_after("b", at(60)) == 0


def test_the_limiter_forgets_the_least_recent_addresses_beyond_its_bound() -> None:
    limiter = FailureLimiter(1, timedelta(seconds=60), max_keys=2)
    for key in ("a", "b", "c"):
        limiter.record_failure(key, at(0))
    assert [limiter.retry_after(key, at(1)) for key in ("a", "b", "c")] == [0, 59, 59]


@pytest.fixture
def environ() -> Iterator[dict[str, Any]]:
    yield {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "HTTP_HOST": "example.org",
        "HTTP_USER_AGENT": "x" * 20,
        "CONTENT_TYPE": "text/plain",
        "wsgi.input": object(),
    }


def test_header_bytes_counts_names_and_values_as_sent(environ: dict[str, Any]) -> None:
    largest, total = header_bytes(environ)
    assert largest == len("User-Agent: ") + 20
    assert total == sum(
        len(line) + 2 for line in ("Host: example.org", "User-Agent: " + "x" * 20,
                                   "Content-Type: text/plain")
    )  # fmt: skip
