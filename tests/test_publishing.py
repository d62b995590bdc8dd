"""Use cases against a real database: articles, feed states, rendering passes."""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from email.utils import format_datetime
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
import pytest
from sqlalchemy import Engine
from sqlalchemy import delete
from sqlalchemy import event
from sqlalchemy import text

from app.documents import feed_max_age
from app.documents import refresh_minutes
from app.domain import SITE_SCOPE
from app.domain import ArticleStatus
from app.domain import Author
from app.domain import FeedFormat
from app.domain import FeedScope
from app.domain import Image
from app.domain import feed_key
from app.errors import ArticleGone
from app.errors import ArticleMoved
from app.errors import ArticleNotFound
from app.errors import EditConflict
from app.errors import FeedNotFound
from app.errors import InvalidInput
from app.errors import PayloadTooLarge
from app.errors import SlugTaken
from app.feeds import StoredFeeds
from app.renderer import RENDER_LEASE_SECONDS
from app.services import Services
from app.services import build_services
from app.storage.articles import period_bounds
from app.storage.feeds import FeedStateRepository
from app.storage.feeds import SnapshotRepository
from app.storage.tables import SnapshotGenerationRow
from app.transfer.importing import import_lines
from tests.conftest import START
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.factories import article_input
from tests.feedcheck import assert_valid_atom
from tests.feedcheck import assert_valid_json_feed
from tests.feedcheck import assert_valid_rss


def test_create_mints_an_id_and_cleans_content(services: Services, clock: FakeClock) -> None:
    article = services.articles.create_article(
        article_input(body="Oi\x00 <b onclick=x>mundo</b>\x0b", body_format="html"), clock()
    )
    assert article.id.startswith("tag:news.example.org,2026-11-02:article:")
    assert article.slug == "camara-aprova-orcamento-de-r-1-6-bilhao-para-a-saude"
    assert article.body_html == "Oi <b>mundo</b>"
    assert article.image is not None
    assert article.image.url == "https://news.example.org/img/plenario.jpg"
    assert article.status(clock()) is ArticleStatus.DRAFT
    assert services.articles.get_article(article.id) == article


