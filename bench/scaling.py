"""Target 4: the site feed's render cost at 1,000 and at 1,000,000 articles on PostgreSQL,
and the query plans of the hot queries.

A scratch database ``bench_<random>`` is created on the local server, migrated with the
service's own migrations, filled in SQL (``INSERT ... SELECT`` from ``generate_series``:
short HTML bodies with a figure, 1-2 authors of 50, 1-2 categories of 200, 2-5 tags of
1,000 with a skewed popularity, publish times over two years) and dropped at the end.
The articles of each fill get their publication sequence numbers in the same statement,
in date order after the numbers of the fills before (as ``broadsheet import`` numbers a
back catalogue fed to it in batches), and the publication counter is moved past them
(page size: the item limit): the site's render passes have nothing to number, so the
site render measured is the steady state, not a one-time numbering.
The render is timed in-process through the service's own use cases (mark the site feed
stale, ``render_due_feeds``), the way ``broadsheet regenerate`` does it, with only the site
scope known. Every SQL statement that a site render, a category render and a feed read
send is captured and shown with ``EXPLAIN (ANALYZE, BUFFERS)``; a sequential scan of a
large table is flagged.
"""

from __future__ import annotations

import re
import secrets
import statistics
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import ExitStack
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import psycopg
from sqlalchemy import event

from bench.corpus import make_pools
from bench.procs import BenchError

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
_LARGE_TABLE_ROWS = 10_000

_FILL_ARTICLES = """
INSERT INTO articles (public_id, slug, title, summary, body, body_format, body_html, excerpt,
    language, image_url, image_type, image_length, image_width, image_height, image_caption,
    image_credit, published_at, created_at, updated_at, deleted_at, revision, sequence)
SELECT 'tag:bench.example.org,2026-01-01:' || g, 'artigo-' || g,
    'Prefeitura anuncia obra ' || g || ' ' || left(md5(g::text), 12),
    'Resumo do artigo ' || g || '.', body, 'html', body, 'Resumo do artigo ' || g || '.',
    CASE WHEN g %% 10 < 7 THEN 'pt-BR' ELSE 'en' END,
    'https://static.example.org/fotos/' || g || '.jpg', 'image/jpeg', 40000 + g %% 300000,
    1200, 675, 'Legenda da foto ' || g, 'Foto: Redação', ts, ts, ts, NULL, 1,
    %(next_sequence)s + row_number() OVER (ORDER BY ts, g) - 1
FROM (
    SELECT g, now() - random() * interval '730 days' - interval '1 minute' AS ts,
        '<p>' || repeat(md5(g::text) || ' obra bairro prefeitura ', 3) || '</p>'
        || '<figure><img src="https://static.example.org/fotos/' || g || '-2.jpg" alt="Foto">'
        || '<figcaption>Moradores na praça <span class="credit">Foto: Ana Souza/Redação'
        || '</span></figcaption></figure><p>' || repeat('Texto do artigo. ', 5) || '</p>'
        AS body
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
) AS s
"""

_NEXT_SEQUENCE = "SELECT next_sequence FROM publication_counter WHERE id = 1"
_ADVANCE_COUNTER = """
INSERT INTO publication_counter (id, next_sequence, page_size)
VALUES (1, %(next_sequence)s, %(page_size)s)
ON CONFLICT (id) DO UPDATE SET next_sequence = EXCLUDED.next_sequence
"""

# One statement per position: position 0 for every new article, later positions for some.
_FILL_AUTHORS = """
INSERT INTO article_authors (article_pk, position, name, email, url, slug, sequence)
SELECT pk, %(position)s, (%(names)s::text[])[i], (%(emails)s::text[])[i],
    (%(urls)s::text[])[i], (%(slugs)s::text[])[i], sequence
FROM (SELECT pk, sequence, 1 + floor(%(pool)s * power(random(), %(skew)s))::int AS i
      FROM articles WHERE pk BETWEEN %(low)s AND %(high)s AND {condition}) AS s
"""

_FILL_TERMS = """
INSERT INTO article_terms (article_pk, kind, position, name, slug, sequence)
SELECT pk, %(kind)s, %(position)s, (%(names)s::text[])[i], (%(slugs)s::text[])[i], sequence
FROM (SELECT pk, sequence, 1 + floor(%(pool)s * power(random(), %(skew)s))::int AS i
      FROM articles WHERE pk BETWEEN %(low)s AND %(high)s AND {condition}) AS s
"""

