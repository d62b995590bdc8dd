"""The OpenAPI document of /api/v1, its documentation page, and the API held to the
document by schemathesis over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote
from urllib.parse import urlsplit

import jsonschema_rs
import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.specs.openapi.checks import response_headers_conformance
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.checks import status_code_conformance
from schemathesis.specs.openapi.definitions import OPENAPI_31

from app.content import is_valid_slug
from app.domain import ClientCount
from app.domain import PollCount
from app.domain import SubscriberReport
from app.input_values import check_email
from app.input_values import check_url
from app.language_tags import is_language_tag
from app.settings_sources import load_settings
from app.web import api
from app.web import openapi
from app.web.api_schemas import ArticleList
from app.web.api_schemas import ArticleOut
from app.web.api_schemas import PollStats
from app.web.api_schemas import ProblemDetails
from app.web.apidocs import DOCS_POLICY
from app.web.openapi import build_document
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.factories import api_article
from tests.live import real_clock_environment
from tests.live import serve

SPEC = "/api/v1/openapi.json"
ARTICLES = "/api/v1/articles"
EXAMPLES_PER_OPERATION = 50
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
AUTOMATIC_METHODS = {"HEAD", "OPTIONS"}


# Schemathesis sends requests without the token on purpose; the address must not be
# locked out (429) for the rest of the run after a handful of them.
OVERRIDES = {"api_auth_max_failures": 100_000}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: the document does not depend on the database."""
    return sqlite_url


@pytest.fixture
def overrides(database_url: str) -> dict[str, Any]:
    return settings_for(database_url, **OVERRIDES)


def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get(SPEC)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return dict(response.get_json())


