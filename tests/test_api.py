"""The write API contract (/api/v1): create, read, list, update, delete, and refusals."""

from __future__ import annotations

import copy
import http.client
import json
import re
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.transfer.export import export_lines
from tests.conftest import BASE_URL
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.factories import api_article
from tests.feedcheck import assert_valid_atom
from tests.feedcheck import assert_valid_json_feed
from tests.feedcheck import assert_valid_rss
from tests.live import LiveServer
from tests.live import serve

ARTICLES = "/api/v1/articles"
MAX_BODY = 2048
PROBLEM = "application/problem+json"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
# Every character XML 1.0 forbids below U+0020 (tab, newline and carriage return are allowed).
XML_FORBIDDEN = "".join(chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)))
REMOVE = object()  # in a table of changes: remove the field


@pytest.fixture
def overrides(database_url: str) -> dict[str, Any]:
    """A small body limit so that 413 is cheap to reach."""
    return settings_for(database_url, api_max_body_bytes=MAX_BODY)


# -- helpers ------------------------------------------------------------------------------


def create(client: FlaskClient, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    """POST an article (api_article() with ``fields``); assert 201; return its representation."""
    response = client.post(ARTICLES, json=api_article(**fields), headers=auth)
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def path_of(article: dict[str, Any]) -> str:
    return f"{ARTICLES}/{article['id']}"


def fetch(client: FlaskClient, auth: dict[str, str], article: dict[str, Any]) -> TestResponse:
    return client.get(path_of(article), headers=auth)


def listing(client: FlaskClient, auth: dict[str, str], query: str = "") -> dict[str, Any]:
    response = client.get(f"{ARTICLES}?per_page=100{query}", headers=auth)
    assert response.status_code == 200
    return dict(response.get_json())


def with_if_match(auth: dict[str, str], etag: str) -> dict[str, str]:
    return {**auth, "If-Match": etag}


def assert_problem(response: TestResponse, status: int, field: str | None) -> dict[str, Any]:
    """A problem details document (RFC 9457) with ``status`` that names ``field`` ("" is the
    request body itself, and must then be the only name in ``errors``)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    problem = dict(response.get_json())
    assert problem["status"] == status
    assert problem["title"] and problem["detail"]
    if field is not None:
        named = [error["field"] for error in problem.get("errors", [])]
        if field == "":
            assert named == [""], problem
        else:
            assert field in named, problem  # in errors, where a client looks it up
    return problem


def changed(body: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``body`` with dotted paths ("image.width", "authors.0.url") set, or removed (REMOVE)."""
    result = copy.deepcopy(body)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        target: Any = result
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        key: Any = int(last) if isinstance(target, list) else last
        if value is REMOVE:
            del target[key]
        else:
            target[key] = value
    return result


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return []


# -- create and read ----------------------------------------------------------------------


def test_create_answers_201_with_location_etag_and_the_article(
    client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    response = client.post(ARTICLES, json=api_article(), headers=auth)

    assert response.status_code == 201
    assert response.mimetype == "application/json"
    article = response.get_json()
    location = response.headers["Location"]
    assert location.startswith(f"{BASE_URL}{ARTICLES}/")
    assert response.headers["ETag"].startswith('"')
    assert article["id"].startswith("tag:news.example.org,2026-11-02:article:")
    assert article["title"] == "Ação rápida: São Paulo abre 40 novas creches"
    assert article["slug"] == "acao-rapida-sao-paulo-abre-40-novas-creches"
    assert article["url"] == f"{BASE_URL}/articles/acao-rapida-sao-paulo-abre-40-novas-creches"
    assert article["language"] == "pt-BR"  # the site's default
    assert article["status"] == "draft"
    assert article["published_at"] is None
    assert article["body_format"] == "markdown"
    assert article["authors"] == [
        {"name": "Júlia Ramos", "email": "julia@example.org", "url": None}
    ]
    assert article["categories"] == ["Educação", "Cidades"]
    assert article["tags"] == ["creches"]
    assert article["image"] == api_article()["image"]
    for stamp in ("created_at", "updated_at"):
        assert RFC3339.match(article[stamp]), article[stamp]
        assert datetime.fromisoformat(article[stamp]) == clock()

    read = client.get(urlsplit(location).path, headers=auth)
    assert read.status_code == 200
    assert read.get_json() == article
    assert read.headers["ETag"] == response.headers["ETag"]


def test_published_at_keeps_its_instant_whatever_the_offset(
    client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    sent = (clock() - timedelta(hours=1)).astimezone(timezone(timedelta(hours=-3)))
    article = create(client, auth, published_at=sent)
    assert RFC3339.match(article["published_at"])
    assert datetime.fromisoformat(article["published_at"]) == sent


@pytest.mark.parametrize(
    ("published", "status"),
    [
        (timedelta(hours=-1), "published"),
        (timedelta(0), "published"),
        (timedelta(hours=1), "scheduled"),
        (None, "draft"),
    ],
    ids=["past", "now", "future", "absent"],
)
def test_published_at_decides_the_status(
    client: FlaskClient,
    auth: dict[str, str],
    clock: FakeClock,
    published: timedelta | None,
    status: str,
) -> None:
    article = create(client, auth, published_at=None if published is None else clock() + published)
    assert article["status"] == status
    assert fetch(client, auth, article).get_json()["status"] == status


def test_a_scheduled_article_turns_published_when_its_time_comes(
    client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    article = create(client, auth, published_at=clock() + timedelta(hours=1))
    clock.advance(hours=1, seconds=1)
    assert fetch(client, auth, article).get_json()["status"] == "published"


def test_an_explicit_language_is_kept(client: FlaskClient, auth: dict[str, str]) -> None:
    assert create(client, auth, language="en")["language"] == "en"


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Ação rápida: São Paulo", "acao-rapida-sao-paulo"),
        ("Câmara aprova R$ 1,6 bilhão para a saúde", "camara-aprova-r-1-6-bilhao-para-a-saude"),
        ("Coração & pão-de-ló à moda açoriana", "coracao-pao-de-lo-a-moda-acoriana"),
    ],
)
def test_slugs_transliterate_portuguese(
    client: FlaskClient, auth: dict[str, str], title: str, slug: str
) -> None:
    article = create(client, auth, title=title)
    assert article["slug"] == slug
    assert article["url"] == f"{BASE_URL}/articles/{slug}"


def test_a_made_slug_that_is_taken_gets_a_number(client: FlaskClient, auth: dict[str, str]) -> None:
    first = create(client, auth, title="Ação rápida: São Paulo")
    second = create(client, auth, title="Ação rápida: São Paulo")
    assert (first["slug"], second["slug"]) == ("acao-rapida-sao-paulo", "acao-rapida-sao-paulo-2")
    assert first["id"] != second["id"]


def test_an_unknown_article_is_404(client: FlaskClient, auth: dict[str, str]) -> None:
    assert_problem(client.get(f"{ARTICLES}/tag:nowhere,2026:article:x", headers=auth), 404, None)


# -- list ---------------------------------------------------------------------------------


def test_list_is_paginated_newest_first_with_links(
    client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    titles = ["Primeira", "Segunda", "Terceira"]
    for hours, title in enumerate(titles):
        create(client, auth, title=title, published_at=clock() - timedelta(hours=3 - hours))

    first = client.get(f"{ARTICLES}?per_page=2", headers=auth)
    assert first.status_code == 200
    page = first.get_json()
    assert (page["page"], page["per_page"], page["total"]) == (1, 2, 3)
    assert [item["title"] for item in page["items"]] == ["Terceira", "Segunda"]
    assert "prev" not in _links(first)

    next_url = _link(first, "next")
    assert parse_qs(urlsplit(next_url).query) == {"page": ["2"], "per_page": ["2"]}
    second = client.get(next_url, headers=auth)
    assert [item["title"] for item in second.get_json()["items"]] == ["Primeira"]
    assert "next" not in _links(second)
    assert parse_qs(urlsplit(_link(second, "prev")).query) == {"page": ["1"], "per_page": ["2"]}


def _links(response: TestResponse) -> dict[str, str]:
    """rel -> target of a Link header (RFC 8288), in the simple shape the API writes."""
    found = re.findall(r'<([^>]*)>;\s*rel="([^"]+)"', response.headers.get("Link", ""))
    return {rel: target for target, rel in found}


def _link(response: TestResponse, rel: str) -> str:
    links = _links(response)
    assert rel in links, response.headers.get("Link")
    return links[rel]


@pytest.mark.parametrize("status", ["draft", "scheduled", "published"])
def test_list_filters_by_status(
    client: FlaskClient, auth: dict[str, str], clock: FakeClock, status: str
) -> None:
    create(client, auth, title="Rascunho")
    create(client, auth, title="Agendado", published_at=clock() + timedelta(days=1))
    create(client, auth, title="Publicado", published_at=clock() - timedelta(days=1))
    expected = {"draft": "Rascunho", "scheduled": "Agendado", "published": "Publicado"}[status]

    found = listing(client, auth, f"&status={status}")

    assert found["total"] == 1
    assert [(i["title"], i["status"]) for i in found["items"]] == [(expected, status)]
    assert found["items"][0] == fetch(client, auth, found["items"][0]).get_json()


def test_status_filter_links_keep_the_filter(
    client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    for title in ("Um", "Dois", "Três"):
        create(client, auth, title=title)
    create(client, auth, title="Público", published_at=clock())
    response = client.get(f"{ARTICLES}?status=draft&per_page=2", headers=auth)
    assert response.get_json()["total"] == 3
    query = parse_qs(urlsplit(_link(response, "next")).query)
    assert query == {"page": ["2"], "per_page": ["2"], "status": ["draft"]}


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=gone", "status"), ("page=0", "page"), ("per_page=101", "per_page")],
)
def test_a_bad_list_query_is_422(
    client: FlaskClient, auth: dict[str, str], query: str, field: str
) -> None:
    assert_problem(client.get(f"{ARTICLES}?{query}", headers=auth), 422, field)


# -- update -------------------------------------------------------------------------------


def test_patch_is_a_merge_patch(
    client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    created = client.post(ARTICLES, json=api_article(), headers=auth)
    before = created.get_json()
    clock.advance(hours=1)

    response = client.patch(
        path_of(before),
        json={"summary": "Novo resumo.", "tags": ["creches", "educação infantil"]},
        headers=with_if_match(auth, created.headers["ETag"]),
    )

    assert response.status_code == 200
    after = response.get_json()
    assert after["summary"] == "Novo resumo."
    assert after["tags"] == ["creches", "educação infantil"]
    untouched = {k: v for k, v in before.items() if k not in ("summary", "tags", "updated_at")}
    assert {k: after[k] for k in untouched} == untouched
    # Whether a PATCH moves updated_at (a "significant" edit) is decided in app/articles.py.
    assert RFC3339.match(after["updated_at"])
    assert response.headers["ETag"] not in ("", created.headers["ETag"])
    assert fetch(client, auth, before).get_json() == after


def test_put_replaces_every_field_but_the_id(
    client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    created = client.post(ARTICLES, json=api_article(), headers=auth)
    before = created.get_json()
    replacement = {
        "title": "Outro título",
        "body": "Só o corpo.",
        "authors": [{"name": "Rui Costa"}],
    }

    response = client.put(
        path_of(before), json=replacement, headers=with_if_match(auth, created.headers["ETag"])
    )

    assert response.status_code == 200
    after = response.get_json()
    assert after["id"] == before["id"]
    assert after["created_at"] == before["created_at"]
    assert after["slug"] == before["slug"]  # no slug sent: the permalink stays
    assert (after["title"], after["body"]) == ("Outro título", "Só o corpo.")
    assert after["authors"] == [{"name": "Rui Costa", "email": None, "url": None}]
    assert (after["summary"], after["categories"], after["tags"]) == ("", [], [])
    assert (after["image"], after["published_at"], after["status"]) == (None, None, "draft")


def test_a_new_slug_keeps_the_id(client: FlaskClient, auth: dict[str, str]) -> None:
    created = client.post(ARTICLES, json=api_article(), headers=auth)
    before = created.get_json()

    response = client.patch(
        path_of(before),
        json={"slug": "creches-em-sao-paulo"},
        headers=with_if_match(auth, created.headers["ETag"]),
    )

    after = response.get_json()
    assert response.status_code == 200
    assert after["id"] == before["id"]
    assert after["slug"] == "creches-em-sao-paulo"
    assert after["url"] == f"{BASE_URL}/articles/creches-em-sao-paulo"
    assert fetch(client, auth, before).get_json()["slug"] == "creches-em-sao-paulo"


def test_a_title_change_does_not_move_the_slug(client: FlaskClient, auth: dict[str, str]) -> None:
    created = client.post(ARTICLES, json=api_article(), headers=auth)
    before = created.get_json()
    response = client.patch(
        path_of(before),
        json={"title": "Título corrigido"},
        headers=with_if_match(auth, created.headers["ETag"]),
    )
    assert response.get_json()["slug"] == before["slug"]
    assert response.get_json()["id"] == before["id"]


@pytest.mark.parametrize(
    ("field", "after"),
    [("image", None), ("published_at", None), ("summary", "")],
)
def test_patch_null_clears_a_nullable_field(
    client: FlaskClient, auth: dict[str, str], clock: FakeClock, field: str, after: Any
) -> None:
    created = client.post(
        ARTICLES, json=api_article(published_at=clock() - timedelta(hours=1)), headers=auth
    )
    article = created.get_json()
    assert article[field]

    response = client.patch(
        path_of(article), json={field: None}, headers=with_if_match(auth, created.headers["ETag"])
    )

    assert response.status_code == 200
    assert response.get_json()[field] == after
    assert fetch(client, auth, article).get_json()[field] == after


def test_patch_null_published_at_makes_a_draft(
    client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    created = client.post(ARTICLES, json=api_article(published_at=clock()), headers=auth)
    response = client.patch(
        path_of(created.get_json()),
        json={"published_at": None},
        headers=with_if_match(auth, created.headers["ETag"]),
    )
    assert response.get_json()["status"] == "draft"
    assert listing(client, auth, "&status=draft")["total"] == 1


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_a_stale_if_match_is_412_and_changes_nothing(
    client: FlaskClient, auth: dict[str, str], method: str
) -> None:
    created = client.post(ARTICLES, json=api_article(), headers=auth)
    stale = created.headers["ETag"]
    article = created.get_json()
    edit = client.patch(
        path_of(article), json={"title": "Segunda versão"}, headers=with_if_match(auth, stale)
    )
    assert edit.status_code == 200
    current = fetch(client, auth, article)

    response = client.open(
        path_of(article),
        method=method.upper(),
        json=None if method == "delete" else api_article(title="Terceira versão"),
        headers=with_if_match(auth, stale),
    )

    assert_problem(response, 412, None)
    assert response.headers["ETag"] == current.headers["ETag"]  # so the client can re-fetch
    after = fetch(client, auth, article)
    assert after.get_json() == current.get_json()
    assert after.headers["ETag"] == current.headers["ETag"]


def test_a_weak_if_match_never_matches(client: FlaskClient, auth: dict[str, str]) -> None:
    created = client.post(ARTICLES, json=api_article(), headers=auth)
    article = created.get_json()
    response = client.patch(
        path_of(article),
        json={"title": "Outro"},
        headers=with_if_match(auth, "W/" + created.headers["ETag"]),
    )
    assert_problem(response, 412, None)
    assert fetch(client, auth, article).get_json() == article


@pytest.mark.parametrize("method", ["patch", "put"])
def test_an_update_without_if_match_is_428(
    client: FlaskClient, auth: dict[str, str], method: str
) -> None:
    article = create(client, auth)
    response = client.open(
        path_of(article),
        method=method.upper(),
        json=api_article(title="Sem If-Match"),
        headers=auth,
    )
    assert_problem(response, 428, None)
    assert fetch(client, auth, article).get_json() == article


# -- delete -------------------------------------------------------------------------------


def test_delete_is_204_then_the_article_is_gone(client: FlaskClient, auth: dict[str, str]) -> None:
    created = client.post(ARTICLES, json=api_article(), headers=auth)
    article = created.get_json()

    response = client.delete(path_of(article), headers=with_if_match(auth, created.headers["ETag"]))

    assert response.status_code == 204
    assert response.data == b""
    assert_problem(fetch(client, auth, article), 410, None)
    assert listing(client, auth)["total"] == 0
    assert_problem(client.delete(path_of(article), headers=auth), 410, None)
    patch = client.patch(path_of(article), json={"title": "X"}, headers={**auth, "If-Match": "*"})
    assert_problem(patch, 410, None)


def test_delete_without_if_match_is_allowed(client: FlaskClient, auth: dict[str, str]) -> None:
    article = create(client, auth)
    assert client.delete(path_of(article), headers=auth).status_code == 204
    assert fetch(client, auth, article).status_code == 410


# -- refusals: nothing is stored ----------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """A request body sent as is."""

    data: bytes
    content_type: str


BAD_CREATES = [
    # (case, changes to api_article() or a Raw body, status, field named)
    ("missing title", {"title": REMOVE}, 422, "title"),
    ("empty title", {"title": ""}, 422, "title"),
    ("blank title", {"title": "  \x00 "}, 422, "title"),
    ("missing body", {"body": REMOVE}, 422, "body"),
    ("missing authors", {"authors": REMOVE}, 422, "authors"),
    ("no authors", {"authors": []}, 422, "authors"),
    ("unknown field", {"colour": "red"}, 422, "colour"),
    ("unknown nested field", {"image.alt": "x"}, 422, "image.alt"),
    ("title is a number", {"title": 5}, 422, "title"),
    ("authors is a string", {"authors": "x"}, 422, "authors"),
    ("author without name", {"authors": [{"email": "a@example.org"}]}, 422, "authors.0.name"),
    ("bad author email", {"authors.0.email": "not-an-email"}, 422, "authors.0.email"),
    ("categories is a string", {"categories": "x"}, 422, "categories"),
    ("empty category", {"categories": ["Educação", ""]}, 422, "categories.1"),
    ("tags of numbers", {"tags": [1]}, 422, "tags.0"),
    ("image width is a string", {"image.width": "10"}, 422, "image.width"),
    ("image width is negative", {"image.width": -1}, 422, "image.width"),
    ("image is a string", {"image": "https://cdn.example.org/x.jpg"}, 422, "image"),
    ("image type not an image", {"image.type": "text/html"}, 422, "image.type"),
    ("image type unknown, URL without extension",
     {"image": {"url": "https://cdn.example.org/foto"}}, 422, "image.type"),
    ("image type unknown, URL not an image", {"image": {"url": "/docs/edital.pdf"}}, 422,
     "image.type"),
    ("image url javascript", {"image.url": "javascript:alert(1)"}, 422, "image.url"),
    ("image url ftp", {"image.url": "ftp://x"}, 422, "image.url"),
    ("image url not a url", {"image.url": "not a url"}, 422, "image.url"),
    ("image url scheme-relative", {"image.url": "//evil.example/x.jpg"}, 422, "image.url"),
    ("image url control char", {"image.url": "https://cdn.example.org/a\x01.jpg"}, 422,
     "image.url"),
    ("author url javascript", {"authors.0.url": "javascript:alert(1)"}, 422, "authors.0.url"),
    ("author url control char", {"authors.0.url": "https://example.org/\x0b"}, 422,
     "authors.0.url"),
    ("body_format unknown", {"body_format": "rtf"}, 422, "body_format"),
    ("language not a tag", {"language": "português!"}, 422, "language"),
    ("slug not a slug", {"slug": "Não Vale"}, 422, "slug"),
    ("published_at without zone", {"published_at": "2026-11-02T10:00:00"}, 422, "published_at"),
    ("published_at not a date", {"published_at": "amanhã"}, 422, "published_at"),
    ("published_at a number", {"published_at": 1700000000}, 422, "published_at"),
    ("slug taken", {"slug": "taken"}, 409, "slug"),
    ("body over the limit", {"body": "x" * (MAX_BODY + 1)}, 413, "body"),
    ("request over the limit", Raw(b'{"title": "' + b"x" * 70_000 + b'"}', "application/json"),
     413, ""),
    ("not JSON", Raw(b"title=Oi", "application/x-www-form-urlencoded"), 415, None),
    ("plain text", Raw(b'{"title": "Oi"}', "text/plain"), 415, None),
    ("malformed JSON", Raw(b'{"title": "Oi",', "application/json"), 400, ""),
    ("empty body", Raw(b"", "application/json"), 400, ""),
    ("not UTF-8", Raw(b'{"title": "\xff"}', "application/json"), 400, ""),
    ("JSON array", Raw(b"[]", "application/json"), 422, ""),
]  # fmt: skip


@pytest.mark.parametrize("method", ["post", "patch", "put"])
def test_a_body_that_is_not_json_is_a_bad_request_naming_no_field(
    client: FlaskClient, auth: dict[str, str], method: str
) -> None:
    # RFC 9110 section 15.5.1: unparseable content is a malformed request (400), not an
    # article whose fields are wrong (422); and "body" is an article field, so the error
    # must not name it.
    existing = create(client, auth)
    response = getattr(client, method)(
        ARTICLES if method == "post" else path_of(existing),
        data=b'{"title":',
        headers={**auth, "Content-Type": "application/json", "If-Match": "*"},
    )
    problem = assert_problem(response, 400, "")
    assert problem["title"] == "Bad Request"
    assert problem["code"] == "malformed-json"
    assert problem["detail"].startswith("The request body is not valid JSON: ")
    assert "line 1 column 9" in problem["detail"]  # where the parser stopped
    assert problem["errors"] == [{"field": "", "message": problem["detail"]}]
    assert fetch(client, auth, existing).get_json() == existing


@pytest.mark.parametrize("offset", ["-03:00", "+05:45", "Z"])
def test_one_version_has_one_representation_in_every_answer_and_the_export(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock, offset: str
) -> None:
    # The 201 used to echo the times in the offset the client sent, the GET of the same
    # version (same ETag) in UTC.
    sent = (clock.now - timedelta(hours=1)).astimezone(timezone(timedelta(hours=-3)))
    spelled = sent.isoformat(timespec="seconds")
    if offset != "-03:00":
        zone = timezone(timedelta(hours=5, minutes=45)) if offset == "+05:45" else UTC
        spelled = sent.astimezone(zone).isoformat(timespec="seconds").replace("+00:00", "Z")
    created = client.post(ARTICLES, json={**api_article(), "published_at": spelled}, headers=auth)
    assert created.status_code == 201
    fetched = client.get(path_of(created.get_json()), headers=auth)
    assert fetched.headers["ETag"] == created.headers["ETag"]
    (listed,) = listing(client, auth)["items"]
    (line,) = export_lines(app.extensions["broadsheet"].articles)
    exported = json.loads(line)
    assert created.get_json() == fetched.get_json() == listed
    times = {name: listed[name] for name in ("published_at", "created_at", "updated_at")}
    assert times == {name: exported[name] for name in times}
    for value in times.values():
        assert value.endswith("+00:00") and RFC3339.match(value), value
    assert datetime.fromisoformat(times["published_at"]) == sent


def encoded(codec: str) -> bytes:
    """The sample article's JSON, not ASCII-escaped, in ``codec`` (Python's name)."""
    return json.dumps(api_article(), ensure_ascii=False).encode(codec)


@pytest.mark.parametrize(
    "codec", ["latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]
)
def test_a_body_not_in_utf_8_is_a_bad_request_that_says_so(
    client: FlaskClient, auth: dict[str, str], codec: str
) -> None:
    # RFC 8259 section 8.1: JSON exchanged between systems is UTF-8. The answer says so,
    # rather than where a UTF-8 parser happened to stop.
    response = client.post(
        ARTICLES, data=encoded(codec), headers={**auth, "Content-Type": "application/json"}
    )
    problem = assert_problem(response, 400, "")
    assert problem["code"] == "malformed-json"
    assert problem["detail"].startswith("The request body is not UTF-8")
    assert "must be UTF-8 (RFC 8259 section 8.1)" in problem["detail"]
    assert problem["errors"] == [{"field": "", "message": problem["detail"]}]
    assert listing(client, auth)["total"] == 0


def test_a_utf_8_byte_order_mark_is_ignored(client: FlaskClient, auth: dict[str, str]) -> None:
    # RFC 8259 section 8.1: a parser MAY ignore a byte order mark rather than refuse it.
    response = client.post(
        ARTICLES,
        data=encoded("utf-8-sig"),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["title"] == api_article()["title"]


def test_a_json_document_that_is_not_an_object_names_no_field(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    response = client.post(ARTICLES, json=["título"], headers=auth)
    problem = assert_problem(response, 422, "")
    assert problem["errors"] == [
        {"field": "", "message": "The request body must be a JSON object."}
    ]
    assert problem["detail"] == ("The article is invalid. The request body must be a JSON object.")


@pytest.mark.parametrize(
    ("case", "request_body", "status", "field"), BAD_CREATES, ids=[row[0] for row in BAD_CREATES]
)
def test_bad_input_is_refused_and_nothing_is_stored(
    client: FlaskClient,
    auth: dict[str, str],
    case: str,
    request_body: dict[str, Any] | Raw,
    status: int,
    field: str | None,
) -> None:
    existing = create(client, auth, slug="taken", title="Já existe")

    if isinstance(request_body, Raw):
        response = client.post(
            ARTICLES,
            data=request_body.data,
            headers={**auth, "Content-Type": request_body.content_type},
        )
    else:
        response = client.post(ARTICLES, json=changed(api_article(), request_body), headers=auth)

    assert_problem(response, status, field)
    assert "Location" not in response.headers
    assert listing(client, auth)["items"] == [existing], case


DATE_EXPECTED = (
    "expected an RFC 3339 date-time with an offset, such as 2026-11-28T09:00:00-03:00, "
    "between 1970-01-01 and 9999-12-30 in UTC"
)
NOT_DATES = [
    "1700000000",  # epoch seconds: was taken for 2023-11-14
    "1700000000.5",
    "2026-11-28",
    "2026-11-28T09:00:00",
    "2026-11-28T09:00",
    "2026-11-28T09:00Z",  # RFC 3339 requires the seconds
    "2026-11-28 09:00:00-03:00",
    "2026-11-28_09:00:00Z",
    "20261128T090000Z",
    "2026-11-28T09:00:00-0300",
    "2026-11-28T09:00:00,5Z",
    "2026-11-28T09:00:00-03",
    "2026-11-31T09:00:00Z",
    "2026-11-28T25:00:00Z",
    "2026-11-28T09:00:00+24:00",
    "99999-11-28T09:00:00Z",
    "+2026-11-28T09:00:00Z",
    "\uff12\uff10\uff12\uff16-11-28T09:00:00Z",  # digits, but not ASCII ones
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:59:59+01:00",  # 1969 in UTC
    "0001-01-02T00:00:00Z",
    "9999-12-31T00:00:00Z",
    "now",
    "",
    1700000000,
    1700000000.5,
    True,
    ["2026-11-28T09:00:00Z"],
    {"date": "2026-11-28T09:00:00Z"},
]


@pytest.mark.parametrize("method", ["post", "patch", "put"])
@pytest.mark.parametrize("value", NOT_DATES, ids=[repr(value) for value in NOT_DATES])
def test_a_date_that_is_not_rfc_3339_with_an_offset_is_refused_showing_the_form(
    client: FlaskClient, auth: dict[str, str], method: str, value: Any
) -> None:
    existing = create(client, auth)
    sent = {"published_at": value}
    response = client.open(
        ARTICLES if method == "post" else path_of(existing),
        method=method.upper(),
        json=sent if method == "patch" else {**api_article(), **sent},
        headers=with_if_match(auth, "*"),
    )
    problem = assert_problem(response, 422, "published_at")
    assert problem["errors"] == [{"field": "published_at", "message": DATE_EXPECTED}]
    assert problem["detail"] == f"The article is invalid. published_at: {DATE_EXPECTED}"
    assert listing(client, auth)["items"] == [existing]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000+00:00"),
        ("1970-01-01T01:00:00+01:00", "1970-01-01T00:00:00.000000+00:00"),
        ("2026-11-28t09:00:00z", "2026-11-28T09:00:00.000000+00:00"),
        ("2026-11-28T09:00:00-00:00", "2026-11-28T09:00:00.000000+00:00"),  # RFC 3339 4.3
        ("2026-11-28T09:00:00.5-03:00", "2026-11-28T12:00:00.500000+00:00"),
        ("2026-11-28T09:00:00.123456789+05:45", "2026-11-28T03:15:00.123456+00:00"),
        ("9999-12-30T23:59:59.999999Z", "9999-12-30T23:59:59.999999+00:00"),
    ],
)
def test_every_rfc_3339_spelling_of_a_date_in_range_is_accepted(
    client: FlaskClient, auth: dict[str, str], sent: str, stored: str
) -> None:
    response = client.post(ARTICLES, json={**api_article(), "published_at": sent}, headers=auth)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["published_at"] == stored


BAD_UPDATES = [
    # (case, method, body, status, field named)
    ("null title", "patch", {"title": None}, 422, "title"),
    ("null slug", "patch", {"slug": None}, 422, "slug"),
    ("null authors", "patch", {"authors": None}, 422, "authors"),
    ("null body", "patch", {"body": None}, 422, "body"),
    ("empty title", "patch", {"title": ""}, 422, "title"),
    ("unknown field", "patch", {"status": "published"}, 422, "status"),
    ("read-only id", "patch", {"id": "tag:x,2026:article:y"}, 422, "id"),
    ("title is a number", "patch", {"title": 5}, 422, "title"),
    ("image url javascript", "patch", {"image": {"url": "javascript:alert(1)"}}, 422, "image.url"),
    ("published_at without zone", "patch", {"published_at": "2026-11-02T10:00"}, 422,
     "published_at"),
    ("slug taken", "patch", {"slug": "taken"}, 409, "slug"),
    ("body over the limit", "patch", {"body": "x" * (MAX_BODY + 1)}, 413, "body"),
    ("put without title", "put", changed(api_article(), {"title": REMOVE}), 422, "title"),
    ("put with unknown field", "put", api_article(views=3), 422, "views"),
    ("put with taken slug", "put", api_article(slug="taken"), 409, "slug"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "method", "body", "status", "field"), BAD_UPDATES, ids=[row[0] for row in BAD_UPDATES]
)
def test_bad_updates_are_refused_and_change_nothing(
    client: FlaskClient,
    auth: dict[str, str],
    case: str,
    method: str,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    create(client, auth, slug="taken", title="Já existe")
    created = client.post(ARTICLES, json=api_article(), headers=auth)
    article = created.get_json()

    response = client.open(
        path_of(article),
        method=method.upper(),
        json=body,
        headers=with_if_match(auth, created.headers["ETag"]),
    )

    assert_problem(response, status, field)
    now = fetch(client, auth, article)
    assert now.get_json() == article, case
    assert now.headers["ETag"] == created.headers["ETag"]


REQUEST_LIMIT = MAX_BODY + 65_536


@pytest.mark.parametrize(
    ("case", "method", "data", "detail", "field"),
    [
        ("article body a byte over", "post", None,
         f"The article body is over the limit of {MAX_BODY} bytes.", "body"),
        ("article body a byte over", "patch", None,
         f"The article body is over the limit of {MAX_BODY} bytes.", "body"),
        ("request refused unread", "post", b"x" * (REQUEST_LIMIT + 1),
         f"The request body is over the limit of {REQUEST_LIMIT} bytes.", ""),
        ("request refused unread", "put", b"x" * (10 * REQUEST_LIMIT),
         f"The request body is over the limit of {REQUEST_LIMIT} bytes.", ""),
    ],
)  # fmt: skip
def test_every_413_is_the_same_problem_naming_its_limit(
    client: FlaskClient,
    auth: dict[str, str],
    case: str,
    method: str,
    data: bytes | None,
    detail: str,
    field: str,
) -> None:
    # A body just over api.max_body_bytes (the use case refuses it) and a request far over
    # the request limit (Werkzeug refuses it unread) used to answer two different 413s.
    created = client.post(ARTICLES, json=api_article(), headers=auth)
    headers = with_if_match(auth, created.headers["ETag"])
    target = ARTICLES if method == "post" else path_of(created.get_json())
    if data is None:
        body = "ç" * (MAX_BODY // 2) + "x"  # over in UTF-8 bytes, not in characters
        sent = {"body": body} if method == "patch" else api_article(body=body)
        response = client.open(target, method=method.upper(), json=sent, headers=headers)
    else:
        headers["Content-Type"] = "application/json"
        response = client.open(target, method=method.upper(), data=data, headers=headers)
    problem = assert_problem(response, 413, field)
    assert problem == {
        "type": "about:blank",
        "title": "Content Too Large",  # RFC 9110 section 15.5.14
        "status": 413,
        "detail": detail,
        "code": "content-too-large",
        "errors": [{"field": field, "message": problem["errors"][0]["message"]}],
    }, case
    assert str(MAX_BODY if field else REQUEST_LIMIT) in problem["errors"][0]["message"]
    assert listing(client, auth)["total"] == 1


def send_over_http(
    live: LiveServer, headers: dict[str, str], body: bytes, chunked: bool
) -> tuple[int, dict[str, Any]]:
    """POST ``body`` to the articles over a real connection, framed by Content-Length or as
    chunks of 8 KiB (``Transfer-Encoding: chunked``, RFC 9112 section 7.1); the status and
    the JSON answer."""
    connection = http.client.HTTPConnection(live.host, live.port, timeout=10)
    try:
        if chunked:
            chunks = (body[start : start + 8192] for start in range(0, len(body), 8192))
            connection.request("POST", ARTICLES, body=chunks, headers=headers, encode_chunked=True)
        else:
            connection.request("POST", ARTICLES, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def padded(size: int) -> bytes:
    """The sample article's JSON, padded with JSON whitespace to exactly ``size`` bytes."""
    document = json.dumps(api_article()).encode()
    return document[:-1] + b" " * (size - len(document)) + b"}"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_request_over_the_limit_is_413_however_it_is_framed(
    app: Flask, client: FlaskClient, auth: dict[str, str], chunked: bool
) -> None:
    # Without Content-Length, Werkzeug stops reading a chunked body at the limit; the
    # truncated JSON was answered "400 malformed-json" rather than 413.
    headers = {**auth, "Content-Type": "application/json"}
    with serve(app) as live:
        over = send_over_http(live, headers, padded(REQUEST_LIMIT + 1), chunked)
        at_the_limit = send_over_http(live, headers, padded(REQUEST_LIMIT), chunked)
    detail = f"The request body is over the limit of {REQUEST_LIMIT} bytes."
    assert over == (
        413,
        {
            "type": "about:blank",
            "title": "Content Too Large",
            "status": 413,
            "detail": detail,
            "code": "content-too-large",
            "errors": [{"field": "", "message": detail}],
        },
    )
    assert at_the_limit[0] == 201, at_the_limit
    assert listing(client, auth)["total"] == 1


@pytest.mark.parametrize(
    "title", ["", "  \x00 "], ids=["refused by the model", "refused by the use case"]
)
def test_an_invalid_article_is_described_in_the_same_words_whichever_rule_refused_it(
    client: FlaskClient, auth: dict[str, str], title: str
) -> None:
    response = client.post(ARTICLES, json=api_article(title=title), headers=auth)
    problem = assert_problem(response, 422, "title")
    assert problem["detail"].startswith("The article is invalid. title: "), problem


@pytest.mark.parametrize("method", ["post", "patch", "put"])
def test_a_taken_slug_is_a_conflict_that_names_the_slug(
    client: FlaskClient, auth: dict[str, str], method: str
) -> None:
    create(client, auth, slug="taken", title="Já existe")
    created = client.post(ARTICLES, json=api_article(), headers=auth)
    response = client.open(
        ARTICLES if method == "post" else path_of(created.get_json()),
        method=method.upper(),
        json={"slug": "taken"} if method == "patch" else api_article(slug="taken"),
        headers=with_if_match(auth, created.headers["ETag"]),
    )
    problem = assert_problem(response, 409, "slug")
    assert problem["code"] == "slug-taken"
    assert problem["errors"] == [
        {"field": "slug", "message": "'taken' is already used by another article"}
    ]
    assert problem["detail"] == "The slug 'taken' is already used by another article."


def test_an_update_that_is_not_json_is_415(client: FlaskClient, auth: dict[str, str]) -> None:
    created = client.post(ARTICLES, json=api_article(), headers=auth)
    response = client.patch(
        path_of(created.get_json()),
        data="title=Oi",
        headers={**with_if_match(auth, created.headers["ETag"]), "Content-Type": "text/plain"},
    )
    assert_problem(response, 415, None)
    assert fetch(client, auth, created.get_json()).get_json() == created.get_json()


# -- authentication -----------------------------------------------------------------------

UNAUTHENTICATED = [
    ("missing", None),
    ("wrong token", "Bearer bst_thisisnotatokenthisisnotatokenthisisnotat"),
    ("not prefixed", "Bearer abc123"),
    ("empty bearer", "Bearer "),
    ("basic scheme", "Basic dXNlcjpwYXNz"),
    ("token without scheme", "{token}"),
    ("revoked", "Bearer {token}"),
]


@pytest.mark.parametrize(
    ("case", "header"), UNAUTHENTICATED, ids=[row[0] for row in UNAUTHENTICATED]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", ARTICLES), ("GET", f"{ARTICLES}/x")],
)
def test_every_bad_token_gets_the_same_401(
    app: Flask,
    client: FlaskClient,
    clock: FakeClock,
    token: str,
    case: str,
    header: str | None,
    method: str,
    path: str,
) -> None:
    access = app.extensions["broadsheet"].access
    _, other = access.create_token("auditor", clock())
    reader = {"Authorization": f"Bearer {other}"}
    reference = client.open(path, method=method, json=api_article())
    if case == "revoked":
        access.revoke_token("tests", clock())
    headers = {} if header is None else {"Authorization": header.format(token=token)}

    response = client.open(path, method=method, json=api_article(), headers=headers)

    assert_problem(response, 401, None)
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert response.get_json() == reference.get_json()  # does not say which check failed
    assert listing(client, reader)["total"] == 0


def test_the_scheme_is_case_insensitive_and_revoking_stops_the_token(
    app: Flask, client: FlaskClient, token: str, clock: FakeClock
) -> None:
    for scheme in ("Bearer", "bearer", "BEARER"):
        assert (
            client.get(ARTICLES, headers={"Authorization": f"{scheme} {token}"}).status_code == 200
        )
    app.extensions["broadsheet"].access.revoke_token("tests", clock())
    assert client.get(ARTICLES, headers={"Authorization": f"Bearer {token}"}).status_code == 401


# -- content ------------------------------------------------------------------------------

HOSTILE_HTML = (
    '<p onclick="steal()">Oi <a href="javascript:alert(1)">link</a></p>'
    "<script>alert(1)</script>"
    '<img src="/img/a.jpg" onerror="alert(2)" alt="a">'
    '<a href="noticias/outra">relativo</a>'
    '<a href="JaVaScRiPt:alert(3)">caps</a>'
    '<iframe src="https://evil.example/"></iframe>'
    '<svg onload="alert(4)"><circle/></svg>'
)
HOSTILE_MARKDOWN = (
    "Oi [link](javascript:alert(1)) e [relativo](noticias/outra)\n\n"
    "![a](/img/a.jpg)\n\n<script>alert(1)</script>\n\n"
    '<img src="x" onerror="alert(2)">'
)


@pytest.mark.parametrize(
    ("body_format", "body"), [("html", HOSTILE_HTML), ("markdown", HOSTILE_MARKDOWN)]
)
def test_body_html_is_sanitised_and_absolute(
    client: FlaskClient, auth: dict[str, str], body_format: str, body: str
) -> None:
    article = create(client, auth, body=body, body_format=body_format)
    assert article["body"] == body  # what the publisher sent is kept as sent

    fragment = lxml.html.fragment_fromstring(article["body_html"], create_parent="div")

    tags = {element.tag for element in fragment.iter()}
    assert not tags & {"script", "iframe", "svg", "style"}
    attributes = [(name, value) for el in fragment.iter() for name, value in el.attrib.items()]
    assert not [name for name, _ in attributes if name.lower().startswith("on")]
    urls = [value for name, value in attributes if name in ("href", "src")]
    assert urls, "the body keeps its links and images"
    assert all(url.startswith(f"{BASE_URL}/") for url in urls), urls
    assert f"{BASE_URL}/img/a.jpg" in urls
    assert f"{BASE_URL}/noticias/outra" in urls
    # Markdown may leave a refused link as plain text; no attribute may carry the scheme.
    assert not [value for _, value in attributes if "javascript" in value.lower()]
    assert "Oi" in fragment.text_content()


def test_relative_image_and_author_urls_become_absolute(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    body = changed(api_article(), {"image.url": "/img/capa.jpg", "authors.0.url": "/autores/julia"})
    response = client.post(ARTICLES, json=body, headers=auth)
    article = response.get_json()
    assert article["image"]["url"] == f"{BASE_URL}/img/capa.jpg"
    assert article["authors"][0]["url"] == f"{BASE_URL}/autores/julia"


def test_xml_forbidden_characters_are_removed_from_every_text_field(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    def dirty(text: str) -> str:
        return text[:2] + XML_FORBIDDEN + text[2:]

    body = api_article(
        published_at=clock(),  # published, so that it reaches the feeds
        title=dirty("Creches abertas"),
        summary=dirty("Resumo curto."),
        body=dirty("Texto\tcom\ncontrole."),
        authors=[{"name": dirty("Júlia Ramos"), "email": "ju\x00\x01lia@example.org"}],
        categories=[dirty("Educação")],
        tags=[dirty("creches")],
    )
    body["image"].update(caption=dirty("Sala de aula."), credit=dirty("Foto: Pedro"))

    response = client.post(ARTICLES, json=body, headers=auth)
    assert response.status_code == 201, response.get_json()
    article = response.get_json()

    assert article["title"] == "Creches abertas"
    assert article["summary"] == "Resumo curto."
    assert article["body"] == "Texto\tcom\ncontrole."  # tab and newline are XML characters
    assert article["authors"][0]["name"] == "Júlia Ramos"
    assert article["authors"][0]["email"] == "julia@example.org"
    assert (article["categories"], article["tags"]) == (["Educação"], ["creches"])
    assert (article["image"]["caption"], article["image"]["credit"]) == (
        "Sala de aula.",
        "Foto: Pedro",
    )
    forbidden = re.compile(f"[{re.escape(XML_FORBIDDEN)}]")
    assert not [s for s in strings_in(article) if forbidden.search(s)]
    assert fetch(client, auth, article).get_json() == article

    # The proof that matters: the article reaches every feed and every feed still parses.
    report = app.extensions["broadsheet"].renderer.render_due_feeds(clock())
    assert report.failed == []
    assert _feed_ids(client) == {fmt: [article["id"]] for fmt in ("rss", "atom", "json")}


# -- feeds --------------------------------------------------------------------------------


def _feed_ids(client: FlaskClient, prefix: str = "") -> dict[str, list[str]]:
    """The entry ids of the three feeds at ``prefix``, each checked by its validator."""
    rss = client.get(f"{prefix}/feed.rss")
    atom = client.get(f"{prefix}/feed.atom")
    json_feed = client.get(f"{prefix}/feed.json")
    assert (rss.status_code, atom.status_code, json_feed.status_code) == (200, 200, 200)
    return {
        "rss": [entry.id for entry in assert_valid_rss(rss.data).entries],
        "atom": [entry.id for entry in assert_valid_atom(atom.data).entries],
        "json": [item["id"] for item in assert_valid_json_feed(json_feed.data)["items"]],
    }


def _feed_titles(client: FlaskClient) -> list[str]:
    return [entry.title for entry in assert_valid_atom(client.get("/feed.atom").data).entries]


def test_a_published_article_reaches_every_feed_with_its_id(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    renderer = app.extensions["broadsheet"].renderer
    article = create(client, auth, published_at=clock() - timedelta(minutes=5))

    renderer.render_due_feeds(clock())

    assert _feed_ids(client) == {fmt: [article["id"]] for fmt in ("rss", "atom", "json")}
    category = client.get("/category/educacao/feed.atom")
    assert category.status_code == 200
    assert [entry.id for entry in assert_valid_atom(category.data).entries] == [article["id"]]
    links = [entry.link for entry in assert_valid_rss(client.get("/feed.rss").data).entries]
    assert links == [article["url"]]


@pytest.mark.parametrize(
    ("url", "media_type"),
    [
        ("https://cdn.example.org/creche.JPG?w=1600#capa", "image/jpeg"),
        ("/img/creche.webp", "image/webp"),
        ("https://cdn.example.org/2026/11/mapa.svg", "image/svg+xml"),
    ],
)
def test_a_lead_image_without_type_or_length_still_becomes_every_enclosure(
    app: Flask,
    client: FlaskClient,
    auth: dict[str, str],
    clock: FakeClock,
    url: str,
    media_type: str,
) -> None:
    # The type comes from the URL's extension; the unknown length is stored as 0, which
    # RSS writes (RSS Advisory Board profile) and Atom and JSON Feed, where it is
    # optional, leave out rather than claim an empty file.
    article = create(client, auth, image={"url": url}, published_at=clock())
    assert (article["image"]["type"], article["image"]["length"]) == (media_type, 0)
    absolute = article["image"]["url"]
    app.extensions["broadsheet"].renderer.render_due_feeds(clock())

    rss = assert_valid_rss(client.get("/feed.rss").data).entries[0]
    assert [(e["href"], e["type"], e["length"]) for e in rss.enclosures] == [
        (absolute, media_type, "0")
    ]
    atom = assert_valid_atom(client.get("/feed.atom").data).entries[0]
    assert [(e["href"], e["type"]) for e in atom.enclosures] == [(absolute, media_type)]
    assert "length" not in atom.enclosures[0]
    item = assert_valid_json_feed(client.get("/feed.json").data)["items"][0]
    assert item["attachments"] == [{"url": absolute, "mime_type": media_type}]


def test_edits_reach_the_feeds_under_the_same_id(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    renderer = app.extensions["broadsheet"].renderer
    created = client.post(ARTICLES, json=api_article(published_at=clock()), headers=auth)
    article = created.get_json()
    renderer.render_due_feeds(clock())
    clock.advance(minutes=10)

    edit = client.patch(
        path_of(article),
        json={"title": "Creches: prefeitura corrige número", "slug": "creches-corrigido"},
        headers=with_if_match(auth, created.headers["ETag"]),
    )
    assert edit.status_code == 200
    renderer.render_due_feeds(clock())

    assert _feed_ids(client) == {fmt: [article["id"]] for fmt in ("rss", "atom", "json")}
    assert _feed_titles(client) == ["Creches: prefeitura corrige número"]
    json_items = assert_valid_json_feed(client.get("/feed.json").data)["items"]
    assert json_items[0]["url"] == f"{BASE_URL}/articles/creches-corrigido"


def test_drafts_and_scheduled_articles_stay_out_of_the_feeds_until_due(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    renderer = app.extensions["broadsheet"].renderer
    create(client, auth, title="Rascunho")
    scheduled = create(client, auth, title="Agendado", published_at=clock() + timedelta(hours=1))
    renderer.render_due_feeds(clock())
    assert _feed_ids(client) == {"rss": [], "atom": [], "json": []}

    clock.advance(hours=1)
    renderer.render_due_feeds(clock())
    assert _feed_ids(client) == {fmt: [scheduled["id"]] for fmt in ("rss", "atom", "json")}


def test_a_deleted_article_leaves_the_feeds(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    renderer = app.extensions["broadsheet"].renderer
    kept = create(client, auth, title="Fica", published_at=clock() - timedelta(hours=2))
    gone = create(client, auth, title="Sai", published_at=clock() - timedelta(hours=1))
    renderer.render_due_feeds(clock())
    assert _feed_ids(client)["atom"] == [gone["id"], kept["id"]]

    assert client.delete(path_of(gone), headers=auth).status_code == 204
    renderer.render_due_feeds(clock())

    assert _feed_ids(client) == {fmt: [kept["id"]] for fmt in ("rss", "atom", "json")}


def test_only_a_significant_edit_moves_updated_at(
    client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    created = client.post("/api/v1/articles", json=api_article(clock()), headers=auth)
    original = created.json["updated_at"]
    clock.advance(hours=1)
    silent = client.patch(
        created.headers["Location"].removeprefix("https://news.example.org"),
        json={"title": "Título corrigido"},
        headers={**auth, "If-Match": created.headers["ETag"]},
    )
    assert silent.status_code == 200
    assert silent.json["updated_at"] == original
    clock.advance(hours=1)
    loud = client.patch(
        created.headers["Location"].removeprefix("https://news.example.org"),
        json={"summary": "Nova informação.", "significant": True},
        headers={**auth, "If-Match": silent.headers["ETag"]},
    )
    assert loud.status_code == 200
    assert datetime.fromisoformat(loud.json["updated_at"]) == clock()
    assert "significant" not in loud.json