# (table, kind, pool skew, condition of each position: 1-2 authors, 1-2 categories, 2-5 tags)
_POSITIONS = (
    ("article_authors", "", 1.5, ("true", "pk %% 4 = 0")),
    ("article_terms", "category", 2.5, ("true", "pk %% 3 = 0")),
    ("article_terms", "tag", 2.0, ("true", "true", "pk %% 4 >= 1", "pk %% 4 >= 2", "pk %% 4 = 3")),
)
_FILLED_TABLES = ("articles", "article_authors", "article_terms")


@dataclass
class Plan:
    """One captured statement and its plan."""

    label: str
    sql: str
    plan: str
    seq_scans: list[str] = field(default_factory=list)
    large_sorts: list[int] = field(default_factory=list)
    """Rows fed to each sort of many rows (a feed's newest entries sorted out of a scope,
    not read in index order)."""


@dataclass
class ScalingResult:
    """Render times of the site feed at two corpus sizes, and the hot queries' plans."""

    small: int = 0
    large: int = 0
    small_ms: float = 0.0
    large_ms: float = 0.0
    fill_seconds: float = 0.0
    plans: list[Plan] = field(default_factory=list)
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.large_ms / self.small_ms if self.small_ms else float("nan")


@contextmanager
def scratch_database(admin_url: str = ADMIN_URL) -> Iterator[str]:
    """A new empty database; its SQLAlchemy URL. Dropped at the end, whatever happens."""
    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        host = admin_url.split("@", 1)[1].rsplit("/", 1)[0]
        yield f"postgresql+psycopg://postgres@{host}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _plain_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@dataclass(frozen=True)
class _Pool:
    names: list[str]
    slugs: list[str]
    emails: list[str | None] = field(default_factory=list)
    urls: list[str | None] = field(default_factory=list)


def _pools() -> dict[str, _Pool]:
    from app.domain import term_slug

    pools = make_pools()
    return {
        "": _Pool(
            names=[a["name"] for a in pools.authors],
            slugs=[term_slug(a["name"]) for a in pools.authors],
            emails=[a.get("email") for a in pools.authors],
            urls=[a.get("url") for a in pools.authors],
        ),
        "category": _Pool(list(pools.categories), [term_slug(n) for n in pools.categories]),
        "tag": _Pool(list(pools.tags), [term_slug(n) for n in pools.tags]),
    }


def fill(
    conn: psycopg.Connection[Any], first: int, last: int, pools: dict[str, _Pool], page_size: int
) -> None:
    """Add articles ``first``..``last`` (numbers, not keys) with their authors and terms,
    numbered in date order after every article before them, in one transaction.
    ``page_size`` is the archive page size if no article was numbered before."""
    row = conn.execute("SELECT coalesce(max(pk), 0) FROM articles").fetchone()
    assert row is not None
    after = row[0]
    counter = conn.execute(_NEXT_SEQUENCE).fetchone()
    next_sequence = counter[0] if counter else 0
    conn.execute(_FILL_ARTICLES, {"first": first, "last": last, "next_sequence": next_sequence})
    row = conn.execute("SELECT max(pk), count(*) FILTER (WHERE pk > %s) FROM articles", (after,))
    high, added = row.fetchone() or (0, 0)
    if added != last - first + 1 or high != after + added:
        raise BenchError("the new articles' keys are not consecutive; cannot fill their terms")
    for table, kind, skew, conditions in _POSITIONS:
        pool = pools[kind]
        template = _FILL_AUTHORS if table == "article_authors" else _FILL_TERMS
        for position, condition in enumerate(conditions):
            params: dict[str, Any] = {
                "position": position,
                "names": pool.names,
                "slugs": pool.slugs,
                "pool": len(pool.names),
                "skew": skew,
                "low": after + 1,
                "high": high,
            }
            if kind:
                params["kind"] = kind
            else:
                params |= {"emails": pool.emails, "urls": pool.urls}
            conn.execute(template.format(condition=condition), params)
    conn.execute(_ADVANCE_COUNTER, {"next_sequence": next_sequence + added, "page_size": page_size})
    conn.commit()