def assert_conforms(spec: dict[str, Any], name: str, instance: Any) -> None:
    """``instance`` is valid against the document's schema ``name`` (formats checked)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    jsonschema_rs.Draft202012Validator(schema, validate_formats=True).validate(instance)


# -- the document -------------------------------------------------------------------------


def test_the_document_is_public_and_valid_openapi_3_1(client: FlaskClient) -> None:
    spec = document(client)  # no Authorization header
    assert spec["openapi"] == "3.1.0"
    # The OpenAPI 3.1 schema (as published by the OpenAPI Initiative, bundled by schemathesis).
    jsonschema_rs.Draft202012Validator(OPENAPI_31).validate(spec)
    for schema in spec["components"]["schemas"].values():
        jsonschema_rs.meta.validate(schema)
    assert spec["security"] == [{"bearerAuth": []}]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"][SPEC]["get"]["security"] == []
    examples = 0
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for media in operation.get("requestBody", {}).get("content", {}).values():
                assert_conforms(spec, media["schema"]["$ref"].rsplit("/", 1)[1], media["example"])
                examples += 1
    assert examples == 5  # POST, PATCH (two media types), PUT; a collection's PUT


def test_every_api_rule_is_documented_and_every_documented_operation_exists(
    app: Flask, client: FlaskClient
) -> None:
    routed = set()
    for rule in app.url_map.iter_rules():
        # The documentation page is HTML for people, not an operation of the API.
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api_docs."):
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<path:{argument}>", f"{{{argument}}}")
            path = path.replace(f"<{argument}>", f"{{{argument}}}")
        routed |= {(method, path) for method in (rule.methods or set()) - AUTOMATIC_METHODS}
    spec = document(client)
    documented = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert routed == documented


def test_the_served_document_is_the_one_schemathesis_tests(client: FlaskClient) -> None:
    assert document(client) == DOCUMENT


def test_bounds_come_from_the_settings(client: FlaskClient, app: Flask) -> None:
    settings = app.extensions["broadsheet"].settings
    parameters = document(client)["components"]["parameters"]
    assert parameters["per_page"]["schema"]["maximum"] == settings.api_max_page_size
    assert parameters["per_page"]["schema"]["default"] == settings.api_page_size


def test_patch_fields_that_cannot_be_cleared_are_not_nullable(client: FlaskClient) -> None:
    schemas = document(client)["components"]["schemas"]
    patch = schemas["ArticlePatch"]["properties"]
    for name in api._NOT_NULLABLE:
        assert "anyOf" not in patch[name] and patch[name].get("type") != "null", name
    for name in ("image", "published_at", "summary", "language"):
        assert {"type": "null"} in patch[name]["anyOf"], name


def _string_schema(model: str, field: str) -> dict[str, Any]:
    schema = DOCUMENT["components"]["schemas"][model]["properties"][field]
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string":
            return dict(branch)
    raise AssertionError(f"{model}.{field} is not a string")


def _accepts(check: Callable[[str], bool]) -> Callable[[str], object]:
    def checked(value: str) -> object:
        if not check(value):
            raise ValueError(f"refused {value!r}")
        return value

    return checked


PATTERN_CHECKS: dict[tuple[str, str], Callable[[str], object]] = {
    ("ImageModel", "url"): check_url,
    ("AuthorModel", "url"): check_url,
    ("AuthorModel", "email"): check_email,
    ("ArticleCreate", "slug"): _accepts(is_valid_slug),
    ("ArticlePatch", "language"): _accepts(is_language_tag),
}


@pytest.mark.parametrize(("model", "field"), list(PATTERN_CHECKS))
def test_what_a_documented_pattern_matches_the_code_accepts(model: str, field: str) -> None:
    """The patterns document checks made in code; they must not promise more."""
    schema = _string_schema(model, field)
    check = PATTERN_CHECKS[(model, field)]

    @settings(max_examples=100, derandomize=True, database=None)
    @given(st.from_regex(schema["pattern"], fullmatch=True))
    def accepted(value: str) -> None:
        assume(len(value) <= schema.get("maxLength", len(value)))
        check(value)

    accepted()


# -- the response models are what the views write ------------------------------------------


def test_represent_writes_exactly_an_article_out(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    spec = document(client)
    image = {
        "url": "/static/demo/tram.svg",
        "type": "image/svg+xml",
        "length": 3303,
        "width": 1200,
        "height": 675,
        "caption": "A nova ciclovia",
        "credit": "Foto: Redação",
    }
    bodies = [
        api_article(published_at=clock.now - timedelta(hours=1), image=image),
        api_article(title="Rascunho", image=None, authors=[{"name": "A", "url": "/a"}]),
        api_article(title="Agendado", published_at=clock.now + timedelta(days=1)),
    ]
    created = []
    for body in bodies:
        response = client.post(ARTICLES, json=body, headers=auth)
        assert response.status_code == 201, response.get_json()
        created.append(response.get_json())
    articles = app.extensions["broadsheet"].articles
    for representation in created:
        with app.test_request_context():
            direct = api._represent(articles.get_article(representation["id"]))
        assert list(direct) == list(ArticleOut.model_fields)
        ArticleOut.model_validate(direct)
        assert direct == representation
        assert_conforms(spec, "ArticleOut", representation)
    assert {article["status"] for article in created} == {"published", "draft", "scheduled"}
    listing = client.get(f"{ARTICLES}?per_page=2", headers=auth)
    ArticleList.model_validate(listing.get_json())
    assert_conforms(spec, "ArticleList", listing.get_json())


def test_poll_stats_are_a_poll_stats(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    day = clock.now.date().isoformat()
    app.extensions["broadsheet"].feeds.record_polls(
        [PollCount("site/rss", day, requests=4, not_modified=3, bytes_sent=900)],
        [ClientCount("site/rss", "Feedly", 4, None, clock.now)],
        [SubscriberReport("site/rss", "Feedly", "Feedly/1.0 (N subscribers)", 120, clock.now)],
    )
    response = client.get("/api/v1/stats?days=7", headers=auth)
    assert response.status_code == 200
    stats = response.get_json()
    assert stats["feeds"] and stats["feeds"][0]["clients"]
    PollStats.model_validate(stats)
    assert_conforms(document(client), "PollStats", stats)


def test_problems_are_problem_details(client: FlaskClient, auth: dict[str, str]) -> None:
    spec = document(client)
    answers = [
        client.get(ARTICLES),
        client.get(f"{ARTICLES}/nope", headers=auth),
        client.post(ARTICLES, json={"title": ""}, headers=auth),
        client.post(ARTICLES, data="x", headers=auth),
        # Each of these was a 500: int("²") after "²".isdigit(), int() of 5000 digits, a
        # time UTC cannot hold, an integer SQLite cannot store.
        client.get(f"{ARTICLES}?page=%C2%B2&per_page=9{'9' * 5000}", headers=auth),
        client.get("/api/v1/stats?days=%C2%B2", headers=auth),
        client.post(ARTICLES, json={**api_article(), "published_at": "0001-01-01T00:00:00+01:00"},
                    headers=auth),
        client.post(ARTICLES, json=api_article(image={"url": "/i.png", "length": 2**63}),
                    headers=auth),
    ]  # fmt: skip
    assert [answer.status_code for answer in answers] == [401, 404, 422, 415, 422, 422, 422, 422]
    for answer in answers:
        assert answer.mimetype == "application/problem+json"
        ProblemDetails.model_validate(answer.get_json())
        assert_conforms(spec, "ProblemDetails", answer.get_json())


# -- the documentation page ----------------------------------------------------------------

DOCS = "/api/v1/docs"
ASSET_TYPES = {
    # RFC 9239 names text/javascript; browsers run the obsolete application/javascript too,
    # and which one Flask sends depends on the system's mime.types.
    ".js": {"text/javascript", "application/javascript"},
    ".css": {"text/css"},
    ".png": {"image/png"},
    ".json": {"application/json"},
}


class _References(HTMLParser):
    """Every URL an HTML page loads or points to: src, href and data-*-url attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is not None and (
                name in ("src", "href") or (name.startswith("data-") and name.endswith("-url"))
            ):
                self.found.append((f"{tag} {name}", value))