def test_the_id_survives_every_edit(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    article = articles.create_article(article_input(), clock())
    clock.advance(minutes=5)
    edited = articles.update_article(
        article.id,
        {"slug": "novo-endereco", "title": "Outro título"},
        article.etag,
        clock(),
        significant=True,
    )
    assert edited.id == article.id
    assert edited.slug == "novo-endereco"
    assert edited.revision == article.revision + 1
    assert edited.updated_at == clock()
    assert edited.created_at == article.created_at


def test_a_stale_etag_is_refused_and_nothing_changes(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    article = articles.create_article(article_input(), clock())
    articles.update_article(article.id, {"title": "Primeira edição"}, article.etag, clock())
    with pytest.raises(EditConflict):
        articles.update_article(article.id, {"title": "Segunda edição"}, article.etag, clock())
    assert articles.get_article(article.id).title == "Primeira edição"


def test_slugs_are_unique_and_made_free(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    first = articles.create_article(article_input(), clock())
    second = articles.create_article(article_input(), clock())
    assert second.slug == first.slug + "-2"
    with pytest.raises(SlugTaken):
        articles.create_article(article_input(slug=first.slug), clock())
    with pytest.raises(SlugTaken):
        articles.update_article(second.id, {"slug": first.slug}, None, clock())


def test_invalid_input_names_every_field(services: Services, clock: FakeClock) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.articles.create_article(
            article_input(title="  \x00 ", slug="Não Vale", authors=(), language="?"), clock()
        )
    fields = {error.field for error in caught.value.errors}
    assert fields == {"title", "slug", "authors", "language"}
    assert services.articles.list_articles(clock(), None, 1, 10).total == 0


def test_a_lead_image_gets_its_type_from_the_url_and_length_zero(
    services: Services, clock: FakeClock
) -> None:
    # The CLI and the demo call the use cases with Image values: the same rule as the API.
    article = services.articles.create_article(
        article_input(image=Image(url="/img/plenario.png", caption="Plenário")), clock()
    )
    assert article.image == Image(
        url="https://news.example.org/img/plenario.png",
        type="image/png",
        length=0,
        caption="Plenário",
    )
    assert services.articles.get_article(article.id).image == article.image


def test_a_lead_image_of_unknown_type_is_refused(services: Services, clock: FakeClock) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.articles.create_article(
            article_input(image=Image(url="https://cdn.example.org/foto?id=7")), clock()
        )
    assert [error.field for error in caught.value.errors] == ["image.type"]
    assert services.articles.list_articles(clock(), None, 1, 10).total == 0


def test_a_body_over_the_limit_is_refused(services: Services, clock: FakeClock) -> None:
    limit = services.settings.api_max_body_bytes
    with pytest.raises(PayloadTooLarge) as caught:
        services.articles.create_article(article_input(body="x" * (limit + 1)), clock())
    assert [error.field for error in caught.value.errors] == ["body"]  # what the import reports


def test_drafts_and_scheduled_articles_are_not_public(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    draft = articles.create_article(article_input(title="Rascunho"), clock())
    later = articles.create_article(
        article_input(title="Agendado", published_at=clock.now.replace(hour=18)), clock()
    )
    for article in (draft, later):
        with pytest.raises(ArticleNotFound):
            articles.public_article(article.slug, clock())
    clock.advance(hours=6)
    assert articles.public_article(later.slug, clock()).id == later.id


def test_deleted_articles_are_gone(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    article = articles.create_article(article_input(published_at=clock()), clock())
    articles.delete_article(article.id, article.etag, clock())
    with pytest.raises(ArticleGone):
        articles.public_article(article.slug, clock())
    with pytest.raises(ArticleGone):
        articles.get_article(article.id)


def test_listing_filters_by_status_and_pages(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    for number in range(5):
        articles.create_article(
            article_input(title=f"Publicado {number}", published_at=clock()), clock()
        )
        clock.advance(minutes=1)
    articles.create_article(article_input(title="Rascunho"), clock())
    page = articles.list_articles(clock(), ArticleStatus.PUBLISHED, 2, 2)
    assert page.total == 5
    assert [a.title for a in page.articles] == ["Publicado 2", "Publicado 1"]
    assert articles.list_articles(clock(), ArticleStatus.DRAFT, 1, 10).total == 1


def test_a_render_pass_renders_what_writes_marked(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    with pytest.raises(FeedNotFound):
        feeds.feed_snapshot(SITE_SCOPE, FeedFormat.RSS)
    articles.create_article(article_input(published_at=clock()), clock())
    report = renderer.render_due_feeds(clock())
    assert "site" in report.scopes
    assert "category/politica" in report.scopes
    rss = feeds.feed_snapshot(SITE_SCOPE, FeedFormat.RSS)
    assert_valid_rss(rss.body)
    assert_valid_atom(feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM).body)
    assert_valid_json_feed(feeds.feed_snapshot(SITE_SCOPE, FeedFormat.JSON).body)
    again = renderer.render_due_feeds(clock())
    assert again.scopes == []


def test_unchanged_content_keeps_the_same_bytes(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    articles.create_article(article_input(published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    before = feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM)
    clock.advance(hours=1)
    renderer.mark_all_feeds_stale(clock())
    report = renderer.render_due_feeds(clock())
    assert report.changed == []
    assert feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM) == before


def test_a_scheduled_article_appears_at_its_time(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    at = clock.now.replace(hour=15)
    articles.create_article(article_input(title="Embargo", published_at=at), clock())
    renderer.render_due_feeds(clock())
    assert b"Embargo" not in feeds.feed_snapshot(SITE_SCOPE, FeedFormat.RSS).body
    clock.now = at.replace(second=0) - clock.now.resolution
    assert renderer.render_due_feeds(clock()).scopes == []
    clock.now = at
    assert "site" in renderer.render_due_feeds(clock()).scopes
    assert b"Embargo" in feeds.feed_snapshot(SITE_SCOPE, FeedFormat.RSS).body


def test_each_feed_stays_fresh_until_its_own_next_scheduled_article(
    services: Services, clock: FakeClock
) -> None:
    """A feed's fresh-until is when the next article scheduled in its own scope goes
    public: a category, tag or author feed ignores what is scheduled elsewhere."""
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    now = clock()
    articles.create_article(
        article_input(categories=("Economia",), tags=("juros",), published_at=now), now
    )
    articles.create_article(
        article_input(categories=("Política",), tags=("eleição",), published_at=now), now
    )
    soon, later = now + timedelta(minutes=5), now + timedelta(hours=2)
    articles.create_article(
        article_input(
            title="Em breve",
            categories=("Economia",),
            tags=("juros",),
            authors=(Author("Rita Mota"),),
            published_at=soon,
        ),
        now,
    )
    articles.create_article(
        article_input(
            title="Mais tarde", categories=("Política",), tags=("eleição",), published_at=later
        ),
        now,
    )
    renderer.render_due_feeds(now)

    def fresh_until(scope: FeedScope) -> datetime | None:
        return feeds.feed_snapshot(scope, FeedFormat.ATOM).fresh_until

    assert fresh_until(SITE_SCOPE) == soon
    assert fresh_until(FeedScope("category", "economia")) == soon
    assert fresh_until(FeedScope("tag", "juros")) == soon
    assert fresh_until(FeedScope("category", "politica")) == later
    assert fresh_until(FeedScope("tag", "eleicao")) == later
    assert fresh_until(FeedScope("author", "ana-souza")) == later


def test_an_article_published_before_it_arrives_was_last_updated_then(
    services: Services, clock: FakeClock
) -> None:
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    earlier = clock() - timedelta(hours=9)
    backdated = articles.create_article(article_input(published_at=earlier), clock())
    assert (backdated.created_at, backdated.updated_at) == (clock(), earlier)
    scheduled = articles.create_article(
        article_input(title="Amanhã", published_at=clock() + timedelta(days=1)), clock()
    )
    assert scheduled.updated_at == clock()
    draft = articles.create_article(article_input(title="Rascunho"), clock())
    assert draft.updated_at == clock()
    renderer.render_due_feeds(clock())
    entry = assert_valid_atom(feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM).body).entries[0]
    assert entry.updated == entry.published


def test_an_empty_scope_has_no_feed(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    article = articles.create_article(article_input(published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    politics = FeedScope("category", "politica")
    assert feeds.feed_snapshot(politics, FeedFormat.JSON).body
    articles.update_article(article.id, {"categories": ("Esportes",)}, None, clock())
    renderer.render_due_feeds(clock())
    with pytest.raises(FeedNotFound):
        feeds.feed_snapshot(politics, FeedFormat.JSON)


def test_last_modified_moves_forward_when_an_entry_leaves(
    services: Services, clock: FakeClock
) -> None:
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    older = articles.create_article(article_input(title="Antigo", published_at=clock()), clock())
    clock.advance(hours=1)
    newer = articles.create_article(article_input(title="Novo", published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    before = feeds.feed_snapshot(SITE_SCOPE, FeedFormat.RSS)
    clock.advance(hours=1)
    articles.delete_article(newer.id, None, clock())
    renderer.render_due_feeds(clock())
    after = feeds.feed_snapshot(SITE_SCOPE, FeedFormat.RSS)
    assert after.etag != before.etag
    assert after.last_modified > before.last_modified
    assert older.title.encode() in after.body


def test_last_modified_moves_forward_when_the_feed_changes_within_a_second(
    services: Services, clock: FakeClock
) -> None:
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    clock.now = clock.now.replace(microsecond=100_000)
    articles.create_article(article_input(title="Primeira", published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    first = feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM)
    clock.advance(seconds=0.5)  # the same second: HTTP dates cannot tell them apart
    articles.create_article(article_input(title="Segunda", published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    second = feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM)
    assert second.etag != first.etag
    # If-Modified-Since with the first version's date must not get a 304 for the second.
    assert second.last_modified == first.last_modified + timedelta(seconds=1)
    clock.advance(seconds=3)
    articles.create_article(article_input(title="Terceira", published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    third = feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM)
    assert third.last_modified == clock().replace(microsecond=0)


def test_last_modified_is_when_the_bytes_were_rendered_never_an_old_entry_date(
    services: Services, clock: FakeClock
) -> None:
    """An article dated long ago must not date the feed (RFC 9110 section 8.8.2: the time
    the representation was last modified): a client that last polled in 1990 gets it."""
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    old = datetime(1971, 1, 2, 12, tzinfo=UTC)
    articles.create_article(article_input(title="De 1971", published_at=old), clock())
    renderer.render_due_feeds(clock())
    for fmt in FeedFormat:
        snapshot = feeds.feed_snapshot(SITE_SCOPE, fmt)
        assert snapshot.last_modified == clock().replace(microsecond=0), fmt
    clock.advance(hours=2)
    renderer.mark_all_feeds_stale(clock())
    renderer.render_due_feeds(clock())  # the same bytes: the same Last-Modified
    assert feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM).last_modified == START


def test_rss_last_build_date_is_when_the_content_last_changed(
    services: Services, clock: FakeClock
) -> None:
    """A correction or a deletion changes the content but not the newest pubDate: the RSS
    lastBuildDate moves with the content, and equals the document's Last-Modified."""
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer

    def last_build() -> tuple[str | None, str]:
        snapshot = feeds.feed_snapshot(SITE_SCOPE, FeedFormat.RSS)
        channel = assert_valid_rss(snapshot.body).feed
        return channel.get("updated"), format_datetime(snapshot.last_modified, usegmt=True)

    first = articles.create_article(article_input(title="Um", published_at=clock()), clock())
    articles.create_article(article_input(title="Dois", published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    built, modified = last_build()
    assert built is not None and parsedate_to_datetime(built) == START
    assert parsedate_to_datetime(modified) == START
    clock.advance(hours=1)
    articles.update_article(first.id, {"title": "Um (corrigido)"}, None, clock())
    renderer.render_due_feeds(clock())
    built, modified = last_build()
    assert built is not None and parsedate_to_datetime(built) == START + timedelta(hours=1)
    assert parsedate_to_datetime(modified) == parsedate_to_datetime(built)
    clock.advance(hours=1)
    renderer.mark_all_feeds_stale(clock())
    renderer.render_due_feeds(clock())  # nothing changed: nor does lastBuildDate
    assert last_build()[0] == built
    articles.delete_article(first.id, None, clock())
    renderer.render_due_feeds(clock())
    built, modified = last_build()
    assert built is not None and parsedate_to_datetime(built) == clock().replace(microsecond=0)


def test_a_section_whose_articles_share_a_language_declares_it(
    services: Services, clock: FakeClock
) -> None:
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    english = (Author("Nora Whitfield"),)
    articles.create_article(
        article_input(title="Tides", authors=english, language="en", published_at=clock()),
        clock(),
    )
    articles.create_article(article_input(published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    nora = FeedScope("author", "nora-whitfield")
    assert (
        assert_valid_json_feed(feeds.feed_snapshot(nora, FeedFormat.JSON).body)["language"] == "en"
    )
    assert b"<language>en</language>" in feeds.feed_snapshot(nora, FeedFormat.RSS).body
    assert b'xml:lang="en"' in feeds.feed_snapshot(nora, FeedFormat.ATOM).body
    # Mixed languages, and the site feed always: the site's language.
    for scope in (SITE_SCOPE, FeedScope("category", "politica")):
        rss = assert_valid_rss(feeds.feed_snapshot(scope, FeedFormat.RSS).body)
        assert rss.feed.language == "pt-BR", scope


def test_feed_ids_survive_a_new_host(database_url: str, clock: FakeClock) -> None:
    """RFC 4287 section 4.2.6: a feed's id is fixed by its first render; a site that moves
    to another host (base_url, with no id_authority set) keeps its feed ids."""
    ids = []
    for host in ("https://news.example.org", "https://www.gazeta.example"):
        built = build_services(
            settings_for(database_url, site_base_url=host), clock=clock, environ={}
        )
        try:
            articles = built.articles
            feeds = built.feeds
            renderer = built.renderer
            articles.create_article(article_input(published_at=clock()), clock())
            renderer.render_due_feeds(clock())
            for scope in (SITE_SCOPE, FeedScope("category", "politica")):
                atom = assert_valid_atom(feeds.feed_snapshot(scope, FeedFormat.ATOM).body)
                json_feed = feeds.feed_snapshot(scope, FeedFormat.JSON).body
                assert atom.feed.link.startswith(host)
                assert host.encode() in json_feed
                ids.append((scope.key, atom.feed.id))
        finally:
            built.database.dispose()
    assert ids[:2] == ids[2:]
    assert ids[0] == ("site", "tag:news.example.org,2026-01-01:feed:site")


@pytest.mark.parametrize(
    ("seconds", "minutes"), [(1, 1), (59, 1), (60, 1), (61, 2), (90, 2), (3600, 60)]
)
def test_refresh_hints_never_invite_polls_faster_than_regeneration(
    seconds: int, minutes: int
) -> None:
    assert refresh_minutes(seconds) == minutes


def test_only_significant_edits_move_the_updated_date(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    article = articles.create_article(article_input(published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    before = feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM)
    clock.advance(hours=1)
    fixed = articles.update_article(article.id, {"title": "Título corrigido"}, None, clock())
    assert fixed.updated_at == article.updated_at
    renderer.render_due_feeds(clock())
    corrected = assert_valid_atom(feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM).body)
    assert corrected.entries[0].title == "Título corrigido"
    assert corrected.entries[0].updated == assert_valid_atom(before.body).entries[0].updated
    clock.advance(hours=1)
    news = articles.update_article(
        article.id, {"summary": "Fato novo."}, None, clock(), significant=True
    )
    assert news.updated_at == clock()
    renderer.render_due_feeds(clock())
    updated = assert_valid_atom(feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM).body)
    assert updated.entries[0].updated_parsed[:5] == clock().timetuple()[:5]


def test_an_old_slug_leads_to_the_new_one(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    article = articles.create_article(article_input(published_at=clock()), clock())
    articles.update_article(article.id, {"slug": "segundo"}, None, clock())
    articles.update_article(article.id, {"slug": "terceiro"}, None, clock())
    for old in (article.slug, "segundo"):
        with pytest.raises(ArticleMoved) as moved:
            articles.public_article(old, clock())
        assert moved.value.current_slug == "terceiro"
    with pytest.raises(SlugTaken):
        articles.create_article(article_input(slug="segundo"), clock())
    articles.update_article(article.id, {"slug": "segundo"}, None, clock())
    assert articles.public_article("segundo", clock()).id == article.id
    with pytest.raises(ArticleMoved):
        articles.public_article("terceiro", clock())


def _archive_walk(feeds: StoredFeeds, fmt: FeedFormat = FeedFormat.ATOM) -> list[str]:
    """The archive pages met following prev-archive from the subscription feed, newest
    first; checks each archive document on the way."""
    subscription = assert_valid_atom(feeds.feed_snapshot(SITE_SCOPE, fmt).body)
    link = {link.rel: link.href for link in subscription.feed.links}.get("prev-archive")
    pages = []
    while link:
        page = link.split("/archive/")[1].split("/")[0]
        pages.append(page)
        body = feeds.feed_snapshot(FeedScope("archive", page), fmt).body
        assert b"<fh:archive" in body
        links = {link.rel: link.href for link in assert_valid_atom(body).feed.links}
        assert links["current"] == "https://news.example.org/feed.atom"
        assert "next-archive" not in links  # it would change when the next page completes
        link = links.get("prev-archive")
    return pages


def _entry_ids(feeds: StoredFeeds, scope: FeedScope) -> list[str]:
    body = feeds.feed_snapshot(scope, FeedFormat.ATOM).body
    return [entry.id for entry in assert_valid_atom(body).entries]


def _archived_ids(feeds: StoredFeeds) -> list[str]:
    """Every entry id met in the archive pages of a prev-archive walk, repeats kept."""
    return [
        entry_id
        for page in _archive_walk(feeds)
        for entry_id in _entry_ids(feeds, FeedScope("archive", page))
    ]


def _archive_etags(feeds: StoredFeeds) -> dict[str, str]:
    pages = _archive_walk(feeds)
    keys = [feed_key(FeedScope("archive", page), fmt) for page in pages for fmt in FeedFormat]
    return {key: snapshot.etag for key, snapshot in feeds.feed_snapshots(keys).items()}


@pytest.fixture
def paged(database_url: str, clock: FakeClock) -> Iterator[Services]:
    """A site whose feeds carry 3 entries, so its archive pages hold 3 articles."""
    built = build_services(settings_for(database_url, feed_item_limit=3), clock=clock, environ={})
    yield built
    built.database.dispose()


def test_a_burst_leaves_every_subscription_feed_at_the_item_limit(
    services: Services, clock: FakeClock
) -> None:
    """Ten times item_limit articles on one day: each subscription feed holds item_limit
    entries (the newest), and the archive walk meets every other article once."""
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    limit = services.settings.feed_item_limit
    ids = [
        articles.create_article(
            article_input(title=f"Plantão {number}", published_at=clock() - timedelta(hours=2)),
            clock(),
        ).id
        for number in range(10 * limit)
    ]
    renderer.render_due_feeds(clock())
    for scope in (
        SITE_SCOPE,
        FeedScope("category", "politica"),
        FeedScope("tag", "saude"),
        FeedScope("author", "ana-souza"),
    ):
        assert _entry_ids(feeds, scope) == ids[::-1][:limit]
        for fmt in FeedFormat:
            body = feeds.feed_snapshot(scope, fmt).body
            assert len(body) < 200_000
    assert _archive_walk(feeds) == [str(page) for page in range(9, -1, -1)]
    archived = _archived_ids(feeds)
    assert len(archived) == len(set(archived)) == len(ids)
    assert set(archived) == set(ids)


def test_the_archive_walk_meets_every_article_once_whatever_its_date(
    paged: Services, clock: FakeClock
) -> None:
    """Articles in any order of dates, scheduled ones among them: the subscription feed and
    the archive pages together hold each public article, the archives each at most once."""
    articles = paged.articles
    feeds = paged.feeds
    renderer = paged.renderer
    ids = []
    for days_ago in (3, 40, 1, 400, 2, 90, 5):
        when = clock() - timedelta(days=days_ago)
        ids.append(articles.create_article(article_input(published_at=when), clock()).id)
    soon = articles.create_article(
        article_input(title="Embargo", published_at=clock() + timedelta(minutes=5)), clock()
    )
    renderer.render_due_feeds(clock())
    assert _archive_walk(feeds) == ["1", "0"]
    archived = _archived_ids(feeds)
    assert len(archived) == len(set(archived)) == 6
    assert set(archived) | set(_entry_ids(feeds, SITE_SCOPE)) == set(ids)
    # The embargoed article is numbered when it goes public, after every other.
    clock.advance(minutes=5)
    renderer.render_due_feeds(clock())
    assert _entry_ids(feeds, SITE_SCOPE)[0] == soon.id
    assert _archive_walk(feeds) == ["1", "0"]  # numbers 6 and 7 on the open page
    archived = _archived_ids(feeds)
    assert set(archived) | set(_entry_ids(feeds, SITE_SCOPE)) == {*ids, soon.id}


def test_publishing_never_changes_an_archive_page(paged: Services, clock: FakeClock) -> None:
    """New articles, backdated ones among them, leave every archive document's bytes and
    ETag as they were; a backdated article reaches the subscription feeds."""
    articles = paged.articles
    feeds = paged.feeds
    renderer = paged.renderer
    for number in range(7):
        articles.create_article(
            article_input(title=f"Antes {number}", published_at=clock() - timedelta(days=9)),
            clock(),
        )
    renderer.render_due_feeds(clock())
    before = _archive_etags(feeds)
    assert len(before) == 2 * len(FeedFormat)
    bodies = feeds.feed_snapshots(before)
    clock.advance(minutes=1)
    late = articles.create_article(
        article_input(title="Atrasada", published_at=clock() - timedelta(days=300)), clock()
    )
    articles.create_article(article_input(title="Agora", published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    after = feeds.feed_snapshots(before)
    assert {key: snapshot.etag for key, snapshot in after.items()} == before
    assert all(after[key].body == bodies[key].body for key in before)
    assert late.id in _entry_ids(feeds, SITE_SCOPE)
    assert late.id in _entry_ids(feeds, FeedScope("category", "politica"))
    # The page it completed is new, and the subscription feed links to it.
    assert _archive_walk(feeds) == ["2", "1", "0"]
    assert late.id in _entry_ids(feeds, FeedScope("archive", "2"))


def test_an_edit_changes_only_its_own_page_and_its_subscription_feeds(
    paged: Services, clock: FakeClock
) -> None:
    articles = paged.articles
    feeds = paged.feeds
    renderer = paged.renderer
    notes = [
        articles.create_article(
            article_input(
                title=f"Nota {number}", categories=(f"Seção {number % 2}",), published_at=clock()
            ),
            clock(),
        )
        for number in range(7)
    ]
    renderer.render_due_feeds(clock())
    clock.advance(minutes=1)
    # Number 1, on page 0; among the newest three of "Seção 1" (5, 3, 1), not among
    # those of the site, its tags or its authors (6, 5, 4).
    edited = notes[1]
    articles.update_article(edited.id, {"title": "Nota corrigida"}, edited.etag, clock())
    changed = {key.split(":")[0] for key in renderer.render_due_feeds(clock()).changed}
    assert changed == {"archive/0", "category/secao-1"}
    body = feeds.feed_snapshot(FeedScope("archive", "0"), FeedFormat.ATOM).body
    assert "Nota corrigida" in body.decode()
    # Deleted, it leaves its page; the walk still meets every other article once.
    articles.delete_article(notes[4].id, None, clock())
    changed = {key.split(":")[0] for key in renderer.render_due_feeds(clock()).changed}
    assert "archive/1" in changed and "archive/0" not in changed
    assert notes[4].id not in _archived_ids(feeds)
    assert len(_archived_ids(feeds)) == 5


def test_an_article_published_again_is_new_to_subscribers(
    paged: Services, clock: FakeClock
) -> None:
    """Taken back to a draft, an article leaves its page; published again, it is numbered
    as new and reaches the subscription feeds."""
    articles = paged.articles
    feeds = paged.feeds
    renderer = paged.renderer
    first = articles.create_article(article_input(title="Volta", published_at=clock()), clock())
    for number in range(5):
        articles.create_article(article_input(title=f"N{number}", published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    assert first.id in _entry_ids(feeds, FeedScope("archive", "0"))
    draft = articles.update_article(first.id, {"published_at": None}, None, clock())
    assert draft.sequence is None
    renderer.render_due_feeds(clock())
    assert first.id not in _archived_ids(feeds) + _entry_ids(feeds, SITE_SCOPE)
    again = articles.update_article(first.id, {"published_at": clock()}, None, clock())
    assert again.sequence == 6
    renderer.render_due_feeds(clock())
    assert _entry_ids(feeds, SITE_SCOPE)[0] == first.id


def test_the_site_feed_keeps_what_no_page_holds_when_item_limit_is_lowered(
    paged: Services, database_url: str, clock: FakeClock
) -> None:
    """The page size is fixed by the first number: lowered later, item_limit does not cut
    the articles after the newest complete page out of the walk."""
    for number in range(5):
        paged.articles.create_article(
            article_input(title=f"N{number}", published_at=clock()), clock()
        )
    smaller = build_services(settings_for(database_url, feed_item_limit=1), clock=clock, environ={})
    try:
        feeds = smaller.feeds
        renderer = smaller.renderer
        renderer.render_due_feeds(clock())
        assert len(_entry_ids(feeds, SITE_SCOPE)) == 2  # numbers 3 and 4, page 1 open
        assert len(_entry_ids(feeds, FeedScope("category", "politica"))) == 1
        assert _archive_walk(feeds) == ["0"]
        assert len(_archived_ids(feeds)) == 3
    finally:
        smaller.database.dispose()


def test_a_period_archive_goes_to_the_page_of_its_newest_article(
    paged: Services, clock: FakeClock
) -> None:
    articles = paged.articles
    feeds = paged.feeds
    renderer = paged.renderer
    for month, day in ((8, 1), (8, 20), (9, 1), (10, 1), (10, 2)):
        when = clock.now.replace(month=month, day=day)
        articles.create_article(article_input(published_at=when), clock())
    renderer.render_due_feeds(clock())
    # Numbered by date (one request each, in this order): August on page 0.
    assert feeds.archive_for_period("2026-08", clock()) == FeedScope("archive", "0")
    assert feeds.archive_for_period("2026-08-20", clock()) == FeedScope("archive", "0")
    # October's newest is number 4: page 1 is not complete, so the site feed has it.
    assert feeds.archive_for_period("2026-10", clock()) == SITE_SCOPE
    for period in ("2026-07", "2026-13", "2026-08-20T10", "latest"):
        with pytest.raises(FeedNotFound):
            feeds.archive_for_period(period, clock())


def test_max_age_never_outlives_the_next_publication(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    articles.create_article(article_input(published_at=clock()), clock())
    articles.create_article(
        article_input(title="Em breve", published_at=clock() + timedelta(seconds=45)), clock()
    )
    renderer.render_due_feeds(clock())
    snapshot = feeds.feed_snapshot(SITE_SCOPE, FeedFormat.RSS)
    assert feed_max_age(services.settings, SITE_SCOPE, snapshot, clock()) == 45
    clock.advance(seconds=40)
    assert feed_max_age(services.settings, SITE_SCOPE, snapshot, clock()) == 5
    archive = FeedScope("archive", "0")
    assert feed_max_age(services.settings, archive, snapshot, clock()) == 86_400


def test_kept_entries_never_make_a_feed_differ_from_a_fresh_render(
    services: Services, overrides: dict[str, object], clock: FakeClock
) -> None:
    """The scheduler keeps rendered entries between passes; after edits of every kind its
    feeds are byte for byte what a process with nothing kept renders from the database."""
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    published = clock() - timedelta(hours=1)
    first, second, third = (
        articles.create_article(article_input(title=title, published_at=published), clock())
        for title in ("Primeira notícia", "Segunda notícia", "Terceira notícia")
    )
    renderer.render_due_feeds(clock())
    clock.advance(minutes=1)
    articles.update_article(first.id, {"body": "Correção silenciosa."}, first.etag, clock())
    articles.update_article(
        second.id, {"title": "Segunda, revista", "slug": "segunda"}, second.etag, clock(),
        significant=True,
    )  # fmt: skip
    articles.update_article(third.id, {"categories": ["Clima"]}, third.etag, clock())
    renderer.render_due_feeds(clock())
    scopes = [SITE_SCOPE, FeedScope("category", "politica"), FeedScope("category", "clima")]
    kept = {(s, f): feeds.feed_snapshot(s, f).body for s in scopes for f in FeedFormat}
    assert "Correção silenciosa." in kept[SITE_SCOPE, FeedFormat.RSS].decode()
    assert "Segunda, revista" in kept[SITE_SCOPE, FeedFormat.ATOM].decode()

    fresh = build_services({**overrides, "feed_render_cache_bytes": 0}, clock=clock, environ={})
    try:
        fresh.renderer.mark_all_feeds_stale(clock())
        fresh.renderer.render_due_feeds(clock())
        assert kept == {
            (s, f): fresh.feeds.feed_snapshot(s, f).body for s in scopes for f in FeedFormat
        }
    finally:
        fresh.database.dispose()


def test_a_sections_feed_names_the_sites_vocabularies(services: Services, clock: FakeClock) -> None:
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    articles.create_article(article_input(published_at=clock() - timedelta(hours=1)), clock())
    renderer.render_due_feeds(clock())
    rss = feeds.feed_snapshot(FeedScope("category", "politica"), FeedFormat.RSS).body
    assert b'domain="https://news.example.org/category/"' in rss
    assert b'domain="https://news.example.org/tag/"' in rss
    assert b"/category/politica/category/" not in rss


def test_a_dead_schedulers_claim_holds_up_only_its_feed_for_one_lease(
    services: Services, clock: FakeClock
) -> None:
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    articles.create_article(article_input(published_at=clock()), clock())
    # A scheduler claimed the Cidades feed and was killed before it could render it.
    with services.database.write() as session:
        lease = clock() + timedelta(seconds=RENDER_LEASE_SECONDS)
        assert FeedStateRepository(session).claim("category/cidades", clock(), lease)

    report = renderer.render_due_feeds(clock.advance(seconds=1))
    assert SITE_SCOPE.key in report.scopes and "category/politica" in report.scopes
    assert "category/cidades" not in report.scopes
    with pytest.raises(FeedNotFound):
        feeds.feed_snapshot(FeedScope("category", "cidades"), FeedFormat.ATOM)

    report = renderer.render_due_feeds(clock.advance(seconds=RENDER_LEASE_SECONDS))
    assert report.scopes == ["category/cidades"]
    feeds.feed_snapshot(FeedScope("category", "cidades"), FeedFormat.ATOM)


def test_two_passes_that_find_the_generation_row_gone_both_count(
    services: Services,
) -> None:
    """The start-up pass and a due pass run side by side; if the counter's row is gone
    (a wiped table), both must bump it, not one fail on the duplicate key."""
    database = services.database
    with database.write() as session:
        session.execute(delete(SnapshotGenerationRow))
    first_bumped, second_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            first_bumped.wait(10)
            with database.write() as session:
                SnapshotRepository(session).bump_generation()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            second_done.set()

    thread = threading.Thread(target=second)
    thread.start()
    with database.write() as session:
        SnapshotRepository(session).bump_generation()
        first_bumped.set()
        # The second pass now waits on this one's uncommitted row (or, on SQLite, on the
        # write lock) until it commits.
        assert not second_done.wait(0.5)
    thread.join(10)
    assert errors == []
    assert services.feeds.snapshot_generation() == 2


@pytest.mark.parametrize(
    ("key", "start", "end"),
    [
        ("2026-11", "2026-11-01T00:00", "2026-12-01T00:00"),
        ("2026-12-31", "2026-12-31T00:00", "2027-01-01T00:00"),
        ("2026-12-31T23", "2026-12-31T23:00", "2027-01-01T00:00"),
    ],
)
def test_periods_of_former_archives_begin_and_end_in_utc(key: str, start: str, end: str) -> None:
    bounds = period_bounds(key)
    assert bounds is not None
    assert [moment.strftime("%Y-%m-%dT%H:%M") for moment in bounds] == [start, end]


@pytest.mark.parametrize(
    "value", ["2026-13", "2026-02-30", "2026-11-02T24", "9999-12", "26-11", "x"]
)
def test_what_is_no_period_is_none(value: str) -> None:
    assert period_bounds(value) is None


def test_an_excerpt_of_script_written_as_text_stays_text_in_every_feed(
    services: Services, clock: FakeClock
) -> None:
    """The excerpt cut from a body whose text shows ``<script>`` reaches every reader as that
    text, never as an element (issue 9, point 2), even one that does not sanitise."""
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    body = "Nunca escreva `<script>alert(1)</script>` & `&amp;` num comentário."
    article = articles.create_article(
        article_input(summary="", body=body, published_at=clock()), clock()
    )
    excerpt = "Nunca escreva <script>alert(1)</script> & &amp; num comentário."
    assert article.excerpt == excerpt
    renderer.render_due_feeds(clock())
    rss = feeds.feed_snapshot(SITE_SCOPE, FeedFormat.RSS).body
    assert_valid_rss(rss)
    (item,) = feedparser.parse(rss, sanitize_html=False).entries
    assert "<" not in item.summary and html.unescape(item.summary) == excerpt
    (entry,) = assert_valid_atom(feeds.feed_snapshot(SITE_SCOPE, FeedFormat.ATOM).body).entries
    assert entry.summary == excerpt
    json_feed = assert_valid_json_feed(feeds.feed_snapshot(SITE_SCOPE, FeedFormat.JSON).body)
    assert json_feed["items"][0]["summary"] == excerpt


def _scope_rows(services: Services) -> list[tuple[str, str, int | None, int | None]]:
    """(table, article id, the row's sequence, the article's sequence) of every author and
    term row."""
    rows: list[tuple[str, str, int | None, int | None]] = []
    with services.database.read() as session:
        for table in ("article_authors", "article_terms"):
            found = session.execute(
                text(
                    f"SELECT a.public_id, t.sequence, a.sequence FROM {table} t "  # noqa: S608
                    "JOIN articles a ON a.pk = t.article_pk"
                )
            )
            rows.extend((table, article_id, own, article) for article_id, own, article in found)
    return rows


def test_author_and_term_rows_carry_their_article_s_publication_number(
    services: Services, clock: FakeClock
) -> None:
    """Scope feeds read their newest entries from the author and term rows' own copy of
    the number: it follows the article through publication, edits that change its terms,
    unpublishing, publishing again, a scheduled time that comes, an import and a
    deletion (a deleted article gives its number back)."""
    articles = services.articles
    renderer = services.renderer
    now = clock()
    public = articles.create_article(article_input(published_at=now), now)
    later = articles.create_article(
        article_input(title="Agendada", published_at=now + timedelta(hours=1)), now
    )
    back = articles.create_article(article_input(title="Volta", published_at=now), now)
    articles.update_article(
        public.id, {"categories": ["Economia"], "authors": [Author("Nova Autora")]}, None, now
    )
    articles.update_article(back.id, {"published_at": None}, None, now)
    imported = import_lines(
        articles,
        [
            json.dumps(
                {
                    "title": "Importada",
                    "body": "Texto.",
                    "authors": [{"name": "Júlia Ramos"}],
                    "tags": ["chuvas"],
                    "published_at": now.isoformat(),
                }
            )
        ],
        now,
    )
    assert imported.imported == 1
    rows = _scope_rows(services)
    assert {own for _, article_id, own, _ in rows if article_id == later.id} == {None}
    assert {own for _, article_id, own, _ in rows if article_id == back.id} == {None}
    assert all(own == article for _, _, own, article in rows)
    numbered = [row for row in rows if row[2] is not None]
    assert {table for table, *_ in numbered} == {"article_authors", "article_terms"}
    assert len({article_id for _, article_id, *_ in numbered}) == 2  # public and imported
    articles.update_article(back.id, {"published_at": now}, None, now)
    renderer.render_due_feeds(clock.advance(hours=2))  # the scheduled one is numbered
    rows = _scope_rows(services)
    assert all(own is not None and own == article for _, _, own, article in rows)
    articles.delete_article(later.id, None, clock())
    rows = _scope_rows(services)
    assert {(own, article) for _, article_id, own, article in rows if article_id == later.id} == {
        (None, None)
    }
    assert all(own == article for _, _, own, article in rows)


def test_a_scope_feed_holds_its_newest_articles_by_publication(
    paged: Services, clock: FakeClock
) -> None:
    """A category feed of item_limit entries takes the articles published last in it,
    a late one with an old date among them, and not those of other categories."""
    articles = paged.articles
    feeds = paged.feeds
    renderer = paged.renderer
    now = clock()
    ours = [
        articles.create_article(
            article_input(title=f"C{n}", categories=("Cidades",), published_at=now), now
        )
        for n in range(4)
    ]
    articles.create_article(article_input(categories=("Esporte",), published_at=now), now)
    late = articles.create_article(
        article_input(
            title="Antiga", categories=("Cidades",), published_at=now - timedelta(days=400)
        ),
        now,
    )
    renderer.render_due_feeds(now)
    cidades = set(_entry_ids(feeds, FeedScope("category", "cidades")))
    assert cidades == {late.id, ours[3].id, ours[2].id}


def test_feed_queries_walk_an_index_without_sorting_the_archive(
    sqlite_url: str, clock: FakeClock
) -> None:
    """Every statement of a render that takes a feed's newest entries walks an index in
    order, on SQLite without statistics (it keeps none unless asked), instead of sorting
    every article of the site or of the scope: a render's cost does not grow with the
    archive."""
    services = build_services(settings_for(sqlite_url), clock=clock, environ={})
    articles = services.articles
    renderer = services.renderer
    now = clock()
    for number in range(30):
        articles.create_article(
            article_input(title=f"Nota {number}", published_at=now - timedelta(hours=number)),
            now,
        )
    renderer.render_due_feeds(now)
    with captured_selects(services.database.engine) as statements:
        renderer.mark_all_feeds_stale(now)
        renderer.render_due_feeds(now)
    ordered = [(sql, params) for sql, params in statements if "articles" in sql]
    assert any("article_terms" in sql for sql, _ in ordered)
    assert any("article_authors" in sql for sql, _ in ordered)
    for sql, params in ordered:
        plan = sqlite_plan(services.database.engine, sql, params)
        assert "TEMP B-TREE" not in plan, (sql, plan)
        assert "SCAN" not in plan, (sql, plan)
    services.database.dispose()


@contextmanager
def captured_selects(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements ``engine`` runs inside the block, with their parameters."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def sqlite_plan(engine: Engine, sql: str, params: Any) -> str:
    """SQLite's query plan of ``sql``, its steps joined by " / "."""
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        return " / ".join(row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_web_processes_compare_snapshot_versions_from_an_index_alone(
    sqlite_url: str, clock: FakeClock
) -> None:
    """What every web process reads when the snapshot generation moves (the ETag and
    fresh-until of every stored feed) comes from one covering index, on SQLite without
    statistics: reading the rows would walk past both bodies, hundreds of milliseconds at
    a few thousand feeds, while the worker's readers wait."""
    services = build_services(settings_for(sqlite_url), clock=clock, environ={})
    articles = services.articles
    feeds = services.feeds
    renderer = services.renderer
    now = clock()
    articles.create_article(article_input(title="Nota", published_at=now), now)
    renderer.render_due_feeds(now)
    with captured_selects(services.database.engine) as statements:
        versions = feeds.snapshot_versions()
    assert "site:rss" in versions
    read = [(sql, params) for sql, params in statements if "feed_snapshots" in sql]
    assert len(read) == 1
    plan = sqlite_plan(services.database.engine, *read[0])
    assert "COVERING INDEX ix_feed_snapshots_versions" in plan, plan
    services.database.dispose()


# --- entries stored once rendered -------------------------------------------------------------


def _stored_entry_rows(services: Services) -> list[tuple[str, int]]:
    with services.database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT article_id, revision FROM entry_fragments ORDER BY article_id")
        )
        return [(row[0], row[1]) for row in rows]


def _whole_article_reads(statements: list[tuple[str, Any]]) -> int:
    """How many of these SELECTs read articles' text (what rendering an entry needs)."""
    return sum(1 for sql, _ in statements if "articles.body_html" in sql)


def test_a_new_process_joins_the_stored_entries_instead_of_rendering_them(
    database_url: str, clock: FakeClock
) -> None:
    """A scheduler that starts, and each process of a rebuild, joins feeds from the entries
    rendered before, by any process: the site feed reads no article's text, a section
    reads only its newest (whose spelling of the section names the feed), and the bytes
    are the same."""
    settings = settings_for(database_url)
    first = build_services(settings, clock=clock, environ={})
    try:
        ids = []
        for n in range(4):
            clock.advance(minutes=1)
            made = first.articles.create_article(
                article_input(title=f"Notícia {n}", published_at=clock()), clock()
            )
            ids.append(made.id)
        first.renderer.render_due_feeds(clock())
        expected = {
            (scope, fmt): first.feeds.feed_snapshot(scope, fmt).body
            for scope in (SITE_SCOPE, FeedScope("category", "politica"))
            for fmt in FeedFormat
        }
        assert [row[0] for row in _stored_entry_rows(first)] == sorted(ids)
    finally:
        first.database.dispose()

    second = build_services(settings, clock=clock, environ={})
    try:
        feeds = second.feeds
        renderer = second.renderer
        for scope, whole_reads in ((SITE_SCOPE, 0), (FeedScope("category", "politica"), 1)):
            with second.database.write() as session:
                FeedStateRepository(session).mark_dirty([scope.key])
            with captured_selects(second.database.engine) as statements:
                report = renderer.render_due_feeds(clock())
            assert report.scopes == [scope.key]
            assert report.changed == []
            assert _whole_article_reads(statements) == whole_reads
            lookups = [(sql, args) for sql, args in statements if "FROM entry_fragments" in sql]
            # The site feed's entries are read from the database, then kept in the process.
            assert len(lookups) == (1 if scope == SITE_SCOPE else 0)
            if lookups and second.database.is_sqlite:
                # Each id of the list is one search of the primary key, however many
                # entries are stored.
                plan = sqlite_plan(second.database.engine, *lookups[0])
                assert "SEARCH entry_fragments USING INDEX" in plan, plan
                assert "article_id=?" in plan and "context=?" in plan, plan
            for fmt in FeedFormat:
                assert feeds.feed_snapshot(scope, fmt).body == expected[scope, fmt]
    finally:
        second.database.dispose()

    # Without stored entries, a new process reads every article whole to render them:
    # what the reads above would have been.
    third = build_services(settings, clock=clock, environ={})
    try:
        with third.database.write() as session:
            session.execute(text("DELETE FROM entry_fragments"))
            FeedStateRepository(session).mark_dirty([SITE_SCOPE.key])
        with captured_selects(third.database.engine) as statements:
            third.renderer.render_due_feeds(clock())
        assert _whole_article_reads(statements) == 1
        assert len(_stored_entry_rows(third)) == 4
        assert (
            third.feeds.feed_snapshot(SITE_SCOPE, FeedFormat.RSS).body
            == (expected[SITE_SCOPE, FeedFormat.RSS])
        )
    finally:
        third.database.dispose()


def test_a_stored_entry_is_joined_only_while_its_article_is_unchanged(
    database_url: str, clock: FakeClock
) -> None:
    """An API process edits an article that a scheduler rendered before; a scheduler that
    starts afterwards must render the edit, not join the entry stored for the old text."""
    settings = settings_for(database_url)
    processes = [build_services(settings, clock=clock, environ={}) for _ in range(3)]
    scheduler, api, restarted = processes
    try:
        article = scheduler.articles.create_article(article_input(published_at=clock()), clock())
        scheduler.renderer.render_due_feeds(clock())
        clock.advance(minutes=5)
        edit = {"title": "Título corrigido"}
        api.articles.update_article(article.id, edit, article.etag, clock())
        restarted.renderer.render_due_feeds(clock())
        for fmt in FeedFormat:
            body = restarted.feeds.feed_snapshot(SITE_SCOPE, fmt).body.decode()
            assert "Título corrigido" in body
            assert "Câmara aprova" not in body
        assert _stored_entry_rows(processes[0]) == [(article.id, 2)]
    finally:
        for built in processes:
            built.database.dispose()


def test_stored_entries_of_deleted_articles_and_of_other_rendering_are_forgotten(
    services: Services, clock: FakeClock
) -> None:
    articles = services.articles
    renderer = services.renderer
    kept = articles.create_article(article_input(published_at=clock()), clock())
    gone = articles.create_article(article_input(title="Outra", published_at=clock()), clock())
    renderer.render_due_feeds(clock())
    assert {row[0] for row in _stored_entry_rows(services)} == {kept.id, gone.id}
    articles.delete_article(gone.id, None, clock())
    assert [row[0] for row in _stored_entry_rows(services)] == [kept.id]
    # A new version of the rendering code (or of a setting shown in feeds) is a new
    # context: its entries are rendered again, and the old ones never joined again.
    assert renderer.rebuild_if_changed("f" * 64, clock())
    assert _stored_entry_rows(services) == []
    renderer.render_due_feeds(clock())
    assert _stored_entry_rows(services) == []  # this process renders for its own code