@contextmanager
def bulk_mode(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """Fill without the tables' secondary indexes and foreign-key triggers; make the
    indexes again afterwards, exactly as the migrations defined them, and ANALYZE.

    Query plans depend on none of this, and it makes a fill several times faster.
    """
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '256MB'")
    conn.execute("SET session_replication_role = replica")  # no FK triggers
    indexes = _drop_secondary_indexes(conn)
    conn.commit()
    try:
        yield
    finally:
        conn.rollback()
        for definition in indexes:
            conn.execute(definition)
        conn.execute("SET session_replication_role = DEFAULT")
        conn.commit()
        for table in _FILLED_TABLES:
            conn.execute(f"ANALYZE {table}")
        conn.commit()


def _drop_secondary_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    """Drop what makes row-by-row inserts slow and is quick to build in one go afterwards:
    the indexes of the filled tables that back no constraint, their unique constraints,
    and the primary keys that no foreign key refers to. Returns the DDL that restores
    them exactly."""
    restore: list[str] = []
    constraints = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.conrelid::regclass::text = ANY(%s) "
        "AND (c.contype = 'u' OR (c.contype = 'p' AND NOT EXISTS ("
        "SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.confrelid = c.conrelid)))",
        (list(_FILLED_TABLES),),
    ).fetchall()
    indexes = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
        "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conname = i.indexname)",
        (list(_FILLED_TABLES),),
    ).fetchall()
    for table, name, definition in constraints:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for name, definition in indexes:
        conn.execute(f'DROP INDEX "{name}"')
        restore.append(definition)
    return restore


def _unlogged(conn: psycopg.Connection[Any]) -> None:
    """Scratch tables need no crash safety: children first (a logged table may not refer
    to an unlogged one)."""
    for table in ("article_slugs", "article_authors", "article_terms", "articles"):
        conn.execute(f"ALTER TABLE {table} SET UNLOGGED")
    conn.commit()


def _services(url: str, item_limit: int) -> Any:
    from app.services import build_services

    return build_services(
        overrides={
            "database_url": url,
            "feed_item_limit": item_limit,
            "site_base_url": "http://127.0.0.1:8000",
            "log_level": "WARNING",
        },
        environ={},
    )


def time_site_render(services: Any, repeats: int) -> float:
    """Median milliseconds of re-rendering the site feed (one warm-up first)."""
    timings = []
    for index in range(repeats + 1):
        services.renderer.mark_all_feeds_stale(services.clock())
        started = time.perf_counter()
        report = services.renderer.render_due_feeds(services.clock())
        elapsed = (time.perf_counter() - started) * 1000
        if report.failed:
            raise BenchError(f"site render failed: {report.failed}")
        if index:
            timings.append(elapsed)
    return statistics.median(timings)