def test_the_docs_page_is_public_and_everything_it_loads_is_ours(app: Flask) -> None:
    with serve(app) as live:
        page = live.request("GET", DOCS)  # no Authorization header
        assert page.status == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["content-security-policy"] == DOCS_POLICY
        parser = _References()
        parser.feed(page.body.decode("utf-8"))
        kinds = sorted(kind for kind, _ in parser.found)
        assert kinds == [
            "div data-openapi-url",
            "link href",
            "link href",
            "script src",
            "script src",
        ]
        for kind, url in parser.found:
            parts = urlsplit(url)
            # Relative, or absolute on the host that served the page: never another host.
            assert parts.netloc in ("", f"{live.host}:{live.port}"), (kind, url)
            answer = live.request("GET", parts.path)
            assert answer.status == 200, (kind, url)
            media_type = answer.headers["content-type"].split(";")[0]
            assert media_type in ASSET_TYPES[PurePosixPath(parts.path).suffix], (kind, url)
            assert answer.body, (kind, url)


@pytest.mark.parametrize(
    "path", ["/index.css", "/oauth2-redirect.html", "/VERSION", "/..%2FVERSION", "/LICENSE"]
)
def test_the_docs_serve_only_the_files_the_page_loads(client: FlaskClient, path: str) -> None:
    response = client.get(DOCS + path)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_the_docs_page_works_in_a_browser_under_its_policy(app: Flask) -> None:
    """Swagger UI shows every operation, with no request to another origin, no script
    error and nothing refused by the policy."""
    from tests.test_browser import CHROMIUM
    from tests.test_browser import LAUNCH_ARGS
    from tests.test_browser import REQUIRE_BROWSER

    if not CHROMIUM.is_file():
        if REQUIRE_BROWSER:
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    elsewhere: list[str] = []
    refused: list[str] = []
    errors: list[str] = []
    with serve(app) as live, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS, env=real_clock_environment()
        )
        try:
            page = browser.new_page()
            page.on("console", lambda message: refused.append(message.text))
            page.on("pageerror", lambda error: errors.append(str(error)))
            # Every request to another origin is recorded and never leaves the machine.
            page.route(
                re.compile("^(?!" + re.escape(live.url + "/") + ")"),
                lambda route: (elsewhere.append(route.request.url), route.abort()),
            )
            page.goto(live.url + DOCS, wait_until="load")
            page.wait_for_selector(".opblock", timeout=20_000)
            # Open every operation: its parameters, bodies and responses render too.
            summaries = page.locator(".opblock-summary")
            for index in range(summaries.count()):
                summaries.nth(index).click()
            page.wait_for_timeout(300)
            shown = page.locator(".opblock").count()
        finally:
            browser.close()
    operations = [op for item in DOCUMENT["paths"].values() for op in item if op != "parameters"]
    assert shown == len(operations)
    assert elsewhere == []
    assert [text for text in refused if "Content Security Policy" in text] == []
    assert errors == []


