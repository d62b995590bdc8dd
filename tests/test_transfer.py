"""Import and export: ``broadsheet export`` / ``broadsheet import`` and app.transfer.

The promise: export, import into an empty database, regenerate, and every feed document
is byte-identical and every article reads the same through the API; every imported line
goes through the API's checks and content pipeline; bad and duplicate lines are skipped
and reported by line number.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import click.testing
import psycopg
import pytest
from sqlalchemy import event

from app.articles import Articles
from app.domain import Author
from app.domain import BodyFormat
from app.domain import FeedFormat
from app.domain import FeedScope
from app.errors import ArticleMoved
from app.input_values import DATE_EXPECTED
from app.services import Services
from app.services import build_services
from app.storage.database import Database
from app.storage.feeds import FeedStateRepository
from app.storage.feeds import SnapshotRepository
from app.storage.schema import upgrade_database
from app.transfer.export import export_lines
from app.transfer.importing import import_lines
from app.transfer.report import SkippedLine
from app.web.application import close_app
from app.web.application import create_app
from tests.conftest import POSTGRES_ADMIN
from tests.conftest import START
from tests.conftest import Cli
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.factories import article_input

EXPORT_KEYS = [
    "id", "slug", "title", "summary", "body", "body_format", "authors", "categories", "tags",
    "language", "image", "full_text_in_feeds", "published_at", "created_at", "updated_at",
    "revision", "former_slugs",
]  # fmt: skip


@pytest.fixture
def empty_database_url(
    database_url: str, tmp_path: Path, migrated_sqlite_file: Path
) -> Iterator[str]:
    """A second migrated, empty database on the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        path = tmp_path / "target.db"
        shutil.copyfile(migrated_sqlite_file, path)
        yield f"sqlite:///{path}"
        return
    name = f"broadsheet_target_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = f"{database_url.rsplit('/', 1)[0]}/{name}"
    database = Database(url)
    upgrade_database(database)
    database.dispose()
    try:
        yield url
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def env_for(database_url: str) -> dict[str, str]:
    """The environment that gives the CLI the tests' settings for ``database_url``."""
    values = {f"BROADSHEET_{k.upper()}": str(v) for k, v in settings_for(database_url).items()}
    return {**values, "BROADSHEET_LOG_LEVEL": "WARNING"}


def invoke(
    cli: Cli, database_url: str, *args: str, stdin: bytes | None = None
) -> click.testing.Result:
    return cli(env_for(database_url), *args, stdin=stdin)


def services_for(database_url: str, clock: FakeClock) -> Services:
    return build_services(settings_for(database_url), clock=clock, environ={})


def line(**fields: Any) -> str:
    """One import line: a valid article from another system, with ``fields`` changed."""
    record: dict[str, Any] = {
        "title": "Chuva forte alaga avenidas da zona sul",
        "body": "A Defesa Civil emitiu **alerta**.\n\n![Rua alagada](/img/rua.jpg)",
        "authors": [{"name": "Ana Souza", "email": "ana@example.org"}],
        "categories": ["Cidades"],
        "tags": ["chuvas"],
        "published_at": (START - timedelta(hours=1)).isoformat(),
    }
    record.update(fields)
    return json.dumps({k: v for k, v in record.items() if v is not ...}, ensure_ascii=False)


# -- the round trip -------------------------------------------------------------------------


