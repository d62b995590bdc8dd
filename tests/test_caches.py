"""The bounded maps each process keeps: what they hold, what they drop first, and their bounds.

The feed cache's freshness (it never keeps stale bytes) is in ``test_feedcache.py``; the
authentication limiter's window in ``test_security.py``.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

from app.domain import SITE_SCOPE
from app.domain import FeedFormat
from app.rendering import SizedLru
from app.services import Services
from app.web.feedcache import FeedCache
from app.web.polling import PollLimiter
from app.web.stalepages import StalePages
from tests.conftest import FakeClock
from tests.factories import article_input

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _weigh(key: str, value: bytes) -> int:
    return len(key) + len(value)


def test_sized_lru_drops_the_least_recently_used_beyond_its_bytes() -> None:
    cache: SizedLru[str, bytes] = SizedLru(30, _weigh)
    cache.put("a", b"x" * 9)
    cache.put("b", b"x" * 9)
    cache.put("c", b"x" * 9)
    assert cache.size_bytes == 30
    assert cache.get("a") == b"x" * 9  # now the most recently used
    cache.put("d", b"x" * 4)
    assert cache.get("b") is None
    assert [cache.get(key) is not None for key in "acd"] == [True, True, True]
    assert cache.size_bytes == 25


def test_sized_lru_weighs_a_replaced_value_once_and_refuses_what_cannot_fit() -> None:
    cache: SizedLru[str, bytes] = SizedLru(30, _weigh)
    cache.put("a", b"x" * 9)
    cache.put("a", b"x" * 19)
    assert cache.size_bytes == 20
    cache.put("b", b"x" * 30)  # 31 with its key: over the whole budget
    assert cache.get("b") is None
    assert cache.get("a") == b"x" * 19
    nothing: SizedLru[str, bytes] = SizedLru(0, _weigh)
    nothing.put("a", b"")
    assert nothing.get("a") is None


def test_stale_pages_drop_the_least_recently_rendered_and_recall_changes_no_order() -> None:
    pages = StalePages(30)
    pages.remember("/a", b"a" * 10)
    pages.remember("/b", b"b" * 10)
    pages.remember("/c", b"c" * 10)
    assert pages.recall("/a") == b"a" * 10  # a recall is no rendering: /a stays oldest
    pages.remember("/b", b"B" * 10)  # rendered again: /b goes last
    pages.remember("/d", b"d" * 10)
    assert [pages.recall(path) for path in ("/a", "/b", "/c", "/d")] == [
        None,
        b"B" * 10,
        b"c" * 10,
        b"d" * 10,
    ]
    pages.remember("/huge", b"h" * 31)  # would not fit even alone: not kept, nothing dropped
    assert pages.recall("/huge") is None and pages.recall("/c") == b"c" * 10
    pages.forget("/c")
    pages.forget("/never")
    assert pages.recall("/c") is None


def test_the_poll_limiter_forgets_the_clients_that_fetched_longest_ago() -> None:
    limiter = PollLimiter(60, capacity=2)
    for client in ("a", "b"):
        assert limiter.wait_seconds(client, "site:rss", "e1", T0) == 0
    assert limiter.wait_seconds("a", "site:rss", "e1", T0 + timedelta(seconds=10)) == 50
    assert limiter.wait_seconds("c", "site:rss", "e1", T0) == 0  # over capacity: "a" goes
    assert limiter.wait_seconds("b", "site:rss", "e1", T0 + timedelta(seconds=10)) == 50
    assert limiter.wait_seconds("a", "site:rss", "e1", T0 + timedelta(seconds=10)) == 0


def _publish(services: Services, clock: FakeClock) -> None:
    services.articles.create_article(
        article_input(published_at=clock() - timedelta(minutes=1)), clock()
    )
    services.renderer.render_due_feeds(clock())


def test_the_feed_cache_keeps_the_most_recently_served_feeds_within_its_bytes(
    services: Services, clock: FakeClock
) -> None:
    _publish(services, clock)
    sizes = FeedCache(services.feeds, 1 << 24, refresh_seconds=3600)
    rss, atom, json = (sizes.get(SITE_SCOPE, fmt).size for fmt in FeedFormat)
    cache = FeedCache(services.feeds, rss + max(atom, json), refresh_seconds=3600)
    cache.refresh()
    first_rss = cache.get(SITE_SCOPE, FeedFormat.RSS)
    first_atom = cache.get(SITE_SCOPE, FeedFormat.ATOM)
    assert cache.get(SITE_SCOPE, FeedFormat.RSS) is first_rss  # RSS now the most recent
    cache.get(SITE_SCOPE, FeedFormat.JSON)  # over the budget: Atom goes
    assert cache.get(SITE_SCOPE, FeedFormat.RSS) is first_rss
    assert cache.get(SITE_SCOPE, FeedFormat.ATOM) is not first_atom


def test_the_feed_cache_keeps_a_feed_larger_than_its_budget_alone(
    services: Services, clock: FakeClock
) -> None:
    _publish(services, clock)
    cache = FeedCache(services.feeds, 1, refresh_seconds=3600)
    cache.refresh()
    rss = cache.get(SITE_SCOPE, FeedFormat.RSS)
    assert cache.get(SITE_SCOPE, FeedFormat.RSS) is rss  # served from memory
    atom = cache.get(SITE_SCOPE, FeedFormat.ATOM)
    assert cache.get(SITE_SCOPE, FeedFormat.ATOM) is atom
    assert cache.get(SITE_SCOPE, FeedFormat.RSS) is not rss  # the one before made room