@contextmanager
def captured_sql(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (and its parameters) the engine sends inside the block."""
    seen: list[tuple[str, Any]] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
    ) -> None:
        # A statement run for many rows is explained with its first.
        seen.append((statement, parameters[0] if many else parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def explain_all(url: str, captured: list[tuple[str, str, Any]]) -> list[Plan]:
    """EXPLAIN (ANALYZE, BUFFERS) each distinct SELECT (plain EXPLAIN for writes, in a
    transaction that is rolled back)."""
    plans: list[Plan] = []
    seen: set[str] = set()
    with psycopg.connect(_plain_url(url)) as conn:
        sizes = {
            name: int(rows)
            for name, rows in conn.execute(
                "SELECT relname, reltuples FROM pg_class WHERE relkind = 'r' "
                "AND relnamespace = 'public'::regnamespace"
            )
        }
        for label, sql, params in captured:
            key = re.sub(r"\s+", " ", sql).strip()
            verb = key.split(" ", 1)[0].upper()
            if key in seen or verb not in ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH"):
                continue
            seen.add(key)
            analyze = "ANALYZE, BUFFERS, " if verb in ("SELECT", "WITH") else ""
            rows = conn.execute(f"EXPLAIN ({analyze}COSTS OFF) {sql}", params).fetchall()
            conn.rollback()
            text = "\n".join(row[0] for row in rows)
            scans = [
                table
                for table in re.findall(r"Seq Scan on (\w+)", text)
                if sizes.get(table, 0) >= _LARGE_TABLE_ROWS
            ]
            plans.append(Plan(label, key, text, scans, _large_sorts(text)))
    return plans


_NODE_ROWS = re.compile(r"actual time=\S+ rows=(\d+) loops=(\d+)")


def _large_sorts(plan: str) -> list[int]:
    """The rows each Sort node of an ``EXPLAIN ANALYZE`` reads from its input (the node
    under it), where they are ``_LARGE_TABLE_ROWS`` or more."""
    lines = plan.splitlines()
    found: list[int] = []
    for index, line in enumerate(lines):
        if not re.match(r"\s*(->\s+)?(Incremental )?Sort\s+\(", line):
            continue
        child = next((later for later in lines[index + 1 :] if "->" in later), "")
        match = _NODE_ROWS.search(child)
        if match and int(match[1]) * int(match[2]) >= _LARGE_TABLE_ROWS:
            found.append(int(match[1]) * int(match[2]))
    return found


class Scaling:
    """Target 4 in three steps, so that the long fill can run while nothing is measured:
    :meth:`prepare` (scratch database, the small corpus, its render time), :meth:`grow`
    (fill up to the large corpus, within a budget; safe in another thread), :meth:`measure`
    (the large corpus's render time and the plans). :meth:`close` drops the database."""

    def __init__(
        self, small: int, large: int, item_limit: int, repeats: int, log: Callable[[str], None]
    ) -> None:
        self.result = ScalingResult(small=small, large=small)
        self.target = large
        self.item_limit = item_limit
        self.repeats = repeats
        self.log = log
        self._stack = ExitStack()
        self._pools = _pools()
        self.url = ""
        self.services: Any = None

    def prepare(self) -> None:
        self.url = self._stack.enter_context(scratch_database())
        self.services = _services(self.url, self.item_limit)
        self._stack.callback(self.services.database.dispose)
        self.services.publisher.migrate()
        with psycopg.connect(_plain_url(self.url)) as conn:
            _unlogged(conn)
            with bulk_mode(conn):
                fill(conn, 1, self.result.small, self._pools, self.item_limit)
        self.result.small_ms = time_site_render(self.services, self.repeats)
        self.log(
            f"site feed render at {self.result.small:,} articles: {self.result.small_ms:.0f} ms"
        )

    @property
    def grown(self) -> bool:
        return self.result.large >= self.target

    def grow(self, budget_s: float) -> None:
        """Fill up to the large corpus in chunks while the budget lasts (checked between
        chunks); the size reached is what :meth:`measure` measures."""
        started = time.perf_counter()
        deadline = started + budget_s
        done = self.result.large
        chunk = max(self.result.small, min(250_000, self.target // 4))
        with psycopg.connect(_plain_url(self.url)) as conn, bulk_mode(conn):
            while done < self.target and time.perf_counter() < deadline:
                upto = min(self.target, done + chunk)
                fill(conn, done + 1, upto, self._pools, self.item_limit)
                done = upto
                self.log(f"  PostgreSQL: {done:,} articles ({time.perf_counter() - started:.0f} s)")
        self.result.large = done
        self.result.fill_seconds += time.perf_counter() - started
        if done < self.target:
            self.result.note = f"fill stopped at {done:,} articles (budget {budget_s:.0f} s)"
        else:
            self.result.note = ""

    def measure(self) -> ScalingResult:
        from app.domain import SITE_SCOPE
        from app.domain import FeedFormat
        from app.domain import FeedScope
        from app.storage.feeds import FeedStateRepository

        services = self.services
        result = self.result
        result.large_ms = time_site_render(services, self.repeats)
        self.log(f"site feed render at {result.large:,} articles: {result.large_ms:.0f} ms")
        category = _busiest(self.url, "category")
        captured: list[tuple[str, str, Any]] = []
        engine = services.database.engine
        with captured_sql(engine) as seen:
            services.renderer.mark_all_feeds_stale(services.clock())
            services.renderer.render_due_feeds(services.clock())
        captured += [("site render", sql, params) for sql, params in seen]
        with captured_sql(engine) as seen:
            with services.database.write() as session:
                FeedStateRepository(session).mark_dirty({f"category/{category}"})
            services.renderer.render_due_feeds(services.clock())
        captured += [(f"category/{category} render", sql, params) for sql, params in seen]
        with captured_sql(engine) as seen:
            services.publisher.feed_snapshot(SITE_SCOPE, FeedFormat.RSS)
            services.publisher.feed_snapshot(FeedScope("category", category), FeedFormat.RSS)
        captured += [("feed read", sql, params) for sql, params in seen]
        result.plans = explain_all(self.url, captured)
        return result

    def close(self) -> None:
        self._stack.close()


def run_scaling(
    small: int,
    large: int,
    item_limit: int,
    repeats: int,
    budget_s: float,
    log: Callable[[str], None],
) -> ScalingResult:
    """Prepare, grow within ``budget_s``, measure, drop: the whole of target 4 at once."""
    scaling = Scaling(small, large, item_limit, repeats, log)
    try:
        scaling.prepare()
        scaling.grow(budget_s)
        return scaling.measure()
    finally:
        scaling.close()


def _busiest(url: str, kind: str) -> str:
    with psycopg.connect(_plain_url(url)) as conn:
        row = conn.execute(
            "SELECT slug FROM article_terms WHERE kind = %s GROUP BY slug "
            "ORDER BY count(*) DESC LIMIT 1",
            (kind,),
        ).fetchone()
    if row is None:
        raise BenchError(f"no {kind} in the scratch database")
    return str(row[0])