def fill_source(articles: Articles, clock: FakeClock) -> dict[str, str]:
    """A newsroom's worth of history: edits, renames, a deletion, a draft, a schedule."""
    clock.now = START - timedelta(days=30)
    older = articles.create_article(
        article_input(
            title="Câmara aprova orçamento de R$ 1,6 bilhão para a saúde",
            published_at=START - timedelta(days=30),
        ),
        clock(),
    )
    clock.advance(hours=2)
    renamed = articles.update_article(older.id, {"slug": "orcamento-da-saude"}, None, clock())
    clock.advance(days=1)
    renamed = articles.update_article(
        renamed.id,
        {"slug": "orcamento-saude-aprovado", "summary": "Votação durou doze horas."},
        None,
        clock(),
        significant=True,
    )
    clock.now = START - timedelta(days=2)
    html = articles.create_article(
        article_input(
            title="Eleições: o que muda na votação deste ano",
            body_format=BodyFormat.HTML,
            body='<p onclick="x()">Urnas <a href="/guia">guia</a>.</p><script>alert(1)</script>'
            '<figure><img src="/img/urna.jpg" alt="Urna"><figcaption>Urna eletrônica '
            '<span class="credit">Foto: Júlia Ramos</span></figcaption></figure>',
            authors=(Author("Júlia Ramos", "julia@example.org", "/autores/julia"),),
            categories=("Política",),
            tags=("eleições", "urnas"),
            image=None,
            published_at=START - timedelta(days=2),
        ),
        clock(),
    )
    clock.now = START - timedelta(hours=3)
    gone = articles.create_article(
        article_input(title="Nota retirada", published_at=START - timedelta(hours=3)), clock()
    )
    articles.delete_article(gone.id, None, clock())
    newest = articles.create_article(
        article_input(
            title="Ação rápida: São Paulo abre 40 novas creches",
            published_at=START - timedelta(hours=1),
        ),
        clock(),
    )
    scheduled = articles.create_article(
        article_input(
            title="Prévia: o clássico de domingo", published_at=START + timedelta(days=3)
        ),
        clock(),
    )
    draft = articles.create_article(article_input(title="Rascunho: reforma tributária"), clock())
    clock.now = START
    return {
        "renamed": renamed.id,
        "html": html.id,
        "newest": newest.id,
        "scheduled": scheduled.id,
        "draft": draft.id,
        "gone": gone.id,
    }


def render_all(services: Services, clock: FakeClock) -> dict[str, bytes]:
    """``broadsheet regenerate`` at the fake clock's time; every stored document by key."""
    services.renderer.mark_all_feeds_stale(clock())
    assert not services.renderer.render_due_feeds(clock()).failed
    with services.database.read() as session:
        snapshots = SnapshotRepository(session)
        return {key: snapshots.get(key).body for key in snapshots.etags()}  # type: ignore[union-attr]


def api_view(database_url: str, clock: FakeClock) -> dict[str, Any]:
    """Every article as the API shows it: the listing and each article by id."""
    app = create_app(settings_for(database_url), clock=clock, environ={})
    try:
        _, secret = app.extensions["broadsheet"].access.create_token(
            f"t-{uuid.uuid4().hex[:8]}", clock()
        )
        client = app.test_client()
        auth = {"Authorization": f"Bearer {secret}"}
        listing = client.get("/api/v1/articles?per_page=100", headers=auth).get_json()
        view: dict[str, Any] = {"list": listing}
        for item in listing["items"]:
            response = client.get(f"/api/v1/articles/{item['id']}", headers=auth)
            assert response.status_code == 200
            view[item["id"]] = response.get_json()
        return view
    finally:
        close_app(app)