# -- schemathesis: every operation, over real HTTP ---------------------------------------
#
# schemathesis.pytest.from_fixture() would load the document from the live server, but it
# sets Function._nodeid, which pytest 9.2 no longer has; so the operations are collected
# from the same document built for the test settings, and the test above proves the
# served one is identical.


def _api_routes() -> Flask:
    """The API's routes and nothing else: all the document needs of an app."""
    routes = Flask(__name__)
    routes.register_blueprint(api.blueprint)
    routes.register_blueprint(openapi.blueprint)
    return routes


DOCUMENT = build_document(
    load_settings(settings_for("sqlite://", **OVERRIDES), environ={}), _api_routes()
)
SEEDED = 3
SEED = "seeded-article-"
"""Articles made before each operation's examples; ``seeded-article-<n>`` in a path names one."""
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True},
            # Responses carry freshly minted ids; fed back into generation, they would make
            # each run draw different cases.
            "phases": {
                "fuzzing": {
                    "extra-data-sources": {"responses": False},
                    "error-feedback": {"enabled": False},
                },
                "coverage": {"extra-data-sources": {"responses": False}},
            },
        }
    ),
)


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """Mostly the articles seeded for the test, so updates and deletes get past 404."""
    if not path_parameters or "article_id" not in path_parameters:
        return st.just(path_parameters)
    choices = [path_parameters["article_id"], *(f"{SEED}{n}" for n in range(SEEDED))]
    return st.sampled_from(choices).map(lambda chosen: {**path_parameters, "article_id": chosen})


@schema.hook
def flatmap_headers(
    context: schemathesis.HookContext, headers: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """If-Match: * (any version) as well as generated tags, so updates get past 412."""
    if not headers or "If-Match" not in headers:
        return st.just(headers)
    return st.sampled_from([headers["If-Match"], "*"]).map(
        lambda chosen: {**headers, "If-Match": chosen}
    )


@pytest.fixture
def live_api(
    app: Flask, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> Iterator[LiveApi]:
    """The app on a real HTTP server, with a published, a scheduled and a draft article."""
    ids = []
    for n, published_at in enumerate((clock.now, clock.now + timedelta(days=1), None)):
        body = api_article(published_at=published_at, title=f"Semente {n}")
        response = client.post(ARTICLES, json=body, headers=auth)
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    with serve(app) as live:
        yield LiveApi(live.url, auth, ids)


@dataclass(frozen=True)
class LiveApi:
    url: str
    headers: dict[str, str]
    seeded: list[str]


def answers_as_documented(case: Case[Any], live_api: LiveApi) -> None:
    """One generated request over HTTP: no 5xx, and status, headers and body as documented."""
    article_id = (case.path_parameters or {}).get("article_id", "")
    if article_id.startswith(SEED):
        seeded = live_api.seeded[int(article_id.removeprefix(SEED))]
        # Path parameters are sent as they are in the case: already percent-encoded.
        case.path_parameters = {"article_id": quote(seeded, safe="")}
    case.call_and_validate(base_url=live_api.url, headers=live_api.headers, checks=CHECKS)


def _operation_test(operation_id: str) -> Callable[..., None]:
    # One test function per operation, rather than schema.parametrize() once: under pytest
    # 9.2 the items schemathesis makes all get the function's node id, and could not be
    # told apart (or selected) otherwise.
    # One server and database per operation, shared by its examples on purpose.
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
    def test(case: Case[Any], live_api: LiveApi) -> None:
        answers_as_documented(case, live_api)

    parametrized: Callable[..., None] = schema.include(operation_id=operation_id).parametrize()(
        test
    )
    return parametrized


for _path_item in DOCUMENT["paths"].values():
    for _method, _operation in _path_item.items():
        if _method != "parameters":
            _words = re.sub(r"(?<!^)(?=[A-Z])", "_", _operation["operationId"]).lower()
            globals()[f"test_{_words}_answers_as_documented"] = _operation_test(
                _operation["operationId"]
            )