def test_export_then_import_into_an_empty_database_gives_identical_feeds(
    cli: Cli, database_url: str, empty_database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    source = services_for(database_url, clock)
    ids = fill_source(source.articles, clock)
    feeds = render_all(source, clock)
    articles = {
        key: source.articles.get_article(value) for key, value in ids.items() if key != "gone"
    }
    source.database.dispose()
    exported = tmp_path / "articles.jsonl"
    result = invoke(cli, database_url, "export", "--output", str(exported))
    assert result.exit_code == 0, result.output
    assert "articles exported: 5" in result.stderr

    result = invoke(cli, empty_database_url, "import", str(exported))
    assert result.exit_code == 0, result.output
    assert "5 imported, 0 already imported, 0 skipped" in result.stdout

    target = services_for(empty_database_url, clock)
    assert render_all(target, clock) == feeds
    for key in ("site:rss", "site:atom", "site:json", "category/politica:atom",
                "tag/eleicoes:rss"):  # fmt: skip
        assert key in feeds, key
    for key, article in articles.items():
        # Numbered again in date order: the source numbered them as they went public.
        copied = target.articles.get_article(article.id)
        assert replace(copied, sequence=None) == replace(article, sequence=None), key
    with pytest.raises(ArticleMoved) as moved:
        target.articles.public_article("orcamento-da-saude", clock())
    assert moved.value.current_slug == "orcamento-saude-aprovado"
    target.database.dispose()
    assert api_view(empty_database_url, clock) == api_view(database_url, clock)

    again = invoke(cli, empty_database_url, "export")
    assert again.exit_code == 0, again.output
    assert again.stdout_bytes == exported.read_bytes()


def test_the_export_format(services: Services, clock: FakeClock) -> None:
    created = services.articles.create_article(
        article_input(
            summary="Uma linha\u2028e outra",
            published_at=START - timedelta(minutes=5, microseconds=7),
        ),
        clock(),
    )
    clock.advance(seconds=1.5)
    renamed = services.articles.update_article(created.id, {"slug": "novo-nome"}, None, clock())
    (text,) = export_lines(services.articles)
    record = json.loads(text)
    assert list(record) == EXPORT_KEYS
    compact = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    assert text == compact.replace("\u2028", "\\u2028")
    assert "ç" in text  # UTF-8, not \\u escapes
    assert text.splitlines() == [text]  # U+2028 is escaped: one record, one line
    assert record["summary"] == "Uma linha\u2028e outra"
    assert record["id"] == created.id
    assert record["slug"] == "novo-nome"
    assert record["former_slugs"] == [created.slug]
    assert record["revision"] == renamed.revision == 2
    assert record["published_at"] == "2026-11-02T11:54:59.999993+00:00"
    assert record["created_at"] == "2026-11-02T12:00:00.000000+00:00"
    assert record["authors"][1] == {"name": "Bruno Lima", "email": None, "url": None}
    assert list(record["image"]) == [
        "url",
        "type",
        "length",
        "width",
        "height",
        "caption",
        "credit",
    ]
    assert record["image"]["url"] == "https://news.example.org/img/plenario.jpg"
    assert record["body"] == created.body and record["body_format"] == "markdown"


def test_the_export_streams_in_storage_order_and_leaves_out_deleted_articles(
    services: Services, clock: FakeClock
) -> None:
    articles = services.articles
    made = []
    for number in range(5):
        clock.advance(minutes=1)
        made.append(articles.create_article(article_input(title=f"Notícia {number}"), clock()))
    articles.delete_article(made[1].id, None, clock())
    # Newer publish times do not reorder the export: it follows storage order.
    articles.update_article(made[0].id, {"published_at": START + timedelta(days=9)}, None, clock())

    stream = export_lines(articles, page_size=2)
    first = json.loads(next(stream))
    later = articles.create_article(article_input(title="Escrita durante a exportação"), clock())
    rest = [json.loads(text)["id"] for text in stream]
    assert [first["id"], *rest] == [made[0].id, made[2].id, made[3].id, made[4].id, later.id]


# -- what an import checks ------------------------------------------------------------------


def test_bad_lines_are_skipped_and_reported_by_number(services: Services, clock: FakeClock) -> None:
    lines = [
        line(title="Primeira boa"),
        "{not json",
        line(title=""),
        line(title="Sem autor", authors=[]),
        line(title="Imagem perigosa", image={"url": "javascript:alert(1)"}),
        "",  # blank lines are not lines of data
        line(title="Sem fuso", published_at="2026-11-02T10:00:00"),
        line(title="Campo estranho", publicado=True),
        line(title="Slug ruim", slug="Slug Ruim"),
        line(title="Autor sem nome", authors=[{"name": " "}]),
        line(
            title="Datas trocadas",
            created_at="2026-11-02T10:00:00Z",
            updated_at="2026-11-01T10:00:00Z",
        ),
        line(title="Id estranho", id="não é uma URI"),
        line(title="Slug antigo ruim", former_slugs=["ok", "Not OK"]),
        line(title="Fora do tempo", created_at="0001-01-01T00:00:00+01:00"),
        line(title="Imagem enorme", image={"url": "/i.jpg", "length": 2**63}),
        line(title="Imagem sem tipo", image={"url": "/imagem"}),
        line(title="Segunda boa"),
    ]
    seen: list[SkippedLine] = []
    report = import_lines(services.articles, lines, clock(), batch_size=4, on_skip=seen.append)
    assert report.imported == 2
    assert seen == report.skipped
    problems = {problem.line: problem for problem in report.skipped}
    assert sorted(problems) == [2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
    fields = {number: {e.field for e in problem.errors} for number, problem in problems.items()}
    assert fields[2] == {""}  # the line itself: no field of it
    assert str(problems[2]) == (
        "line 2: The line is not valid JSON: key must be a string at line 1 column 2."
    )
    assert fields[3] == {"title"}
    assert fields[4] == {"authors"}
    assert fields[5] == {"image.url"}
    assert fields[7] == {"published_at"}
    assert fields[8] == {"publicado"}
    assert fields[9] == {"slug"}
    assert fields[10] == {"authors.0.name"}
    assert fields[11] == {"updated_at"}
    assert fields[12] == {"id"}
    assert fields[13] == {"former_slugs.1"}
    assert fields[14] == {"created_at"}
    assert fields[15] == {"image.length"}
    assert fields[16] == {"image.type"}
    assert str(problems[3]).startswith("line 3: title: ")
    titles = [a.title for a in services.articles.list_articles(clock(), None, 1, 50).articles]
    assert sorted(titles) == ["Primeira boa", "Segunda boa"]


def test_an_import_refuses_what_the_api_refuses(services: Services, clock: FakeClock) -> None:
    lines = [
        line(title="Espaço na URL", image={"url": "https://cdn.example.org/a b.jpg"}),
        line(title="E-mail ruim", authors=[{"name": "Ana", "email": "not-an-address"}]),
        line(title="URL de dados", authors=[{"name": "Ana", "url": "data:text/html,x"}]),
        line(title="Ano um", published_at="0001-01-01T00:00:00Z"),
        line(title="Fim dos tempos", published_at="9999-12-31T23:59:59-23:59"),
        line(title="Separador", image={"url": "https://x.org/a\u2028.png"}),
        line(title="Segundos", published_at="1700000000", created_at=1700000000),
        line(title="Sem fuso", updated_at="2026-11-02T10:00:00", created_at="2026-11-02"),
        line(title="Antes de 1970", published_at="1969-12-31T23:59:59Z"),
        # JSON may escape a lone surrogate; like every character XML forbids, it is removed.
        json.dumps(json.loads(line(title="Oi \ud800 mundo"))),
    ]
    report = import_lines(services.articles, lines, clock())
    fields = {p.line: [(e.field, e.message) for e in p.errors] for p in report.skipped}
    assert fields == {
        1: [("image.url", "must not contain spaces or control characters")],
        2: [("authors.0.email", "must be an e-mail address")],
        3: [("authors.0.url", "must be an absolute http(s) URL or a path starting with /")],
        4: [("published_at", DATE_EXPECTED)],
        5: [("published_at", DATE_EXPECTED)],
        6: [("image.url", "must not contain spaces or control characters")],
        7: [("published_at", DATE_EXPECTED), ("created_at", DATE_EXPECTED)],
        8: [("created_at", DATE_EXPECTED), ("updated_at", DATE_EXPECTED)],
        9: [("published_at", DATE_EXPECTED)],
    }
    titles = [a.title for a in services.articles.list_articles(clock(), None, 1, 50).articles]
    assert titles == ["Oi  mundo"]


def test_imported_lines_go_through_the_content_pipeline(
    services: Services, clock: FakeClock
) -> None:
    report = import_lines(
        services.articles,
        [
            line(
                title="Alerta\x0b de chuva",
                body_format="html",
                body='<p onclick="x()">Veja <a href="/mapa">o mapa</a>\x01.</p>'
                "<script>x()</script>",
                authors=[{"name": "Ana Souza", "url": "/autores/ana"}],
                image={"url": "/img/a.jpg", "caption": "Legenda\x02"},
                categories=["Cidades", "cidades"],
            )
        ],
        clock(),
    )
    assert report.imported == 1, report.skipped
    (article,) = services.articles.list_articles(clock(), None, 1, 10).articles
    assert article.title == "Alerta de chuva"
    assert article.slug == "alerta-de-chuva"
    assert "<script>" not in article.body_html and "onclick" not in article.body_html
    assert 'href="https://news.example.org/mapa"' in article.body_html
    assert "\x01" not in article.body_html
    assert article.authors[0].url == "https://news.example.org/autores/ana"
    assert article.image is not None and article.image.url == "https://news.example.org/img/a.jpg"
    assert article.image.caption == "Legenda"
    assert article.categories == ("Cidades",)
    assert article.language == "pt-BR"


def test_lines_from_other_systems_get_an_id_a_free_slug_and_now(
    services: Services, clock: FakeClock
) -> None:
    services.articles.create_article(
        article_input(title="Chuva forte alaga avenidas da zona sul"), clock()
    )
    report = import_lines(
        services.articles, [line(), line(), line(title="Outra")], clock(), batch_size=2
    )
    assert report.imported == 3, report.skipped
    articles = services.articles.list_articles(clock(), None, 1, 10).articles
    slugs = sorted(article.slug for article in articles)
    assert slugs == [
        "chuva-forte-alaga-avenidas-da-zona-sul",
        "chuva-forte-alaga-avenidas-da-zona-sul-2",
        "chuva-forte-alaga-avenidas-da-zona-sul-3",
        "outra",
    ]
    imported = [a for a in articles if a.slug != "chuva-forte-alaga-avenidas-da-zona-sul"]
    for article in imported:
        assert article.id.startswith("tag:news.example.org,2026-11-02:article:")
        assert article.created_at == article.updated_at == clock()
        assert article.revision == 1
    assert len({article.id for article in articles}) == 4


def test_duplicate_ids_and_slugs_are_skipped(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    held = articles.create_article(article_input(title="Original"), clock())
    articles.update_article(held.id, {"slug": "original-renomeado"}, None, clock())
    lines = [
        line(id=held.id, slug="outro-slug"),  # stored before: already imported
        line(slug="original-renomeado"),
        line(slug="original"),  # a former slug still redirects to its article
        line(id="tag:elsewhere.org,2020-01-01:article:1", slug="primeira"),
        line(id="tag:elsewhere.org,2020-01-01:article:1", slug="repetida"),
        line(slug="primeira"),
        line(slug="nova", former_slugs=["original"]),
        line(slug="ultima", former_slugs=["primeira-versao"]),
        line(slug="outra", former_slugs=["primeira-versao"]),
    ]
    report = import_lines(articles, lines, clock(), batch_size=3)
    reasons = {p.line: [(e.field, e.message) for e in p.errors] for p in report.skipped}
    assert reasons == {
        2: [("slug", "another article has this slug")],
        3: [("slug", "another article has this slug")],
        5: [("id", "another article has this id")],
        6: [("slug", "another article has this slug")],
        7: [("former_slugs.0", "another article has this slug")],
        9: [("former_slugs.0", "another article has this slug")],
    }
    assert (report.imported, report.already_imported) == (2, 1)
    with pytest.raises(ArticleMoved) as moved:
        articles.public_article("primeira-versao", clock())
    assert moved.value.current_slug == "ultima"


def test_an_import_marks_the_feeds_it_touches_stale(services: Services, clock: FakeClock) -> None:
    report = import_lines(
        services.articles,
        [line(published_at="2026-10-31T23:30:00-03:00", authors=[{"name": "Júlia Ramos"}])],
        clock(),
    )
    assert report.imported == 1
    with services.database.read() as session:
        due = {scope.scope_key for scope in FeedStateRepository(session).due(clock())}
    # A new article is on no complete archive page; it is in the first article sitemap.
    feeds = {"site", "category/cidades", "tag/chuvas", "author/julia-ramos"}
    assert due == feeds | {"sitemap/articles-0", "sitemap/news", "sitemap/index"}
    services.renderer.render_due_feeds(clock())
    scope = FeedScope.from_key("category/cidades")
    body = services.feeds.feed_snapshot(scope, FeedFormat.JSON).body
    assert json.loads(body)["items"][0]["title"] == "Chuva forte alaga avenidas da zona sul"


def test_an_import_numbers_its_articles_oldest_first(services: Services, clock: FakeClock) -> None:
    """A back catalogue imported in any order fills the archive pages in date order, and
    the pages it completes are marked stale with the other feeds."""
    limit = services.settings.feed_item_limit
    dates = [START - timedelta(days=days) for days in range(limit + 2)]  # newest first
    lines = [line(title=f"Dia {n}", published_at=when.isoformat()) for n, when in enumerate(dates)]
    assert import_lines(services.articles, lines, clock(), batch_size=limit + 2).imported == len(
        lines
    )
    with services.database.read() as session:
        due = {scope.scope_key for scope in FeedStateRepository(session).due(clock())}
    assert "archive/0" in due and "archive/1" not in due
    services.renderer.render_due_feeds(clock())
    page = services.feeds.feed_snapshot(FeedScope("archive", "0"), FeedFormat.JSON).body
    titles = [item["title"] for item in json.loads(page)["items"]]
    assert titles == [f"Dia {n}" for n in range(2, limit + 2)]  # the oldest, newest first


def test_a_writer_that_takes_a_slug_during_the_import_only_costs_a_retry(
    database_url: str, services: Services, clock: FakeClock
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: nothing can come between check and insert")
    rival = services_for(database_url, clock)
    raced: list[str] = []

    def take_the_slug(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO articles") and not raced:
            raced.append(statement)
            rival.articles.create_article(article_input(title="x", slug="disputado"), clock())

    event.listen(services.database.engine, "before_cursor_execute", take_the_slug)
    try:
        report = import_lines(
            services.articles, [line(slug="livre"), line(slug="disputado")], clock()
        )
    finally:
        event.remove(services.database.engine, "before_cursor_execute", take_the_slug)
        rival.database.dispose()
    assert raced
    assert report.imported == 1
    assert [(p.line, p.errors[0].field) for p in report.skipped] == [(2, "slug")]


def test_worker_processes_give_the_same_result(sqlite_url: str, clock: FakeClock) -> None:
    lines = [line(title=f"Notícia número {n}", slug=f"n-{n}") for n in range(7)]
    lines.insert(3, line(title=""))
    results = []
    for jobs in (1, 2):
        services = services_for(sqlite_url.replace(".db", f"-{jobs}.db"), clock)
        upgrade_database(services.database)
        report = import_lines(services.articles, lines, clock(), batch_size=2, jobs=jobs)
        page = services.articles.list_articles(clock(), None, 1, 20).articles
        results.append((report.imported, report.skipped, [replace(a, id="") for a in page]))
        services.database.dispose()
    assert results[0] == results[1]
    assert results[0][0] == 7


# -- the commands ---------------------------------------------------------------------------


def test_import_reads_stdin_and_exits_non_zero_when_a_line_was_bad(
    cli: Cli, database_url: str
) -> None:
    data = "\n".join([line(title="Boa"), line(title=""), line(title="Outra boa")]).encode()
    result = invoke(cli, database_url, "import", "-", stdin=data)
    assert result.exit_code == 1
    assert "2 imported, 0 already imported, 1 skipped" in result.stdout
    assert "line 2: title: " in result.stderr
    clean = invoke(
        cli, database_url, "import", "-", "--batch-size", "1", stdin=line(title="Mais").encode()
    )
    assert clean.exit_code == 0, clean.output
    assert "1 imported, 0 already imported, 0 skipped" in clean.stdout
    exported = invoke(cli, database_url, "export")
    assert exported.exit_code == 0
    titles = [json.loads(text)["title"] for text in exported.stdout_bytes.splitlines()]
    assert titles == ["Boa", "Outra boa", "Mais"]


def test_import_names_the_line_and_field_of_a_hostile_url(cli: Cli, database_url: str) -> None:
    data = "\n".join([line(title="Boa"), line(image={"url": "javascript:alert(1)"})]).encode()
    result = invoke(cli, database_url, "import", "-", stdin=data)
    assert result.exit_code == 1
    assert "1 imported, 0 already imported, 1 skipped" in result.stdout
    assert "line 2: image.url: must be an absolute http(s) URL" in result.stderr


def test_importing_the_same_file_twice_stores_nothing_twice(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + "\n".join([line(slug="um"), line(slug="dois")]).encode() + b"\n"
    )
    assert invoke(cli, database_url, "import", str(path)).exit_code == 0
    again = invoke(cli, database_url, "import", str(path))
    assert again.exit_code == 1
    assert "0 imported, 0 already imported, 2 skipped" in again.stdout
    assert "line 1: slug: another article has this slug" in again.stderr


def test_lines_with_ids_imported_before_are_counted_and_not_an_error(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "in.jsonl"
    ids = [f"tag:elsewhere.org,2020-01-01:article:{n}" for n in (1, 2)]
    path.write_text("\n".join([line(id=ids[0], slug="um"), line(id=ids[1])]) + "\n")
    assert invoke(cli, database_url, "import", str(path)).exit_code == 0
    with path.open("a") as more:
        more.write(line(id="tag:elsewhere.org,2020-01-01:article:3") + "\n")
    again = invoke(cli, database_url, "import", str(path))
    assert again.exit_code == 0, again.output
    assert "1 imported, 2 already imported, 0 skipped" in again.stdout


def test_command_usage_errors(cli: Cli, database_url: str, tmp_path: Path) -> None:
    assert invoke(cli, database_url, "import", str(tmp_path / "missing.jsonl")).exit_code == 2
    assert invoke(cli, database_url, "import", "-", "--batch-size", "0", stdin=b"").exit_code == 2
    empty = invoke(cli, database_url, "import", "-", stdin=b"")
    assert empty.exit_code == 0
    assert "0 imported, 0 already imported, 0 skipped" in empty.stdout
